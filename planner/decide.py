"""Decide, steps 3 and 5: wargame COAs by Monte Carlo and compare them in a decision matrix.

Wargaming starts from the side's *believed* world and plays each COA against the enemy's most
likely and most dangerous courses of action (just one when they coincide) with common random
numbers: replication r uses the same random numbers for every COA. How many replications each
COA gets is decided as they come in, by the fully sequential indifference-zone procedure KN++
(Kim & Nelson 2006, `planner.selection`): COAs fall out as soon as they are shown worse than
another, and the selection carries the guarantee P(correct selection) >= `planning.pcs`
whenever the best COA's utility is at least `planning.indifference` above every other's (the
plan records the procedure, the replications per COA, the guarantee and why it stopped). The
decision matrix weighs probability of success, objective attainment, own losses and enemy
losses by `planning.weights`; a COA whose expected losses exceed the commander's limit is not
acceptable, and a COA the procedure eliminated is never selected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict

import numpy as np

from planner.analysis import MissionAnalysis
from planner.coa import COA
from planner.selection import PROCEDURE, SelectionRecord, kn_plus_plus
from sim.executor import Scheduler
from sim.montecarlo import ReplicationResult, mean_interval, replicate, wilson_interval
from sim.scenario import PlanningSettings, Scenario
from sim.state import Tasking, WorldState

__all__ = ["Wargame", "decision_matrix", "enemy_plans", "replication_value", "wargame"]

MOST_DANGEROUS_WEIGHT = 0.3  # share of the score earned against the most dangerous enemy COA
UNACCEPTABLE_PENALTY = 0.25

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
        scheduler: Scheduler | None = None,
    ):
        self.scenario = scenario
        self.believed = believed
        self.side = analysis.side
        self.enemy = analysis.enemy
        self.until = until
        self.seed = seed
        self.weights = weights
        self.workers = workers
        self.scheduler = scheduler  # a Dask client to run the replications on, if any
        self.plans, self.plan_weights = enemy_plans(analysis)
        mission = scenario.side(self.side).mission
        self.limit = mission.constraints.max_loss_fraction
        self.restricted = {self.side: frozenset(mission.constraints.restricted_places)}
        self.runs = 0  # engine runs made (replications x enemy courses), cached ones not again
        self._done: dict[tuple, list[ReplicationResult]] = {}  # (orders, r) -> per course

    def export(self) -> list[dict]:
        """The replications run so far, JSON-ready (to carry them from one step to the next)."""
        return [
            {
                "orders": [list(o) for o in sorted(key, key=repr)],
                "replication": r,
                "results": [asdict(x) for x in rows],
            }
            for (key, r), rows in self._done.items()
        ]

    def restore(self, exported: list[dict]) -> None:
        """Take back replications `export` gave (same believed world, enemy courses and seed)."""
        for item in exported:
            key = frozenset(tuple(o) for o in item["orders"])
            results = [ReplicationResult(**x) for x in item["results"]]
            self._done[key, item["replication"]] = results

    def run(
        self, coas: Sequence[COA], first: int, count: int
    ) -> list[list[list[ReplicationResult]]]:
        """Replications first .. first+count-1 of each COA: per COA, per enemy course.

        A replication is a pure function of the orders and its index (common random numbers),
        so results are kept: a COA wargamed again (a contender after the revision search, or
        a candidate that is the same plan) costs only the replications not run before.
        """
        wanted = range(first, first + count)
        keys = [coa.unit_signature() for coa in coas]
        missing = [
            i for i, key in enumerate(keys) if any((key, r) not in self._done for r in wanted)
        ]
        todo = list(dict.fromkeys(keys[i] for i in missing))
        courses = len(self.plans)
        if todo:
            orders = {keys[i]: coas[i].taskings() for i in missing}
            plans = [orders[key] + enemy for key in todo for enemy in self.plans]
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
                scheduler=self.scheduler,
            )
            fresh: dict[tuple, list[list[ReplicationResult]]] = {}
            for result in batch:
                key = todo[result.plan // courses]
                fresh.setdefault((key, result.replication), [[] for _ in range(courses)])
                fresh[key, result.replication][result.plan % courses] = [result]
            for (key, replication), rows in fresh.items():
                self._done[key, replication] = [row[0] for row in rows]
            self.runs += len(batch)
        return [
            [[self._done[key, r][course] for r in wanted] for course in range(courses)]
            for key in keys
        ]

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

    def value(self, per_course: list[list[ReplicationResult]]) -> float:
        """A COA's utility from its results: the mean over replications less the penalty (the
        matrix's utility, by linearity)."""
        return float(np.mean(self.utilities(per_course))) - self.penalty(per_course)

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
    planning: PlanningSettings,
    *,
    max_replications: int | None = None,
) -> SelectionRecord | None:
    """Score each COA in place (``coa.scores``), selecting the best by KN++; returns the
    procedure's record (None without COAs).

    A replication's utility is the value against each enemy course, weighted; a COA's mean
    over its replications, less the loss-limit penalty judged on its mean losses so far, is
    exactly the utility the decision matrix shows, so the procedure compares what the matrix
    compares. `planning` gives the indifference zone, target PCS, first stage and cap;
    `max_replications` overrides the cap.
    """
    if not coas:
        return None
    results: list[list[list[ReplicationResult]]] = [[[] for _ in game.plans] for _ in coas]
    utilities: list[list[float]] = [[] for _ in coas]

    def draw(systems: Sequence[int], first: int, count: int) -> np.ndarray:
        batch = game.run([coas[i] for i in systems], first, count)
        for index, per_course in zip(systems, batch, strict=True):
            for course, rows in enumerate(per_course):
                results[index][course] += rows
            utilities[index] += game.utilities(per_course)
        return np.array([utilities[i][first : first + count] for i in systems])

    def offset(r: int, systems: Sequence[int]) -> np.ndarray:
        return -np.array([game.penalty([rows[:r] for rows in results[i]]) for i in systems])

    selection = kn_plus_plus(
        draw,
        len(coas),
        indifference=planning.indifference,
        pcs=planning.pcs,
        first_stage=planning.first_stage_replications,
        max_replications=max_replications or planning.max_replications,
        offset=offset,
        spread=1.0,  # a replication's utility before the penalty lies in [0, 1]
    )
    for index, coa in enumerate(coas):
        used = selection.replications[index]
        coa.scores = game.scores([rows[:used] for rows in results[index]])
        coa.scores["eliminated"] = index not in selection.survivors
        if coa.scores["eliminated"]:
            coa.screening_notes.append(
                f"eliminated by {PROCEDURE} after {used} replications: worse than another COA"
            )
    return selection.record([coa.id for coa in coas], runs_per_replication=len(game.plans))


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
