"""The SimPy discrete-event engine: movement, contact, attrition, sensing, supply, air strikes.

One `Simulation` owns the SimPy environment, the theater, the world state and the seed. Units
are plain generator processes. Every event is scheduled in a phase so that simultaneous events
happen in a fixed order (battles, then movement, then supply, then sensing, then records):
together with keyed random draws this makes a run rebuilt from a snapshot identical to a
straight run.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Iterator
from statistics import NormalDist

import numpy as np
import simpy
from simpy.events import Event

from sim._random import keyed_rng, keyed_uniform
from sim.attrition import deterministic_step, salvo_exchange, stochastic_step
from sim.scenario import Scenario
from sim.state import BattleState, Detection, Tasking, UnitState, WorldState
from sim.theater import Theater
from sim.unit_types import POSTURE_DEFENSE_FACTOR, TERRAIN_DEFENSE_FACTOR

__all__ = ["Simulation", "apply_orders"]

PHASE_BATTLE, PHASE_MOVE, PHASE_SUPPLY, PHASE_SENSE, PHASE_RECORD = 1, 2, 3, 4, 5
SUPPLY_INTERVAL_HOURS = 1.0
RESUPPLY_PER_HOUR = 0.1
#: Share of an air wing lost per sortie wave over defended targets (1-5 % is the usual planning
#: range for contested airspace; JP 3-01 / RAND air campaign studies).
AIR_LOSS_PER_SORTIE = 0.02
DETECTIONS_KEPT = 3
_NORMAL = NormalDist()


class _CountingEnvironment(simpy.Environment):
    """A SimPy environment that counts the events it processes."""

    def __init__(self, initial_time: float = 0):
        super().__init__(initial_time)
        self.events_processed = 0

    def step(self) -> None:
        self.events_processed += 1
        super().step()


class _Phased(Event):
    """A timeout scheduled with a phase priority, so equal-time events have a fixed order."""

    def __init__(self, env: simpy.Environment, delay: float, phase: int):
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, phase, max(0.0, delay))


class Simulation:
    """Runs a world state forward in time under the units' current orders."""

    def __init__(
        self,
        scenario: Scenario,
        theater: Theater,
        state: WorldState,
        *,
        seed: int,
        stochastic: bool | None = None,
        record_timeline: bool = False,
    ):
        self.scenario = scenario
        self.theater = theater
        self.state = state
        self.seed = seed
        self.settings = scenario.settings
        self.stochastic = self.settings.stochastic if stochastic is None else stochastic
        self.env = _CountingEnvironment(initial_time=state.hour)
        self.timeline: list[tuple[float, str, str, float, str]] = []
        self._types = scenario.unit_types
        self._places = theater.places
        self._sides = [side.id for side in scenario.sides]
        self._present: dict[str, set[str]] = defaultdict(set)
        self._battle_done: dict[str, Event] = {}
        self._route_slots: dict[int, simpy.Resource] = {}
        self._within_cache: dict[tuple[str, float], list[tuple[str, float]]] = {}
        for unit in self._sorted_units():
            if unit.alive and unit.arrives_hour <= state.hour and unit.next_place is None:
                self._present[unit.location].add(unit.id)
        for place in sorted(state.battles):
            self._battle_done[place] = self.env.event()
            self.env.process(self._battle(place))
        self._movers: dict[str, simpy.Process] = {}
        for unit in self._sorted_units():
            if unit.alive:
                self._movers[unit.id] = self.env.process(self._unit(unit))
        for place in sorted(self._present):
            if place not in state.battles and _opposed(self._ground(place)):
                self._contact(place, None)  # forces that start in contact fight at once
        for side in self._sides:
            self.env.process(self._sensor(side))
        if self.settings.supply:
            self.env.process(self._supply())
        for side in scenario.sides:
            for objective in side.mission.objectives:
                key = f"{side.id}:{objective.id}"
                if objective.deadline_hours >= state.hour and key not in state.objective_log:
                    self.env.process(self._deadline(key, objective.place, objective.deadline_hours))
        if record_timeline:
            self.env.process(self._recorder())

    @property
    def events_processed(self) -> int:
        """SimPy events processed so far."""
        return self.env.events_processed

    def run(self, until: float) -> WorldState:
        """Advance to `until` hours (events at exactly `until` are left for the next run)."""
        if until > self.env.now:
            self.env.run(until=until)
        self.state.hour = max(self.state.hour, until)
        return self.state

    def initial_sweep(self) -> None:
        """Every side's pre-hostilities intelligence picture: one scan, reported at once."""
        scan = math.ceil(self.env.now / self.settings.scan_interval_hours - 1e-9)
        for side in self._sides:
            self._scan(side, scan, delay=0.0)

    # ----------------------------------------------------------------- helpers
    def _wait(self, delay: float, phase: int) -> Event:
        return _Phased(self.env, delay, phase)

    def _sorted_units(self) -> Iterator[UnitState]:
        return (self.state.units[uid] for uid in sorted(self.state.units))

    def _modes(self, unit: UnitState) -> frozenset[str]:
        return self._types[unit.type].modes

    def _efficiency(self, unit: UnitState) -> float:
        """Combat power and speed factor from supply: full above 25 % of a load, half when dry."""
        return 1.0 if unit.supply >= 0.25 else 0.5 + 2.0 * unit.supply

    def _ground(self, place: str) -> dict[str, list[UnitState]]:
        """Stationary, alive non-air units at a place that are not pulling out, by side."""
        by_side: dict[str, list[UnitState]] = defaultdict(list)
        for uid in sorted(self._present[place]):
            unit = self.state.units[uid]
            if unit.domain != "air" and unit.alive and unit.posture != "withdraw":
                by_side[unit.side].append(unit)
        return by_side

    # ---------------------------------------------------------------- movement
    def _unit(self, unit: UnitState):
        now = self.env.now
        if unit.arrives_hour > now:
            yield self._wait(unit.arrives_hour - now, PHASE_MOVE)
            self._arrive(unit, unit.location, travelled=False)
        elif unit.next_place is not None:
            yield self._wait(unit.arrive_hour - now, PHASE_MOVE)
            self._arrive(unit, unit.next_place, travelled=True)
        if unit.domain == "air" and unit.action == "strike":
            yield from self._air_strikes(unit)
            return
        while unit.alive:
            battle = self._battle_done.get(unit.location)
            if battle is not None and unit.domain != "air":
                yield battle
                continue
            if not unit.path:
                return
            yield from self._travel(unit, unit.path[0])

    def _travel(self, unit: UnitState, destination: str):
        leg = self.theater.leg(self._modes(unit), unit.location, destination)
        speed = unit.speed_kph * leg["speed_factor"] * self._efficiency(unit)
        hours = leg["length_km"] / speed * self._travel_noise(unit)
        if leg["capacity"] is not None:
            slots = self._route_slots.setdefault(
                leg["key"], simpy.Resource(self.env, capacity=leg["capacity"])
            )
            with slots.request() as request:
                yield request
                self._depart(unit, destination, hours)
                yield self._wait(hours, PHASE_MOVE)
        else:
            self._depart(unit, destination, hours)
            yield self._wait(hours, PHASE_MOVE)
        self._arrive(unit, destination, travelled=True)

    def _travel_noise(self, unit: UnitState) -> float:
        """Lognormal travel-time factor with mean 1 and the scenario's coefficient of variation."""
        cv = self.settings.movement_noise
        if not self.stochastic or cv <= 0:
            return 1.0
        sigma = math.sqrt(math.log1p(cv * cv))
        z = _NORMAL.inv_cdf(keyed_uniform(self.seed, "move", unit.id, unit.legs))
        return math.exp(sigma * z - sigma * sigma / 2)

    def _depart(self, unit: UnitState, destination: str, hours: float) -> None:
        unit.path.pop(0)
        self._present[unit.location].discard(unit.id)
        unit.next_place = destination
        unit.depart_hour = self.env.now
        unit.arrive_hour = self.env.now + hours

    def _arrive(self, unit: UnitState, place: str, travelled: bool) -> None:
        unit.location = place
        unit.next_place = unit.depart_hour = unit.arrive_hour = None
        if travelled:
            unit.legs += 1
        if not unit.path and unit.domain != "air":
            unit.posture = "defend"
        self._present[place].add(unit.id)
        if unit.domain != "air":
            self._contact(place, unit.side)

    def _contact(self, place: str, side: str | None) -> None:
        """A unit arrived: start a battle if enemies hold the place, else take control."""
        ground = self._ground(place)
        if _opposed(ground):
            if place not in self.state.battles:
                self.state.battles[place] = BattleState(
                    place=place,
                    start_hour=self.env.now,
                    last_tick=self.env.now,
                    defender=self.state.control.get(place),
                    contact_strength={s: sum(u.strength for u in us) for s, us in ground.items()},
                )
                self._battle_done[place] = self.env.event()
                self.env.process(self._battle(place))
        elif side in ground and len(ground) == 1:
            self.state.control[place] = side

    # ------------------------------------------------------------------ battle
    def _battle(self, place: str):
        battle = self.state.battles[place]
        dt = self.settings.combat_step_hours
        ended_hour = None
        while True:
            next_tick = (math.floor(battle.last_tick / dt + 1e-9) + 1) * dt
            yield self._wait(next_tick - self.env.now, PHASE_BATTLE)
            ground = self._ground(place)
            if not _opposed(ground):
                break
            for side, units in ground.items():
                battle.contact_strength.setdefault(side, sum(u.strength for u in units))
            fraction = self._exchange(battle, ground, next_tick - battle.last_tick, next_tick)
            if fraction is not None:
                ended_hour = battle.last_tick + fraction * (next_tick - battle.last_tick)
            battle.last_tick = next_tick
            for unit in (u for units in ground.values() for u in units):
                if not unit.alive:
                    self._present[place].discard(unit.id)
            self._break_contact(battle, place)
            if not _opposed(self._ground(place)):
                break
        survivors = self._ground(place)
        winner = next(iter(survivors)) if len(survivors) == 1 else None
        if winner is not None:
            self.state.control[place] = winner
        self.state.battle_log.append(
            {
                "place": place,
                "start_hour": battle.start_hour,
                "end_hour": ended_hour if ended_hour is not None else self.env.now,
                "winner": winner,
                "defender": battle.defender,
            }
        )
        del self.state.battles[place]
        self._battle_done.pop(place).succeed()

    def _exchange(
        self,
        battle: BattleState,
        ground: dict[str, list[UnitState]],
        dt: float,
        tick: float,
    ) -> float | None:
        """Apply one step of attrition at a place; returns when in the step a force died out."""
        sides = sorted(ground, key=lambda s: (s == battle.defender, s))  # defender is B
        side_a, side_b = sides[0], sides[1]
        ended = None
        for domain_class in ("land", "sea"):
            units_a = [u for u in ground[side_a] if _domain_class(u) == domain_class]
            units_b = [u for u in ground[side_b] if _domain_class(u) == domain_class]
            if not units_a or not units_b:
                continue
            rng = keyed_rng(self.seed, "attrition", battle.place, domain_class, round(tick / dt))
            rng_or_none = rng if self.stochastic else None
            if domain_class == "sea" and self.settings.naval_attrition == "salvo":
                self._salvo(units_a, units_b, rng_or_none)
                continue
            law = self.settings.attrition
            a = [u.strength for u in units_a]
            b = [u.strength for u in units_b]
            coef_ab = self._coefficients(units_a, units_b, battle)
            coef_ba = self._coefficients(units_b, units_a, battle)
            if self.stochastic:
                result = stochastic_step(law, a, b, coef_ab, coef_ba, dt, rng)
            else:
                result = deterministic_step(law, a, b, coef_ab, coef_ba, dt)
            for unit, value in zip(units_a + units_b, result.a + result.b, strict=True):
                unit.strength = float(value) if value > 1e-9 else 0.0
            if result.ended_at is not None:
                ended = result.ended_at
        return ended

    def _coefficients(
        self, shooters: list[UnitState], targets: list[UnitState], battle: BattleState
    ) -> list[list[float]]:
        terrain = TERRAIN_DEFENSE_FACTOR[self._places[battle.place].terrain]
        protection = [
            terrain * POSTURE_DEFENSE_FACTOR.get(t.posture, 1.0)
            if t.side == battle.defender
            else 1.0
            for t in targets
        ]
        matrix = []
        for shooter in shooters:
            shooter_type = self._types[shooter.type]
            power = shooter_type.lethality * self._efficiency(shooter)
            versus = shooter_type.versus
            matrix.append(
                [
                    power * versus.get(t.type, 1.0) / p
                    for t, p in zip(targets, protection, strict=True)
                ]
            )
        return matrix

    def _salvo(self, units_a: list[UnitState], units_b: list[UnitState], rng) -> None:
        def pooled(units: list[UnitState]) -> tuple[float, float, float, float]:
            total = sum(u.strength for u in units)
            params = [(u, self._types[u.type].salvo) for u in units]
            offense = sum(u.strength * p.offense * self._efficiency(u) for u, p in params)
            defense = sum(u.strength * p.defense for u, p in params)
            staying = sum(u.strength * p.staying_power for u, p in params)
            return total, offense / total, defense / total, staying / total

        a, a_off, a_def, a_stay = pooled(units_a)
        b, b_off, b_def, b_stay = pooled(units_b)
        loss_a, loss_b = salvo_exchange(a, b, a_off, a_def, a_stay, b_off, b_def, b_stay, rng)
        for units, total, loss in ((units_a, a, loss_a), (units_b, b, loss_b)):
            for unit in units:
                unit.strength = max(0.0, unit.strength - loss * unit.strength / total)
                if unit.strength <= 1e-9:
                    unit.strength = 0.0

    def _break_contact(self, battle: BattleState, place: str) -> None:
        """A side whose strength fell below the break fraction pulls back to a safe neighbour."""
        if self.settings.break_fraction <= 0:
            return
        ground = self._ground(place)
        if not _opposed(ground):
            return
        for side, units in ground.items():
            strength = sum(u.strength for u in units)
            if strength >= self.settings.break_fraction * battle.contact_strength[side]:
                continue
            for unit in units:
                refuge = self._refuge(unit)
                if refuge is not None:
                    unit.action, unit.target = "withdraw", refuge
                    unit.path, unit.posture = [refuge], "withdraw"
                    if not self._movers[unit.id].is_alive:
                        self._movers[unit.id] = self.env.process(self._unit(unit))

    def _refuge(self, unit: UnitState) -> str | None:
        """Neighbouring place with no enemy on it, own-held first."""
        options = []
        for place in self.theater.neighbors(unit.location, self._modes(unit)):
            if any(s != unit.side for s in self._ground(place)):
                continue
            holder = self.state.control.get(place)
            if holder not in (None, unit.side):
                continue
            options.append((holder != unit.side, place))
        return min(options)[1] if options else None

    # -------------------------------------------------------------- air power
    def _air_strikes(self, unit: UnitState):
        unit_type = self._types[unit.type]
        target = unit.target
        if target is None or self.theater.distance_km(unit.location, target) > (
            unit_type.sortie_range_km
        ):
            return
        turnaround = unit_type.turnaround_hours
        while unit.alive:
            wave = math.floor(self.env.now / turnaround + 1e-9) + 1
            yield self._wait(wave * turnaround - self.env.now, PHASE_BATTLE)
            enemies = [
                u
                for side, units in self._ground(target).items()
                if side != unit.side
                for u in units
            ]
            if not enemies:
                continue
            total = sum(u.strength for u in enemies)
            damage = unit_type.lethality * unit.strength * self._efficiency(unit) * turnaround
            loss = AIR_LOSS_PER_SORTIE * unit.strength
            if self.stochastic:
                rng = np.random.default_rng(
                    keyed_rng(self.seed, "air", unit.id, wave).getrandbits(63)
                )
                damage, loss = float(rng.poisson(damage)), float(rng.binomial(1, 0.5) * 2 * loss)
            for enemy in enemies:
                enemy.strength = max(0.0, enemy.strength - damage * enemy.strength / total)
                if enemy.strength <= 1e-9:
                    enemy.strength = 0.0
                    self._present[target].discard(enemy.id)
            unit.strength = max(0.0, unit.strength - loss)

    # ----------------------------------------------------------------- sensing
    def _sensor(self, side: str):
        interval = self.settings.scan_interval_hours
        scan = math.ceil(self.env.now / interval - 1e-9)
        while True:
            yield self._wait(scan * interval - self.env.now, PHASE_SENSE)
            self._scan(side, scan)
            scan += 1

    def _within(self, place: str, radius: float) -> list[tuple[str, float]]:
        key = (place, radius)
        if key not in self._within_cache:
            self._within_cache[key] = [
                (other, self.theater.distance_km(place, other))
                for other in self.theater.places_within(place, radius)
            ]
        return self._within_cache[key]

    def _scan(self, side: str, scan: int, delay: float | None = None) -> None:
        """One detection pass of a side's sensors over every enemy unit in range."""
        now = self.env.now
        observers: dict[str, list[UnitState]] = defaultdict(list)
        for unit in self.state.units.values():
            if unit.side == side and unit.active(now):
                observers[unit.location].append(unit)
        miss: dict[str, list[tuple[float, float]]] = defaultdict(list)  # place -> (range ok pd)
        for place, units in observers.items():
            reach = max(self._types[u.type].sensor_range_km for u in units)
            for other, distance in self._within(place, reach):
                for unit in units:
                    unit_type = self._types[unit.type]
                    if unit_type.sensor_range_km >= distance:
                        miss[other].append((unit_type.detection_probability, distance))
        if delay is None:
            delay = self.scenario.side(side).report_delay_hours
        seen = self.state.detections[side]
        for enemy in self.state.units.values():
            if enemy.side == side or not enemy.active(now):
                continue
            sensors = miss.get(enemy.location)
            if not sensors:
                continue
            in_contact = enemy.location in self.state.battles and enemy.location in observers
            signature = self._types[enemy.type].signature
            p_miss = 1.0
            for probability, _ in sensors:
                p_miss *= 1.0 - min(1.0, probability * signature)
            if not in_contact and keyed_uniform(self.seed, "detect", side, enemy.id, scan) < p_miss:
                continue
            error = 0.2 * (2 * keyed_uniform(self.seed, "estimate", side, enemy.id, scan) - 1)
            reports = seen.setdefault(enemy.id, [])
            reports.append(
                Detection(
                    unit=enemy.id,
                    type=enemy.type,
                    place=enemy.location,
                    strength=round(enemy.strength * (1 + error), 3),
                    seen_hour=now,
                    reported_hour=now + (0.0 if in_contact else delay),
                )
            )
            del reports[:-DETECTIONS_KEPT]

    # ------------------------------------------------------------------ supply
    def _supply(self):
        tick = math.ceil(self.env.now / SUPPLY_INTERVAL_HOURS - 1e-9)
        while True:
            yield self._wait(tick * SUPPLY_INTERVAL_HOURS - self.env.now, PHASE_SUPPLY)
            for side in self._sides:
                self._resupply(side)
            tick += 1

    def _resupply(self, side: str) -> None:
        """Land units linked to an own supply source by ground not held by the enemy refill."""
        control = self.state.control
        sources = [
            p.id for p in self.scenario.places if p.supply_source and control.get(p.id) == side
        ]
        graph = self.theater.domain_graph(frozenset({"road", "rail"}))
        supplied = set(sources)
        frontier = list(sources)
        while frontier:
            place = frontier.pop()
            for other in graph.neighbors(place):
                if other not in supplied and control.get(other) in (None, side):
                    supplied.add(other)
                    frontier.append(other)
        now = self.env.now
        for unit in self.state.units.values():
            if unit.side != side or unit.domain != "land" or not unit.active(now):
                continue
            if unit.next_place is None and unit.location in supplied:
                unit.supply = min(1.0, unit.supply + RESUPPLY_PER_HOUR * SUPPLY_INTERVAL_HOURS)
                continue
            activity = (
                3.0 if unit.location in self.state.battles else (2.0 if unit.next_place else 1.0)
            )
            use = self._types[unit.type].consumption_per_hour * activity * SUPPLY_INTERVAL_HOURS
            unit.supply = max(0.0, unit.supply - use)

    # ------------------------------------------------------------- bookkeeping
    def _deadline(self, key: str, place: str, hour: float):
        yield self._wait(hour - self.env.now, PHASE_RECORD)
        self.state.objective_log[key] = self.state.control.get(place)

    def _recorder(self):
        hour = math.ceil(self.env.now - 1e-9)
        while True:
            yield self._wait(hour - self.env.now, PHASE_RECORD)
            for unit in self._sorted_units():
                if unit.arrives_hour <= hour:
                    self.timeline.append(
                        (float(hour), unit.id, unit.side, round(unit.strength, 4), unit.location)
                    )
            hour += 1


def _domain_class(unit: UnitState) -> str:
    return "sea" if unit.domain == "sea" else "land"


def _opposed(ground: dict[str, list[UnitState]]) -> bool:
    """Whether two sides face each other in the same domain (ships fight ships, land land)."""
    classes = [{_domain_class(u) for u in units} for units in ground.values()]
    return len(classes) >= 2 and bool(classes[0] & classes[1])


def apply_orders(
    scenario: Scenario,
    theater: Theater,
    state: WorldState,
    taskings: Iterable[Tasking],
    restricted: dict[str, frozenset[str]] | None = None,
) -> list[str]:
    """Set each tasked unit's action, target and path; returns why any order was not applied."""
    rejected = []
    restricted = restricted or {}
    for task in taskings:
        unit = state.units.get(task.unit)
        if unit is None or not unit.alive:
            rejected.append(f"{task.unit}: no such live unit")
            continue
        unit.action, unit.target = task.action, task.target
        start = unit.next_place or unit.location
        if task.action == "strike" or task.target is None or task.target == start:
            unit.path = []
            if task.action in ("defend", "hold") and unit.next_place is None:
                unit.posture = "defend"
            continue
        modes = scenario.unit_types[unit.type].modes
        path = theater.path(modes, start, task.target, restricted.get(unit.side, frozenset()))
        if path is None:
            rejected.append(f"{task.unit}: no route to {task.target}")
            unit.path = []
            continue
        unit.path = path[1:]
        if unit.next_place is None:
            unit.posture = {"attack": "attack", "withdraw": "withdraw"}.get(task.action, "move")
    return rejected
