"""One engine job run against a given source tree: a digest of final states, or timings.

Run as ``python bench/engine_job.py SRC_ROOT digest`` or ``... SRC_ROOT time --scenario NAME
--hours H --replications N``. SRC_ROOT goes first on ``sys.path``, so the same job runs the
current engine or an older commit exported into a folder (`bench/run.py` exports 927a2df with
``git archive`` and times both on the same inputs). Only API that both trees have is used:
`initial_state`, `apply_orders`, `Simulation`, `perceived_state`, `run_scripted`, `key_seed`.

The lookahead wargame timed here is what the planner runs for a side at a decision: from the
side's perceived picture after the initial intelligence sweep, every believed unit under the
scenario's own scripted H+0 orders (or, with none, every unit attacking the enemy's first
objective), one replication seeded ``key_seed(seed, "replication", r)`` per run, to `hours`.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib
import inspect
import json
import statistics
import sys
import time
from pathlib import Path

#: (scenario, hours) of the scripted digest cases: every shipped scenario, long enough for
#: battles, convoys, meetings, strikes and fires to happen.
DIGEST_SCENARIOS = (
    ("tutorial", 72.0),
    ("baltic_corps", 96.0),
    ("western_pacific", 96.0),
    ("iwo_jima", 240.0),
    ("prokhorovka", 24.0),
)
DIGEST_SEEDS = (1, 2)


def _import(root: str) -> dict:
    """The API both trees share, imported from `root`."""
    sys.path.insert(0, root)
    modules = {
        name: importlib.import_module(name)
        for name in (
            "scenarios",
            "sim._random",
            "sim.engine",
            "sim.outcome",
            "sim.runner",
            "sim.scenario",
            "sim.state",
            "sim.theater",
        )
    }
    api = {
        "resolve_scenario": modules["scenarios"].resolve_scenario,
        "key_seed": modules["sim._random"].key_seed,
        "Simulation": modules["sim.engine"].Simulation,
        "apply_orders": modules["sim.engine"].apply_orders,
        "perceived_state": modules["sim.outcome"].perceived_state,
        "run_scripted": modules["sim.runner"].run_scripted,
        "load_scenario": modules["sim.scenario"].load_scenario,
        "Tasking": modules["sim.state"].Tasking,
        "initial_state": modules["sim.state"].initial_state,
        "Theater": modules["sim.theater"].Theater,
    }
    api["skips_picture"] = "keep_picture" in inspect.signature(api["Simulation"]).parameters
    # A tree with named combat models (issue 12) runs the pre-calibration one, so both trees
    # compute the same model and the comparison times (and digests) the engine alone.
    settings_type = modules["sim.scenario"].Settings
    load = modules["sim.scenario"].load_scenario
    if "combat_model" in settings_type.model_fields:

        def load_with_old_model(path):
            scenario = load(path)
            settings = scenario.settings.model_copy(update={"combat_model": "dupuy_defaults"})
            return scenario.model_copy(update={"settings": settings})

        api["load_scenario"] = load_with_old_model
    assert modules["sim.engine"].__file__.startswith(root), "imported the wrong tree"
    return api


def canonical(state_dict: dict) -> str:
    """A world state's JSON in one form whichever tree wrote it: the engine at 927a2df kept a
    leg in progress as three fields, the split engine as one `leg` record."""
    for group in ("units", "convoys"):
        for record in state_dict.get(group, {}).values():
            if "leg" in record:
                leg = record.pop("leg")
                record["next_place"] = leg["to"] if leg else None
                record["depart_hour"] = leg["depart_hour"] if leg else None
                record["arrive_hour"] = leg["arrive_hour"] if leg else None
    # Bookkeeping the calibration (issue 12) added to battles, which 927a2df does not keep: the
    # losses so far, the per-battle luck (0 under dupuy_defaults) and the breakpoint flag.
    for battle in state_dict.get("battles", {}).values():
        for added in ("losses", "luck", "broke"):
            battle.pop(added, None)
    for entry in state_dict.get("battle_log", []):
        for added in ("losses", "end_reason"):
            entry.pop(added, None)
    return json.dumps(state_dict, sort_keys=True)


def scripted_orders(api, scenario) -> list:
    """The scenario's scripted H+0 orders, or every unit attacking the enemy's first objective."""
    tasking = api["Tasking"]
    if scenario.orders:
        return [tasking(o.unit, o.action, o.target) for o in scenario.orders if o.at_hour == 0]
    orders = []
    for unit in scenario.units:
        enemy = scenario.side(scenario.enemy_of(unit.side))
        if enemy.mission.objectives:
            orders.append(tasking(unit.id, "attack", enemy.mission.objectives[0].place))
    return orders


def lookahead_setup(api, name: str, seed: int = 1):
    """Scenario, theater, the first agent side's perceived picture at H+0, and its orders."""
    scenario = api["load_scenario"](api["resolve_scenario"](name))
    theater = api["Theater"](scenario)
    world = api["initial_state"](scenario)
    api["Simulation"](scenario, theater, world, seed=api["key_seed"](seed, "truth")).initial_sweep()
    agents = [s.id for s in scenario.sides if s.planner == "agent"] or [scenario.sides[0].id]
    believed = api["perceived_state"](scenario, world, agents[0])
    return scenario, theater, believed, scripted_orders(api, scenario)


def lookahead_run(api, setup, hours: float, replication: int, seed: int = 1):
    """One replication of the lookahead wargame; returns (final state, events)."""
    scenario, theater, believed, orders = setup
    state = believed.clone()
    api["apply_orders"](scenario, theater, state, orders)
    run_seed = api["key_seed"](seed, "replication", replication)
    # As the planner runs it: a tree whose wargames skip the unread sensor picture does so.
    picture = {"keep_picture": False} if api["skips_picture"] else {}
    simulation = api["Simulation"](scenario, theater, state, seed=run_seed, **picture)
    simulation.run(hours)
    return state, simulation.events_processed


def digests(api) -> dict[str, str]:
    """SHA-256 of the canonical final state of every digest case."""
    result = {}
    for name, hours in DIGEST_SCENARIOS:
        scenario = api["load_scenario"](api["resolve_scenario"](name))
        theater = api["Theater"](scenario)
        sides = {side.id for side in scenario.sides}
        for stochastic in (True, False):
            run_scenario = scenario.model_copy(
                update={"settings": scenario.settings.model_copy(update={"stochastic": stochastic})}
            )
            for seed in DIGEST_SEEDS:
                world = api["initial_state"](run_scenario)
                api["Simulation"](run_scenario, theater, world, seed=seed).initial_sweep()
                until = min(hours, scenario.settings.horizon_hours)
                api["run_scripted"](
                    run_scenario, theater, world, 0.0, until, seed, order_sides=sides
                )
                key = f"scripted/{name}/{'stochastic' if stochastic else 'deterministic'}/{seed}"
                result[key] = _sha(world.to_dict())
    for name in ("tutorial", "baltic_corps"):
        setup = lookahead_setup(api, name)
        for replication in range(3):
            state, _ = lookahead_run(api, setup, 48.0, replication)
            # A wargame keeps no sensor picture (nobody reads it): compare everything else.
            unread = {"detections", "convoy_sightings"}
            kept = {k: v for k, v in state.to_dict().items() if k not in unread}
            result[f"lookahead/{name}/48h/{replication}"] = _sha(kept)
    return result


def _sha(state_dict: dict) -> str:
    return hashlib.sha256(canonical(state_dict).encode()).hexdigest()


def timings(api, name: str, hours: float, replications: int, repeats: int) -> dict:
    """Wall and CPU seconds per lookahead replication (medians over `repeats` batches of
    `replications`), after one warm-up batch, with the events a replication processes."""
    setup = lookahead_setup(api, name)
    events = [lookahead_run(api, setup, hours, r)[1] for r in range(replications)]  # warm-up
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        for replication in range(replications):
            lookahead_run(api, setup, hours, replication)
        wall.append((time.perf_counter() - start) / replications)
        cpu.append((time.process_time() - start_cpu) / replications)
    return {
        "seconds_per_replication": statistics.median(wall),
        "cpu_seconds_per_replication": statistics.median(cpu),
        "best_cpu_seconds_per_replication": min(cpu),
        "events_per_replication": statistics.mean(events),
    }


def chain_seconds(api, name: str, hours: float, replications: int, repeats: int) -> dict:
    """Seconds per lookahead replication spent in the exact attrition chain alone (current
    tree): every chain step of `replications` runs is recorded with its seed, then replayed
    `repeats` times, in Python (`stochastic_step` with `random.Random(seed)`, as 927a2df ran
    it) and compiled (`exact_step`); the best replay of each counts."""
    import random

    import sim.attrition
    import sim.engine.combat

    setup = lookahead_setup(api, name)
    steps = []
    original = sim.engine.combat.exact_step

    def record(law, a, b, coef_ab, coef_ba, dt, seed, arrays=None, exponent=1.0):
        steps.append((law, list(a), list(b), coef_ab, coef_ba, dt, seed, exponent))
        return original(law, a, b, coef_ab, coef_ba, dt, seed, arrays, exponent)

    sim.engine.combat.exact_step = record
    try:
        for replication in range(replications):
            lookahead_run(api, setup, hours, replication)
    finally:
        sim.engine.combat.exact_step = original

    def replay(step) -> float:
        start = time.perf_counter()
        for law, a, b, coef_ab, coef_ba, dt, seed, exponent in steps:
            step(law, a, b, coef_ab, coef_ba, dt, seed, exponent=exponent)
        return (time.perf_counter() - start) / replications

    def python(law, a, b, coef_ab, coef_ba, dt, seed, exponent=1.0):
        rng = random.Random(seed)
        return sim.attrition.stochastic_step(law, a, b, coef_ab, coef_ba, dt, rng, exponent)

    return {
        "python_chain_seconds_per_replication": min(replay(python) for _ in range(repeats)),
        "compiled_chain_seconds_per_replication": min(
            replay(sim.attrition.exact_step) for _ in range(repeats)
        ),
        "steps": len(steps) / replications,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("root", help="source tree to import sim/ and scenarios/ from")
    parser.add_argument("job", choices=("digest", "time", "chain"))
    parser.add_argument("--scenario", default="baltic_corps")
    parser.add_argument("--hours", type=float, default=48.0)
    parser.add_argument("--replications", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    api = _import(str(Path(args.root).resolve()))
    if args.job == "digest":
        print(json.dumps(digests(api), sort_keys=True))
    elif args.job == "chain":
        print(json.dumps(chain_seconds(api, args.scenario, args.hours, args.replications, 5)))
    else:
        row = timings(api, args.scenario, args.hours, args.replications, args.repeats)
        print(json.dumps(row))


if __name__ == "__main__":
    main()
