"""Decide, steps 2-4: screen COAs (FASDC), wargame them by Monte Carlo, compare in a matrix.

Wargaming starts from the side's *believed* world and plays each COA against the enemy's most
likely and most dangerous courses of action with common random numbers. How many replications
each COA gets is decided as they come in, by the fully sequential indifference-zone procedure
KN++ (Kim & Nelson 2006, `planner.selection`): COAs fall out as soon as they are shown worse
than another, and the selection carries the guarantee P(correct selection) ≥ `planning.pcs`
whenever the best COA's utility is at least `planning.indifference` above every other's (the
plan records the procedure, the replications per COA, the guarantee and why it stopped). The
decision matrix weighs probability of success, objective attainment, own losses and enemy
losses; a COA whose expected losses exceed the commander's limit is penalised (not
acceptable). The matrix picks only among the COAs the procedure did not eliminate.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from planner.analysis import MissionAnalysis
from planner.coa import COA
from planner.selection import PROCEDURE, SelectionRecord, kn_plus_plus
from sim.montecarlo import ReplicationResult, mean_interval, replicate, wilson_interval
from sim.scenario import Scenario
from sim.state import WorldState
from sim.theater import Theater

__all__ = ["MATRIX_WEIGHTS", "decision_matrix", "screen", "wargame"]

#: Decision-matrix criteria and weights (FM 5-0 COA comparison: weighted criteria).
MATRIX_WEIGHTS = {"p_success": 0.45, "attainment": 0.25, "own_survival": 0.2, "enemy_loss": 0.1}
MOST_DANGEROUS_WEIGHT = 0.3  # share of the score earned against the most dangerous enemy COA
UNACCEPTABLE_PENALTY = 0.25


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
    until: float,
    seed: int,
    workers: int = 1,
    max_replications: int | None = None,
) -> SelectionRecord:
    """Score each COA in place (``coa.scores``), selecting the best by KN++; returns the record.

    Replication r of a COA plays it against the enemy's most likely and most dangerous COAs;
    every COA's replication r uses the same random numbers. Its utility is
    (1 - w) u_likely + w u_dangerous (w = `MOST_DANGEROUS_WEIGHT`), and a COA's mean over its
    replications, less the loss-limit penalty judged on its mean losses so far, is exactly
    the utility the decision matrix shows, so the procedure compares what the matrix compares.
    The scenario's `planning` settings give the indifference zone, target PCS, first stage
    and cap; `max_replications` overrides the cap.
    """
    planning = scenario.settings.planning
    side = analysis.side
    enemy = analysis.enemy
    restricted = {side: frozenset(scenario.side(side).mission.constraints.restricted_places)}
    limit = scenario.side(side).mission.constraints.max_loss_fraction
    cap = max_replications or planning.max_replications
    # Per COA, its results against the enemy's most likely and most dangerous COAs.
    results: list[tuple[list, list]] = [([], []) for _ in coas]
    utilities = np.zeros((len(coas), cap))
    own_losses = np.zeros((len(coas), 2, cap))

    def draw(systems: Sequence[int], first: int, count: int) -> np.ndarray:
        plans = []
        for index in systems:
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
        )
        for result in batch:
            results[systems[result.plan // 2]][result.plan % 2].append(result)
        for index in systems:
            likely, dangerous = results[index]
            for r in range(first, first + count):
                utilities[index, r] = _utility(likely[r], dangerous[r])
                own_losses[index, :, r] = likely[r].own_loss, dangerous[r].own_loss
        return utilities[systems, first : first + count]

    def penalty(r: int, systems: Sequence[int]) -> np.ndarray:
        return _loss_penalty(own_losses[systems, :, :r].sum(axis=2) / r, limit)

    selection = kn_plus_plus(
        draw,
        len(coas),
        indifference=planning.indifference,
        pcs=planning.pcs,
        first_stage=planning.first_stage_replications,
        max_replications=cap,
        offset=penalty,
        spread=1.0,  # a replication's utility before the penalty lies in [0, 1]
    )
    for index, (coa, (likely, dangerous)) in enumerate(zip(coas, results, strict=True)):
        used = selection.replications[index]
        likely, dangerous = likely[:used], dangerous[:used]
        coa.scores = _scores(likely, side, enemy, limit)
        coa.scores["vs_most_dangerous"] = _scores(dangerous, side, enemy, limit)
        coa.scores["utility"] = round(
            (1 - MOST_DANGEROUS_WEIGHT) * coa.scores["utility"]
            + MOST_DANGEROUS_WEIGHT * coa.scores["vs_most_dangerous"]["utility"],
            6,
        )
        coa.scores["eliminated"] = index not in selection.survivors
        if coa.scores["eliminated"]:
            coa.screening_notes.append(
                f"eliminated by {PROCEDURE} after {used} replications: worse than another COA"
            )
        coa.screening["acceptable"] = coa.scores["losses"][side] <= limit
        if not coa.screening["acceptable"]:
            coa.screening_notes.append(
                f"expected own losses {coa.scores['losses'][side]:.0%} exceed the {limit:.0%} limit"
            )
    return selection.record([coa.id for coa in coas], runs_per_replication=2)


def _loss_penalty(mean_own_losses: np.ndarray, limit: float) -> np.ndarray:
    """Shift of each COA's utility for expected own losses over the limit, from its mean
    losses against the most likely and most dangerous enemy COAs (rows of two), weighted as
    the matrix weighs the two scores."""
    over = mean_own_losses > limit
    return -UNACCEPTABLE_PENALTY * (over @ [1 - MOST_DANGEROUS_WEIGHT, MOST_DANGEROUS_WEIGHT])


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
    """The best COA by utility among those the selection procedure did not eliminate (ties:
    first drafted) and the matrix rows for the record."""
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
            "eliminated": coa.scores.get("eliminated", False),
        }
        for coa in coas
    ]
    contenders = [i for i, row in enumerate(rows) if not row["eliminated"]]
    best = max(contenders, key=lambda i: (coas[i].scores["utility"], -i))
    return coas[best], rows
