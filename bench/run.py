"""Engine and wargaming benchmark: speed-up against the baseline engine, one OODA cycle's wall
time per scenario, event rate beside bare SimPy, replication throughput, scale and memory.

Run with `make bench` (or `python bench/run.py [--quick]`). Prints tables and merges the
"engine" entry and the `engine_speedup`, `cycle_seconds` and `bit_identical` keys of the
"wargaming" entry into bench/results.json. Every figure is a median of repeated runs, and every
comparison is made within the same run (ratios), because these machines are noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

import simpy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scenarios import resolve_scenario  # noqa: E402
from sim.engine import Simulation, apply_orders  # noqa: E402
from sim.engine.combat import Combat  # noqa: E402
from sim.engine.logistics import Logistics  # noqa: E402
from sim.engine.sensing import Sensing  # noqa: E402
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
    "sensing": ((Sensing, "scan"),),
    "battles": ((Combat, "_exchange"), (Combat, "_break_contact")),
    "logistics": (
        (Logistics, "_consume_and_request"),
        (Logistics, "_deliver"),
        (Logistics, "_interdiction"),
    ),
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
            for owner, method in methods:
                originals[owner, method] = getattr(owner, method)
                setattr(owner, method, _timed(originals[owner, method], spent, part))
        try:
            run = engine_run(scenario, scripted_orders(scenario), scenario.settings.horizon_hours)
        finally:
            for (owner, method), original in originals.items():
                setattr(owner, method, original)
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


#: The engine the speed-up is measured against (issue 16: main when the work started).
BASELINE_COMMIT = "927a2df"
#: (scenario, hours, replications per batch) of the lookahead wargames timed against it.
SPEEDUP_CASES = (("baltic_corps", 48.0, 6), ("tutorial", 48.0, 20))
JOB = ROOT / "bench" / "engine_job.py"


def export_baseline(folder: Path) -> Path:
    """The baseline commit's tree, exported with `git archive` into `folder`."""
    archive = subprocess.run(
        ["git", "archive", BASELINE_COMMIT], cwd=ROOT, capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive.stdout, check=True)
    return folder


def _job(tree: Path, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(JOB), str(tree), *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_engine_speedup(baseline: Path, rounds: int) -> list[dict]:
    """Per case: seconds per lookahead replication of the baseline and the current engine,
    each in its own subprocess, alternating, `rounds` times; the ratio of the medians."""
    rows = []
    for name, hours, replications in SPEEDUP_CASES:
        args = ("time", "--scenario", name, "--hours", str(hours))
        args += ("--replications", str(replications), "--repeats", "3")
        old, new = [], []
        for _ in range(rounds):
            old.append(_job(baseline, *args))
            new.append(_job(ROOT, *args))
        chain_args = ("chain", "--scenario", name, "--hours", str(hours))
        chain = _job(ROOT, *chain_args, "--replications", str(replications))

        def median(runs: list[dict], key: str) -> float:
            return statistics.median(run[key] for run in runs)

        rows.append(
            {
                "scenario": name,
                "hours": hours,
                "baseline_commit": BASELINE_COMMIT,
                "baseline_s_per_replication": round(median(old, "seconds_per_replication"), 5),
                "current_s_per_replication": round(median(new, "seconds_per_replication"), 5),
                "ratio": round(
                    median(old, "seconds_per_replication") / median(new, "seconds_per_replication"),
                    2,
                ),
                "cpu_ratio": round(
                    median(old, "cpu_seconds_per_replication")
                    / median(new, "cpu_seconds_per_replication"),
                    2,
                ),
                "events_per_replication": {
                    "baseline": old[0]["events_per_replication"],
                    "current": new[0]["events_per_replication"],
                },
                # The exact chain alone, replayed on this run's battle steps.
                "python_chain_s_per_replication": round(
                    chain["python_chain_seconds_per_replication"], 5
                ),
                "compiled_chain_s_per_replication": round(
                    chain["compiled_chain_seconds_per_replication"], 5
                ),
                "battle_steps_per_replication": chain["steps"],
                "rounds": rounds,
            }
        )
    return rows


def bench_bit_identity(baseline: Path) -> dict:
    """Digests of final states (bench/engine_job.py digest) of both engines, compared."""
    old, new = _job(baseline, "digest"), _job(ROOT, "digest")
    differ = sorted(case for case in old if old[case] != new.get(case))
    return {"baseline_commit": BASELINE_COMMIT, "cases": len(old), "differ": differ}


_CYCLE_CHILD = """
import json, statistics, sys, time
sys.path.insert(0, {root!r})
from bench.run import bare_simpy_rate
from doctrine import default_index
from planner.campaign import run_campaign
from scenarios import resolve_scenario
from sim.scenario import load_scenario
scenario = load_scenario(resolve_scenario({name!r}))
index = default_index()
start = time.perf_counter()
aar = run_campaign(scenario, cycles=1, workers={workers}, index=index)
seconds = time.perf_counter() - start
bare = statistics.median(bare_simpy_rate(20_000) for _ in range(3))
replications = aar["stats"]["replications"]
print(json.dumps({{"seconds": seconds, "bare": bare, "replications": replications}}))
"""


def bench_cycle_seconds(repeats: int) -> list[dict]:
    """Wall time of one full OODA cycle, `run_campaign(scenario, cycles=1, workers=w)`, per
    shipped scenario on 1 and 2 workers (each run in a fresh process, after loading the
    scenario and the doctrine index), with bare SimPy's event rate measured right after."""
    rows = []
    for name in shipped_scenarios():
        for workers in (1, 2):
            runs = []
            for _ in range(repeats):
                code = _CYCLE_CHILD.format(root=str(ROOT), name=name, workers=workers)
                done = subprocess.run(
                    [sys.executable, "-c", code], capture_output=True, text=True, check=True
                )
                runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
            rows.append(
                {
                    "scenario": name,
                    "workers": workers,
                    "seconds": round(statistics.median(r["seconds"] for r in runs), 3),
                    "bare_simpy_events_per_s": round(statistics.median(r["bare"] for r in runs)),
                    "replications": runs[0]["replications"],
                    "repeats": repeats,
                }
            )
    return rows


def shipped_scenarios() -> list[str]:
    """Names of the shipped scenarios."""
    return sorted(path.stem for path in (ROOT / "scenarios").glob("*.yaml"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument(
        "--results", type=Path, default=RESULTS, help="JSON file to merge the results into"
    )
    args = parser.parse_args()
    repeats = 3 if args.quick else 5
    load_before = os.getloadavg()[0]  # the machine is shared: say how busy it was
    with tempfile.TemporaryDirectory() as folder:
        baseline = export_baseline(Path(folder))
        identity = bench_bit_identity(baseline)
        speedup = bench_engine_speedup(baseline, rounds=3 if args.quick else 5)
    cycles = bench_cycle_seconds(1 if args.quick else 3)
    event_rate = bench_event_rate(repeats)
    shares = bench_time_shares()
    reps = bench_replications(20 if args.quick else 60, 3)
    sizes = [500, 1000] if args.quick else [500, 1000, 5000]
    scale = bench_scale(sizes, hours=24.0)
    load = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
    engine = {
        "machine_cores": os.cpu_count(),
        "machine_load_1min": load,
        "event_rate": event_rate,
        "time_shares": shares,
        "replications": reps,
        "scale": scale,
    }
    existing = json.loads(args.results.read_text()) if args.results.exists() else {}
    existing["engine"] = engine
    wargaming = existing.setdefault("wargaming", {})  # other keys (selection) are kept
    wargaming.update(
        {
            "engine_speedup": speedup,
            "cycle_seconds": cycles,
            "bit_identical": identity,
            "machine_load_1min": load,
        }
    )
    tmp = args.results.with_name(args.results.name + ".tmp")
    tmp.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, args.results)

    print(
        f"{'lookahead wargame vs ' + BASELINE_COMMIT:30} {'hours':>5} {'base s/rep':>11} "
        f"{'now s/rep':>10} {'ratio':>6} {'cpu ratio':>9} {'Python chain s/rep':>19}"
    )
    for row in speedup:
        print(
            f"{row['scenario']:30} {row['hours']:>5g} {row['baseline_s_per_replication']:>11} "
            f"{row['current_s_per_replication']:>10} {row['ratio']:>6} {row['cpu_ratio']:>9} "
            f"{row['python_chain_s_per_replication']:>19}"
        )
    print(
        f"final states bit-identical to {BASELINE_COMMIT}: "
        f"{identity['cases'] - len(identity['differ'])} of {identity['cases']} cases"
        + (f" (differ: {', '.join(identity['differ'])})" if identity["differ"] else "")
    )
    print()
    print(f"{'one OODA cycle':24} {'workers':>7} {'wall s':>8} {'reps':>6} {'bare SimPy ev/s':>16}")
    for row in cycles:
        print(
            f"{row['scenario']:24} {row['workers']:>7} {row['seconds']:>8} "
            f"{row['replications']:>6} {row['bare_simpy_events_per_s']:>16,}"
        )
    print()
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
    print(f"{'measure':44} {'value':>14}")
    print(f"{'replications/s serial':44} {reps['serial_per_s']:>14}")
    print(f"{'replications/s 2 workers':44} {reps['two_workers_per_s']:>14}")
    print(f"{'speed-up 2 workers / serial':44} {reps['speedup']:>14}")
    for row in scale:
        print(
            f"{'synthetic ' + str(row['units']) + ' units, 24 h: wall s / peak MB':44} "
            f"{row['wall_s']:>6} / {row['peak_mb']:>6}"
        )
    print(f"load average (1 min) before / after: {load['before']} / {load['after']}")
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
