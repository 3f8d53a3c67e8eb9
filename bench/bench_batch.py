"""Benchmark batches: throughput of the example spec on 1 and 2 local workers, and its result.

Runs scenarios/batches/tutorial_forces.yaml (or --spec) into fresh folders, once serially and
once on two worker processes, checks that both give the same stored results (run for run,
wall time aside), prints runs per second, the speed-up and the per-cell summary table (the
README's), and merges a "batch" entry into bench/results.json.

Usage: python bench/bench_batch.py [--spec PATH] [--workers 1,2] [--results PATH]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.bench_retrieval import merge_results  # noqa: E402
from planner.batch import BatchStore, load_spec, run_batch, summarize  # noqa: E402

DEFAULT_SPEC = ROOT / "scenarios" / "batches" / "tutorial_forces.yaml"
DEFAULT_RESULTS = ROOT / "bench" / "results.json"


def timed_batch(spec: Path, workers: int, folder: Path) -> tuple[float, list]:
    """Wall seconds of the whole batch (spec to last stored run) and its stored results."""
    started = time.perf_counter()
    plan = load_spec(spec, folder)
    outcome = run_batch(plan, folder, workers=workers)
    wall = time.perf_counter() - started
    assert outcome.failed == 0 and outcome.done == len(plan.runs), outcome
    with BatchStore(folder) as store:
        return wall, store.results()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spec", type=Path, default=DEFAULT_SPEC)
    parser.add_argument("--workers", default="1,2", help="worker counts to time, e.g. 1,2")
    parser.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    args = parser.parse_args()
    counts = [int(n) for n in args.workers.split(",")]
    load_at_start = os.getloadavg()[0]
    print(f"load average at start: {load_at_start:.2f} on {os.cpu_count()} cores")
    timings, reference = {}, None
    with tempfile.TemporaryDirectory(prefix="ooda-bench-batch-") as scratch:
        for workers in counts:
            wall, results = timed_batch(args.spec, workers, Path(scratch) / f"w{workers}")
            same = [r.model_dump(exclude={"wall_seconds", "aar_path"}) for r in results]
            if reference is None:
                reference = same
            assert same == reference, "results differ between worker counts"
            # Runs' own wall time (planning and simulation, from their AARs) summed over the
            # batch's wall time: how many runs were going on at once, on average.
            in_runs = sum(r.wall_seconds for r in results)
            timings[workers] = {
                "wall_s": round(wall, 2),
                "runs_per_s": round(len(results) / wall, 3),
                "mean_run_wall_s": round(in_runs / len(results), 2),
                "runs_at_once": round(in_runs / wall, 2),
            }
            print(
                f"{workers} worker(s): {len(results)} runs in {wall:.1f} s "
                f"({len(results) / wall:.2f} runs/s; a run {in_runs / len(results):.2f} s, "
                f"{in_runs / wall:.2f} at once on average)"
            )
        cells = summarize(results)
    lines = [
        "| Red strength | runs | Blue wins | Red wins | Blue strength lost | "
        "Red strength lost | exchange ratio (Red lost / Blue lost) |",
        "|---|---|---|---|---|---|---|",
    ]
    table = []
    for cell in cells:
        side = {s.side: s for s in cell.sides}
        row = {
            "cell": cell.label,
            "runs": cell.done,
            "blue_wins": side["blue"].wins.text(),
            "red_wins": side["red"].wins.text(),
            "blue_lost": side["blue"].loss_fraction.text(percent=True),
            "red_lost": side["red"].loss_fraction.text(percent=True),
            "exchange": cell.exchange_ratio.text(),
        }
        table.append(row)
        scale = cell.overrides.get("scale.red", "")
        lines.append(
            f"| ×{scale} | {row['runs']} | {row['blue_wins']} | {row['red_wins']} | "
            f"{row['blue_lost']} | {row['red_lost']} | {row['exchange']} |"
        )
    print("\n".join(lines))
    entry = {
        "spec": str(args.spec.relative_to(ROOT))
        if args.spec.is_relative_to(ROOT)
        else str(args.spec),
        "runs": len(reference or []),
        "machine_cores": os.cpu_count(),
        # Other work on the machine at the start (the 1-minute load average): the speed-up
        # means little when the cores are already busy.
        "load_average_at_start": round(load_at_start, 2),
        "timings": {f"{w}_workers": t for w, t in timings.items()},
        "identical_across_worker_counts": True,
        "summary": table,
    }
    if 1 in timings and 2 in timings:
        entry["speedup_2_over_1"] = round(timings[1]["wall_s"] / timings[2]["wall_s"], 3)
        print(f"speed-up, 2 workers / 1: {entry['speedup_2_over_1']}")
    merge_results(args.results, "batch", entry)
    print(f"wrote the 'batch' entry of {args.results}")


if __name__ == "__main__":
    main()
