"""The after-action record as typed models: what aar.json holds, and how it is read back.

Every writer and reader of an AAR goes through `AfterActionRecord`: the planner builds one
(`planner.aar.build_aar`), the reports, the console and batches read one, and `load_aar`
turns a file into one or raises `AARError` with a one-line reason.

Extension points: every record is open (pydantic ``extra="allow"``), so a key another part of
the planner adds to a plan, a COA, a task, a cycle or the record itself (per-COA phases, an
``orders`` section, a per-decision ``selection``) passes through build, validation and
aar.json unchanged until it is given a typed field here. Typed fields carry defaults wherever
older records lack them, so a version-1 aar.json still loads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_serializer,
    field_validator,
)

from planner.analysis import Avenue, EnemyCOA, KeyTerrain, Sector
from planner.coa import AirShare, Effort, Phase, Reserve, Revision
from planner.orders import Orders
from planner.selection import SelectionRecord

__all__ = [
    "AAR_VERSION",
    "AARError",
    "AfterActionRecord",
    "AgentRecord",
    "AgentRevision",
    "AgentToolCall",
    "AnalysisRecord",
    "Assessment",
    "BattleRecord",
    "COARecord",
    "COAScores",
    "CitedPassage",
    "CycleEvent",
    "CycleRecord",
    "EventKind",
    "Finding",
    "ForecastCheck",
    "LogisticsRow",
    "ObjectiveInfo",
    "OutcomeRecord",
    "PlanRecord",
    "RunStats",
    "ScenarioInfo",
    "ScoreSet",
    "SideInfo",
    "Situation",
    "TaskRecord",
    "UnitPosition",
    "load_aar",
    "parse_aar",
]

#: 2 added the per-cycle event log, the assessment and each side's objectives and loss limit;
#: 3 the structured COA (efforts, reserve, phases, air), orders, the selection record and the
#: mission analysis from the theater graph (avenues, key terrain records, sectors, enemy COAs).
AAR_VERSION = 3


class _Record(BaseModel):
    """Base of every AAR record: unknown keys are kept (extension point), NaN is refused."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)


# --- who and what ----------------------------------------------------------------------------


class ScenarioInfo(_Record):
    """The scenario a record is about."""

    id: str
    name: str = ""
    summary: str = ""


class ObjectiveInfo(_Record):
    """One of a side's objectives, as the scenario set it."""

    id: str
    place: str
    kind: Literal["hold", "seize"] = "hold"
    deadline_hours: float
    weight: float = 1.0


class SideInfo(_Record):
    """A belligerent, who planned for it, and what it was asked to achieve."""

    id: str
    name: str = ""
    planner: str = "agent"
    max_loss_fraction: float | None = None  # the commander's loss limit
    objectives: list[ObjectiveInfo] = Field(default_factory=list)


# --- plans -----------------------------------------------------------------------------------


class TaskRecord(_Record):
    """One unit's task in a COA, in one phase."""

    unit: str
    action: str
    target: str | None = None
    purpose: str = ""
    citations: list[str] = Field(default_factory=list)
    at_hour: float = 0.0
    phase: int = 1
    continued: bool = False  # still in force from the previous phase


class ScoreSet(_Record):
    """Wargame results of a COA against one enemy COA (or both, weighted)."""

    replications: int
    p_success: float
    p_success_ci95: tuple[float, float]
    attainment: float
    losses: dict[str, float]  # side -> expected share of its strength lost
    losses_ci95: dict[str, tuple[float, float]] = Field(default_factory=dict)
    utility: float


class COAScores(ScoreSet):
    """A COA's scores against the enemy's most likely COA, and against its most dangerous."""

    vs_most_dangerous: ScoreSet | None = None


class COARecord(_Record):
    """A course of action as drafted, screened and wargamed."""

    id: str
    name: str
    side: str | None = None
    summary: str = ""
    concept: str = ""
    form_of_maneuver: str = ""
    drafted_by: str = ""
    tasks: list[TaskRecord] = Field(default_factory=list)
    screening: dict[str, bool] = Field(default_factory=dict)
    screening_notes: list[str] = Field(default_factory=list)
    scores: COAScores | None = None  # None: screened out before wargaming
    main_effort: Effort | None = None
    supporting_efforts: list[Effort] = Field(default_factory=list)
    reserve: Reserve | None = None
    phases: list[Phase] = Field(default_factory=list)
    air: list[AirShare] = Field(default_factory=list)
    revised_from: str | None = None
    revisions: list[Revision] = Field(default_factory=list)
    repairs: list[str] = Field(default_factory=list)

    @field_validator("scores", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == {} else value

    @field_serializer("scores")
    def _none_is_empty(self, scores: COAScores | None) -> Any:
        # aar.json has always written {} for a COA that was not wargamed.
        return {} if scores is None else scores


class AgentToolCall(_Record):
    """One tool a planning agent called: its name, its arguments and its result, shortened."""

    step: int  # the model turn that asked for it (1 = first)
    name: str
    arguments: str = ""
    result: str = ""


class AgentRevision(_Record):
    """A candidate COA a planning agent wargamed with its `wargame_coa` tool, and the utility
    it gained over the best candidate it had tested before (None for the first)."""

    step: int
    coa: str  # the candidate's name
    replications: int
    utility: float
    utility_ci95: tuple[float, float]
    p_success: float
    p_success_ci95: tuple[float, float]
    gained: float | None = None


class AgentRecord(_Record):
    """Who drafted a side's COAs in one decision and, for a chat-model agent, what it did:
    model calls (every request, retries included), approximate tokens
    (`count_tokens_approximately`), failures, retries, corrections sent back, the fallback to
    the doctrine drafter, its tool calls and the candidates it wargamed."""

    drafter: str = "doctrine"  # who drafted the COAs in the end
    model: str | None = None  # the chat model asked (None: no model)
    steps: int = 0  # model turns of the agent
    model_calls: int = 0
    retries: int = 0  # requests repeated after a transient error (timeout, HTTP 5xx, 429)
    corrections: int = 0  # replies sent back with their validation or screening errors
    tokens_in: int = 0
    tokens_out: int = 0
    failures: list[str] = Field(default_factory=list)
    fallback: str | None = None  # why the doctrine drafter drafted instead (None: it did not)
    tool_calls: list[AgentToolCall] = Field(default_factory=list)
    revisions: list[AgentRevision] = Field(default_factory=list)


class PlanRecord(_Record):
    """One side's decision in one cycle: its COAs, the matrix and the selection."""

    coas: list[COARecord] = Field(default_factory=list)
    selected_coa: str | None = None
    selected_by: str = "planner"
    decision_matrix: list[dict[str, Any]] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    weights: dict[str, float] = Field(default_factory=dict)
    selection: SelectionRecord | None = None
    orders: Orders | None = None
    agent: AgentRecord | None = None  # who drafted, and what a chat-model agent did

    @property
    def selected(self) -> COARecord | None:
        """The selected COA, if there is one."""
        return next((c for c in self.coas if c.id == self.selected_coa), None)


class AnalysisRecord(_Record):
    """A side's mission analysis (planner.analysis.MissionAnalysis as written)."""

    side: str | None = None
    hour: float = 0.0
    posture: str = "defence"
    avenues: list[Avenue] = Field(default_factory=list)
    key_terrain: list[KeyTerrain] = Field(default_factory=list)
    sectors: list[Sector] = Field(default_factory=list)
    enemy_units_seen: int = 0
    enemy_strength_seen: float = 0.0
    enemy_supply_seen: list[str] = Field(default_factory=list)
    enemy_most_likely: EnemyCOA | None = None
    enemy_most_dangerous: EnemyCOA | None = None
    enemy_coas_distinct: bool = True
    notes: list[str] = Field(default_factory=list)
    doctrine: list[str] = Field(default_factory=list)

    @field_validator("key_terrain", mode="before")
    @classmethod
    def _places_of_version_1(cls, value: Any) -> Any:
        # Versions 1 and 2 wrote key terrain as a list of place ids.
        if isinstance(value, list):
            return [
                {"place": v, "score": 0.0, "avenues": 0, "reasons": []} if isinstance(v, str) else v
                for v in value
            ]
        return value

    @property
    def decisive_points(self) -> list[str]:
        """Places named decisive."""
        return [k.place for k in self.key_terrain if k.decisive]


# --- what happened ---------------------------------------------------------------------------


class UnitPosition(_Record):
    """Where a unit stood at a cycle's end."""

    place: str
    moving_to: str | None = None
    strength: float


class Situation(_Record):
    """The ground truth at a cycle's end."""

    strength: dict[str, float] = Field(default_factory=dict)
    control: dict[str, str | None] = Field(default_factory=dict)
    units: dict[str, UnitPosition] = Field(default_factory=dict)


EventKind = Literal[
    "battle_begun",
    "battle_ended",
    "control_changed",
    "arrival",
    "convoy_lost",
    "strike_tasked",
    "objective_deadline",
]


class CycleEvent(_Record):
    """One thing that happened on the ground truth during a cycle's act phase.

    `hour` is None when the engine does not log when it happened (a place occupied without a
    fight is only seen in the control at the cycle's end).
    """

    kind: EventKind
    hour: float | None
    place: str | None = None
    side: str | None = None  # who arrived, took the place, lost the convoy, flew the strike
    unit: str | None = None
    action: str | None = None  # strike_tasked: strike or interdict
    winner: str | None = None  # battle_ended: the side left holding the field (None: undecided)
    previous: str | None = None  # control_changed: the former holder; battles: the defender
    objectives: list[str] = Field(default_factory=list)  # "side:objective" ids at this place
    detail: str = ""


class CycleRecord(_Record):
    """One OODA cycle: each side's analysis and plan, then what the act phase produced."""

    cycle: int
    start_hour: float
    end_hour: float
    analyses: dict[str, AnalysisRecord] = Field(default_factory=dict)
    plans: dict[str, PlanRecord] = Field(default_factory=dict)
    situation: Situation = Field(default_factory=Situation)
    events: int = 0  # engine events processed (ground truth)
    event_log: list[CycleEvent] = Field(default_factory=list)


class BattleRecord(_Record):
    """A battle the engine fought to its end."""

    place: str
    start_hour: float
    end_hour: float
    winner: str | None = None
    defender: str | None = None


class LogisticsRow(_Record):
    """A side's supply convoys by fate."""

    sent: int = 0
    delivered: int = 0
    lost_to_ground: int = 0
    lost_to_air: int = 0
    undelivered: int = 0
    on_the_road: int = 0
    loads_delivered: float = 0.0


class OutcomeRecord(_Record):
    """How the campaign ended."""

    winner: str | None = None
    end_hour: float
    surviving_strength: dict[str, float]
    initial_strength: dict[str, float]
    objectives: dict[str, dict[str, bool]] = Field(default_factory=dict)
    attainment: dict[str, float] = Field(default_factory=dict)
    control: dict[str, str | None] = Field(default_factory=dict)
    battles: list[BattleRecord] = Field(default_factory=list)
    logistics: dict[str, LogisticsRow] = Field(default_factory=dict)

    def loss_fraction(self, side: str) -> float:
        """Share of `side`'s strength lost over the campaign."""
        initial = self.initial_strength.get(side, 0.0)
        return 1.0 - self.surviving_strength.get(side, 0.0) / initial if initial else 0.0


# --- judgement -------------------------------------------------------------------------------


class ForecastCheck(_Record):
    """A cycle's forecast for the selected COA beside what the ground truth produced.

    The forecast covers the wargame's look-ahead (`until_hour`); the observation is taken at
    the end of the last cycle that ended by then (`observed_hour`), so both span about the
    same hours.
    """

    cycle: int
    side: str
    coa: str
    start_hour: float
    until_hour: float
    observed_hour: float
    predicted_p_success: float
    predicted_p_success_ci95: tuple[float, float]
    predicted_loss_own: float
    predicted_loss_own_ci95: tuple[float, float] | None = None
    predicted_loss_enemy: float
    achieved: bool  # every objective held (or with its deadline past, achieved) at observed_hour
    loss_own: float  # share of the side's strength at start_hour lost by observed_hour
    loss_enemy: float


class Finding(_Record):
    """One line of "what went right / what went wrong", drawn from the data."""

    topic: Literal["objective", "losses", "forecast"]
    side: str
    good: bool
    text: str


class Assessment(_Record):
    """What went right and wrong: objectives against plan, losses against the limit, forecasts."""

    findings: list[Finding] = Field(default_factory=list)
    forecasts: list[ForecastCheck] = Field(default_factory=list)

    @property
    def went_right(self) -> list[Finding]:
        """Findings in the side's favour."""
        return [f for f in self.findings if f.good]

    @property
    def went_wrong(self) -> list[Finding]:
        """Findings against the side."""
        return [f for f in self.findings if not f.good]


class CitedPassage(_Record):
    """A doctrine passage cited by an analysis or a task."""

    id: str
    title: str = ""
    reference: str = ""


class RunStats(_Record):
    """Work done by the campaign."""

    events: int = 0
    replications: int = 0
    cycles: int = 0
    wall_seconds: float = 0.0


class AfterActionRecord(_Record):
    """The whole after-action record (aar.json)."""

    aar_version: int = Field(ge=1)
    scenario: ScenarioInfo
    seed: int
    planner: str
    sides: list[SideInfo]
    cycles: list[CycleRecord]
    outcome: OutcomeRecord
    doctrine_cited: list[CitedPassage] = Field(default_factory=list)
    stats: RunStats = Field(default_factory=RunStats)
    assessment: Assessment = Field(default_factory=Assessment)

    @property
    def title(self) -> str:
        """The scenario's name, or its id."""
        return self.scenario.name or self.scenario.id

    def side_names(self) -> dict[str, str]:
        """Side id -> display name."""
        return {side.id: side.name or side.id for side in self.sides}

    def to_json(self) -> str:
        """aar.json text (sorted keys, indented, as it has always been written)."""
        return json.dumps(self.model_dump(mode="json"), indent=2, sort_keys=True)


class AARError(Exception):
    """A file is not a readable after-action record; the message is one line."""


def load_aar(path: str | Path) -> AfterActionRecord:
    """Read and validate an aar.json.

    Raises:
        AARError: the file is missing, not JSON, or not an after-action record.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise AARError(f"{path}: cannot read: {err.strerror or err}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise AARError(f"{path}: not JSON: {err}") from None
    return parse_aar(data, source=str(path))


def parse_aar(data: Any, source: str = "<aar>") -> AfterActionRecord:
    """Validate decoded JSON as an after-action record (see `load_aar`)."""
    if not isinstance(data, dict):
        raise AARError(f"{source}: not an after-action record: expected a JSON object")
    try:
        return AfterActionRecord.model_validate(data)
    except ValidationError as err:
        errors = err.errors()
        first = errors[0]
        where = ".".join(str(part) for part in first["loc"]) or "<root>"
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise AARError(
            f"{source}: not an after-action record: {where}: {first['msg']}{more}"
        ) from None
