"""Decide: air interdiction aimed where enemy convoys were seen, and defensive drafts that give
up objectives they could neither retake nor hold (COA selection: test_selection.py)."""

from __future__ import annotations

import pytest

from doctrine import default_index
from planner.analysis import analyse
from planner.context import DraftingContext
from planner.drafters import DoctrineDrafter, finalize_drafts
from sim.engine import Simulation
from sim.outcome import perceived_state
from sim.scenario import Scenario
from sim.state import initial_state
from sim.theater import Theater


# ---------------------------------------------------------- interdiction planning
def test_air_interdicts_where_enemy_convoys_were_seen(tutorial):
    data = tutorial.model_dump(by_alias=True, exclude_none=True)
    data["units"].append(
        {"id": "b-air-1", "side": "blue", "type": "air_wing", "strength": 24, "location": "tallinn"}
    )
    scenario = Scenario.model_validate(data)
    theater, index = Theater(scenario), default_index()
    world = initial_state(scenario)
    Simulation(scenario, theater, world, seed=1).initial_sweep()

    def delay_coa(sightings):
        world.convoy_sightings = {"blue": sightings}
        believed = perceived_state(scenario, world, "blue")
        analysis = analyse(scenario, theater, believed, "blue", index)
        ctx = DraftingContext(scenario, theater, believed, analysis, index, count=6)
        coas, _ = finalize_drafts(DoctrineDrafter().draft(ctx), ctx, "doctrine")
        coa = next(c for c in coas if c.form_of_maneuver == "delay")
        return ctx, next(t for t in coa.tasks if t.unit == "b-air-1")

    seen = [
        {"convoy": f"red-convoy-{i}", "place": place, "seen_hour": 0.0, "reported_hour": 0.0}
        for i, place in enumerate(["narva", "kingisepp", "kingisepp"])
    ]
    ctx, task = delay_coa(seen)
    assert ctx.analysis.enemy_supply_seen == ["kingisepp", "narva"]  # most sightings first
    # Kingisepp is across the border (restricted for Blue): the wing interdicts at Narva.
    assert (task.action, task.target) == ("interdict", "narva")
    assert task.citations  # a doctrine passage backs the task
    ctx, task = delay_coa([])
    assert ctx.analysis.enemy_supply_seen == []
    # No supply seen: the wing strikes where the enemy's main approach enters Blue's ground.
    assert task.action == "strike" and task.target == ctx.analysis.sectors[0].positions[0]


# ---------------------------------------------------------- lost objectives
@pytest.mark.parametrize("red_strength, retake", [(30.0, True), (60.0, False)])
def test_defence_gives_up_an_objective_it_could_not_retake(tutorial, red_strength, retake):
    # Red has taken Johvi, one of Blue's three hold objectives, with all four of its units.
    # FM 6-0's planning ratio to attack a hasty defence is 2.5:1: Blue's 375 ground strength
    # can retake Johvi from 4 x 30 = 120 (3.1:1) but not from 4 x 60 = 240 (1.6:1).
    theater, index = Theater(tutorial), default_index()
    world = initial_state(tutorial)
    world.control["johvi"] = "red"
    for unit in (u for u in world.units.values() if u.side == "red"):
        unit.location, unit.strength = "johvi", red_strength
    blue_ground = sum(u.strength for u in world.units.values() if u.side == "blue")
    assert (blue_ground >= 2.5 * 4 * red_strength) == retake
    analysis = analyse(tutorial, theater, world, "blue", index)
    drafts = DoctrineDrafter().draft(DraftingContext(tutorial, theater, world, analysis, index, 3))
    defensive = [d for d in drafts if d.form_of_maneuver in ("area defence", "mobile defence")]
    assert len(defensive) == 2
    for draft in defensive:
        targets = {t.target for p in draft.phases for t in p.tasks}
        sent_to_johvi = "johvi" in targets
        assert sent_to_johvi == retake
        assert ("Given up" in draft.concept and "johvi" in draft.concept) == (not retake)
        assert targets & {"rakvere", "tallinn"}
