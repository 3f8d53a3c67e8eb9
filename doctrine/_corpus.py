"""Doctrine passages: the Passage record, the metadata vocabularies and corpus loading.

The built-in corpus is one Markdown file per passage in ``doctrine/corpus/`` with YAML front
matter (id, title, topic, domain, echelon, reference, keywords). Users' folders are chunked by
``doctrine._ingest``. Nothing here raises for one bad file: it is skipped with an
``IngestWarning`` naming the file.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CORPUS_DIR = Path(__file__).parent / "corpus"

USER_TOPIC = "user"
TOPICS: frozenset[str] = frozenset(
    {
        "planning",
        "coa",
        "maneuver",
        "offense",
        "defense",
        "retrograde",
        "principles",
        "functions",
        "terrain",
        "force-ratios",
        "logistics",
        "air",
        "maritime",
        "law",
        "risk",
        "deception",
        "tempo",
        "adversary",
        "intelligence",
        "command",
        USER_TOPIC,
    }
)
DOMAINS: frozenset[str] = frozenset({"land", "sea", "air", "joint"})
ECHELONS: frozenset[str] = frozenset(
    {"any", "company", "battalion", "brigade", "division", "corps", "joint-force"}
)

_REQUIRED = ("id", "title", "topic", "domain", "echelon", "reference")
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


class IngestWarning(UserWarning):
    """Warning for a doctrine file that was skipped or only partly read."""


@dataclass(frozen=True, slots=True)
class Passage:
    """One retrievable passage of doctrine.

    Attributes:
        id: Unique id (kebab-case for the built-in corpus, ``user:<file>:<n>`` for users' files).
        title: Short human title.
        topic: One of ``TOPICS``.
        domain: One of ``DOMAINS``.
        echelon: One of ``ECHELONS``.
        reference: Publication and chapter (or the user's file name and page).
        keywords: Extra search terms.
        text: The passage body.
        source: The file the passage came from, if any.
    """

    id: str
    title: str
    topic: str
    domain: str
    echelon: str
    reference: str
    keywords: tuple[str, ...] = ()
    text: str = ""
    source: Path | None = field(default=None, compare=False)

    @property
    def word_count(self) -> int:
        """Number of whitespace-separated words in the body."""
        return len(self.text.split())


def warn_skip(path: Path, reason: str) -> None:
    """Emit an IngestWarning saying that ``path`` was skipped and why."""
    warnings.warn(f"doctrine: skipped {path}: {reason}", IngestWarning, stacklevel=3)


def split_front_matter(text: str) -> tuple[dict[str, Any] | None, str]:
    """Split YAML front matter off a Markdown text.

    Args:
        text: The whole file.

    Returns:
        The parsed mapping (None when the file has no front matter) and the remaining body.

    Raises:
        ValueError: If the front matter is not valid YAML or not a mapping.
    """
    match = _FRONT_MATTER_RE.match(text)
    if match is None:
        return None, text
    try:
        meta = yaml.safe_load(match.group(1))
    except yaml.YAMLError as exc:
        raise ValueError(f"invalid YAML front matter ({exc.__class__.__name__})") from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ValueError("front matter is not a mapping")
    return meta, text[match.end() :]


def _as_keywords(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return tuple(k.strip() for k in value.split(",") if k.strip())
    if isinstance(value, Iterable):
        return tuple(str(k).strip() for k in value if str(k).strip())
    raise ValueError("keywords must be a list of strings")


def parse_passage_file(path: Path) -> Passage:
    """Parse one built-in passage file.

    Args:
        path: A ``<id>.md`` file with complete front matter.

    Returns:
        The passage.

    Raises:
        ValueError: If the metadata is missing, malformed or outside the vocabularies.
    """
    meta, body = split_front_matter(path.read_text(encoding="utf-8"))
    if meta is None:
        raise ValueError("no front matter")
    missing = [key for key in _REQUIRED if not str(meta.get(key) or "").strip()]
    if missing:
        raise ValueError(f"missing front matter field(s): {', '.join(missing)}")
    pid = str(meta["id"]).strip()
    if not _ID_RE.match(pid):
        raise ValueError(f"id {pid!r} is not kebab-case")
    if pid != path.stem:
        raise ValueError(f"id {pid!r} does not equal the file stem {path.stem!r}")
    checks = (("topic", TOPICS - {USER_TOPIC}), ("domain", DOMAINS), ("echelon", ECHELONS))
    for key, allowed in checks:
        if meta[key] not in allowed:
            raise ValueError(f"{key} {meta[key]!r} is not one of {sorted(allowed)}")
    body = body.strip()
    if not body:
        raise ValueError("empty body")
    return Passage(
        id=pid,
        title=str(meta["title"]).strip(),
        topic=meta["topic"],
        domain=meta["domain"],
        echelon=meta["echelon"],
        reference=str(meta["reference"]).strip(),
        keywords=_as_keywords(meta.get("keywords")),
        text=body,
        source=path,
    )


def load_builtin(corpus_dir: Path = CORPUS_DIR) -> list[Passage]:
    """Load the authored corpus, skipping (with a warning) any malformed file.

    Args:
        corpus_dir: Folder of ``<id>.md`` passage files.

    Returns:
        The passages in file-name order.
    """
    passages: list[Passage] = []
    for path in sorted(corpus_dir.glob("*.md")):
        try:
            passages.append(parse_passage_file(path))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            warn_skip(path, str(exc))
    return passages


def load_corpus(extra_dirs: Sequence[Path | str] = ()) -> list[Passage]:
    """Load the built-in corpus plus users' own doctrine folders.

    Users' folders are searched recursively for ``.md``, ``.txt`` and ``.pdf`` files, which are
    chunked into passages with ids ``user:<relative-file-stem>:<n>``. A file that cannot be read
    is skipped with an ``IngestWarning`` naming it; nothing else is lost.

    Args:
        extra_dirs: Folders (or single files) of users' doctrine.

    Returns:
        Built-in passages followed by users' passages.
    """
    from doctrine._ingest import ingest_paths

    passages = load_builtin()
    seen = {p.id for p in passages}
    for passage in ingest_paths([Path(d) for d in extra_dirs]):
        if passage.id in seen:
            warn_skip(passage.source or Path(passage.id), f"duplicate passage id {passage.id!r}")
            continue
        seen.add(passage.id)
        passages.append(passage)
    return passages
