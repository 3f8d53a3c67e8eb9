"""The `wargame` command: exit codes, messages without tracebacks, files written."""

from __future__ import annotations

import csv
import json
import socket
import subprocess
import sys

import pytest

WARGAME = [sys.executable, "-m", "planner.cli"]


def _run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([*WARGAME, *args], capture_output=True, text=True, cwd=cwd, timeout=600)


def test_validate_good_and_bad(tmp_path):
    assert _run("validate", "tutorial").returncode == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nplaces:\n  - {id: a, lat: 95, lon: 0}\n")
    result = _run("validate", str(bad))
    assert result.returncode == 2
    assert f"{bad}:3: places[0].lat" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_run_on_missing_scenario_is_a_clean_error(tmp_path):
    result = _run("run", str(tmp_path / "nope.yaml"), "--out", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot read file" in result.stderr


def test_schema_is_json():
    schema = json.loads(_run("schema").stdout)
    assert "units" in schema["properties"]


def test_run_writes_the_aar(tmp_path):
    result = _run("run", "tutorial", "--cycles", "1", "--replications", "2", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    aar = json.loads((tmp_path / "aar.json").read_text())
    assert aar["scenario"]["id"] == "tutorial" and len(aar["cycles"]) == 1
    assert "After-action report" in (tmp_path / "aar.md").read_text()
    assert str(tmp_path / "aar.json") in result.stdout


@pytest.mark.parametrize(
    "parallel", [["--workers", "1"], ["--workers", "2"], ["--scheduler", "local", "--workers", "2"]]
)
def test_simulate_writes_timeline_and_is_worker_independent(tmp_path, parallel):
    out = tmp_path / "-".join(parallel)
    result = _run(
        "simulate", "tutorial", "--replications", "4", "--seed", "5", *parallel, "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((out / "timeline.csv").open()))
    assert {"hour", "unit", "side", "strength", "place"} <= set(rows[0])
    reference = tmp_path / "reference"
    if not reference.exists():
        _run("simulate", "tutorial", "--replications", "4", "--seed", "5", "--out", str(reference))
    assert (out / "replications.csv").read_text() == (reference / "replications.csv").read_text()


def test_doctrine_search_prints_passages():
    result = _run(
        "doctrine", "search", "force ratio needed to attack a prepared defense", "-k", "3"
    )
    assert result.returncode == 0, result.stderr
    assert "score" in result.stdout


def test_scenarios_lists_every_shipped_file_with_a_summary():
    result = _run("scenarios")
    assert result.returncode == 0
    for name in ("tutorial", "baltic_corps", "western_pacific", "iwo_jima"):
        assert name in result.stdout


def test_generate_writes_a_valid_scenario(tmp_path):
    target = tmp_path / "gen.yaml"
    result = _run(
        "generate", "--units", "40", "--places", "20", "--seed", "3", "--out", str(target)
    )
    assert result.returncode == 0, result.stderr
    assert _run("validate", str(target)).returncode == 0


def test_run_on_dask_decides_as_the_serial_run(tmp_path):
    plans = []
    for options in ([], ["--scheduler", "local", "--workers", "2"]):
        out = tmp_path / ("dask" if options else "serial")
        args = ("run", "tutorial", "--cycles", "1", "--replications", "3", "--out", str(out))
        result = _run(*args, *options)
        assert result.returncode == 0, result.stderr
        plans.append(json.loads((out / "aar.json").read_text())["cycles"][0]["plans"])
    assert plans[0] and plans[0] == plans[1]


def test_simulate_on_an_unreachable_scheduler_is_a_clean_error(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = _run(
        "simulate", "tutorial", "--scheduler", f"tcp://127.0.0.1:{port}", "--out", str(tmp_path)
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "cannot reach the Dask scheduler" in result.stderr


def test_run_takes_decision_weights_and_rejects_bad_ones(tmp_path):
    good = _run(
        "run",
        "tutorial",
        "--cycles",
        "1",
        "--replications",
        "3",
        "--out",
        str(tmp_path),
        "--weights",
        "p_success=2,attainment=1,own_survival=1",
    )
    assert good.returncode == 0, good.stderr
    aar = json.loads((tmp_path / "aar.json").read_text())
    weights = aar["cycles"][0]["plans"]["blue"]["weights"]
    assert weights == {"p_success": 0.5, "attainment": 0.25, "own_survival": 0.25}
    for bad in ("p_success=1,bogus=2", "p_success=x", "p_success=0"):
        result = _run("run", "tutorial", "--cycles", "1", "--weights", bad, "--out", str(tmp_path))
        assert result.returncode == 2 and "--weights" in result.stderr, bad
        assert "Traceback" not in result.stderr


def test_simulate_writes_battles_matching_the_battle_log(tmp_path):
    """battles.csv carries the engine's battle log: place, hours, roles, winner, losses and
    why the battle ended (a one-place theater: the battle runs to annihilation)."""
    import yaml

    from sim.engine import Simulation
    from sim.scenario import load_scenario
    from sim.state import initial_state
    from sim.theater import Theater

    path = tmp_path / "one.yaml"
    data = {
        "id": "one",
        "places": [{"id": "hill", "lat": 50, "lon": 10, "terrain": "forest", "control": "b"}],
        "sides": [{"id": "a"}, {"id": "b"}],
        "units": [
            {"id": "A", "side": "a", "type": "infantry", "strength": 900, "location": "hill"},
            {"id": "B", "side": "b", "type": "armor", "strength": 500, "location": "hill"},
        ],
        "settings": {"supply": False, "horizon_hours": 500},
    }
    path.write_text(yaml.safe_dump(data))
    result = _run("simulate", str(path), "--deterministic", "--out", str(tmp_path))
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader((tmp_path / "battles.csv").open()))
    scenario = load_scenario(path)
    world = initial_state(scenario)
    Simulation(scenario, Theater(scenario), world, seed=1, stochastic=False).run(500)
    assert world.battle_log and len(rows) == len(world.battle_log)
    for row, entry in zip(rows, world.battle_log, strict=True):
        assert row["place"] == entry["place"]
        assert float(row["start_hour"]) == pytest.approx(entry["start_hour"], abs=1e-4)
        assert float(row["end_hour"]) == pytest.approx(entry["end_hour"], abs=1e-4)
        assert (row["attacker"], row["defender"]) == ("a", entry["defender"])
        assert row["winner"] == entry["winner"]
        assert row["end_reason"] == entry["end_reason"] == "annihilation"
        for side in ("a", "b"):
            assert float(row[f"{side}_losses"]) == pytest.approx(entry["losses"][side], abs=1e-3)
    # The loser lost everything it brought; the winner's losses are what it is missing.
    loser = "a" if rows[0]["winner"] == "b" else "b"
    assert float(rows[0][f"{loser}_losses"]) == pytest.approx(900 if loser == "a" else 500)
