"""FASDC screening: each criterion with its reason, repair, and selection only of COAs kept."""

from __future__ import annotations

import yaml
from conftest import decision_context

from planner.coa import COA, COADraft, PhaseDraft, TaskDraft
from planner.decide import decision_matrix
from planner.screening import repair, screen
from planner.validation import finalize_drafts
from sim.scenario import parse_scenario


def coa_of(ctx, tasks: list[tuple[str, str, str | None]], name: str = "test") -> COA:
    draft = COADraft(
        name=name,
        concept="a test COA",
        form_of_maneuver="test",
        phases=[
            PhaseDraft(
                name="one",
                tasks=[TaskDraft(unit=u, action=a, target=t, purpose="test") for u, a, t in tasks],
            )
        ],
        main_effort={"role": "main", "elements": [tasks[0][0]]},
    )
    coas, _ = finalize_drafts([draft], ctx, "test")
    return coas[0]


BLUE_HOLDS = [
    ("b-inf-1", "defend", "narva"),
    ("b-mech-2", "defend", "johvi"),
    ("b-arm-3", "defend", "rakvere"),
    ("b-rec-1", "defend", "johvi"),
    ("b-inf-4", "defend", "rakvere"),
]


def test_a_restricted_destination_is_rejected_with_its_reason(tutorial):
    ctx = decision_context(tutorial, "blue")
    across = coa_of(ctx, [("b-mech-2", "attack", "kingisepp"), *BLUE_HOLDS[:1], *BLUE_HOLDS[2:]])
    assert screen([across], ctx) == []
    assert across.screening["acceptable"] is False
    assert any("kingisepp, a restricted place" in n for n in across.screening_notes)
    lawful = coa_of(ctx, BLUE_HOLDS)
    assert screen([lawful], ctx) == [lawful] and all(lawful.screening.values())


def test_a_path_through_a_restricted_place_is_rejected_with_its_reason():
    # The only road from a to x runs through r, which Blue may not enter.
    data = {
        "id": "corridor",
        "places": [
            {"id": "a", "lat": 58.0, "lon": 25.0, "control": "blue", "supply_source": True},
            {"id": "r", "lat": 58.0, "lon": 25.1},
            {"id": "x", "lat": 58.0, "lon": 25.2},
            {"id": "e", "lat": 58.0, "lon": 25.3, "control": "red"},
        ],
        "routes": [{"from": "a", "to": "r"}, {"from": "r", "to": "x"}, {"from": "x", "to": "e"}],
        "sides": [
            {
                "id": "blue",
                "mission": {
                    "objectives": [{"id": "hold-a", "place": "a", "deadline_hours": 24}],
                    "constraints": {"restricted_places": ["r"]},
                },
            },
            {"id": "red", "planner": "scripted"},
        ],
        "units": [
            {"id": "b", "side": "blue", "type": "infantry", "strength": 50, "location": "a"},
            {"id": "z", "side": "red", "type": "infantry", "strength": 50, "location": "e"},
        ],
    }
    ctx = decision_context(parse_scenario(yaml.safe_dump(data)), "blue")
    coa = coa_of(ctx, [("b", "move", "x")])
    assert screen([coa], ctx) == []
    assert not coa.screening["acceptable"] and not coa.screening["feasible"]
    assert any("only through a restricted place" in n for n in coa.screening_notes)


def test_a_unit_left_without_a_task_makes_the_coa_incomplete(tutorial):
    ctx = decision_context(tutorial, "blue")
    coa = coa_of(ctx, BLUE_HOLDS[:-1])
    assert screen([coa], ctx) == []
    assert any("b-inf-4" in n and "without a task" in n for n in coa.screening_notes)


def test_a_relabelled_copy_is_not_distinguishable(tutorial):
    ctx = decision_context(tutorial, "blue")
    first, copy = coa_of(ctx, BLUE_HOLDS, "first"), coa_of(ctx, BLUE_HOLDS, "second")
    copy = copy.model_copy(update={"form_of_maneuver": "another label"})
    assert screen([first, copy], ctx) == [first]
    assert any("same tasking" in n for n in copy.screening_notes)


def test_repair_holds_the_offending_units_in_place_and_passes(tutorial):
    ctx = decision_context(tutorial, "blue")
    across = coa_of(ctx, [("b-mech-2", "attack", "kingisepp"), *BLUE_HOLDS[:1], *BLUE_HOLDS[2:]])
    screen([across], ctx)
    fixed = repair(across, ctx)
    assert screen([fixed], ctx) == [fixed]
    task = next(t for t in fixed.tasks if t.unit == "b-mech-2")
    assert (task.action, task.target) == ("defend", None)
    assert fixed.revised_from == across.id and "b-mech-2" in fixed.repairs[0]


def test_eliminated_or_unacceptable_coas_are_never_selected(tutorial):
    ctx = decision_context(tutorial, "blue")
    base = coa_of(ctx, BLUE_HOLDS)
    scores = {"p_success": 0.5, "attainment": 0.5, "losses": {"blue": 0.2, "red": 0.3}}
    best_but_stopped = base.model_copy(
        update={"id": "a", "scores": {**scores, "utility": 0.9, "eliminated": True}}
    )
    best_but_costly = base.model_copy(
        update={
            "id": "b",
            "scores": {**scores, "utility": 0.8, "eliminated": False},
            "screening": {"acceptable": False},
        }
    )
    kept = base.model_copy(
        update={"id": "c", "scores": {**scores, "utility": 0.5, "eliminated": False}}
    )
    chosen, rows = decision_matrix([best_but_stopped, best_but_costly, kept])
    assert chosen.id == "c"
    assert [r["eliminated"] for r in rows] == [True, False, False]
