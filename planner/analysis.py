"""Orient: mission analysis of a side's perceived situation, grounded in retrieved doctrine.

Produces specified tasks (from objectives), constraints, key terrain, relative combat power,
where the enemy's supply convoys were seen, and the enemy's most likely and most dangerous
courses of action as engine orders for the believed
enemy units, so COAs can be wargamed against both.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from doctrine import DoctrineIndex
from sim.scenario import Scenario
from sim.state import Tasking, WorldState
from sim.theater import Theater

__all__ = ["MissionAnalysis", "analyse"]


@dataclass
class MissionAnalysis:
    """What the staff knows and assumes before drafting COAs."""

    side: str
    enemy: str
    hour: float
    specified_tasks: list[str]
    constraints: list[str]
    key_terrain: list[str]
    objectives: list[dict]
    own_strength: float
    enemy_strength_seen: float
    enemy_units_seen: int
    enemy_main_body: str | None  # place with the most believed enemy strength
    # places where enemy supply convoys were reported, most sightings first
    enemy_supply_seen: list[str] = field(default_factory=list)
    enemy_most_likely: list[Tasking] = field(default_factory=list)
    enemy_most_dangerous: list[Tasking] = field(default_factory=list)
    enemy_coa_notes: dict[str, str] = field(default_factory=dict)
    doctrine: list[str] = field(default_factory=list)  # passage ids consulted

    def to_dict(self) -> dict:
        """JSON-ready form for the AAR."""
        return {
            "side": self.side,
            "hour": self.hour,
            "specified_tasks": self.specified_tasks,
            "constraints": self.constraints,
            "key_terrain": self.key_terrain,
            "own_strength": round(self.own_strength, 2),
            "enemy_strength_seen": round(self.enemy_strength_seen, 2),
            "enemy_units_seen": self.enemy_units_seen,
            "enemy_main_body": self.enemy_main_body,
            "enemy_supply_seen": self.enemy_supply_seen,
            "enemy_coas": self.enemy_coa_notes,
            "doctrine": self.doctrine,
        }


def analyse(
    scenario: Scenario,
    theater: Theater,
    believed: WorldState,
    side: str,
    index: DoctrineIndex,
) -> MissionAnalysis:
    """Mission analysis for `side` from the world it believes in."""
    mission = scenario.side(side).mission
    enemy = scenario.enemy_of(side)
    hour = believed.hour
    objectives = [
        {
            "id": o.id,
            "place": o.place,
            "kind": o.kind,
            "deadline_hours": o.deadline_hours,
            "weight": o.weight,
            "held": believed.control.get(o.place) == side,
        }
        for o in mission.objectives
        if o.deadline_hours >= hour
    ]
    specified = [
        f"{o['kind']} {theater.places[o['place']].name or o['place']} by H+{o['deadline_hours']:g}"
        for o in objectives
    ]
    constraints = [f"own losses at most {mission.constraints.max_loss_fraction:.0%}"]
    constraints += [f"no movement through {p}" for p in mission.constraints.restricted_places]
    constraints += mission.constraints.notes
    enemy_units = [u for u in believed.units.values() if u.side == enemy and u.alive]
    own_units = [u for u in believed.units.values() if u.side == side and u.alive]
    mass: dict[str, float] = {}
    for unit in enemy_units:
        mass[unit.location] = mass.get(unit.location, 0.0) + unit.strength
    main_body = max(sorted(mass), key=lambda p: mass[p]) if mass else None
    supply_seen = Counter(s["place"] for s in believed.convoy_sightings.get(side, []))
    key_terrain = _key_terrain(theater, objectives, main_body)

    likely, dangerous, notes = _enemy_courses(scenario, theater, believed, side, objectives)
    query = " ".join(
        ["mission analysis key terrain enemy most likely most dangerous course of action"]
        + [o["kind"] for o in objectives]
    )
    consulted = [hit.id for hit in index.search(query, k=3)]
    return MissionAnalysis(
        side=side,
        enemy=enemy,
        hour=hour,
        specified_tasks=specified,
        constraints=constraints,
        key_terrain=key_terrain,
        objectives=objectives,
        own_strength=sum(u.strength for u in own_units),
        enemy_strength_seen=sum(u.strength for u in enemy_units),
        enemy_units_seen=len(enemy_units),
        enemy_main_body=main_body,
        enemy_supply_seen=sorted(supply_seen, key=lambda p: (-supply_seen[p], p)),
        enemy_most_likely=likely,
        enemy_most_dangerous=dangerous,
        enemy_coa_notes=notes,
        doctrine=consulted,
    )


def _key_terrain(theater: Theater, objectives: list[dict], main_body: str | None) -> list[str]:
    """Objectives, plus the places on the enemy main body's way to them (OAKOC key terrain)."""
    places = [o["place"] for o in objectives]
    if main_body is not None:
        land = frozenset({"road", "rail"})
        for objective in objectives:
            path = theater.path(land, main_body, objective["place"])
            if path and len(path) > 2:
                places += path[1:-1]
    return list(dict.fromkeys(places))[:8]


def _enemy_courses(
    scenario: Scenario,
    theater: Theater,
    believed: WorldState,
    side: str,
    objectives: list[dict],
) -> tuple[list[Tasking], list[Tasking], dict[str, str]]:
    """Enemy most likely COA (press on our nearest objective / hold) and most dangerous (mass)."""
    enemy = scenario.enemy_of(side)
    units = sorted(
        (u for u in believed.units.values() if u.side == enemy and u.alive and u.domain != "air"),
        key=lambda u: u.id,
    )
    targets = [o["place"] for o in objectives if o["held"]] or [o["place"] for o in objectives]
    if not units or not targets:
        return [], [], {"most_likely": "no enemy seen", "most_dangerous": "no enemy seen"}
    main = max(objectives, key=lambda o: (o["weight"], -o["deadline_hours"]))["place"]
    likely, dangerous = [], []
    for unit in units:
        modes = scenario.unit_types[unit.type].modes
        reachable = [
            (theater.travel_hours(modes, path, unit.speed_kph), place)
            for place in targets
            if (path := theater.path(modes, unit.location, place)) is not None
        ]
        if reachable:
            likely.append(Tasking(unit.id, "attack", min(reachable)[1]))
        else:
            likely.append(Tasking(unit.id, "defend", None))
        if theater.path(modes, unit.location, main) is not None:
            dangerous.append(Tasking(unit.id, "attack", main))
        else:
            dangerous.append(Tasking(unit.id, "defend", None))
    notes = {
        "most_likely": "enemy presses each unit on its nearest objective of ours",
        "most_dangerous": f"enemy masses every unit on {main}",
    }
    return likely, dangerous, notes
