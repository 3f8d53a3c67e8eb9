"""The Passage record, the metadata vocabularies, the ingest warning and front-matter parsing."""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

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

_FRONT_MATTER_RE = re.compile(r"\A---[ \t]*\r?\n(?:(.*?)\r?\n)?---[ \t]*(?:\r?\n|\Z)", re.DOTALL)


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
        meta = yaml.safe_load(match.group(1) or "")
    except yaml.YAMLError as exc:
        raise ValueError(f"invalid YAML front matter ({exc.__class__.__name__})") from exc
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise ValueError("front matter is not a mapping")
    return meta, text[match.end() :]
