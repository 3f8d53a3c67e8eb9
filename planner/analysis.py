"""Orient: mission analysis of a side's perceived situation, from the theater graph and doctrine.

What a staff produces before it draws COAs (FM 5-0 ch. 9, ATP 2-01.3 on terrain and enemy):

- **avenues of approach**: the k fastest distinct paths from each concentration of enemy
  ground (or naval) forces to each of our objectives, by the route modes those forces can use;
- **key terrain and decisive points**: places many approaches share (weighted by the enemy
  strength on them), crossings and junctions; a place on most of the threat is decisive;
- **relative combat power** per avenue: our strength on or behind it against the enemy seen at
  its origin, raised by a stated prior for enemy forces not seen;
- **sectors**: one per objective we hold, with the avenues that end there and the threat each
  carries, which the defensive schemes allocate forces to by FM 6-0's planning ratios;
- the enemy's **most likely** and **most dangerous** COAs as engine orders for the believed enemy
  units, made to differ in objective or axis; where only one course exists, it is wargamed once.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter, defaultdict

import networkx as nx
from pydantic import BaseModel, ConfigDict, Field

from doctrine import DoctrineIndex
from sim.scenario import DOMAIN_MODES, Scenario
from sim.state import Tasking, UnitState, WorldState
from sim.theater import Theater
from sim.unit_types import TERRAIN_DEFENSE_FACTOR

__all__ = ["Avenue", "EnemyCOA", "KeyTerrain", "MissionAnalysis", "Sector", "analyse"]

#: Distinct approaches kept per (concentration, objective): enough to tell a main axis from
#: an alternate one without listing every detour.
AVENUES_PER_PAIR = 3
#: An alternate approach longer than this multiple of the fastest one is not a real avenue.
AVENUE_DETOUR_LIMIT = 1.6
#: Planning assumption for enemy forces not seen: a sensor picture rarely holds every unit
#: (ATP 2-01.3: templated but unlocated units), so we assume a quarter more than we see.
UNSEEN_PRIOR = 0.25
#: A place counts as a concentration if it holds at least this share of the enemy seen.
CONCENTRATION_SHARE = 0.05
KEY_TERRAIN_KEPT = 10
#: A place on approaches carrying at least this share of the threat is a decisive point.
DECISIVE_SHARE = 2 / 3
#: A grouping is taken to threaten the objectives at most this multiple of the time to its
#: nearest one.
OBJECTIVE_REACH = 2.0


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True)


class Avenue(_Record):
    """An approach from an enemy concentration to one of our objectives (or, attacking, from
    one of our concentrations to an objective we must seize)."""

    id: str
    domain: str  # "land" (roads, rail, cross-country; amphibious forces also by sea) or "sea"
    origin: str
    objective: str
    path: list[str]
    hours: float  # at the marching speed of the forces that would use it
    speed_kph: float  # that marching speed (the force's median road speed)
    modes: list[str]  # route modes the force moves by
    strength: float  # force at the origin that would use it (seen, plus the unseen prior)
    own_strength: float  # our strength standing on the avenue's places or at the objective
    ratio: float  # own : enemy relative combat power on the avenue


class KeyTerrain(_Record):
    """A place whose control matters to many approaches."""

    place: str
    score: float  # enemy strength of the avenues through it, plus terrain and network bonuses
    avenues: int
    reasons: list[str]
    decisive: bool = False


class Sector(_Record):
    """Ground defended as one: the objectives whose approaches enter it through one gate, in
    depth, with those approaches and the threat they carry."""

    id: str
    objectives: list[str]  # nearest the enemy first
    weight: float
    avenues: list[str]  # avenue ids, main (most threatening) first
    threat: float  # enemy strength expected on this sector
    positions: list[str]  # defensible places from forward (towards the enemy) to the objective


class EnemyCOA(_Record):
    """An enemy course of action as engine orders for the enemy units we believe in."""

    name: str
    description: str
    objective: str | None
    axis: list[str] = Field(default_factory=list)
    taskings: list[Tasking] = Field(default_factory=list)


class MissionAnalysis(_Record):
    """What the staff knows and assumes before drafting COAs (JSON-ready via model_dump)."""

    side: str
    enemy: str
    hour: float
    posture: str  # "defence" or "offence": which schemes fit the mission
    specified_tasks: list[str]
    constraints: list[str]
    objectives: list[dict]
    own_strength: float
    enemy_strength_seen: float
    enemy_units_seen: int
    enemy_main_body: str | None  # place with the most believed enemy strength
    unseen_prior: float = UNSEEN_PRIOR
    avenues: list[Avenue] = Field(default_factory=list)
    key_terrain: list[KeyTerrain] = Field(default_factory=list)
    sectors: list[Sector] = Field(default_factory=list)
    # places where enemy supply convoys were reported, most sightings first
    enemy_supply_seen: list[str] = Field(default_factory=list)
    enemy_most_likely: EnemyCOA | None = None
    enemy_most_dangerous: EnemyCOA | None = None
    enemy_coas_distinct: bool = True
    notes: list[str] = Field(default_factory=list)
    doctrine: list[str] = Field(default_factory=list)  # passage ids consulted

    @property
    def decisive_points(self) -> list[str]:
        """Places named decisive: on most of the threat's approaches."""
        return [k.place for k in self.key_terrain if k.decisive]

    def enemy_courses(self) -> list[EnemyCOA]:
        """The enemy COAs to wargame against: most likely first; the most dangerous only
        when it differs."""
        courses = [c for c in (self.enemy_most_likely, self.enemy_most_dangerous) if c]
        return courses[:1] if not self.enemy_coas_distinct else courses

    def avenue(self, avenue_id: str) -> Avenue:
        """The avenue with this id."""
        return next(a for a in self.avenues if a.id == avenue_id)


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
    enemy_units = _alive(believed, enemy)
    own_units = _alive(believed, side)
    seizing = sum(1 for o in objectives if not o["held"])
    posture = "offence" if objectives and seizing * 2 >= len(objectives) else "defence"

    mass: dict[str, float] = defaultdict(float)
    for unit in enemy_units:
        if unit.domain != "air":
            mass[unit.location] += unit.strength
    main_body = max(sorted(mass), key=lambda p: mass[p]) if mass else None
    supply_seen = Counter(s["place"] for s in believed.convoy_sightings.get(side, []))

    if posture == "defence":
        avenues = _avenues(scenario, theater, enemy_units, own_units, objectives, "E")
    else:  # our axes of advance, and the enemy's ways to reinforce the objectives
        avenues = _avenues(scenario, theater, own_units, enemy_units, objectives, "A", own=True)
        avenues += _avenues(scenario, theater, enemy_units, own_units, objectives, "E")
    key_terrain = _key_terrain(theater, avenues, objectives, "A" if posture == "offence" else "E")
    sectors = _sectors(avenues, objectives, believed.control, enemy) if posture == "defence" else []
    likely, dangerous, distinct, notes = _enemy_courses(
        scenario, theater, believed, side, objectives, avenues, posture
    )
    query = " ".join(
        ["mission analysis avenues of approach key terrain decisive points"]
        + ["enemy most likely most dangerous course of action", posture]
    )
    consulted = [hit.id for hit in index.search(query, k=3)]
    return MissionAnalysis(
        side=side,
        enemy=enemy,
        hour=hour,
        posture=posture,
        specified_tasks=specified,
        constraints=constraints,
        objectives=objectives,
        own_strength=round(sum(u.strength for u in own_units), 3),
        enemy_strength_seen=round(sum(u.strength for u in enemy_units), 3),
        enemy_units_seen=len(enemy_units),
        enemy_main_body=main_body,
        avenues=avenues,
        key_terrain=key_terrain,
        sectors=sectors,
        enemy_supply_seen=sorted(supply_seen, key=lambda p: (-supply_seen[p], p)),
        enemy_most_likely=likely,
        enemy_most_dangerous=dangerous,
        enemy_coas_distinct=distinct,
        notes=notes,
        doctrine=consulted,
    )


def _alive(believed: WorldState, side: str) -> list[UnitState]:
    return sorted(
        (u for u in believed.units.values() if u.side == side and u.alive), key=lambda u: u.id
    )


def _force_modes(scenario: Scenario, units: list[UnitState], domain: str) -> frozenset[str]:
    """Route modes the units of a domain can use between them (amphibious land units add sea)."""
    modes: set[str] = set()
    for unit in units:
        if unit.domain == domain:
            modes |= scenario.unit_types[unit.type].modes
    return frozenset(modes) or DOMAIN_MODES[domain]


def _avenues(
    scenario: Scenario,
    theater: Theater,
    movers: list[UnitState],
    defenders: list[UnitState],
    objectives: list[dict],
    prefix: str,
    own: bool = False,
) -> list[Avenue]:
    """The k fastest distinct approaches from each concentration of `movers` to each
    objective, per domain (land forces by their modes, ships by sea)."""
    avenues: list[Avenue] = []
    defended = defaultdict(float)
    for unit in defenders:
        if unit.domain != "air":
            defended[unit.location] += unit.strength
    targets = [o["place"] for o in objectives]
    for domain in ("land", "sea"):
        force = [u for u in movers if u.domain == domain and u.strength > 0]
        if not force or not targets:
            continue
        total = sum(u.strength for u in force)
        concentrations: dict[str, float] = defaultdict(float)
        for unit in force:
            concentrations[unit.location] += unit.strength
        origins = [
            p for p in sorted(concentrations) if concentrations[p] >= CONCENTRATION_SHARE * total
        ]
        modes = _force_modes(scenario, force, domain)
        graph = theater.domain_graph(modes)
        speed = sorted(u.speed_kph for u in force)[len(force) // 2]
        # Our own axes go to every objective we must take; a threat only to those near it.
        reach = {o: set(targets) if own else _within_reach(graph, o, targets) for o in origins}
        for origin, objective in itertools.product(origins, targets):
            if objective not in reach[origin]:
                continue
            strength = concentrations[origin] * (1.0 if own else 1.0 + UNSEEN_PRIOR)
            for path in _distinct_paths(graph, origin, objective):
                hours = theater.travel_hours(modes, path, speed)
                own_strength = sum(defended[p] for p in path[1:])
                ratio = own_strength / strength if strength else math.inf
                if own:  # our axis: relative combat power is ours against the defenders
                    ratio = strength / max(own_strength * (1.0 + UNSEEN_PRIOR), 1e-9)
                avenues.append(
                    Avenue(
                        id=f"{prefix}{len(avenues) + 1}",
                        domain=domain,
                        origin=origin,
                        objective=objective,
                        path=path,
                        hours=round(hours, 2),
                        speed_kph=speed,
                        modes=sorted(modes),
                        strength=round(strength, 3),
                        own_strength=round(own_strength if not own else strength, 3),
                        ratio=round(min(ratio, 99.0), 3),
                    )
                )
    return avenues


def _within_reach(graph: nx.Graph, origin: str, targets: list[str]) -> set[str]:
    """The objectives a force at `origin` would make for: those at most OBJECTIVE_REACH times
    as far (in hours) as the nearest one (a grouping threatens its neighbourhood, not the
    whole theater)."""
    if origin not in graph:
        return set()
    hours = nx.single_source_dijkstra_path_length(graph, origin, weight="cost")
    reachable = {t: hours[t] for t in targets if t in hours and t != origin}
    if not reachable:
        return set()
    nearest = min(reachable.values())
    return {t for t, h in reachable.items() if h <= OBJECTIVE_REACH * nearest + 1e-9}


def _distinct_paths(graph: nx.Graph, source: str, target: str) -> list[list[str]]:
    """Up to AVENUES_PER_PAIR fastest simple paths that differ in their interior places, none
    longer than AVENUE_DETOUR_LIMIT times the fastest."""
    if source not in graph or target not in graph:
        return []
    kept: list[list[str]] = []
    best = None
    try:
        for path in nx.shortest_simple_paths(graph, source, target, weight="cost"):
            cost = nx.path_weight(graph, path, "cost")
            best = cost if best is None else best
            if cost > AVENUE_DETOUR_LIMIT * best + 1e-9 or len(kept) == AVENUES_PER_PAIR:
                break
            interior = frozenset(path[1:-1])
            if all(interior != frozenset(p[1:-1]) for p in kept):
                kept.append(list(path))
    except nx.NetworkXNoPath:
        return []
    return kept


def _key_terrain(
    theater: Theater, avenues: list[Avenue], objectives: list[dict], kind: str
) -> list[KeyTerrain]:
    """Places scored by the strength of the approaches through them (the enemy's when we
    defend, ours when we attack), with bonuses for crossings, junctions and defensible
    terrain; decisive if on approaches carrying DECISIVE_SHARE of it or more."""
    threat = [a for a in avenues if a.id.startswith(kind)] or avenues
    total = sum({a.origin: a.strength for a in threat}.values())
    weight: dict[str, float] = defaultdict(float)
    count: dict[str, int] = defaultdict(int)
    for avenue in threat:
        # An origin's strength is split over the approaches it has (it cannot use them all).
        share = avenue.strength / sum(1 for a in threat if a.origin == avenue.origin)
        for place in avenue.path[1:]:
            weight[place] += share
            count[place] += 1
    objective_places = {o["place"] for o in objectives}
    terrain = []
    for place in sorted(weight):
        info = theater.places[place]
        reasons = [f"on {count[place]} approach(es) carrying {weight[place]:.0f} of the threat"]
        bonus = 1.0
        if info.kind == "crossing":
            bonus += 0.25
            reasons.append("a crossing")
        if len(theater.graph[place]) >= 3:  # node degree counts parallel routes too
            bonus += 0.1
            reasons.append("a junction")
        factor = TERRAIN_DEFENSE_FACTOR[info.terrain]
        if factor > 1.0:
            bonus += 0.2 * (factor - 1.0)
            reasons.append(f"defensible {info.terrain} terrain")
        if place in objective_places:
            reasons.append("an objective")
        share = weight[place] / total if total else 0.0
        terrain.append(
            KeyTerrain(
                place=place,
                score=round(weight[place] * bonus, 3),
                avenues=count[place],
                reasons=reasons,
                decisive=share >= DECISIVE_SHARE,
            )
        )
    terrain.sort(key=lambda k: (-k.score, k.place))
    return terrain[:KEY_TERRAIN_KEPT]


def _sectors(
    avenues: list[Avenue], objectives: list[dict], control: dict[str, str | None], enemy: str
) -> list[Sector]:
    """Sectors of defence: objectives that lie on one another's main approach are defended in
    one sector, in depth (the forward ones covering the deeper); each enemy concentration's
    strength is shared over the objectives it threatens by the inverse square of the time to
    reach them (nearer objectives draw more of it)."""
    threat = [a for a in avenues if a.id.startswith("E")]
    fastest: dict[tuple[str, str], float] = {}
    for avenue in threat:
        key = (avenue.origin, avenue.objective)
        fastest[key] = min(fastest.get(key, math.inf), avenue.hours)
    pull: dict[tuple[str, str], float] = {}
    for origin in {a.origin for a in threat}:
        reach = {obj: 1.0 / max(h, 0.5) ** 2 for (o, obj), h in fastest.items() if o == origin}
        total = sum(reach.values())
        for objective, value in reach.items():
            pull[origin, objective] = value / total
    strength_at = {a.origin: a.strength for a in threat}
    enemy_held = {p for p, holder in control.items() if holder == enemy}
    main_of: dict[str, list[Avenue]] = {}
    nested = nx.Graph()
    for objective in objectives:
        place = objective["place"]
        main_of[place] = sorted(
            (a for a in threat if a.objective == place), key=lambda a: (a.hours, a.id)
        )
        nested.add_node(place)
    for place, mine in main_of.items():
        for other in main_of:
            if other != place and mine and other in mine[0].path:
                nested.add_edge(place, other)
    by_place = {o["place"]: o for o in objectives}
    groups = {
        min(component): [by_place[p] for p in sorted(component)]
        for component in nx.connected_components(nested)
    }
    sectors = []
    for members in groups.values():
        members.sort(
            key=lambda o: (min((a.hours for a in main_of[o["place"]]), default=0.0), o["id"])
        )
        deepest = members[-1]["place"]
        positions = _positions(main_of[deepest], deepest, enemy_held)
        avenue_ids = [a.id for o in members for a in main_of[o["place"]]]
        expected = sum(
            strength_at[origin] * share
            for (origin, obj), share in pull.items()
            if obj in {o["place"] for o in members}
        )
        sectors.append(
            Sector(
                id=f"S-{deepest}",
                objectives=[o["place"] for o in members],
                weight=sum(o["weight"] for o in members),
                avenues=list(dict.fromkeys(avenue_ids)),
                threat=round(expected, 3),
                positions=positions,
            )
        )
    sectors.sort(key=lambda s: (-s.threat, -s.weight, s.id))
    return sectors


def _positions(avenues: list[Avenue], objective: str, not_ours: set[str]) -> list[str]:
    """Places to defend a sector from, forward (nearest the enemy) to the objective: the places
    of its main avenue that the enemy does not hold, then the objective."""
    if not avenues:
        return [objective]
    return list(
        dict.fromkeys([*(p for p in avenues[0].path[1:-1] if p not in not_ours), objective])
    )


def _enemy_courses(
    scenario: Scenario,
    theater: Theater,
    believed: WorldState,
    side: str,
    objectives: list[dict],
    avenues: list[Avenue],
    posture: str,
) -> tuple[EnemyCOA | None, EnemyCOA | None, bool, list[str]]:
    """The enemy's most likely and most dangerous COAs, made to differ where they can."""
    enemy = scenario.enemy_of(side)
    units = [u for u in _alive(believed, enemy) if u.domain != "air"]
    if not units or not objectives:
        return (
            None,
            None,
            False,
            ["no enemy ground or naval force seen: nothing to wargame against"],
        )
    if posture == "defence":
        candidates = _attack_courses(scenario, theater, units, objectives, avenues, believed.hour)
    else:
        candidates = _defence_courses(scenario, theater, units, objectives)
    likely = candidates[0]
    signature = _signature(likely)
    alternatives = [c for c in candidates[1:] if _signature(c) != signature]
    if not alternatives:
        return (
            likely,
            likely,
            False,
            ["the enemy has one course open to it here: it is wargamed once"],
        )
    return likely, alternatives[0], True, []


def _signature(course: EnemyCOA) -> frozenset:
    return frozenset((t.unit, t.action, t.target, t.at_hour) for t in course.taskings)


def _attack_courses(
    scenario: Scenario,
    theater: Theater,
    units: list[UnitState],
    objectives: list[dict],
    avenues: list[Avenue],
    hour: float,
) -> list[EnemyCOA]:
    """Enemy attacking our objectives. Most likely: each unit presses its fastest approach to
    the nearest objective. Then, most dangerous first: the whole force massed on our weakest
    approach to the heaviest objective, then on other approaches."""
    targets = [o["place"] for o in objectives]
    likely_tasks = []
    for unit in units:
        modes = scenario.unit_types[unit.type].modes
        reachable = [
            (theater.travel_hours(modes, path, unit.speed_kph), place)
            for place in targets
            if (path := theater.path(modes, unit.location, place)) is not None
        ]
        likely_tasks.append(
            Tasking(unit.id, "attack", min(reachable)[1])
            if reachable
            else Tasking(unit.id, "defend", None)
        )
    nearest = Counter(t.target for t in likely_tasks if t.target)
    courses = [
        EnemyCOA(
            name="Enemy most likely: press on the nearest objectives",
            description="each enemy grouping attacks our nearest objective on its fastest "
            "approach (" + ", ".join(f"{p}: {n} unit(s)" for p, n in sorted(nearest.items())) + ")",
            objective=nearest.most_common(1)[0][0] if nearest else None,
            taskings=likely_tasks,
        )
    ]
    weight = {o["place"]: o["weight"] for o in objectives}
    threat = [a for a in avenues if a.id.startswith("E")]
    # Danger: the enemy's relative combat power on the approach, times what we would lose.
    ranked = sorted(
        threat, key=lambda a: (-(weight[a.objective] / max(a.ratio, 0.05)), a.hours, a.id)
    )
    for avenue in ranked:
        courses.append(_massed_course(scenario, theater, units, avenue, hour))
    return courses


def _massed_course(
    scenario: Scenario, theater: Theater, units: list[UnitState], avenue: Avenue, hour: float
) -> EnemyCOA:
    """Every enemy unit that can reach the objective masses on it along the avenue: first to
    the avenue's middle place when its own fastest way misses it, then on to the objective
    from the hour it should get there."""
    waypoint = avenue.path[len(avenue.path) // 2] if len(avenue.path) > 2 else None
    tasks = []
    for unit in units:
        modes = scenario.unit_types[unit.type].modes
        path = theater.path(modes, unit.location, avenue.objective)
        if path is None:
            tasks.append(Tasking(unit.id, "defend", None))
            continue
        if waypoint is not None and waypoint not in path and waypoint != unit.location:
            leg = theater.path(modes, unit.location, waypoint)
            if leg is not None:
                arrival = hour + theater.travel_hours(modes, leg, unit.speed_kph)
                tasks.append(Tasking(unit.id, "attack", waypoint))
                tasks.append(Tasking(unit.id, "attack", avenue.objective, round(arrival, 2)))
                continue
        tasks.append(Tasking(unit.id, "attack", avenue.objective))
    return EnemyCOA(
        name=f"Enemy most dangerous: mass on {avenue.objective} via {' - '.join(avenue.path)}",
        description=f"the enemy masses every unit that can reach it on our approach "
        f"{avenue.id} to {avenue.objective} (our relative combat power there {avenue.ratio:.2f}:1)",
        objective=avenue.objective,
        axis=avenue.path,
        taskings=tasks,
    )


def _defence_courses(
    scenario: Scenario, theater: Theater, units: list[UnitState], objectives: list[dict]
) -> list[EnemyCOA]:
    """Enemy defending against our attack. Most likely: it holds where it stands. Most
    dangerous: it concentrates on the objective we must take first, every unit that can get
    there doing so."""
    courses = [
        EnemyCOA(
            name="Enemy most likely: hold in place",
            description="the enemy defends the positions it holds",
            objective=None,
            taskings=[Tasking(u.id, "defend", None) for u in units],
        )
    ]
    for objective in sorted(objectives, key=lambda o: (o["deadline_hours"], -o["weight"], o["id"])):
        place = objective["place"]
        tasks = []
        for unit in units:
            modes = scenario.unit_types[unit.type].modes
            reachable = theater.path(modes, unit.location, place) is not None
            tasks.append(
                Tasking(unit.id, "defend", place) if reachable else Tasking(unit.id, "defend", None)
            )
        courses.append(
            EnemyCOA(
                name=f"Enemy most dangerous: concentrate on {place}",
                description=f"the enemy reinforces {place}, the objective we must take first",
                objective=place,
                taskings=tasks,
            )
        )
    return courses
