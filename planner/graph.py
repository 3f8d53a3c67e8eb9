"""The OODA loop as a LangGraph state graph, with the MDMP as one staff subgraph per side.

observe -> staff (per deciding side, fanned out with `Send`) -> approve -> orders -> act ->
repeat. Each side decides on its own cycle (`sides[].cycle_hours`) and its orders take effect
after its decision delay (`sides[].decision_delay_hours`); between decisions it acts on its last
orders and its picture ages. The loop advances to the next decision of any side.
Each side's staff works through the MDMP steps as separate, checkpointed nodes: mission
analysis -> COA development -> screening -> wargaming -> revision -> comparison. The sides plan
independently from their own perceived pictures; their plans merge by side.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send, interrupt

from planner.agent import unknown_citations
from planner.analysis import MissionAnalysis, analyse
from planner.coa import COA
from planner.command import (
    Approve,
    CommandRecord,
    Pause,
    Pick,
    Reweight,
    check_decision,
    pending_decision,
    read_decision,
    rescore,
)
from planner.context import DraftingContext, lookahead_hours
from planner.decide import Wargame, decision_matrix, wargame
from planner.drafters import LLMDrafter, finalize_drafts
from planner.events import cycle_events
from planner.llm import RunStopped
from planner.orders import write_orders
from planner.record import AgentRecord
from planner.revision import revise
from planner.screening import judge_losses, repair, screen
from planner.state import OODAState, PlannerContext, StaffOutput, StaffState
from sim._random import key_seed
from sim.engine import apply_orders
from sim.outcome import mission_over, perceived_state
from sim.runner import run_scripted
from sim.state import Tasking, WorldState

__all__ = ["OODAState", "PlannerContext", "ooda_graph", "staff_graph"]


def agent_sides(scenario) -> list[str]:
    """Sides whose decisions the planner makes."""
    return [side.id for side in scenario.sides if side.planner == "agent"]


# ------------------------------------------------------------------ the OODA loop
def observe(state: OODAState, runtime: Runtime[PlannerContext]) -> dict:
    """The perceived picture of each side whose decision is due, from its own sensors'
    reports only."""
    ctx = runtime.context
    world = WorldState.from_dict(state["world"])
    due = state.get("next_decision", {})
    deciding = [
        side for side in agent_sides(ctx.scenario) if due.get(side, 0.0) <= world.hour + 1e-9
    ]
    return {
        "deciding": deciding,
        "pictures": {
            side: perceived_state(ctx.scenario, world, side).to_dict() for side in deciding
        },
        **_NO_PAUSE,
    }


#: The commander's pause, cleared at the start of every step.
_NO_PAUSE: dict[str, Any] = {
    "settled": [],
    "awaiting": [],
    "command_errors": {},
    "revising": {},
    "commands": [],
}


def _to_staffs(state: OODAState) -> list[Send]:
    """One staff per deciding side, each with only its own picture."""
    cycle = state.get("cycle", 0)
    pictures = state.get("pictures", {})
    weights = state.get("side_weights", {})
    return [
        Send(
            "staff",
            {"side": side, "cycle": cycle, "picture": pictures[side], "weights": weights.get(side)},
        )
        for side in sorted(state.get("deciding", []))
    ] or [Send("approve", state)]


def _deciding_plans(state: OODAState) -> dict[str, dict[str, Any]]:
    """The plans made at this step (the state keeps every side's last plan)."""
    deciding = set(state.get("deciding", []))
    return {side: plan for side, plan in state.get("plans", {}).items() if side in deciding}


def approve(state: OODAState, runtime: Runtime[PlannerContext]) -> dict:
    """Human in the loop: pause for the commander of each side the user commands and that
    decided at this step; apply each decision (planner.command). Approve and pick settle the
    side; new weights rescore its matrix and ask again; revise sends its staff back (then the
    commander is asked again); a refused decision asks again with the reason."""
    ctx = runtime.context
    plans = _deciding_plans(state)
    settled = set(state.get("settled", []))
    pending = [side for side in sorted(plans) if side in ctx.command and side not in settled]
    if not pending:
        return {"awaiting": [], "revising": {}}
    errors = state.get("command_errors", {})
    world_hour = WorldState.from_dict(state["world"]).hour
    cycle = state.get("cycle", 0)
    asked = {
        side: pending_decision(
            side, plans[side], cycle=cycle, hour=world_hour, error=errors.get(side)
        )
        for side in pending
    }
    answer = interrupt(Pause(cycle=cycle, hour=world_hour, sides=asked).payload())
    changed: dict[str, dict[str, Any]] = {}
    refused: dict[str, str] = {}
    revising: dict[str, str] = {}
    weights: dict[str, dict[str, float]] = {}
    records = list(state.get("commands", []))
    for side in pending:
        if side not in (answer or {}):
            continue
        plan = plans[side]
        record = {"cycle": cycle, "hour": world_hour, "side": side, "decision": answer[side]}
        try:
            decision = check_decision(read_decision(answer[side]), asked[side])
        except ValueError as problem:  # pydantic's ValidationError is a ValueError too
            refused[side] = str(problem).splitlines()[0]
            records.append({**record, "accepted": False, "outcome": f"refused: {refused[side]}"})
            continue
        record["decision"] = decision.model_dump(mode="json")
        if isinstance(decision, Approve):
            settled.add(side)
            outcome = f"approved {plan['selected_coa']}"
        elif isinstance(decision, Pick):
            settled.add(side)
            if decision.coa != plan["selected_coa"]:
                changed[side] = {**plan, "selected_coa": decision.coa, "selected_by": "commander"}
            outcome = f"picked {decision.coa}"
        elif isinstance(decision, Reweight):
            limit = ctx.scenario.side(side).mission.constraints.max_loss_fraction
            changed[side] = rescore(plan, decision.weights, limit)
            weights[side] = decision.weights
            outcome = f"weights set; the staff's selection is {changed[side]['selected_coa']}"
        else:
            revising[side] = decision.guidance
            outcome = "staff sent back to revise"
        records.append(CommandRecord.model_validate({**record, "outcome": outcome}).model_dump())
    return {
        "plans": changed,
        "settled": sorted(settled),
        "awaiting": [side for side in pending if side not in settled and side not in revising],
        "command_errors": refused,
        "revising": revising,
        "commands": records,
        "side_weights": weights,
    }


def _route_after_approve(state: OODAState) -> list[Send] | Literal["approve", "orders"]:
    """Staffs sent back to revise, else the commander again for an unsettled side, else on
    to the orders."""
    revising = state.get("revising", {})
    if revising:
        plans = state.get("plans", {})
        return [
            Send(
                "staff",
                {
                    "side": side,
                    "cycle": state.get("cycle", 0),
                    "picture": state["pictures"][side],
                    "analysis": state["analyses"][side],
                    "coas": plans[side]["coas"],
                    "notes": [*plans[side]["notes"], f"commander: revise ({guidance or '-'})"],
                    "agent": plans[side].get("agent"),
                    "selection": plans[side].get("selection"),
                    "weights": state.get("side_weights", {}).get(side),
                    "revise": guidance,
                },
            )
            for side, guidance in sorted(revising.items())
        ]
    return "approve" if state.get("awaiting") else "orders"


def orders(state: OODAState, runtime: Runtime[PlannerContext]) -> dict:
    """OPORD paragraph 3 and the synchronisation matrix of each side's selected COA."""
    plans = {}
    for side, plan in _deciding_plans(state).items():
        chosen = next((c for c in plan["coas"] if c["id"] == plan["selected_coa"]), None)
        if chosen is not None:
            written = write_orders(COA.model_validate(chosen), runtime.context.scenario)
            plans[side] = {**plan, "orders": written.model_dump()}
    return {"plans": plans}


def act(state: OODAState, runtime: Runtime[PlannerContext]) -> dict:
    """Run the orders in force (each side's chosen COA, phase by phase, from its decision
    delay on) and any scripted orders on the ground truth, up to the next decision of any
    side."""
    ctx = runtime.context
    scenario, theater = ctx.scenario, ctx.theater
    world = WorldState.from_dict(state["world"])
    start = world.hour
    plans = _deciding_plans(state)
    in_force = dict(state.get("orders_in_force", {}))
    next_decision = dict(state.get("next_decision", {}))
    for side, plan in plans.items():
        chosen = next((c for c in plan["coas"] if c["id"] == plan["selected_coa"]), None)
        delay = scenario.side(side).decision_delay_hours
        orders = COA.model_validate(chosen).taskings() if chosen else []
        in_force[side] = [
            asdict(replace(t, at_hour=max(start, t.at_hour or start) + delay)) for t in orders
        ]
    for side in state.get("deciding", []):
        next_decision[side] = start + ctx.cycle_hours(side)
    horizon = scenario.settings.horizon_hours
    end = min(min(next_decision.values(), default=start + scenario.settings.cycle_hours), horizon)
    due = [
        Tasking(**t) for orders in in_force.values() for t in orders if start <= t["at_hour"] < end
    ]
    restricted = {s.id: frozenset(s.mission.constraints.restricted_places) for s in scenario.sides}
    scripted = {s.id for s in scenario.sides if s.planner == "scripted"}
    # The event log compares the world before and after; its copy carries the orders given
    # at the step's start, as the engine sees them (air taskings are read from it).
    before = world.clone()
    apply_orders(scenario, theater, before, [t for t in due if t.at_hour <= start])
    events = run_scripted(
        scenario,
        theater,
        world,
        start,
        end,
        key_seed(ctx.seed, "truth"),
        order_sides=scripted,
        taskings=due,
        restricted=restricted,
    )
    cycle = state.get("cycle", 0)
    record = {
        "cycle": cycle,
        "start_hour": start,
        "end_hour": end,
        "analyses": {side: a for side, a in state.get("analyses", {}).items() if side in plans},
        "plans": plans,
        "situation": {
            "strength": {k: round(v, 3) for k, v in world.strength_by_side().items()},
            "control": dict(world.control),
            "units": {
                u.id: {
                    "place": u.location,
                    "moving_to": u.next_place,
                    "strength": round(u.strength, 3),
                }
                for u in world.units.values()
                if u.alive and u.arrives_hour <= world.hour
            },
        },
        "events": events,
        "event_log": [event.model_dump() for event in cycle_events(scenario, before, world)],
        "commands": state.get("commands", []),
    }
    done = mission_over(scenario, world) or (
        ctx.max_cycles is not None and cycle + 1 >= ctx.max_cycles
    )
    return {
        "world": world.to_dict(),
        "cycle": cycle + 1,
        "next_decision": next_decision,
        "orders_in_force": in_force,
        "history": [record],
        "stats": {"events": events},
        "done": done,
    }


def _route_after_act(state: OODAState) -> Literal["observe", "__end__"]:
    return END if state.get("done") else "observe"


# --------------------------------------------------------------- a side's staff
def _drafting(state: StaffState, ctx: PlannerContext) -> DraftingContext:
    return DraftingContext(
        scenario=ctx.scenario,
        theater=ctx.theater,
        believed=WorldState.from_dict(state["picture"]),
        analysis=MissionAnalysis.model_validate(state["analysis"]),
        index=ctx.index,
        count=ctx.scenario.settings.planning.coas,
    )


def _coas(state: StaffState) -> list[COA]:
    return [COA.model_validate(c) for c in state.get("coas", [])]


def _dump(coas: list[COA]) -> list[dict[str, Any]]:
    return [coa.model_dump(mode="json") for coa in coas]


def mission_analysis(state: StaffState, runtime: Runtime[PlannerContext]) -> dict:
    """Mission analysis of the side's believed world, grounded in retrieved doctrine."""
    ctx = runtime.context
    believed = WorldState.from_dict(state["picture"])
    analysis = analyse(ctx.scenario, ctx.theater, believed, state["side"], ctx.index)
    return {"analysis": analysis.model_dump(mode="json"), "notes": list(analysis.notes)}


def coa_development(state: StaffState, runtime: Runtime[PlannerContext]) -> dict:
    """Draft COAs with the side's drafter (a chat model plans as a tool-using agent, testing
    candidates with the wargame), the doctrine drafter if it fails, and validate them."""
    ctx = runtime.context
    side = state["side"]
    drafter = ctx.drafter_for(side)
    drafting = _drafting(state, ctx)
    notes = list(state.get("notes", []))
    coas: list[COA] = []
    update: dict[str, Any] = {}
    if isinstance(drafter, LLMDrafter):
        game = _game(state, ctx)
        try:
            planned = drafter.plan(drafting, game, cycle=state.get("cycle", 0))
            agent, drafts, failure = planned.record, planned.drafts, planned.failure
        except RunStopped:  # no provider on the first call, or a replay that ran out
            raise
        except Exception as err:  # a model or network failure must not end the campaign
            agent = AgentRecord(drafter=drafter.name, model=drafter.spec)
            drafts, failure = None, f"{type(err).__name__}: {_short(str(err))}"
            agent.failures.append(failure)
        # The agent's wargames share the staff's seed: the wargaming step reuses them.
        update = {"replications": game.export(), "stats": {"replications": game.runs}}
    else:
        agent = AgentRecord(drafter=drafter.name)
        try:
            drafts, failure = drafter.draft(drafting), None
        except Exception as err:  # a drafter's failure must not end the campaign
            drafts, failure = None, f"{type(err).__name__}: {_short(str(err))}"
    if drafts is not None:
        notes += [
            f"{n}; replaced by retrieved passages" for n in unknown_citations(drafts, drafting)
        ]
        coas, more = finalize_drafts(drafts, drafting, drafter.name)
        notes += more
        if not coas:
            failure = "gave no usable COA"
    if not coas and drafter.name != ctx.fallback.name:
        reason = f"failed ({failure})" if drafts is None else (failure or "gave no usable COA")
        notes.append(f"drafter {drafter.name} {reason}; used doctrine")
        agent.fallback = reason
        agent.drafter = ctx.fallback.name
        coas, more = finalize_drafts(ctx.fallback.draft(drafting), drafting, ctx.fallback.name)
        notes += more
    return {
        **update,
        "coas": _dump(coas),
        "notes": notes,
        "agent": agent.model_dump(mode="json"),
    }


def _short(text: str, limit: int = 200) -> str:
    """One line of at most `limit` characters (error messages can carry whole replies)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def screening(state: StaffState, runtime: Runtime[PlannerContext]) -> dict:
    """FASDC screening. A COA that fails for infeasible or unacceptable tasks (not for being a
    copy of another) gets a repaired variant, its failing tasks replaced by holding in place,
    which is screened with the rest."""
    drafting = _drafting(state, runtime.context)
    coas = _coas(state)
    notes = list(state.get("notes", []))
    passing = screen(coas, drafting)
    failed = [c for c in coas if c not in passing]
    repaired = [repair(c, drafting) for c in failed if c.screening.get("distinguishable")]
    kept = screen([*passing, *repaired], drafting)
    for coa in failed:
        notes.append(f"{coa.id} failed screening: {'; '.join(coa.screening_notes)}")
    for fixed in repaired:
        verdict = "passes" if fixed in kept else "fails too: " + "; ".join(fixed.screening_notes)
        notes.append(f"{fixed.id} ({fixed.revised_from} repaired) {verdict}")
    if not kept:
        notes.append("no COA passed screening")
    return {"coas": _dump(coas + repaired), "notes": notes}


def wargaming(state: StaffState, runtime: Runtime[PlannerContext]) -> dict:
    """Wargame the COAs that passed screening (Monte Carlo from the believed world)."""
    ctx = runtime.context
    coas = _coas(state)
    candidates = [c for c in coas if c.screening and all(c.screening.values())]
    game = _game(state, ctx)
    record = wargame(
        candidates, game, ctx.scenario.settings.planning, max_replications=ctx.replications
    )
    for coa in candidates:
        judge_losses(coa, game.limit)
    return {
        "coas": _dump(coas),
        "selection": record.model_dump(mode="json") if record else {},
        "replications": game.export(),
        "stats": {"replications": game.runs},
    }


def _game(state: StaffState, ctx: PlannerContext) -> Wargame:
    """The side's wargame, with the replications earlier steps already ran."""
    settings = ctx.scenario.settings
    believed = WorldState.from_dict(state["picture"])
    lookahead = lookahead_hours(ctx.scenario, state["side"])
    game = Wargame(
        ctx.scenario,
        believed,
        MissionAnalysis.model_validate(state["analysis"]),
        until=min(believed.hour + lookahead, settings.horizon_hours),
        seed=key_seed(ctx.seed, "wargame", state["side"], state.get("cycle", 0)),
        weights=ctx.matrix_weights(state.get("weights")),
        workers=ctx.workers,
        scheduler=ctx.scheduler,
    )
    game.restore(state.get("replications", []))
    return game


def revision(state: StaffState, runtime: Runtime[PlannerContext]) -> dict:
    """Improve the leading COA by a search over its tasking; if it improved, wargame it with
    the COAs still in contention."""
    ctx = runtime.context
    settings = ctx.scenario.settings.planning
    coas = _coas(state)
    contenders = [c for c in coas if c.scores and not c.scores.get("eliminated")]
    if not contenders or settings.revision_replications <= 0:
        return {}
    leader, _ = decision_matrix(contenders)
    game = _game(state, ctx)
    revised = revise(
        leader,
        _drafting(state, ctx),
        game,
        replications=settings.revision_replications,
        rounds=settings.revision_rounds,
    )
    notes = list(state.get("notes", []))
    if revised is None or revised.id in {c.id for c in coas}:
        found = "no change improved it" if revised is None else f"found {revised.id} again"
        notes.append(f"revision of {leader.id}: {found}")
        return {"notes": notes, "stats": {"replications": game.runs}}
    revised.screening = dict(leader.screening)
    contenders.append(revised)
    for coa in contenders:  # judged afresh on the new wargame
        coa.screening_notes = [n for n in coa.screening_notes if "exceed" not in n]
        coa.screening["acceptable"] = True
    record = wargame(contenders, game, settings, max_replications=ctx.replications)
    for coa in contenders:
        judge_losses(coa, game.limit)
    rescored = {c.id: c for c in contenders}
    coas = [rescored.get(c.id, c) for c in coas] + [revised]
    gained = revised.revisions[-1].utility_after - revised.revisions[0].utility_before
    notes.append(
        f"revision of {leader.id}: {len(revised.revisions)} change(s), +{gained:.3f} utility"
    )
    return {
        "coas": _dump(coas),
        "notes": notes,
        "selection": record.model_dump(mode="json") if record else {},
        "stats": {"replications": game.runs},
    }


def comparison(state: StaffState, runtime: Runtime[PlannerContext]) -> dict:
    """The decision matrix over the wargamed COAs, and the side's plan record."""
    side = state["side"]
    coas = _coas(state)
    scored = [c for c in coas if c.scores]
    plan: dict[str, Any] = {
        "coas": _dump(coas),
        "selected_coa": None,
        "selected_by": "planner",
        "matrix": [],
        "notes": list(state.get("notes", [])),
        "weights": runtime.context.matrix_weights(state.get("weights")),
        "selection": state.get("selection") or None,
        "agent": state.get("agent"),
    }
    if scored:
        best, matrix = decision_matrix(scored)
        plan.update(selected_coa=best.id, matrix=matrix)
        if not best.screening.get("acceptable", True):
            plan["notes"].append(
                f"no COA kept its losses within the limit; {best.id} is the best of them"
            )
    return {"plans": {side: plan}, "analyses": {side: state["analysis"]}}


# ------------------------------------------------------------------------ build
def _timed(node: Callable[..., dict]) -> Callable[..., dict]:
    """The node, adding its run time to stats["seconds"]. The total lives in the checkpointed
    state, so a run resumed from a checkpoint counts every segment's work (and never the time
    a paused run waited for the commander)."""

    @functools.wraps(node)
    def timed(state: Any, runtime: Runtime[PlannerContext]) -> dict:
        started = time.perf_counter()
        update = node(state, runtime)
        stats = dict(update.get("stats", {}))
        stats["seconds"] = stats.get("seconds", 0.0) + time.perf_counter() - started
        return {**update, "stats": stats}

    return timed


def _staff_entry(state: StaffState) -> Literal["mission_analysis", "revision"]:
    """A new plan starts with mission analysis; a staff the commander sent back revises."""
    return "mission_analysis" if state.get("revise") is None else "revision"


MDMP_STEPS = (mission_analysis, coa_development, screening, wargaming, revision, comparison)


def _build_staff() -> Any:
    builder = StateGraph(StaffState, context_schema=PlannerContext, output_schema=StaffOutput)
    for node in MDMP_STEPS:
        builder.add_node(node.__name__, _timed(node))
    builder.add_conditional_edges(START, _staff_entry, ["mission_analysis", "revision"])
    for here, there in zip(MDMP_STEPS, MDMP_STEPS[1:], strict=False):
        builder.add_edge(here.__name__, there.__name__)
    builder.add_edge(MDMP_STEPS[-1].__name__, END)
    return builder.compile()


#: One side's MDMP, compiled (a node of the OODA loop, run once per planning side).
staff_graph = _build_staff()


def _build() -> Any:
    builder = StateGraph(OODAState, context_schema=PlannerContext)
    builder.add_node("observe", _timed(observe))
    builder.add_node("staff", staff_graph)
    for node in (approve, orders, act):
        builder.add_node(node.__name__, _timed(node))
    builder.add_edge(START, "observe")
    builder.add_conditional_edges("observe", _to_staffs, ["staff", "approve"])
    builder.add_edge("staff", "approve")
    builder.add_conditional_edges("approve", _route_after_approve, ["staff", "approve", "orders"])
    builder.add_edge("orders", "act")
    builder.add_conditional_edges("act", _route_after_act)
    return builder


#: The uncompiled loop; compile with or without a checkpointer (`campaign.run_campaign`).
ooda_graph = _build()
