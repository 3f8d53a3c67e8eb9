"""Planning-quality benchmark: regret of the planner's COA against a broad search, baselines.

For each decision (the tutorial's first decision for Blue and for Red, and the first Blue
decision of a sector-sized cut of the Baltic corps: Estonia with the Red groupings facing it):

1. The planner decides as it does in a campaign (the staff subgraph: analysis, drafting,
   screening, KN++ wargaming, revision, comparison); its engine runs are counted.
2. A broad search draws >= 200 distinct valid COAs from the space of single-phase element
   assignments (each ground or naval element defends in place, defends one of the places the
   analysis names (objectives, key terrain, sector positions) or attacks an objective or the
   enemy's main body; each air wing strikes one of them or holds), keeps those that pass FASDC
   screening, wargames each with FIRST replications, and re-scores the TOP best with FINAL
   replications. The best re-scored utility is the best achievable; the planner's selected COA
   is re-scored the same way (same replications: common random numbers); regret = best -
   selected. The planner's COA is not a member of the search space, so regret can be negative.
3. Baselines scored the same way: "each element defends or attacks its nearest objective",
   and the mean of the random valid COAs of the search.

4. An audit of every shipped scenario's full campaign: restricted places sent to or stood on,
   and selected COAs that failed screening or were eliminated (all should be zero).

Every utility is the decision matrix's (matrix weights, loss-limit penalty) in the side's
believed world, against the enemy courses its analysis wargames. `planning.baltic_vs_nearest`
does the same comparison (planner against nearest-objective) on the whole Baltic corps with
95 % Student-t intervals on utility and on objectives retained (attainment).

Run: `.venv/bin/python bench/planning.py [--workers 2] [--quick]`; results merge into
bench/results.json under "planning".
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import t as student_t

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from doctrine import default_index  # noqa: E402
from planner.analysis import analyse  # noqa: E402
from planner.campaign import run_campaign  # noqa: E402
from planner.coa import COA, COADraft, EffortDraft, PhaseDraft, TaskDraft  # noqa: E402
from planner.context import DraftingContext  # noqa: E402
from planner.decide import Wargame  # noqa: E402
from planner.graph import staff_graph  # noqa: E402
from planner.screening import screen  # noqa: E402
from planner.state import PlannerContext  # noqa: E402
from planner.validation import finalize_drafts  # noqa: E402
from scenarios import list_scenarios, resolve_scenario  # noqa: E402
from sim._random import key_seed  # noqa: E402
from sim.engine import Simulation  # noqa: E402
from sim.outcome import perceived_state  # noqa: E402
from sim.scenario import Scenario, load_scenario  # noqa: E402
from sim.state import initial_state  # noqa: E402
from sim.theater import Theater  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"
SEARCH_SIZE = 240  # distinct COAs drawn for the broad search (at least 200 pass screening)
FIRST = 20  # replications of every searched COA
TOP = 10  # searched COAs re-scored
FINAL = 200  # replications of the re-scoring
#: Estonia and the Red groupings facing it: the Baltic corps' northern sector.
ESTONIA = [
    "tallinn",
    "tapa",
    "rakvere",
    "johvi",
    "narva",
    "paide",
    "parnu",
    "viljandi",
    "tartu",
    "voru",
    "valga",
    "kingisepp",
    "pskov",
    "pechory",
]


def sector_cut(scenario: Scenario, places: tuple[str, ...], name: str) -> Scenario:
    """The scenario restricted to `places`: their routes, the units there, the objectives and
    orders that stay inside, the formations that keep a unit."""
    keep = set(places)
    data = scenario.model_dump(by_alias=True, exclude_none=True, exclude={"unit_types"})
    data["id"] = name
    data["places"] = [p for p in data["places"] if p["id"] in keep]
    data["routes"] = [r for r in data["routes"] if r["from"] in keep and r["to"] in keep]
    data["units"] = [u for u in data["units"] if u["location"] in keep]
    units = {u["id"] for u in data["units"]}
    data["orders"] = [o for o in data["orders"] if o["unit"] in units and o.get("target") in keep]
    for side in data["sides"]:
        mission = side.get("mission", {})
        mission["objectives"] = [o for o in mission.get("objectives", []) if o["place"] in keep]
        constraints = mission.get("constraints", {})
        constraints["restricted_places"] = [
            p for p in constraints.get("restricted_places", []) if p in keep
        ]
    used = {u.get("parent") for u in data["units"]}
    formations = {f["id"]: f for f in data.get("formations", [])}
    for fid in list(used):
        while fid in formations and formations[fid].get("parent"):
            fid = formations[fid]["parent"]
            used.add(fid)
    data["formations"] = [f for f in data.get("formations", []) if f["id"] in used]
    data["settings"].pop("cross_country_km", None)
    declared = scenario.model_dump(by_alias=True, exclude_none=True)["unit_types"]
    data["unit_types"] = {t: declared[t] for t in {u["type"] for u in data["units"]}}
    return Scenario.model_validate(data)


def decision(scenario: Scenario, side: str, workers: int) -> tuple[DraftingContext, Wargame]:
    """A side's first decision, as the campaign would see it (same seeds)."""
    seed = scenario.settings.seed
    theater, index = Theater(scenario), default_index()
    world = initial_state(scenario)
    Simulation(scenario, theater, world, seed=key_seed(seed, "truth")).initial_sweep()
    believed = perceived_state(scenario, world, side)
    analysis = analyse(scenario, theater, believed, side, index)
    ctx = DraftingContext(scenario, theater, believed, analysis, index, count=4)
    settings = scenario.settings
    lookahead = settings.planning.lookahead_hours or 2 * settings.cycle_hours
    game = Wargame(
        scenario,
        believed,
        analysis,
        until=min(believed.hour + lookahead, settings.horizon_hours),
        seed=key_seed(seed, "wargame", side, 0),
        weights=settings.planning.weights,
        workers=workers,
    )
    return ctx, game


def planner_choice(ctx: DraftingContext, workers: int) -> tuple[COA, int, float]:
    """The COA the planner's staff selects, the engine runs it used, and its wall seconds."""
    context = PlannerContext(
        scenario=ctx.scenario,
        theater=ctx.theater,
        index=ctx.index,
        seed=ctx.scenario.settings.seed,
        workers=workers,
    )
    started = time.perf_counter()
    out = staff_graph.invoke(
        {"side": ctx.side, "cycle": 0, "picture": ctx.believed.to_dict()}, context=context
    )
    seconds = time.perf_counter() - started
    plan = out["plans"][ctx.side]
    chosen = next(c for c in plan["coas"] if c["id"] == plan["selected_coa"])
    return COA.model_validate(chosen), int(out["stats"]["replications"]), seconds


def _options(ctx: DraftingContext) -> dict[str, list[tuple[str, str | None]]]:
    """Per element (and air wing), the (action, target) pairs of the search space."""
    analysis = ctx.analysis
    places = [o["place"] for o in analysis.objectives]
    places += [k.place for k in analysis.key_terrain]
    places += [p for s in analysis.sectors for p in s.positions]
    places = [p for p in dict.fromkeys(places) if p not in ctx.restricted]
    enemy_held = {o["place"] for o in analysis.objectives if not o["held"]}
    targets = sorted(enemy_held | ({analysis.enemy_main_body} - {None}) - ctx.restricted)
    options = {}
    for element in ctx.elements:
        choices: list[tuple[str, str | None]] = [("defend", None)]
        reachable = [p for p in places if ctx.travel_hours(element, p) is not None]
        choices += [("defend", p) for p in reachable if p not in enemy_held]
        choices += [("attack", p) for p in targets if ctx.travel_hours(element, p) is not None]
        options[element.id] = list(dict.fromkeys(choices))
    for wing in ctx.air_units:
        reach = [p for p in places + targets if ctx.reachable_air(wing, p)]
        options[wing.id] = [("hold", None)] + [("strike", p) for p in dict.fromkeys(reach)]
    return options


def _draft(name: str, assignment: dict[str, tuple[str, str | None]], main: str) -> COADraft:
    return COADraft(
        name=name,
        concept="search candidate",
        form_of_maneuver="search",
        phases=[
            PhaseDraft(
                name="Execution",
                tasks=[
                    TaskDraft(unit=e, action=a, target=t, purpose=f"{a} {t or 'in place'}")
                    for e, (a, t) in assignment.items()
                ],
            )
        ],
        main_effort=EffortDraft(role="main", elements=[main]),
    )


def search_space(ctx: DraftingContext, size: int) -> list[COA]:
    """Up to `size` distinct valid COAs drawn uniformly from the element assignments."""
    options = _options(ctx)
    rng = np.random.default_rng(2026)
    total = math.prod(len(o) for o in options.values())
    seen, drafts = set(), []
    main = ctx.elements[0].id
    for attempt in range(size * 20):
        if len(drafts) >= size or len(seen) >= total:
            break
        pick = tuple(int(rng.integers(len(o))) for o in options.values())
        if pick in seen:
            continue
        seen.add(pick)
        assignment = {e: o[i] for (e, o), i in zip(options.items(), pick, strict=True)}
        drafts.append(_draft(f"search {attempt}", assignment, main))
    coas, _ = finalize_drafts(drafts, ctx, "search")
    return screen(coas, ctx)


def nearest_objective(ctx: DraftingContext) -> COA:
    """Baseline: each element defends its nearest objective we hold or attacks the nearest
    we do not; air wings hold."""
    assignment: dict[str, tuple[str, str | None]] = {}
    for element in ctx.elements:
        reach = [
            (hours, o["place"], o["held"])
            for o in ctx.analysis.objectives
            if (hours := ctx.travel_hours(element, o["place"])) is not None
        ]
        if not reach:
            assignment[element.id] = ("defend", None)
            continue
        _, place, held = min(reach)
        assignment[element.id] = ("defend" if held else "attack", place)
    for wing in ctx.air_units:
        assignment[wing.id] = ("hold", None)
    coas, _ = finalize_drafts(
        [_draft("Nearest objective", assignment, ctx.elements[0].id)], ctx, "baseline"
    )
    return coas[0]


def _interval(values: list[float]) -> tuple[float, float, float]:
    n = len(values)
    mean = float(np.mean(values))
    half = float(student_t.ppf(0.975, n - 1) * np.std(values, ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def rescore(game: Wargame, coas: list[COA], replications: int) -> list[dict]:
    """Utility (penalised mean) and attainment of each COA over replications 0 .. n-1."""
    rows = []
    for per_course in game.run(coas, 0, replications):
        utilities = game.utilities(per_course)
        mean, low, high = _interval(utilities)
        penalty = game.penalty(per_course)
        attained = [
            sum(w * r.attainment for w, r in zip(game.plan_weights, row, strict=True))
            for row in zip(*per_course, strict=True)
        ]
        rows.append(
            {
                "utility": round(mean - penalty, 6),
                "utility_ci95": [round(low - penalty, 6), round(high - penalty, 6)],
                "objectives_retained": [round(v, 4) for v in _interval(attained)],
            }
        )
    return rows


def bench_decision(scenario: Scenario, side: str, workers: int, quick: bool) -> dict:
    ctx, game = decision(scenario, side, workers)
    chosen, planner_runs, planner_seconds = planner_choice(ctx, workers)
    size, first, top, final = (60, 8, 4, 40) if quick else (SEARCH_SIZE, FIRST, TOP, FINAL)
    started = time.perf_counter()
    game.runs = 0
    candidates = search_space(ctx, size)
    values = [game.value(pc) for pc in game.run(candidates, 0, first)]
    order = sorted(range(len(candidates)), key=lambda i: -values[i])[:top]
    finalists = [candidates[i] for i in order]
    baseline = nearest_objective(ctx)
    scored = rescore(game, [*finalists, chosen, baseline], final)
    search_runs = game.runs - len(game.plans) * final * 2  # the planner and baseline re-scores
    best = max(scored[:top], key=lambda r: r["utility"])
    selected = scored[top]
    return {
        "scenario": scenario.id,
        "side": side,
        "valid_coas_searched": len(candidates),
        "best_utility": best["utility"],
        "selected_coa": chosen.name,
        "selected_utility": selected["utility"],
        "selected_utility_ci95": selected["utility_ci95"],
        "regret": round(best["utility"] - selected["utility"], 6),
        "nearest_objective_utility": scored[top + 1]["utility"],
        "random_valid_mean_utility": round(float(np.mean(values)), 6),
        "planner_replications": planner_runs,
        "search_replications": search_runs,
        "planner_share_of_search": round(planner_runs / search_runs, 4),
        "planner_seconds": round(planner_seconds, 2),
        "search_seconds": round(time.perf_counter() - started, 2),
        "replications": {"first": first, "final": final, "top": top},
    }


def bench_baltic(workers: int, quick: bool) -> dict:
    scenario = load_scenario(resolve_scenario("baltic_corps"))
    ctx, game = decision(scenario, "blue", workers)
    chosen, planner_runs, planner_seconds = planner_choice(ctx, workers)
    baseline = nearest_objective(ctx)
    final = 40 if quick else FINAL
    planner, nearest = rescore(game, [chosen, baseline], final)
    separated = planner["utility_ci95"][0] > nearest["utility_ci95"][1]
    retained = planner["objectives_retained"][1] > nearest["objectives_retained"][2]
    return {
        "replications": final,
        "planner": {"coa": chosen.name, **planner},
        "nearest_objective": nearest,
        "utility_intervals_separate": separated,
        "objectives_retained_intervals_separate": retained,
        "planner_replications": planner_runs,
        "planner_seconds": round(planner_seconds, 2),
    }


def audit_campaigns(workers: int) -> list[dict]:
    """Every shipped scenario's full campaign with its own settings: restricted places a
    selected COA sends a unit to, own units standing on a restricted place at a cycle's end,
    and selected COAs that failed screening or were eliminated (all should be zero)."""
    rows = []
    for name, _ in list_scenarios():
        scenario = load_scenario(resolve_scenario(name))
        restricted = {s.id: set(s.mission.constraints.restricted_places) for s in scenario.sides}
        sides = {u.id: u.side for u in scenario.units}
        started = time.perf_counter()
        aar = run_campaign(scenario, workers=workers)
        seconds = time.perf_counter() - started
        sent, standing, failed, decisions = 0, 0, 0, 0
        for cycle in aar.cycles:
            for side, plan in cycle.plans.items():
                chosen = plan.selected
                if chosen is None:
                    continue
                decisions += 1
                sent += sum(t.target in restricted[side] for t in chosen.tasks if t.target)
                failed += not all(chosen.screening.values()) or bool(
                    chosen.scores and chosen.scores.eliminated
                )
            standing += sum(
                u.place in restricted[sides[uid]]
                for uid, u in cycle.situation.units.items()
                if sides[uid] in {s.id for s in scenario.sides if s.planner == "agent"}
            )
        rows.append(
            {
                "scenario": name,
                "cycles": len(aar.cycles),
                "decisions": decisions,
                "restricted_destinations": sent,
                "units_on_restricted_places": standing,
                "selected_failed_screening_or_eliminated": failed,
                "replications": aar.stats.replications,
                "seconds": round(seconds, 1),
            }
        )
        print(f"audit {name}: {rows[-1]}", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="small budgets (a smoke run)")
    args = parser.parse_args()
    tutorial = load_scenario(resolve_scenario("tutorial"))
    estonia = sector_cut(load_scenario(resolve_scenario("baltic_corps")), ESTONIA, "baltic_estonia")
    decisions = []
    for scenario, side in ((tutorial, "blue"), (tutorial, "red"), (estonia, "blue")):
        row = bench_decision(scenario, side, args.workers, args.quick)
        decisions.append(row)
        print(
            f"{row['scenario']} {row['side']}: selected {row['selected_utility']:.4f} "
            f"({row['selected_coa']}), best of {row['valid_coas_searched']} searched "
            f"{row['best_utility']:.4f}, regret {row['regret']:+.4f}; nearest objective "
            f"{row['nearest_objective_utility']:.4f}, random valid "
            f"{row['random_valid_mean_utility']:.4f}; "
            f"runs planner {row['planner_replications']} / search {row['search_replications']} "
            f"({row['planner_share_of_search']:.1%})",
            flush=True,
        )
    baltic = bench_baltic(args.workers, args.quick)
    print(
        f"baltic_corps blue: planner {baltic['planner']['utility']:.4f} "
        f"{baltic['planner']['utility_ci95']} vs nearest objective "
        f"{baltic['nearest_objective']['utility']:.4f} "
        f"{baltic['nearest_objective']['utility_ci95']}; "
        f"objectives retained {baltic['planner']['objectives_retained'][0]:.3f} vs "
        f"{baltic['nearest_objective']['objectives_retained'][0]:.3f}",
        flush=True,
    )
    if args.quick:
        return
    audit = audit_campaigns(args.workers)
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    results["planning"] = {
        "decisions": decisions,
        "baltic_vs_nearest": baltic,
        "campaign_audit": audit,
    }
    RESULTS.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
