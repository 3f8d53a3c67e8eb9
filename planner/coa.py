"""Courses of action as typed records: tasks with purposes and doctrine citations, and scores."""

from __future__ import annotations

from pydantic import BaseModel, Field

from sim.state import Tasking

__all__ = ["COA", "COADraft", "COADraftSet", "Task", "TaskDraft"]


class TaskDraft(BaseModel):
    """A task as a drafter proposes it (also the structured-output schema for chat models)."""

    unit: str = Field(description="Id of the unit given the task.")
    action: str = Field(
        description="One of: move, attack, defend, hold, withdraw, strike (air), interdict "
        "(air: attack enemy supply convoys passing the target place)."
    )
    target: str | None = Field(default=None, description="Place id the task is directed at.")
    purpose: str = Field(default="", description="In order to ... (the task's purpose).")
    citations: list[str] = Field(
        default_factory=list, description="Doctrine passage ids that support the task."
    )


class COADraft(BaseModel):
    """A course of action as a drafter proposes it."""

    name: str = Field(description="Short name, e.g. 'Forward defence at Narva'.")
    concept: str = Field(description="Concept of operations in two or three sentences.")
    form_of_maneuver: str = Field(default="", description="e.g. envelopment, area defence.")
    tasks: list[TaskDraft]


class COADraftSet(BaseModel):
    """Several distinct courses of action for one side."""

    coas: list[COADraft]


class Task(TaskDraft):
    """A validated task: unit and target exist; citations exist in the doctrine index."""

    def tasking(self) -> Tasking:
        """The engine order this task gives."""
        return Tasking(unit=self.unit, action=self.action, target=self.target)


class COA(BaseModel):
    """A validated course of action with its screening and wargame results."""

    id: str
    side: str
    name: str
    concept: str
    form_of_maneuver: str = ""
    tasks: list[Task]
    drafted_by: str = "doctrine"
    screening: dict[str, bool] = Field(default_factory=dict)
    screening_notes: list[str] = Field(default_factory=list)
    scores: dict = Field(default_factory=dict)

    def taskings(self) -> list[Tasking]:
        """Engine orders of every task."""
        return [task.tasking() for task in self.tasks]
