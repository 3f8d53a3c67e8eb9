"""The Streamlit console: AppTest smoke, run, upload and approval tests; one real browser."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from streamlit.testing.v1 import AppTest

from scenarios import resolve_scenario

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def console() -> AppTest:
    """The console after its first run."""
    return AppTest.from_file(str(APP), default_timeout=120).run()


def short_run(at: AppTest, cycles: int = 1, replications: int = 2) -> AppTest:
    """Select the tutorial, shrink the budget; the caller clicks Run."""
    at.selectbox(key="scenario_name").select("tutorial")
    at.number_input(key="cycles").set_value(cycles)
    at.number_input(key="replications").set_value(replications)
    return at


def plain(text: str) -> str:
    """Markdown source without backslash escapes."""
    return text.replace("\\", "")


def test_page_loads_without_running_a_campaign() -> None:
    at = console()
    assert not at.exception
    assert at.title[0].value == "OODA Forge wargame console"
    assert at.get("deck_gl_json_chart"), "theater map missing"
    assert not at.dataframe and not at.tabs  # nothing has run yet
    assert at.selectbox(key="scenario_name").value == "tutorial"


def test_run_shows_decision_matrix_and_outcome() -> None:
    at = short_run(console())
    at.button(key="run").click().run()
    assert not at.exception and not at.error
    assert at.dataframe, "no decision matrix"
    matrix = at.dataframe[0].value
    assert {"coa", "p_success", "p_low", "p_high", "utility"} <= set(matrix.columns)
    assert (matrix["★"] == "★").sum() == 1
    verdict = [plain(e.value) for e in [*at.success, *at.warning]]
    assert any(v.startswith(("Winner:", "No winner")) for v in verdict)
    assert [t.label for t in at.tabs] == [
        "Decision matrices",
        "Force strength",
        "After-action report",
        "Downloads",
    ]
    assert at.status[0].label.startswith("Campaign complete: 1 cycle(s)")


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
    assert not at.dataframe


def test_human_approval_pauses_and_records_the_commanders_choice() -> None:
    at = short_run(console(), cycles=2)
    at.toggle(key="approval").set_value(True)
    at.button(key="run").click().run()
    assert not at.exception
    assert any(s.value.startswith("Cycle 0: approve") for s in at.subheader)
    choice = next(r for r in at.radio if (r.key or "").startswith("choice-") and r.value)
    other = next(option for option in choice.options if option != choice.value)
    choice.set_value(other)
    at.button(key="approve-0").click().run()
    assert any(s.value.startswith("Cycle 1: approve") for s in at.subheader)
    at.button(key="approve-1").click().run()
    assert not at.exception and not at.error
    lines = [plain(m.value) for m in at.markdown]
    assert any(f"selected `{other}` (commander)" in line for line in lines)


# --- real browser ----------------------------------------------------------------------------


def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    """Block until Streamlit answers its health check."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"streamlit exited with {server.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError("streamlit did not become healthy")


@pytest.mark.browser
def test_console_in_a_real_browser_stays_offline(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (apt-get install -y chromium)")
    port = free_port()
    env = {
        **os.environ,
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "OODA_FORGE_CACHE": str(tmp_path / "cache"),
        "PYTHONPATH": str(ROOT),
    }
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.headless",
        "true",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
    ]
    server = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    urls: list[str] = []
    try:
        wait_healthy(port, server)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page()
            page.on("request", lambda request: urls.append(request.url))
            page.goto(f"http://127.0.0.1:{port}/")
            heading = page.get_by_role("heading", name="OODA Forge wargame console")
            heading.wait_for(timeout=60_000)
            page.locator("canvas").first.wait_for(timeout=60_000)  # the deck.gl map drew
            page.wait_for_timeout(1_000)
            assert page.title() == "OODA Forge console"
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
    network = [u for u in urls if urlsplit(u).scheme in ("http", "https", "ws", "wss")]
    assert network, "no request recorded"
    foreign = [u for u in network if urlsplit(u).hostname != "127.0.0.1"]
    assert not foreign, f"requests left the machine: {foreign[:5]}"
