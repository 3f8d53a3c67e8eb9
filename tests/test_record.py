"""The typed after-action record: its JSON Schema, reading files back (old, foreign, broken),
and the keys other parts of the planner add passing through untouched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from doctrine import default_index
from planner.aar import build_aar, render_markdown, write_aar
from planner.campaign import run_campaign
from planner.cli import app
from planner.record import AARError, AfterActionRecord, load_aar
from sim.scenario import Scenario
from sim.state import initial_state


def _wargame(*args: str):
    """`wargame ARGS` in this process; a traceback would surface as `result.exception`."""
    result = CliRunner().invoke(app, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


@pytest.fixture(scope="module")
def written(tutorial: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """aar.json (and .md, .geojson) of a one-cycle tutorial run."""
    folder = tmp_path_factory.mktemp("aar")
    write_aar(run_campaign(tutorial, seed=7, cycles=1, replications=2), folder, tutorial)
    return folder / "aar.json"


def test_schema_command_describes_the_written_file(written: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    result = _wargame("schema", "--aar")
    assert result.exit_code == 0, result.stderr
    schema = json.loads(result.stdout)
    assert {"cycles", "outcome", "sides", "assessment"} <= set(schema["properties"])
    jsonschema.validate(json.loads(written.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"aar_version": 2, "sides": []}, schema)


def test_written_file_reads_back_to_the_same_record(written: Path) -> None:
    record = load_aar(written)
    assert record.to_json() == written.read_text()
    assert record.cycles and record.cycles[0].plans["blue"].selected is not None


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not JSON"),
        ('{"scenario": {"id": "x"}}', "aar_version: Field required"),
        ("[1, 2]", "expected a JSON object"),
        ('{"type": "FeatureCollection", "features": []}', "not an after-action record"),
    ],
)
def test_report_on_a_broken_or_foreign_file_exits_2_with_one_line(
    tmp_path: Path, content: str, words: str
) -> None:
    path = tmp_path / "aar.json"
    path.write_text(content)
    result = _wargame("report", str(path))
    assert result.exit_code == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert str(path) in result.stderr and words in result.stderr


def test_report_with_an_unknown_format_exits_2(written: Path) -> None:
    result = _wargame("report", str(written), "--formats", "html,docx")
    assert result.exit_code == 2
    assert "unknown report format 'docx'" in result.stderr
    assert not (written.parent / "aar.html").exists()  # nothing half done


def test_report_renders_markdown_and_html(written: Path, tmp_path: Path) -> None:
    copy = tmp_path / "aar.json"
    copy.write_text(written.read_text())
    result = _wargame("report", str(copy), "--formats", "md,html")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "aar.md").read_text().startswith("# After-action report: Narva Gap")
    assert 'id="theater-map"' in (tmp_path / "aar.html").read_text()  # shipped scenario: map


def test_a_version_1_record_still_loads_and_renders(written: Path, tmp_path: Path) -> None:
    data = json.loads(written.read_text())
    data["aar_version"] = 1
    del data["assessment"]
    for side in data["sides"]:
        del side["objectives"], side["max_loss_fraction"]
    for cycle in data["cycles"]:
        del cycle["event_log"]
    old = tmp_path / "aar.json"
    old.write_text(json.dumps(data))
    record = load_aar(old)
    assert record.aar_version == 1 and record.assessment.findings == []
    assert "## Cycle 0" in render_markdown(record)


def test_keys_other_modules_add_pass_through_build_and_file(tutorial: Scenario) -> None:
    coa = {
        "id": "blue-1",
        "side": "blue",
        "name": "Hold",
        "concept": "hold every objective",
        "tasks": [{"unit": "b-inf-1", "action": "defend", "target": "johvi", "citations": []}],
        "scores": {},
        "sketch": [{"name": "shape", "efforts": ["main"]}],  # a key the record does not type
    }
    plan = {
        "coas": [coa],
        "selected_coa": "blue-1",
        "matrix": [],
        "notes": [],
        "staff_estimate": {"procedure": "KN", "pcs": 0.95},
    }
    world = initial_state(tutorial)
    world.hour = 12.0
    history = [
        {
            "cycle": 0,
            "start_hour": 0.0,
            "end_hour": 12.0,
            "analyses": {"blue": {"doctrine": []}},
            "plans": {"blue": plan},
            "situation": {"strength": {}, "control": {}, "units": {}},
            "events": 0,
            "orders": {"paragraph_3": "Blue defends."},
        }
    ]
    final = {"world": world.to_dict(), "history": history, "stats": {}}
    record = build_aar(tutorial, final, seed=1, planner="doctrine", index=default_index())
    again = AfterActionRecord.model_validate_json(record.to_json())
    saved_plan = again.cycles[0].plans["blue"]
    assert saved_plan.model_extra["staff_estimate"] == {"procedure": "KN", "pcs": 0.95}
    assert saved_plan.coas[0].model_extra["sketch"] == coa["sketch"]
    assert again.cycles[0].model_extra["orders"] == {"paragraph_3": "Blue defends."}
    assert saved_plan.coas[0].scores is None
    assert json.loads(record.to_json())["cycles"][0]["plans"]["blue"]["coas"][0]["scores"] == {}


def test_load_aar_names_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AARError, match="cannot read"):
        load_aar(tmp_path / "nope.json")
