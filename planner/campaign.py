"""Run a whole campaign: OODA cycles until the mission ends, then the after-action record.

`run_campaign` compiles the LangGraph loop (with a checkpointer when the commander approves
each cycle, or when a SQLite checkpoint file is given), streams it, and builds the AAR.
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command

from doctrine import DoctrineIndex, default_index
from planner.aar import build_aar
from planner.drafters import DoctrineDrafter, Drafter, LLMDrafter
from planner.graph import ooda_graph
from planner.record import AfterActionRecord
from planner.state import PlannerContext
from sim._random import key_seed
from sim.engine import Simulation
from sim.executor import dask_client
from sim.scenario import Scenario
from sim.state import initial_state
from sim.theater import Theater

__all__ = ["decision_steps", "run_campaign"]

Approver = Callable[[dict[str, Any]], dict[str, str]]
Progress = Callable[[str, dict[str, Any]], None]


def decision_steps(scenario: Scenario) -> int:
    """Steps of the loop over a whole campaign: the distinct hours at which some side
    decides (each side every `cycle_hours` from H+0) before the horizon."""
    settings = scenario.settings
    hours: set[float] = set()
    for side in scenario.sides:
        cycle = side.cycle_hours or settings.cycle_hours
        hours |= {round(k * cycle, 9) for k in range(math.ceil(settings.horizon_hours / cycle))}
    return len(hours)


def run_campaign(
    scenario: Scenario,
    *,
    seed: int | None = None,
    cycles: int | None = None,
    drafter: Drafter | None = None,
    drafters: dict[str, Drafter | LLMDrafter] | None = None,
    index: DoctrineIndex | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    replications: int | None = None,
    approver: Approver | None = None,
    checkpoint: Path | None = None,
    thread_id: str = "campaign",
    progress: Progress | None = None,
    weights: dict[str, float] | None = None,
) -> AfterActionRecord:
    """Play the scenario's OODA cycles and return the after-action record.

    Args:
        seed: campaign seed (default: the scenario's).
        cycles: stop after this many cycles even if the mission goes on.
        replications: cap on any COA's replications per decision (default: the scenario's
            `planning.max_replications`); the selection procedure sizes the budget below it.
        drafter: COA drafter of every side (default: the offline doctrine drafter).
        drafters: a side's own drafter, by side id (over `drafter`): e.g. a chat model for
            Blue and another, or the doctrine drafter, for Red.
        approver: called with each cycle's decision matrices; returns {side: coa id} to change
            a selection (an empty dict approves). Enables the human-in-the-loop pause.
        checkpoint: SQLite file for LangGraph checkpoints; re-running with the same file and
            thread resumes where the last run stopped.
        progress: called as (node name, update) after every node.
        weights: decision-matrix weights (default: the scenario's `planning.weights`).
        scheduler: Dask scheduler address, or "local" for a local cluster of `workers`
            processes, to run the wargames on (held for the whole campaign).
    """
    seed = scenario.settings.seed if seed is None else seed
    cluster = contextlib.ExitStack()
    context = PlannerContext(
        scenario=scenario,
        theater=Theater(scenario),
        index=index or default_index(),
        seed=seed,
        drafter=drafter or DoctrineDrafter(),
        drafters=dict(drafters or {}),
        workers=workers,
        scheduler=cluster.enter_context(dask_client(scheduler, workers)) if scheduler else None,
        replications=replications,
        max_cycles=cycles,
        approve=approver is not None,
        weights=weights,
    )
    connection = None
    if checkpoint is not None:
        from langgraph.checkpoint.sqlite import SqliteSaver

        connection = sqlite3.connect(str(checkpoint), check_same_thread=False)
        saver = SqliteSaver(connection)
    else:
        saver = InMemorySaver() if approver is not None else None
    graph = ooda_graph.compile(checkpointer=saver)
    most_cycles = cycles or decision_steps(scenario) + 1
    # Sides plan one after the other (max_concurrency 1): each staff's wargames already use
    # every worker, and node times then add up to the wall time.
    config = {
        "configurable": {"thread_id": thread_id},
        "recursion_limit": 6 * most_cycles + 10,
        "max_concurrency": 1,
    }
    try:
        world = initial_state(scenario)
        Simulation(scenario, context.theater, world, seed=key_seed(seed, "truth")).initial_sweep()
        payload: Any = {"world": world.to_dict(), "cycle": 0, "history": []}
        if saver is not None and graph.get_state(config).next:
            payload = None  # resume an interrupted or unfinished run from its checkpoint
        final: dict[str, Any] = {}
        while True:
            interrupted = None
            modes = ["updates", "values"]
            for mode, chunk in graph.stream(payload, config, context=context, stream_mode=modes):
                if mode == "values":
                    final = chunk
                    continue
                for node, update in chunk.items():
                    if node == "__interrupt__":
                        interrupted = update[0].value
                    elif progress is not None:
                        progress(node, update or {})
            if interrupted is None:
                break
            # An empty answer means "approve"; LangGraph reads a falsy resume as no answer.
            answer = approver(interrupted) if approver else {}
            payload = Command(resume=answer or {"__approved__": True})
    finally:
        cluster.close()
        if connection is not None:
            connection.close()
    return build_aar(
        scenario,
        final,
        seed=seed,
        planner=_planner_name(context),
        index=context.index,
    )


def _planner_name(context: PlannerContext) -> str:
    """The drafter's name, or each side's ("blue: llm:openai:x; red: doctrine") when they
    differ."""
    names = {s.id: context.drafter_for(s.id).name for s in context.scenario.sides}
    if len(set(names.values())) == 1:
        return next(iter(names.values()))
    return "; ".join(f"{side}: {name}" for side, name in names.items())
