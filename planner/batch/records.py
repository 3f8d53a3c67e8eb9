"""What a batch runs and what it keeps: `RunJob` (one run's inputs) and `RunRecord` (its
stored result, with a `SideScore` per side). Light to import: the batch's main process needs
these, not the planner that plays the runs (`planner.batch.run`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, Field

from planner.record import AfterActionRecord
from sim.scenario import Scenario

__all__ = ["RunJob", "RunRecord", "SideScore"]

_ERROR_CHARS = 2000


@dataclass(frozen=True)
class RunJob:
    """Everything a worker needs for one run (the scenario already has its overrides)."""

    run_key: str
    run_index: int
    cell_key: str
    scenario_ref: str  # the spec's name or path for the scenario
    overrides: dict[str, Any]
    seed: int
    scenario: Scenario = field(repr=False)
    cycles: int | None = None
    replications: int | None = None
    aar_dir: str | None = None  # write the run's aar.json here


class SideScore(BaseModel):
    """How one side ended a run."""

    side: str
    initial_strength: float
    surviving_strength: float
    loss_fraction: float
    attainment: float
    success: bool  # every objective achieved
    won: bool


class RunRecord(BaseModel):
    """The stored result of one run (one row of the batch store)."""

    run_key: str
    scenario: str
    overrides: dict[str, Any] = Field(default_factory=dict)
    seed: int
    status: Literal["done", "failed"]
    attempts: int = 1
    winner: str | None = None
    end_hour: float | None = None
    cycles: int | None = None
    replications: int | None = None
    events: int | None = None
    wall_seconds: float = 0.0
    #: Strength the second side lost over strength the first side lost (None if it lost none).
    exchange_ratio: float | None = None
    scores: list[SideScore] = Field(default_factory=list)
    error: str | None = None
    aar_path: str | None = None

    @classmethod
    def failed(cls, job: RunJob, error: str, *, attempts: int = 1, wall: float = 0.0) -> RunRecord:
        """A run that did not finish."""
        return cls(
            run_key=job.run_key,
            scenario=job.scenario_ref,
            overrides=job.overrides,
            seed=job.seed,
            status="failed",
            attempts=attempts,
            wall_seconds=round(wall, 3),
            error=error[:_ERROR_CHARS],
        )

    @classmethod
    def from_aar(cls, job: RunJob, aar: AfterActionRecord, aar_path: str | None) -> RunRecord:
        """A finished run, scored from its after-action record."""
        outcome = aar.outcome
        scores = [
            SideScore(
                side=side.id,
                initial_strength=outcome.initial_strength.get(side.id, 0.0),
                surviving_strength=outcome.surviving_strength.get(side.id, 0.0),
                loss_fraction=round(outcome.loss_fraction(side.id), 6),
                attainment=outcome.attainment.get(side.id, 0.0),
                success=bool(outcome.objectives.get(side.id))
                and all(outcome.objectives[side.id].values()),
                won=outcome.winner == side.id,
            )
            for side in aar.sides
        ]
        lost = [s.initial_strength - s.surviving_strength for s in scores]
        ratio = round(lost[1] / lost[0], 6) if len(lost) == 2 and lost[0] > 1e-9 else None
        return cls(
            run_key=job.run_key,
            scenario=job.scenario_ref,
            overrides=job.overrides,
            seed=job.seed,
            status="done",
            winner=outcome.winner,
            end_hour=outcome.end_hour,
            cycles=aar.stats.cycles,
            replications=aar.stats.replications,
            events=aar.stats.events,
            wall_seconds=aar.stats.wall_seconds,
            exchange_ratio=ratio,
            scores=scores,
            aar_path=aar_path,
        )
