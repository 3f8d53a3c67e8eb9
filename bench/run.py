"""Engine benchmark: event rate against bare SimPy, replication throughput, scale and memory.

Run with `make bench` (or `python bench/run.py [--quick]`). Prints tables and merges an
"engine" entry into bench/results.json. Every figure is a median of repeated runs, and every
comparison is made within the same run (ratios), because these machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import NamedTuple

import simpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scenarios import resolve_scenario  # noqa: E402
from sim._random import splitmix64  # noqa: E402
from sim.engine import Simulation, _Phased, apply_orders  # noqa: E402
from sim.montecarlo import replicate  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.state import Tasking, initial_state  # noqa: E402
from sim.theater import Theater  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"
SCALE_PLACES = 500  # fixed, so the scale curve varies units only

# Scenarios of the event-rate comparison, each run to its own horizon_hours. The brief allowed
# cutting the large one to 48 h if a run took over ~3 s; baltic_corps (148 units) to its full
# 144 h horizon takes ~0.41 s of simulation.run on the 2-core machine (2,515 events; 48 h would
# be 1,561 events in ~0.19 s), so the full horizon is kept. "hours" is recorded in each row.
EVENT_RATE_SCENARIOS = ("tutorial", "baltic_corps")


def bare_simpy_rate(events: int, processes: int = 100) -> float:
    """Events per second of a bare SimPy model: `processes` timeout loops, `events` in total."""
    env = simpy.Environment()
    per_process = events // processes + 1

    def ticker():
        for _ in range(per_process):
            yield env.timeout(1)

    for _ in range(processes):
        env.process(ticker())
    start = time.perf_counter()
    env.run()
    return processes * per_process / (time.perf_counter() - start)


#: How much work each skeleton does per event, cumulatively (see `skeleton_rate`).
CEILING_STEPS = (
    "fixed event order: phase + rank priority, yield from",
    "+ arrival: the unit moves, both places' counts change",
    "+ contact check at the new place, one keyed draw",
)


def skeleton_rate(events: int, work: int, processes: int = 100) -> float:
    """Events per second of the smallest model that does the first `work` + 1 steps of
    `CEILING_STEPS` per event: the best rate any engine scheduling its events as this one does
    (fixed order, so rebuilt runs equal straight runs) could reach, with no attrition, sensing,
    supply or terrain at all."""
    env = simpy.Environment()
    per_process = events // processes + 1
    count = {(place, side): 0 for place in "ab" for side in (0, 1)}
    strength = [1.0] * processes

    def ride(rank: float):
        yield _Phased(env, 1.0, 4 + rank)

    def unit(index: int):
        side, here = index % 2, "a"
        count[here, side] += 1
        for step in range(per_process):
            yield from ride(index / processes)
            if work >= 1:
                there = "b" if here == "a" else "a"
                count[here, side] -= 1
                count[there, side] += 1
                here = there
            if work >= 2 and count[here, 1 - side]:
                strength[index] -= 1e-6 * (splitmix64(index, step) >> 11) / 2**53

    for index in range(processes):
        env.process(unit(index))
    start = time.perf_counter()
    env.run()
    return processes * per_process / (time.perf_counter() - start)


def bench_ceiling(repeats: int, events: int = 30_000) -> list[dict]:
    """Each skeleton's rate against bare SimPy's, interleaved, medians of `repeats`: the ceiling
    on the engine/bare ratio for any engine that does at least that much per event."""
    rows = []
    for work, step in enumerate(CEILING_STEPS):
        ratios = []
        for _ in range(repeats):
            ratios.append(skeleton_rate(events, work) / bare_simpy_rate(events))
        rows.append({"per_event": step, "ratio": round(statistics.median(ratios), 3)})
    return rows


class EngineRun(NamedTuple):
    events: int
    build_s: float  # Theater, initial state, orders and Simulation construction
    run_s: float  # simulation.run only


def engine_run(scenario, orders, hours: float, seed: int = 1) -> EngineRun:
    """One engine run of `hours`, with construction and run timed separately."""
    start = time.perf_counter()
    theater = Theater(scenario)
    state = initial_state(scenario)
    apply_orders(scenario, theater, state, orders)
    simulation = Simulation(scenario, theater, state, seed=seed)
    built = time.perf_counter()
    simulation.run(hours)
    elapsed = time.perf_counter() - built
    return EngineRun(simulation.events_processed, built - start, elapsed)


def engine_rate(scenario, orders, hours: float, seed: int = 1) -> tuple[int, float]:
    """(events, events per second) of one engine run of `hours`; the rate times only the run."""
    run = engine_run(scenario, orders, hours, seed)
    return run.events, run.events / run.run_s


def scripted_orders(scenario) -> list[Tasking]:
    """The scenario's scripted orders, or every unit attacking the enemy's first objective."""
    if scenario.orders:
        return [Tasking(o.unit, o.action, o.target) for o in scenario.orders if o.at_hour == 0]
    orders = []
    for unit in scenario.units:
        enemy = scenario.side(scenario.enemy_of(unit.side))
        if enemy.mission.objectives:
            orders.append(Tasking(unit.id, "attack", enemy.mission.objectives[0].place))
    return orders


def median_of(repeats: int, function):
    values = [function() for _ in range(repeats)]
    return statistics.median(values)


def bench_event_rate(repeats: int, names=EVENT_RATE_SCENARIOS) -> list[dict]:
    """One row per scenario: engine events/s (simulation.run only) against a bare SimPy model
    of the same event count, engine and bare runs interleaved, medians of `repeats`."""
    rows = []
    for name in names:
        scenario = load_scenario(resolve_scenario(name))
        orders = scripted_orders(scenario)
        hours = scenario.settings.horizon_hours
        events = engine_run(scenario, orders, hours).events  # warm-up; fixes the event count
        rates, bare, builds = [], [], []
        for _ in range(repeats):
            run = engine_run(scenario, orders, hours)
            rates.append(run.events / run.run_s)
            builds.append(run.build_s)
            bare.append(bare_simpy_rate(max(events, 1000)))
        rows.append(
            {
                "scenario": name,
                "units": len(scenario.units),
                "hours": hours,
                "events_per_run": events,
                "build_s": round(statistics.median(builds), 4),
                "engine_events_per_s": round(statistics.median(rates)),
                "bare_simpy_events_per_s": round(statistics.median(bare)),
                "ratio": round(statistics.median(rates) / statistics.median(bare), 3),
            }
        )
    return rows


#: Engine work timed by `bench_time_shares`: synchronous methods, none calling another listed.
TIMED_WORK = {
    "sensing": ("_scan",),
    "battles": ("_exchange", "_break_contact"),
    "logistics": ("_consume_and_request", "_deliver", "_interdiction"),
}


def bench_time_shares(names=EVENT_RATE_SCENARIOS) -> list[dict]:
    """Where a run's time goes: one extra run per scenario with timers around the engine's
    work, against its SimPy events costed at the bare model's rate. Timers add overhead, so
    these runs report shares and per-event costs, never the event rate."""
    rows = []
    for name in names:
        scenario = load_scenario(resolve_scenario(name))
        spent = dict.fromkeys(TIMED_WORK, 0.0)
        originals = {}
        for part, methods in TIMED_WORK.items():
            for method in methods:
                originals[method] = getattr(Simulation, method)
                setattr(Simulation, method, _timed(originals[method], spent, part))
        try:
            run = engine_run(scenario, scripted_orders(scenario), scenario.settings.horizon_hours)
        finally:
            for method, original in originals.items():
                setattr(Simulation, method, original)
        simpy_s = run.events / statistics.median(
            bare_simpy_rate(max(run.events, 1000)) for _ in range(3)
        )
        parts = {**spent, "SimPy itself (bare rate)": simpy_s}
        parts["movement, contact, rest"] = run.run_s - sum(parts.values())
        rows.append(
            {
                "scenario": name,
                "events": run.events,
                "us_per_event": {k: round(v / run.events * 1e6, 2) for k, v in parts.items()},
                "share": {k: round(v / run.run_s, 3) for k, v in parts.items()},
            }
        )
    return rows


def _timed(method, spent: dict[str, float], part: str):
    def timed(*args, **kwargs):
        start = time.perf_counter()
        try:
            return method(*args, **kwargs)
        finally:
            spent[part] += time.perf_counter() - start

    return timed


def bench_replications(replications: int, repeats: int) -> dict:
    tutorial = load_scenario(resolve_scenario("tutorial"))
    state = initial_state(tutorial)
    orders = scripted_orders(tutorial)
    plans = [orders, orders[: len(orders) // 2], []]
    total = replications * len(plans)

    def rate(workers: int) -> float:
        start = time.perf_counter()
        replicate(
            tutorial,
            state,
            plans,
            side="blue",
            until=48.0,
            replications=replications,
            seed=1,
            workers=workers,
        )
        return total / (time.perf_counter() - start)

    serial = median_of(repeats, lambda: rate(1))
    parallel = median_of(repeats, lambda: rate(2))
    return {
        "replications_per_run": total,
        "serial_per_s": round(serial, 1),
        "two_workers_per_s": round(parallel, 1),
        "speedup": round(parallel / serial, 3),
    }


_SCALE_CHILD = """
import json, resource, sys, time, yaml
sys.path.insert(0, {root!r})
from bench.run import engine_rate, scripted_orders
from sim.generate import generate_scenario
from sim.scenario import parse_scenario
data = generate_scenario(units={units}, places={places}, seed=3)
scenario = parse_scenario(yaml.safe_dump(data))
start = time.perf_counter()
events, rate = engine_rate(scenario, scripted_orders(scenario), {hours})
wall = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({{"units": {units}, "events": events, "wall_s": wall,
                  "events_per_s": rate, "peak_mb": peak}}))
"""


def bench_scale(sizes: list[int], hours: float) -> list[dict]:
    """Each size in a fresh process, so peak memory is that run's own."""
    rows = []
    for units in sizes:
        code = _SCALE_CHILD.format(root=str(ROOT), units=units, places=SCALE_PLACES, hours=hours)
        done = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
        )
        row = json.loads(done.stdout.strip().splitlines()[-1])
        rows.append({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="JSON file to merge the 'engine' key into"
    )
    args = parser.parse_args()
    repeats = 3 if args.quick else 5
    event_rate = bench_event_rate(repeats)
    shares = bench_time_shares()
    ceiling = bench_ceiling(repeats)
    reps = bench_replications(20 if args.quick else 60, 3)
    sizes = [500, 1000] if args.quick else [500, 1000, 5000]
    scale = bench_scale(sizes, hours=24.0)
    engine = {
        "machine_cores": os.cpu_count(),
        "event_rate": event_rate,
        "time_shares": shares,
        "ceiling": ceiling,
        "replications": reps,
        "scale": scale,
    }
    existing = json.loads(args.results.read_text()) if args.results.exists() else {}
    existing["engine"] = engine
    tmp = args.results.with_name(args.results.name + ".tmp")
    tmp.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, args.results)

    print(
        f"{'event rate, median of ' + str(repeats):24} {'units':>5} {'hours':>5} {'events':>7} "
        f"{'build s':>8} {'engine ev/s':>12} {'bare SimPy ev/s':>16} {'ratio':>6}"
    )
    for row in event_rate:
        print(
            f"{row['scenario']:24} {row['units']:>5} {row['hours']:>5g} "
            f"{row['events_per_run']:>7,} {row['build_s']:>8} {row['engine_events_per_s']:>12,} "
            f"{row['bare_simpy_events_per_s']:>16,} {row['ratio']:>6}"
        )
    print("(engine ev/s times simulation.run only; build s is construction, not in the rate)")
    print()
    print(
        f"{'where a run goes, us per event (share)':40}", *(f"{r['scenario']:>18}" for r in shares)
    )
    for part in shares[0]["share"]:
        cells = (f"{r['us_per_event'][part]:>9} ({r['share'][part]:>5.1%})" for r in shares)
        print(f"{part:40}", *(f"{c:>18}" for c in cells))
    print()
    print(f"{'ceiling: a skeleton doing only this per event':60} {'ratio to bare':>14}")
    for row in ceiling:
        print(f"{row['per_event']:60} {row['ratio']:>14}")
    print()
    print(f"{'measure':44} {'value':>14}")
    print(f"{'replications/s serial':44} {reps['serial_per_s']:>14}")
    print(f"{'replications/s 2 workers':44} {reps['two_workers_per_s']:>14}")
    print(f"{'speed-up 2 workers / serial':44} {reps['speedup']:>14}")
    for row in scale:
        print(
            f"{'synthetic ' + str(row['units']) + ' units, 24 h: wall s / peak MB':44} "
            f"{row['wall_s']:>6} / {row['peak_mb']:>6}"
        )
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
