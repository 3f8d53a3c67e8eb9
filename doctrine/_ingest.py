"""Ingest users' own doctrine (Markdown, plain text, PDF) as chunked passages.

Files are split at Markdown headings and blank-line paragraphs, then packed into passages of
roughly ``MIN_WORDS``-``MAX_WORDS`` words: small paragraphs are merged, huge ones split at sentence
boundaries. Each file that cannot be read (corrupt or encrypted PDF, binary "text") is skipped
with an ``IngestWarning`` naming it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from doctrine._passage import USER_TOPIC, Passage, split_front_matter, warn_skip

MIN_WORDS = 60
MAX_WORDS = 300
PIECE_WORDS = 200
SUFFIXES = frozenset({".md", ".markdown", ".txt", ".pdf"})

_HEADING_RE = re.compile(r"^\s{0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_BLANK_RE = re.compile(r"\n[ \t]*\n")
_SENTENCE_RE = re.compile(r"(?<=[.!?;:])\s+")


@dataclass(slots=True)
class _Unit:
    """A paragraph (or piece of one) with where it came from."""

    text: str
    heading: str | None
    page: int | None
    new_section: bool

    @property
    def words(self) -> int:
        return len(self.text.split())


def _split_huge(text: str) -> list[str]:
    """Split a paragraph longer than PIECE_WORDS into sentence-aligned pieces."""
    words = text.split()
    if len(words) <= PIECE_WORDS:
        return [text]
    pieces: list[str] = []
    current: list[str] = []
    for sentence in _SENTENCE_RE.split(text):
        sent_words = sentence.split()
        while len(sent_words) > PIECE_WORDS:  # a run-on "sentence": cut by words
            if current:
                pieces.append(" ".join(current))
                current = []
            pieces.append(" ".join(sent_words[:PIECE_WORDS]))
            sent_words = sent_words[PIECE_WORDS:]
        if current and len(current) + len(sent_words) > PIECE_WORDS:
            pieces.append(" ".join(current))
            current = []
        current.extend(sent_words)
    if current:
        pieces.append(" ".join(current))
    return pieces


def _paragraphs(text: str) -> list[str]:
    """Blank-line separated paragraphs, each with internal whitespace collapsed."""
    paras = (" ".join(p.split()) for p in _BLANK_RE.split(text))
    return [p for p in paras if p]


def _markdown_units(body: str) -> tuple[list[_Unit], str | None]:
    """Units of a Markdown body and its first top-level heading (if any)."""
    units: list[_Unit] = []
    first_h1: str | None = None
    heading: str | None = None
    buffer: list[str] = []
    new_section = True

    def flush() -> None:
        nonlocal new_section
        for para in _paragraphs("\n".join(buffer)):
            for piece in _split_huge(para):
                units.append(_Unit(piece, heading, None, new_section))
                new_section = False
        buffer.clear()

    in_fence = False
    for line in body.splitlines():
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        match = None if in_fence else _HEADING_RE.match(line)
        if match:
            flush()
            heading = match.group(2).strip() or heading
            if first_h1 is None and len(match.group(1)) == 1:
                first_h1 = heading
            new_section = True
        else:
            buffer.append(line)
    flush()
    return units, first_h1


def _plain_units(text: str, page: int | None = None) -> list[_Unit]:
    return [
        _Unit(piece, None, page, False) for para in _paragraphs(text) for piece in _split_huge(para)
    ]


def _pack(units: list[_Unit]) -> list[list[_Unit]]:
    """Greedily pack units into chunks of about MIN_WORDS-MAX_WORDS words."""
    chunks: list[list[_Unit]] = []
    current: list[_Unit] = []
    size = 0
    for unit in units:
        overflow = size + unit.words > MAX_WORDS
        if current and (overflow or (size >= MIN_WORDS and unit.new_section)):
            chunks.append(current)
            current, size = [], 0
        current.append(unit)
        size += unit.words
    if current:
        chunks.append(current)
    if len(chunks) > 1:
        last = sum(u.words for u in chunks[-1])
        if last < MIN_WORDS and last + sum(u.words for u in chunks[-2]) <= MAX_WORDS:
            chunks[-2].extend(chunks.pop())
    return chunks


def _read_text(path: Path) -> str:
    """Read a text file as UTF-8, falling back to Latin-1; reject binary content."""
    raw = path.read_bytes()
    if b"\x00" in raw:
        raise ValueError("binary content (NUL bytes), not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _pdf_units(path: Path) -> list[_Unit]:
    """Units of a PDF, one run of paragraphs per page; raises if the file is unreadable."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    reader = PdfReader(path)
    if reader.is_encrypted:
        try:
            decrypted = reader.decrypt("")
        except Exception as exc:  # noqa: BLE001 - e.g. missing crypto backend for AES
            raise ValueError(f"encrypted PDF ({exc})") from exc
        if not decrypted:
            raise ValueError("encrypted PDF (password required)")
    units: list[_Unit] = []
    for number, page in enumerate(reader.pages, start=1):
        try:
            text = page.extract_text() or ""
        except (PdfReadError, ValueError, KeyError, TypeError) as exc:
            warn_skip(path, f"page {number} unreadable ({exc.__class__.__name__}); others kept")
            continue
        units.extend(_plain_units(text, page=number))
    return units


def _pretty(stem: str) -> str:
    return re.sub(r"[-_]+", " ", stem).strip() or stem


def _page_ref(name: str, pages: list[int]) -> str:
    if not pages:
        return name
    first, last = min(pages), max(pages)
    return f"{name}, p. {first}" if first == last else f"{name}, pp. {first}-{last}"


def file_passages(path: Path, key: str, name: str | None = None) -> list[Passage]:
    """Chunk one user file into passages.

    Args:
        path: The file (.md, .markdown, .txt or .pdf).
        key: The id stem; passages get ids ``user:<key>:<n>`` starting at 1.
        name: The file name used as reference (default: ``path.name``); PDFs add the page.

    Returns:
        The passages (empty if the file has no text).

    Raises:
        OSError, ValueError or a pypdf error if the file cannot be read.
    """
    suffix = path.suffix.lower()
    doc_title = _pretty(path.stem)
    keywords: tuple[str, ...] = ()
    if suffix == ".pdf":
        units = _pdf_units(path)
    else:
        text = _read_text(path)
        if suffix in {".md", ".markdown"}:
            try:
                meta, body = split_front_matter(text)
            except ValueError as exc:
                warn_skip(path, f"front matter ignored: {exc}")
                meta, body = None, text
            units, first_h1 = _markdown_units(body)
            meta = meta or {}
            doc_title = str(meta.get("title") or first_h1 or doc_title)
            raw_keywords = meta.get("keywords")
            if isinstance(raw_keywords, list):
                keywords = tuple(str(k) for k in raw_keywords)
        else:
            units = _plain_units(text)
    passages = []
    for n, chunk in enumerate(_pack(units), start=1):
        heading = next((u.heading for u in chunk if u.heading), None)
        title = doc_title if not heading or heading == doc_title else f"{doc_title}: {heading}"
        pages = sorted({u.page for u in chunk if u.page is not None})
        passages.append(
            Passage(
                id=f"user:{key}:{n}",
                title=title,
                topic=USER_TOPIC,
                domain="joint",
                echelon="any",
                reference=_page_ref(name or path.name, pages),
                keywords=keywords,
                text="\n\n".join(u.text for u in chunk),
                source=path,
            )
        )
    return passages


def _candidate_files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        rel_parts = path.relative_to(root).parts
        if any(part.startswith(".") for part in rel_parts):
            continue
        if path.is_file() and path.suffix.lower() in SUFFIXES:
            yield path


def ingest_paths(roots: Sequence[Path]) -> list[Passage]:
    """Chunk every supported file under the given folders (recursively) into passages.

    Args:
        roots: Folders or single files.

    Returns:
        The passages of every readable file; unreadable files are skipped with a warning.
    """
    passages: list[Passage] = []
    used_keys: set[str] = set()
    seen_files: set[Path] = set()
    for root in roots:
        root = Path(root).expanduser()
        if not root.exists():
            warn_skip(root, "no such file or folder")
            continue
        base = root.parent if root.is_file() else root
        for path in _candidate_files(root):
            resolved = path.resolve()
            if resolved in seen_files:
                continue
            seen_files.add(resolved)
            rel = path.relative_to(base).as_posix()
            stem = rel[: -len(path.suffix)] if path.suffix else rel
            key = next((k for k in (stem, rel, f"{base.name}/{rel}") if k not in used_keys), None)
            if key is None:
                warn_skip(path, "another file already uses the same name")
                continue
            try:
                chunks = file_passages(path, key, rel)
            except Exception as exc:  # noqa: BLE001 - one bad file must never stop ingest
                warn_skip(path, f"{exc.__class__.__name__}: {exc}")
                continue
            if not chunks:
                warn_skip(path, "no extractable text")
                continue
            used_keys.add(key)
            passages.extend(chunks)
    return passages
