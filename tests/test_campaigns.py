"""Every shipped scenario runs a short planned campaign end to end (one OODA cycle)."""

from __future__ import annotations

import pytest
from conftest import fast_planning

from planner.campaign import run_campaign
from scenarios import list_scenarios, resolve_scenario
from sim.scenario import load_scenario

NAMES = [name for name, _ in list_scenarios()]


@pytest.mark.parametrize("name", NAMES)
def test_short_campaign(name):
    scenario = fast_planning(load_scenario(resolve_scenario(name)))
    aar = run_campaign(scenario, cycles=1, replications=2)
    cycle = aar.cycles[0]
    assert cycle.end_hour == min(scenario.settings.cycle_hours, scenario.settings.horizon_hours)
    assert aar.stats.events > 0
    agents = [s.id for s in scenario.sides if s.planner == "agent"]
    assert set(cycle.plans) == set(agents)
    for plan in cycle.plans.values():
        chosen = plan.selected
        assert chosen is not None
        assert all(chosen.screening.values())  # a COA that failed screening never runs
        assert not chosen.scores.eliminated
    before = sum(u.strength for u in scenario.units)
    after = sum(aar.outcome.surviving_strength.values())
    assert after <= before  # strength is only ever lost, never created
