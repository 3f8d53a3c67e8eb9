"""Monte Carlo replications of order sets from one world state, serial or in worker processes.

Replication r of every plan uses the same seed (common random numbers), derived from
(seed, "replication", r) and never from the worker, so serial and parallel runs agree exactly.
Each worker receives the scenario, state and plans once (pool initializer) and runs chunks of
replications, returning compact records.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from sim._random import key_seed
from sim.outcome import evaluate
from sim.runner import run_scripted
from sim.scenario import Scenario
from sim.state import Tasking, WorldState
from sim.theater import Theater

__all__ = ["ReplicationResult", "replicate", "wilson_interval", "mean_interval"]


@dataclass(frozen=True)
class ReplicationResult:
    """What one replication of one plan produced, seen from `side`."""

    plan: int
    replication: int
    success: bool
    attainment: float
    own_loss: float  # share of own strength lost during the replication
    enemy_loss: float
    winner: str | None
    events: int


@dataclass(frozen=True)
class _Job:
    scenario: Scenario
    state: WorldState
    plans: Sequence[Sequence[Tasking]]
    side: str
    until: float
    seed: int
    restricted: dict[str, frozenset[str]]


_WORKER: dict[str, object] = {}


def _init_worker(job: _Job) -> None:
    _WORKER["job"] = job
    _WORKER["theater"] = Theater(job.scenario)


def _run_chunk(pairs: list[tuple[int, int]]) -> list[ReplicationResult]:
    job: _Job = _WORKER["job"]  # type: ignore[assignment]
    theater: Theater = _WORKER["theater"]  # type: ignore[assignment]
    return [_run_one(job, theater, plan, rep) for plan, rep in pairs]


def _run_one(job: _Job, theater: Theater, plan: int, replication: int) -> ReplicationResult:
    state = job.state.clone()
    start = state.strength_by_side()
    events = run_scripted(
        job.scenario,
        theater,
        state,
        state.hour,
        job.until,
        key_seed(job.seed, "replication", replication),
        order_sides=set(),
        taskings=job.plans[plan],
        restricted=job.restricted,
    )
    outcome = evaluate(job.scenario, state)
    end = state.strength_by_side()
    enemy = job.scenario.enemy_of(job.side)

    def loss(side: str) -> float:
        return 1.0 - end.get(side, 0.0) / start[side] if start.get(side) else 0.0

    own = outcome.sides[job.side]
    return ReplicationResult(
        plan=plan,
        replication=replication,
        success=own.success,
        attainment=own.attainment,
        own_loss=loss(job.side),
        enemy_loss=loss(enemy),
        winner=outcome.winner,
        events=events,
    )


def replicate(
    scenario: Scenario,
    state: WorldState,
    plans: Sequence[Sequence[Tasking]],
    *,
    side: str,
    until: float,
    replications: int,
    seed: int,
    workers: int = 1,
    restricted: dict[str, frozenset[str]] | None = None,
    first_replication: int = 0,
) -> list[ReplicationResult]:
    """Run `replications` of every plan from `state` to hour `until`; results sorted by plan.

    Args:
        plans: per plan, the taskings of both sides (own COA plus the assumed enemy COA).
        side: whose success and losses the records report.
        first_replication: index of the first replication (to extend an earlier batch).
    """
    job = _Job(scenario, state, plans, side, until, seed, restricted or {})
    pairs = [
        (plan, rep)
        for plan in range(len(plans))
        for rep in range(first_replication, first_replication + replications)
    ]
    if workers <= 1 or len(pairs) < 2:
        theater = Theater(scenario)
        return [_run_one(job, theater, plan, rep) for plan, rep in pairs]
    size = math.ceil(len(pairs) / (workers * 2))
    chunks = [pairs[i : i + size] for i in range(0, len(pairs), size)]
    with ProcessPoolExecutor(workers, initializer=_init_worker, initargs=(job,)) as pool:
        results = [r for chunk in pool.map(_run_chunk, chunks) for r in chunk]
    return sorted(results, key=lambda r: (r.plan, r.replication))


def wilson_interval(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score 95% interval for a binomial proportion."""
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def mean_interval(values: Sequence[float], z: float = 1.959964) -> tuple[float, float, float]:
    """Mean and normal-approximation 95% interval (mean, low, high)."""
    n = len(values)
    if n == 0:
        return (0.0, 0.0, 0.0)
    mean = sum(values) / n
    if n == 1:
        return (mean, mean, mean)
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    half = z * math.sqrt(variance / n)
    return (mean, mean - half, mean + half)
