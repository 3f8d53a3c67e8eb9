"""Scripted runs: advance a world under scripted orders, and replicate whole scenarios.

Used by the act phase (scripted sides) and by `wargame simulate` (no planner at all).
Replication r is seeded from (seed, "replication", r) only, so serial, process-parallel and
Dask-cluster runs agree; all three go through `sim.executor.run_chunks`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from sim._random import key_seed
from sim.attrition import load_compiled_chain
from sim.battle_record import BattleRecord, battle_records
from sim.engine import Simulation, apply_orders
from sim.engine.simulation import TimelineRow
from sim.executor import Scheduler, iter_chunks, run_chunks
from sim.outcome import Outcome, evaluate, logistics_summary
from sim.scenario import Scenario
from sim.state import Tasking, WorldState, initial_state
from sim.theater import Theater

__all__ = ["ScriptedRun", "iter_simulate", "run_scripted", "simulate"]


def run_scripted(
    scenario: Scenario,
    theater: Theater,
    world: WorldState,
    start: float,
    end: float,
    seed: int,
    *,
    order_sides: set[str],
    taskings: Iterable[Tasking] = (),
    restricted: dict[str, frozenset[str]] | None = None,
    timeline: list | None = None,
    keep_picture: bool = True,
) -> int:
    """Advance the world from `start` to `end`, applying the scripted orders of `order_sides`
    and any timed `taskings` (a phased plan) at their hours.

    The engine is rebuilt at each order's hour (exact, by design of the snapshot state); returns
    the events processed. Rows of (hour, unit, side, strength, place) go to `timeline` if given.
    Without `keep_picture` the sides' sensor pictures are not kept up (a wargame replication
    reads only the outcome).
    """
    due_at: dict[float, list[Tasking]] = defaultdict(list)
    for order in scenario.orders:
        unit = world.units.get(order.unit)  # a side's believed world lacks unseen enemies
        if unit is not None and unit.side in order_sides and start <= order.at_hour < end:
            due_at[order.at_hour].append(Tasking(order.unit, order.action, order.target))
    for task in taskings:
        hour = start if task.at_hour is None else max(start, task.at_hour)
        if hour < end:
            due_at[hour].append(task)
    breakpoints = sorted(set(due_at) | {start}) + [end]
    events = 0
    for here, there in zip(breakpoints, breakpoints[1:], strict=False):
        apply_orders(scenario, theater, world, due_at.get(here, []), restricted)
        simulation = Simulation(
            scenario,
            theater,
            world,
            seed=seed,
            record_timeline=timeline is not None,
            keep_picture=keep_picture,
        )
        simulation.run(there)
        events += simulation.events_processed
        if timeline is not None:
            timeline += simulation.timeline
    return events


@dataclass
class ScriptedRun:
    """One replication of a scripted scenario."""

    replication: int
    outcome: Outcome
    events: int
    timeline: list[TimelineRow] = field(default_factory=list)
    logistics: dict[str, dict[str, float]] = field(default_factory=dict)
    battles: list[BattleRecord] = field(default_factory=list)


@dataclass(frozen=True)
class _Batch:
    """What every replication of a `simulate` call shares."""

    scenario: Scenario
    seed: int
    timeline_replications: int


def _run_chunk(batch: _Batch, replications: Sequence[int]) -> list[ScriptedRun]:
    theater = Theater(batch.scenario)
    return [_one(batch, theater, replication) for replication in replications]


def _one(batch: _Batch, theater: Theater, replication: int) -> ScriptedRun:
    scenario = batch.scenario
    world = initial_state(scenario)
    run_seed = key_seed(batch.seed, "replication", replication)
    Simulation(scenario, theater, world, seed=run_seed).initial_sweep()
    timeline: list[TimelineRow] = []
    events = run_scripted(
        scenario,
        theater,
        world,
        0.0,
        scenario.settings.horizon_hours,
        run_seed,
        order_sides={side.id for side in scenario.sides},
        timeline=timeline if replication < batch.timeline_replications else None,
    )
    return ScriptedRun(
        replication,
        evaluate(scenario, world),
        events,
        timeline,
        logistics_summary(scenario, world),
        battle_records(world),
    )


def simulate(
    scenario: Scenario,
    *,
    replications: int,
    seed: int,
    stochastic: bool = True,
    workers: int = 1,
    timeline_replications: int = 1,
    scheduler: Scheduler | None = None,
) -> list[ScriptedRun]:
    """Run the scenario's scripted orders to its horizon, `replications` times.

    The first `timeline_replications` runs keep their hourly timelines. With `scheduler` (a
    Dask scheduler address such as ``tcp://10.0.0.5:8786``, ``"local"`` for a local Dask
    cluster of `workers` processes, or a `distributed.Client`) the replications run on that
    cluster instead of local processes.
    """
    batch = _batch(scenario, seed, stochastic, timeline_replications)
    if workers > 1 and scheduler is None:
        load_compiled_chain()  # once here, not once in every forked worker
    return run_chunks(_run_chunk, batch, range(replications), workers=workers, scheduler=scheduler)


def iter_simulate(
    scenario: Scenario,
    replications: Sequence[int],
    *,
    seed: int,
    stochastic: bool = True,
    workers: int = 1,
    timeline_replications: int = 1,
    scheduler: Scheduler | None = None,
    chunk_size: int = 1,
) -> Iterator[ScriptedRun]:
    """The given replications of `simulate`, each yielded as soon as its chunk finishes (in
    any order): a caller can keep them as they come, and run only the missing ones later.
    Replication r is the same run whichever others run with it."""
    batch = _batch(scenario, seed, stochastic, timeline_replications)
    if workers > 1 and scheduler is None:
        load_compiled_chain()
    for _, runs in iter_chunks(
        _run_chunk,
        batch,
        list(replications),
        workers=workers,
        scheduler=scheduler,
        chunk_size=chunk_size,
    ):
        yield from runs


def _batch(scenario: Scenario, seed: int, stochastic: bool, timeline_replications: int) -> _Batch:
    if not stochastic:
        scenario = scenario.model_copy(
            update={"settings": scenario.settings.model_copy(update={"stochastic": False})}
        )
    return _Batch(scenario, seed, timeline_replications)
