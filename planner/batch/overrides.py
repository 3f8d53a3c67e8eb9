"""Overrides: set one value in a scenario by a dotted path, checked against the scenario schema.

A path walks the scenario's pydantic models: a field name at each model (``settings.planning.
coas``), an id (or an index) at each list of records (``sides.blue.mission.constraints.
max_loss_fraction``, ``units.b-inf-1.strength``), a key at each mapping (``unit_types.infantry.
lethality``). ``scale.<side>`` multiplies the strength of every unit of that side. A path is
first checked against the schema (so ``sides.blue.cycle_hours`` fails with the fields a side
has, until the schema grows that field), then against the scenario (ids), and the changed
scenario is validated again in full, as if it had been loaded from a file.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any, Union

import yaml
from pydantic import BaseModel

from sim.scenario import Scenario, ScenarioError, parse_scenario

__all__ = ["SCALE_PREFIX", "OverrideError", "apply_overrides", "check_path"]

#: ``scale.<side>``: multiply every unit's strength of that side.
SCALE_PREFIX = "scale"


class OverrideError(ValueError):
    """An override path or value that does not fit the scenario; the message is one line."""


def _unwrap(annotation: Any) -> Any:
    """`X | None` and `Annotated[X, ...]` -> X (the type a path can walk into)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            options = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(options) != 1:
                return annotation
            annotation = options[0]
        else:
            return annotation


def _field(model: type[BaseModel], name: str) -> tuple[str, Any]:
    """The field called `name` (or aliased so) in `model`: (attribute name, annotation)."""
    for attribute, info in model.model_fields.items():
        if name in (attribute, info.alias):
            return attribute, info.annotation
    fields = ", ".join(info.alias or attribute for attribute, info in model.model_fields.items())
    raise OverrideError(f"no field {name!r} in {model.__name__} (fields: {fields})")


def check_path(path: str) -> None:
    """Check a dotted path against the scenario schema (not yet against a scenario's ids).

    Raises:
        OverrideError: the path names a field the schema does not have, or goes on past a value.
    """
    parts = path.split(".")
    if parts[0] == SCALE_PREFIX:
        if len(parts) != 2 or not parts[1]:
            raise OverrideError(f"{SCALE_PREFIX!r} takes one side id: {SCALE_PREFIX}.<side>")
        return
    annotation: Any = Scenario
    for depth, part in enumerate(parts):
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            _, annotation = _field(annotation, part)
            continue
        origin = typing.get_origin(annotation)
        if origin in (list, tuple, dict):
            args = typing.get_args(annotation)
            annotation = args[-1] if args else Any
            continue
        walked = ".".join(parts[:depth])
        raise OverrideError(f"{walked} is a single value; nothing named {part!r} inside it")


def _step(node: Any, part: str, walked: str) -> tuple[Any, Any]:
    """The container and the key to reach `part` inside `node` (dumped scenario data)."""
    if isinstance(node, Mapping):
        if part not in node:
            raise OverrideError(f"{walked or 'scenario'} has no entry {part!r}")
        return node, part
    if isinstance(node, list):
        for index, item in enumerate(node):
            if isinstance(item, Mapping) and item.get("id") == part:
                return node, index
        if part.isdigit() and int(part) < len(node):
            return node, int(part)
        ids = [item.get("id") for item in node if isinstance(item, Mapping) and "id" in item]
        known = f" (ids: {', '.join(map(str, ids))})" if ids else f" ({len(node)} entries)"
        raise OverrideError(f"{walked} has no entry with id {part!r}{known}")
    raise OverrideError(f"{walked} is a single value; nothing named {part!r} inside it")


def _set(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        container, key = _step(node, part, ".".join(parts[:depth]))
        node = container[key]
    last, walked = parts[-1], ".".join(parts[:-1])
    if isinstance(node, list):
        container, key = _step(node, last, walked)
        container[key] = value
    elif isinstance(node, Mapping):
        node[last] = value  # a schema field (checked) or a new key of a mapping
    else:
        raise OverrideError(f"{walked} is a single value; nothing named {last!r} inside it")


def _scale(data: dict[str, Any], side: str, factor: Any) -> None:
    sides = [s["id"] for s in data["sides"]]
    if side not in sides:
        raise OverrideError(f"no side {side!r} (sides: {', '.join(sides)})")
    if isinstance(factor, bool) or not isinstance(factor, int | float) or not factor > 0:
        raise OverrideError(f"a force scale is a number above 0 (got {factor!r})")
    for unit in data["units"]:
        if unit["side"] == side:
            unit["strength"] = unit["strength"] * factor


def apply_overrides(scenario: Scenario, overrides: Mapping[str, Any]) -> Scenario:
    """The scenario with every override applied, validated again in full.

    Raises:
        OverrideError: a path does not exist, or the changed scenario is not valid.
    """
    if not overrides:
        return scenario
    data = scenario.model_dump(mode="json", by_alias=True)
    for path, value in overrides.items():
        check_path(path)
        parts = path.split(".")
        if parts[0] == SCALE_PREFIX:
            _scale(data, parts[1], value)
        else:
            _set(data, path, value)
    source = f"<{scenario.id} with overrides>"
    try:
        return parse_scenario(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), source)
    except ScenarioError as err:
        # Locations point into the changed scenario, not a file: keep only the field path.
        problems = "; ".join(
            f"{where.split(': ', 1)[-1]}: {message}" for where, message in err.problems
        )
        raise OverrideError(f"the changed scenario is invalid: {problems}") from None
