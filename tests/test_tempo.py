"""Per-side decision tempo: own cycles and decision delays; equal cycles change nothing."""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import fast_planning

from planner.campaign import decision_steps, run_campaign
from scenarios import resolve_scenario
from sim.scenario import Scenario, load_scenario


def with_sides(scenario: Scenario, **per_side: dict) -> Scenario:
    data = scenario.model_dump(by_alias=True, exclude_none=True)
    for side in data["sides"]:
        side.update(per_side.get(side["id"], {}))
    return Scenario.model_validate(data)


@pytest.fixture(scope="module")
def tutorial():
    return fast_planning(load_scenario(resolve_scenario("tutorial")))


def _without_wall(aar) -> dict:
    data = aar.model_dump(mode="json")
    data["stats"].pop("wall_seconds")
    return data


def test_equal_cycles_given_per_side_change_nothing(tutorial):
    plain = run_campaign(tutorial, cycles=2, replications=3)
    explicit = with_sides(tutorial, blue={"cycle_hours": 12}, red={"cycle_hours": 12})
    assert _without_wall(run_campaign(explicit, cycles=2, replications=3)) == _without_wall(plain)


def test_a_six_hour_side_decides_twice_as_often_as_a_twelve_hour_side(tutorial):
    fast = with_sides(tutorial, blue={"cycle_hours": 6})
    assert decision_steps(fast) == 12  # every 6 h of 72 h; Red's 12 h decisions coincide
    aar = run_campaign(fast, cycles=4, replications=3)
    decided = Counter(side for cycle in aar.cycles for side in cycle.plans)
    assert [c.start_hour for c in aar.cycles] == [0.0, 6.0, 12.0, 18.0]
    assert decided == {"blue": 4, "red": 2}
    assert all(cycle.end_hour - cycle.start_hour == 6 for cycle in aar.cycles)


def _moved_out_of_quiet_places(aar, scenario: Scenario) -> set[str]:
    """Blue units that ended the first cycle away from a start place that saw no battle (a
    unit beaten in a fight may fall back whatever its orders)."""
    start = {u.id: u.location for u in scenario.units if u.side == "blue"}
    fought = {b.place for b in aar.outcome.battles} | {
        e.place for e in aar.cycles[0].event_log if e.kind.startswith("battle")
    }
    return {
        uid
        for uid, u in aar.cycles[0].situation.units.items()
        if uid in start and start[uid] not in fought and u.place != start[uid]
    }


def test_orders_take_effect_after_the_decision_delay(tutorial):
    prompt = run_campaign(tutorial, cycles=1, replications=3)
    moved_at_once = _moved_out_of_quiet_places(prompt, tutorial)
    assert moved_at_once, "the plan moves nobody from a quiet place: the comparison says nothing"
    # With a 12 h delay Blue's orders start at H+12, the end of the first cycle.
    slow = with_sides(tutorial, blue={"decision_delay_hours": 12})
    delayed = run_campaign(slow, cycles=1, replications=3)
    assert delayed.cycles[0].plans["blue"].selected is not None
    assert not _moved_out_of_quiet_places(delayed, slow)
