"""The act phase's event log: it agrees with the engine's battle log and with the control each
cycle left, and reads a hand-built before/after pair exactly."""

from __future__ import annotations

from collections import Counter

import pytest

from planner.campaign import run_campaign
from planner.events import cycle_events
from planner.record import AfterActionRecord
from sim.scenario import Scenario
from sim.state import BattleState, initial_state


@pytest.fixture(scope="module")
def campaign(tutorial: Scenario) -> AfterActionRecord:
    """The whole tutorial campaign (battles at Narva and Johvi, a reinforcement, deadlines)."""
    return run_campaign(tutorial, seed=7, replications=2)


def _events(aar: AfterActionRecord, kind: str) -> list:
    return [(cycle, e) for cycle in aar.cycles for e in cycle.event_log if e.kind == kind]


def test_every_battle_the_engine_logged_ends_once_in_the_cycle_it_ended(campaign):
    logged = Counter((b.place, b.end_hour, b.winner) for b in campaign.outcome.battles)
    assert logged, "the tutorial fought no battle to its end"
    ended = _events(campaign, "battle_ended")
    assert Counter((e.place, e.hour, e.winner) for _, e in ended) == logged
    for cycle, event in ended:
        assert cycle.start_hour <= event.hour <= cycle.end_hour


def test_battles_begun_match_the_logged_start_hours(campaign):
    starts = Counter((b.place, b.start_hour) for b in campaign.outcome.battles)
    begun = Counter((e.place, e.hour) for _, e in _events(campaign, "battle_begun"))
    assert begun and begun == starts  # every battle of this run ended before H+72


def test_replaying_control_changes_gives_each_cycles_control(campaign, tutorial):
    control = {p.id: p.control for p in tutorial.places}
    changes = 0
    for cycle in campaign.cycles:
        for event in cycle.event_log:
            if event.kind == "control_changed":
                assert control[event.place] == event.previous  # from whoever held it
                control[event.place] = event.side
                changes += 1
        assert control == cycle.situation.control, f"after cycle {cycle.cycle}"
    assert changes >= 2  # Narva and Johvi change hands in this run


def test_arrivals_and_deadlines_are_logged_once(campaign, tutorial):
    due = {u.id: u.arrives_hour for u in tutorial.units if 0 < u.arrives_hour <= 72}
    assert due
    arrivals = _events(campaign, "arrival")
    assert {e.unit: e.hour for _, e in arrivals} == due and len(arrivals) == len(due)
    deadlines = {e.objectives[0]: e.side for _, e in _events(campaign, "objective_deadline")}
    assert deadlines
    for key, holder in deadlines.items():
        side, objective = key.split(":")
        assert campaign.outcome.objectives[side][objective] == (holder == side)


def test_hand_built_cycle_reads_exactly(tutorial):
    before = initial_state(tutorial)
    before.hour = 12.0
    before.units["b-inf-4"].arrives_hour = 18.0
    before.units["b-inf-1"].action, before.units["b-inf-1"].target = "strike", "kingisepp"
    before.battles["narva"] = BattleState("narva", 10.0, 12.0, "blue", {"blue": 1, "red": 1})
    after = before.clone()
    after.hour = 24.0
    after.units["b-inf-1"].strength -= 4
    del after.battles["narva"]
    after.battle_log.append(
        {
            "place": "narva",
            "start_hour": 10.0,
            "end_hour": 15.5,
            "winner": "red",
            "defender": "blue",
        }
    )
    after.battles["johvi"] = BattleState("johvi", 20.0, 23.5, "red", {"blue": 1, "red": 1})
    after.control.update(narva="red", johvi="red", sillamae="red")
    after.logistics_log.append(
        {
            "hour": 19.0,
            "convoy": "blue-convoy-1",
            "side": "blue",
            "unit": "b-mech-2",
            "place": "sillamae",
            "result": "destroyed by enemy ground forces",
            "cargo": 0.5,
        }
    )
    events = [(e.kind, e.hour, e.place, e.side) for e in cycle_events(tutorial, before, after)]
    assert events == [
        ("strike_tasked", 12.0, "kingisepp", "blue"),
        ("battle_ended", 15.5, "narva", None),
        ("control_changed", 15.5, "narva", "red"),  # won the battle
        ("arrival", 18.0, "tallinn", "blue"),
        ("convoy_lost", 19.0, "sillamae", "blue"),
        ("control_changed", None, "johvi", "red"),  # taken unopposed before the fight began
        ("battle_begun", 20.0, "johvi", None),
        ("control_changed", None, "sillamae", "red"),  # unopposed, seen at the cycle's end
    ]
    strike = cycle_events(tutorial, before, after)[0]
    assert strike.action == "strike" and "lost 4 strength" in strike.detail
    occupied = [e for e in cycle_events(tutorial, before, after) if e.hour is None]
    assert [e.previous for e in occupied] == ["blue", "blue"]
    assert "between H+12 and H+20" in occupied[0].detail
