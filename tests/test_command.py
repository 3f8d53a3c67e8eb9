"""The commander and the stepping Campaign API: decisions, commanded sides, checkpoints."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from planner.aar import render_markdown
from planner.campaign import Campaign, CheckpointError, run_campaign
from planner.command import (
    Approve,
    PendingDecision,
    Pick,
    Revise,
    Reweight,
    commanded_sides,
    normalise_weights,
    parse_decision,
    rescore,
)
from sim.scenario import Scenario

WARGAME = [sys.executable, "-m", "planner.cli"]
QUICK = {"cycles": 2, "replications": 2, "seed": 7}


def _strip(aar) -> dict:
    """An AAR as JSON without wall times (they differ between any two runs)."""
    data = aar.model_dump(mode="json") if hasattr(aar, "model_dump") else dict(aar)
    data["stats"].pop("wall_seconds")
    return data


def _without_commands(data: dict) -> dict:
    for cycle in data["cycles"]:
        cycle.pop("commands", None)
    return data


def _approve(pending: PendingDecision) -> Approve:
    return Approve(side=pending.side)


def _yaml(scenario: Scenario, path: Path) -> Path:
    path.write_text(yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False))
    return path


# --- decisions --------------------------------------------------------------------------


def test_text_decisions_parse_to_typed_records():
    assert parse_decision("blue", "") == Approve(side="blue")
    assert parse_decision("blue", "approve") == Approve(side="blue")
    assert parse_decision("blue", "pick blue-2") == Pick(side="blue", coa="blue-2")
    assert parse_decision("blue", "blue-2") == Pick(side="blue", coa="blue-2")
    assert parse_decision("blue", "weights p_success=2, attainment=1") == Reweight(
        side="blue", weights={"p_success": 2.0, "attainment": 1.0}
    )
    assert parse_decision("blue", "revise hold the bridge") == Revise(
        side="blue", guidance="hold the bridge"
    )
    for bad in ("pick", "weights p_success", "weights", "do something else"):
        with pytest.raises(ValueError):
            parse_decision("blue", bad)


def test_weights_are_checked_and_renormalised():
    assert normalise_weights({"p_success": 3, "own_survival": 1}) == {
        "p_success": 0.75,
        "own_survival": 0.25,
    }
    for bad, message in (
        ({"p_success": 1, "bogus": 1}, "unknown criteria bogus"),
        ({"p_success": -1, "attainment": 2}, "negative"),
        ({"p_success": 0.0}, "must not all be zero"),
        ({"p_success": float("nan")}, "not a number"),
    ):
        with pytest.raises(ValueError, match=message):
            normalise_weights(bad)


def test_commanded_sides(quick_tutorial):
    assert commanded_sides(quick_tutorial, None) == {"blue"}  # the first agent side
    assert commanded_sides(quick_tutorial, "blue,red") == {"blue", "red"}
    assert commanded_sides(quick_tutorial, "none") == frozenset()
    with pytest.raises(ValueError, match="blue, red"):
        commanded_sides(quick_tutorial, "green")


# --- the stepping API -------------------------------------------------------------------


@pytest.fixture(scope="module")
def straight(quick_tutorial):
    """The quick tutorial run straight, nobody commanded."""
    return _strip(run_campaign(quick_tutorial, **QUICK))


@pytest.mark.parametrize("until", ["phase", "cycle"])
def test_stepped_equals_the_straight_run(quick_tutorial, straight, until):
    with Campaign.start(quick_tutorial, command="none", **QUICK) as campaign:
        steps = []
        while not (status := campaign.step(until=until)).finished:
            steps.append(status.nodes)
            assert status.pause is None
        steps.append(status.nodes)
        aar = campaign.aar()
    cycle = ["observe", "staff:blue", "staff:red", "approve", "orders", "act"]
    if until == "phase":  # a stop after observe, the staffs, approve+orders, act
        assert steps[:4] == [cycle[:1], cycle[1:3], cycle[3:5], cycle[5:]]
        assert len(steps) == 4 * QUICK["cycles"]
    else:
        assert steps == [cycle] * QUICK["cycles"]
    assert aar.finished and _strip(aar) == straight


def test_approving_every_pause_equals_not_commanding(quick_tutorial, straight):
    seen: list[PendingDecision] = []

    def commander(pending: PendingDecision) -> Approve:
        seen.append(pending)
        return Approve(side=pending.side)

    aar = _strip(run_campaign(quick_tutorial, command="blue", commander=commander, **QUICK))
    assert [p.side for p in seen] == ["blue"] * QUICK["cycles"]
    kinds = [[c["decision"]["kind"] for c in cycle["commands"]] for cycle in aar["cycles"]]
    assert kinds == [["approve"]] * QUICK["cycles"]
    assert _without_commands(aar) == _without_commands(json.loads(json.dumps(straight)))


def test_only_commanded_sides_that_decide_this_step_pause(quick_tutorial):
    # Red decides every 24 h, Blue every 12 h: at H+12 only Blue decides.
    sides = [
        side.model_copy(update={"cycle_hours": 24.0}) if side.id == "red" else side
        for side in quick_tutorial.sides
    ]
    scenario = quick_tutorial.model_copy(update={"sides": sides})
    seen: list[tuple[float, str]] = []

    def commander(pending: PendingDecision) -> Approve:
        seen.append((pending.hour, pending.side))
        return Approve(side=pending.side)

    run_campaign(scenario, command="red", commander=commander, cycles=3, replications=2)
    assert seen == [(0.0, "red"), (24.0, "red")]
    seen.clear()
    run_campaign(scenario, command="blue,red", commander=commander, cycles=3, replications=2)
    assert seen == [(0.0, "blue"), (0.0, "red"), (12.0, "blue"), (24.0, "blue"), (24.0, "red")]


def test_pick_weights_and_revise_at_a_pause(quick_tutorial):
    with Campaign.start(quick_tutorial, command="blue", cycles=1, replications=2) as campaign:
        status = campaign.step(until="cycle")
        assert status.pause is not None and set(status.pause.sides) == {"blue"}
        pending = status.pause.sides["blue"]
        assert pending.valid == [row["coa"] for row in pending.matrix] and len(pending.valid) > 1
        assert pending.selected_coa in pending.valid
        with pytest.raises(ValueError, match="choose one of " + ", ".join(pending.valid)):
            campaign.decide(Pick(side="blue", coa="no-such-coa"))
        with pytest.raises(ValueError, match="does not await"):
            campaign.decide(Approve(side="red"))
        with pytest.raises(ValueError, match="negative"):
            campaign.decide(Reweight(side="blue", weights={"p_success": -1}))
        # New weights: asked again with the matrix recomputed under them.
        campaign.decide(Reweight(side="blue", weights={"enemy_loss": 2, "p_success": 2}))
        status = campaign.step(until="cycle")
        again = status.pause.sides["blue"]
        assert again.weights == {"enemy_loss": 0.5, "p_success": 0.5}
        best = max(
            (r for r in again.matrix if not r["eliminated"] and r["acceptable"]),
            key=lambda r: r["utility"],
        )
        assert again.selected_coa == best["coa"]
        # Revise: the staff reruns revision and comparison, then the commander is asked again.
        campaign.decide(Revise(side="blue", guidance="hold the bridge"))
        status = campaign.step(until="cycle")
        assert "staff:blue" in status.nodes and status.pause is not None
        revised = status.pause.sides["blue"]
        guidance = revised.notes.index("commander: revise (hold the bridge)")
        assert any(n.startswith("revision of") for n in revised.notes[guidance + 1 :])
        other = next(coa for coa in revised.valid if coa != revised.selected_coa)
        campaign.decide(Pick(side="blue", coa=other))
        status = campaign.step(until="cycle")
        assert status.finished
        aar = campaign.aar()
    plan = aar.cycles[0].plans["blue"]
    assert plan.selected_coa == other and plan.selected_by == "commander"
    assert plan.weights == {"enemy_loss": 0.5, "p_success": 0.5}
    commands = aar.cycles[0].commands  # type: ignore[attr-defined]
    assert [c["decision"]["kind"] for c in commands] == ["weights", "revise", "pick"]
    assert commands[1]["decision"]["guidance"] == "hold the bridge"
    assert aar.cycles[0].plans["red"].selected_by == "planner"
    assert f"- Commander: pick — picked {other}" in render_markdown(aar)


def test_rescoring_with_the_wargames_weights_reproduces_its_utilities(quick_tutorial):
    with Campaign.start(quick_tutorial, command="blue", cycles=1, replications=2) as campaign:
        pending = campaign.step(until="cycle").pause.sides["blue"]
    plan = {
        "coas": pending.coas,
        "matrix": pending.matrix,
        "selected_coa": pending.selected_coa,
        "weights": pending.weights,
    }
    limit = quick_tutorial.side("blue").mission.constraints.max_loss_fraction
    assert pending.matrix
    for weights in (pending.weights, {k: 3 * v for k, v in pending.weights.items()}):
        again = rescore(plan, normalise_weights(weights), limit)
        assert again["selected_coa"] == pending.selected_coa
        for old, new in zip(pending.matrix, again["matrix"], strict=True):
            assert new["utility"] == pytest.approx(old["utility"], abs=1e-5)


def test_aar_mid_run_is_marked_incomplete(quick_tutorial):
    with Campaign.start(quick_tutorial, command="none", **QUICK) as campaign:
        status = campaign.step(until="cycle")
        assert status.cycle == 1 and not status.finished
        aar = campaign.aar()
    horizon = quick_tutorial.settings.horizon_hours
    assert not aar.finished and aar.outcome.winner is None  # type: ignore[attr-defined]
    assert aar.stopped == f"stopped at H+{status.hour:g} (horizon H+{horizon:g})"  # type: ignore[attr-defined]
    assert len(aar.cycles) == 1
    assert f"; stopped at H+{status.hour:g} (horizon H+{horizon:g})" in render_markdown(aar)


# --- checkpoints ------------------------------------------------------------------------


_PAUSE_AND_DIE = """
import os, sys
sys.path.insert(0, {tests!r})
from conftest import fast_planning
from planner.aar import render_markdown
from planner.campaign import Campaign
from scenarios import resolve_scenario
from sim.scenario import load_scenario
scenario = fast_planning(load_scenario(resolve_scenario("tutorial")))
campaign = Campaign.start(scenario, command="blue", checkpoint={path!r}, **{quick!r})
status = campaign.step(until="cycle")
assert status.pause is not None, status
os._exit(0)  # no clean-up: as a process killed while the commander thinks
"""


def test_resume_after_a_restart_equals_the_straight_run(quick_tutorial, tmp_path):
    def commander(pending: PendingDecision) -> Approve | Pick:
        if pending.cycle == 0:
            return Pick(
                side="blue", coa=next(c for c in pending.valid if c != pending.selected_coa)
            )
        return Approve(side="blue")

    expected = _strip(run_campaign(quick_tutorial, command="blue", commander=commander, **QUICK))
    path = tmp_path / "deep" / "folder" / "run.sqlite"  # folders created
    code = _PAUSE_AND_DIE.format(tests=str(Path(__file__).parent), path=str(path), quick=QUICK)
    subprocess.run([sys.executable, "-c", code], check=True, timeout=600)
    assert path.is_file()
    with Campaign.resume(path) as campaign:  # scenario, seed, command come from the file
        assert campaign.started and not campaign.finished
        status = campaign.run_to_end(commander)
        assert status.finished
        assert _strip(campaign.aar()) == expected


def test_a_finished_checkpoint_is_not_played_again(quick_tutorial, tmp_path):
    path = tmp_path / "new" / "run.sqlite"
    first = _strip(run_campaign(quick_tutorial, checkpoint=path, **QUICK))
    assert len(first["cycles"]) == QUICK["cycles"]
    with Campaign.start(quick_tutorial, command="none", checkpoint=path, **QUICK) as campaign:
        assert campaign.finished
        assert campaign.step(until="end").nodes == []
        assert _strip(campaign.aar()) == first
    again = _strip(run_campaign(quick_tutorial, checkpoint=path, **QUICK))
    assert again == first  # not a second campaign appended (cycles and stats not doubled)
    with pytest.raises(CheckpointError, match="holds a run of tutorial with seed 7"):
        Campaign.start(quick_tutorial, seed=8, checkpoint=path)


def test_bad_checkpoints_are_one_line_errors(quick_tutorial, tmp_path):
    with pytest.raises(CheckpointError, match="is a folder"):
        Campaign.start(quick_tutorial, checkpoint=tmp_path)
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database\n" * 100)
    with pytest.raises(CheckpointError, match="not a database"):
        Campaign.start(quick_tutorial, checkpoint=junk)
    with pytest.raises(CheckpointError, match="no such file"):
        Campaign.resume(tmp_path / "missing.sqlite")


# --- the command line -------------------------------------------------------------------


def _wargame(*args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run(
        [*WARGAME, *args], input=stdin, capture_output=True, text=True, timeout=600
    )


def test_cli_commander_reads_decisions_from_stdin(quick_tutorial, tmp_path):
    scenario = _yaml(quick_tutorial, tmp_path / "quick.yaml")
    out = tmp_path / "out"
    args = ("run", str(scenario), "--cycles", "1", "--replications", "2", "--out", str(out))
    answers = "weights p_success=1,own_survival=1\nrevise hold the bridge\nbogus\nblue-1\n"
    result = _wargame(
        *args,
        "--record",
        "--command",
        "blue",
        "--checkpoint",
        str(tmp_path / "a/b.sqlite"),
        stdin=answers,
    )
    assert result.returncode == 0, result.stderr
    assert "unknown COA 'bogus'; choose one of blue-1" in result.stderr
    aar = json.loads((out / "aar.json").read_text())
    cycle = aar["cycles"][0]
    kinds = [c["decision"]["kind"] for c in cycle["commands"]]
    assert kinds == ["weights", "revise", "pick"]
    plan = cycle["plans"]["blue"]
    assert plan["weights"] == {"p_success": 0.5, "own_survival": 0.5}
    assert "commander: revise (hold the bridge)" in plan["notes"]
    assert plan["selected_coa"] == "blue-1"
    assert cycle["plans"]["red"]["selected_by"] == "planner"
    # Replay gives the recorded decisions again and reproduces the AAR.
    replayed = _wargame("replay", str(out))
    assert replayed.returncode == 0, replayed.stderr
    assert "reproduces" in replayed.stdout
    # The same checkpoint again: finished, said so, not played again.
    again = _wargame(*args, "--checkpoint", str(tmp_path / "a/b.sqlite"))
    assert (
        again.returncode == 0 and "finished" in again.stdout and "not played again" in again.stdout
    )
    assert len(json.loads((out / "aar.json").read_text())["cycles"]) == 1


def test_cli_approve_takes_the_default_and_bad_inputs_exit_2(quick_tutorial, tmp_path):
    scenario = _yaml(quick_tutorial, tmp_path / "quick.yaml")
    out = tmp_path / "out"
    args = ("run", str(scenario), "--cycles", "1", "--replications", "2", "--out", str(out))
    result = _wargame(*args, "--approve", stdin="\n")
    assert result.returncode == 0, result.stderr
    cycle = json.loads((out / "aar.json").read_text())["cycles"][0]
    assert [c["decision"] for c in cycle["commands"]] == [{"side": "blue", "kind": "approve"}]
    assert cycle["plans"]["blue"]["selected_by"] == "planner"
    junk = tmp_path / "junk.sqlite"
    junk.write_text("not a database\n" * 100)
    for bad, message in (
        (("--command", "green"), "--command: cannot command green"),
        (("--checkpoint", str(junk)), f"checkpoint {junk}: file is not a database"),
        (("--checkpoint", str(tmp_path)), "is a folder"),
        (("--command", "blue"), "no decision for blue: standard input closed"),
    ):
        failed = _wargame(*args, *bad)
        lines = failed.stderr.strip().splitlines()
        assert failed.returncode == 2 and message in lines[-1], failed.stderr
        assert "Traceback" not in failed.stderr
        if "--checkpoint" in bad or "green" in bad:  # before the campaign: the only line
            assert len(lines) == 1
