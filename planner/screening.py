"""Decide, step 2: screen COAs against the FASDC criteria (FM 5-0, COA screening criteria).

- Feasible: every task's target can be reached by its unit's route modes, avoiding restricted
  places, before the mission horizon (an objective's deadline for an objective); ground forces
  stay within reach of an own supply source; air targets lie within sortie range.
- Acceptable: no restricted place as a destination (strike targets included) or on the way;
  expected losses within the commander's limit (judged after wargaming, `judge_losses`).
- Suitable: the COA addresses the mission's objectives.
- Distinguishable: a different concept or main effort from every COA kept before it, or at
  least a quarter of the element tasking changed.
- Complete: every unit of the side has exactly one task in every phase, and a main effort.

A COA that fails is never wargamed and never selected. `repair` gives a failed COA its nearest
acceptable variant (offending tasks replaced by defending in place) so a staff is never left
without a COA; the record says what was changed and why.
"""

from __future__ import annotations

import networkx as nx

from planner.coa import COA, Effort, Task
from planner.context import DraftingContext
from sim.scenario import AIR_ACTIONS, DOMAIN_MODES

__all__ = ["CRITERIA", "judge_losses", "repair", "screen"]

CRITERIA = ("feasible", "acceptable", "suitable", "distinguishable", "complete")
#: Share of element tasks that must differ for two COAs of one concept and main effort to be
#: distinguishable.
DISTINCT_SHARE = 0.25
_SUPPLY_MODES = DOMAIN_MODES["land"] - {"offroad"}
#: Routes an attack may run beyond the ground its supply network reaches (about a day's
#: advance for a mechanised force before the supply lines must be pushed forward).
SUPPLY_DEPTH = 2


def screen(coas: list[COA], ctx: DraftingContext) -> list[COA]:
    """Judge every COA (its `screening` and `screening_notes`); returns those that pass."""
    kept: list[COA] = []
    supplied = _supplied_places(ctx)
    for coa in coas:
        notes: list[str] = []
        checks = {
            "feasible": _feasible(coa, ctx, supplied, notes),
            "acceptable": _acceptable(coa, ctx, notes),
            "suitable": _suitable(coa, ctx, notes),
            "distinguishable": _distinguishable(coa, kept, notes),
            "complete": _complete(coa, ctx, notes),
        }
        coa.screening = checks
        coa.screening_notes = notes
        if all(checks.values()):
            kept.append(coa)
    return kept


def judge_losses(coa: COA, limit: float) -> None:
    """After wargaming: a COA whose expected own losses exceed the limit is not acceptable."""
    losses = coa.scores["losses"][coa.side]
    if losses > limit:
        coa.screening["acceptable"] = False
        coa.screening_notes.append(f"expected own losses {losses:.0%} exceed the {limit:.0%} limit")


def repair(coa: COA, ctx: DraftingContext) -> COA:
    """The COA with every task that failed feasibility or acceptability, and every missing
    unit task, replaced by defending where the unit stands (a variant that passes those
    criteria); the change is listed in its notes."""
    tasks, changed = [], []
    failing = _failing_units(coa, ctx)
    by_phase: dict[int, set[str]] = {}
    for task in coa.tasks:
        by_phase.setdefault(task.phase, set()).add(task.unit)
        if task.unit in failing:
            unit = ctx.believed.units[task.unit]
            replacement = "hold" if unit.domain == "air" else "defend"
            tasks.append(
                task.model_copy(
                    update={"action": replacement, "target": None, "purpose": "hold in place"}
                )
            )
            changed.append(task.unit)
        else:
            tasks.append(task)
    phases = sorted({p.number for p in coa.phases}) or [1]
    for number in phases:
        start = next((p.start_hour for p in coa.phases if p.number == number), ctx.hour)
        for unit_id in sorted(_own_units(ctx) - by_phase.get(number, set())):
            action = "hold" if ctx.believed.units[unit_id].domain == "air" else "defend"
            citations = coa.tasks[0].citations if coa.tasks else []
            tasks.append(
                Task(
                    unit=unit_id,
                    action=action,
                    target=None,
                    purpose="hold in place",
                    citations=citations,
                    at_hour=start,
                    phase=number,
                )
            )
            changed.append(unit_id)
    changed_units = sorted(set(changed))
    note = (
        f"repaired: {len(changed_units)} unit(s) set to hold in place ({', '.join(changed_units)})"
    )
    main = coa.main_effort
    if main is None and ctx.elements:
        strongest = ctx.elements[0]
        main = Effort(role="main", elements=[strongest.id], axis=[strongest.location])
    return coa.model_copy(
        update={
            "main_effort": main,
            "id": f"{coa.id}f",
            "name": f"{coa.name} (repaired)",
            "tasks": sorted(tasks, key=lambda t: (t.phase, t.unit)),
            "revised_from": coa.id,
            "screening": {},
            "screening_notes": [],
            "repairs": [note],
        }
    )


def _own_units(ctx: DraftingContext) -> set[str]:
    return {u.id for u in ctx.believed.units.values() if u.side == ctx.side and u.alive}


def _supplied_places(ctx: DraftingContext) -> frozenset[str]:
    """Places the side's supply can follow its forces to: the road and rail network its own
    sources reach without crossing enemy-held or restricted places, plus SUPPLY_DEPTH routes
    beyond it (the depth an attack carries before its supply must catch up)."""
    control = ctx.believed.control
    sources = {
        p.id for p in ctx.scenario.places if p.supply_source and control.get(p.id) == ctx.side
    }
    graph = ctx.theater.domain_graph(_SUPPLY_MODES)
    hostile = {p for p, holder in control.items() if holder not in (None, ctx.side)}
    usable = nx.restricted_view(graph, (hostile | ctx.restricted) - sources, [])
    reached: set[str] = set()
    for source in sorted(sources):
        reached |= nx.node_connected_component(usable, source)
    for _ in range(SUPPLY_DEPTH):
        reached |= {n for place in reached for n in graph.neighbors(place)}
    return frozenset(reached)


def _task_problem(task: Task, ctx: DraftingContext, supplied: frozenset[str]) -> str | None:
    """Why a task is not feasible, if it is not."""
    if task.target is None or task.continued:
        return None
    unit = ctx.believed.units[task.unit]
    unit_type = ctx.scenario.unit_types[unit.type]
    if task.action in AIR_ACTIONS:
        reach = ctx.theater.distance_km(unit.location, task.target)
        if reach > unit_type.sortie_range_km:
            return f"{task.unit} cannot reach {task.target} ({reach:.0f} km beyond sortie range)"
        return None
    start = unit.next_place or unit.location
    path = ctx.theater.path(unit_type.modes, start, task.target, avoid=ctx.restricted)
    if path is None:
        return f"{task.unit} cannot reach {task.target} by its routes within the constraints"
    horizon = ctx.scenario.settings.horizon_hours
    deadlines = [o["deadline_hours"] for o in ctx.analysis.objectives if o["place"] == task.target]
    by = min(deadlines, default=horizon)
    wait = max(0.0, unit.arrives_hour - ctx.hour, task.at_hour - ctx.hour)
    arrival = ctx.hour + wait + ctx.theater.travel_hours(unit_type.modes, path, unit.speed_kph)
    if arrival > by + 1e-9:
        return f"{task.unit} reaches {task.target} at H+{arrival:.0f}, after H+{by:g}"
    moves = task.target != unit.location
    if moves and unit.domain == "land" and not unit_type.amphibious and task.target not in supplied:
        return f"{task.target} is beyond the reach of {ctx.side}'s supply"
    return None


def _feasible(coa: COA, ctx: DraftingContext, supplied: frozenset[str], notes: list[str]) -> bool:
    problems = [p for t in coa.tasks if (p := _task_problem(t, ctx, supplied))]
    notes += [f"not feasible: {p}" for p in dict.fromkeys(problems)]
    return not problems


def _restricted_problem(task: Task, ctx: DraftingContext) -> str | None:
    if task.target is None or task.continued:
        return None
    if task.target in ctx.restricted:
        return f"{task.unit} is sent to {task.target}, a restricted place"
    if task.action in AIR_ACTIONS:
        return None
    unit = ctx.believed.units[task.unit]
    modes = ctx.scenario.unit_types[unit.type].modes
    start = unit.next_place or unit.location
    free = ctx.theater.path(modes, start, task.target, avoid=ctx.restricted)
    if free is None and ctx.theater.path(modes, start, task.target) is not None:
        return f"{task.unit} can reach {task.target} only through a restricted place"
    return None


def _acceptable(coa: COA, ctx: DraftingContext, notes: list[str]) -> bool:
    problems = [p for t in coa.tasks if (p := _restricted_problem(t, ctx))]
    notes += [f"not acceptable: {p}" for p in dict.fromkeys(problems)]
    return not problems


def _failing_units(coa: COA, ctx: DraftingContext) -> set[str]:
    supplied = _supplied_places(ctx)
    return {
        t.unit for t in coa.tasks if _task_problem(t, ctx, supplied) or _restricted_problem(t, ctx)
    }


def _suitable(coa: COA, ctx: DraftingContext, notes: list[str]) -> bool:
    objectives = {o["place"] for o in ctx.analysis.objectives}
    if not objectives:
        return True
    approaches = {p for a in ctx.analysis.avenues for p in a.path}
    targets = {t.target for t in coa.tasks if t.target}
    if targets & objectives or targets & approaches:
        return True
    notes.append("not suitable: no task addresses an objective or an approach to one")
    return False


def _distinguishable(coa: COA, kept: list[COA], notes: list[str]) -> bool:
    """Never a relabelled copy: the tasking differs from every COA kept before, by at least
    DISTINCT_SHARE unless the concept or the main effort differs too."""
    mine = coa.unit_signature()
    for other in kept:
        theirs = other.unit_signature()
        if mine == theirs:
            notes.append(f"not distinguishable: the same tasking as {other.id} under another name")
            return False
        if coa.form_of_maneuver != other.form_of_maneuver or _main_axis(coa) != _main_axis(other):
            continue
        changed = len(mine ^ theirs) / max(1, 2 * max(len(mine), len(theirs)))
        if changed < DISTINCT_SHARE:
            notes.append(
                f"not distinguishable: same concept and main effort as {other.id}, "
                f"{changed:.0%} of the tasking changed (at least {DISTINCT_SHARE:.0%} needed)"
            )
            return False
    return True


def _main_axis(coa: COA) -> tuple:
    if coa.main_effort is None:
        return ()
    return (tuple(coa.main_effort.axis), coa.main_effort.sector)


def _complete(coa: COA, ctx: DraftingContext, notes: list[str]) -> bool:
    own = _own_units(ctx)
    ok = True
    for number in sorted({p.number for p in coa.phases} or {1}):
        tasked = [t.unit for t in coa.tasks if t.phase == number]
        missing = own - set(tasked)
        twice = {u for u in tasked if tasked.count(u) > 1}
        if missing:
            notes.append(f"not complete: phase {number} leaves {sorted(missing)} without a task")
            ok = False
        if twice:
            notes.append(f"not complete: phase {number} gives {sorted(twice)} two tasks")
            ok = False
    if coa.main_effort is None or not coa.main_effort.elements:
        notes.append("not complete: no main effort")
        ok = False
    return ok
