"""`wargame simulate`'s output folder: replications streamed to disk as they finish, resumable.

Each finished replication is appended to ``replications.jsonl`` (one flushed, fsynced line)
the moment its chunk returns, so a killed run loses at most the replications still running.
`--resume` reads the lines back (a line cut short by the kill is dropped), checks the folder
was written by the same simulation (scenario, seed, replications, attrition), and runs only
the missing replications: replication r is seeded from (seed, r) alone, so the resumed folder
is the same as an uninterrupted run's. ``replications.csv``, ``timeline.csv`` and
``battles.csv`` (every replication's battles) are written atomically at the end, in replication
order; ``run.json`` says which run wrote the folder and
whether it finished.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from planner.rundir import atomic_path, read_manifest, run_folder
from sim.executor import Scheduler
from sim.runner import ScriptedRun, iter_simulate
from sim.scenario import Scenario

__all__ = ["JOURNAL", "ReplicationRow", "ResumeError", "simulate_to_folder"]

JOURNAL = "replications.jsonl"
TABLES = ("replications.csv", "timeline.csv", "battles.csv")


class ResumeError(ValueError):
    """The folder cannot be resumed: another simulation (or another command) wrote it."""


@dataclass(frozen=True)
class ReplicationRow:
    """One finished replication, as streamed to the journal."""

    replication: int
    winner: str
    end_hour: float
    events: int
    strength: dict[str, float]
    attainment: dict[str, float]
    convoys_delivered: dict[str, float]
    convoys_lost: dict[str, float]
    timeline: list[list[Any]]
    battles: list[dict[str, Any]]  # BattleRecord fields, in the order the battles ended

    @classmethod
    def of(cls, run: ScriptedRun) -> ReplicationRow:
        """The row of a finished run."""
        o, supply = run.outcome, run.logistics
        return cls(
            replication=run.replication,
            winner=o.winner or "",
            end_hour=o.hour,
            events=run.events,
            strength={s: round(r.strength, 4) for s, r in o.sides.items()},
            attainment={s: round(r.attainment, 4) for s, r in o.sides.items()},
            convoys_delivered={s: supply[s]["delivered"] for s in supply},
            convoys_lost={
                s: supply[s]["lost_to_ground"] + supply[s]["lost_to_air"] for s in supply
            },
            timeline=[list(row) for row in run.timeline],
            battles=[asdict(battle) for battle in run.battles],
        )


def fingerprint(scenario: Scenario) -> str:
    """A digest of the scenario's content (not its file name)."""
    return hashlib.sha256(scenario.model_dump_json().encode()).hexdigest()[:16]


def simulate_to_folder(
    scenario: Scenario,
    folder: Path,
    *,
    replications: int,
    seed: int,
    stochastic: bool,
    workers: int = 1,
    scheduler: Scheduler | None = None,
    resume: bool = False,
    on_row: Callable[[ReplicationRow], None] | None = None,
) -> tuple[list[ReplicationRow], int]:
    """Run the replications not yet in `folder` (all of them unless `resume`), streaming each
    to the journal; returns (every row in replication order, rows found already done).

    Raises:
        ResumeError: `resume` on a folder another simulation wrote.
    """
    folder = Path(folder)
    options = {
        "scenario": scenario.id,
        "fingerprint": fingerprint(scenario),
        "replications": replications,
        "seed": seed,
        "stochastic": stochastic,
    }
    previous = read_manifest(folder) if resume else None
    if previous is not None and (previous.command != "simulate" or previous.options != options):
        raise ResumeError(
            f"{folder} holds another run ({previous.command} {previous.options}); "
            "resume needs the same scenario, seed, replications and attrition"
        )
    done = _read_journal(folder / JOURNAL) if previous is not None else {}
    with run_folder(folder, "simulate", options, resume=previous):
        if previous is None:  # a fresh run: nothing of an older run may look current
            for name in (JOURNAL, *TABLES):
                (folder / name).unlink(missing_ok=True)
        missing = [r for r in range(replications) if r not in done]
        rows = dict(done)
        with (folder / JOURNAL).open("a", encoding="utf-8") as journal:
            for run in iter_simulate(
                scenario,
                missing,
                seed=seed,
                stochastic=stochastic,
                workers=workers,
                scheduler=scheduler,
                chunk_size=max(1, min(8, len(missing) // (4 * max(1, workers)))),
            ):
                row = ReplicationRow.of(run)
                journal.write(json.dumps(asdict(row), separators=(",", ":")) + "\n")
                journal.flush()
                os.fsync(journal.fileno())
                rows[row.replication] = row
                if on_row is not None:
                    on_row(row)
        ordered = [rows[r] for r in range(replications)]
        write_tables(folder, [s.id for s in scenario.sides], ordered)
    return ordered, len(done)


def _read_journal(path: Path) -> dict[int, ReplicationRow]:
    """Rows already streamed; a last line cut short by a kill is dropped (and cut off)."""
    rows: dict[int, ReplicationRow] = {}
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return rows
    good = 0
    for line in data.splitlines(keepends=True):
        try:
            if not line.endswith(b"\n"):
                raise ValueError("cut short")
            row = ReplicationRow(**json.loads(line))
        except (ValueError, TypeError):
            break
        rows.setdefault(row.replication, row)
        good += len(line)
    if good < len(data):
        with path.open("r+b") as handle:
            handle.truncate(good)
    return rows


def write_tables(folder: Path, sides: Iterable[str], rows: list[ReplicationRow]) -> None:
    """replications.csv (one row per replication), timeline.csv (the first replication's
    hourly timeline) and battles.csv (every replication's battles), each written atomically."""
    sides = list(sides)
    with (
        atomic_path(folder / "replications.csv") as temporary,
        temporary.open("w", newline="") as handle,
    ):
        writer = csv.writer(handle)
        writer.writerow(
            ["replication", "winner", "end_hour", "events"]
            + [f"{s}_strength" for s in sides]
            + [f"{s}_attainment" for s in sides]
            + [f"{s}_convoys_delivered" for s in sides]
            + [f"{s}_convoys_lost" for s in sides]
        )
        for row in rows:
            writer.writerow(
                [row.replication, row.winner, row.end_hour, row.events]
                + [row.strength[s] for s in sides]
                + [row.attainment[s] for s in sides]
                + [row.convoys_delivered[s] for s in sides]
                + [row.convoys_lost[s] for s in sides]
            )
    with (
        atomic_path(folder / "timeline.csv") as temporary,
        temporary.open("w", newline="") as handle,
    ):
        writer = csv.writer(handle)
        writer.writerow(["hour", "unit", "side", "strength", "place"])
        writer.writerows(rows[0].timeline if rows else [])
    with (
        atomic_path(folder / "battles.csv") as temporary,
        temporary.open("w", newline="") as handle,
    ):
        writer = csv.writer(handle)
        writer.writerow(
            ["replication", "place", "start_hour", "end_hour", "attacker", "defender", "winner"]
            + [f"{s}_losses" for s in sides]
            + ["end_reason"]
        )
        for row in rows:
            for b in row.battles:
                writer.writerow(
                    [row.replication, b["place"], round(b["start_hour"], 4)]
                    + [round(b["end_hour"], 4), b["attacker"], b["defender"], b["winner"]]
                    + [round(b["losses"].get(s, 0.0), 4) for s in sides]
                    + [b["end_reason"]]
                )
