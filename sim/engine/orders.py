"""Orders: turn taskings into each unit's action, target, path and posture before a run."""

from __future__ import annotations

from collections.abc import Iterable

from sim.engine.presence import domain_class, sides_standing
from sim.scenario import AIR_ACTIONS, Scenario
from sim.state import Tasking, WorldState
from sim.theater import Theater

__all__ = ["apply_orders"]


def apply_orders(
    scenario: Scenario,
    theater: Theater,
    state: WorldState,
    taskings: Iterable[Tasking],
    restricted: dict[str, frozenset[str]] | None = None,
) -> list[str]:
    """Set each tasked unit's action, target and path; returns why any order was not applied."""
    rejected = []
    restricted = restricted or {}
    sides_at = sides_standing(state)
    for task in taskings:
        unit = state.units.get(task.unit)
        if unit is None or not unit.alive:
            rejected.append(f"{task.unit}: no such live unit")
            continue
        if task.action in AIR_ACTIONS and unit.domain != "air":
            rejected.append(f"{task.unit}: only air units can {task.action}")
            continue
        unit.action, unit.target = task.action, task.target
        start = unit.next_place or unit.location
        if task.action in AIR_ACTIONS or task.target is None or task.target == start:
            unit.path = []
            if task.action in ("defend", "hold") and unit.leg is None:
                unit.posture = "defend"
            continue
        modes = scenario.unit_types[unit.type].modes
        path = theater.path(modes, start, task.target, restricted.get(unit.side, frozenset()))
        if path is None:
            rejected.append(f"{task.unit}: no route to {task.target}")
            unit.path = []
            continue
        unit.path = path[1:]
        here = sides_at.get((unit.location, domain_class(unit)), ())
        if unit.leg is None and any(side != unit.side for side in here):
            # Ordered away from a fight, whatever it is to do where it is going: it breaks
            # contact at the end of the combat step in progress and leaves.
            unit.posture = "disengage"
        elif unit.leg is None:
            unit.posture = {"attack": "attack", "withdraw": "withdraw"}.get(task.action, "move")
    return rejected
