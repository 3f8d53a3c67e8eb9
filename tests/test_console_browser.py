"""The console in a real browser: Playwright drives Debian's Chromium against Streamlit on
127.0.0.1 through a whole tutorial campaign by steps and one Baltic corps cycle.

Asserts no console error, no failed request and no request off 127.0.0.1; unit symbols of
both affiliations, COA arrows and objective rings drawn inside the map (pixels of their
colours in the map's screenshot), every objective inside the map's frame (the view the
console fits, projected onto the canvas as rendered); the four reports downloaded in quick
succession. Screenshots go to out/screenshots. Skips only when /usr/bin/chromium is absent.
"""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from planner.console_map import MAP_HEIGHT, MAP_WIDTH, project, theater_view
from scenarios import resolve_scenario
from sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[1]
APP = ROOT / "app.py"
SHOTS = ROOT / "out" / "screenshots"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: milsymbol's fill colours: friend (light blue) and hostile (salmon) frames.
FRIEND_FILL = (128, 224, 255)
HOSTILE_FILL = (255, 128, 128)

pytestmark = pytest.mark.browser


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


def wait_idle(page, timeout: float = 120) -> None:
    """Wait until the app has stopped running (no running indicator for a second)."""
    running = page.locator(
        '[data-testid="stStatusWidgetRunningIcon"], [data-testid="stStatusWidgetRunningManIcon"]'
    )
    deadline = time.monotonic() + timeout
    quiet_since = None
    while time.monotonic() < deadline:
        if running.count() == 0:
            quiet_since = quiet_since or time.monotonic()
            if time.monotonic() - quiet_since > 1.2:
                return
        else:
            quiet_since = None
        page.wait_for_timeout(200)
    raise TimeoutError("the app kept running")


def colour_pixels(png: bytes, rgb: tuple[int, int, int], tolerance: int = 12) -> int:
    """How many pixels of a PNG are within `tolerance` of a colour."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(
        1
        for pixel in image.get_flattened_data()
        if all(abs(a - b) <= tolerance for a, b in zip(pixel, rgb, strict=True))
    )


def hex_rgb(color: str) -> tuple[int, int, int]:
    digits = color.lstrip("#")
    return int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16)


def map_canvas(page):
    """The deck.gl map's element."""
    return page.locator('[data-testid="stDeckGlJsonChart"]').first


def check_map(page, scenario_name: str, shot: str, arrows: bool) -> None:
    """Symbols of both sides, objective rings and (when `arrows`) COA arrows are drawn, and
    every objective falls inside the rendered map."""
    scenario = load_scenario(resolve_scenario(scenario_name))
    chart = map_canvas(page)
    chart.wait_for(timeout=60_000)
    page.wait_for_timeout(1_500)  # deck.gl draws after the element appears
    box = chart.bounding_box()
    assert box is not None
    assert box["width"] >= MAP_WIDTH - 2 and box["height"] >= MAP_HEIGHT - 2, box
    png = chart.screenshot(path=str(SHOTS / f"{shot}.png"))
    assert colour_pixels(png, FRIEND_FILL) > 50, "no friendly unit symbol drawn"
    assert colour_pixels(png, HOSTILE_FILL) > 50, "no hostile unit symbol drawn"
    view = theater_view(scenario)
    objectives = {o.place for side in scenario.sides for o in side.mission.objectives}
    assert objectives
    places = {p.id: p for p in scenario.places}
    for place in objectives:
        x, y = project(places[place].lon, places[place].lat, view, box["width"], box["height"])
        assert 0 <= x <= box["width"] and 0 <= y <= box["height"], (place, x, y)
    rings = {s.id: hex_rgb(s.color) for s in scenario.sides if s.mission.objectives}
    assert any(colour_pixels(png, c, 20) > 30 for c in rings.values()), "no objective ring"
    if arrows:
        # The paused side's COAs: the selected one in its colour, the others in grey.
        assert colour_pixels(png, (111, 111, 111), 10) > 150, "no COA arrow drawn"


def note(text: str) -> None:
    """Progress on stderr (seen with pytest -s)."""
    print(f"[browser {time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def click(page, name: str, timeout: float = 120) -> None:
    note(f"click {name}")
    page.get_by_role("button", name=name, exact=True).first.click()
    wait_idle(page, timeout)


def set_number(page, label: str, value: int) -> None:
    field = page.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Enter")
    wait_idle(page)


def quick_settings(page, cycles: int | None) -> None:
    """Small budgets: quick planning, 2 replications per COA, a cycle limit."""
    page.get_by_text("Quick planning", exact=True).click()
    wait_idle(page)
    set_number(page, "Most replications per COA", 2)
    if cycles is not None:
        set_number(page, "Cycles", cycles)


def test_console_campaign_in_a_real_browser(tmp_path: Path) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    pytest.importorskip("PIL", reason="Pillow is needed to read screenshots")
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is missing (make browser, or apt-get install chromium)")
    SHOTS.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {
        **os.environ,
        "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
        "OODA_FORGE_CACHE": os.environ.get("OODA_FORGE_CACHE", str(tmp_path / "cache")),
        "OODA_FORGE_RUNS": str(tmp_path / "runs"),
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
    log = (tmp_path / "streamlit.log").open("w")
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    urls: list[str] = []
    failed: list[str] = []
    errors: list[str] = []
    try:
        wait_healthy(port, server)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
            page.on("request", lambda request: urls.append(request.url))
            page.on("requestfailed", lambda request: failed.append(request.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_role("heading", name="OODA Forge wargame console").wait_for(timeout=60_000)
            wait_idle(page)
            assert page.title() == "OODA Forge console"

            # The tutorial, by steps, commanded by nobody: phase, phase, cycle, then continue.
            quick_settings(page, cycles=None)
            page.get_by_test_id("stMultiSelect").locator("input").click()
            page.keyboard.press("Backspace")  # no side commanded
            page.keyboard.press("Escape")
            wait_idle(page)
            click(page, "New run")
            page.get_by_text("1 cycle(s) done").first.wait_for(timeout=120_000)
            click(page, "Step phase")
            page.get_by_text("last step: observe").first.wait_for(timeout=60_000)
            click(page, "Step phase")
            page.get_by_text("last step: staff").first.wait_for(timeout=60_000)
            click(page, "Step cycle")
            page.get_by_text("2 cycle(s) done").first.wait_for(timeout=60_000)
            check_map(page, "tutorial", "tutorial-stepped", arrows=False)
            click(page, "Continue", timeout=300)  # the rest of the campaign
            page.get_by_role("tab", name="Downloads").wait_for(timeout=180_000)
            page.get_by_text("Stopped at").or_(page.get_by_text("Winner:")).or_(
                page.get_by_text("No winner")
            ).first.wait_for(timeout=10_000)
            page.get_by_text("— finished;").first.wait_for(timeout=10_000)
            check_map(page, "tutorial", "tutorial-end", arrows=False)
            page.screenshot(path=str(SHOTS / "tutorial-end-page.png"), full_page=True)

            # All four reports in quick succession.
            page.get_by_role("tab", name="Downloads").click()
            page.wait_for_timeout(500)
            saved = {}
            for name in ("aar.json", "aar.md", "aar.html", "aar.pdf"):
                with page.expect_download(timeout=30_000) as download:
                    page.get_by_role("button", name=name).click()
                path = tmp_path / download.value.suggested_filename
                download.value.save_as(path)
                saved[name] = path.read_bytes()
            assert saved["aar.pdf"].startswith(b"%PDF")
            assert saved["aar.json"].lstrip().startswith(b"{")
            assert b"<html" in saved["aar.html"].lower()
            assert saved["aar.md"].startswith(b"#")
            page.screenshot(path=str(SHOTS / "tutorial-downloads.png"), full_page=True)

            # One Baltic corps cycle.
            click(page, "Close run")
            page.get_by_test_id("stSelectbox").first.click()
            page.get_by_role("option", name="baltic_corps").click()
            wait_idle(page)
            quick_settings(page, cycles=1)
            click(page, "New run")
            page.get_by_text("your decision").first.wait_for(timeout=150_000)
            check_map(page, "baltic_corps", "baltic-decision", arrows=True)
            click(page, "Submit decision")
            page.get_by_text("Stopped at").first.wait_for(timeout=150_000)
            page.screenshot(path=str(SHOTS / "baltic-end.png"), full_page=True)
            browser.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
    network = [u for u in urls if urlsplit(u).scheme in ("http", "https", "ws", "wss")]
    assert network, "no request recorded"
    foreign = [u for u in network if urlsplit(u).hostname != "127.0.0.1"]
    assert not foreign, f"requests left the machine: {foreign[:5]}"
    assert not failed, f"failed requests: {failed[:5]}"
    assert not errors, f"console errors: {errors[:5]}"
