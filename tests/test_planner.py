"""The OODA loop end to end: determinism, selection by score, citations, fallbacks, approval."""

from __future__ import annotations

import time

import pytest
from conftest import fast_planning

from doctrine import default_index
from planner.campaign import run_campaign as run_campaign_record
from planner.drafters import DoctrineDrafter
from scenarios import resolve_scenario
from sim.scenario import load_scenario


def _strip_wall(aar: dict) -> dict:
    aar = dict(aar)
    aar["stats"] = {k: v for k, v in aar["stats"].items() if k != "wall_seconds"}
    return aar


def run_campaign(*args, **kwargs) -> dict:
    """The campaign's after-action record as aar.json holds it."""
    return run_campaign_record(*args, **kwargs).model_dump(mode="json")


@pytest.fixture(scope="module")
def tutorial():
    """These tests run whole campaigns: the tutorial with a small revision budget."""
    return fast_planning(load_scenario(resolve_scenario("tutorial")))


@pytest.fixture(scope="module")
def short_run(tutorial):
    return run_campaign(tutorial, seed=7, cycles=2, replications=4)


def test_same_seed_gives_identical_aar_and_other_seed_differs(tutorial, short_run):
    again = run_campaign(tutorial, seed=7, cycles=2, replications=4)
    other = run_campaign(tutorial, seed=8, cycles=2, replications=4)
    assert _strip_wall(short_run) == _strip_wall(again)
    assert _strip_wall(short_run) != _strip_wall(other)


def test_aar_has_the_promised_fields(short_run):
    assert short_run["scenario"]["id"] == "tutorial" and short_run["seed"] == 7
    assert short_run["planner"] == "doctrine"
    assert len(short_run["cycles"]) == 2
    for cycle in short_run["cycles"]:
        for side, plan in cycle["plans"].items():
            assert len(plan["coas"]) >= 3, side
            for coa in plan["coas"]:
                if coa["scores"]:
                    low, high = coa["scores"]["p_success_ci95"]
                    assert 0 <= low <= coa["scores"]["p_success"] <= high <= 1
                    assert set(coa["scores"]["losses"]) == {"blue", "red"}
    outcome = short_run["outcome"]
    assert set(outcome["surviving_strength"]) == {"blue", "red"}
    assert outcome["end_hour"] == 24
    assert short_run["stats"]["events"] > 0 and short_run["stats"]["replications"] > 0


def test_selected_coa_has_the_best_utility_among_those_kept(short_run):
    decisions = [p for c in short_run["cycles"] for p in c["plans"].values()]
    assert decisions
    for plan in decisions:
        kept = [
            c
            for c in plan["coas"]
            if c["scores"] and not c["scores"]["eliminated"] and all(c["screening"].values())
        ]
        assert kept, "no COA survived to the decision"
        chosen = next(c for c in plan["coas"] if c["id"] == plan["selected_coa"])
        assert chosen in kept
        assert chosen["scores"]["utility"] == max(c["scores"]["utility"] for c in kept)


def test_coas_that_passed_screening_differ_and_every_task_cites_real_doctrine(short_run):
    index = default_index()
    decisions = [p for c in short_run["cycles"] for p in c["plans"].values()]
    assert decisions
    for plan in decisions:
        passed = [c for c in plan["coas"] if all(c["screening"].values())]
        assert len(passed) >= 2
        signatures = {
            frozenset((t["unit"], t["action"], t["target"], t["at_hour"]) for t in c["tasks"])
            for c in passed
        }
        assert len(signatures) == len(passed)  # never a relabelled copy
        for coa in plan["coas"]:
            assert coa["tasks"]
            for task in coa["tasks"]:
                assert task["citations"] and all(c in index for c in task["citations"])
    cited = {d["id"] for d in short_run["doctrine_cited"]}
    assert cited and all(pid in index for pid in cited)


def test_commander_can_override_the_selection(tutorial):
    seen = []

    def commander(payload):
        seen.append(payload)
        plan = payload["plans"]["blue"]
        others = [row["coa"] for row in plan["matrix"] if row["coa"] != plan["selected_coa"]]
        return {"blue": others[0]}

    aar = run_campaign(tutorial, seed=7, cycles=1, replications=2, approver=commander)
    plan = aar["cycles"][0]["plans"]["blue"]
    assert seen and plan["selected_by"] == "commander"
    assert plan["selected_coa"] != seen[0]["plans"]["blue"]["selected_coa"]


def test_checkpointed_run_resumes_to_the_same_result(tutorial, tmp_path):
    straight = run_campaign(tutorial, seed=7, cycles=2, replications=2)
    db = tmp_path / "ooda.sqlite"
    run_campaign(tutorial, seed=7, cycles=2, replications=2, checkpoint=db)
    assert db.stat().st_size > 0
    assert _strip_wall(
        run_campaign(tutorial, seed=7, cycles=2, replications=2, checkpoint=tmp_path / "b.sqlite")
    ) == _strip_wall(straight)


class _SlowDrafter(DoctrineDrafter):
    """The doctrine drafter taking a known time per draft, so run time has a lower bound."""

    seconds = 0.5

    def __init__(self):
        self.drafts = 0

    def draft(self, *args):
        self.drafts += 1
        time.sleep(self.seconds)
        return super().draft(*args)


class _ConsoleClosed(Exception):
    pass


def test_a_resumed_run_counts_the_time_of_every_segment(tutorial, tmp_path):
    db = tmp_path / "ooda.sqlite"

    def closed(_plans):
        raise _ConsoleClosed

    drafter = _SlowDrafter()
    common = dict(seed=7, cycles=2, replications=2, checkpoint=db, drafter=drafter)
    with pytest.raises(_ConsoleClosed):
        run_campaign(tutorial, approver=closed, **common)  # cycle 0 drafted, then interrupted
    first_segment = drafter.drafts
    aar = run_campaign(tutorial, approver=lambda _plans: {}, **common)  # resumes; drafts cycle 1
    assert len(aar["cycles"]) == 2
    assert 0 < first_segment < drafter.drafts
    # Every draft of both segments is in the total: the first segment's work is not lost.
    assert aar["stats"]["wall_seconds"] >= drafter.drafts * _SlowDrafter.seconds


def test_an_empty_answer_approves_the_planner_choice(tutorial):
    calls = []
    aar = run_campaign(
        tutorial, seed=7, cycles=2, replications=2, approver=lambda p: calls.append(p) or {}
    )
    assert len(calls) == 2 and len(aar["cycles"]) == 2
    assert all(p["selected_by"] == "planner" for c in aar["cycles"] for p in c["plans"].values())


def test_cycle_records_place_every_surviving_unit(tutorial, short_run):
    places = {p.id for p in tutorial.places}
    last = short_run["cycles"][-1]
    units = last["situation"]["units"]
    assert all(u["place"] in places and u["strength"] > 0 for u in units.values())
    sides = {u.id: u.side for u in tutorial.units}
    for side, surviving in short_run["outcome"]["surviving_strength"].items():
        still_to_come = sum(
            u.strength for u in tutorial.units if u.side == side and u.arrives_hour > 24
        )
        on_map = sum(u["strength"] for uid, u in units.items() if sides[uid] == side)
        assert on_map == pytest.approx(surviving - still_to_come, abs=1e-2)
