"""The built-in corpus and ``load_corpus``: authored passages plus users' own doctrine.

The built-in corpus is one Markdown file per passage in ``doctrine/corpus/`` with YAML front
matter (id, title, topic, domain, echelon, reference, keywords). Users' folders are chunked by
``doctrine._ingest``. Nothing here raises for one bad file: it is skipped with an
``IngestWarning`` naming the file.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from doctrine._ingest import ingest_paths
from doctrine._passage import (
    DOMAINS,
    ECHELONS,
    TOPICS,
    USER_TOPIC,
    Passage,
    split_front_matter,
    warn_skip,
)

CORPUS_DIR = Path(__file__).parent / "corpus"

_REQUIRED = ("id", "title", "topic", "domain", "echelon", "reference")
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


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
    passages = load_builtin()
    seen = {p.id for p in passages}
    for passage in ingest_paths([Path(d) for d in extra_dirs]):
        if passage.id in seen:
            warn_skip(passage.source or Path(passage.id), f"duplicate passage id {passage.id!r}")
            continue
        seen.add(passage.id)
        passages.append(passage)
    return passages
