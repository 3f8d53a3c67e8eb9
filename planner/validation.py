"""Decide, step 1 (continued): validate drafts into COAs, expand them, cite doctrine.

Whoever drafted a COA (the doctrine schemes or a chat model), it is checked the same way: every
task names a formation or unit of the side, a legal action and a known place; air actions only
for air units. Formation tasks expand into one task per unit; a unit not re-tasked in a later
phase keeps its task (marked as continued). Air apportionment becomes wing tasks where the draft
gave none. A task without a valid citation gets the best-matching passages for its purpose.
Model output is data: nothing in it is executed.
"""

from __future__ import annotations

from planner.coa import COA, COADraft, Effort, Phase, PhaseDraft, Reserve, Task, TaskDraft
from planner.context import DraftingContext
from planner.schemes import air_tasks
from sim.scenario import AIR_ACTIONS

__all__ = ["ACTIONS", "finalize_drafts"]

ACTIONS = ("move", "attack", "defend", "hold", "withdraw", "strike", "interdict")

_ACTION_WORDS = {
    "defend": "defense defend retain terrain prepared positions",
    "hold": "reserve counterattack defense in depth",
    "attack": "attack offense force ratio assault",
    "move": "movement maneuver envelopment flank",
    "withdraw": "retrograde withdrawal delay",
    "strike": "air interdiction strike sorties",
    "interdict": "air interdiction lines of communication supply convoys",
}


def finalize_drafts(
    drafts: list[COADraft], ctx: DraftingContext, drafted_by: str
) -> tuple[list[COA], list[str]]:
    """Validate and expand drafts into COAs; returns them and notes on what was dropped."""
    notes: list[str] = []
    citations = _Citations(ctx)
    coas = []
    for number, draft in enumerate(drafts, start=1):
        coa = _finalize(number, draft, ctx, drafted_by, citations, notes)
        if coa is not None:
            coas.append(coa)
    return coas, notes


def _finalize(
    number: int,
    draft: COADraft,
    ctx: DraftingContext,
    drafted_by: str,
    citations: _Citations,
    notes: list[str],
) -> COA | None:
    label = f"COA {number} ({draft.name})"
    drafts = draft.phases or [PhaseDraft(name="Execution", tasks=draft.tasks)]
    drafts = sorted(drafts, key=lambda p: p.start_hour)
    air_by_phase = _air_drafts(ctx, draft, drafts)
    phases: list[Phase] = []
    unit_tasks: list[Task] = []
    current: dict[str, Task] = {}
    for number_, phase_draft in enumerate(drafts, start=1):
        start = round(ctx.hour + phase_draft.start_hour, 4)
        element_tasks: list[Task] = []
        assigned: dict[str, str] = {}  # unit id -> "unit" (named itself) or "formation"
        for task in [*phase_draft.tasks, *air_by_phase.get(number_, [])]:
            problem = _problem(task, ctx, {t.unit for t in element_tasks})
            if problem:
                notes.append(f"{label}, phase {number_}: dropped task: {problem}")
                continue
            cited = citations.for_task(task, draft.form_of_maneuver)
            checked = Task(
                **{**task.model_dump(), "citations": cited}, at_hour=start, phase=number_
            )
            element_tasks.append(checked)
            for unit_id in _members(ctx, task.unit):
                if unit_id in assigned and assigned[unit_id] == "unit":
                    continue  # a unit named on its own keeps that task over its formation's
                assigned[unit_id] = "unit" if unit_id == task.unit else "formation"
                current[unit_id] = checked.model_copy(update={"unit": unit_id})
        for unit_id in sorted(current):
            task = current[unit_id]
            if unit_id not in assigned:  # still doing what the last phase told it to
                task = task.model_copy(update={"phase": number_, "continued": True})
                current[unit_id] = task
            unit_tasks.append(task)
        phases.append(
            Phase(
                number=number_,
                name=phase_draft.name,
                start_hour=start,
                end_condition=phase_draft.end_condition,
                tasks=element_tasks,
            )
        )
    for earlier, later in zip(phases, phases[1:], strict=False):
        earlier.end_hour = later.start_hour
    if not unit_tasks:
        notes.append(f"{label}: no valid task left")
        return None
    known = {e.id for e in ctx.elements} | {u.id for u in ctx.air_units}
    efforts = [
        Effort(**{**e.model_dump(), "elements": [x for x in e.elements if x in known]})
        for e in ([draft.main_effort] if draft.main_effort else []) + draft.supporting_efforts
    ]
    reserve = None
    if draft.reserve is not None and draft.reserve.position in ctx.theater.places:
        commit = draft.reserve.commit_hour
        reserve = Reserve(
            **{
                **draft.reserve.model_dump(),
                "elements": [x for x in draft.reserve.elements if x in known],
                "commit_hour": None if commit is None else round(ctx.hour + commit, 4),
            }
        )
    return COA(
        id=f"{ctx.side}-{number}",
        side=ctx.side,
        name=draft.name,
        concept=draft.concept,
        form_of_maneuver=draft.form_of_maneuver,
        main_effort=efforts[0] if draft.main_effort else None,
        supporting_efforts=efforts[1:] if draft.main_effort else efforts,
        reserve=reserve,
        phases=phases,
        air=draft.air,
        tasks=unit_tasks,
        drafted_by=drafted_by,
    )


def _air_drafts(
    ctx: DraftingContext, draft: COADraft, phases: list[PhaseDraft]
) -> dict[int, list[TaskDraft]]:
    """Wing tasks from the draft's air apportionment, for the phases whose tasks name no air
    unit (a drafter that tasks its wings itself keeps its own tasks)."""
    if not draft.air:
        return {}
    air_ids = {u.id for u in ctx.air_units}
    main = set(draft.main_effort.elements) if draft.main_effort else set()
    support: dict[int, str | None] = {}
    for number, phase in enumerate(phases, start=1):
        support[number] = next((t.target for t in phase.tasks if t.unit in main and t.target), None)
    derived = air_tasks(ctx, draft.air, support)
    return {
        number: tasks
        for number, tasks in derived.items()
        if number <= len(phases) and not any(t.unit in air_ids for t in phases[number - 1].tasks)
    }


def _members(ctx: DraftingContext, element_id: str) -> list[str]:
    """The alive units an element task reaches: the unit itself, or a formation's units."""
    unit = ctx.believed.units.get(element_id)
    if unit is not None:
        return [element_id]
    element = next((e for e in ctx.elements if e.id == element_id), None)
    return list(element.units) if element else []


def _problem(task: TaskDraft, ctx: DraftingContext, named: set[str]) -> str | None:
    """Why a task cannot stand, if it cannot."""
    unit = ctx.believed.units.get(task.unit)
    members = _members(ctx, task.unit)
    if not members or (unit is not None and (unit.side != ctx.side or not unit.alive)):
        return f"unknown or enemy unit or formation {task.unit!r}"
    if task.action not in ACTIONS:
        return f"unknown action {task.action!r}"
    if task.action in AIR_ACTIONS and (unit is None or unit.domain != "air"):
        return f"{task.unit} is not an air unit and cannot {task.action}"
    if task.target is not None and task.target not in ctx.theater.places:
        return f"unknown place {task.target!r}"
    if task.unit in named:
        return f"second task for {task.unit}"
    return None


class _Citations:
    """Valid citations of a task, or the passages that best match its purpose (memoised:
    schemes give many elements the same task)."""

    def __init__(self, ctx: DraftingContext):
        self.index = ctx.index
        self.adversary = ctx.scenario.side(ctx.side).doctrine == "adversary"
        self._domains = {u.id: u.domain for u in ctx.believed.units.values()}
        self._elements = {e.id: e.domain for e in ctx.elements}
        self._found: dict[tuple, list[str]] = {}

    def for_task(self, task: TaskDraft, form: str) -> list[str]:
        given = [c for c in task.citations if c in self.index]
        if given:
            return given
        domain = self._domains.get(task.unit) or self._elements.get(task.unit, "land")
        prefix = "adversary " if self.adversary else ""
        query = f"{prefix}{form} {_ACTION_WORDS[task.action]} {task.purpose}"
        key = (query, domain)
        if key not in self._found:
            hits = self.index.search(query, k=2, domain=[domain, "joint"])
            self._found[key] = [h.id for h in hits] or [h.id for h in self.index.search(query, k=2)]
        return list(self._found[key])
