"""Courses of action as typed records: what a drafter proposes, and the validated COA.

A COA is structured as a staff writes one (FM 5-0 ch. 9, "COA statement and sketch"): a concept
in a sentence, a main effort and supporting efforts with their axes or sectors, a reserve with its
commitment criterion, phases with their timing and the condition that ends each, and the
apportionment of air power by phase. Drafters task *elements* (formations, or units on their own);
validation expands element tasks into one task per unit per phase, which the engine executes.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from sim.state import Tasking

__all__ = [
    "COA",
    "AirShare",
    "COADraft",
    "COADraftSet",
    "Effort",
    "EffortDraft",
    "Phase",
    "PhaseDraft",
    "Reserve",
    "ReserveDraft",
    "Revision",
    "Task",
    "TaskDraft",
]


class TaskDraft(BaseModel):
    """A task as a drafter proposes it (also the structured-output schema for chat models)."""

    unit: str = Field(description="Id of the formation or unit given the task.")
    action: str = Field(
        description="One of: move, attack, defend, hold, withdraw, strike (air), interdict "
        "(air: attack enemy supply convoys passing the target place)."
    )
    target: str | None = Field(default=None, description="Place id the task is directed at.")
    purpose: str = Field(default="", description="In order to ... (the task's purpose).")
    citations: list[str] = Field(
        default_factory=list, description="Doctrine passage ids that support the task."
    )


class PhaseDraft(BaseModel):
    """A phase: when it starts (hours after the decision) and the condition that ends it."""

    name: str
    start_hour: float = Field(default=0.0, ge=0, description="Hours after the decision.")
    end_condition: str = Field(default="", description="What ends the phase.")
    tasks: list[TaskDraft] = Field(default_factory=list)


class EffortDraft(BaseModel):
    """The main effort or a supporting effort: who, on which axis or in which sector, why."""

    role: Literal["main", "supporting"]
    elements: list[str] = Field(description="Formation or unit ids.")
    axis: list[str] = Field(default_factory=list, description="Places along the axis.")
    sector: str | None = None
    purpose: str = ""


class ReserveDraft(BaseModel):
    """The reserve: where it waits, when and on what it is committed, and against what."""

    elements: list[str]
    position: str
    commit_hour: float | None = Field(
        default=None, ge=0, description="Hours after the decision at which it is committed."
    )
    criterion: str = ""
    target: str | None = None


class AirShare(BaseModel):
    """Share of air sorties by mission in a phase (shares sum to 1)."""

    phase: int = Field(ge=1)
    interdiction: float = Field(default=0.0, ge=0, le=1)
    strike: float = Field(default=0.0, ge=0, le=1)
    close_support: float = Field(default=0.0, ge=0, le=1)


class COADraft(BaseModel):
    """A course of action as a drafter proposes it. `tasks` is shorthand for a single phase;
    `phases` carries the full scheme."""

    name: str = Field(description="Short name, e.g. 'Forward defence at Narva'.")
    concept: str = Field(description="Concept of operations in one or two sentences.")
    form_of_maneuver: str = Field(default="", description="e.g. envelopment, area defence.")
    tasks: list[TaskDraft] = Field(default_factory=list)
    phases: list[PhaseDraft] = Field(default_factory=list)
    main_effort: EffortDraft | None = None
    supporting_efforts: list[EffortDraft] = Field(default_factory=list)
    reserve: ReserveDraft | None = None
    air: list[AirShare] = Field(default_factory=list)


class COADraftSet(BaseModel):
    """Several distinct courses of action for one side."""

    coas: list[COADraft]


class Task(TaskDraft):
    """A validated task: unit and target exist; citations exist in the doctrine index."""

    at_hour: float = 0.0  # when the task starts (absolute hour)
    phase: int = 1
    continued: bool = False  # the unit's task of the previous phase, still in force

    def tasking(self) -> Tasking:
        """The engine order this task gives."""
        return Tasking(unit=self.unit, action=self.action, target=self.target, at_hour=self.at_hour)


class Phase(BaseModel):
    """A validated phase with its element tasks (absolute hours)."""

    number: int
    name: str
    start_hour: float
    end_hour: float | None = None
    end_condition: str = ""
    tasks: list[Task] = Field(default_factory=list)  # element (formation or unit) tasks


class Effort(EffortDraft):
    """A validated effort (its elements exist)."""


class Reserve(ReserveDraft):
    """A validated reserve; `commit_hour` is absolute."""


class Revision(BaseModel):
    """One accepted change of the revision search and the utility it gained (common random
    numbers: both utilities are means over the same replications)."""

    change: str
    utility_before: float
    utility_after: float
    replications: int


class COA(BaseModel):
    """A validated course of action with its screening and wargame results."""

    id: str
    side: str
    name: str
    concept: str
    form_of_maneuver: str = ""
    main_effort: Effort | None = None
    supporting_efforts: list[Effort] = Field(default_factory=list)
    reserve: Reserve | None = None
    phases: list[Phase] = Field(default_factory=list)
    air: list[AirShare] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)  # every unit's task in every phase
    drafted_by: str = "doctrine"
    revised_from: str | None = None
    revisions: list[Revision] = Field(default_factory=list)
    repairs: list[str] = Field(default_factory=list)  # what screening repair changed
    screening: dict[str, bool] = Field(default_factory=dict)
    screening_notes: list[str] = Field(default_factory=list)
    scores: dict = Field(default_factory=dict)

    def taskings(self) -> list[Tasking]:
        """Engine orders, phase by phase: each task where it starts (a task still in force
        from the previous phase is not issued again)."""
        return [task.tasking() for task in self.tasks if not task.continued]

    def unit_signature(self) -> frozenset[tuple]:
        """(unit, action, target, start hour) of every order the COA gives: two COAs with the
        same signature are the same plan whatever their names."""
        return frozenset((t.unit, t.action, t.target, t.at_hour) for t in self.taskings())
