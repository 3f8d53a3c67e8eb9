"""The commander's decisions at a pause of the OODA loop: typed records, checks and rescoring.

A side the user commands pauses after its staff's comparison step. The commander then
approves the staff's selection, picks another wargamed COA, sets the decision weights (the
matrix is recomputed with them and shown again), or sends the staff back to revise with
guidance. Each decision is a `CommanderDecision` (a pydantic union discriminated by `kind`);
what it did is a `CommandRecord`, kept in the cycle's record of the AAR (`commands`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from planner.coa import COA
from planner.decide import MOST_DANGEROUS_WEIGHT, UNACCEPTABLE_PENALTY, decision_matrix
from sim.scenario import DEFAULT_WEIGHTS, Scenario

__all__ = [
    "Approve",
    "CommandRecord",
    "CommanderDecision",
    "Pause",
    "PendingDecision",
    "Pick",
    "Reweight",
    "Revise",
    "check_decision",
    "commanded_sides",
    "normalise_weights",
    "parse_decision",
    "pending_decision",
    "read_decision",
    "replaying",
    "rescore",
]

CRITERIA = tuple(DEFAULT_WEIGHTS)


class _Decision(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    side: str = Field(description="The commanded side the decision is for.")


class Approve(_Decision):
    """Approve the staff's selected COA."""

    kind: Literal["approve"] = "approve"


class Pick(_Decision):
    """Choose another of the wargamed COAs (one of the decision matrix's rows)."""

    kind: Literal["pick"] = "pick"
    coa: str


class Reweight(_Decision):
    """Set the decision weights of this side (from now on); the matrix is recomputed."""

    kind: Literal["weights"] = "weights"
    weights: dict[str, float]


class Revise(_Decision):
    """Send the staff back: it reruns revision and comparison; the guidance is recorded."""

    kind: Literal["revise"] = "revise"
    guidance: str = ""


#: One decision of the commander for one side.
CommanderDecision = Annotated[Approve | Pick | Reweight | Revise, Field(discriminator="kind")]
_DECISION: TypeAdapter[Approve | Pick | Reweight | Revise] = TypeAdapter(CommanderDecision)


def read_decision(data: Any) -> Approve | Pick | Reweight | Revise:
    """A decision from its JSON form (as it crosses a LangGraph resume)."""
    return _DECISION.validate_python(data)


class CommandRecord(BaseModel):
    """What one decision of the commander did (AAR: cycles[].commands)."""

    model_config = ConfigDict(extra="allow")

    cycle: int
    hour: float
    side: str
    decision: CommanderDecision
    accepted: bool = True
    outcome: str = ""


class PendingDecision(BaseModel):
    """A commanded side awaiting its commander: the staff's COAs, matrix and weights."""

    model_config = ConfigDict(extra="allow")

    side: str
    cycle: int = 0
    hour: float = 0.0
    selected_coa: str | None = None
    coas: list[dict[str, Any]] = Field(default_factory=list)  # every drafted COA, as planned
    matrix: list[dict[str, Any]] = Field(default_factory=list)  # decision-matrix rows
    weights: dict[str, float] = Field(default_factory=dict)  # normalised, as used
    valid: list[str] = Field(default_factory=list)  # COA ids the commander may pick
    notes: list[str] = Field(default_factory=list)
    error: str | None = None  # why the last decision was refused (asks again)


class Pause(BaseModel):
    """The loop paused for the commander: the sides awaiting a decision at this step."""

    cycle: int
    hour: float
    sides: dict[str, PendingDecision]

    def payload(self) -> dict[str, Any]:
        """The JSON form sent through the interrupt (also `plans`, as older callers read it)."""
        data = self.model_dump(mode="json")
        data["plans"] = data["sides"]
        return data


def commanded_sides(scenario: Scenario, spec: str | Iterable[str] | None) -> frozenset[str]:
    """The sides the user commands: None means the first agent side; "none" (or an empty
    list) none; else side ids, comma-separated or a list. Raises ValueError naming the
    sides that can be commanded."""
    agents = [side.id for side in scenario.sides if side.planner == "agent"]
    if spec is None:
        return frozenset(agents[:1])
    names = spec.split(",") if isinstance(spec, str) else list(spec)
    names = [name.strip() for name in names if name.strip()]
    if names in (["none"], []):
        return frozenset()
    unknown = [name for name in names if name not in agents]
    if unknown:
        raise ValueError(
            f"cannot command {', '.join(unknown)}: the sides planned by agents are "
            f"{', '.join(agents) or 'none'} (or 'none')"
        )
    return frozenset(names)


def normalise_weights(weights: dict[str, float]) -> dict[str, float]:
    """Weights checked (known criteria, finite, non-negative, not all zero) and scaled to
    sum to 1. Raises ValueError saying what is wrong."""
    unknown = sorted(set(weights) - set(CRITERIA))
    if unknown:
        raise ValueError(f"unknown criteria {', '.join(unknown)} (known: {', '.join(CRITERIA)})")
    for name, value in weights.items():
        if not (isinstance(value, int | float) and value == value and abs(value) != float("inf")):
            raise ValueError(f"weight {name}={value!r} is not a number")
        if value < 0:
            raise ValueError(f"weight {name}={value} is negative")
    total = sum(weights.values())
    if total <= 0:
        raise ValueError("the weights must not all be zero")
    return {name: value / total for name, value in weights.items()}


def check_decision(
    decision: Approve | Pick | Reweight | Revise, pending: PendingDecision
) -> Approve | Pick | Reweight | Revise:
    """The decision, with weights normalised; ValueError if it cannot apply (an unknown
    COA id lists the valid ones)."""
    if decision.side != pending.side:
        raise ValueError(f"decision for {decision.side}, but {pending.side} is asked")
    if isinstance(decision, Pick) and decision.coa not in pending.valid:
        raise ValueError(
            f"{pending.side}: unknown COA {decision.coa!r}; choose one of "
            f"{', '.join(pending.valid) or '(none wargamed)'}"
        )
    if isinstance(decision, Reweight):
        try:
            weights = normalise_weights(decision.weights)
        except ValueError as problem:
            raise ValueError(f"{pending.side}: {problem}") from None
        return decision.model_copy(update={"weights": weights})
    return decision


def pending_decision(
    side: str, plan: dict[str, Any], *, cycle: int, hour: float, error: str | None = None
) -> PendingDecision:
    """What the commander of `side` is shown for a plan of the loop's state."""
    return PendingDecision(
        side=side,
        cycle=cycle,
        hour=hour,
        selected_coa=plan.get("selected_coa"),
        coas=plan.get("coas", []),
        matrix=plan.get("matrix", []),
        weights=plan.get("weights", {}),
        valid=[row["coa"] for row in plan.get("matrix", [])],
        notes=plan.get("notes", []),
        error=error,
    )


def rescore(plan: dict[str, Any], weights: dict[str, float], loss_limit: float) -> dict[str, Any]:
    """The plan with its wargamed COAs' utilities, matrix and selection recomputed under new
    (normalised) weights, from the scores the wargame recorded (each enemy course weighted as
    in the wargame; the loss-limit penalty as before). Eliminations by the selection
    procedure stand; `revise` reruns the wargame itself."""
    coas = [COA.model_validate(c) for c in plan["coas"]]
    scored = [c for c in coas if c.scores]
    if not scored:
        return {**plan, "weights": weights}
    for coa in scored:
        coa.scores = {**coa.scores, "utility": _utility(coa, weights, loss_limit)}
    best, matrix = decision_matrix(scored)
    return {
        **plan,
        "coas": [c.model_dump(mode="json") for c in coas],
        "matrix": matrix,
        "selected_coa": best.id,
        "selected_by": "planner",
        "weights": weights,
    }


def _utility(coa: COA, weights: dict[str, float], limit: float) -> float:
    """A COA's utility under `weights`: per enemy course as `decide._scores` computes it,
    blended with the course weights the recorded utility implies."""
    side = coa.side or ""

    def course(scores: dict[str, Any]) -> float:
        own = scores["losses"][side]
        enemy = next((v for k, v in scores["losses"].items() if k != side), 0.0)
        criteria = {
            "p_success": scores["p_success"],
            "attainment": scores["attainment"],
            "own_survival": 1 - own,
            "enemy_loss": enemy,
        }
        value = sum(weights.get(k, 0.0) * v for k, v in criteria.items())
        return value - (UNACCEPTABLE_PENALTY if own > limit else 0.0)

    first = course(coa.scores)
    dangerous = coa.scores.get("vs_most_dangerous")
    if not dangerous:
        return round(first, 6)
    return round((1 - MOST_DANGEROUS_WEIGHT) * first + MOST_DANGEROUS_WEIGHT * course(dangerous), 6)


def parse_decision(side: str, text: str) -> Approve | Pick | Reweight | Revise:
    """A decision typed at the command line: "" or "approve"; "pick ID" or a bare COA id;
    "weights p_success=0.5,attainment=0.3"; "revise GUIDANCE". ValueError if malformed."""
    words = text.strip()
    verb, _, rest = words.partition(" ")
    verb, rest = verb.lower(), rest.strip()
    if verb in ("", "approve", "a", "y", "yes"):
        return Approve(side=side)
    if verb == "pick":
        if not rest:
            raise ValueError("pick needs a COA id, e.g. pick B")
        return Pick(side=side, coa=rest)
    if verb in ("weights", "weight", "w"):
        pairs: dict[str, float] = {}
        for item in filter(None, (part.strip() for part in rest.split(","))):
            name, equals, value = item.partition("=")
            try:
                if not equals:
                    raise ValueError
                pairs[name.strip()] = float(value)
            except ValueError:
                raise ValueError(f"{item!r} is not criterion=number") from None
        if not pairs:
            raise ValueError(f"weights needs criterion=number pairs ({', '.join(CRITERIA)})")
        return Reweight(side=side, weights=pairs)
    if verb == "revise":
        return Revise(side=side, guidance=rest)
    if " " not in words:
        return Pick(side=side, coa=words)
    raise ValueError(f"cannot read {text!r}: approve | pick ID | weights k=v,... | revise TEXT")


def replaying(records: Iterable[dict[str, Any]]) -> tuple[list[str], Any]:
    """The commanded sides and a commander giving the recorded decisions again, in order per
    (cycle, side) (`wargame replay` of a commanded run); a pause with none left approves."""
    queue = [CommandRecord.model_validate(r) for r in records]
    queue = [r for r in queue if r.accepted]

    def commander(pending: PendingDecision) -> Approve | Pick | Reweight | Revise:
        for i, record in enumerate(queue):
            if (record.cycle, record.side) == (pending.cycle, pending.side):
                del queue[i]
                return record.decision
        return Approve(side=pending.side)

    return sorted({r.side for r in queue}), commander
