"""Batches: spec validation with located errors, overrides, the store, kill and resume, failed
runs, a dying worker, Dask equal to the local pool, summaries and the batch report."""

from __future__ import annotations

import math
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from typer.testing import CliRunner

import planner.batch.run as batch_run
from planner.batch import (
    BatchInterrupted,
    BatchStore,
    OverrideError,
    SpecError,
    apply_overrides,
    load_spec,
    run_batch,
    summarize,
)
from planner.batch.store import PlannedRun
from planner.batch.summary import mean_estimate, share_estimate
from planner.cli import app
from planner.record import load_aar
from sim.scenario import Scenario

PAYLOAD = "<script>alert(1)</script>"
PLOTS = ("wins", "losses", "exchange")
RUNS = 6

#: RUNS short runs: 2 cells x 3 seeds, one planning cycle each.
SPEC = """\
name: scaling
scenarios: [tutorial]
seeds: {count: 3, first: 1}
overrides:
  scale.red: [0.8, 1.2]
campaign: {cycles: 1, replications: 2}
"""


def _write(folder: Path, text: str, name: str = "spec.yaml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


def _comparable(runs: list[PlannedRun]) -> list[dict]:
    """What a run's result is, without what legitimately differs (time, files, retries)."""
    return [r.model_dump(exclude={"wall_seconds", "aar_path", "attempts"}) for r in runs]


@pytest.fixture(scope="module")
def local_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SPEC run to the end on a local pool of two workers; returns its folder."""
    folder = tmp_path_factory.mktemp("local")
    plan = load_spec(_write(folder, SPEC), folder)
    outcome = run_batch(plan, folder, workers=2)
    assert (outcome.done, outcome.failed) == (RUNS, 0)
    return folder


# --- specs and overrides ---------------------------------------------------------------------


def test_a_bad_spec_names_file_line_and_field(tmp_path: Path) -> None:
    bad = _write(
        tmp_path,
        "scenarios: [tutorial]\n"
        "seeds: [1, 2]\n"
        "overrides:\n"
        "  sides.blue.tempo_hours: [6, 12]\n"
        "  settings.planning.coas:\n"
        "    - 2\n"
        "    - 99\n",
    )
    with pytest.raises(SpecError) as caught:
        load_spec(bad)
    problems = dict(caught.value.problems)
    assert f"{bad}:4: overrides.sides.blue.tempo_hours" in problems
    assert (
        "no field 'tempo_hours' in Side" in problems[f"{bad}:4: overrides.sides.blue.tempo_hours"]
    )
    where = f"{bad}:7: overrides.settings.planning.coas[1]"
    assert "less than or equal to 8" in problems[where]
    result = CliRunner().invoke(app, ["batch", str(bad), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and not (tmp_path / "out").exists()
    assert f"{bad}:4: overrides.sides.blue.tempo_hours: no field" in result.stderr


def test_shape_errors_are_located_too(tmp_path: Path) -> None:
    bad = _write(tmp_path, "scenarios: [tutorial]\nseeds: [1, 1]\ncampaign: {cycles: 0}\nx: 1\n")
    with pytest.raises(SpecError) as caught:
        load_spec(bad)
    where = {w.split(": ", 1)[1]: w for w, _ in caught.value.problems}
    assert where["seeds"].startswith(f"{bad}:2:")
    assert where["campaign.cycles"].startswith(f"{bad}:3:")
    assert where["x"].startswith(f"{bad}:4:")


def test_fixed_settings_reach_every_run_but_not_the_cell_labels(tmp_path: Path) -> None:
    fixed = SPEC + "fixed:\n  settings.planning.coas: 2\n  sides.blue.cycle_hours: 6\n"
    plan = load_spec(_write(tmp_path, fixed), tmp_path)
    assert len(plan.runs) == RUNS
    for run in plan.runs:
        assert run.scenario.settings.planning.coas == 2
        assert next(s for s in run.scenario.sides if s.id == "blue").cycle_hours == 6
    assert {cell.label for cell in plan.cells} == {
        "tutorial scale.red=0.8",
        "tutorial scale.red=1.2",
    }
    plain = load_spec(_write(tmp_path / "plain", SPEC), tmp_path / "plain")
    assert not {r.run_key for r in plan.runs} & {r.run_key for r in plain.runs}
    clash = _write(tmp_path / "clash", SPEC + "fixed:\n  scale.red: 1.0\n  sides.blue.speed: 2\n")
    with pytest.raises(SpecError) as caught:
        load_spec(clash)
    messages = {w.split(": ", 1)[1]: m for w, m in caught.value.problems}
    assert (
        "given in one place" in messages["fixed.scale.red"]
        or "one place" in messages["fixed.scale.red"]
    )
    assert "no field 'speed'" in messages["fixed.sides.blue.speed"]


def test_the_shipped_tempo_experiment_sweeps_both_cycles() -> None:
    spec = Path(__file__).parents[1] / "scenarios" / "batches" / "ooda_tempo.yaml"
    plan = load_spec(spec)
    cycles = {
        tuple(
            next(s for s in c.scenario.sides if s.id == side).cycle_hours
            for side in ("blue", "red")
        )
        for c in plan.cells
    }
    hours = (3, 6, 12, 24)
    assert cycles == {(blue, red) for blue in hours for red in hours}
    assert len(plan.runs) == len(plan.cells) * len(plan.spec.seed_list())
    assert all(run.scenario.settings.planning.revision_replications == 0 for run in plan.runs)


def test_overrides_set_fields_by_id_and_scale_one_side(tutorial: Scenario) -> None:
    changed = apply_overrides(
        tutorial,
        {"scale.red": 1.5, "units.b-inf-1.strength": 42, "settings.planning.coas": 2},
    )
    red = sum(u.strength for u in tutorial.units if u.side == "red")
    assert sum(u.strength for u in changed.units if u.side == "red") == pytest.approx(1.5 * red)
    assert next(u for u in changed.units if u.id == "b-inf-1").strength == 42
    assert changed.settings.planning.coas == 2
    blue = [u.strength for u in changed.units if u.side == "blue" and u.id != "b-inf-1"]
    assert blue == [u.strength for u in tutorial.units if u.side == "blue" and u.id != "b-inf-1"]
    assert apply_overrides(tutorial, {"scale.red": 1.0}) == tutorial
    with pytest.raises(OverrideError, match="ids: blue, red"):
        apply_overrides(tutorial, {"sides.green.name": "x"})


def test_run_keys_depend_on_the_scenario_and_seed_only(tmp_path: Path) -> None:
    first = load_spec(_write(tmp_path / "a", SPEC), tmp_path / "a")
    renamed = SPEC.replace("name: scaling", "name: other\ndescription: same runs")
    second = load_spec(_write(tmp_path / "b", renamed), tmp_path / "b")
    assert [r.run_key for r in first.runs] == [r.run_key for r in second.runs]
    assert len({r.run_key for r in first.runs}) == RUNS


# --- the store, kill and resume --------------------------------------------------------------


def _stored(folder: Path) -> int:
    try:
        with sqlite3.connect(folder / "batch.sqlite", timeout=5) as db:
            return db.execute("SELECT COUNT(*) FROM runs").fetchone()[0]
    except sqlite3.OperationalError:
        return 0  # not created yet


def _kill_after_new_run(batch: subprocess.Popen, out: Path, how: int) -> tuple[int, list]:
    """Send `how` once the batch has stored a run; returns how many runs were stored and the
    batch's child processes at that moment (its forkserver and workers)."""
    psutil = pytest.importorskip("psutil")
    deadline = time.monotonic() + 240
    while _stored(out) == 0:
        assert batch.poll() is None, batch.communicate()
        assert time.monotonic() < deadline, "the batch stored nothing"
        time.sleep(0.02)
    children = psutil.Process(batch.pid).children(recursive=True)
    batch.send_signal(how)
    batch.wait(timeout=60)
    return _stored(out), children


def test_a_killed_batch_resumes_with_every_run_stored_exactly_once(
    tmp_path: Path, local_batch: Path
) -> None:
    psutil = pytest.importorskip("psutil")
    out = tmp_path / "out"
    spec = _write(tmp_path, SPEC)
    command = [sys.executable, "-m", "planner.cli", "batch", str(spec), "--out", str(out)]
    batch = subprocess.Popen([*command, "--workers", "2"], stderr=subprocess.PIPE, text=True)
    stored, children = _kill_after_new_run(batch, out, signal.SIGKILL)
    assert batch.returncode == -signal.SIGKILL
    assert 1 <= stored < RUNS, "the kill did not land mid-batch"
    assert children  # the forkserver and the workers: none outlives the killed batch
    _, alive = psutil.wait_procs(children, timeout=20)
    assert not alive
    with sqlite3.connect(out / "batch.sqlite") as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    result = CliRunner().invoke(app, ["batch", str(spec), "--out", str(out), "--workers", "2"])
    assert result.exit_code == 0, result.stderr
    assert f"{stored} already stored, {RUNS - stored} done" in result.stdout
    assert "Summary by parameter cell" in result.stdout
    with BatchStore(out) as store:
        runs = store.results()
        keys = [r.run_key for r in runs]
        assert len(runs) == RUNS == len(set(keys)) == store.planned_count()
        assert all(r.status == "done" for r in runs)
        with BatchStore(local_batch) as reference:
            assert _comparable(runs) == _comparable(reference.results())
    for run in runs:
        assert load_aar(run.aar_path).seed == run.seed
    assert not list(out.glob("runs/*/.*.tmp"))
    assert all((out / "plots" / f"{p}.png").read_bytes()[:4] == b"\x89PNG" for p in PLOTS)


def test_sigterm_stops_the_batch_between_runs_and_it_resumes(tmp_path: Path) -> None:
    plan = load_spec(_write(tmp_path, SPEC), tmp_path)

    def terminate_after_first_run() -> None:
        while _stored(tmp_path) == 0:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=terminate_after_first_run, daemon=True).start()
    with pytest.raises(BatchInterrupted) as stop:
        run_batch(plan, tmp_path, workers=2)
    assert stop.value.signum == signal.SIGTERM
    stored = _stored(tmp_path)
    assert 1 <= stored < RUNS
    outcome = run_batch(plan, tmp_path, workers=2)
    assert (outcome.skipped, outcome.done) == (stored, RUNS - stored)
    with BatchStore(tmp_path) as store:
        assert len({r.run_key for r in store.results()}) == RUNS


def test_a_worker_that_dies_is_retried_and_the_run_counted_once(tmp_path: Path) -> None:
    psutil = pytest.importorskip("psutil")
    text = SPEC.replace("0.8, 1.2", "1.0")  # 3 runs
    plan = load_spec(_write(tmp_path, text), tmp_path)
    me = psutil.Process()
    seen: set[int] = set()
    finished = threading.Event()

    def kill_one_worker() -> None:
        """SIGKILL a pool worker (a child of the forkserver, a grandchild here) mid-run."""
        while not finished.is_set():
            for process in me.children(recursive=True):
                try:
                    is_worker = process.ppid() != me.pid
                except psutil.NoSuchProcess:
                    continue
                if is_worker and _stored(tmp_path) == 0:
                    process.kill()
                    seen.add(process.pid)
                    return
            time.sleep(0.01)

    killer = threading.Thread(target=kill_one_worker)
    killer.start()
    try:
        outcome = run_batch(plan, tmp_path, workers=2)
    finally:
        finished.set()
        killer.join()
    assert seen, "no worker was killed"
    with BatchStore(tmp_path) as store:
        runs = store.results()
    assert (outcome.done, outcome.failed) == (3, 0)
    assert len({r.run_key for r in runs}) == len(runs) == 3
    assert any(r.attempts == 2 for r in runs)  # the run(s) in flight when the worker died


def test_a_run_that_raises_is_stored_failed_and_the_batch_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (
        f"name: '{PAYLOAD}'\nscenarios: [tutorial]\nseeds: [1, 2, 3]\n"
        f"overrides:\n  sides.blue.name: ['{PAYLOAD}']\n"
        "campaign: {cycles: 1, replications: 2}\n"
    )
    plan = load_spec(_write(tmp_path, text), tmp_path)
    real = batch_run.run_campaign

    def failing_on_seed_2(scenario, *, seed, **options):
        if seed == 2:
            raise RuntimeError(f"engine fault {PAYLOAD}")
        return real(scenario, seed=seed, **options)

    monkeypatch.setattr(batch_run, "run_campaign", failing_on_seed_2)
    with ThreadPoolExecutor(1) as pool:
        outcome = run_batch(plan, tmp_path, executor=pool)
    assert (outcome.done, outcome.failed) == (2, 1)
    with BatchStore(tmp_path) as store:
        failed = [r for r in store.results() if r.status == "failed"]
    assert [r.seed for r in failed] == [2]
    assert failed[0].error.startswith(f"RuntimeError: engine fault {PAYLOAD}")
    result = CliRunner().invoke(app, ["batch-report", str(tmp_path), "--formats", "html"])
    assert result.exit_code == 0, result.stderr
    page = (tmp_path / "batch_report.html").read_text()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script" not in page
    assert 'id="failed"' in page
    monkeypatch.setattr(batch_run, "run_campaign", real)
    with ThreadPoolExecutor(1) as pool:
        again = run_batch(plan, tmp_path, executor=pool, retry_failed=True)
    assert (again.skipped, again.done) == (2, 1)
    with BatchStore(tmp_path) as store:
        runs = store.results()
    assert len(runs) == 3 and all(r.status == "done" for r in runs)


def test_dask_cluster_gives_the_local_pools_results(tmp_path: Path, local_batch: Path) -> None:
    distributed = pytest.importorskip("distributed")
    plan = load_spec(_write(tmp_path, SPEC), tmp_path)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        outcome = run_batch(plan, tmp_path, scheduler=cluster.scheduler_address)
    assert (outcome.done, outcome.failed) == (RUNS, 0)
    with BatchStore(tmp_path) as dask_store, BatchStore(local_batch) as local_store:
        assert _comparable(dask_store.results()) == _comparable(local_store.results())


# --- summaries and the report ----------------------------------------------------------------


def test_intervals_match_their_closed_forms() -> None:
    estimate = mean_estimate([1.0, 2.0, 3.0, 4.0])
    half = 3.182446 * math.sqrt(5 / 3) / 2  # t(0.975, 3) * s / sqrt(n)
    assert estimate.value == 2.5
    assert (estimate.low, estimate.high) == pytest.approx((2.5 - half, 2.5 + half), abs=1e-5)
    z = 1.959964
    centre, spread = (
        (0.8 + z * z / 20) / (1 + z * z / 10),
        z * math.sqrt(0.8 * 0.2 / 10 + z * z / 400) / (1 + z * z / 10),
    )
    share = share_estimate(8, 10)
    assert (share.low, share.high) == pytest.approx((centre - spread, centre + spread))
    assert mean_estimate([3.0]).low is None and share_estimate(0, 0).value is None


def test_summary_per_cell_counts_every_run_of_the_cell(local_batch: Path) -> None:
    with BatchStore(local_batch) as store:
        runs = store.results()
    cells = summarize(runs)
    assert [c.label for c in cells] == ["tutorial scale.red=0.8", "tutorial scale.red=1.2"]
    for cell in cells:
        mine = [r for r in runs if r.cell_key == cell.cell_key]
        assert cell.done == len(mine) == 3
        blue = next(s for s in cell.sides if s.side == "blue")
        wins = sum(r.winner == "blue" for r in mine)
        assert blue.wins.value == wins / 3
        losses = [next(s.loss_fraction for s in r.scores if s.side == "blue") for r in mine]
        assert blue.loss_fraction.value == pytest.approx(sum(losses) / 3)
    light, heavy = (next(s for s in c.sides if s.side == "blue") for c in cells)
    assert light.loss_fraction.value < heavy.loss_fraction.value  # a stronger Red costs Blue more


def test_plots_draw_a_cell_won_every_time() -> None:
    from planner.batch.records import SideScore
    from planner.batch.report import plot_pngs

    def run(seed: int, scale: float) -> PlannedRun:
        scores = [
            SideScore(
                side=side,
                initial_strength=100,
                surviving_strength=left,
                loss_fraction=lost,
                attainment=float(won),
                success=won,
                won=won,
            )
            for side, left, lost, won in (("blue", 80, 0.2, True), ("red", 40, 0.6, False))
        ]
        return PlannedRun(
            run_key=f"{scale}-{seed}",
            scenario="s",
            overrides={"scale.red": scale},
            seed=seed,
            status="done",
            winner="blue",
            exchange_ratio=3.0,
            scores=scores,
            run_index=seed,
            cell_key=str(scale),
            cell_label=f"s scale.red={scale}",
        )

    cells = summarize([run(seed, scale) for scale in (0.5, 1.0) for seed in range(10)])
    assert cells[0].sides[0].wins.high < 1.0  # Wilson's bound a rounding error below the share
    pngs = plot_pngs(cells, "scale.red")
    assert set(pngs) == set(PLOTS) and all(p[:4] == b"\x89PNG" for p in pngs.values())


def test_batch_report_pdf_and_exports(local_batch: Path) -> None:
    from pypdf import PdfReader

    result = CliRunner().invoke(app, ["report", str(local_batch)])  # a folder: the batch report
    assert result.exit_code == 0, result.stderr
    text = " ".join(
        page.extract_text() for page in PdfReader(local_batch / "batch_report.pdf").pages
    )
    text = " ".join(text.split())
    assert "Batch report: scaling" in text and "6 of 6 planned run(s) stored" in text
    assert "tutorial scale.red=0.8" in text and "tutorial scale.red=1.2" in text
    with BatchStore(local_batch) as store:
        paths = store.export()
    assert paths["csv"].read_text().count("\n") == RUNS + 1  # a header, then the runs
    if "parquet" in paths:
        import pandas as pd

        frame = pd.read_parquet(paths["parquet"])
        assert len(frame) == RUNS and "blue_loss_fraction" in frame.columns
