"""Checks of command-line options made before any work: each bad option is one line, exit 2.

`wargame` calls these right after parsing, so an output folder that cannot be written, an
unknown report format, an unusable checkpoint or a malformed scheduler address stops the
command before the first simulated hour, not after a whole campaign.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

__all__ = [
    "OptionError",
    "check_checkpoint",
    "check_out_file",
    "check_out_folder",
    "check_scheduler",
]

#: The first bytes of every SQLite 3 database file.
_SQLITE_MAGIC = b"SQLite format 3\x00"
#: ``[protocol://]host:port`` as Dask takes it (host: a name, IPv4, or [IPv6]).
_ADDRESS = re.compile(r"^(?:(tcp|tls|ucx|ws|wss|inproc)://)?(\[[0-9a-fA-F:.]+\]|[\w.-]+):(\d+)$")


class OptionError(ValueError):
    """A command-line option that cannot work; the message is one line naming the option."""


def check_out_folder(folder: Path, option: str = "--out") -> None:
    """The folder is a folder, or can be made: its nearest existing ancestor is a folder a
    file can be written in (nothing is created)."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise OptionError(f"{option} {folder}: is a file, not a folder")
    existing = folder.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise OptionError(f"{option} {folder}: {existing} is a file, not a folder")
    try:
        handle, probe = tempfile.mkstemp(prefix=".write-check-", dir=existing)
        os.close(handle)
        os.unlink(probe)
    except OSError as err:
        raise OptionError(f"{option} {folder}: cannot write there ({err.strerror})") from None


def check_out_file(path: Path, option: str = "--out") -> None:
    """The path is not a folder, and its folder can be written."""
    path = Path(path)
    if path.is_dir():
        raise OptionError(f"{option} {path}: is a folder, not a file")
    check_out_folder(path.parent if str(path.parent) else Path("."), option)


def check_checkpoint(path: Path | None, option: str = "--checkpoint") -> None:
    """None, a new file in a writable folder, or an existing SQLite database."""
    if path is None:
        return
    path = Path(path)
    if path.is_dir():
        raise OptionError(f"{option} {path}: is a folder, not a SQLite file")
    if path.exists():
        try:
            with path.open("rb") as handle:
                head = handle.read(len(_SQLITE_MAGIC))
        except OSError as err:
            raise OptionError(f"{option} {path}: cannot read ({err.strerror})") from None
        if head and head != _SQLITE_MAGIC:
            raise OptionError(f"{option} {path}: file is not a database (not SQLite)")
        return
    check_out_folder(path.parent if str(path.parent) else Path("."), option)


def check_scheduler(address: str | None, option: str = "--scheduler") -> None:
    """None, ``local``, or ``[protocol://]host:port`` with a port in 1-65535."""
    if address is None or address == "local":
        return
    match = _ADDRESS.match(address.strip())
    if match is None or not 0 < int(match.group(3)) < 65536:
        raise OptionError(
            f"{option} {address!r}: not a Dask scheduler address (tcp://host:port) or 'local'"
        )
