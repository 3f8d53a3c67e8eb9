"""The world as plain data: units, control, battles, detections. Snapshots between cycles.

SimPy processes are generators and cannot be copied, so everything the engine needs to go on
(including a unit part-way along a route and a battle part-way through a step) lives here; the
engine is rebuilt from a `WorldState` each cycle and the state read back out.
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass, field
from typing import Any

from sim.scenario import Scenario

__all__ = [
    "BattleState",
    "ConvoyState",
    "Detection",
    "Tasking",
    "UnitState",
    "WorldState",
    "initial_state",
]


@dataclass
class UnitState:
    """One unit's situation."""

    id: str
    side: str
    type: str
    domain: str
    strength: float
    initial_strength: float
    location: str
    posture: str
    speed_kph: float
    arrives_hour: float = 0.0
    action: str = "hold"
    target: str | None = None
    path: list[str] = field(default_factory=list)  # places still to reach after next_place
    next_place: str | None = None  # set while travelling a route
    depart_hour: float | None = None
    arrive_hour: float | None = None
    legs: int = 0  # routes completed; keys the unit's travel-time draws
    supply: float = 1.0
    berthing: bool = False  # at a capacity-limited place, waiting for or using a berth
    queued_hour: float | None = None  # waiting for a slot (route, berth, airfield) since
    busy_until: float | None = None  # holding a berth or airfield slot until (landing, rearming)

    @property
    def alive(self) -> bool:
        """Whether the unit still has strength."""
        return self.strength > 1e-9

    def active(self, hour: float) -> bool:
        """Alive and already arrived in theater."""
        return self.alive and self.arrives_hour <= hour


@dataclass
class Detection:
    """What a side learnt about an enemy unit at one scan."""

    unit: str
    type: str
    place: str
    strength: float  # estimate
    seen_hour: float
    reported_hour: float  # when the report reaches the side's picture


@dataclass
class BattleState:
    """A battle in progress at a place (one per place)."""

    place: str
    start_hour: float
    last_tick: float
    defender: str | None
    contact_strength: dict[str, float]


@dataclass
class ConvoyState:
    """A supply convoy on its way from a source to a unit (cargo in basic loads)."""

    id: str
    side: str
    for_unit: str
    cargo: float
    location: str
    path: list[str] = field(default_factory=list)
    next_place: str | None = None
    depart_hour: float | None = None
    arrive_hour: float | None = None
    legs: int = 0
    queued_hour: float | None = None  # waiting for a route's slot (a bridge) since


@dataclass
class Tasking:
    """An order for one unit: `action` towards `target` (a place id), from `at_hour` (None:
    at once). Phased plans are lists of taskings with their hours."""

    unit: str
    action: str
    target: str | None = None
    at_hour: float | None = None


@dataclass
class WorldState:
    """Everything that persists between engine runs."""

    hour: float
    units: dict[str, UnitState]
    control: dict[str, str | None]
    detections: dict[str, dict[str, list[Detection]]]  # observer side -> unit id -> newest last
    battles: dict[str, BattleState] = field(default_factory=dict)
    objective_log: dict[str, str | None] = field(default_factory=dict)  # id -> holder at deadline
    battle_log: list[dict[str, Any]] = field(default_factory=list)
    convoys: dict[str, ConvoyState] = field(default_factory=dict)
    convoys_sent: int = 0  # numbers convoy ids
    logistics_log: list[dict[str, Any]] = field(default_factory=list)  # deliveries and losses
    # observer side -> sightings of enemy convoys (convoy, place, seen_hour, reported_hour)
    convoy_sightings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def clone(self) -> WorldState:
        """An independent deep copy."""
        return copy.deepcopy(self)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for checkpoints and reports)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorldState:
        """Inverse of `to_dict`."""
        return cls(
            hour=data["hour"],
            units={k: UnitState(**v) for k, v in data["units"].items()},
            control=dict(data["control"]),
            detections={
                side: {uid: [Detection(**d) for d in items] for uid, items in per_side.items()}
                for side, per_side in data["detections"].items()
            },
            battles={k: BattleState(**v) for k, v in data["battles"].items()},
            objective_log=dict(data["objective_log"]),
            battle_log=list(data["battle_log"]),
            convoys={k: ConvoyState(**v) for k, v in data.get("convoys", {}).items()},
            convoys_sent=data.get("convoys_sent", 0),
            logistics_log=list(data.get("logistics_log", [])),
            convoy_sightings={
                side: list(items) for side, items in data.get("convoy_sightings", {}).items()
            },
        )

    def strength_by_side(self) -> dict[str, float]:
        """Total alive strength of each side (including reinforcements not yet arrived)."""
        totals: dict[str, float] = {}
        for unit in self.units.values():
            totals[unit.side] = totals.get(unit.side, 0.0) + unit.strength
        return totals


def initial_state(scenario: Scenario) -> WorldState:
    """The world at hour 0 of a scenario."""
    units = {}
    for spec in scenario.units:
        unit_type = scenario.unit_types[spec.type]
        units[spec.id] = UnitState(
            id=spec.id,
            side=spec.side,
            type=spec.type,
            domain=unit_type.domain,
            strength=spec.strength,
            initial_strength=spec.strength,
            location=spec.location,
            posture=spec.posture,
            speed_kph=spec.speed_kph or unit_type.speed_kph,
            arrives_hour=spec.arrives_hour,
        )
    return WorldState(
        hour=0.0,
        units=units,
        control={place.id: place.control for place in scenario.places},
        detections={side.id: {} for side in scenario.sides},
    )
