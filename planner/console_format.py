"""How the console words and formats records: outcome lines, decision matrices, COA cards.

One formatting for every table (the commander's approval, the results, the cards): p(success)
and losses in per cent with their 95 % intervals, utility to three decimals, and a reason in
every cell that has no number (screened out: which check failed; no plan: why).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from planner.record import AfterActionRecord, COARecord, PlanRecord
from sim.scenario import Scenario

__all__ = [
    "MATRIX_HEADERS",
    "Verdict",
    "coa_card",
    "matrix_table",
    "no_plan_reason",
    "pct",
    "pct_interval",
    "screening_reason",
    "verdict",
]

#: Column headers of a decision matrix, in order.
MATRIX_HEADERS = [
    "★",
    "COA",
    "Name",
    "Manoeuvre",
    "p(success)",
    "Own losses",
    "Enemy losses",
    "Utility",
    "Utility vs most dangerous",
    "Replications",
    "Status",
]


@dataclass(frozen=True)
class Verdict:
    """The outcome line: `kind` is "winner", "draw" or "stopped"."""

    kind: str
    text: str


def pct(value: float | None) -> str:
    """A share as a whole per cent ("37%"), or an em dash when there is none."""
    return "—" if value is None else f"{100 * value:.0f}%"


def pct_interval(value: float | None, interval: tuple[float, float] | None) -> str:
    """A share with its 95 % interval: "37% (29–45%)"."""
    if value is None:
        return "—"
    if not interval:
        return pct(value)
    return f"{100 * value:.0f}% ({100 * interval[0]:.0f}–{100 * interval[1]:.0f}%)"


def verdict(aar: AfterActionRecord, scenario: Scenario) -> Verdict:
    """Who won, or that no side did, or, for a run that ended before the mission's horizon
    (a cycle limit, a stop), that it stopped there: no winner is declared for a mission
    still running."""
    names = aar.side_names()
    horizon = scenario.settings.horizon_hours
    end = aar.outcome.end_hour
    wiped = any(aar.outcome.surviving_strength.get(s.id, 1.0) <= 1e-9 for s in scenario.sides)
    if end < horizon - 1e-9 and not wiped:
        leader = max(aar.outcome.attainment.items(), key=lambda kv: kv[1], default=None)
        ahead = (
            f"; {names.get(leader[0], leader[0])} leads on objectives ({pct(leader[1])})"
            if leader and leader[1] > 0
            else ""
        )
        return Verdict(
            "stopped", f"Stopped at H+{end:g} (horizon H+{horizon:g}): no winner yet{ahead}."
        )
    if aar.outcome.winner:
        winner = aar.outcome.winner
        return Verdict("winner", f"Winner: {names.get(winner, winner)} at H+{end:g}.")
    return Verdict("draw", f"No winner at H+{end:g}: no side met its mission.")


def screening_reason(coa: COARecord) -> str:
    """Why a COA was not wargamed: the screening checks it failed and the notes."""
    failed = [check for check, ok in coa.screening.items() if not ok]
    notes = "; ".join(coa.screening_notes)
    if failed:
        return "screened out: failed " + ", ".join(failed) + (f" ({notes})" if notes else "")
    return "screened out" + (f": {notes}" if notes else ": not wargamed")


def no_plan_reason(scenario: Scenario, side: str, plan: PlanRecord | None) -> str:
    """Why a side shows no selected COA."""
    if scenario.side(side).planner == "scripted":
        return "scripted side: it follows the scenario's orders, it does not plan"
    if plan is None:
        return "not deciding this cycle (its decision tempo is slower)"
    if not plan.coas:
        return "no COA drafted" + (f": {'; '.join(plan.notes)}" if plan.notes else "")
    if plan.selected_coa is None:
        return "no COA selected: every COA was screened out"
    return ""


def _losses(coa: COARecord, side: str) -> tuple[str, str]:
    scores = coa.scores
    if scores is None:
        return "—", "—"
    enemy = next((k for k in scores.losses if k != side), None)
    own = pct_interval(scores.losses.get(side), scores.losses_ci95.get(side))
    theirs = pct_interval(scores.losses.get(enemy), scores.losses_ci95.get(enemy)) if enemy else "—"
    return own, theirs


def matrix_table(side: str, plan: PlanRecord) -> list[dict[str, Any]]:
    """A side's decision matrix as display rows (the headers of `MATRIX_HEADERS`)."""
    rows = []
    for coa in plan.coas:
        scores = coa.scores
        own, theirs = _losses(coa, side)
        worst = scores.vs_most_dangerous if scores else None
        if scores is None:
            status = screening_reason(coa)
        elif coa.id == plan.selected_coa:
            status = f"selected ({plan.selected_by})"
        else:
            status = f"wargamed ({coa.drafted_by})" if coa.drafted_by else "wargamed"
        rows.append(
            {
                "★": "★" if coa.id == plan.selected_coa else "",
                "COA": coa.id,
                "Name": coa.name,
                "Manoeuvre": coa.form_of_maneuver or "—",
                "p(success)": pct_interval(
                    scores.p_success if scores else None,
                    scores.p_success_ci95 if scores else None,
                ),
                "Own losses": own,
                "Enemy losses": theirs,
                "Utility": f"{scores.utility:.3f}" if scores else "—",
                "Utility vs most dangerous": f"{worst.utility:.3f}" if worst else "—",
                "Replications": f"{scores.replications:,}" if scores else "—",
                "Status": status,
            }
        )
    return rows


def coa_card(side: str, plan: PlanRecord, coa: COARecord) -> dict[str, Any]:
    """What a COA comparison card shows: concept, efforts, tasks with citations, scores with
    intervals, the screening result and its reason."""
    scores = coa.scores
    own, theirs = _losses(coa, side)
    efforts = []
    if coa.main_effort:
        efforts.append(("Main effort", coa.main_effort.elements, coa.main_effort.axis))
    efforts += [("Supporting", e.elements, e.axis) for e in coa.supporting_efforts]
    if coa.reserve:
        efforts.append(("Reserve", coa.reserve.elements, [coa.reserve.position]))
    return {
        "id": coa.id,
        "name": coa.name,
        "selected": coa.id == plan.selected_coa,
        "concept": coa.concept or coa.summary or "—",
        "manoeuvre": coa.form_of_maneuver or "—",
        "efforts": [
            f"{role}: {', '.join(elements)}" + (f" via {' → '.join(axis)}" if axis else "")
            for role, elements, axis in efforts
        ],
        "tasks": [
            f"{t.unit}: {t.action}"
            + (f" {t.target}" if t.target else "")
            + (f" (phase {t.phase})" if t.phase > 1 else "")
            + (f" [{', '.join(t.citations)}]" if t.citations else "")
            for t in coa.tasks
        ],
        "p_success": pct_interval(
            scores.p_success if scores else None, scores.p_success_ci95 if scores else None
        ),
        "own_losses": own,
        "enemy_losses": theirs,
        "utility": f"{scores.utility:.3f}" if scores else "—",
        "screening": "passed all checks" if scores is not None else screening_reason(coa),
    }
