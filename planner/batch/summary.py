"""Per-cell summary of a batch: means with 95 % Student t intervals, proportions with 95 %
Wilson intervals, over the runs of each parameter cell that finished."""

from __future__ import annotations

import math
from collections.abc import Sequence

from pydantic import BaseModel

from planner.batch.store import PlannedRun
from sim.montecarlo import wilson_interval

__all__ = ["CellSummary", "Estimate", "SideSummary", "mean_estimate", "share_estimate", "summarize"]


class Estimate(BaseModel):
    """A point estimate with its 95 % interval (None where n is too small) over n runs."""

    value: float | None
    low: float | None
    high: float | None
    n: int

    def text(self, digits: int = 2, percent: bool = False) -> str:
        """``0.62 [0.41, 0.79]`` (or ``62% [41%, 79%]``); ``–`` with no runs."""
        if self.value is None:
            return "–"

        def show(v: float) -> str:
            return f"{100 * v:.0f}%" if percent else f"{v:.{digits}f}"

        interval = f" [{show(self.low)}, {show(self.high)}]" if self.low is not None else ""
        return show(self.value) + interval


def mean_estimate(values: Sequence[float]) -> Estimate:
    """Sample mean and its 95 % Student t interval (no interval for one value)."""
    n = len(values)
    if n == 0:
        return Estimate(value=None, low=None, high=None, n=0)
    mean = sum(values) / n
    if n == 1:
        return Estimate(value=mean, low=None, high=None, n=1)
    from scipy.stats import t as student_t  # here: a batch's main process starts faster

    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = float(student_t.ppf(0.975, n - 1)) * sd / math.sqrt(n)
    return Estimate(value=mean, low=mean - half, high=mean + half, n=n)


def share_estimate(successes: int, trials: int) -> Estimate:
    """A proportion and its 95 % Wilson score interval."""
    if trials == 0:
        return Estimate(value=None, low=None, high=None, n=0)
    low, high = wilson_interval(successes, trials)
    return Estimate(value=successes / trials, low=low, high=high, n=trials)


class SideSummary(BaseModel):
    """One side over a cell's finished runs."""

    side: str
    wins: Estimate  # share of runs the side won
    success: Estimate  # share of runs with every objective achieved
    attainment: Estimate  # mean weighted share of objectives achieved
    loss_fraction: Estimate  # mean share of strength lost


class CellSummary(BaseModel):
    """One parameter cell: its runs, and the estimates over those that finished."""

    cell_key: str
    label: str
    scenario: str
    overrides: dict
    runs: int
    done: int
    failed: int
    sides: list[SideSummary]
    no_winner: Estimate
    exchange_ratio: Estimate  # mean over runs where the first side lost anything
    end_hour: Estimate
    replications: Estimate
    wall_seconds: Estimate


def summarize(results: Sequence[PlannedRun]) -> list[CellSummary]:
    """One summary per cell, in plan order."""
    by_cell: dict[str, list[PlannedRun]] = {}
    for run in sorted(results, key=lambda r: r.run_index):
        by_cell.setdefault(run.cell_key, []).append(run)
    summaries = []
    for key, runs in by_cell.items():
        done = [r for r in runs if r.status == "done"]
        side_ids = list(dict.fromkeys(s.side for r in done for s in r.scores))
        sides = []
        for side in side_ids:
            scores = [s for r in done for s in r.scores if s.side == side]
            sides.append(
                SideSummary(
                    side=side,
                    wins=share_estimate(sum(s.won for s in scores), len(scores)),
                    success=share_estimate(sum(s.success for s in scores), len(scores)),
                    attainment=mean_estimate([s.attainment for s in scores]),
                    loss_fraction=mean_estimate([s.loss_fraction for s in scores]),
                )
            )
        first = runs[0]
        summaries.append(
            CellSummary(
                cell_key=key,
                label=first.cell_label,
                scenario=first.scenario,
                overrides=first.overrides,
                runs=len(runs),
                done=len(done),
                failed=len(runs) - len(done),
                sides=sides,
                no_winner=share_estimate(sum(r.winner is None for r in done), len(done)),
                exchange_ratio=mean_estimate(
                    [r.exchange_ratio for r in done if r.exchange_ratio is not None]
                ),
                end_hour=mean_estimate([r.end_hour for r in done if r.end_hour is not None]),
                replications=mean_estimate([r.replications or 0 for r in done]),
                wall_seconds=mean_estimate([r.wall_seconds for r in done]),
            )
        )
    return summaries
