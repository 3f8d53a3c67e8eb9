"""Scripted batches of campaigns: specs that sweep scenarios x overrides x seeds, a resumable
SQLite store of results, per-cell summaries with 95 % intervals, and a batch report.

Typical use::

    from planner.batch import load_spec, run_batch
    plan = load_spec("sweep.yaml", out_dir="out/sweep")
    run_batch(plan, "out/sweep", workers=2)
"""

from planner.batch.execute import BatchInterrupted, BatchOutcome, run_batch
from planner.batch.overrides import OverrideError, apply_overrides
from planner.batch.spec import BatchPlan, BatchSpec, SpecError, load_spec, parse_spec
from planner.batch.store import BatchStore
from planner.batch.summary import CellSummary, summarize

__all__ = [
    "BatchInterrupted",
    "BatchOutcome",
    "BatchPlan",
    "BatchSpec",
    "BatchStore",
    "CellSummary",
    "OverrideError",
    "SpecError",
    "apply_overrides",
    "load_spec",
    "parse_spec",
    "run_batch",
    "summarize",
]
