"""Mission analysis from the theater graph: avenues, key terrain, sectors, enemy COAs."""

from __future__ import annotations

import pytest
import yaml
from conftest import decision_context

from planner.analysis import AVENUE_DETOUR_LIMIT, UNSEEN_PRIOR
from planner.decide import enemy_plans
from scenarios import resolve_scenario
from sim.scenario import load_scenario, parse_scenario

SPEED = 20.0  # km/h of the enemy's infantry in the toy theater


def toy(routes: list[dict], objectives: list[str], enemy_at: str = "e") -> dict:
    """A small theater with route lengths set by hand, so path times are closed forms."""
    places = {p for r in routes for p in (r["from"], r["to"])}
    return {
        "id": "toy",
        "places": [
            {
                "id": p,
                "lat": 58.0 + 0.01 * i,
                "lon": 25.0,
                "control": "red" if p == enemy_at else "blue",
            }
            for i, p in enumerate(sorted(places))
        ],
        "routes": routes,
        "sides": [
            {
                "id": "blue",
                "mission": {
                    "objectives": [
                        {"id": f"hold-{p}", "place": p, "deadline_hours": 48} for p in objectives
                    ]
                },
            },
            {"id": "red", "planner": "scripted", "doctrine": "adversary"},
        ],
        "units": [
            {
                "id": "b1",
                "side": "blue",
                "type": "infantry",
                "strength": 50,
                "location": objectives[0],
            },
            {
                "id": "r1",
                "side": "red",
                "type": "infantry",
                "strength": 100,
                "location": enemy_at,
                "speed_kph": SPEED,
            },
        ],
        "unit_types": {"infantry": {"sensor_range_km": 500, "detection_probability": 1.0}},
        "settings": {"supply": False},
    }


def road(a: str, b: str, km: float) -> dict:
    return {"from": a, "to": b, "mode": "road", "length_km": km}


def test_avenues_are_the_fastest_distinct_paths_within_the_detour_limit():
    # e-a-o 20 km, e-b-o 22 km, e-c-o 40 km: the last is 2x the fastest, beyond the 1.6 limit.
    data = toy(
        [
            road("e", "a", 10),
            road("a", "o", 10),
            road("e", "b", 10),
            road("b", "o", 12),
            road("e", "c", 30),
            road("c", "o", 10),
        ],
        ["o"],
    )
    ctx = decision_context(parse_scenario(yaml.safe_dump(data)), "blue")
    avenues = ctx.analysis.avenues
    assert [a.path for a in avenues] == [["e", "a", "o"], ["e", "b", "o"]]
    assert [a.hours for a in avenues] == [pytest.approx(20 / SPEED), pytest.approx(22 / SPEED)]
    assert AVENUE_DETOUR_LIMIT < 40 / 20
    # Relative combat power: our 50 on the avenue against the enemy's estimated strength (a
    # sensor estimate of the true 100) plus the prior for what was not seen.
    seen = ctx.analysis.enemy_strength_seen
    assert 80 <= seen <= 120
    assert avenues[0].ratio == pytest.approx(50 / (seen * (1 + UNSEEN_PRIOR)), abs=1e-3)


def test_a_place_on_every_approach_is_a_decisive_point():
    # Both approaches to o pass through the crossing x; a and b are each on one of them.
    data = toy(
        [
            road("e", "x", 5),
            road("x", "a", 10),
            road("x", "b", 11),
            road("a", "o", 10),
            road("b", "o", 10),
        ],
        ["o"],
    )
    ctx = decision_context(parse_scenario(yaml.safe_dump(data)), "blue")
    decisive = set(ctx.analysis.decisive_points)
    assert "x" in decisive and not decisive & {"a", "b"}
    crossing = next(k for k in ctx.analysis.key_terrain if k.place == "x")
    assert any("2 approach" in reason for reason in crossing.reasons)


def test_a_single_open_course_is_said_and_wargamed_once():
    data = toy([road("e", "o", 10)], ["o"])
    analysis = decision_context(parse_scenario(yaml.safe_dump(data)), "blue").analysis
    assert not analysis.enemy_coas_distinct
    assert any("wargamed once" in note for note in analysis.notes)
    plans, weights = enemy_plans(analysis)
    assert len(plans) == 1 and weights == [1.0]


@pytest.mark.parametrize("name", ["tutorial", "baltic_corps", "western_pacific"])
def test_most_likely_and_most_dangerous_differ_in_objective_or_axis(name):
    scenario = load_scenario(resolve_scenario(name))
    agents = [s.id for s in scenario.sides if s.planner == "agent"]
    assert agents
    for side in agents:
        analysis = decision_context(scenario, side).analysis
        likely, dangerous = analysis.enemy_most_likely, analysis.enemy_most_dangerous
        assert likely is not None and dangerous is not None
        if analysis.enemy_coas_distinct:
            orders = {(t.unit, t.action, t.target) for t in likely.taskings}
            assert orders != {(t.unit, t.action, t.target) for t in dangerous.taskings}
            assert likely.objective != dangerous.objective or likely.axis != dangerous.axis
            assert len(enemy_plans(analysis)[0]) == 2
        else:
            assert len(enemy_plans(analysis)[0]) == 1


def test_objectives_on_one_approach_share_a_sector_in_depth(tutorial):
    sectors = decision_context(tutorial, "blue").analysis.sectors
    assert sectors
    corridor = next(s for s in sectors if "johvi" in s.objectives)
    # Johvi lies on the enemy's way to Rakvere: one sector, Narva forward, Rakvere deepest.
    assert corridor.objectives == ["johvi", "rakvere"]
    assert corridor.positions[0] == "narva" and corridor.positions[-1] == "rakvere"
    assert corridor.threat > 0


def test_baltic_sectors_follow_the_approaches():
    scenario = load_scenario(resolve_scenario("baltic_corps"))
    sectors = decision_context(scenario, "blue").analysis.sectors
    by_objective = {p: s.id for s in sectors for p in s.objectives}
    assert by_objective["tartu"] != by_objective["riga"]  # Tartu is not on the way to Riga
    assert len(sectors) >= 5 and all(s.positions[-1] in s.objectives for s in sectors)
