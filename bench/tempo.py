"""The OODA-tempo experiment's analysis: outcome and exchange ratio against the tempo ratio.

Reads a run of `scenarios/batches/ooda_tempo.yaml` (its batch store), groups the runs by
Blue's and Red's decision cycle, and prints a Markdown table: per cell, Blue's share of wins
(95 % Wilson interval), Blue's mean objective attainment and the geometric-mean exchange ratio
(Red's strength lost over Blue's; 95 % Student t interval on its logarithm). The tempo ratio is
Red's cycle over Blue's: 4 means Blue decides four times as often. Writes a plot of both against
the tempo ratio and merges the figures into bench/results.json under `tempo`.

    wargame batch scenarios/batches/ooda_tempo.yaml --workers 2 --out out/tempo
    python bench/tempo.py out/tempo [--plot docs/tempo.png]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from planner.batch.records import SideScore  # noqa: E402
from planner.batch.store import BatchStore, PlannedRun  # noqa: E402
from planner.batch.summary import Estimate, mean_estimate, share_estimate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results.json"
BLUE, RED = "sides.blue.cycle_hours", "sides.red.cycle_hours"


def _geometric(ratios: list[float | None]) -> Estimate:
    """Geometric mean of positive ratios with the interval of the mean of their logarithms
    (a run in which Blue lost nothing has no ratio and is left out)."""
    logs = [math.log(r) for r in ratios if r is not None and r > 0]
    estimate = mean_estimate(logs)
    if estimate.value is None:
        return estimate
    low = math.exp(estimate.low) if estimate.low is not None else None
    high = math.exp(estimate.high) if estimate.high is not None else None
    return Estimate(value=math.exp(estimate.value), low=low, high=high, n=estimate.n)


def _score(run: PlannedRun, side: str) -> SideScore:
    return next(score for score in run.scores if score.side == side)


def _summary(runs: list[PlannedRun]) -> dict:
    blue = [_score(run, "blue") for run in runs]
    return {
        "runs": len(runs),
        "blue_wins": share_estimate(sum(score.won for score in blue), len(runs)).model_dump(),
        "blue_attainment": mean_estimate([score.attainment for score in blue]).model_dump(),
        "exchange_ratio": _geometric([run.exchange_ratio for run in runs]).model_dump(),
    }


def analyse(folder: Path) -> dict:
    """Per cell and per tempo ratio: Blue's wins, attainment and the exchange ratio, over the
    batch's finished runs (a batch still running gives its runs so far)."""
    with BatchStore.open_existing(folder) as store:
        runs = [run for run in store.results() if run.status == "done"]
    if not runs:
        raise SystemExit(f"{folder}: no finished runs")
    cells: dict[tuple[float, float], list[PlannedRun]] = defaultdict(list)
    for run in runs:
        cells[float(run.overrides[BLUE]), float(run.overrides[RED])].append(run)
    ratios: dict[float, list[PlannedRun]] = defaultdict(list)
    for (blue, red), group in cells.items():
        ratios[red / blue] += group
    return {
        "runs": len(runs),
        "cells": [
            {"blue_cycle_hours": blue, "red_cycle_hours": red, **_summary(cells[blue, red])}
            for blue, red in sorted(cells)
        ],
        "by_tempo_ratio": [
            {"tempo_ratio": ratio, **_summary(ratios[ratio])} for ratio in sorted(ratios)
        ],
    }


def _text(estimate: dict, percent: bool = False) -> str:
    return Estimate(**estimate).text(digits=2, percent=percent)


def table(result: dict) -> str:
    """The per-cell Markdown table."""
    lines = [
        "| Blue cycle | Red cycle | tempo ratio | runs | Blue wins | Blue attainment "
        "| exchange ratio (Red lost / Blue lost) |",
        "|---:|---:|---:|---:|---|---|---|",
    ]
    for cell in result["cells"]:
        ratio = cell["red_cycle_hours"] / cell["blue_cycle_hours"]
        lines.append(
            f"| {cell['blue_cycle_hours']:g} h | {cell['red_cycle_hours']:g} h | {ratio:g} "
            f"| {cell['runs']} | {_text(cell['blue_wins'], percent=True)} "
            f"| {_text(cell['blue_attainment'])} | {_text(cell['exchange_ratio'])} |"
        )
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    """Blue's wins and the exchange ratio against the tempo ratio (log scale), per ratio."""
    rows = result["by_tempo_ratio"]
    x = [row["tempo_ratio"] for row in rows]
    figure, (wins_axes, exchange_axes) = plt.subplots(1, 2, figsize=(9, 3.6))
    for axes, key, label in (
        (wins_axes, "blue_wins", "Blue's share of wins"),
        (exchange_axes, "exchange_ratio", "exchange ratio (Red lost / Blue lost)"),
    ):
        estimates = [Estimate(**row[key]) for row in rows]
        values = [e.value for e in estimates]
        low = [e.value - (e.low if e.low is not None else e.value) for e in estimates]
        high = [(e.high if e.high is not None else e.value) - e.value for e in estimates]
        axes.errorbar(x, values, yerr=[low, high], fmt="o-", capsize=3)
        axes.set_xscale("log", base=2)
        axes.set_xlabel("tempo ratio (Red's cycle / Blue's cycle)")
        axes.set_ylabel(label)
        axes.axvline(1.0, color="grey", linewidth=0.8, linestyle=":")
        axes.grid(alpha=0.3)
    exchange_axes.set_yscale("log")
    figure.suptitle("OODA tempo on the Narva Gap (95 % intervals)", fontsize=10)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the batch's output folder")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "tempo.png")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    result = analyse(args.folder)
    print(table(result))
    plot(result, args.plot)
    print(f"plot: {args.plot}")
    existing = json.loads(args.results.read_text()) if args.results.exists() else {}
    existing["tempo"] = result
    tmp = args.results.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
    tmp.replace(args.results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
