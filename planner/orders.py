"""Orders: the selected COA as OPORD paragraph 3 and a synchronisation matrix.

Paragraph 3 (Execution) follows the five-paragraph format (FM 5-0 app. D): the concept of
operations (scheme of manoeuvre, then fires and air), tasks to subordinate formations by phase,
the reserve, and coordinating instructions (phases with their H-hours and end conditions,
restricted places, the loss limit). The synchronisation matrix has one row per tasked formation,
a row per air mission and a fires row, and one column per phase (its time window).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from planner.coa import COA, Task
from planner.echelons import OrderOfBattle
from sim.scenario import Scenario

__all__ = ["Orders", "SyncRow", "write_orders"]

#: Unit types whose tasks make up the fires row (artillery, rockets, shore-based missiles).
_FIRES_TYPES = ("artillery", "coastal_missile", "coastal_missile_bn")


class SyncRow(BaseModel):
    """One row of the synchronisation matrix: what an element (or air, or fires) does in
    each phase."""

    row: str
    kind: str  # "formation", "air" or "fires"
    element: str | None = None
    cells: list[str]


class Orders(BaseModel):
    """OPORD paragraph 3 and the synchronisation matrix of one side's selected COA."""

    side: str
    coa: str
    concept_of_operations: str
    tasks_to_subordinates: list[dict] = Field(default_factory=list)
    reserve: str = ""
    coordinating_instructions: list[str] = Field(default_factory=list)
    columns: list[str] = Field(default_factory=list)
    synchronisation: list[SyncRow] = Field(default_factory=list)


def write_orders(coa: COA, scenario: Scenario) -> Orders:
    """Paragraph 3 and the synchronisation matrix of `coa`."""
    order_of_battle = OrderOfBattle(scenario, coa.side)
    phases = coa.phases or []
    columns = [
        f"{p.number}. {p.name} (H+{p.start_hour:g}"
        + (f" to H+{p.end_hour:g})" if p.end_hour is not None else " on)")
        for p in phases
    ]
    air_units = {u.id for u in scenario.units if scenario.unit_types[u.type].domain == "air"}
    fires_units = {u.id for u in scenario.units if u.type in _FIRES_TYPES}
    by_element: dict[str, list[str]] = {}
    for phase in phases:
        for task in phase.tasks:
            if task.unit not in air_units:
                by_element.setdefault(task.unit, ["continues"] * len(phases))
                by_element[task.unit][phase.number - 1] = _cell(task)
    rows = [
        SyncRow(row=order_of_battle.name(element), kind="formation", element=element, cells=cells)
        for element, cells in by_element.items()
    ]
    rows += _air_rows(coa, phases, air_units)
    rows.append(_fires_row(coa, phases, fires_units))
    subordinates = [
        {
            "element": element,
            "name": order_of_battle.name(element),
            "tasks": [
                f"Phase {i + 1}: {cell}" for i, cell in enumerate(cells) if cell != "continues"
            ],
        }
        for element, cells in by_element.items()
    ]
    return Orders(
        side=coa.side,
        coa=coa.id,
        concept_of_operations=_concept(coa, order_of_battle),
        tasks_to_subordinates=subordinates,
        reserve=_reserve(coa, order_of_battle),
        coordinating_instructions=_coordinating(coa, scenario),
        columns=columns,
        synchronisation=rows,
    )


def _cell(task: Task) -> str:
    where = f" {task.target}" if task.target else " in place"
    return f"{task.action}{where}"


def _concept(coa: COA, order_of_battle: OrderOfBattle) -> str:
    parts = [f"{coa.name} ({coa.form_of_maneuver or 'scheme not named'}). {coa.concept}"]
    if coa.main_effort is not None:
        names = ", ".join(order_of_battle.name(e) for e in coa.main_effort.elements)
        axis = " - ".join(coa.main_effort.axis)
        parts.append(
            f"Main effort: {names}"
            + (f" in sector {coa.main_effort.sector}" if coa.main_effort.sector else "")
            + (f" along {axis}" if axis else "")
            + (f", to {coa.main_effort.purpose}." if coa.main_effort.purpose else ".")
        )
    for effort in coa.supporting_efforts:
        names = ", ".join(order_of_battle.name(e) for e in effort.elements)
        parts.append(f"Supporting effort: {names} ({effort.purpose or 'support'}).")
    if coa.air:
        shares = "; ".join(
            f"phase {a.phase}: "
            + ", ".join(
                f"{name} {share:.0%}"
                for name, share in (
                    ("interdiction", a.interdiction),
                    ("strike", a.strike),
                    ("close air support", a.close_support),
                )
                if share > 0
            )
            for a in coa.air
        )
        parts.append(f"Air apportionment: {shares}.")
    return " ".join(parts)


def _reserve(coa: COA, order_of_battle: OrderOfBattle) -> str:
    reserve = coa.reserve
    if reserve is None:
        return "No reserve is held."
    names = ", ".join(order_of_battle.name(e) for e in reserve.elements)
    when = f" at H+{reserve.commit_hour:g}" if reserve.commit_hour is not None else ""
    target = f" against {reserve.target}" if reserve.target else ""
    return (
        f"Reserve: {names}, at {reserve.position}; committed{when}{target} when "
        f"{reserve.criterion or 'the commander decides'}."
    )


def _coordinating(coa: COA, scenario: Scenario) -> list[str]:
    mission = scenario.side(coa.side).mission
    lines = [
        f"Phase {p.number} ({p.name}) begins H+{p.start_hour:g}; ends when {p.end_condition}."
        for p in coa.phases
        if p.end_condition
    ]
    restricted = mission.constraints.restricted_places
    if restricted:
        lines.append("No movement to or through, and no fires on: " + ", ".join(restricted) + ".")
    lines.append(f"Own losses are not to exceed {mission.constraints.max_loss_fraction:.0%}.")
    lines += mission.constraints.notes
    return lines


def _air_rows(coa: COA, phases: list, air_units: set[str]) -> list[SyncRow]:
    cells_by_action: dict[str, list[str]] = {}
    for phase in phases:
        for task in phase.tasks:
            if task.unit in air_units:
                cells = cells_by_action.setdefault(task.action, [""] * len(phases))
                entry = f"{task.unit} at {task.target}" if task.target else task.unit
                cells[phase.number - 1] = ", ".join(
                    x for x in (cells[phase.number - 1], entry) if x
                )
    return [
        SyncRow(row=f"Air: {action}", kind="air", cells=[c or "-" for c in cells])
        for action, cells in sorted(cells_by_action.items())
    ]


def _fires_row(coa: COA, phases: list, fires_units: set[str]) -> SyncRow:
    cells = [""] * len(phases)
    for task in coa.tasks:
        if task.unit in fires_units and not task.continued and task.phase <= len(phases):
            entry = f"{task.unit} {_cell(task)}"
            cells[task.phase - 1] = ", ".join(x for x in (cells[task.phase - 1], entry) if x)
    return SyncRow(row="Fires", kind="fires", cells=[c or "-" for c in cells])
