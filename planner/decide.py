"""Decide, steps 2-4: screen COAs (FASDC), wargame them by Monte Carlo, compare in a matrix.

Wargaming starts from the side's *believed* world and plays each COA against the enemy's most
likely and most dangerous courses of action with common random numbers. It runs in two stages:
a first batch of replications for every COA, then the rest of the budget only for the COAs not
clearly worse than another (Nelson, Swann, Goldsman & Song 2001, "Simple procedures for
selecting the best simulated system when the number of alternatives is large", Operations
Research 49(6): the screen-to-the-best step, which keeps the best COA with probability at least
95 %). Replication r uses the same random numbers for every COA, so the COAs that go on have
exactly the scores the full budget gives them. The decision matrix weighs probability of
success, objective attainment, own losses and enemy losses; a COA whose expected losses exceed
the commander's limit is penalised (not acceptable).
"""

from __future__ import annotations

import math

from scipy.stats import t as student_t

from planner.analysis import MissionAnalysis
from planner.coa import COA
from sim.executor import Scheduler
from sim.montecarlo import ReplicationResult, mean_interval, replicate, wilson_interval
from sim.scenario import Scenario
from sim.state import WorldState
from sim.theater import Theater

__all__ = ["MATRIX_WEIGHTS", "decision_matrix", "screen", "screen_to_the_best", "wargame"]

#: Decision-matrix criteria and weights (FM 5-0 COA comparison: weighted criteria).
MATRIX_WEIGHTS = {"p_success": 0.45, "attainment": 0.25, "own_survival": 0.2, "enemy_loss": 0.1}
MOST_DANGEROUS_WEIGHT = 0.3  # share of the score earned against the most dangerous enemy COA
UNACCEPTABLE_PENALTY = 0.25
SCREENING_CONFIDENCE = 0.95  # chance the best COA survives the first stage (Nelson et al.)
MIN_FIRST_STAGE = 5


def screen(
    coas: list[COA],
    scenario: Scenario,
    theater: Theater,
    believed: WorldState,
    analysis: MissionAnalysis,
) -> list[COA]:
    """Apply the FASDC screening criteria; returns the COAs that pass (or all, if none does)."""
    side = analysis.side
    restricted = frozenset(scenario.side(side).mission.constraints.restricted_places)
    own = {u.id for u in believed.units.values() if u.side == side and u.alive}
    objective_places = {o["place"] for o in analysis.objectives}
    accepted: list[COA] = []
    for coa in coas:
        notes = []
        feasible = True
        for task in coa.tasks:
            unit = believed.units[task.unit]
            if task.target is None or task.action == "strike":
                continue
            start = unit.next_place or unit.location
            modes = scenario.unit_types[unit.type].modes
            if theater.path(modes, start, task.target, avoid=restricted) is None:
                feasible = False
                notes.append(f"{task.unit} cannot reach {task.target} within the constraints")
        tasked = {t.unit for t in coa.tasks}
        complete = own <= tasked
        if not complete:
            notes.append(f"untasked units: {sorted(own - tasked)}")
        suitable = bool({t.target for t in coa.tasks} & objective_places) or not objective_places
        if not suitable:
            notes.append("no task addresses an objective")
        signature = {(t.unit, t.action, t.target) for t in coa.tasks}
        distinguishable = all(
            len(signature ^ {(t.unit, t.action, t.target) for t in other.tasks})
            >= max(1, len(signature) // 4)
            for other in accepted
        )
        if not distinguishable:
            notes.append("too similar to an earlier COA")
        coa.screening = {
            "feasible": feasible,
            "acceptable": True,  # judged after wargaming against the loss limit
            "suitable": suitable,
            "distinguishable": distinguishable,
            "complete": complete,
        }
        coa.screening_notes = notes
        if feasible and suitable and distinguishable and complete:
            accepted.append(coa)
    return accepted or coas


def wargame(
    coas: list[COA],
    scenario: Scenario,
    believed: WorldState,
    analysis: MissionAnalysis,
    *,
    replications: int,
    until: float,
    seed: int,
    workers: int = 1,
    first_stage: int | None = None,
    scheduler: Scheduler | None = None,
) -> int:
    """Score each COA in place (``coa.scores``); returns the replications run.

    `first_stage` replications of every COA come first (default: a third of the budget, at
    least 5); COAs clearly worse than another stop there, the others get the whole budget.
    """
    side = analysis.side
    enemy = analysis.enemy
    restricted = {side: frozenset(scenario.side(side).mission.constraints.restricted_places)}
    limit = scenario.side(side).mission.constraints.max_loss_fraction
    # Per COA, its results against the enemy's most likely and most dangerous COAs.
    results: list[tuple[list, list]] = [([], []) for _ in coas]

    def run(indices: list[int], first: int, count: int) -> None:
        plans = []
        for index in indices:
            plans.append(coas[index].taskings() + analysis.enemy_most_likely)
            plans.append(coas[index].taskings() + analysis.enemy_most_dangerous)
        batch = replicate(
            scenario,
            believed,
            plans,
            side=side,
            until=until,
            replications=count,
            seed=seed,
            workers=workers,
            restricted=restricted,
            first_replication=first,
            scheduler=scheduler,
        )
        for result in batch:
            results[indices[result.plan // 2]][result.plan % 2].append(result)

    if first_stage is None:
        first_stage = max(MIN_FIRST_STAGE, math.ceil(replications / 3))
    first_stage = min(first_stage, replications)
    everyone = list(range(len(coas)))
    run(everyone, 0, first_stage)
    going_on = everyone
    if first_stage < replications and len(coas) > 1:
        samples = []
        for likely, dangerous in results:
            # The loss-limit penalty, judged on the first-stage means, shifts a COA's every
            # sample alike: the screen compares the utilities the matrix will compare.
            penalty = UNACCEPTABLE_PENALTY * (
                (1 - MOST_DANGEROUS_WEIGHT) * (_mean_own_loss(likely) > limit)
                + MOST_DANGEROUS_WEIGHT * (_mean_own_loss(dangerous) > limit)
            )
            samples.append(
                [_utility(a, b) - penalty for a, b in zip(likely, dangerous, strict=True)]
            )
        going_on = screen_to_the_best(samples)
        for index in sorted(set(everyone) - set(going_on)):
            coas[index].screening_notes.append(
                f"stopped after {first_stage} replications: clearly worse than another COA"
            )
        run(going_on, first_stage, replications - first_stage)
    for coa, (likely, dangerous) in zip(coas, results, strict=True):
        coa.scores = _scores(likely, side, enemy, limit)
        coa.scores["vs_most_dangerous"] = _scores(dangerous, side, enemy, limit)
        coa.scores["utility"] = round(
            (1 - MOST_DANGEROUS_WEIGHT) * coa.scores["utility"]
            + MOST_DANGEROUS_WEIGHT * coa.scores["vs_most_dangerous"]["utility"],
            6,
        )
        coa.screening["acceptable"] = coa.scores["losses"][side] <= limit
        if not coa.screening["acceptable"]:
            coa.screening_notes.append(
                f"expected own losses {coa.scores['losses'][side]:.0%} exceed the {limit:.0%} limit"
            )
    return sum(len(likely) + len(dangerous) for likely, dangerous in results)


def screen_to_the_best(
    samples: list[list[float]], confidence: float = SCREENING_CONFIDENCE
) -> list[int]:
    """Indices of the systems that may be the best (highest mean), from equal-length samples
    taken with common random numbers: system i stays unless, for some j, its mean falls below
    j's by more than t * S_ij / sqrt(n), where S_ij is the standard deviation of the paired
    differences and t the Student quantile of confidence^(1/(k-1)) with n-1 degrees of freedom
    (Nelson et al. 2001, screening step)."""
    k, n = len(samples), len(samples[0])
    if k < 2 or n < 2:
        return list(range(k))
    quantile = float(student_t.ppf(confidence ** (1 / (k - 1)), n - 1))
    means = [sum(sample) / n for sample in samples]
    kept = []
    for i in range(k):
        for j in range(k):
            if j == i:
                continue
            differences = [x - y for x, y in zip(samples[i], samples[j], strict=True)]
            mean = means[i] - means[j]
            spread = math.sqrt(sum((d - mean) ** 2 for d in differences) / (n - 1))
            if mean < -quantile * spread / math.sqrt(n):
                break  # clearly worse than j (with no spread at all: worse, full stop)
        else:
            kept.append(i)
    return kept


def _mean_own_loss(results: list[ReplicationResult]) -> float:
    return sum(r.own_loss for r in results) / len(results)


def _utility(likely: ReplicationResult, dangerous: ReplicationResult) -> float:
    """One replication's utility before any loss-limit penalty: the matrix criteria of that
    replication against both enemy COAs, weighted as in `_scores`; their mean over the
    replications is the COA's unpenalised utility."""

    def value(result: ReplicationResult) -> float:
        return (
            MATRIX_WEIGHTS["p_success"] * result.success
            + MATRIX_WEIGHTS["attainment"] * result.attainment
            + MATRIX_WEIGHTS["own_survival"] * (1 - result.own_loss)
            + MATRIX_WEIGHTS["enemy_loss"] * result.enemy_loss
        )

    return (1 - MOST_DANGEROUS_WEIGHT) * value(likely) + MOST_DANGEROUS_WEIGHT * value(dangerous)


def _scores(results: list[ReplicationResult], side: str, enemy: str, limit: float) -> dict:
    n = len(results)
    wins = sum(r.success for r in results)
    low, high = wilson_interval(wins, n)
    attainment = mean_interval([r.attainment for r in results])
    own = mean_interval([r.own_loss for r in results])
    other = mean_interval([r.enemy_loss for r in results])
    criteria = {
        "p_success": wins / n,
        "attainment": attainment[0],
        "own_survival": 1 - own[0],
        "enemy_loss": other[0],
    }
    utility = sum(MATRIX_WEIGHTS[k] * v for k, v in criteria.items())
    if own[0] > limit:
        utility -= UNACCEPTABLE_PENALTY
    return {
        "replications": n,
        "p_success": round(wins / n, 6),
        "p_success_ci95": [round(low, 6), round(high, 6)],
        "attainment": round(attainment[0], 6),
        "losses": {side: round(own[0], 6), enemy: round(other[0], 6)},
        "losses_ci95": {
            side: [round(own[1], 6), round(own[2], 6)],
            enemy: [round(other[1], 6), round(other[2], 6)],
        },
        "utility": round(utility, 6),
    }


def decision_matrix(coas: list[COA]) -> tuple[COA, list[dict]]:
    """The best COA by utility (ties: first drafted) and the matrix rows for the record."""
    rows = [
        {
            "coa": coa.id,
            "name": coa.name,
            "p_success": coa.scores["p_success"],
            "attainment": coa.scores["attainment"],
            "own_survival": round(1 - coa.scores["losses"][coa.side], 6),
            "enemy_loss": next(v for k, v in coa.scores["losses"].items() if k != coa.side),
            "vs_most_dangerous": coa.scores["vs_most_dangerous"]["utility"],
            "acceptable": coa.screening.get("acceptable", True),
            "utility": coa.scores["utility"],
        }
        for coa in coas
    ]
    best = max(range(len(coas)), key=lambda i: (coas[i].scores["utility"], -i))
    return coas[best], rows
