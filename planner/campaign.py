"""Run a campaign: OODA cycles until the mission ends, stepped or straight, then the AAR.

`Campaign` drives the LangGraph loop (`planner.graph.ooda_graph`) through LangGraph's own
machinery: a checkpointer on every run (SQLite when a file is given, else in memory), static
`interrupt_after` pauses to step one phase or one cycle, the approve node's `interrupt` for the
commander, `Command(resume=...)` with the commander's decisions. `run_campaign` is the same
code path run straight to the end. Usage (the console's and the CLI's):

    from planner.campaign import Campaign
    from planner.command import Approve, Pick, Reweight, Revise

    campaign = Campaign.start(scenario, seed=7, command="blue", checkpoint=Path("run/c.sqlite"))
    status = campaign.step(until="cycle")  # "phase": one node of the loop; "end": to the end
    while not status.finished:
        if status.pause:  # the commanded sides that decided at this step await a decision
            for side, pending in status.pause.sides.items():  # COAs, matrix, weights, valid ids
                campaign.decide(Approve(side=side))  # or Pick(side, coa=...), Reweight(side,
                # weights={...}), Revise(side, guidance=...); a bad one raises ValueError
        status = campaign.step(until="cycle")  # resumes with the decisions given
    aar = campaign.aar()  # mid-run too: `finished` False, `stopped` "stopped at H+x (horizon H+y)"
    campaign.close()  # or use `with Campaign.start(...) as campaign:`

    campaign = Campaign.resume(Path("run/c.sqlite"))  # after a restart: same scenario, seed, ...

Re-starting with a checkpoint file whose run is unfinished goes on with it; one whose run is
finished does not play again (`Campaign.finished` is True from the start).
"""

from __future__ import annotations

import contextlib
import json
import math
import sqlite3
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Literal

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.types import Command
from pydantic import BaseModel, Field

from doctrine import DoctrineIndex, default_index
from planner.aar import build_aar
from planner.command import (
    Approve,
    Pause,
    PendingDecision,
    Pick,
    Revise,
    Reweight,
    check_decision,
    commanded_sides,
)
from planner.drafters import DoctrineDrafter, Drafter, LLMDrafter
from planner.graph import ooda_graph
from planner.record import AfterActionRecord
from planner.state import PlannerContext
from sim._random import key_seed
from sim.engine import Simulation
from sim.executor import dask_client
from sim.outcome import mission_over
from sim.scenario import Scenario
from sim.state import WorldState, initial_state
from sim.theater import Theater

__all__ = [
    "Campaign",
    "CheckpointError",
    "Commander",
    "StepStatus",
    "decision_steps",
    "run_campaign",
]

Decision = Approve | Pick | Reweight | Revise
#: Asked at each pause, once per commanded side (again, with `error` set, if refused).
Commander = Callable[[PendingDecision], Decision]
#: The older form: called with the pause's payload, returns {side: coa id} ({} approves).
Approver = Callable[[dict[str, Any]], dict[str, str]]
Progress = Callable[[str, dict[str, Any]], None]
Until = Literal["phase", "cycle", "end"]

#: Where `step(until="phase")` stops: after each of these nodes of the loop (the staffs of
#: the deciding sides run as one phase; approve runs on into orders, or pauses for the
#: commander, so a decision's effect shows at the next stop).
PHASES = ["observe", "staff", "orders", "act"]
_SETUP_TABLE = "ooda_forge_runs"


class CheckpointError(ValueError):
    """A checkpoint path or file that cannot serve (one line, for an exit 2)."""


class StepStatus(BaseModel):
    """Where the campaign stands after a step."""

    cycle: int  # cycles completed
    hour: float  # the ground truth's hour
    horizon: float
    nodes: list[str] = Field(default_factory=list)  # nodes run by this step ("staff:blue")
    next: list[str] = Field(default_factory=list)  # nodes due next
    pause: Pause | None = None  # set when commanded sides await their commander
    finished: bool = False

    @property
    def last(self) -> str | None:
        """The node run last in this step (None: nothing ran)."""
        return self.nodes[-1] if self.nodes else None


def decision_steps(scenario: Scenario) -> int:
    """Steps of the loop over a whole campaign: the distinct hours at which some side
    decides (each side every `cycle_hours` from H+0) before the horizon."""
    settings = scenario.settings
    hours: set[float] = set()
    for side in scenario.sides:
        cycle = side.cycle_hours or settings.cycle_hours
        hours |= {round(k * cycle, 9) for k in range(math.ceil(settings.horizon_hours / cycle))}
    return len(hours)


class Campaign:
    """One campaign of OODA cycles, stepped by phase or cycle, paused for the commander."""

    def __init__(
        self,
        context: PlannerContext,
        *,
        checkpoint: Path | None,
        thread_id: str,
        progress: Progress | None,
        cluster: contextlib.ExitStack,
    ) -> None:
        self.scenario = context.scenario
        self.context = context
        self.checkpoint = checkpoint
        self.thread_id = thread_id
        self.progress = progress
        self._cluster = cluster
        self._connection: sqlite3.Connection | None = None
        if checkpoint is not None:
            from langgraph.checkpoint.sqlite import SqliteSaver

            self._connection = _connect(checkpoint)
            saver: Any = SqliteSaver(self._connection)
        else:
            saver = InMemorySaver()
        self._graph = ooda_graph.compile(checkpointer=saver)
        most = (context.max_cycles or decision_steps(self.scenario) + 1) + 1
        # Sides plan one after the other (max_concurrency 1): each staff's wargames already
        # use every worker, and node times then add up to the wall time.
        self._config: Any = {
            "configurable": {"thread_id": thread_id},
            "recursion_limit": 8 * most + 20,
            "max_concurrency": 1,
        }
        self._answers: dict[str, Decision] = {}

    # ------------------------------------------------------------------ construction
    @classmethod
    def start(
        cls,
        scenario: Scenario,
        *,
        seed: int | None = None,
        command: str | Iterable[str] | None = None,
        checkpoint: Path | None = None,
        thread_id: str = "campaign",
        cycles: int | None = None,
        drafter: Drafter | None = None,
        drafters: dict[str, Drafter | LLMDrafter] | None = None,
        index: DoctrineIndex | None = None,
        workers: int = 1,
        scheduler: str | None = None,
        replications: int | None = None,
        weights: dict[str, float] | None = None,
        progress: Progress | None = None,
    ) -> Campaign:
        """A new campaign (or the one a checkpoint file already holds for `thread_id`).

        Args:
            seed: campaign seed (default: the scenario's).
            command: sides the user commands: "blue", "blue,red", a list, or "none"
                (default: the first agent side). Only those sides pause for a decision.
            checkpoint: SQLite file of LangGraph checkpoints (its folder is created); a run
                there is resumed, also by `Campaign.resume` after a restart.
            cycles: stop after this many cycles even if the mission goes on.
            drafter / drafters: COA drafter of every side / of a side by id (default: the
                offline doctrine drafter).
            replications: cap on any COA's replications per decision.
            weights: decision-matrix weights (default: the scenario's `planning.weights`).
            scheduler: Dask scheduler address or "local", for the wargames.
            progress: called as (node, update) after every node.
        Raises:
            ValueError: a side that cannot be commanded; CheckpointError: a checkpoint that
            cannot be used, or holds another scenario's or seed's run.
        """
        seed = scenario.settings.seed if seed is None else seed
        sides = commanded_sides(scenario, command)
        cluster = contextlib.ExitStack()
        context = PlannerContext(
            scenario=scenario,
            theater=Theater(scenario),
            index=index or default_index(),
            seed=seed,
            drafter=drafter or DoctrineDrafter(),
            drafters=dict(drafters or {}),
            workers=workers,
            scheduler=cluster.enter_context(dask_client(scheduler, workers)) if scheduler else None,
            replications=replications,
            max_cycles=cycles,
            command=sides,
            weights=weights,
        )
        campaign = cls(
            context,
            checkpoint=checkpoint,
            thread_id=thread_id,
            progress=progress,
            cluster=cluster,
        )
        setup = {
            "scenario": scenario.model_dump(mode="json"),
            "seed": seed,
            "command": sorted(sides),
            "cycles": cycles,
            "replications": replications,
            "weights": weights,
        }
        stored = campaign._setup()
        if stored is None:
            campaign._store_setup(setup)
        elif (stored["scenario"]["id"], stored["seed"]) != (scenario.id, seed):
            campaign.close()
            raise CheckpointError(
                f"checkpoint {checkpoint}: holds a run of {stored['scenario']['id']} with seed "
                f"{stored['seed']}, not {scenario.id} with seed {seed}; use another file"
            )
        return campaign

    @classmethod
    def resume(
        cls,
        checkpoint: Path,
        *,
        thread_id: str = "campaign",
        drafter: Drafter | None = None,
        drafters: dict[str, Drafter | LLMDrafter] | None = None,
        index: DoctrineIndex | None = None,
        workers: int = 1,
        scheduler: str | None = None,
        progress: Progress | None = None,
    ) -> Campaign:
        """The campaign a checkpoint file holds, after a process restart: scenario, seed,
        commanded sides, cycles, replications and weights come from the file; drafters,
        doctrine and workers (not stored) from the arguments."""
        checkpoint = Path(checkpoint)
        if not checkpoint.is_file():
            raise CheckpointError(f"checkpoint {checkpoint}: no such file")
        connection = _connect(checkpoint)
        try:
            stored = _read_setup(connection, thread_id, checkpoint)
        finally:
            connection.close()
        if stored is None:
            raise CheckpointError(f"checkpoint {checkpoint}: no campaign {thread_id!r} in it")
        return cls.start(
            Scenario.model_validate(stored["scenario"]),
            seed=stored["seed"],
            command=stored["command"],
            checkpoint=checkpoint,
            thread_id=thread_id,
            cycles=stored["cycles"],
            replications=stored["replications"],
            weights=stored["weights"],
            drafter=drafter,
            drafters=drafters,
            index=index,
            workers=workers,
            scheduler=scheduler,
            progress=progress,
        )

    def close(self) -> None:
        """Release the checkpoint file and any Dask cluster."""
        self._cluster.close()
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> Campaign:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------------- stepping
    @property
    def started(self) -> bool:
        """Whether any step has run (here or in an earlier process)."""
        return bool(self._graph.get_state(self._config).values)

    @property
    def finished(self) -> bool:
        """Whether the loop has reached its end (mission over, horizon or `cycles`)."""
        snapshot = self._graph.get_state(self._config)
        return bool(snapshot.values) and not snapshot.next

    def status(self, nodes: list[str] | None = None) -> StepStatus:
        """Where the campaign stands (`nodes`: those the last step ran)."""
        snapshot = self._graph.get_state(self._config)
        values = snapshot.values or {}
        world = values.get("world")
        return StepStatus(
            cycle=values.get("cycle", 0),
            hour=world["hour"] if world else 0.0,
            horizon=self.scenario.settings.horizon_hours,
            nodes=nodes or [],
            next=list(snapshot.next),
            pause=self._pause(snapshot),
            finished=bool(values) and not snapshot.next,
        )

    def step(self, until: Until = "cycle") -> StepStatus:
        """Run to the end of the next phase (see PHASES), the next cycle (its act
        phase), or the end, stopping early when commanded sides await a decision. While
        paused with no decision given (`decide`), it runs nothing and returns the pause."""
        snapshot = self._graph.get_state(self._config)
        if snapshot.values and not snapshot.next:
            return self.status()
        payload: Any = None
        pause = self._pause(snapshot)
        if pause is not None:
            if not self._answers:
                return self.status()
            payload = Command(
                resume={side: d.model_dump(mode="json") for side, d in self._answers.items()}
            )
            self._answers = {}
        elif not snapshot.values:
            payload = self._initial()
        after: Any = {"phase": PHASES, "cycle": ["act"], "end": None}[until]
        nodes: list[str] = []
        for chunk in self._graph.stream(
            payload,
            self._config,
            context=self.context,
            stream_mode="updates",
            interrupt_after=after,
        ):
            for node, update in chunk.items():
                if node == "__interrupt__":
                    continue
                sides = sorted((update or {}).get("plans", {})) if node == "staff" else []
                nodes.append(f"staff:{sides[0]}" if len(sides) == 1 else node)
                if self.progress is not None:
                    self.progress(node, update or {})
        return self.status(nodes)

    def decide(self, decision: Decision) -> None:
        """Give the commander's decision for one side awaiting it; the next `step` resumes
        with it. Raises ValueError if no such side awaits or the decision cannot apply (an
        unknown COA id lists the valid ones; weights must be known, non-negative criteria)."""
        pause = self._pause(self._graph.get_state(self._config))
        if pause is None or decision.side not in pause.sides:
            waiting = ", ".join(pause.sides) if pause else "none"
            raise ValueError(f"{decision.side} does not await a decision (awaiting: {waiting})")
        self._answers[decision.side] = check_decision(decision, pause.sides[decision.side])

    def run_to_end(self, commander: Commander | None = None) -> StepStatus:
        """Step to the end. At each pause `commander` is asked per waiting side (again, with
        the reason, when its decision is refused); without one, it returns at the pause."""
        status = self.step("end")
        while not status.finished and status.pause is not None:
            if commander is None:
                return status
            for pending in status.pause.sides.values():
                decision = commander(pending)
                while True:
                    try:
                        self.decide(decision)
                        break
                    except ValueError as problem:
                        decision = commander(pending.model_copy(update={"error": str(problem)}))
            status = self.step("end")
        return status

    def aar(self) -> AfterActionRecord:
        """The after-action record so far. Extra fields: `finished` (False mid-run, and then
        no winner is declared) and `stopped` ("stopped at H+x (horizon H+y)" when the record
        ends before the horizon with the mission undecided, else None)."""
        snapshot = self._graph.get_state(self._config)
        values = snapshot.values or self._initial()
        finished = bool(snapshot.values) and not snapshot.next
        record = build_aar(
            self.scenario,
            values,
            seed=self.context.seed,
            planner=_planner_name(self.context),
            index=self.context.index,
        )
        world = WorldState.from_dict(values["world"])
        horizon = self.scenario.settings.horizon_hours
        stopped = None
        if world.hour < horizon - 1e-9 and not mission_over(self.scenario, world):
            stopped = f"stopped at H+{world.hour:g} (horizon H+{horizon:g})"
        if not finished:
            record.outcome.winner = None
        record.finished = finished  # type: ignore[attr-defined]  # extra field (extra="allow")
        record.stopped = stopped  # type: ignore[attr-defined]
        return record

    # ----------------------------------------------------------------------- helpers
    def _initial(self) -> dict[str, Any]:
        world = initial_state(self.scenario)
        Simulation(
            self.scenario, self.context.theater, world, seed=key_seed(self.context.seed, "truth")
        ).initial_sweep()
        return {"world": world.to_dict(), "cycle": 0, "history": []}

    @staticmethod
    def _pause(snapshot: Any) -> Pause | None:
        for item in snapshot.interrupts:
            return Pause.model_validate(item.value)
        return None

    def _setup(self) -> dict[str, Any] | None:
        if self._connection is None:
            return None
        return _read_setup(self._connection, self.thread_id, self.checkpoint)

    def _store_setup(self, setup: dict[str, Any]) -> None:
        if self._connection is None:
            return
        with self._connection:
            self._connection.execute(
                f"INSERT OR REPLACE INTO {_SETUP_TABLE} VALUES (?, ?)",
                (self.thread_id, json.dumps(setup)),
            )


def _connect(path: Path) -> sqlite3.Connection:
    """A connection to a checkpoint file (folder created); CheckpointError if unusable."""
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"checkpoint {path}: is a folder, not a file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(str(path), check_same_thread=False)
        connection.execute(
            f"CREATE TABLE IF NOT EXISTS {_SETUP_TABLE} (thread_id TEXT PRIMARY KEY, setup TEXT)"
        )
    except (OSError, sqlite3.Error) as problem:
        raise CheckpointError(f"checkpoint {path}: {problem}") from None
    return connection


def _read_setup(
    connection: sqlite3.Connection, thread_id: str, path: Path | None
) -> dict[str, Any] | None:
    try:
        row = connection.execute(
            f"SELECT setup FROM {_SETUP_TABLE} WHERE thread_id = ?", (thread_id,)
        ).fetchone()
    except sqlite3.Error as problem:
        raise CheckpointError(f"checkpoint {path}: {problem}") from None
    return json.loads(row[0]) if row else None


def run_campaign(
    scenario: Scenario,
    *,
    seed: int | None = None,
    cycles: int | None = None,
    drafter: Drafter | None = None,
    drafters: dict[str, Drafter | LLMDrafter] | None = None,
    index: DoctrineIndex | None = None,
    workers: int = 1,
    scheduler: str | None = None,
    replications: int | None = None,
    command: str | Iterable[str] | None = None,
    commander: Commander | None = None,
    approver: Approver | None = None,
    checkpoint: Path | None = None,
    thread_id: str = "campaign",
    progress: Progress | None = None,
    weights: dict[str, float] | None = None,
) -> AfterActionRecord:
    """Play the scenario's OODA cycles to the end and return the after-action record
    (`Campaign.start(...).run_to_end(commander)`; arguments as `Campaign.start`).

    Args:
        command: sides that pause for `commander` (default: none without a commander, the
            first agent side with one).
        commander: asked per waiting side at each pause, returns a `CommanderDecision`.
        approver: the older form of commander (payload -> {side: coa id}; {} approves).
    """
    if approver is not None:
        commander = _from_approver(approver)
    if command is None and commander is None:
        command = "none"
    with Campaign.start(
        scenario,
        seed=seed,
        command=command,
        checkpoint=checkpoint,
        thread_id=thread_id,
        cycles=cycles,
        drafter=drafter,
        drafters=drafters,
        index=index,
        workers=workers,
        scheduler=scheduler,
        replications=replications,
        weights=weights,
        progress=progress,
    ) as campaign:
        campaign.run_to_end(commander)
        return campaign.aar()


def _from_approver(approver: Approver) -> Commander:
    """A commander from an approver: a side it names with a valid COA id is a pick, any
    other answer approves."""

    def commander(pending: PendingDecision) -> Decision:
        payload = {
            "cycle": pending.cycle,
            "hour": pending.hour,
            "plans": {pending.side: pending.model_dump(mode="json")},
        }
        choice = (approver(payload) or {}).get(pending.side)
        if choice in pending.valid and choice != pending.selected_coa:
            return Pick(side=pending.side, coa=choice)
        return Approve(side=pending.side)

    return commander


def _planner_name(context: PlannerContext) -> str:
    """The drafter's name, or each side's ("blue: llm:openai:x; red: doctrine") when they
    differ."""
    names = {s.id: context.drafter_for(s.id).name for s in context.scenario.sides}
    if len(set(names.values())) == 1:
        return next(iter(names.values()))
    return "; ".join(f"{side}: {name}" for side, name in names.items())
