"""Dependencies point one way: sim/ and doctrine/ never import planner/, app or Streamlit."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", ["sim", "doctrine"])
def test_lower_layers_do_not_import_upper_ones(package):
    files = list((ROOT / package).rglob("*.py"))
    assert files
    for path in files:
        assert not _imports(path) & {"planner", "app", "streamlit"}, path
