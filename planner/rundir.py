"""A run folder: which run wrote it and whether it finished (``run.json``), written atomically.

Every command that writes a folder opens it with `run_folder`: ``run.json`` names the run (a
fresh id, the command, its options, the process, start time) with ``status: running`` before
any work, and ``finished`` or ``failed`` (with the error) at the end. A folder whose manifest
says ``running`` and whose pid is gone was killed. Files go through `atomic_path`: a temporary
file in the same folder, then a rename, so a reader sees the old file or the new one, never
half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "MANIFEST",
    "RunManifest",
    "atomic_path",
    "exit_on_sigterm",
    "read_manifest",
    "run_folder",
    "write_json",
]

MANIFEST = "run.json"


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """A temporary path beside `path` to write to; renamed onto `path` when the block ends
    without an error, removed otherwise."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        yield temporary
        with temporary.open("rb") as handle:
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_json(path: Path, data: Any) -> Path:
    """Write `data` as indented JSON, atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return Path(path)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class RunManifest:
    """What ``run.json`` says about the run that wrote a folder."""

    command: str
    options: dict[str, Any]
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    status: str = "running"
    pid: int = field(default_factory=os.getpid)
    argv: list[str] = field(default_factory=lambda: list(sys.argv))
    started: str = field(default_factory=_now)
    finished: str | None = None
    error: str | None = None
    resumed: list[str] = field(default_factory=list)

    def save(self, folder: Path) -> None:
        """Write the manifest into `folder` (atomically)."""
        write_json(Path(folder) / MANIFEST, asdict(self))


def read_manifest(folder: Path) -> RunManifest | None:
    """The folder's manifest, or None if it has none (or an unreadable one)."""
    try:
        data = json.loads((Path(folder) / MANIFEST).read_text(encoding="utf-8"))
        return RunManifest(**data)
    except (OSError, ValueError, TypeError):
        return None


@contextlib.contextmanager
def run_folder(
    folder: Path,
    command: str,
    options: dict[str, Any],
    *,
    resume: RunManifest | None = None,
) -> Iterator[RunManifest]:
    """Mark `folder` as being written by this run for the block's duration.

    Args:
        resume: the manifest of the killed run this one continues: its id is kept, and this
            process's start time is added to `resumed`.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if resume is not None:
        manifest = resume
        manifest.resumed.append(_now())
        manifest.status, manifest.pid, manifest.finished, manifest.error = (
            "running",
            os.getpid(),
            None,
            None,
        )
    else:
        manifest = RunManifest(command=command, options=options)
    manifest.save(folder)
    try:
        yield manifest
    except BaseException as error:
        manifest.status, manifest.finished = "failed", _now()
        manifest.error = f"{type(error).__name__}: {error}"[:500]
        manifest.save(folder)
        raise
    manifest.status, manifest.finished = "finished", _now()
    manifest.save(folder)


def exit_on_sigterm() -> None:
    """Turn SIGTERM into `SystemExit` (exit 143) in this process, so a terminated command
    unwinds like Ctrl-C: its workers are stopped and ``run.json`` says ``failed``."""
    if threading.current_thread() is not threading.main_thread():
        return  # signal handlers can only be set from the main thread

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)
