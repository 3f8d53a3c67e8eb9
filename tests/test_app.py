"""The Streamlit console through AppTest: stepping, pausing and continuing; the commander's
approve, pick, weights and revise; the picture toggle; reopening and resuming a saved run;
a bad upload; the downloads. Planning budgets are small (quick planning, 2 replications)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from planner.console_run import list_runs
from planner.record import load_aar
from scenarios import resolve_scenario

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"


@pytest.fixture(autouse=True)
def runs_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test keeps its console runs in its own folder, and starts in an empty working
    folder (the console also lists batches under ./out)."""
    folder = tmp_path / "runs"
    monkeypatch.setenv("OODA_FORGE_RUNS", str(folder))
    monkeypatch.chdir(tmp_path)
    return folder


def console() -> AppTest:
    """The console after its first run (a fresh browser session)."""
    return AppTest.from_file(str(APP), default_timeout=300).run()


def short_run(at: AppTest, cycles: int | None = 1, command: list[str] | None = None) -> AppTest:
    """The tutorial with small budgets; `command` the sides the user commands (default none).
    The caller clicks New run."""
    at.selectbox(key="scenario_name").select("tutorial")
    if cycles is not None:
        at.number_input(key="cycles").set_value(cycles)
    at.number_input(key="replications").set_value(2)
    at.toggle(key="quick").set_value(True)
    at.multiselect(key="command-tutorial").set_value(command or [])
    return at


def plain(text: str) -> str:
    """Markdown source without backslash escapes."""
    return text.replace("\\", "")


def the_run() -> Any:
    """The only saved run."""
    runs = list_runs()
    assert len(runs) == 1
    return runs[0]


def deck_layers(at: AppTest) -> dict[str, Any]:
    """The map's layers by id, as the page sent them."""
    charts = at.get("deck_gl_json_chart")
    assert charts, "no map"
    spec = json.loads(charts[0].proto.json)
    return {layer["id"]: layer for layer in spec["layers"]}


def test_page_loads_with_the_map_and_no_run() -> None:
    at = console()
    assert not at.exception
    assert at.title[0].value == "OODA Forge wargame console"
    layers = deck_layers(at)
    assert layers["units"]["data"], "no unit symbols"
    units = layers["units"]
    assert units["iconAtlas"].startswith("data:image/svg+xml")
    assert {row["sidc"] for row in units["data"]} == set(units["iconMapping"])
    assert layers["objectives"]["data"], "objectives not marked"
    assert not at.tabs and not list_runs()  # nothing has run yet


def test_step_pause_and_continue() -> None:
    at = short_run(console(), cycles=3)
    at.button(key="run").click().run()
    assert not at.exception and not at.error
    assert len(the_run().cycles) == 1  # New run plays one cycle, then waits
    at.button(key="pause").click().run()
    assert len(the_run().cycles) == 1  # paused: nothing more runs
    at.button(key="step-cycle").click().run()
    assert len(the_run().cycles) == 2
    at.button(key="step-phase").click().run()
    run = the_run()
    assert run.last_node == "observe" and len(run.cycles) == 2
    at.button(key="continue").click().run()
    run = the_run()
    assert run.finished and len(run.cycles) == 3
    assert not at.exception and not at.error
    verdict = plain(at.info[0].value)
    assert verdict.startswith("Stopped at H+36 (horizon H+72)"), verdict
    assert "Winner" not in " ".join(s.value for s in at.success)
    assert [t.label for t in at.tabs] == [
        "Decisions",
        "Synchronisation",
        "Force strength",
        "After-action report",
        "Downloads",
    ]
    # The timeline and the map follow the newest cycle.
    assert any(plain(m.value).startswith("**Map at H+36**") for m in at.markdown)
    # Moving the timeline redraws the map at that hour and runs nothing.
    saved = (run.path / "run.json").stat().st_mtime_ns
    timeline = next(s for s in at.select_slider if s.label == "Timeline")
    timeline.set_value(0).run()
    assert any(plain(m.value).startswith("**Map at H+12**") for m in at.markdown)
    timeline = next(s for s in at.select_slider if s.label == "Timeline")
    timeline.set_value(-1).run()
    assert any(plain(m.value).startswith("**Map at H+0**") for m in at.markdown)
    assert (run.path / "run.json").stat().st_mtime_ns == saved


def test_commander_approve_pick_weights_and_revise() -> None:
    at = short_run(console(), cycles=2, command=["blue"])
    at.button(key="run").click().run()
    assert any(s.value.startswith("Cycle 0 (H+0): your decision") for s in at.subheader)
    assert at.dataframe, "no decision matrix at the pause"
    matrix = at.dataframe[0].value
    assert {"COA", "p(success)", "Own losses", "Utility", "Status"} <= set(matrix.columns)
    assert (matrix["★"] == "★").sum() == 1
    kind = next(r for r in at.radio if (r.key or "").startswith("kind-"))
    kind.set_value("pick").run()
    choice = next(r for r in at.radio if (r.key or "").startswith("choice-"))
    picked = choice.options[-1]
    choice.set_value(picked)
    at.button(key="approve-0").click().run()
    assert len(the_run().cycles) == 1 and not the_run().pending  # the decided cycle was acted
    at.button(key="step-cycle").click().run()
    assert any(s.value.startswith("Cycle 1 (H+12): your decision") for s in at.subheader)

    kind = next(r for r in at.radio if (r.key or "").startswith("kind-"))
    kind.set_value("weights").run()
    weight = next(n for n in at.number_input if (n.key or "").endswith("-p_success"))
    weight.set_value(0.0)
    at.button(key="approve-1").click().run()
    # The matrix is recomputed and shown again under the new weights.
    assert any(s.value.startswith("Cycle 1 (H+12): your decision") for s in at.subheader)
    assert any("p success 0.00" in plain(m.value) for m in at.markdown)

    kind = next(r for r in at.radio if (r.key or "").startswith("kind-"))
    kind.set_value("revise").run()
    at.text_area[0].set_value("Keep the reserve out of Narva.")
    at.button(key="approve-1").click().run()
    assert not at.exception and not at.error
    if any(s.value.startswith("Cycle 1") for s in at.subheader):  # revised plan: approve it
        kind = next(r for r in at.radio if (r.key or "").startswith("kind-"))
        kind.set_value("approve").run()
        at.button(key="approve-1").click().run()
    run = the_run()
    assert run.finished
    aar = load_aar(run.path / "aar.json")
    first = aar.cycles[0].plans["blue"]
    assert first.selected_coa == picked and first.selected_by == "commander"
    commands = getattr(aar.cycles[1], "commands", None) or []
    kinds = [c["decision"]["kind"] for c in commands]
    assert "weights" in kinds and "revise" in kinds, kinds
    assert any("Narva" in json.dumps(c) for c in commands)
    assert aar.cycles[1].plans["blue"].weights["p_success"] == pytest.approx(0.0)


def test_picture_toggle_shows_only_what_a_side_has_seen() -> None:
    at = short_run(console(), cycles=1)
    at.button(key="run").click().run()
    truth = deck_layers(at)["units"]["data"]
    sides = {row["side"] for row in truth}
    assert sides == {"blue", "red"}
    at.selectbox(key="picture").select("blue").run()
    assert not at.exception
    assert any("Blue" in m.value and "picture" in m.value for m in at.markdown)
    seen = deck_layers(at)["units"]["data"]
    run = the_run()
    reported = run.pictures["0"]["blue"]
    own = [row for row in seen if row["side"] == "blue"]
    enemy = [row for row in seen if row["side"] == "red"]
    assert len(own) == sum(1 for row in truth if row["side"] == "blue")
    assert len(enemy) == len(reported)
    assert len(enemy) <= sum(1 for row in truth if row["side"] == "red")
    # Seen from Blue, Red's units are hostile (identity 6) and Blue's friends (3).
    assert all(row["sidc"][3] == "6" for row in enemy) and all(row["sidc"][3] == "3" for row in own)
    assert all("Reported:" in row["tooltip"] for row in enemy)


def test_reopening_a_finished_run_and_resuming_a_paused_one() -> None:
    at = short_run(console(), cycles=1)
    at.button(key="run").click().run()
    finished = the_run()
    assert finished.finished
    at = short_run(console(), cycles=1, command=["blue"])
    at.button(key="run").click().run()
    paused = next(r for r in list_runs() if not r.finished)
    assert paused.pending is not None
    # A reload: a new session knows nothing of either run until one is opened.
    at = console()
    assert not at.tabs
    at.selectbox(key="saved_run").select(finished.folder)
    at.button(key="open-run").click().run()
    assert any(plain(x.value).startswith("Stopped at H+12") for x in at.info)
    assert "Downloads" in [t.label for t in at.tabs]
    at.selectbox(key="saved_run").select(paused.folder)
    at.button(key="open-run").click().run()
    assert any(s.value.startswith("Cycle 0 (H+0): your decision") for s in at.subheader)
    at.button(key="approve-0").click().run()
    assert not at.exception and not at.error
    assert next(r for r in list_runs() if r.folder == paused.folder).finished


def test_downloads_are_rendered_once_and_stable_across_reruns() -> None:
    at = short_run(console(), cycles=1)
    at.button(key="run").click().run()
    buttons = at.get("download_button")
    assert [b.proto.label for b in buttons] == ["aar.json", "aar.md", "aar.html", "aar.pdf"]
    urls = [b.proto.url for b in buttons]
    assert len(set(urls)) == 4
    run = the_run()
    pdf = run.path / "aar.pdf"
    assert pdf.read_bytes().startswith(b"%PDF")
    stamp = pdf.stat().st_mtime_ns
    at.run()
    at.run()
    # The same bytes, the same media URLs: nothing re-rendered or re-registered.
    assert [b.proto.url for b in at.get("download_button")] == urls
    assert pdf.stat().st_mtime_ns == stamp
    assert load_aar(run.path / "aar.json").stats.cycles == 1


def test_batch_results_are_browsable(runs_folder: Path) -> None:
    batch = runs_folder / "forces"
    batch.mkdir(parents=True)
    (batch / "runs.csv").write_text("run,winner,end_hour\n0,blue,72\n1,red,60\n", "utf-8")
    (batch / "batch_report.html").write_text("<html>report</html>", "utf-8")
    at = console()
    assert at.selectbox(key="batch_pick").value == batch
    at.button(key="show-batch").click().run()
    assert not at.exception
    table = next(d for d in at.dataframe if list(d.value.columns) == ["run", "winner", "end_hour"])
    assert list(table.value["winner"]) == ["blue", "red"]
    assert [b.proto.label for b in at.get("download_button")] == ["batch_report.html"]


def test_invalid_upload_names_the_field() -> None:
    text = resolve_scenario("tutorial").read_text(encoding="utf-8")
    broken = text.replace("strength: 100,", "strength: -5,", 1).replace(
        "  cycle_hours: 12", "  cycle_hours: 12\n  cycle_minutes: 5"
    )
    assert broken != text
    at = console()
    at.radio(key="source").set_value("Upload YAML").run()
    at.file_uploader(key="upload").set_value(("bad.yaml", broken.encode(), "application/yaml"))
    at.run()
    assert not at.exception
    message = plain(at.error[0].value)
    assert "bad.yaml" in message
    assert "units[0].strength" in message and "greater than 0" in message
    assert "settings.cycle_minutes" in message and "unknown field" in message
    assert not at.get("deck_gl_json_chart")


@pytest.mark.parametrize(
    ("widgets", "expected"),
    [
        ({"doctrine_dir": "/no/such/doctrine/folder"}, "Doctrine folder not found"),
        ({"model": "no-such-provider:model"}, "Cannot use chat model"),
    ],
)
def test_bad_planner_inputs_are_messages_not_tracebacks(
    widgets: dict[str, str], expected: str
) -> None:
    at = short_run(console())
    if "model" in widgets:
        at.radio(key="planner").set_value("chat model").run()
    for key, value in widgets.items():
        at.text_input(key=key).set_value(value)
    at.button(key="run").click().run()
    assert not at.exception
    assert any(expected in e.value for e in at.error)
    assert not list_runs()


def test_wargame_console_serves_the_page_from_any_folder(tmp_path: Path) -> None:
    import os
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    wargame = Path(sys.executable).with_name("wargame")
    assert wargame.exists()
    env = {**os.environ, "STREAMLIT_SERVER_HEADLESS": "true"}
    server = subprocess.Popen(
        [str(wargame), "console", "--port", str(port), "--runs", str(tmp_path / "runs")],
        cwd=tmp_path,  # not the repository: the installed page is found
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline, page = time.monotonic() + 60, b""
        while time.monotonic() < deadline and not page:
            assert server.poll() is None, "wargame console exited"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health") as reply:
                    page = reply.read()
            except OSError:
                time.sleep(0.3)
        assert page == b"ok"
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
