"""Shipped scenario files: find one by name and list them with their one-line summaries."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

__all__ = ["list_scenarios", "resolve_scenario"]


def _folder() -> Path:
    return Path(str(resources.files("scenarios")))


def resolve_scenario(name_or_path: str) -> Path:
    """A path to a scenario file: an existing path as given, else a shipped scenario's name."""
    path = Path(name_or_path)
    if path.exists() or path.suffix in (".yaml", ".yml"):
        return path
    return _folder() / f"{name_or_path}.yaml"


def list_scenarios() -> list[tuple[str, str]]:
    """(name, summary) of every shipped scenario, sorted by name."""
    entries = []
    for path in sorted(_folder().glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries.append((path.stem, str(data.get("summary", "")).strip()))
    return entries
