"""Step 1 of loading: read a scenario file as bytes, within a size limit, and decode it.

UTF-8 with or without a byte-order mark is read; UTF-16 with a byte-order mark is decoded too
(editors on Windows save it); anything else is refused with the byte and line that fail.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from sim.loading.errors import Limits, ScenarioError

__all__ = ["check_size", "decode", "read_bytes"]


def read_bytes(path: Path, limits: Limits) -> bytes:
    """The file's bytes; a missing, unreadable or oversized file is a `ScenarioError`."""
    source = str(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(limits.max_bytes + 1)  # a device or pipe is never read whole
    except OSError as err:
        raise ScenarioError(source, [(source, f"cannot read file: {err.strerror}")]) from None
    if len(data) > limits.max_bytes:
        raise ScenarioError(source, [(source, _too_large(limits))])
    return data


def decode(data: bytes, source: str) -> str:
    """Text of a scenario file: UTF-8 (BOM optional) or UTF-16 with a BOM."""
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise ScenarioError(source, [(source, "UTF-32 text is not supported: save as UTF-8")])
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding, body = "utf-16", data
    else:
        encoding = "utf-8"
        body = data[len(codecs.BOM_UTF8) :] if data.startswith(codecs.BOM_UTF8) else data
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as err:
        line = body[: err.start].count(b"\n") + 1
        byte = body[err.start]
        raise ScenarioError(
            source,
            [
                (
                    f"{source}:{line}",
                    f"not {encoding.upper()} text: byte 0x{byte:02x} cannot be decoded "
                    "(save the file as UTF-8)",
                )
            ],
        ) from None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        raise ScenarioError(source, [(f"{source}:{line}", "binary data (NUL byte), not YAML")])
    return text


def _too_large(limits: Limits) -> str:
    return (
        f"file is larger than {limits.max_bytes:,} bytes "
        "(raise OODA_FORGE_MAX_SCENARIO_BYTES to load it)"
    )


def check_size(text: str, source: str, limits: Limits) -> None:
    """Refuse text longer than the byte limit (text that never was a file: an upload)."""
    if len(text) > limits.max_bytes:
        raise ScenarioError(source, [(source, _too_large(limits))])
