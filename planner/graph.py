"""The OODA loop as a LangGraph state graph: observe → orient → decide → approve → act → repeat.

State holds only JSON-ready data (world snapshots, analyses, plans, cycle records), so the loop
can be checkpointed (SQLite) and resumed; the scenario, theater, doctrine index and drafter come
in as run context. Nodes return only what they change.
"""

from __future__ import annotations

import functools
import operator
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import interrupt

from doctrine import DoctrineIndex
from planner.analysis import MissionAnalysis, analyse
from planner.coa import COA
from planner.decide import decision_matrix, screen, wargame
from planner.drafters import DoctrineDrafter, Drafter, finalize_drafts
from sim._random import key_seed
from sim.engine import apply_orders
from sim.executor import Scheduler
from sim.outcome import mission_over, perceived_state
from sim.runner import run_scripted
from sim.scenario import Scenario
from sim.state import Tasking, WorldState
from sim.theater import Theater

__all__ = ["OODAState", "PlannerContext", "ooda_graph"]


@dataclass
class PlannerContext:
    """What every node needs besides the state: the scenario and the planning machinery."""

    scenario: Scenario
    theater: Theater
    index: DoctrineIndex
    seed: int
    drafter: Drafter = field(default_factory=DoctrineDrafter)
    fallback: Drafter = field(default_factory=DoctrineDrafter)
    workers: int = 1
    scheduler: Scheduler | None = None  # a Dask client to wargame on instead of local workers
    replications: int | None = None
    max_cycles: int | None = None
    approve: bool = False  # pause for the commander's approval each cycle


class OODAState(TypedDict, total=False):
    """The loop's state between nodes (JSON-ready)."""

    world: dict[str, Any]
    cycle: int
    pictures: dict[str, dict[str, Any]]
    analyses: dict[str, dict[str, Any]]
    plans: dict[str, dict[str, Any]]
    history: Annotated[list[dict[str, Any]], operator.add]
    stats: dict[str, float]
    done: bool


def agent_sides(scenario: Scenario) -> list[str]:
    """Sides whose decisions the planner makes."""
    return [side.id for side in scenario.sides if side.planner == "agent"]


def observe(state: OODAState, runtime: Runtime[PlannerContext]) -> dict:
    """Each planning side's perceived picture, from its own sensors' reports only."""
    ctx = runtime.context
    world = WorldState.from_dict(state["world"])
    return {
        "pictures": {
            side: perceived_state(ctx.scenario, world, side).to_dict()
            for side in agent_sides(ctx.scenario)
        }
    }


def orient(state: OODAState, runtime: Runtime[PlannerContext]) -> dict:
    """Mission analysis per side, grounded in retrieved doctrine."""
    ctx = runtime.context
    analyses = {}
    for side, picture in state["pictures"].items():
        believed = WorldState.from_dict(picture)
        analysis = analyse(ctx.scenario, ctx.theater, believed, side, ctx.index)
        analyses[side] = {
            "record": analysis.to_dict(),
            "objectives": analysis.objectives,
            "enemy_main_body": analysis.enemy_main_body,
            "most_likely": [vars(t) for t in analysis.enemy_most_likely],
            "most_dangerous": [vars(t) for t in analysis.enemy_most_dangerous],
        }
    return {"analyses": analyses}


def _restore_analysis(side: str, scenario: Scenario, data: dict) -> MissionAnalysis:
    record = data["record"]
    return MissionAnalysis(
        side=side,
        enemy=scenario.enemy_of(side),
        hour=record["hour"],
        specified_tasks=record["specified_tasks"],
        constraints=record["constraints"],
        key_terrain=record["key_terrain"],
        objectives=data["objectives"],
        own_strength=record["own_strength"],
        enemy_strength_seen=record["enemy_strength_seen"],
        enemy_units_seen=record["enemy_units_seen"],
        enemy_main_body=data["enemy_main_body"],
        enemy_supply_seen=record.get("enemy_supply_seen", []),
        enemy_most_likely=[Tasking(**t) for t in data["most_likely"]],
        enemy_most_dangerous=[Tasking(**t) for t in data["most_dangerous"]],
        enemy_coa_notes=record["enemy_coas"],
        doctrine=record["doctrine"],
    )


def decide(state: OODAState, runtime: Runtime[PlannerContext]) -> dict:
    """Draft, screen, wargame (Monte Carlo) and compare COAs for each planning side."""
    ctx = runtime.context
    scenario, cycle = ctx.scenario, state.get("cycle", 0)
    settings = scenario.settings
    plans, replications = {}, 0
    for side, data in state["analyses"].items():
        analysis = _restore_analysis(side, scenario, data)
        believed = WorldState.from_dict(state["pictures"][side])
        notes: list[str] = []
        count = settings.planning.coas
        coas: list[COA] = []
        try:
            drafts = ctx.drafter.draft(scenario, ctx.theater, believed, analysis, count, ctx.index)
            coas, more = finalize_drafts(
                drafts, scenario, believed, side, ctx.index, ctx.drafter.name
            )
            notes += more
            if not coas:
                notes.append(f"drafter {ctx.drafter.name} gave no usable COA; used doctrine")
        except Exception as err:  # a model or network failure must not end the campaign
            notes.append(
                f"drafter {ctx.drafter.name} failed ({type(err).__name__}: "
                f"{_short(str(err))}); used doctrine"
            )
        if not coas and ctx.drafter.name != ctx.fallback.name:
            drafts = ctx.fallback.draft(scenario, ctx.theater, believed, analysis, count, ctx.index)
            coas, more = finalize_drafts(
                drafts, scenario, believed, side, ctx.index, ctx.fallback.name
            )
            notes += more
        if not coas:
            plans[side] = {"coas": [], "selected_coa": None, "matrix": [], "notes": notes}
            continue
        candidates = screen(coas, scenario, ctx.theater, believed, analysis)
        lookahead = settings.planning.lookahead_hours or 2 * settings.cycle_hours
        replications += wargame(
            candidates,
            scenario,
            believed,
            analysis,
            replications=ctx.replications or settings.planning.replications,
            until=min(believed.hour + lookahead, settings.horizon_hours),
            seed=key_seed(ctx.seed, "wargame", side, cycle),
            workers=ctx.workers,
            first_stage=settings.planning.screening_replications,
            scheduler=ctx.scheduler,
        )
        best, matrix = decision_matrix(candidates)
        plans[side] = {
            "coas": [coa.model_dump() for coa in coas],
            "selected_coa": best.id,
            "selected_by": "planner",
            "matrix": matrix,
            "notes": notes,
        }
    stats = dict(state.get("stats", {}))
    stats["replications"] = stats.get("replications", 0) + replications
    return {"plans": plans, "stats": stats}


def _short(text: str, limit: int = 200) -> str:
    """One line of at most `limit` characters (error messages can carry whole replies)."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def approve(state: OODAState, runtime: Runtime[PlannerContext]) -> dict:
    """Human in the loop: the commander approves or changes each side's selected COA."""
    if not runtime.context.approve:
        return {}
    answer = interrupt(
        {
            "cycle": state.get("cycle", 0),
            "plans": {
                side: {"selected_coa": plan["selected_coa"], "matrix": plan["matrix"]}
                for side, plan in state["plans"].items()
            },
        }
    )
    plans = {side: dict(plan) for side, plan in state["plans"].items()}
    for side, choice in (answer or {}).items():
        ids = {coa["id"] for coa in plans.get(side, {}).get("coas", [])}
        if choice in ids and choice != plans[side]["selected_coa"]:
            plans[side]["selected_coa"] = choice
            plans[side]["selected_by"] = "commander"
    return {"plans": plans}


def act(state: OODAState, runtime: Runtime[PlannerContext]) -> dict:
    """Run the chosen COAs (and any scripted orders) on the ground truth for one cycle."""
    ctx = runtime.context
    scenario, theater = ctx.scenario, ctx.theater
    world = WorldState.from_dict(state["world"])
    start = world.hour
    end = min(start + scenario.settings.cycle_hours, scenario.settings.horizon_hours)
    chosen: list[Tasking] = []
    for plan in state.get("plans", {}).values():
        for coa in plan["coas"]:
            if coa["id"] == plan["selected_coa"]:
                chosen += COA.model_validate(coa).taskings()
    restricted = {s.id: frozenset(s.mission.constraints.restricted_places) for s in scenario.sides}
    apply_orders(scenario, theater, world, chosen, restricted)
    scripted = {s.id for s in scenario.sides if s.planner == "scripted"}
    seed = key_seed(ctx.seed, "truth")
    events = run_scripted(scenario, theater, world, start, end, seed, order_sides=scripted)
    cycle = state.get("cycle", 0)
    record = {
        "cycle": cycle,
        "start_hour": start,
        "end_hour": end,
        "analyses": {side: a["record"] for side, a in state.get("analyses", {}).items()},
        "plans": state.get("plans", {}),
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
    }
    stats = dict(state.get("stats", {}))
    stats["events"] = stats.get("events", 0) + events
    done = mission_over(scenario, world) or (
        ctx.max_cycles is not None and cycle + 1 >= ctx.max_cycles
    )
    return {
        "world": world.to_dict(),
        "cycle": cycle + 1,
        "history": [record],
        "stats": stats,
        "done": done,
    }


def _route_after_act(state: OODAState) -> Literal["observe", "__end__"]:
    return END if state.get("done") else "observe"


def _timed(node: Callable[..., dict]) -> Callable[..., dict]:
    """The node, adding its run time to stats["seconds"]. The total lives in the checkpointed
    state, so a run resumed from a checkpoint counts every segment's work (and never the time
    a paused run waited for the commander)."""

    @functools.wraps(node)
    def timed(state: OODAState, runtime: Runtime[PlannerContext]) -> dict:
        started = time.perf_counter()
        update = node(state, runtime)
        stats = dict(update.get("stats", state.get("stats", {})))
        stats["seconds"] = stats.get("seconds", 0.0) + time.perf_counter() - started
        return {**update, "stats": stats}

    return timed


def _build() -> Any:
    builder = StateGraph(OODAState, context_schema=PlannerContext)
    for node in (observe, orient, decide, approve, act):
        builder.add_node(node.__name__, _timed(node))
    builder.add_edge(START, "observe")
    builder.add_edge("observe", "orient")
    builder.add_edge("orient", "decide")
    builder.add_edge("decide", "approve")
    builder.add_edge("approve", "act")
    builder.add_conditional_edges("act", _route_after_act)
    return builder


#: The uncompiled loop; compile with or without a checkpointer (`campaign.run_campaign`).
ooda_graph = _build()
