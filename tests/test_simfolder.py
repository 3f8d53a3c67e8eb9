"""`simulate`'s folder: replications streamed as they finish, a manifest, and `--resume` after
a real kill that neither loses nor repeats a replication."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from planner.rundir import read_manifest
from planner.simfolder import JOURNAL, ResumeError, simulate_to_folder
from scenarios import resolve_scenario
from sim.engine import EventBudgetExceeded
from sim.scenario import load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parents[1]
REPLICATIONS = 24
KILL_AFTER = 5

# A real process, killed with SIGKILL (no cleanup at all) right after its fifth replication
# reached the journal, while its two workers are still running others.
_KILLED_RUN = f"""
import os, signal, sys
from planner.simfolder import simulate_to_folder
from scenarios import resolve_scenario
from sim.scenario import load_scenario
rows = []
def on_row(row):
    rows.append(row)
    if len(rows) == {KILL_AFTER}:
        os.kill(os.getpid(), signal.SIGKILL)
simulate_to_folder(load_scenario(resolve_scenario("tutorial")), sys.argv[1],
    replications={REPLICATIONS}, seed=7, stochastic=True, workers=2, on_row=on_row)
"""


def _journal(folder: Path) -> list[int]:
    lines = (folder / JOURNAL).read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["replication"] for line in lines]


def _straight(tmp_path: Path) -> Path:
    folder = tmp_path / "straight"
    tutorial = load_scenario(resolve_scenario("tutorial"))
    simulate_to_folder(tutorial, folder, replications=REPLICATIONS, seed=7, stochastic=True)
    return folder


def test_resume_after_a_kill_loses_and_repeats_no_replication(tmp_path):
    folder = tmp_path / "killed"
    killed = subprocess.run(
        [sys.executable, "-c", _KILLED_RUN, str(folder)], cwd=ROOT, env=os.environ, check=False
    )
    assert killed.returncode == -9
    before = _journal(folder)
    assert len(before) == KILL_AFTER and len(set(before)) == KILL_AFTER
    manifest = read_manifest(folder)
    assert manifest is not None and manifest.status == "running"  # it never finished
    assert not (folder / "replications.csv").exists()

    tutorial = load_scenario(resolve_scenario("tutorial"))
    rows, already = simulate_to_folder(
        tutorial, folder, replications=REPLICATIONS, seed=7, stochastic=True, resume=True
    )
    assert already == KILL_AFTER
    after = _journal(folder)
    assert after[:KILL_AFTER] == before  # kept, not run again
    assert sorted(after) == list(range(REPLICATIONS))  # each once: none lost, none repeated
    assert [row.replication for row in rows] == list(range(REPLICATIONS))
    resumed = read_manifest(folder)
    assert resumed is not None and resumed.status == "finished"
    assert resumed.run_id == manifest.run_id and len(resumed.resumed) == 1
    straight = _straight(tmp_path)
    for name in ("replications.csv", "timeline.csv"):
        assert (folder / name).read_text() == (straight / name).read_text(), name


def test_a_line_cut_short_by_a_kill_is_dropped_and_run_again(tmp_path):
    straight = _straight(tmp_path)
    folder = tmp_path / "cut"
    folder.mkdir()
    (folder / "run.json").write_bytes((straight / "run.json").read_bytes())
    lines = (straight / JOURNAL).read_text(encoding="utf-8").splitlines(keepends=True)
    (folder / JOURNAL).write_text("".join(lines[:3]) + lines[3][:40], encoding="utf-8")
    tutorial = load_scenario(resolve_scenario("tutorial"))
    _, already = simulate_to_folder(
        tutorial, folder, replications=REPLICATIONS, seed=7, stochastic=True, resume=True
    )
    assert already == 3
    assert sorted(_journal(folder)) == list(range(REPLICATIONS))
    assert (folder / "replications.csv").read_text() == (straight / "replications.csv").read_text()


def test_resuming_another_simulation_is_refused(tmp_path):
    folder = _straight(tmp_path)
    tutorial = load_scenario(resolve_scenario("tutorial"))
    with pytest.raises(ResumeError, match="another run"):
        simulate_to_folder(
            tutorial, folder, replications=REPLICATIONS, seed=8, stochastic=True, resume=True
        )


def test_a_failed_run_leaves_no_older_run_s_files_looking_current(tmp_path):
    folder = _straight(tmp_path)
    first = read_manifest(folder)
    assert first is not None and first.status == "finished"
    data = yaml.safe_load(resolve_scenario("tutorial").read_text(encoding="utf-8"))
    data["settings"].update(max_events=1000, horizon_hours=2000, scan_interval_hours=0.1)
    runaway = parse_scenario(yaml.safe_dump(data))
    with pytest.raises(EventBudgetExceeded):
        simulate_to_folder(runaway, folder, replications=2, seed=1, stochastic=True)
    manifest = read_manifest(folder)
    assert manifest is not None and manifest.run_id != first.run_id
    assert manifest.status == "failed" and "EventBudgetExceeded" in (manifest.error or "")
    assert not [name for name in ("replications.csv", "timeline.csv") if (folder / name).exists()]
    assert not list(folder.glob(".*.tmp"))


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the Linux process table")
def test_wargame_simulate_killed_then_resumed_keeps_every_replication_once(tmp_path):
    folder = tmp_path / "out"
    args = [sys.executable, "-m", "planner.cli", "simulate", "baltic_corps"]
    args += ["--replications", "8", "--seed", "3", "--out", str(folder)]
    parent = subprocess.Popen([*args, "--workers", "2"], cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        workers: set[int] = set()
        while time.monotonic() < deadline and parent.poll() is None:
            workers |= _children(parent.pid)
            journal = folder / JOURNAL
            if journal.exists() and journal.read_text().count("\n") >= 2:
                break
            time.sleep(0.2)
        assert parent.poll() is None, "the run ended before it could be killed"
        parent.kill()
        parent.wait(timeout=30)
    finally:
        if parent.poll() is None:
            parent.kill()
    assert workers, "the run never started its workers"
    deadline = time.monotonic() + 15
    while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [pid for pid in workers if _alive(pid)], "workers outlived the killed run"
    before = _journal(folder)
    assert 2 <= len(before) < 8
    resumed = subprocess.run([*args, "--resume"], cwd=ROOT, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"({len(before)} kept from the killed run)" in resumed.stdout
    after = _journal(folder)
    assert after[: len(before)] == before
    assert sorted(after) == list(range(8))
    manifest = read_manifest(folder)
    assert manifest is not None and manifest.status == "finished" and manifest.resumed
