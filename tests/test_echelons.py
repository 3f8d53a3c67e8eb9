"""Echelons: formations in the schema, and the elements the planner tasks."""

from __future__ import annotations

import pytest
import yaml
from conftest import decision_context

from planner.coa import COADraft, TaskDraft
from planner.echelons import OrderOfBattle
from planner.validation import finalize_drafts
from scenarios import resolve_scenario
from sim.scenario import ScenarioError, load_scenario, parse_scenario


def _with_formations(tutorial, formations, parents):
    data = tutorial.model_dump(by_alias=True, exclude_none=True, exclude={"unit_types"})
    data["formations"] = formations
    for unit in data["units"]:
        if unit["id"] in parents:
            unit["parent"] = parents[unit["id"]]
    return yaml.safe_dump(data, sort_keys=False)


@pytest.mark.parametrize(
    "formations, parents, message",
    [
        ([{"id": "bde", "side": "blue"}], {"b-inf-1": "div"}, "unknown formation 'div'"),
        ([{"id": "bde", "side": "blue"}], {"r-mech-1": "bde"}, "formation belongs to another side"),
        (
            [
                {"id": "x", "side": "blue", "parent": "y"},
                {"id": "y", "side": "blue", "parent": "x"},
            ],
            {},
            "cycle",
        ),
        ([{"id": "b-inf-1", "side": "blue"}], {}, "also a unit's"),
    ],
)
def test_bad_formations_are_located_errors(tutorial, formations, parents, message):
    with pytest.raises(ScenarioError) as error:
        parse_scenario(_with_formations(tutorial, formations, parents), source="t.yaml")
    assert message in str(error.value) and "t.yaml:" in str(error.value)


def test_a_brigade_is_tasked_as_one_and_its_task_reaches_every_battalion(tutorial):
    text = _with_formations(
        tutorial,
        [
            {"id": "div", "side": "blue", "echelon": "division"},
            {"id": "bde", "side": "blue", "echelon": "brigade", "parent": "div"},
        ],
        {"b-inf-1": "bde", "b-mech-2": "bde", "b-rec-1": "div"},
    )
    scenario = parse_scenario(text)
    ctx = decision_context(scenario, "blue")
    elements = {e.id: e for e in ctx.elements}
    # The brigade's two battalions form one element; a unit directly under the division is
    # tasked on its own, as are units with no formation.
    assert set(elements) == {"bde", "b-rec-1", "b-arm-3", "b-inf-4"}
    assert set(elements["bde"].units) == {"b-inf-1", "b-mech-2"}
    assert elements["bde"].strength == pytest.approx(
        sum(ctx.believed.units[u].strength for u in ("b-inf-1", "b-mech-2"))
    )
    assert OrderOfBattle(scenario, "blue").chain("b-inf-1") == ["b-inf-1", "bde", "div"]
    draft = COADraft(
        name="one brigade task",
        concept="test",
        tasks=[TaskDraft(unit="bde", action="defend", target="johvi")]
        + [
            TaskDraft(unit=u, action="defend", target=None)
            for u in ("b-rec-1", "b-arm-3", "b-inf-4")
        ],
    )
    coas, notes = finalize_drafts([draft], ctx, "test")
    assert not notes
    orders = {t.unit: (t.action, t.target) for t in coas[0].tasks}
    assert orders["b-inf-1"] == orders["b-mech-2"] == ("defend", "johvi")


def test_shipped_orders_of_battle_group_units_into_formations():
    baltic = load_scenario(resolve_scenario("baltic_corps"))
    blue = OrderOfBattle(baltic, "blue")
    assert blue.element_of("b-ee1-2") == "ee-1bde"
    assert blue.chain("b-ee1-2") == ["b-ee1-2", "ee-1bde", "ee-div", "blue-corps"]
    pacific = load_scenario(resolve_scenario("western_pacific"))
    # Task groups sit directly under the maritime component: each is tasked on its own.
    assert OrderOfBattle(pacific, "blue").element_of("b-sag-3") == "b-sag-3"
    assert OrderOfBattle(pacific, "blue").chain("b-sag-3")[1] == "blue-mcc"
    for scenario in (baltic, pacific):
        ground = [u for u in scenario.units if scenario.unit_types[u.type].domain != "air"]
        assert ground and all(u.parent for u in ground)
