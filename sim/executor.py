"""One executor for batches of replications: this process, a local process pool, or Dask.

`run_chunks(work, job, tasks)` applies ``work(job, chunk)`` to chunks of `tasks` and returns
the results in task order, so serial, pooled and Dask runs give the same list. A replication of
a small scenario takes milliseconds, so per-task overhead would eat the gain of parallel runs:
the job (scenario, state, plans) reaches each worker once (the pool initializer locally, one
broadcast `scatter` on Dask), and tasks go out in a few chunks per worker, dealt round-robin so
that each chunk holds a share of every plan. Chunks are submitted
through the `concurrent.futures` interface either way (`distributed.Client.get_executor()` on
Dask), which is what makes it one code path.

Local workers exit when their parent dies, however it dies (SIGTERM, SIGINT, SIGKILL): on Linux
the kernel signals them (``prctl(PR_SET_PDEATHSIG)``); everywhere a daemon thread also watches
the parent's pid.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

__all__ = ["Scheduler", "dask_client", "iter_chunks", "run_chunks"]

JobT = TypeVar("JobT")
TaskT = TypeVar("TaskT")
ResultT = TypeVar("ResultT")

#: A Dask scheduler: an address such as ``tcp://10.0.0.5:8786``, ``"local"`` for a local
#: cluster of `workers` processes, or a connected `distributed.Client`.
Scheduler = Any
#: Chunks per worker: enough to even out unequal replications, few enough to keep overhead low.
CHUNKS_PER_WORKER = 3
_PR_SET_PDEATHSIG = 1
_PARENT_POLL_SECONDS = 0.5
_INSTALLED: dict[str, Any] = {}  # a local worker's job, set once by the pool initializer


class _InstalledJob:
    """Stands for the job in a local pool's chunks: each worker has it from its initializer."""


def run_chunks(
    work: Callable[[JobT, Sequence[TaskT]], list[ResultT]],
    job: JobT,
    tasks: Sequence[TaskT],
    *,
    workers: int = 1,
    scheduler: Scheduler | None = None,
) -> list[ResultT]:
    """``work(job, chunk)`` over chunks of `tasks`, results in task order.

    Args:
        work: a module-level function (picklable) running one chunk of tasks.
        workers: local processes (1: in this process); with `scheduler` "local", the size of
            the local Dask cluster.
        scheduler: run on Dask instead (see `Scheduler`).
    """
    tasks = list(tasks)
    results: list[Any] = [None] * len(tasks)
    for positions, chunk_results in iter_chunks(
        work, job, tasks, workers=workers, scheduler=scheduler
    ):
        for position, result in zip(positions, chunk_results, strict=True):
            results[position] = result
    return results


def iter_chunks(
    work: Callable[[JobT, Sequence[TaskT]], list[ResultT]],
    job: JobT,
    tasks: Sequence[TaskT],
    *,
    workers: int = 1,
    scheduler: Scheduler | None = None,
    chunk_size: int | None = None,
) -> Iterator[tuple[list[int], list[ResultT]]]:
    """(positions in `tasks`, their results) for each chunk, as soon as it finishes.

    Without `chunk_size` the tasks are dealt into a few chunks per worker (one chunk in this
    process); with it, into consecutive chunks of at most that many tasks, so a caller can
    keep every finished chunk (stream it to disk) while the rest still run.
    """
    tasks = list(tasks)
    if not tasks:
        return
    if chunk_size is not None:
        size = max(1, chunk_size)
        chunks = [list(range(i, min(i + size, len(tasks)))) for i in range(0, len(tasks), size)]
    else:
        chunks = [list(range(len(tasks)))]
    if scheduler is None and (workers <= 1 or len(tasks) < 2):
        for positions in chunks:
            yield positions, work(job, [tasks[i] for i in positions])
        return
    with _executor(job, workers, scheduler) as (executor, job_ref, slots):
        if chunk_size is None:
            # Dealt like cards, so that every chunk gets a share of every kind of task (the
            # plans of a batch can differ a lot in cost): the workers finish together.
            count = min(len(tasks), slots * CHUNKS_PER_WORKER)
            chunks = [list(range(i, len(tasks), count)) for i in range(count)]
        futures = {
            executor.submit(_run, work, job_ref, [tasks[i] for i in positions]): positions
            for positions in chunks
        }
        for future in as_completed(futures):
            yield futures[future], future.result()


def _run(work: Callable[[Any, Sequence[Any]], list[Any]], job: Any, chunk: Sequence[Any]):
    """One chunk on a worker; a local worker finds its job where the initializer put it."""
    if job is _InstalledJob:
        job = _INSTALLED["job"]
    return work(job, chunk)


@contextlib.contextmanager
def _executor(job: Any, workers: int, scheduler: Scheduler | None) -> Iterator[tuple]:
    """(executor, what to pass as the job, number of workers) for the run's duration."""
    if scheduler is None:
        pool = ProcessPoolExecutor(workers, initializer=_install, initargs=(job, os.getpid()))
        try:
            yield pool, _InstalledJob, workers
        except BaseException:  # an error or Ctrl-C: stop the workers now, not after their chunk
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        return
    with dask_client(scheduler, workers) as client:
        job_ref = client.scatter(job, broadcast=True)
        executor: Executor = client.get_executor(pure=False)
        slots = max(1, len(client.scheduler_info().get("workers", {})))
        yield executor, job_ref, slots


@contextlib.contextmanager
def dask_client(scheduler: Scheduler, workers: int = 1) -> Iterator[Any]:
    """A Dask client for `scheduler` (needs the `cluster` extra): an existing client as it is,
    ``"local"`` as a local cluster of `workers` processes on 127.0.0.1 for the duration, an
    address as a connection. An unreachable address raises OSError."""
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        yield scheduler
    elif scheduler == "local":
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
        )
        with cluster, Client(cluster) as client:
            yield client
    else:
        with Client(scheduler, timeout="10s") as client:
            yield client


def _install(job: Any, parent: int) -> None:
    """Pool initializer: keep the job, and exit when the parent process dies."""
    _INSTALLED["job"] = job
    _exit_with_parent(parent)


def _exit_with_parent(parent: int) -> None:
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="watch-parent", daemon=True).start()
