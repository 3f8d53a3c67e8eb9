"""Monte Carlo replications of order sets from one world state, on any executor.

Replication r of every plan uses the same seed (common random numbers), derived from
(seed, "replication", r) and never from the worker, so serial, process-pool and Dask runs agree
exactly. Runs go through `sim.executor.run_chunks`: the scenario, state and plans reach each
worker once, replications go in chunks, and compact records come back.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from scipy.stats import t as student_t

from sim._random import key_seed
from sim.attrition import load_compiled_chain
from sim.executor import Scheduler, run_chunks
from sim.outcome import evaluate
from sim.runner import run_scripted
from sim.scenario import Scenario
from sim.state import Tasking, WorldState
from sim.theater import Theater

__all__ = ["ReplicationResult", "mean_interval", "replicate", "wilson_interval"]


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


@dataclass
class _Job:
    """What every replication of a batch shares; a worker builds the theater once."""

    scenario: Scenario
    state: WorldState
    plans: Sequence[Sequence[Tasking]]
    side: str
    until: float
    seed: int
    restricted: dict[str, frozenset[str]]
    theater: Theater | None = field(default=None, compare=False)

    def __getstate__(self) -> dict:
        return {**self.__dict__, "theater": None}  # rebuilt on the worker, not shipped

    def the_theater(self) -> Theater:
        if self.theater is None:
            self.theater = Theater(self.scenario)
        return self.theater


def _run_chunk(job: _Job, pairs: Sequence[tuple[int, int]]) -> list[ReplicationResult]:
    theater = job.the_theater()
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
        keep_picture=False,  # only the outcome is read
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
    scheduler: Scheduler | None = None,
    theater: Theater | None = None,
) -> list[ReplicationResult]:
    """Run `replications` of every plan from `state` to hour `until`; results sorted by plan.

    Args:
        plans: per plan, the taskings of both sides (own COA plus the assumed enemy COA).
        side: whose success and losses the records report.
        workers: local worker processes (1: in this process).
        first_replication: index of the first replication (to extend an earlier batch).
        scheduler: a Dask scheduler address, "local", or a `distributed.Client` to run on
            instead of local processes (see `sim.executor.run_chunks`).
        theater: the scenario's theater, if the caller has one (reused in this process).
    """
    job = _Job(scenario, state, plans, side, until, seed, restricted or {}, theater)
    pairs = [
        (plan, rep)
        for plan in range(len(plans))
        for rep in range(first_replication, first_replication + replications)
    ]
    if workers > 1 and scheduler is None:
        load_compiled_chain()  # once here, not once in every forked worker
    results = run_chunks(_run_chunk, job, pairs, workers=workers, scheduler=scheduler)
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


def mean_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t interval (mean, low, high): mean +- t(1 - (1 - confidence) / 2,
    n - 1) s / sqrt(n), exact for normal outputs at the few replications a wargame runs."""
    n = len(values)
    if n == 0:
        return (0.0, 0.0, 0.0)
    mean = sum(values) / n
    if n == 1:
        return (mean, mean, mean)
    variance = sum((v - mean) ** 2 for v in values) / (n - 1)
    quantile = float(student_t.ppf(1 - (1 - confidence) / 2, n - 1))
    half = quantile * math.sqrt(variance / n)
    return (mean, mean - half, mean + half)
