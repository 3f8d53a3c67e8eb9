"""The world as plain data: units, control, battles, detections. Snapshots between cycles.

SimPy processes are generators and cannot be copied, so everything the engine needs to go on
(including a unit part-way along a route and a battle part-way through a step) lives here; the
engine is rebuilt from a `WorldState` each cycle and the state read back out.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any, TypeVar

from pydantic import TypeAdapter

from sim.scenario import Scenario

__all__ = [
    "BattleState",
    "ConvoyState",
    "Detection",
    "Leg",
    "Tasking",
    "UnitState",
    "WorldState",
    "initial_state",
]


@dataclass
class Leg:
    """A route being travelled: from the mover's `location` to `to`, departed at `depart_hour`
    and due at `arrive_hour` (a contact on the route may turn the mover back: then `to` is
    where it came from and the hours are those of the way back)."""

    to: str
    depart_hour: float
    arrive_hour: float

    @property
    def hours(self) -> float:
        """How long the leg takes."""
        return self.arrive_hour - self.depart_hour


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
    path: list[str] = field(default_factory=list)  # places still to reach after the leg's end
    leg: Leg | None = None  # set while travelling a route
    legs: int = 0  # routes completed; keys the unit's travel-time draws
    supply: float = 1.0
    berthing: bool = False  # at a capacity-limited place, waiting for or using a berth
    queued_hour: float | None = None  # waiting for a slot (route, berth, airfield) since
    busy_until: float | None = None  # holding a berth or airfield slot until (landing, rearming)

    @property
    def next_place(self) -> str | None:
        """Where the route being travelled ends (None when not on a route)."""
        return None if self.leg is None else self.leg.to

    @property
    def alive(self) -> bool:
        """Whether the unit still has strength."""
        return self.strength > 1e-9

    def active(self, hour: float) -> bool:
        """Alive and already arrived in theater."""
        return self.alive and self.arrives_hour <= hour


@dataclass(frozen=True)
class Detection:
    """What a side learnt about an enemy unit at one scan (a report never changes)."""

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
    luck: float = 0.0  # this battle's shift of log(attacker's coefficients / defender's)
    losses: dict[str, float] = field(default_factory=dict)  # side -> strength lost so far
    broke: bool = False  # a side broke off (fell below its break fraction) in this battle


@dataclass
class ConvoyState:
    """A supply convoy on its way from a source to a unit (cargo in basic loads)."""

    id: str
    side: str
    for_unit: str
    cargo: float
    location: str
    path: list[str] = field(default_factory=list)
    leg: Leg | None = None  # set while driving a route
    legs: int = 0
    queued_hour: float | None = None  # waiting for a route's slot (a bridge) since

    @property
    def next_place(self) -> str | None:
        """Where the route being driven ends (None when not on a route)."""
        return None if self.leg is None else self.leg.to


MoverT = TypeVar("MoverT", UnitState, ConvoyState)


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
        """An independent deep copy (reports, being immutable, are shared)."""
        return WorldState(
            hour=self.hour,
            units={uid: _copy_mover(unit) for uid, unit in self.units.items()},
            control=dict(self.control),
            detections={
                side: {uid: list(reports) for uid, reports in seen.items()}
                for side, seen in self.detections.items()
            },
            battles={
                place: replace(
                    battle,
                    contact_strength=dict(battle.contact_strength),
                    losses=dict(battle.losses),
                )
                for place, battle in self.battles.items()
            },
            objective_log=dict(self.objective_log),
            battle_log=[dict(entry) for entry in self.battle_log],
            convoys={cid: _copy_mover(convoy) for cid, convoy in self.convoys.items()},
            convoys_sent=self.convoys_sent,
            logistics_log=[dict(entry) for entry in self.logistics_log],
            convoy_sightings={
                side: [dict(entry) for entry in sightings]
                for side, sightings in self.convoy_sightings.items()
            },
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for checkpoints and reports)."""
        return _adapter().dump_python(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> WorldState:
        """Inverse of `to_dict` (validated: a malformed snapshot raises pydantic's error).
        Snapshots written before the `leg` record (next_place, depart_hour, arrive_hour)
        are read too, so older checkpoints resume."""
        if any("next_place" in m for group in ("units", "convoys") for m in _movers(data, group)):
            data = {**data, **{g: _with_legs(_movers_by_id(data, g)) for g in ("units", "convoys")}}
        return _adapter().validate_python(data)

    def strength_by_side(self) -> dict[str, float]:
        """Total alive strength of each side (including reinforcements not yet arrived)."""
        totals: dict[str, float] = {}
        for unit in self.units.values():
            totals[unit.side] = totals.get(unit.side, 0.0) + unit.strength
        return totals


def _movers(data: dict[str, Any], group: str) -> list[dict[str, Any]]:
    return list(data.get(group, {}).values())


def _movers_by_id(data: dict[str, Any], group: str) -> dict[str, dict[str, Any]]:
    return dict(data.get(group, {}))


def _with_legs(movers: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Old-form movers with their three leg fields folded into one `leg`."""
    folded = {}
    for key, mover in movers.items():
        mover = dict(mover)
        to = mover.pop("next_place", None)
        depart, arrive = mover.pop("depart_hour", None), mover.pop("arrive_hour", None)
        if "leg" not in mover:
            mover["leg"] = None if to is None else Leg(to, depart, arrive)
        folded[key] = mover
    return folded


def _copy_mover(mover: MoverT) -> MoverT:
    """A unit or convoy with its own path and leg."""
    duplicate = copy.copy(mover)
    duplicate.path = list(mover.path)
    if mover.leg is not None:
        duplicate.leg = replace(mover.leg)
    return duplicate


@cache
def _adapter() -> TypeAdapter[WorldState]:
    """Pydantic's (de)serialiser of the nested dataclasses, built once."""
    return TypeAdapter(WorldState)


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
