"""Step 3 of loading: fill in defaults the schema cannot, i.e. the unit-type catalogue.

A scenario's `unit_types` adds types to the default catalogue (`sim.unit_types`) or overrides
some fields of a catalogue type; the other fields keep the catalogue's values.
"""

from __future__ import annotations

from typing import Any

from sim.unit_types import DEFAULT_UNIT_TYPES

__all__ = ["fill_defaults"]


def fill_defaults(data: Any) -> Any:
    """`data` with the catalogue merged into its `unit_types` (a new dict; wrong shapes are
    left as they are for validation to report)."""
    if not isinstance(data, dict):
        return data
    declared = data.get("unit_types", {})
    if not isinstance(declared, dict):
        return data
    merged: dict[Any, Any] = dict(DEFAULT_UNIT_TYPES)
    for name, entry in declared.items():
        base = DEFAULT_UNIT_TYPES.get(name) if isinstance(name, str) else None
        if base is not None and isinstance(entry, dict):
            entry = {**base.model_dump(), **entry}
        merged[name] = entry
    return {**data, "unit_types": merged}
