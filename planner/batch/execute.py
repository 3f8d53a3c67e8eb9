"""Running a batch: runs go to a local process pool or a Dask cluster, results into the store.

One code path serves both executors (`concurrent.futures`; Dask through
``Client.get_executor()``). At most a window of runs is in flight, so a run is handed out only
when a worker is about to be free. A run already in the store is skipped, which makes a batch
resumable: kill it (SIGTERM, SIGKILL, Ctrl-C) and start it again, and it runs only what is not
stored. A run that raises is stored as failed (its error kept) and the batch goes on.

A local worker that dies (killed, out of memory, a crash) breaks the pool and every run in
flight with it; those runs are retried one at a time in a fresh pool, so the run that killed
its worker is known, and it is stored as failed if its worker dies again. On Dask the scheduler
does the same (`allowed-failures`, set to 1 on a local cluster this module starts) and the run
comes back as failed once it gives up. Local workers exit by themselves when the batch process
is gone (a watchdog thread), so a killed batch leaves no workers behind.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.batch.records import RunJob, RunRecord
from planner.batch.spec import BatchPlan
from planner.batch.store import BatchStore

__all__ = ["BatchInterrupted", "BatchOutcome", "run_batch"]

Progress = Callable[[int, int, RunRecord], None]  # (stored so far, planned, the new record)


class BatchInterrupted(Exception):
    """The batch was asked to stop (SIGTERM or Ctrl-C); what finished is stored."""

    def __init__(self, signum: int):
        super().__init__(f"stopped by signal {signum}")
        self.signum = signum


@dataclass
class BatchOutcome:
    """What one `run_batch` call did."""

    planned: int
    skipped: int  # already in the store when the batch started
    done: int  # stored as done by this call
    failed: int  # stored as failed by this call


def run_batch(
    plan: BatchPlan,
    out_dir: str | Path,
    *,
    workers: int = 1,
    scheduler: str | None = None,
    executor: Executor | None = None,
    retry_failed: bool = False,
    progress: Progress | None = None,
) -> BatchOutcome:
    """Run every planned run not yet in the store of `out_dir`, storing each as it finishes.

    Args:
        workers: local worker processes (or, with ``scheduler="local"``, Dask workers).
        scheduler: a Dask scheduler address (``tcp://host:8786``), or ``"local"`` for a local
            Dask cluster of `workers` processes; None for a local process pool.
        executor: run on this executor instead (for embedding; `workers`/`scheduler` unused).
        retry_failed: run again the runs stored as failed.
        progress: called after each stored run.

    Raises:
        BatchInterrupted: on SIGTERM or Ctrl-C, after storing what had finished.
    """
    for leftover in Path(out_dir).glob("runs/*/.*.tmp"):
        leftover.unlink()  # a run killed while writing its AAR; it is run again
    with BatchStore(out_dir) as store:
        labels = {cell.key: cell.label for cell in plan.cells}
        name = plan.spec.name or Path(plan.source).stem
        store.plan(name, plan.source, plan.text, plan.runs, labels)
        finished = store.finished(include_failed=not retry_failed)
        todo = [run for run in plan.runs if run.run_key not in finished]
        outcome = BatchOutcome(len(plan.runs), len(plan.runs) - len(todo), 0, 0)
        stored = outcome.skipped

        def keep(record: RunRecord) -> None:
            nonlocal stored
            store.record(record)
            stored += 1
            if record.status == "done":
                outcome.done += 1
            else:
                outcome.failed += 1
            if progress is not None:
                progress(stored, outcome.planned, record)

        if not todo:
            return outcome
        with _stop_on_signals():
            if executor is not None:
                _drive(_Fixed(executor, max(1, workers)), todo, keep)
            elif scheduler is not None:
                with _dask(scheduler, workers) as pool:
                    _drive(pool, todo, keep)
            else:
                with _local(workers) as pool:
                    _drive(pool, todo, keep)
        return outcome


# --- executors -------------------------------------------------------------------------------


class _Fixed:
    """An executor given by the caller: never rebuilt."""

    def __init__(self, executor: Executor, window: int):
        self.executor = executor
        self.window = window

    def rebuild(self) -> None:
        raise RuntimeError("the executor broke; it cannot be rebuilt here")


class _LocalPool:
    """A process pool (forkserver: workers start from a clean, preloaded process) that is
    rebuilt after a worker died."""

    def __init__(self, workers: int):
        self.window = workers
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(["planner.batch.run"])
        # A flag in shared memory, read without a lock: a worker killed while reading it can
        # leave no lock held (an Event's set() would wait forever on a dead waiter).
        self.stop = self._context.RawValue("b", 0)
        self.executor = self._new()

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.window,
            mp_context=self._context,
            initializer=_watch_batch,
            initargs=(os.getpid(), self.stop),
        )

    def rebuild(self) -> None:
        # The broken pool's manager thread terminates its workers and then joins them, but a
        # worker it races with can miss the signal and wait for work forever (seen on CPython
        # 3.11 under load), so shutdown would hang: end every one of them here first.
        for process in list(self.executor._processes.values()):  # type: ignore[attr-defined]
            process.kill()
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.executor = self._new()

    def close(self, *, stopping: bool) -> None:
        if stopping:
            self.stop.value = 1  # running workers exit at once instead of finishing their run
        self.executor.shutdown(wait=True, cancel_futures=True)


@contextmanager
def _local(workers: int) -> Iterator[_LocalPool]:
    pool = _LocalPool(max(1, workers))
    stopping = True
    try:
        yield pool
        stopping = False
    finally:
        pool.close(stopping=stopping)


@contextmanager
def _dask(scheduler: str, workers: int) -> Iterator[_Fixed]:
    """An executor on a Dask cluster: the one at `scheduler`, or a local one."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler == "local":
        # A run whose worker dies is retried once, as in the local pool.
        with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
            cluster = LocalCluster(
                n_workers=max(1, workers),
                threads_per_worker=1,
                host="127.0.0.1",
                dashboard_address=None,
            )
        with cluster, Client(cluster) as client:
            yield _Fixed(client.get_executor(pure=False), _window(client))
        return
    with Client(scheduler, timeout="10s") as client:
        executor = client.get_executor(pure=False)
        try:
            yield _Fixed(executor, _window(client))
        finally:
            executor.shutdown(wait=False)


def _window(client: Any) -> int:
    threads = sum(client.nthreads().values())
    return max(1, 2 * threads)


def _watch_batch(batch_pid: int, stop: Any) -> None:
    """Pool initializer: a thread that ends this worker when the batch is told to stop or its
    process is gone (SIGKILL leaves no chance to clean up), so no orphan keeps running."""
    parent = os.getppid()

    def watch() -> None:
        while not stop.value:
            time.sleep(0.25)
            try:
                os.kill(batch_pid, 0)
            except ProcessLookupError:
                break
            if os.getppid() != parent:
                break
        os._exit(1)

    threading.Thread(target=watch, name="batch-watchdog", daemon=True).start()


def _execute(job: RunJob) -> RunRecord:
    """Run in a worker: the planner is imported there, never in the batch's main process."""
    from planner.batch.run import execute_run

    return execute_run(job)


# --- the loop --------------------------------------------------------------------------------


def _drive(pool: Any, todo: list[RunJob], keep: Callable[[RunRecord], None]) -> None:
    """Hand runs to the pool, at most `pool.window` at once, and keep each result."""
    queue = deque(todo)
    suspects: deque[RunJob] = deque()  # in flight when a worker died: retried one at a time
    deaths: dict[str, int] = {}
    in_flight: dict[Future, RunJob] = {}
    broken = False
    while queue or suspects or in_flight:
        if broken and not in_flight:
            pool.rebuild()
            broken = False
        if not broken:
            # Suspects go alone, so a worker dying again is known to be theirs.
            source = suspects if suspects else queue
            room = (0 if in_flight else 1) if suspects else pool.window - len(in_flight)
            while source and room > 0:
                try:
                    future = pool.executor.submit(_execute, source[0])
                except BrokenProcessPool:  # a worker died since the last results came in
                    broken = True
                    break
                in_flight[future] = source.popleft()
                room -= 1
        finished, _ = wait(in_flight, timeout=0.5, return_when=FIRST_COMPLETED)
        for future in finished:
            job = in_flight.pop(future)
            died = deaths.get(job.run_key, 0)
            try:
                record = future.result().model_copy(update={"attempts": died + 1})
            except BrokenProcessPool:
                broken = True
                deaths[job.run_key] = died + 1
                if died + 1 < 2:
                    suspects.append(job)
                    continue
                message = "the worker running it died twice (killed or crashed)"
                record = RunRecord.failed(job, message, attempts=2)
            except Exception as error:  # the executor failed, not the run (a cluster problem)
                message = f"worker failed: {type(error).__name__}: {error}"
                record = RunRecord.failed(job, message, attempts=died + 1)
            keep(record)


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGTERM raises `BatchInterrupted` in the main thread (Ctrl-C does too), so the batch
    stops cleanly between store transactions; elsewhere signals are left alone."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, _frame: Any) -> None:
        raise BatchInterrupted(signum)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    except KeyboardInterrupt:
        raise BatchInterrupted(signal.SIGINT) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
