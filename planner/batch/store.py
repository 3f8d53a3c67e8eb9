"""The batch store: an embedded SQLite file (``batch.sqlite``) that results stream into.

Tables:

- ``meta(key, value)``: the store version, the spec's name, source and text.
- ``planned(run_key, run_index, cell_key, cell_label, scenario, overrides, seed)``: the runs the
  current spec asks for, replaced whenever a batch starts (so a changed spec re-plans).
- ``runs(run_key, scenario, overrides, seed, status, attempts, winner, end_hour, cycles,
  replications, events, wall_seconds, exchange_ratio, scores, error, aar_path, finished_at)``:
  one row per finished run (``done`` or ``failed``); ``overrides`` and ``scores`` are JSON.

Only the batch's main process writes, one transaction per run, in WAL mode: a batch killed at
any moment leaves every committed run whole and nothing of the run in progress, which the next
start runs again. A run's key is the primary key, so no run is ever counted twice.
"""

from __future__ import annotations

import csv
import json
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from planner.batch.records import RunJob, RunRecord, SideScore

__all__ = ["STORE_FILE", "BatchStore", "PlannedRun"]

STORE_FILE = "batch.sqlite"
STORE_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS planned (
    run_key TEXT PRIMARY KEY,
    run_index INTEGER NOT NULL,
    cell_key TEXT NOT NULL,
    cell_label TEXT NOT NULL,
    scenario TEXT NOT NULL,
    overrides TEXT NOT NULL,
    seed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS runs (
    run_key TEXT PRIMARY KEY,
    scenario TEXT NOT NULL,
    overrides TEXT NOT NULL,
    seed INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('done', 'failed')),
    attempts INTEGER NOT NULL,
    winner TEXT,
    end_hour REAL,
    cycles INTEGER,
    replications INTEGER,
    events INTEGER,
    wall_seconds REAL NOT NULL,
    exchange_ratio REAL,
    scores TEXT NOT NULL,
    error TEXT,
    aar_path TEXT,
    finished_at REAL NOT NULL
);
"""

_RUN_COLUMNS = (
    "run_key",
    "scenario",
    "overrides",
    "seed",
    "status",
    "attempts",
    "winner",
    "end_hour",
    "cycles",
    "replications",
    "events",
    "wall_seconds",
    "exchange_ratio",
    "scores",
    "error",
    "aar_path",
)


class PlannedRun(RunRecord):
    """A stored run together with its place in the plan (cell and order)."""

    run_index: int
    cell_key: str
    cell_label: str


class BatchStore:
    """The SQLite store of one batch folder."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        self.path = self.folder / STORE_FILE
        self.folder.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    @classmethod
    def open_existing(cls, folder: str | Path) -> BatchStore:
        """The store of a folder a batch has written.

        Raises:
            FileNotFoundError: the folder holds no batch store.
        """
        if not (Path(folder) / STORE_FILE).is_file():
            raise FileNotFoundError(f"{folder}: no {STORE_FILE} (not a batch folder)")
        return cls(folder)

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def __enter__(self) -> BatchStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- writing ------------------------------------------------------------------------------

    def plan(self, name: str, source: str, text: str, runs: Iterable[RunJob], labels: dict) -> None:
        """Record the spec and the runs it asks for (replacing an earlier plan), atomically."""
        rows = [
            (
                r.run_key,
                r.run_index,
                r.cell_key,
                labels[r.cell_key],
                r.scenario_ref,
                json.dumps(r.overrides, sort_keys=True),
                r.seed,
            )
            for r in runs
        ]
        meta = {
            "store_version": str(STORE_VERSION),
            "spec_name": name,
            "spec_source": source,
            "spec_text": text,
        }
        with self._transaction():
            self._db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", meta.items())
            self._db.execute("DELETE FROM planned")
            self._db.executemany("INSERT INTO planned VALUES (?, ?, ?, ?, ?, ?, ?)", rows)

    def record(self, run: RunRecord) -> None:
        """Store a finished run in one transaction. A run already done is never replaced; a
        failed one is replaced by its retry."""
        values = run.model_dump()
        values["overrides"] = json.dumps(run.overrides, sort_keys=True)
        values["scores"] = json.dumps([s.model_dump() for s in run.scores])
        columns = ", ".join(_RUN_COLUMNS)
        marks = ", ".join("?" for _ in _RUN_COLUMNS)
        with self._transaction():
            self._db.execute(
                f"INSERT INTO runs ({columns}, finished_at) VALUES ({marks}, ?) "
                "ON CONFLICT(run_key) DO UPDATE SET "
                + ", ".join(f"{c} = excluded.{c}" for c in _RUN_COLUMNS[1:])
                + ", finished_at = excluded.finished_at WHERE runs.status = 'failed'",
                [values[c] for c in _RUN_COLUMNS] + [time.time()],
            )

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK if anything fails in between."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # --- reading ------------------------------------------------------------------------------

    def meta(self) -> dict[str, str]:
        """The store's metadata (spec name, source and text)."""
        return dict(self._db.execute("SELECT key, value FROM meta"))

    def finished(self, *, include_failed: bool = True) -> set[str]:
        """Keys of the runs already stored (done, and failed unless `include_failed` is off)."""
        query = "SELECT run_key FROM runs" + ("" if include_failed else " WHERE status = 'done'")
        return {key for (key,) in self._db.execute(query)}

    def planned_count(self) -> int:
        """How many runs the current plan has."""
        return self._db.execute("SELECT COUNT(*) FROM planned").fetchone()[0]

    def results(self) -> list[PlannedRun]:
        """The stored runs of the current plan, in plan order."""
        columns = ", ".join(f"r.{c}" for c in _RUN_COLUMNS)
        query = (
            f"SELECT {columns}, p.run_index, p.cell_key, p.cell_label FROM runs r "
            "JOIN planned p ON p.run_key = r.run_key ORDER BY p.run_index"
        )
        names = [*_RUN_COLUMNS, "run_index", "cell_key", "cell_label"]
        runs = []
        for row in self._db.execute(query):
            values: dict[str, Any] = dict(zip(names, row, strict=True))
            values["overrides"] = json.loads(values["overrides"])
            values["scores"] = [SideScore(**s) for s in json.loads(values["scores"])]
            runs.append(PlannedRun(**values))
        return runs

    # --- exports ------------------------------------------------------------------------------

    def export(self) -> dict[str, Path]:
        """Write runs.csv, and runs.parquet when pandas and pyarrow are installed: one flat
        row per run (``<side>_<score>`` columns); returns the paths written."""
        rows = [_flat(run) for run in self.results()]
        columns = list(dict.fromkeys(key for row in rows for key in row))
        paths = {"csv": self.folder / "runs.csv"}
        with paths["csv"].open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
        try:
            import pandas as pd
            import pyarrow  # noqa: F401  (the Parquet engine)
        except ImportError:
            return paths
        paths["parquet"] = self.folder / "runs.parquet"
        pd.DataFrame(rows, columns=columns).to_parquet(paths["parquet"], index=False)
        return paths


def _flat(run: PlannedRun) -> dict[str, Any]:
    row = run.model_dump(exclude={"scores", "overrides"})
    row["overrides"] = json.dumps(run.overrides, sort_keys=True)
    for path, value in run.overrides.items():
        number = isinstance(value, int | float) and not isinstance(value, bool)
        row[f"override:{path}"] = value if number else json.dumps(value)
    for score in run.scores:
        for name, value in score.model_dump(exclude={"side"}).items():
            row[f"{score.side}_{name}"] = value
    return row
