"""Doctrinal schemes: structured, complete, distinct COAs; sound allocation; maritime COAs."""

from __future__ import annotations

from collections import Counter

import pytest
from conftest import decision_context

from planner.schemes import DoctrineDrafter, family
from planner.screening import screen
from planner.validation import finalize_drafts
from scenarios import resolve_scenario
from sim.scenario import load_scenario

PLANNED = [
    ("tutorial", "blue"),
    ("tutorial", "red"),
    ("baltic_corps", "blue"),
    ("western_pacific", "blue"),
    ("western_pacific", "red"),
]


@pytest.fixture(scope="module")
def drafted():
    """Cycle-0 COAs of every planning side of the shipped campaigns."""
    result = {}
    for name, side in PLANNED:
        ctx = decision_context(load_scenario(resolve_scenario(name)), side)
        coas, _ = finalize_drafts(DoctrineDrafter().draft(ctx), ctx, "doctrine")
        result[name, side] = (ctx, coas)
    return result


@pytest.mark.parametrize("case", PLANNED)
def test_every_unit_has_one_task_per_phase_and_a_main_effort(drafted, case):
    ctx, coas = drafted[case]
    assert len(coas) >= 2
    own = {u.id for u in ctx.believed.units.values() if u.side == ctx.side and u.alive}
    for coa in coas:
        assert coa.main_effort is not None and coa.main_effort.elements
        assert coa.phases
        for phase in coa.phases:
            tasked = Counter(t.unit for t in coa.tasks if t.phase == phase.number)
            assert set(tasked) == own, (coa.name, phase.name)
            assert set(tasked.values()) == {1}


@pytest.mark.parametrize("case", PLANNED)
def test_coas_of_a_decision_differ_in_concept_or_main_effort(drafted, case):
    _, coas = drafted[case]
    keys = [
        (c.form_of_maneuver, tuple(c.main_effort.axis), tuple(c.main_effort.elements)) for c in coas
    ]
    assert len(set(keys)) == len(keys)
    assert len({c.unit_signature() for c in coas}) == len(coas)  # no relabelled copies


def test_baltic_coas_never_pile_half_the_ground_force_on_one_objective(drafted):
    ctx, coas = drafted["baltic_corps", "blue"]
    ground = [e for e in ctx.elements if e.domain == "land"]
    assert len(ground) >= 15  # brigades and battle groups, not battalions
    decisive = {k.place: k.reasons for k in ctx.analysis.key_terrain if k.decisive}
    for coa in coas:
        for phase in coa.phases:
            per_place = Counter(
                t.target for t in phase.tasks if t.target and t.unit in {e.id for e in ground}
            )
            for place, count in per_place.items():
                if count * 2 > len(ground):
                    assert place in decisive and decisive[place], (coa.name, phase.name, place)


def test_threatened_sectors_get_the_defence_planning_ratio_where_the_force_allows(drafted):
    ctx, coas = drafted["tutorial", "blue"]
    area = next(c for c in coas if c.form_of_maneuver == "area defence")
    main = ctx.analysis.sectors[0]
    assert main.threat > 0
    strength = {e.id: e.strength for e in ctx.elements}
    placed = sum(strength[e] for e in area.main_effort.elements)
    assert placed >= main.threat / 3  # FM 6-0: a defence holds at 1:3


def test_the_western_pacific_is_planned_as_a_maritime_fight(drafted):
    blue_ctx, blue = drafted["western_pacific", "blue"]
    red_ctx, red = drafted["western_pacific", "red"]
    assert family(blue_ctx) == "maritime defence" and family(red_ctx) == "maritime offence"
    assert {c.form_of_maneuver for c in blue} <= {
        "sea denial",
        "sea control",
        "strike campaign",
        "blockade",
    }
    assault = next(c for c in red if c.form_of_maneuver == "amphibious assault")
    assert [p.name for p in assault.phases] == [
        "Planning and embarkation",
        "Rehearsal",
        "Movement",
        "Action",
    ]
    starts = [p.start_hour for p in assault.phases]
    assert starts == sorted(starts) and starts[-1] > starts[-2]
    landing = {
        t.unit for t in assault.tasks if t.phase == 4 and t.action == "attack" and not t.continued
    }
    assert landing and all(red_ctx.believed.units[u].domain == "land" for u in landing)


def test_land_campaigns_are_planned_on_land(drafted):
    assert family(drafted["tutorial", "blue"][0]) == "land defence"
    assert family(drafted["tutorial", "red"][0]) == "land offence"
    assert family(drafted["baltic_corps", "blue"][0]) == "land defence"


@pytest.mark.parametrize("case", PLANNED)
def test_most_doctrine_coas_pass_screening(drafted, case):
    ctx, coas = drafted[case]
    kept = screen(coas, ctx)
    assert len(kept) >= 2, [c.screening_notes for c in coas]


def test_air_is_apportioned_by_phase(drafted):
    ctx, coas = drafted["baltic_corps", "blue"]
    wings = {u.id for u in ctx.air_units}
    assert wings
    for coa in coas:
        assert coa.air and all(
            abs(a.interdiction + a.strike + a.close_support - 1) < 1e-9 for a in coa.air
        )
        first = {t.unit for t in coa.tasks if t.phase == 1 and t.unit in wings}
        assert first == wings
        for task in (t for t in coa.tasks if t.unit in wings and t.target):
            assert task.target not in ctx.restricted  # no strikes into Russia or Belarus
