"""COA selection benchmark: PCS and replications of KN++ over repeated decisions with a known
truth, against equal allocation.

Run with `make bench` (or `python bench/selection.py [--quick]`). Prints a table and merges
`wargaming.selection[]` into bench/results.json. Two kinds of decision:

- Synthetic, slippage configuration (the least favourable one for an indifference-zone
  procedure): k normal systems, sd 0.1, correlation 0.5 between systems in a replication
  (common random numbers), the best exactly δ = 0.02 better than all the rest. Each repeated
  decision draws its own random numbers.
- The tutorial's first Blue decision (cycle 0): the COAs today's planner drafts and screens
  from Blue's perceived picture at H+0, scored as `wargame` scores them (utility against the
  enemy's most likely and most dangerous COAs, loss-limit penalty on the mean losses). A
  table of per-replication utilities and losses, R replications of every COA (row r is
  replication r with the planner's seed: common random numbers across COAs), is computed
  once. The truth is the table's means. Each repeated decision resamples whole rows with
  replacement: that is i.i.d. sampling of replications from the table's distribution with
  the COAs' joint (CRN) dependence intact, exactly the model KN++ is built for, and that
  distribution's best COA is known exactly. (Disjoint blocks would need R ≥ repetitions × the
  cap, an hour of simulation here; a permutation of a finite table lets a long decision see
  most of the table, so it would know the truth better than a real one could.)

A selection is correct when it picks the true best; good when the selected COA's true mean is
within δ of the best (the two coincide when the true gap exceeds δ). Equal allocation gives
every COA n replications and picks the best sample mean (the same penalty rule); its PCS is
exact for the synthetic decision and resampled (20,000 decisions per n) for the tutorial. It
is reported three ways: the n that reaches the PCS KN++ measured (the issue's comparison, an
oracle that knows the true gap), the n that reaches the nominal PCS, and the n that gives the
same guarantee as KN++ (PCS ≥ pcs whenever the best is δ better, these variances, normal
approximation).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import integrate
from scipy.stats import norm
from scipy.stats import t as student_t

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from doctrine import default_index  # noqa: E402
from planner.analysis import analyse  # noqa: E402
from planner.context import DraftingContext  # noqa: E402
from planner.decide import UNACCEPTABLE_PENALTY, Wargame  # noqa: E402
from planner.drafters import DoctrineDrafter, finalize_drafts  # noqa: E402
from planner.screening import screen  # noqa: E402
from planner.selection import kn_plus_plus  # noqa: E402
from scenarios import resolve_scenario  # noqa: E402
from sim._random import key_seed  # noqa: E402
from sim.engine import Simulation  # noqa: E402
from sim.montecarlo import wilson_interval  # noqa: E402
from sim.outcome import perceived_state  # noqa: E402
from sim.scenario import PlanningSettings, load_scenario  # noqa: E402
from sim.state import initial_state  # noqa: E402
from sim.theater import Theater  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"
PLANNING = PlanningSettings()  # the shipped defaults: δ, PCS, n0 and cap
SIGMA, RHO = 0.1, 0.5  # synthetic systems: sd and correlation within a replication
EQUAL_DECISIONS = 20_000  # resampled equal-allocation decisions per n (tutorial)


def run_decisions(
    repetitions: int,
    systems: int,
    draws: Callable[[int], tuple[Callable, Callable | None]],
    first_stage: int = PLANNING.first_stage_replications,
) -> list:
    """KN++ with the shipped settings on `repetitions` decisions; draws(d) gives decision d's
    (draw, offset)."""
    selections = []
    for decision in range(repetitions):
        draw, offset = draws(decision)
        selections.append(
            kn_plus_plus(
                draw,
                systems,
                indifference=PLANNING.indifference,
                pcs=PLANNING.pcs,
                first_stage=first_stage,
                max_replications=PLANNING.max_replications,
                offset=offset,
                spread=1.0 if offset is not None else None,
            )
        )
    return selections


def needed(curve: np.ndarray, target: float) -> int | None:
    """Replications per system from which on equal allocation's PCS (curve[n - 1] for n
    replications) stays at or above `target`; None if it ends below. Outputs with a few
    discrete outcomes make the curve saw-toothed, so the first n to touch the target is not
    enough: more replications would fall below it again."""
    below = np.flatnonzero(curve < target)
    if below.size == 0:
        return 1
    return int(below[-1]) + 2 if below[-1] + 1 < len(curve) else None


def same_guarantee_n(covariance: np.ndarray, best: int, rng: np.random.Generator) -> int:
    """Replications per system equal allocation needs for PCS ≥ pcs in the slippage
    configuration with these (co)variances: δ√n must exceed the pcs-quantile of
    max_i (Z_i - Z_best), Z ~ N(0, covariance)."""
    draws = rng.multivariate_normal(np.zeros(len(covariance)), covariance, 200_000, method="eigh")
    others = np.delete(draws, best, axis=1) - draws[:, [best]]
    quantile = float(np.quantile(others.max(axis=1), PLANNING.pcs))
    return math.ceil((quantile / PLANNING.indifference) ** 2)


def summarise(
    name: str,
    selections: list,
    true_means: np.ndarray,
    equal_pcs: np.ndarray,
    same_guarantee: int,
    extra: dict,
) -> dict:
    """The `wargaming.selection[]` entry of one decision."""
    k, repetitions = len(true_means), len(selections)
    best = int(np.argmax(true_means))
    correct = sum(s.best == best for s in selections)
    good = sum(true_means[s.best] >= true_means[best] - PLANNING.indifference for s in selections)
    used = np.array([sum(s.replications) for s in selections], dtype=float)
    drawn = np.array([s.drawn for s in selections], dtype=float)
    pcs = correct / repetitions
    half = float(student_t.ppf(0.975, repetitions - 1) * used.std(ddof=1) / math.sqrt(repetitions))
    matched = needed(equal_pcs, pcs)
    nominal = needed(equal_pcs, PLANNING.pcs)

    def ratio(n: int | None) -> float | None:
        return round(float(used.mean()) / (k * n), 3) if n else None

    return {
        "decision": name,
        "systems": k,
        "repetitions": repetitions,
        "pcs": round(pcs, 4),
        "pcs_ci95": [round(v, 4) for v in wilson_interval(correct, repetitions)],
        "pgs": round(good / repetitions, 4),
        "pgs_ci95": [round(v, 4) for v in wilson_interval(good, repetitions)],
        "mean_replications": round(float(used.mean()), 1),
        "mean_replications_ci95": [
            round(float(used.mean()) - half, 1),
            round(float(used.mean()) + half, 1),
        ],
        "mean_replications_drawn": round(float(drawn.mean()), 1),
        "p95_replications": round(float(np.percentile(used, 95)), 1),
        "stopped": dict(Counter(s.stopped for s in selections)),
        "equal_allocation_replications": k * matched if matched else None,
        "ratio": ratio(matched),
        "equal_allocation_replications_at_target_pcs": k * nominal if nominal else None,
        "ratio_at_target_pcs": ratio(nominal),
        "equal_allocation_replications_same_guarantee": k * same_guarantee,
        "ratio_same_guarantee": ratio(same_guarantee),
        "settings": {
            "indifference": PLANNING.indifference,
            "pcs": PLANNING.pcs,
            "first_stage": PLANNING.first_stage_replications,
            "max_replications": PLANNING.max_replications,
        },
        **extra,
    }


def sprt_ratio_two_systems() -> float:
    """Wald's sequential probability ratio test of mean difference +δ against -δ (known
    variance, the optimal sequential test between the two): its expected replications per
    system, (1 - 2α) ln((1 - α)/α) σ²/(2δ²), over those of equal allocation reaching the same
    PCS with two systems, (z_{1-α} σ/δ)²."""
    alpha = 1 - PLANNING.pcs
    wald = (1 - 2 * alpha) * math.log((1 - alpha) / alpha) / 2
    return round(wald / norm.ppf(PLANNING.pcs) ** 2, 3)


def bench_synthetic(k: int, repetitions: int) -> dict:
    """Slippage configuration with known normal means (module docstring)."""
    delta, cap = PLANNING.indifference, PLANNING.max_replications
    means = np.zeros(k)
    means[0] = delta

    def draws(decision: int):
        rng = np.random.default_rng([k, decision])
        shared, own = rng.standard_normal(cap), rng.standard_normal((k, cap))
        table = means[:, None] + SIGMA * (math.sqrt(RHO) * shared + math.sqrt(1 - RHO) * own)
        return (lambda systems, first, count: table[systems, first : first + count]), None

    started = time.perf_counter()
    selections = run_decisions(repetitions, k, draws)
    seconds = time.perf_counter() - started
    spread = SIGMA * math.sqrt(1 - RHO)

    def equal_pcs(n: int) -> float:  # ∫ φ(z) Φ(z + δ√n / (σ√(1-ρ)))^(k-1) dz, exact
        shift = delta * math.sqrt(n) / spread
        value, _ = integrate.quad(lambda z: norm.pdf(z) * norm.cdf(z + shift) ** (k - 1), -9, 9)
        return value

    covariance = SIGMA**2 * (RHO + (1 - RHO) * np.eye(k))
    return summarise(
        f"synthetic slippage: {k} normal systems, sd {SIGMA}, CRN correlation {RHO}, "
        f"best exactly {delta} better",
        selections,
        means,
        np.array([equal_pcs(n) for n in range(1, cap + 1)]),
        same_guarantee_n(covariance, 0, np.random.default_rng(k)),
        {"sprt_ratio_two_systems": sprt_ratio_two_systems(), "seconds": round(seconds, 2)},
    )


def tutorial_table(rows: int, workers: int) -> dict:
    """Per-replication utilities and own losses of the tutorial's first Blue decision."""
    scenario = load_scenario(resolve_scenario("tutorial"))
    theater, index, seed, side = Theater(scenario), default_index(), scenario.settings.seed, "blue"
    world = initial_state(scenario)
    Simulation(scenario, theater, world, seed=key_seed(seed, "truth")).initial_sweep()
    believed = perceived_state(scenario, world, side)
    analysis = analyse(scenario, theater, believed, side, index)
    ctx = DraftingContext(
        scenario, theater, believed, analysis, index, count=scenario.settings.planning.coas
    )
    coas, _ = finalize_drafts(DoctrineDrafter().draft(ctx), ctx, "doctrine")
    coas = screen(coas, ctx)
    settings = scenario.settings
    until = min(
        believed.hour + (settings.planning.lookahead_hours or 2 * settings.cycle_hours),
        settings.horizon_hours,
    )
    game = Wargame(
        scenario,
        believed,
        analysis,
        until=until,
        seed=key_seed(seed, "wargame", side, 0),
        weights=settings.planning.weights,
        workers=workers,
    )
    started = time.perf_counter()
    results = game.run(coas, 0, rows)
    seconds = time.perf_counter() - started
    utilities = np.array([game.utilities(per_course) for per_course in results])
    losses = np.array(
        [[[r.own_loss for r in rows_] for rows_ in per_course] for per_course in results]
    )
    return {
        "coas": [coa.id for coa in coas],
        "names": [coa.name for coa in coas],
        "utilities": utilities,
        "losses": losses,
        "course_weights": np.array(game.plan_weights),
        "limit": game.limit,
        "seconds": seconds,
        "workers": workers,
    }


def _loss_penalty(mean_own_losses: np.ndarray, limit: float, weights: np.ndarray) -> np.ndarray:
    """The matrix's loss-limit shift of each COA's mean utility, from its mean own losses
    against each enemy course (one row per COA), weighted as the courses are."""
    return -UNACCEPTABLE_PENALTY * ((mean_own_losses > limit) @ weights)


def bench_tutorial(table: dict, repetitions: int) -> dict:
    """Repeated decisions resampling the tutorial table's rows (module docstring)."""
    utilities, losses, limit = table["utilities"], table["losses"], table["limit"]
    weights = table["course_weights"]
    k, rows = utilities.shape
    courses = losses.shape[1]
    cap = PLANNING.max_replications
    penalties = _loss_penalty(losses.mean(axis=2), limit, weights)
    true_means = utilities.mean(axis=1) + penalties

    def draws_from(order: np.ndarray):
        def draw(systems, first, count):
            return utilities[np.ix_(list(systems), order[first : first + count])]

        def offset(r, systems):
            return _loss_penalty(
                losses[np.ix_(list(systems), range(courses), order[:r])].mean(axis=2),
                limit,
                weights,
            )

        return draw, offset

    def draws(decision: int):
        return draws_from(np.random.default_rng([7, decision]).integers(0, rows, size=cap))

    started = time.perf_counter()
    selections = run_decisions(repetitions, k, draws)
    seconds = time.perf_counter() - started
    planner_run = run_decisions(1, k, lambda _: draws_from(np.arange(min(cap, rows))))[0]

    # Equal allocation, resampled: for n = 1 .. cap at once, from running sums over the same
    # resampled rows: the best sample mean (penalised as the planner penalises) after n rows.
    rng, chunk, correct = np.random.default_rng(11), 1_000, np.zeros(cap)
    counts = np.arange(1, cap + 1)
    for _ in range(EQUAL_DECISIONS // chunk):
        picks = rng.integers(0, rows, size=(chunk, cap))
        score = utilities[:, picks].cumsum(axis=2) / counts  # k x chunk x n
        mean_losses = losses[:, :, picks].cumsum(axis=3) / counts  # k x courses x chunk x n
        score += _loss_penalty(np.moveaxis(mean_losses, 1, 3), limit, weights)
        correct += (score.argmax(axis=0) == np.argmax(true_means)).sum(axis=0)
    equal_pcs = correct / EQUAL_DECISIONS

    best = int(np.argmax(true_means))
    second = float(np.sort(true_means)[-2])
    differences = utilities[best] - utilities[int(np.argsort(true_means)[-2])]
    half = float(student_t.ppf(0.975, rows - 1) * differences.std(ddof=1) / math.sqrt(rows))
    # How the first stage matters when the best wins by rare large margins.
    sensitivity = {}
    for first_stage in (10, 20, PLANNING.first_stage_replications):
        trial = run_decisions(repetitions // 2, k, draws, first_stage)
        sensitivity[str(first_stage)] = round(sum(s.best == best for s in trial) / len(trial), 4)
    identical = [
        [table["coas"][i], table["coas"][j]]
        for i in range(k)
        for j in range(i + 1, k)
        if np.array_equal(utilities[i], utilities[j])
    ]
    entry = summarise(
        "tutorial, cycle 0, blue (H+0, perceived picture; 24 h lookahead)",
        selections,
        true_means,
        equal_pcs,
        same_guarantee_n(np.cov(utilities), best, np.random.default_rng(3)),
        {
            "truth_replications": rows,
            "truth": {
                coa: round(float(mean), 4)
                for coa, mean in zip(table["coas"], true_means, strict=True)
            },
            "coa_names": dict(zip(table["coas"], table["names"], strict=True)),
            "true_gap": round(float(true_means[best] - second), 4),
            "true_gap_ci95": [
                round(float(true_means[best] - second) - half, 4),
                round(float(true_means[best] - second) + half, 4),
            ],
            "identical_in_every_replication": identical,
            "best_ahead_of_runner_up": {  # paired, per replication
                "share": round(float((differences > 0).mean()), 4),
                "mean_when_ahead": round(float(differences[differences > 0].mean()), 4),
                "mean_when_behind": round(float(differences[differences <= 0].mean()), 4),
            },
            "pcs_by_first_stage": sensitivity,
            "engine_runs_per_replication": 2,
            "planner_decision": {  # the planner's own decision: rows 0, 1, 2, ... in order
                "selected": table["coas"][planner_run.best],
                "replications": dict(zip(table["coas"], planner_run.replications, strict=True)),
                "stopped": planner_run.stopped,
            },
            "table_seconds": round(table["seconds"], 1),
            "table_workers": table["workers"],
            "seconds": round(seconds, 2),
        },
    )
    return entry


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller table, fewer decisions")
    parser.add_argument("--results", type=Path, default=RESULTS, help="JSON file to merge into")
    args = parser.parse_args()
    repetitions = 300 if args.quick else 2000
    table = tutorial_table(600 if args.quick else 2000, workers=min(2, os.cpu_count() or 1))
    entries = [
        bench_synthetic(3, repetitions),
        bench_synthetic(6, repetitions // 2),
        bench_tutorial(table, repetitions),
    ]
    existing = json.loads(args.results.read_text()) if args.results.exists() else {}
    existing.setdefault("wargaming", {})["selection"] = entries
    tmp = args.results.with_name(args.results.name + ".tmp")
    tmp.write_text(json.dumps(existing, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, args.results)

    print(
        f"{'selection (KN++, shipped settings)':58} {'reps':>5} {'PCS [95% CI]':>20} "
        f"{'mean reps':>9} {'equal':>6} {'ratio':>6} {'same-guar.':>10} {'ratio':>6}"
    )
    for e in entries:
        low, high = e["pcs_ci95"]
        print(
            f"{e['decision'][:58]:58} {e['repetitions']:>5} "
            f"{e['pcs']:>6.3f} [{low:.3f}, {high:.3f}] {e['mean_replications']:>9} "
            f"{e['equal_allocation_replications']!s:>6} {e['ratio']!s:>6} "
            f"{e['equal_allocation_replications_same_guarantee']:>10} "
            f"{e['ratio_same_guarantee']:>6}"
        )
    print("(reps: repeated decisions; mean reps and equal: replications per decision, all COAs;")
    print(" equal: equal allocation reaching the PCS KN++ measured; same-guar.: equal allocation")
    print(" holding KN++'s guarantee at these variances; ratio: mean reps / that)")
    print(f"wrote {args.results}")


if __name__ == "__main__":
    main()
