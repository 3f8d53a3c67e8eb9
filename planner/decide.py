"""Decide, steps 3 and 5: wargame COAs by Monte Carlo and compare them in a decision matrix.

Wargaming starts from the side's *believed* world and plays each COA against the enemy's most
likely and most dangerous courses of action (just one when they coincide) with common random
numbers: replication r uses the same random numbers for every COA. It runs in two stages: a
first batch of replications for every COA, then the rest of the budget only for the COAs not
clearly worse than another (Nelson, Swann, Goldsman & Song 2001, "Simple procedures for
selecting the best simulated system when the number of alternatives is large", Operations
Research 49(6): the screen-to-the-best step). The COAs that go on have exactly the scores the
full budget gives them. The decision matrix weighs probability of success, objective attainment,
own losses and enemy losses by `planning.weights`; a COA whose expected losses exceed the
commander's limit is not acceptable, and a COA the wargame stopped early is not selected.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy.stats import t as student_t

from planner.analysis import MissionAnalysis
from planner.coa import COA
from sim.montecarlo import ReplicationResult, mean_interval, replicate, wilson_interval
from sim.scenario import Scenario
from sim.state import Tasking, WorldState

__all__ = [
    "Wargame",
    "decision_matrix",
    "enemy_plans",
    "replication_value",
    "screen_to_the_best",
    "wargame",
]

MOST_DANGEROUS_WEIGHT = 0.3  # share of the score earned against the most dangerous enemy COA
UNACCEPTABLE_PENALTY = 0.25
SCREENING_CONFIDENCE = 0.95  # chance the best COA survives the first stage (Nelson et al.)
MIN_FIRST_STAGE = 5

Weights = dict[str, float]


def enemy_plans(analysis: MissionAnalysis) -> tuple[list[list[Tasking]], list[float]]:
    """The enemy courses to wargame against, as engine orders, and the weight of each in a
    COA's score: most likely and most dangerous, or the one course when they coincide."""
    courses = analysis.enemy_courses()
    if not courses:
        return [[]], [1.0]
    if len(courses) == 1:
        return [list(courses[0].taskings)], [1.0]
    return [list(c.taskings) for c in courses], [1 - MOST_DANGEROUS_WEIGHT, MOST_DANGEROUS_WEIGHT]


def replication_value(result: ReplicationResult, weights: Weights) -> float:
    """One replication's value by the decision-matrix criteria."""
    return (
        weights.get("p_success", 0.0) * result.success
        + weights.get("attainment", 0.0) * result.attainment
        + weights.get("own_survival", 0.0) * (1 - result.own_loss)
        + weights.get("enemy_loss", 0.0) * result.enemy_loss
    )


class Wargame:
    """Replications of COAs against the enemy courses, from one believed world, with common
    random numbers; results accumulate per COA and enemy course."""

    def __init__(
        self,
        scenario: Scenario,
        believed: WorldState,
        analysis: MissionAnalysis,
        *,
        until: float,
        seed: int,
        weights: Weights,
        workers: int = 1,
    ):
        self.scenario = scenario
        self.believed = believed
        self.side = analysis.side
        self.enemy = analysis.enemy
        self.until = until
        self.seed = seed
        self.weights = weights
        self.workers = workers
        self.plans, self.plan_weights = enemy_plans(analysis)
        mission = scenario.side(self.side).mission
        self.limit = mission.constraints.max_loss_fraction
        self.restricted = {self.side: frozenset(mission.constraints.restricted_places)}
        self.runs = 0

    def run(
        self, coas: Sequence[COA], first: int, count: int
    ) -> list[list[list[ReplicationResult]]]:
        """Replications first .. first+count-1 of each COA: per COA, per enemy course."""
        plans = [coa.taskings() + enemy for coa in coas for enemy in self.plans]
        batch = replicate(
            self.scenario,
            self.believed,
            plans,
            side=self.side,
            until=self.until,
            replications=count,
            seed=self.seed,
            workers=self.workers,
            restricted=self.restricted,
            first_replication=first,
        )
        courses = len(self.plans)
        results: list[list[list[ReplicationResult]]] = [[[] for _ in range(courses)] for _ in coas]
        for result in batch:
            results[result.plan // courses][result.plan % courses].append(result)
        self.runs += len(batch)
        return results

    def utilities(self, per_course: list[list[ReplicationResult]]) -> list[float]:
        """Per replication, the value against every enemy course, weighted (no penalty)."""
        return [
            sum(
                w * replication_value(r, self.weights)
                for w, r in zip(self.plan_weights, row, strict=True)
            )
            for row in zip(*per_course, strict=True)
        ]

    def penalty(self, per_course: list[list[ReplicationResult]]) -> float:
        """The loss-limit penalty of a COA's results, per enemy course weighted."""
        return UNACCEPTABLE_PENALTY * sum(
            w * (_mean_own_loss(results) > self.limit)
            for w, results in zip(self.plan_weights, per_course, strict=True)
        )

    def scores(self, per_course: list[list[ReplicationResult]]) -> dict:
        """The matrix scores of a COA's results."""
        by_course = [
            _scores(results, self.side, self.enemy, self.limit, self.weights)
            for results in per_course
        ]
        scores = dict(by_course[0])
        if len(by_course) > 1:
            scores["vs_most_dangerous"] = by_course[1]
        scores["utility"] = round(
            sum(w * s["utility"] for w, s in zip(self.plan_weights, by_course, strict=True)), 6
        )
        return scores


def wargame(
    coas: list[COA],
    game: Wargame,
    *,
    replications: int,
    first_stage: int | None = None,
) -> int:
    """Score each COA in place (``coa.scores``); returns the replications run.

    `first_stage` replications of every COA come first (default: a third of the budget, at
    least 5); COAs clearly worse than another stop there, the others get the whole budget.
    """
    if not coas:
        return 0
    if first_stage is None:
        first_stage = max(MIN_FIRST_STAGE, math.ceil(replications / 3))
    first_stage = min(first_stage, replications)
    results = game.run(coas, 0, first_stage)
    going_on = list(range(len(coas)))
    if first_stage < replications and len(coas) > 1:
        # The loss-limit penalty, judged on the first-stage means, shifts a COA's every sample
        # alike: the screen compares the utilities the matrix will compare.
        samples = [
            [u - game.penalty(per_course) for u in game.utilities(per_course)]
            for per_course in results
        ]
        going_on = screen_to_the_best(samples)
        for index in sorted(set(range(len(coas))) - set(going_on)):
            coas[index].screening_notes.append(
                f"stopped after {first_stage} replications: clearly worse than another COA"
            )
        more = game.run([coas[i] for i in going_on], first_stage, replications - first_stage)
        for index, extra in zip(going_on, more, strict=True):
            for course, rows in enumerate(extra):
                results[index][course] += rows
    for index, (coa, per_course) in enumerate(zip(coas, results, strict=True)):
        coa.scores = game.scores(per_course)
        coa.scores["eliminated"] = index not in going_on
    return sum(len(rows) for per_course in results for rows in per_course)


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


def _scores(
    results: list[ReplicationResult], side: str, enemy: str, limit: float, weights: Weights
) -> dict:
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
    utility = sum(weights.get(k, 0.0) * v for k, v in criteria.items())
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
    """The best COA by utility among those the wargame kept and that are acceptable (if none is
    acceptable, among those kept; ties: first drafted), and the matrix rows for the record."""
    rows = [
        {
            "coa": coa.id,
            "name": coa.name,
            "p_success": coa.scores["p_success"],
            "attainment": coa.scores["attainment"],
            "own_survival": round(1 - coa.scores["losses"][coa.side], 6),
            "enemy_loss": next(v for k, v in coa.scores["losses"].items() if k != coa.side),
            "vs_most_dangerous": coa.scores.get("vs_most_dangerous", {}).get("utility"),
            "acceptable": coa.screening.get("acceptable", True),
            "eliminated": coa.scores.get("eliminated", False),
            "utility": coa.scores["utility"],
        }
        for coa in coas
    ]
    kept = [i for i, coa in enumerate(coas) if not coa.scores.get("eliminated")]
    acceptable = [i for i in kept if coas[i].screening.get("acceptable", True)]
    pool = acceptable or kept
    best = max(pool, key=lambda i: (coas[i].scores["utility"], -i))
    return coas[best], rows
