"""Decide, step 4: revise the leading COA by a search over its tasking, the wargame as fitness.

A staff improves its best COA after wargaming it (FM 5-0: "refine the COA"). The search tries
changes a planner would make, each keeping the COA's scheme, phases and citations:

- move an element to another position (between sectors, forward or back in depth);
- shift the main effort to a supporting effort's position (the two swap their tasks);
- commit the reserve (or start any later phase) earlier or later;
- re-aim the air effort at another target.

Every candidate is screened (FASDC), then raced by successive halving (Jamieson & Talwalkar
2016): all are wargamed on the first half of the incumbent's replications, the best
FINALISTS on all of them (common random numbers throughout). The best finalist replaces the
incumbent only if its mean utility on those replications is higher, so a revision never scores
below where it started under the same random numbers. The search stops after
`planning.revision_rounds` rounds or when no candidate improves; a round costs about
(CANDIDATES_PER_ROUND x n/2 + FINALISTS x n/2) x enemy courses simulation runs for n =
`planning.revision_replications`.
"""

from __future__ import annotations

import numpy as np

from planner.coa import COA, COADraft, EffortDraft, PhaseDraft, ReserveDraft, Revision, TaskDraft
from planner.context import DraftingContext
from planner.decide import Wargame
from planner.screening import screen
from planner.validation import finalize_drafts
from sim._random import key_seed

__all__ = ["CANDIDATES_PER_ROUND", "FINALISTS", "revise"]

#: Candidates raced per round (a sample of all the moves, drawn reproducibly) ...
CANDIDATES_PER_ROUND = 20
#: ... of which this many go on to the full replications.
FINALISTS = 4
#: Nearest alternative positions tried per element.
POSITIONS_PER_ELEMENT = 4
#: Hours a later phase (a reserve's commitment) is moved earlier or later.
TIMING_STEP_HOURS = 4.0


def revise(
    coa: COA, ctx: DraftingContext, game: Wargame, *, replications: int, rounds: int
) -> COA | None:
    """The COA improved by the search, with its revisions listed; None if nothing improved."""
    if replications <= 0 or rounds <= 0:
        return None
    incumbent, draft = coa, to_draft(coa, ctx)
    value = _value(game, [incumbent], replications)[0]
    revisions: list[Revision] = []
    rng = np.random.default_rng(key_seed(game.seed, "revision", coa.id))
    for _ in range(rounds):
        moves = _moves(draft, ctx)
        if not moves:
            break
        if len(moves) > CANDIDATES_PER_ROUND:
            picked = rng.choice(len(moves), size=CANDIDATES_PER_ROUND, replace=False)
            moves = [moves[i] for i in sorted(picked)]
        candidates = []
        for change, candidate in moves:
            built = _build(candidate, ctx, coa)
            if built is not None:
                candidates.append((change, candidate, built))
        if not candidates:
            break
        half = max(1, replications // 2)
        first = _value(game, [c[2] for c in candidates], half)
        ranked = sorted(range(len(candidates)), key=lambda i: (-first[i], i))[:FINALISTS]
        candidates = [candidates[i] for i in ranked]
        values = _value(game, [c[2] for c in candidates], replications)
        best = max(range(len(candidates)), key=lambda i: (values[i], -i))
        if values[best] <= value:
            break
        change, draft, incumbent = candidates[best]
        revisions.append(
            Revision(
                change=change,
                utility_before=round(value, 6),
                utility_after=round(values[best], 6),
                replications=replications,
            )
        )
        value = values[best]
    if not revisions:
        return None
    return incumbent.model_copy(
        update={
            "id": f"{coa.id}r",
            "name": f"{coa.name} (revised)",
            "revised_from": coa.id,
            "revisions": revisions,
            "scores": {},
        }
    )


def to_draft(coa: COA, ctx: DraftingContext) -> COADraft:
    """A validated COA back as a draft (element tasks, hours after the decision)."""
    return COADraft(
        name=coa.name,
        concept=coa.concept,
        form_of_maneuver=coa.form_of_maneuver,
        phases=[
            PhaseDraft(
                name=p.name,
                start_hour=round(p.start_hour - ctx.hour, 4),
                end_condition=p.end_condition,
                tasks=[
                    TaskDraft(**t.model_dump(include=set(TaskDraft.model_fields))) for t in p.tasks
                ],
            )
            for p in coa.phases
        ],
        main_effort=EffortDraft(**coa.main_effort.model_dump()) if coa.main_effort else None,
        supporting_efforts=[EffortDraft(**e.model_dump()) for e in coa.supporting_efforts],
        reserve=(
            ReserveDraft(
                **{
                    **coa.reserve.model_dump(),
                    "commit_hour": None
                    if coa.reserve.commit_hour is None
                    else round(coa.reserve.commit_hour - ctx.hour, 4),
                }
            )
            if coa.reserve
            else None
        ),
        air=coa.air,
    )


def _value(game: Wargame, coas: list[COA], replications: int) -> list[float]:
    """Mean penalised utility of each COA over replications 0 .. n-1 (common random numbers)."""
    return [game.value(per_course) for per_course in game.run(coas, 0, replications)]


def _build(draft: COADraft, ctx: DraftingContext, original: COA) -> COA | None:
    """The candidate as a COA if it passes screening (citations kept from the draft)."""
    coas, _ = finalize_drafts([draft], ctx, original.drafted_by)
    if not coas:
        return None
    candidate = coas[0].model_copy(update={"id": f"{original.id}r"})
    return candidate if screen([candidate], ctx) else None


def _moves(draft: COADraft, ctx: DraftingContext) -> list[tuple[str, COADraft]]:
    """Every candidate change of the draft, described."""
    return (
        _position_moves(draft, ctx)
        + _main_effort_moves(draft)
        + _timing_moves(draft, ctx)
        + _air_moves(draft, ctx)
    )


def _candidate_places(draft: COADraft, ctx: DraftingContext) -> list[str]:
    places = [t.target for p in draft.phases for t in p.tasks if t.target]
    places += [p for s in ctx.analysis.sectors for p in s.positions]
    places += [o["place"] for o in ctx.analysis.objectives]
    places += [k.place for k in ctx.analysis.key_terrain]
    return [p for p in dict.fromkeys(places) if p not in ctx.restricted]


def _position_moves(draft: COADraft, ctx: DraftingContext) -> list[tuple[str, COADraft]]:
    """Move one ground or naval element's phase-1 task to another position."""
    moves = []
    places = _candidate_places(draft, ctx)
    elements = {e.id: e for e in ctx.elements}
    first = draft.phases[0]
    for index, task in enumerate(first.tasks):
        element = elements.get(task.unit)
        if element is None or task.action not in ("defend", "hold", "attack", "move"):
            continue
        options = [
            (hours, place)
            for place in places
            if place != task.target and (hours := ctx.travel_hours(element, place)) is not None
        ]
        for _, place in sorted(options)[:POSITIONS_PER_ELEMENT]:
            changed = _retarget(task, place)
            moves.append(
                (
                    f"phase 1: {element.name} to {place} (was {task.target or 'in place'})",
                    _with_task(draft, 0, index, changed),
                )
            )
    return moves


def _retarget(task: TaskDraft, place: str) -> TaskDraft:
    purpose = task.purpose.replace(task.target, place) if task.target else task.purpose
    return task.model_copy(update={"target": place, "purpose": purpose})


def _with_task(draft: COADraft, phase: int, index: int, task: TaskDraft) -> COADraft:
    phases = [p.model_copy(update={"tasks": list(p.tasks)}) for p in draft.phases]
    phases[phase].tasks[index] = task
    return draft.model_copy(update={"phases": phases})


def _main_effort_moves(draft: COADraft) -> list[tuple[str, COADraft]]:
    """Swap the phase-1 tasks of the main effort's elements with a supporting effort's."""
    if draft.main_effort is None or not draft.phases:
        return []
    moves = []
    first = draft.phases[0]
    targets = {t.unit: t for t in first.tasks}
    main_target = next(
        (targets[e].target for e in draft.main_effort.elements if e in targets), None
    )
    for number, effort in enumerate(draft.supporting_efforts):
        other = next((targets[e].target for e in effort.elements if e in targets), None)
        if other is None or main_target is None or other == main_target:
            continue
        swapped = []
        for task in first.tasks:
            if task.unit in draft.main_effort.elements and task.target == main_target:
                swapped.append(_retarget(task, other))
            elif task.unit in effort.elements and task.target == other:
                swapped.append(_retarget(task, main_target))
            else:
                swapped.append(task)
        phases = [first.model_copy(update={"tasks": swapped}), *draft.phases[1:]]
        new_main = draft.main_effort.model_copy(
            update={"elements": effort.elements, "sector": effort.sector, "axis": effort.axis}
        )
        new_support = list(draft.supporting_efforts)
        new_support[number] = effort.model_copy(
            update={
                "elements": draft.main_effort.elements,
                "sector": draft.main_effort.sector,
                "axis": draft.main_effort.axis,
            }
        )
        moves.append(
            (
                f"main effort shifted from {main_target} to {other}",
                draft.model_copy(
                    update={
                        "phases": phases,
                        "main_effort": new_main,
                        "supporting_efforts": new_support,
                    }
                ),
            )
        )
    return moves


def _timing_moves(draft: COADraft, ctx: DraftingContext) -> list[tuple[str, COADraft]]:
    """Start each later phase (a reserve's commitment) earlier or later."""
    moves = []
    for index, phase in enumerate(draft.phases[1:], start=1):
        for step in (-TIMING_STEP_HOURS, TIMING_STEP_HOURS):
            start = round(phase.start_hour + step, 2)
            earlier = draft.phases[index - 1].start_hour
            if not earlier < start < ctx.lookahead_hours:
                continue
            phases = list(draft.phases)
            phases[index] = phase.model_copy(update={"start_hour": start})
            reserve = draft.reserve
            if reserve is not None and reserve.commit_hour == phase.start_hour:
                reserve = reserve.model_copy(update={"commit_hour": start})
            moves.append(
                (
                    f"phase {index + 1} ({phase.name}) from H+{phase.start_hour:g} to H+{start:g}",
                    draft.model_copy(update={"phases": phases, "reserve": reserve}),
                )
            )
    return moves


def _air_moves(draft: COADraft, ctx: DraftingContext) -> list[tuple[str, COADraft]]:
    """Re-aim every wing striking in phase 1 at another target in reach."""
    air = {u.id: u for u in ctx.air_units}
    if not air or not draft.phases:
        return []
    first = draft.phases[0]
    striking = [(i, t) for i, t in enumerate(first.tasks) if t.unit in air and t.action == "strike"]
    if not striking:
        return []
    current = {t.target for _, t in striking}
    targets = [p for p in _candidate_places(draft, ctx) if p not in current]
    moves = []
    for place in targets[:POSITIONS_PER_ELEMENT]:
        tasks = list(first.tasks)
        for i, task in striking:
            if ctx.reachable_air(air[task.unit], place):
                tasks[i] = _retarget(task, place)
        if tasks != first.tasks:
            phases = [first.model_copy(update={"tasks": tasks}), *draft.phases[1:]]
            moves.append(
                (
                    f"phase 1: air effort re-aimed at {place}",
                    draft.model_copy(update={"phases": phases}),
                )
            )
    return moves
