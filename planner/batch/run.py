"""The worker side of a batch: `execute_run` plays one run's campaign.

A run is a whole campaign of the OODA loop on one scenario (overrides applied) with one seed.
Its result depends only on those (and the campaign budget), never on the worker: every random
draw is keyed by the seed. A run that raises comes back as a failed record with its error, so
the batch goes on.
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path

from planner.aar import write_atomic
from planner.batch.records import RunJob, RunRecord
from planner.campaign import run_campaign

__all__ = ["execute_run"]


def execute_run(job: RunJob) -> RunRecord:
    """Play one run's campaign (in a worker); any exception becomes a failed record."""
    started = time.perf_counter()
    try:
        aar = run_campaign(
            job.scenario,
            seed=job.seed,
            cycles=job.cycles,
            replications=job.replications,
            workers=1,
        )
        path = None
        if job.aar_dir is not None:
            # Atomic: a run killed while writing leaves no half file (and no store row).
            path = str(write_atomic(Path(job.aar_dir) / "aar.json", aar.to_json()))
        return RunRecord.from_aar(job, aar, path)
    except Exception as error:  # recorded, not raised: the batch goes on
        trace = "".join(traceback.format_exception(error)[-3:])
        return RunRecord.failed(
            job, f"{type(error).__name__}: {error}\n{trace}", wall=time.perf_counter() - started
        )
