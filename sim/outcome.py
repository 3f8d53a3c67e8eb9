"""Mission outcome of a world state, and each side's perceived picture of it.

`evaluate` scores objectives (deadlines logged by the engine; a deadline still ahead counts the
current holder), losses and the winner. `perceived_state` builds the world a side believes in:
its own units as they are, enemy units only as their latest reported detections, so planners
wargame what they believe rather than the ground truth.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sim.scenario import Scenario
from sim.state import UnitState, WorldState

__all__ = [
    "Outcome",
    "SideResult",
    "evaluate",
    "logistics_summary",
    "mission_over",
    "perceived_state",
]


@dataclass
class SideResult:
    """How one side stands against its mission."""

    side: str
    objectives: dict[str, bool]
    attainment: float  # weighted share of objectives achieved
    success: bool  # every objective achieved
    strength: float
    initial_strength: float

    @property
    def loss_fraction(self) -> float:
        """Share of the side's strength lost."""
        return 1.0 - self.strength / self.initial_strength if self.initial_strength else 0.0


@dataclass
class Outcome:
    """Result of a campaign or of one wargame replication."""

    hour: float
    winner: str | None
    sides: dict[str, SideResult] = field(default_factory=dict)


def evaluate(scenario: Scenario, state: WorldState) -> Outcome:
    """Score every side's objectives and losses, and name the winner if there is one."""
    results = {}
    for side in scenario.sides:
        achieved = {}
        for objective in side.mission.objectives:
            key = f"{side.id}:{objective.id}"
            holder = state.objective_log.get(key, state.control.get(objective.place))
            achieved[objective.id] = holder == side.id
        weights = {o.id: o.weight for o in side.mission.objectives}
        total_weight = sum(weights.values())
        attainment = (
            sum(weights[k] for k, ok in achieved.items() if ok) / total_weight
            if total_weight
            else 0.0
        )
        own = [u for u in state.units.values() if u.side == side.id]
        results[side.id] = SideResult(
            side=side.id,
            objectives=achieved,
            attainment=attainment,
            success=bool(achieved) and all(achieved.values()),
            strength=sum(u.strength for u in own),
            initial_strength=sum(u.initial_strength for u in own),
        )
    winners = [s for s, r in results.items() if r.success]
    alive = [s for s, r in results.items() if r.strength > 1e-9]
    if len(alive) == 1:  # annihilation decides, whatever the objectives say
        winner: str | None = alive[0]
    elif len(winners) == 1:
        winner = winners[0]
    else:
        winner = None
    return Outcome(hour=state.hour, winner=winner, sides=results)


def mission_over(scenario: Scenario, state: WorldState) -> bool:
    """True at the horizon, once every deadline has passed, or when a side has nothing left."""
    if state.hour >= scenario.settings.horizon_hours - 1e-9:
        return True
    deadlines = [o.deadline_hours for s in scenario.sides for o in s.mission.objectives]
    if deadlines and state.hour >= max(deadlines) - 1e-9:
        return True
    strength = state.strength_by_side()
    return any(strength.get(side.id, 0.0) <= 1e-9 for side in scenario.sides)


def perceived_state(scenario: Scenario, state: WorldState, side: str) -> WorldState:
    """The world as `side` believes it: own units and convoys true, enemy units from reported
    detections, enemy convoys only as reported sightings (where and when one was seen).

    An enemy unit appears only if the side has a report of it that has arrived (reported_hour at
    or before now) and is not stale; it stands where and as strong as last reported.
    """
    stale = scenario.side(side).track_stale_hours
    believed = state.clone()
    believed.detections = {s: {} for s in state.detections}
    believed.battles = {}
    # The enemy's convoys and supply record are not the side's to know.
    believed.convoys = {cid: c for cid, c in believed.convoys.items() if c.side == side}
    believed.logistics_log = [e for e in believed.logistics_log if e["side"] == side]
    believed.convoy_sightings = {
        side: [
            sighting
            for sighting in state.convoy_sightings.get(side, [])
            if sighting["reported_hour"] <= state.hour
            and state.hour - sighting["seen_hour"] <= stale
        ]
    }
    units = {}
    for uid, unit in state.units.items():
        if unit.side == side:
            units[uid] = believed.units[uid]
    for uid, reports in state.detections.get(side, {}).items():
        usable = [r for r in reports if r.reported_hour <= state.hour]
        if not usable or state.hour - usable[-1].seen_hour > stale:
            continue
        latest = usable[-1]
        truth = state.units[uid]
        unit_type = scenario.unit_types[latest.type]
        units[uid] = UnitState(
            id=uid,
            side=truth.side,
            type=latest.type,
            domain=unit_type.domain,
            strength=latest.strength,
            initial_strength=latest.strength,
            location=latest.place,
            posture="defend",
            speed_kph=unit_type.speed_kph,
        )
    believed.units = units
    return believed


def logistics_summary(scenario: Scenario, world: WorldState) -> dict[str, dict[str, float]]:
    """Per side: convoys sent, delivered, lost (to ground forces, to air), undelivered and still
    on the road, and the basic loads delivered."""
    summary = {
        side.id: {
            "sent": 0,
            "delivered": 0,
            "lost_to_ground": 0,
            "lost_to_air": 0,
            "undelivered": 0,
            "on_the_road": 0,
            "loads_delivered": 0.0,
        }
        for side in scenario.sides
    }
    for entry in world.logistics_log:
        row = summary[entry["side"]]
        row["sent"] += 1
        result = entry["result"]
        if result == "delivered":
            row["delivered"] += 1
            row["loads_delivered"] = round(row["loads_delivered"] + entry["cargo"], 6)
        elif result.endswith("ground forces"):
            row["lost_to_ground"] += 1
        elif result.endswith("air interdiction"):
            row["lost_to_air"] += 1
        else:
            row["undelivered"] += 1
    for convoy in world.convoys.values():
        summary[convoy.side]["sent"] += 1
        summary[convoy.side]["on_the_road"] += 1
    return summary
