"""The OODA loop's typed state and run context (LangGraph state, reducers, context schema).

State holds only JSON-ready data (world snapshots, analyses, plans, cycle records), so the loop
can be checkpointed (SQLite) and resumed; the scenario, theater, doctrine index and drafter come
in as run context. Nodes return only what they change; per-side results merge by side.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from typing import Annotated, Any, TypedDict

from doctrine import DoctrineIndex
from planner.drafters import DoctrineDrafter, Drafter, LLMDrafter
from sim.executor import Scheduler
from sim.scenario import Scenario
from sim.theater import Theater

__all__ = [
    "OODAState",
    "PlannerContext",
    "StaffOutput",
    "StaffState",
    "add_stats",
    "merge_by_side",
]


def merge_by_side(old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    """Per-side records: each side's staff writes only its own key."""
    return {**(old or {}), **(new or {})}


def add_stats(old: dict[str, float] | None, new: dict[str, float] | None) -> dict[str, float]:
    """Run statistics: nodes report increments (seconds, replications, events), summed."""
    total = dict(old or {})
    for key, value in (new or {}).items():
        total[key] = total.get(key, 0) + value
    return total


@dataclass
class PlannerContext:
    """What every node needs besides the state: the scenario and the planning machinery."""

    scenario: Scenario
    theater: Theater
    index: DoctrineIndex
    seed: int
    drafter: Drafter | LLMDrafter = field(default_factory=DoctrineDrafter)  # every side's default
    drafters: dict[str, Drafter | LLMDrafter] = field(default_factory=dict)  # per side, by id
    fallback: Drafter = field(default_factory=DoctrineDrafter)
    workers: int = 1
    replications: int | None = None
    max_cycles: int | None = None
    command: frozenset[str] = frozenset()  # sides whose commander decides at each pause
    weights: dict[str, float] | None = None  # decision-matrix weights (default: the scenario's)
    scheduler: Scheduler | None = None  # a Dask client for the wargames' replications

    def cycle_hours(self, side: str) -> float:
        """Hours between a side's decisions."""
        return self.scenario.side(side).cycle_hours or self.scenario.settings.cycle_hours

    def drafter_for(self, side: str) -> Drafter | LLMDrafter:
        """Who drafts `side`'s COAs: its own drafter, else the default."""
        return self.drafters.get(side, self.drafter)

    def matrix_weights(self, weights: dict[str, float] | None = None) -> dict[str, float]:
        """Decision-matrix weights (`weights`, else the run's, else the scenario's), normalised
        to sum to 1."""
        weights = weights or self.weights or self.scenario.settings.planning.weights
        total = sum(weights.values())
        return {name: value / total for name, value in weights.items()}


class OODAState(TypedDict, total=False):
    """The loop's state between nodes (JSON-ready)."""

    world: dict[str, Any]
    cycle: int
    deciding: list[str]  # the sides that decide at this step of the loop
    next_decision: dict[str, float]  # side -> hour of its next decision
    orders_in_force: dict[str, list[dict[str, Any]]]  # side -> its last plan's timed orders
    pictures: dict[str, dict[str, Any]]
    analyses: Annotated[dict[str, dict[str, Any]], merge_by_side]
    plans: Annotated[dict[str, dict[str, Any]], merge_by_side]
    history: Annotated[list[dict[str, Any]], operator.add]
    stats: Annotated[dict[str, float], add_stats]
    done: bool
    # The commander's pause (planner.command): sides whose decision is final at this step,
    # sides still to be asked, refused decisions' messages, sides sent back to revise (with
    # the guidance), the decisions taken at this step, and each side's own weights.
    settled: list[str]
    awaiting: list[str]
    command_errors: dict[str, str]
    revising: dict[str, str]
    commands: list[dict[str, Any]]
    side_weights: Annotated[dict[str, dict[str, float]], merge_by_side]


class StaffState(TypedDict, total=False):
    """One side's staff working through the MDMP steps of one decision."""

    side: str
    cycle: int
    picture: dict[str, Any]  # the side's believed world
    analysis: dict[str, Any]
    coas: list[dict[str, Any]]  # drafted, then screened, wargamed and revised
    notes: list[str]
    agent: dict[str, Any]  # who drafted, and what a chat-model agent did (record.AgentRecord)
    selection: dict[str, Any]
    replications: list[dict[str, Any]]  # the wargame's replications, for the later steps
    weights: dict[str, float] | None  # the commander's weights for this side (None: the run's)
    revise: str | None  # the commander's guidance when sent back to revise (None: a new plan)
    analyses: dict[str, dict[str, Any]]  # out: {side: analysis record}
    plans: dict[str, dict[str, Any]]  # out: {side: plan record}
    stats: Annotated[dict[str, float], add_stats]


class StaffOutput(TypedDict, total=False):
    """What a staff hands back to the loop: its side's analysis and plan, and its run stats."""

    analyses: dict[str, dict[str, Any]]
    plans: dict[str, dict[str, Any]]
    stats: dict[str, float]
