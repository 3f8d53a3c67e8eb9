"""Engine benchmark: event rate against bare SimPy, replication throughput, scale and memory.

Run with `make bench` (or `python bench/run.py [--quick]`). Prints a table and merges an
"engine" entry into bench/results.json. Every figure is a median of repeated runs, and every
comparison is made within the same run (ratios), because these machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import simpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scenarios import resolve_scenario  # noqa: E402
from sim.engine import Simulation, apply_orders  # noqa: E402
from sim.montecarlo import replicate  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402
from sim.state import Tasking, initial_state  # noqa: E402
from sim.theater import Theater  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"
SCALE_PLACES = 500  # fixed, so the scale curve varies units only


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


def engine_rate(scenario, orders, hours: float, seed: int = 1) -> tuple[int, float]:
    """(events, events per second) of one engine run of `hours`."""
    theater = Theater(scenario)
    state = initial_state(scenario)
    apply_orders(scenario, theater, state, orders)
    simulation = Simulation(scenario, theater, state, seed=seed)
    start = time.perf_counter()
    simulation.run(hours)
    elapsed = time.perf_counter() - start
    return simulation.events_processed, simulation.events_processed / elapsed


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


def bench_event_rate(repeats: int) -> dict:
    tutorial = load_scenario(resolve_scenario("tutorial"))
    orders = scripted_orders(tutorial)
    events, _ = engine_rate(tutorial, orders, tutorial.settings.horizon_hours)
    rates, bare = [], []
    for _ in range(repeats):
        rates.append(engine_rate(tutorial, orders, tutorial.settings.horizon_hours)[1])
        bare.append(bare_simpy_rate(max(events, 1000)))
    return {
        "scenario": "tutorial",
        "events_per_run": events,
        "engine_events_per_s": round(statistics.median(rates)),
        "bare_simpy_events_per_s": round(statistics.median(bare)),
        "ratio": round(statistics.median(rates) / statistics.median(bare), 3),
    }


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
    args = parser.parse_args()
    repeats = 3 if args.quick else 5
    event_rate = bench_event_rate(repeats)
    reps = bench_replications(20 if args.quick else 60, 3)
    sizes = [500, 1000] if args.quick else [500, 1000, 5000]
    scale = bench_scale(sizes, hours=24.0)
    engine = {
        "machine_cores": __import__("os").cpu_count(),
        "event_rate": event_rate,
        "replications": reps,
        "scale": scale,
    }
    existing = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    existing["engine"] = engine
    RESULTS.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")

    print(f"{'measure':44} {'value':>14}")
    print(f"{'engine events/s (tutorial, median)':44} {event_rate['engine_events_per_s']:>14,}")
    print(
        f"{'bare SimPy events/s (same event count)':44} "
        f"{event_rate['bare_simpy_events_per_s']:>14,}"
    )
    print(f"{'engine / bare SimPy':44} {event_rate['ratio']:>14}")
    print(f"{'replications/s serial':44} {reps['serial_per_s']:>14}")
    print(f"{'replications/s 2 workers':44} {reps['two_workers_per_s']:>14}")
    print(f"{'speed-up 2 workers / serial':44} {reps['speedup']:>14}")
    for row in scale:
        print(
            f"{'synthetic ' + str(row['units']) + ' units, 24 h: wall s / peak MB':44} "
            f"{row['wall_s']:>6} / {row['peak_mb']:>6}"
        )
    print(f"wrote {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
