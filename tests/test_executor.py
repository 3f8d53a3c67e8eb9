"""The one executor: serial, a local process pool and Dask give identical results, and local
workers never outlive their parent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim.montecarlo import replicate
from sim.runner import simulate
from sim.state import Tasking, initial_state

ROOT = Path(__file__).resolve().parents[1]
RED_ATTACK = [
    Tasking("r-mech-1", "attack", "johvi"),
    Tasking("r-tank-2", "attack", "narva"),
    Tasking("b-arm-3", "move", "johvi"),
]


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    )
    with cluster, distributed.Client(cluster) as client:
        yield client


def test_replications_are_identical_serial_on_two_workers_and_on_dask(tutorial, dask_client):
    state = initial_state(tutorial)
    plans = [RED_ATTACK, RED_ATTACK[:1]]
    kwargs = dict(side="blue", until=24.0, replications=5, seed=11)
    serial = replicate(tutorial, state, plans, **kwargs)
    assert len(serial) == 10 and len({r.own_loss for r in serial}) > 1  # runs really differ
    assert replicate(tutorial, state, plans, workers=2, **kwargs) == serial
    assert replicate(tutorial, state, plans, scheduler=dask_client, **kwargs) == serial


def test_simulate_is_identical_serial_on_two_workers_and_on_dask(tutorial, dask_client):
    def summary(runs):
        return [(r.replication, r.outcome, r.events, r.timeline, r.logistics) for r in runs]

    serial = summary(simulate(tutorial, replications=4, seed=3))
    assert len(serial) == 4 and len({r[2] for r in serial}) > 1
    assert summary(simulate(tutorial, replications=4, seed=3, workers=2)) == serial
    assert summary(simulate(tutorial, replications=4, seed=3, scheduler=dask_client)) == serial


_LONG_RUN = """
from scenarios import resolve_scenario
from sim.montecarlo import replicate
from sim.scenario import load_scenario
from sim.state import initial_state
scenario = load_scenario(resolve_scenario("tutorial"))
replicate(scenario, initial_state(scenario), [[]], side="blue", until=72.0,
          replications=100_000, seed=1, workers=2)
"""


def _children(pid: int) -> set[int]:
    """Pids of the live processes whose parent is `pid`, from the process table."""
    found = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the Linux process table")
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_killing_a_two_worker_run_leaves_no_worker_behind(how):
    parent = subprocess.Popen(
        [sys.executable, "-c", _LONG_RUN], cwd=ROOT, stderr=subprocess.DEVNULL, env=os.environ
    )
    try:
        deadline = time.monotonic() + 60
        workers: set[int] = set()
        while len(workers) < 2 and time.monotonic() < deadline and parent.poll() is None:
            time.sleep(0.1)
            workers = _children(parent.pid)
        assert len(workers) >= 2, "the run never started its two workers"
        parent.send_signal(how)
        parent.wait(timeout=30)
        deadline = time.monotonic() + 15
        while any(_alive(pid) for pid in workers) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in workers if _alive(pid)], f"orphans after {how.name}"
    finally:
        if parent.poll() is None:
            parent.kill()
