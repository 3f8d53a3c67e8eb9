"""Scripted runs: advance a world under scripted orders, and replicate whole scenarios.

Used by the act phase (scripted sides) and by `wargame simulate` (no planner at all).
Replication r is seeded from (seed, "replication", r) only, so serial, process-parallel and
Dask-cluster runs agree.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from sim._random import key_seed
from sim.engine import Simulation, apply_orders
from sim.outcome import Outcome, evaluate, logistics_summary
from sim.scenario import Scenario
from sim.state import Tasking, WorldState, initial_state
from sim.theater import Theater

__all__ = ["ScriptedRun", "run_scripted", "simulate"]


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
) -> int:
    """Advance the world from `start` to `end`, applying the scripted orders of `order_sides`
    and any timed `taskings` (a phased plan) at their hours.

    The engine is rebuilt at each order's hour (exact, by design of the snapshot state); returns
    the events processed. Rows of (hour, unit, side, strength, place) go to `timeline` if given.
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
            scenario, theater, world, seed=seed, record_timeline=timeline is not None
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
    timeline: list[tuple[float, str, str, float, str]] = field(default_factory=list)
    logistics: dict[str, dict[str, float]] = field(default_factory=dict)


def _one(args: tuple[Scenario, int, int, bool, bool]) -> ScriptedRun:
    scenario, seed, replication, stochastic, keep_timeline = args
    theater = Theater(scenario)
    world = initial_state(scenario)
    if not stochastic:
        scenario = scenario.model_copy(
            update={"settings": scenario.settings.model_copy(update={"stochastic": False})}
        )
    run_seed = key_seed(seed, "replication", replication)
    Simulation(scenario, theater, world, seed=run_seed).initial_sweep()
    timeline: list = []
    events = run_scripted(
        scenario,
        theater,
        world,
        0.0,
        scenario.settings.horizon_hours,
        run_seed,
        order_sides={side.id for side in scenario.sides},
        timeline=timeline if keep_timeline else None,
    )
    return ScriptedRun(
        replication,
        evaluate(scenario, world),
        events,
        timeline,
        logistics_summary(scenario, world),
    )


def simulate(
    scenario: Scenario,
    *,
    replications: int,
    seed: int,
    stochastic: bool = True,
    workers: int = 1,
    timeline_replications: int = 1,
    scheduler: str | None = None,
) -> list[ScriptedRun]:
    """Run the scenario's scripted orders to its horizon, `replications` times.

    The first `timeline_replications` runs keep their hourly timelines. With `scheduler` (a
    Dask scheduler address such as ``tcp://10.0.0.5:8786``, or ``"local"`` for a local Dask
    cluster of `workers` processes) the replications run on that cluster instead.
    """
    jobs = [(scenario, seed, r, stochastic, r < timeline_replications) for r in range(replications)]
    if scheduler is not None:
        return _on_dask(jobs, scheduler, workers)
    if workers <= 1 or replications < 2:
        return [_one(job) for job in jobs]
    with ProcessPoolExecutor(workers) as pool:
        return list(pool.map(_one, jobs, chunksize=max(1, replications // (4 * workers))))


def _on_dask(jobs: list, scheduler: str, workers: int) -> list[ScriptedRun]:
    """Map the replications over a Dask cluster (the `cluster` extra) and gather them in order."""
    from distributed import Client, LocalCluster

    if scheduler == "local":
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        )
        with cluster, Client(cluster) as client:
            return client.gather(client.map(_one, jobs, pure=False))
    with Client(scheduler, timeout="10s") as client:
        return client.gather(client.map(_one, jobs, pure=False))
