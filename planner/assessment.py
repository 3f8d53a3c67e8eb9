"""What went right and what went wrong, drawn from the record: objectives against the plan,
losses against the commander's limit, and each cycle's forecast beside what happened.

A forecast is the selected COA's wargame result (probability of success, expected own and
enemy losses over the look-ahead) from the side's believed picture; the observation is the
ground truth at the end of the last cycle inside that look-ahead. The enemy's forecast losses
are relative to the enemy strength the side had seen, the observed ones to the true strength.
"""

from __future__ import annotations

from planner.context import lookahead_hours
from planner.record import AfterActionRecord, Assessment, CycleRecord, Finding, ForecastCheck
from sim.scenario import Scenario

__all__ = ["assess", "forecast_checks"]

#: Used as the forecast's own-loss bound when a record has no interval for it.
_LOSS_TOLERANCE = 0.05


def assess(aar: AfterActionRecord, scenario: Scenario) -> Assessment:
    """Findings and forecast checks for a built record (its own `assessment` is ignored)."""
    checks = forecast_checks(aar, scenario)
    findings = _objective_findings(aar) + _loss_findings(aar) + _forecast_findings(checks)
    return Assessment(findings=findings, forecasts=checks)


def forecast_checks(aar: AfterActionRecord, scenario: Scenario) -> list[ForecastCheck]:
    """Per cycle and planning side: the selected COA's forecast and the observed outcome."""
    checks = []
    horizon = scenario.settings.horizon_hours
    for index, cycle in enumerate(aar.cycles):
        before = aar.cycles[index - 1].situation.strength if index else aar.outcome.initial_strength
        for side, plan in cycle.plans.items():
            until = min(cycle.start_hour + lookahead_hours(scenario, side), horizon)
            inside = [c for c in aar.cycles[index:] if c.end_hour <= until + 1e-9] or [cycle]
            observed = inside[-1]
            chosen = plan.selected
            if chosen is None or chosen.scores is None:
                continue
            scores = chosen.scores
            enemy = next((s for s in scores.losses if s != side), None)
            own_ci = scores.losses_ci95.get(side)
            checks.append(
                ForecastCheck(
                    cycle=cycle.cycle,
                    side=side,
                    coa=chosen.id,
                    start_hour=cycle.start_hour,
                    until_hour=until,
                    observed_hour=observed.end_hour,
                    predicted_p_success=scores.p_success,
                    predicted_p_success_ci95=scores.p_success_ci95,
                    predicted_loss_own=scores.losses.get(side, 0.0),
                    predicted_loss_own_ci95=own_ci,
                    predicted_loss_enemy=scores.losses.get(enemy, 0.0) if enemy else 0.0,
                    achieved=_achieved(aar, side, observed),
                    loss_own=_loss(before, observed.situation.strength, side),
                    loss_enemy=_loss(before, observed.situation.strength, enemy) if enemy else 0.0,
                )
            )
    return checks


def _loss(before: dict[str, float], after: dict[str, float], side: str) -> float:
    start = before.get(side, 0.0)
    return round(1.0 - after.get(side, 0.0) / start, 6) if start else 0.0


def _achieved(aar: AfterActionRecord, side: str, observed: CycleRecord) -> bool:
    """The rule the wargame scores success by, at the observed hour: an objective whose deadline
    has passed counts its holder at the deadline (the final outcome), others the holder now."""
    info = next((s for s in aar.sides if s.id == side), None)
    if info is None or not info.objectives:
        return False
    final = aar.outcome.objectives.get(side, {})
    return all(
        final.get(o.id, False)
        if o.deadline_hours <= observed.end_hour + 1e-9
        else observed.situation.control.get(o.place) == side
        for o in info.objectives
    )


def _deadline_holders(aar: AfterActionRecord) -> dict[str, str | None]:
    return {
        key: event.side
        for cycle in aar.cycles
        for event in cycle.event_log
        if event.kind == "objective_deadline"
        for key in event.objectives
    }


def _objective_findings(aar: AfterActionRecord) -> list[Finding]:
    holders = _deadline_holders(aar)
    end = aar.outcome.end_hour
    findings = []
    for side in aar.sides:
        achieved = aar.outcome.objectives.get(side.id, {})
        for objective in side.objectives:
            ok = achieved.get(objective.id, False)
            verb = "held" if objective.kind == "hold" else "seized"
            key = f"{side.id}:{objective.id}"
            deadline = objective.deadline_hours
            holder = holders.get(key, aar.outcome.control.get(objective.place))
            if key in holders or end >= deadline - 1e-9:
                when = f"at its deadline H+{deadline:g}"
            else:
                when = f"at the end, H+{end:g}, before its deadline H+{deadline:g}"
            text = (
                f"{side.id} {verb} {objective.place} ({objective.id}) {when}"
                if ok
                else f"{side.id} did not {objective.kind} {objective.place} ({objective.id}) "
                f"{when}: held by {holder or 'nobody'}"
            )
            findings.append(Finding(topic="objective", side=side.id, good=ok, text=text))
    return findings


def _loss_findings(aar: AfterActionRecord) -> list[Finding]:
    findings = []
    for side in aar.sides:
        if side.max_loss_fraction is None or side.id not in aar.outcome.initial_strength:
            continue
        lost = aar.outcome.loss_fraction(side.id)
        ok = lost <= side.max_loss_fraction + 1e-9
        text = (
            f"{side.id} lost {lost:.0%} of its strength, "
            f"{'within' if ok else 'beyond'} the commander's limit of {side.max_loss_fraction:.0%}"
        )
        findings.append(Finding(topic="losses", side=side.id, good=ok, text=text))
    return findings


def _forecast_findings(checks: list[ForecastCheck]) -> list[Finding]:
    """Per side, at most two lines: the cycles whose forecast held, and those it missed (why).

    A forecast holds when the more likely outcome it gave happened (success at p >= 0.5, else
    failure) and own losses stayed at or below its 95 % interval."""
    held: dict[str, list[str]] = {}
    missed: dict[str, list[str]] = {}
    for check in checks:
        reasons = []
        if (check.predicted_p_success >= 0.5) != check.achieved:
            reasons.append(
                f"p(success) {check.predicted_p_success:.2f}, objectives "
                + ("met" if check.achieved else "not met")
            )
        bound = (
            check.predicted_loss_own_ci95[1]
            if check.predicted_loss_own_ci95 is not None
            else check.predicted_loss_own + _LOSS_TOLERANCE
        )
        if check.loss_own > bound + 1e-9:
            reasons.append(
                f"own losses {check.loss_own:.0%} against {check.predicted_loss_own:.0%}"
            )
        name = f"{check.cycle}"
        if reasons:
            missed.setdefault(check.side, []).append(f"{name} ({', '.join(reasons)})")
        else:
            held.setdefault(check.side, []).append(name)
    findings = []
    for side in sorted(set(held) | set(missed)):
        if side in held:
            text = f"{side}'s forecast held in cycle(s) {', '.join(held[side])}"
            findings.append(Finding(topic="forecast", side=side, good=True, text=text))
        if side in missed:
            text = f"{side}'s forecast missed in cycle(s) {'; '.join(missed[side])}"
            findings.append(Finding(topic="forecast", side=side, good=False, text=text))
    return findings
