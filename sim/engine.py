"""The SimPy discrete-event engine: movement, contact, attrition, sensing, logistics, air and fires.

One `Simulation` owns the SimPy environment, the theater, the world state and the seed. Units
and supply convoys are plain generator processes. Every event is scheduled in a phase so that
simultaneous events happen in a fixed order (battles, then movement, then supply, then sensing,
then records), and queues for limited slots (bridges, port berths, airfield sortie slots) are
served by (hour queued, unit or convoy id): together with keyed random draws this makes a run
rebuilt from a snapshot identical to a straight run.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from statistics import NormalDist

import networkx as nx
import numpy as np
import simpy
from simpy.events import Event

from sim._random import keyed_rng, keyed_uniform, splitmix64, stream_key
from sim.attrition import deterministic_step, salvo_exchange, stochastic_step
from sim.scenario import AIR_ACTIONS, DOMAIN_MODES, Scenario
from sim.state import BattleState, ConvoyState, Detection, Tasking, UnitState, WorldState
from sim.theater import Theater
from sim.unit_types import POSTURE_DEFENSE_FACTOR, TERRAIN_DEFENSE_FACTOR

__all__ = ["Simulation", "apply_orders"]

# Phases start above SimPy's own priorities (0 urgent, 1 normal), so zero-delay events such as
# slot grants and process starts settle before the next phase at the same hour.
PHASE_FIRES, PHASE_BATTLE, PHASE_MOVE, PHASE_SUPPLY, PHASE_CONVOY, PHASE_SENSE, PHASE_RECORD = (
    range(2, 9)
)
SUPPLY_INTERVAL_HOURS = 1.0
#: Basic loads a unit standing at an own supply source draws per hour (depot issue rate).
RESUPPLY_PER_HOUR = 0.1
#: Share of an air wing lost per sortie wave over defended targets (1-5 % is the usual planning
#: range for contested airspace; JP 3-01 / RAND air campaign studies).
AIR_LOSS_PER_SORTIE = 0.02
DETECTIONS_KEPT = 3
#: A truck column on a road is taken to be as detectable as a manoeuvre unit (the default
#: unit signature); a side keeps its newest sightings of enemy convoys.
CONVOY_SIGNATURE = 1.0
CONVOY_SIGHTINGS_KEPT = 50
#: Supply convoys are wheeled: roads and rail only, never cross-country.
CONVOY_MODES = DOMAIN_MODES["land"] - {"offroad"}
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
    """A timeout scheduled with a priority of phase + rank (rank in [0, 1) orders the units,
    places or convoys within a phase), so equal-time events have one fixed order whatever the
    order they were scheduled in."""

    def __init__(self, env: simpy.Environment, delay: float, priority: float):
        super().__init__(env)
        self._ok = True
        self._value = None
        env.schedule(self, priority, max(0.0, delay))


class _SensorField:
    """A side's sensor coverage for one layout of its observers (place and type of each)."""

    def __init__(
        self, layout: tuple, observer_places: frozenset[str], covering: dict[str, list[float]]
    ):
        self.layout = layout
        self.observer_places = observer_places
        self.covering = covering  # place -> detection probability of each sensor reaching it
        self._miss: dict[tuple[str, float], float] = {}

    def miss_probability(self, place: str, signature: float) -> float:
        """Chance that every sensor reaching `place` misses a target of this signature."""
        key = (place, signature)
        p_miss = self._miss.get(key)
        if p_miss is None:
            p_miss = 1.0
            for probability in self.covering[place]:
                p_miss *= 1.0 - min(1.0, probability * signature)
            self._miss[key] = p_miss
        return p_miss


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
        self._rank = _ranks(state.units)
        self._place_rank = _ranks(self._places)
        self._present: dict[str, set[str]] = defaultdict(set)
        self._battle_done: dict[str, Event] = {}
        self._slots: dict[tuple, simpy.PriorityResource] = {}
        self._on_edge: dict[int, set[str]] = defaultdict(set)  # route key -> units travelling it
        self._within_cache: dict[tuple[str, float], list[tuple[str, float]]] = {}
        self._supply_routes: dict[tuple, tuple[dict, dict]] = {}
        self._coefficient_cache: dict[str, tuple] = {}
        self._units_of = {s: [u for u in state.units.values() if u.side == s] for s in self._sides}
        self._enemies_of = {
            s: [u for u in state.units.values() if u.side != s] for s in self._sides
        }
        self._fields: dict[str, _SensorField] = {}
        self._look_keys: dict[str, dict[str, int]] = {}  # side -> enemy id -> its looks' stream
        for unit in self._sorted_units():
            ashore = unit.next_place is None and not unit.berthing
            if unit.alive and ashore and not self._arrival_pending(unit):
                self._present[unit.location].add(unit.id)
            if unit.alive and unit.next_place is not None:
                self._on_edge[self._leg(unit, unit.location, unit.next_place)["key"]].add(unit.id)
        for place in sorted(state.battles):
            self._battle_done[place] = self.env.event()
            self.env.process(self._battle(place))
        self._movers: dict[str, simpy.Process] = {}
        # Units and convoys holding a slot (on a bridge, at a berth, rearming) start first and
        # so get their slot back before anyone queued for it, as in the uninterrupted run.
        convoys = [state.convoys[c] for c in sorted(state.convoys)] if self.settings.supply else []
        for convoy in (c for c in convoys if self._holds_route(c)):
            self.env.process(self._convoy(convoy))
        for unit in sorted(self._sorted_units(), key=lambda u: not self._holds_slot(u)):
            if unit.alive:
                self._movers[unit.id] = self.env.process(self._unit(unit))
                unit_type = self._types[unit.type]
                if unit_type.anti_ship_range_km > 0 or unit_type.land_attack_range_km > 0:
                    self.env.process(self._shore_fires(unit))
        for convoy in (c for c in convoys if not self._holds_route(c)):
            self.env.process(self._convoy(convoy))
        self._schedule_meetings_in_progress()
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
    def _wait(self, delay: float, phase: int, rank: float = 0.0) -> Event:
        return _Phased(self.env, delay, phase + rank)

    def _sorted_units(self) -> Iterator[UnitState]:
        return (self.state.units[uid] for uid in sorted(self.state.units))

    def _modes(self, unit: UnitState) -> frozenset[str]:
        return self._types[unit.type].modes

    def _leg(self, unit: UnitState, source: str, target: str) -> dict:
        return self.theater.leg(self._modes(unit), source, target)

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

    # ------------------------------------------------------------------- slots
    def _slots_for(self, key: tuple, capacity: int) -> simpy.PriorityResource:
        if key not in self._slots:
            self._slots[key] = simpy.PriorityResource(self.env, capacity=capacity)
        return self._slots[key]

    def _request(self, slots: simpy.PriorityResource, mover: UnitState | ConvoyState):
        """A slot request served first come, first served; ties by unit or convoy id."""
        if mover.queued_hour is None:
            mover.queued_hour = self.env.now
        return slots.request(priority=(mover.queued_hour, mover.id))

    def _on_route(self, mover: UnitState | ConvoyState, leg: dict, ride: Callable[[], Iterator]):
        """Run `ride` (depart and cover the leg) holding one of the route's slots throughout
        if it has a capacity (a bridge, a pass), queueing for it first."""
        if leg["capacity"] is None:
            yield from ride()
            return
        slots = self._slots_for(("route", leg["key"]), leg["capacity"])
        with self._request(slots, mover) as request:
            yield request
            mover.queued_hour = None
            yield from ride()

    def _holds_slot(self, unit: UnitState) -> bool:
        if unit.busy_until is not None:
            return True
        if unit.next_place is None:
            return False
        return self._leg(unit, unit.location, unit.next_place)["capacity"] is not None

    def _holds_route(self, convoy: ConvoyState) -> bool:
        if convoy.next_place is None:
            return False
        return self._convoy_leg(convoy)["capacity"] is not None

    # ---------------------------------------------------------------- movement
    def _unit(self, unit: UnitState):
        if self._arrival_pending(unit):
            yield self._wait(unit.arrives_hour - self.env.now, PHASE_MOVE, self._rank[unit.id])
            unit.berthing = self._places[unit.location].capacity is not None
            if not unit.berthing:
                self._settle(unit, unit.location)
        if unit.berthing:  # landing by sea or arriving at a capacity-limited place
            yield from self._berth(unit)
        elif unit.next_place is not None:
            yield from self._ride_leg(unit)
        if unit.domain == "air" and unit.action in AIR_ACTIONS:
            yield from self._sorties(unit)
            return
        while unit.alive:
            battle = self._battle_done.get(unit.location)
            if battle is not None and unit.domain != "air":
                if unit.posture != "disengage":
                    yield battle  # fight it out: a column cannot pass through a contested place
                    continue
                # Ordered away: it fights the combat step ending now, then breaks contact.
                yield self._wait(0.0, PHASE_MOVE, self._rank[unit.id])
                if not unit.alive:
                    return
            if not unit.path:
                return
            yield from self._travel(unit, unit.path[0])

    def _arrival_pending(self, unit: UnitState) -> bool:
        return _arrival_pending(unit, self.env.now)

    def _travel(self, unit: UnitState, destination: str):
        yield from self._cover_leg(unit, self._leg(unit, unit.location, destination), destination)

    def _ride_leg(self, unit: UnitState):
        """Finish the leg a rebuilt unit is on (taking back the route's slot if limited)."""
        yield from self._cover_leg(unit, self._leg(unit, unit.location, unit.next_place), None)

    def _cover_leg(self, unit: UnitState, leg: dict, destination: str | None):
        """Depart for `destination` (None: already under way) and ride to the end of the leg,
        holding one of the route's slots throughout if it has a capacity."""

        def ride():
            if destination is not None:
                self._depart(unit, destination, leg)
            yield from self._ride(unit)

        yield from self._on_route(unit, leg, ride)
        yield from self._land(unit, leg)

    def _ride(self, unit: UnitState):
        """Wait for the end of the leg; a contact on the route may turn the unit back."""
        while True:
            try:
                yield self._wait(unit.arrive_hour - self.env.now, PHASE_MOVE, self._rank[unit.id])
                return
            except simpy.Interrupt:
                continue  # `_meet` changed the leg: wait for the new arrival hour

    def _land(self, unit: UnitState, leg: dict):
        """End of a leg: arrive, after a berth if landing by sea at a capacity-limited port."""
        place = unit.next_place
        self._on_edge[leg["key"]].discard(unit.id)
        unit.location = place
        unit.next_place = unit.depart_hour = unit.arrive_hour = None
        unit.legs += 1
        if leg["mode"] == "sea" and unit.domain == "land" and self._places[place].capacity:
            unit.berthing = True
            yield from self._berth(unit)
        else:
            self._settle(unit, place)

    def _berth(self, unit: UnitState):
        """Hold one of the place's berths for its handling time, queueing if all are taken."""
        place = self._places[unit.location]
        slots = self._slots_for(("place", place.id), place.capacity)
        yield from self._occupy(unit, slots, place.handling_hours, PHASE_MOVE)
        unit.berthing = False
        self._settle(unit, unit.location)

    def _occupy(self, unit: UnitState, slots: simpy.PriorityResource, hours: float, phase: int):
        """Take a slot (queueing if needed) and keep it `hours`; a unit rebuilt while holding
        one keeps its recorded end hour."""
        with self._request(slots, unit) as request:
            yield request
            unit.queued_hour = None
            if unit.busy_until is None:
                unit.busy_until = self.env.now + hours
            yield self._wait(unit.busy_until - self.env.now, phase, self._rank[unit.id])
            unit.busy_until = None

    def _travel_noise(self, unit: UnitState) -> float:
        """Lognormal travel-time factor with mean 1 and the scenario's coefficient of variation."""
        cv = self.settings.movement_noise
        if not self.stochastic or cv <= 0:
            return 1.0
        sigma = math.sqrt(math.log1p(cv * cv))
        z = _NORMAL.inv_cdf(keyed_uniform(self.seed, "move", unit.id, unit.legs))
        return math.exp(sigma * z - sigma * sigma / 2)

    def _depart(self, unit: UnitState, destination: str, leg: dict) -> None:
        speed = unit.speed_kph * leg["speed_factor"] * self._efficiency(unit)
        hours = leg["length_km"] / speed * self._travel_noise(unit)
        unit.path.pop(0)
        if unit.posture == "disengage":  # contact broken: it marches as ordered
            unit.posture = "attack" if unit.action == "attack" else "move"
        self._present[unit.location].discard(unit.id)
        unit.next_place = destination
        unit.depart_hour = self.env.now
        unit.arrive_hour = self.env.now + hours
        if unit.domain != "air":
            for other_id in sorted(self._on_edge[leg["key"]]):
                self._schedule_meeting(unit, self.state.units[other_id])
        self._on_edge[leg["key"]].add(unit.id)

    def _settle(self, unit: UnitState, place: str) -> None:
        """A unit is at a place and stops there (or passes through): contact or control."""
        if not unit.path and unit.domain != "air":
            unit.posture = "defend"
        self._present[place].add(unit.id)
        if unit.domain != "air":
            self._contact(place, unit.side)

    # ------------------------------------------------------- contact on routes
    def _schedule_meeting(self, unit: UnitState, other: UnitState) -> None:
        """Schedule where two enemy units travelling a route towards each other meet."""
        if (
            other.side == unit.side
            or other.domain == "air"
            or _domain_class(other) != _domain_class(unit)
            or other.location != unit.next_place
            or other.next_place != unit.location
        ):
            return
        h_unit = unit.arrive_hour - unit.depart_hour
        h_other = other.arrive_hour - other.depart_hour
        if h_unit <= 0 or h_other <= 0:
            return
        # unit's fraction of the route at t is (t - d_u)/h_u; the other's is 1 - (t - d_o)/h_o.
        hour = (1 + unit.depart_hour / h_unit + other.depart_hour / h_other) / (
            1 / h_unit + 1 / h_other
        )
        if hour >= self.env.now:
            first, second = sorted((unit.id, other.id))
            self.env.process(self._meet(first, second, hour))

    def _schedule_meetings_in_progress(self) -> None:
        for key in sorted(self._on_edge):
            travellers = sorted(self._on_edge[key])
            for i, first in enumerate(travellers):
                for second in travellers[i + 1 :]:
                    self._schedule_meeting(self.state.units[first], self.state.units[second])

    def _meet(self, first_id: str, second_id: str, hour: float):
        """Two enemy columns meet on a route: the one nearer its start falls back there and
        stands; the other presses on and fights it at that place (battles are at places)."""
        yield self._wait(hour - self.env.now, PHASE_MOVE, self._rank[first_id])
        first, second = self.state.units[first_id], self.state.units[second_id]
        if not (
            first.alive
            and second.alive
            and first.next_place == second.location
            and second.next_place == first.location
        ):
            return  # one of them died, arrived or was turned back by another meeting
        progress = (self.env.now - first.depart_hour) / (first.arrive_hour - first.depart_hour)
        back, progress = (first, progress) if progress <= 0.5 else (second, 1 - progress)
        leg_hours = back.arrive_hour - back.depart_hour
        origin = back.location
        back.location, back.next_place = back.next_place, origin
        back.depart_hour = self.env.now - (1 - progress) * leg_hours
        back.arrive_hour = self.env.now + progress * leg_hours
        back.path, back.action, back.target = [], "defend", origin
        self._movers[back.id].interrupt("contact on route")
        key = self._leg(back, back.location, origin)["key"]
        for other_id in sorted(self._on_edge[key] - {back.id}):
            self._schedule_meeting(back, self.state.units[other_id])

    # ------------------------------------------------------------------ battle
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

    def _battle(self, place: str):
        battle = self.state.battles[place]
        dt = self.settings.combat_step_hours
        ended_hour = None
        while True:
            next_tick = (math.floor(battle.last_tick / dt + 1e-9) + 1) * dt
            yield self._wait(next_tick - self.env.now, PHASE_BATTLE, self._place_rank[place])
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
            # Nothing else runs within this step, so the ground is refiltered, not rebuilt.
            ground = _standing(ground)
            self._break_contact(battle, ground)
            ground = _standing(ground)
            if not _opposed(ground):
                break
        survivors = ground
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
            rng = (
                keyed_rng(self.seed, "attrition", battle.place, domain_class, round(tick / dt))
                if self.stochastic
                else None
            )
            if domain_class == "sea" and self.settings.naval_attrition == "salvo":
                self._salvo(units_a, units_b, rng)
                continue
            law = self.settings.attrition
            a = [u.strength for u in units_a]
            b = [u.strength for u in units_b]
            coef_ab, coef_ba = self._pair_coefficients(units_a, units_b, battle)
            if self.stochastic:
                result = stochastic_step(law, a, b, coef_ab, coef_ba, dt, rng)
            else:
                result = deterministic_step(law, a, b, coef_ab, coef_ba, dt)
            for unit, value in zip(units_a + units_b, result.a + result.b, strict=True):
                unit.strength = float(value) if value > 1e-9 else 0.0
            if result.ended_at is not None:
                ended = result.ended_at
        return ended

    def _pair_coefficients(
        self, units_a: list[UnitState], units_b: list[UnitState], battle: BattleState
    ) -> tuple[list[list[float]], list[list[float]]]:
        """Both sides' coefficient matrices, rebuilt only when who fights, their posture or
        their supply state changes (battles last many steps with the same line-up)."""
        efficiency = self._efficiency
        signature = (
            battle.defender,
            tuple((u.id, u.posture, efficiency(u)) for u in units_a),
            tuple((u.id, u.posture, efficiency(u)) for u in units_b),
        )
        cached = self._coefficient_cache.get(battle.place)
        if cached is None or cached[0] != signature:
            cached = (
                signature,
                self._coefficients(units_a, units_b, battle),
                self._coefficients(units_b, units_a, battle),
            )
            self._coefficient_cache[battle.place] = cached
        return cached[1], cached[2]

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
        a, a_off, a_def, a_stay = self._pooled_salvo(units_a)
        b, b_off, b_def, b_stay = self._pooled_salvo(units_b)
        loss_a, loss_b = salvo_exchange(a, b, a_off, a_def, a_stay, b_off, b_def, b_stay, rng)
        _spread_loss(units_a, loss_a)
        _spread_loss(units_b, loss_b)

    def _pooled_salvo(self, units: list[UnitState]) -> tuple[float, float, float, float]:
        """Total strength and strength-weighted offense, defense and staying power."""
        total = sum(u.strength for u in units)
        params = [(u, self._types[u.type].salvo) for u in units]
        offense = sum(u.strength * p.offense * self._efficiency(u) for u, p in params)
        defense = sum(u.strength * p.defense for u, p in params)
        staying = sum(u.strength * p.staying_power for u, p in params)
        return total, offense / total, defense / total, staying / total

    def _break_contact(self, battle: BattleState, ground: dict[str, list[UnitState]]) -> None:
        """A side whose strength fell below the break fraction pulls back to a safe neighbour."""
        if self.settings.break_fraction <= 0:
            return
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
    def _sorties(self, unit: UnitState):
        """Sortie waves from the unit's base against its target place (strike or interdict).

        Without an airfield capacity the waves fly every turnaround on a fixed grid; with one,
        each wave first needs a slot, held for the turnaround (rearm, refuel), so wings sharing
        a crowded base fly less often.
        """
        unit_type = self._types[unit.type]
        target = unit.target
        if target is None or self.theater.distance_km(unit.location, target) > (
            unit_type.sortie_range_km
        ):
            return
        turnaround = unit_type.turnaround_hours
        base = self._places[unit.location]
        for wave in itertools.count(_first_wave(self.env.now, turnaround)):
            if not unit.alive:
                return
            if base.capacity is None:
                yield self._wait(wave * turnaround - self.env.now, PHASE_FIRES, self._rank[unit.id])
            else:
                slots = self._slots_for(("place", base.id), base.capacity)
                yield from self._occupy(unit, slots, turnaround, PHASE_FIRES)
            if unit.action == "strike":
                self._strike(unit, target)
            elif self.state.control.get(target) != unit.side:
                unit.strength = max(0.0, unit.strength * (1 - AIR_LOSS_PER_SORTIE))

    def _strike(self, unit: UnitState, target: str) -> None:
        """One wave on the enemy at a place; damage weighs target type and terrain cover."""
        enemies = [
            u for side, units in self._ground(target).items() if side != unit.side for u in units
        ]
        if not enemies:
            return
        unit_type = self._types[unit.type]
        cover = TERRAIN_DEFENSE_FACTOR[self._places[target].terrain]
        exposure = [u.strength * unit_type.versus.get(u.type, 1.0) for u in enemies]
        total = sum(u.strength for u in enemies)
        turnaround = unit_type.turnaround_hours
        # Fire is spread by strength (as in the ground laws) and scaled by the type multiplier.
        damage = unit_type.lethality * unit.strength * self._efficiency(unit) * turnaround / cover
        loss = AIR_LOSS_PER_SORTIE * unit.strength
        if self.stochastic:
            draws = keyed_rng(self.seed, "air", unit.id, round(self.env.now, 6))
            numpy_rng = np.random.default_rng(draws.getrandbits(63))
            damage, loss = (
                float(numpy_rng.poisson(damage)),
                float(numpy_rng.binomial(1, 0.5) * 2 * loss),
            )
        for enemy, weight in zip(enemies, exposure, strict=True):
            enemy.strength = max(0.0, enemy.strength - damage * weight / total)
            if enemy.strength <= 1e-9:
                enemy.strength = 0.0
                self._present[target].discard(enemy.id)
        unit.strength = max(0.0, unit.strength - loss)

    # ------------------------------------------------------ fires across the shore
    def _shore_fires(self, shooter: UnitState):
        """Salvos across the shoreline every reload: a land anti-ship battery fires at the
        strongest enemy ship group its side has a live track on within reach, and a ship with
        land-attack missiles at the strongest enemy anti-ship battery tracked within reach
        (counter-battery fire). Each aims at the reported place: if the target has moved on,
        the salvo is wasted (fog of war). Losses follow Hughes's salvo equation, one-sided."""
        unit_type = self._types[shooter.type]
        salvo = unit_type.salvo
        if unit_type.anti_ship_range_km > 0:
            reach, offense, is_target = unit_type.anti_ship_range_km, salvo.offense, self._is_ship
        else:
            reach, offense = unit_type.land_attack_range_km, salvo.land_attack
            is_target = self._is_battery
        reload = unit_type.turnaround_hours
        for wave in itertools.count(_first_wave(self.env.now, reload)):
            if not shooter.alive:
                return
            yield self._wait(wave * reload - self.env.now, PHASE_FIRES, self._rank[shooter.id])
            if shooter.id not in self._present[shooter.location]:
                continue  # under way, or not yet ashore
            aim = self._shore_target(shooter, reach, is_target)
            if aim is None:
                continue
            present = (self.state.units[uid] for uid in sorted(self._present[aim]))
            targets = [
                u for u in present if u.side != shooter.side and u.alive and is_target(u.type)
            ]
            if not targets:
                continue
            rng = keyed_rng(self.seed, "coastal", shooter.id, wave) if self.stochastic else None
            b, _, b_def, b_stay = self._pooled_salvo(targets)
            _, loss = salvo_exchange(
                shooter.strength,
                b,
                offense * self._efficiency(shooter),
                0.0,
                1.0,
                0.0,
                b_def,
                b_stay,
                rng,
            )
            _spread_loss(targets, loss)

    def _is_ship(self, unit_type: str) -> bool:
        return self._types[unit_type].domain == "sea"

    def _is_battery(self, unit_type: str) -> bool:
        return self._types[unit_type].anti_ship_range_km > 0

    def _shore_target(
        self, shooter: UnitState, reach_km: float, is_target: Callable[[str], bool]
    ) -> str | None:
        """Place of the strongest live enemy track of a target type the shooter's side holds
        within reach."""
        now = self.env.now
        stale = self.scenario.side(shooter.side).track_stale_hours
        best: tuple[float, str] | None = None
        tracks = self.state.detections[shooter.side]
        for reports in (tracks[unit_id] for unit_id in sorted(tracks)):
            known = [r for r in reports if r.reported_hour <= now]
            if not known or now - known[-1].seen_hour > stale:
                continue
            track = known[-1]
            if not is_target(track.type):
                continue
            if self.theater.distance_km(shooter.location, track.place) > reach_km:
                continue
            if best is None or track.strength > best[0]:
                best = (track.strength, track.place)
        return None if best is None else best[1]

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

    def _sensor_field(self, side: str, now: float) -> _SensorField:
        """The side's sensor coverage, rebuilt only when its observers moved, arrived or died
        since the last scan (scans are hourly, most units stand still most hours)."""
        layout = tuple(
            (unit.location, unit.type) for unit in self._units_of[side] if unit.active(now)
        )
        field = self._fields.get(side)
        if field is not None and field.layout == layout:
            return field
        covering: dict[str, list[float]] = defaultdict(list)  # place -> detection probabilities
        by_place: dict[str, list[str]] = defaultdict(list)
        for place, unit_type in layout:
            by_place[place].append(unit_type)
        for place, unit_types in by_place.items():
            reach = max(self._types[t].sensor_range_km for t in unit_types)
            for other, distance in self._within(place, reach):
                for unit_type in unit_types:
                    sensor = self._types[unit_type]
                    if sensor.sensor_range_km >= distance:
                        covering[other].append(sensor.detection_probability)
        field = _SensorField(layout, frozenset(by_place), covering)
        self._fields[side] = field
        return field

    def _scan(self, side: str, scan: int, delay: float | None = None) -> None:
        """One detection pass of a side's sensors over every enemy unit in range."""
        now = self.env.now
        field = self._sensor_field(side, now)
        if delay is None:
            delay = self.scenario.side(side).report_delay_hours
        seen = self.state.detections[side]
        battles = self.state.battles
        look_keys = self._look_keys.get(side)
        if look_keys is None:
            look_keys = self._look_keys[side] = {
                u.id: stream_key(self.seed, "look", side, u.id) for u in self._enemies_of[side]
            }
        for enemy in self._enemies_of[side]:
            place = enemy.location
            if place not in field.covering or not enemy.active(now):
                continue
            in_contact = place in battles and place in field.observer_places
            p_miss = field.miss_probability(place, self._types[enemy.type].signature)
            # One 64-bit draw per look: its high half decides detection, its low half the
            # strength estimate's error (two independent 32-bit uniforms).
            word = splitmix64(look_keys[enemy.id], scan)
            if not in_contact and ((word >> 32) + 0.5) / 2**32 < p_miss:
                continue
            error = 0.2 * (2 * ((word & 0xFFFFFFFF) + 0.5) / 2**32 - 1)
            reports = seen.setdefault(enemy.id, [])
            reports.append(
                Detection(
                    unit=enemy.id,
                    type=enemy.type,
                    place=place,
                    strength=round(enemy.strength * (1 + error), 3),
                    seen_hour=now,
                    reported_hour=now + (0.0 if in_contact else delay),
                )
            )
            del reports[:-DETECTIONS_KEPT]
        self._sight_convoys(side, scan, field, delay)

    def _sight_convoys(self, side: str, scan: int, field: _SensorField, delay: float) -> None:
        """Enemy convoys the side's sensors pick up: where and when, not whose or what."""
        now = self.env.now
        sightings = self.state.convoy_sightings.setdefault(side, [])
        for convoy_id in sorted(self.state.convoys):
            convoy = self.state.convoys[convoy_id]
            if convoy.side == side or convoy.location not in field.covering:
                continue
            p_miss = field.miss_probability(convoy.location, CONVOY_SIGNATURE)
            if keyed_uniform(self.seed, "convoy look", side, convoy.id, scan) < p_miss:
                continue
            sightings.append(
                {
                    "convoy": convoy.id,
                    "place": convoy.location,
                    "seen_hour": now,
                    "reported_hour": now + delay,
                }
            )
        del sightings[:-CONVOY_SIGHTINGS_KEPT]

    # --------------------------------------------------------------- logistics
    def _supply(self):
        tick = math.ceil(self.env.now / SUPPLY_INTERVAL_HOURS - 1e-9)
        while True:
            yield self._wait(tick * SUPPLY_INTERVAL_HOURS - self.env.now, PHASE_SUPPLY)
            for side in self._sides:
                self._consume_and_request(side)
            tick += 1

    def _consume_and_request(self, side: str) -> None:
        """Hourly: land units use supply by activity, refill at own sources, and units running
        low away from a source get a convoy from the nearest source they can be reached from."""
        control = self.state.control
        battles = self.state.battles
        now = self.env.now
        request_below = self.settings.logistics.request_below
        needy = []
        for unit in self._units_of[side]:
            if unit.domain != "land" or not unit.active(now):
                continue
            stationary = unit.next_place is None and not unit.berthing
            place = self._places[unit.location]
            if stationary and place.supply_source and control.get(place.id) == side:
                unit.supply = min(1.0, unit.supply + RESUPPLY_PER_HOUR * SUPPLY_INTERVAL_HOURS)
                continue
            activity = 3.0 if unit.location in battles else (2.0 if unit.next_place else 1.0)
            use = self._types[unit.type].consumption_per_hour * activity * SUPPLY_INTERVAL_HOURS
            unit.supply = max(0.0, unit.supply - use)
            if stationary and unit.supply < request_below:
                needy.append(unit)
        if needy:
            pending = {c.for_unit for c in self.state.convoys.values()}
            needy = [unit for unit in needy if unit.id not in pending]
        if needy:
            self._dispatch(side, sorted(needy, key=lambda u: u.id))

    def _dispatch(self, side: str, units: list[UnitState]) -> None:
        distances, paths = self._supply_network(side)
        for unit in units:
            route = self._supply_route(unit.location, distances, paths)
            if route is None:
                continue
            self.state.convoys_sent += 1
            convoy = ConvoyState(
                id=f"{side}-convoy-{self.state.convoys_sent}",
                side=side,
                for_unit=unit.id,
                cargo=self.settings.logistics.convoy_load,
                location=route[0],
                path=route[1:],
            )
            self.state.convoys[convoy.id] = convoy
            self.env.process(self._convoy(convoy))

    def _supply_network(self, side: str) -> tuple[dict, dict]:
        """Shortest road/rail routes from the side's sources through places it can use."""
        control = self.state.control
        hostile = self._hostile_places(side)
        sources = sorted(
            p.id for p in self.scenario.places if p.supply_source and control.get(p.id) == side
        )
        key = (side, hostile, tuple(sources))
        if key not in self._supply_routes:
            graph = nx.restricted_view(self.theater.domain_graph(CONVOY_MODES), hostile, [])
            self._supply_routes[key] = (
                nx.multi_source_dijkstra(graph, sources, weight="cost") if sources else ({}, {})
            )
        return self._supply_routes[key]

    def _hostile_places(self, side: str) -> frozenset[str]:
        """Places the enemy of `side` holds."""
        return frozenset(
            p for p, holder in self.state.control.items() if holder not in (None, side)
        )

    def _supply_route(self, place: str, distances: dict, paths: dict) -> list[str] | None:
        """Route from the nearest source to `place`, which may be enemy-held (an attacker's
        objective): then the route ends with one hop from an own-usable neighbour."""
        if place in distances:
            return list(paths[place])
        graph = self.theater.domain_graph(CONVOY_MODES)
        if place not in graph:
            return None
        options = [
            (distances[n] + graph[n][place]["cost"], n)
            for n in graph.neighbors(place)
            if n in distances
        ]
        if not options:
            return None
        return [*paths[min(options)[1]], place]

    def _convoy(self, convoy: ConvoyState):
        """A convoy drives to its unit, leg by leg (queueing at bridges like any column); it
        can be lost at any place it enters."""
        speed = self.settings.logistics.convoy_speed_kph
        interval = SUPPLY_INTERVAL_HOURS

        def drive():
            if convoy.next_place is None:  # set off (a convoy rebuilt under way is not)
                leg = self._convoy_leg(convoy)
                convoy.next_place = convoy.path.pop(0)
                convoy.depart_hour = self.env.now
                convoy.arrive_hour = self.env.now + leg["length_km"] / (speed * leg["speed_factor"])
            yield self._wait(convoy.arrive_hour - self.env.now, PHASE_CONVOY, _convoy_rank(convoy))

        if convoy.next_place is None and not convoy.path:
            # Waiting for its unit: look again on the supply grid, as the straight run does.
            tick = math.ceil(self.env.now / interval - 1e-9) * interval
            yield self._wait(tick - self.env.now, PHASE_CONVOY, _convoy_rank(convoy))
        while True:
            if convoy.next_place is None:
                if not convoy.path and not self._deliver(convoy):
                    if convoy.id not in self.state.convoys:
                        return
                    tick = (math.floor(self.env.now / interval + 1e-9) + 1) * interval
                    yield self._wait(tick - self.env.now, PHASE_CONVOY, _convoy_rank(convoy))
                    continue
                if convoy.id not in self.state.convoys:
                    return
            yield from self._on_route(convoy, self._convoy_leg(convoy), drive)
            convoy.location = convoy.next_place
            convoy.next_place = convoy.depart_hour = convoy.arrive_hour = None
            convoy.legs += 1
            cause = self._interdiction(convoy)
            if cause is not None:
                self._end_convoy(convoy, cause)
                return

    def _convoy_leg(self, convoy: ConvoyState) -> dict:
        """The leg the convoy is on, or is about to take."""
        return self.theater.leg(CONVOY_MODES, convoy.location, convoy.next_place or convoy.path[0])

    def _deliver(self, convoy: ConvoyState) -> bool:
        """Hand over the cargo if the unit is here; else re-route to it. False: not yet."""
        unit = self.state.units[convoy.for_unit]
        if not unit.alive:
            self._end_convoy(convoy, "undelivered: unit destroyed")
            return False
        if unit.next_place is None and not unit.berthing and unit.location == convoy.location:
            given = min(convoy.cargo, 1.0 - unit.supply)
            unit.supply += given
            self._end_convoy(convoy, "delivered", cargo=given)
            return True
        if unit.next_place is not None or unit.berthing:
            return False  # the unit is moving: look again next hour
        hostile = self._hostile_places(convoy.side)
        route = self.theater.path(CONVOY_MODES, convoy.location, unit.location, hostile)
        if route is None:
            self._end_convoy(convoy, "undelivered: no route")
            return False
        convoy.path = list(route[1:])
        return True

    def _interdiction(self, convoy: ConvoyState) -> str | None:
        """Why a convoy entering its current place is lost, if it is: enemy control or enemy
        troops there and none of its own, or enemy air interdicting the place (a chance per
        aircraft)."""
        place = convoy.location
        ground = self._ground(place)
        held = self.state.control.get(place) not in (None, convoy.side)
        if (held or ground) and convoy.side not in ground:  # no own troops to secure it
            return "destroyed by enemy ground forces"
        aircraft = sum(
            u.strength
            for u in self.state.units.values()
            if u.side != convoy.side
            and u.action == "interdict"
            and u.target == place
            and u.active(self.env.now)
            and self.theater.distance_km(u.location, place) <= self._types[u.type].sortie_range_km
        )
        if aircraft <= 0:
            return None
        per_aircraft = self.settings.logistics.interdiction_per_aircraft
        p_kill = 1.0 - (1.0 - per_aircraft) ** aircraft
        if self.stochastic:
            if keyed_uniform(self.seed, "interdict", convoy.id, convoy.legs) < p_kill:
                return "destroyed by air interdiction"
            return None
        convoy.cargo *= 1.0 - p_kill  # expected value in deterministic runs
        return None

    def _end_convoy(self, convoy: ConvoyState, result: str, cargo: float | None = None) -> None:
        self.state.logistics_log.append(
            {
                "hour": self.env.now,
                "convoy": convoy.id,
                "side": convoy.side,
                "unit": convoy.for_unit,
                "place": convoy.location,
                "result": result,
                "cargo": round(convoy.cargo if cargo is None else cargo, 6),
            }
        )
        del self.state.convoys[convoy.id]

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


def _ranks(ids: Iterable[str]) -> dict[str, float]:
    """Each id's place in sorted order, as a fraction in [0, 1)."""
    ordered = sorted(ids)
    return {key: i / (len(ordered) + 1) for i, key in enumerate(ordered)}


def _first_wave(now: float, interval: float) -> int:
    """The first wave of a fixed grid still to fire at `now`: one due exactly now has not
    fired (runs stop before `until`), and none fires at H+0."""
    return max(1, math.ceil(now / interval - 1e-9))


def _convoy_rank(convoy: ConvoyState) -> float:
    """Convoys in the order they were sent (ids end in their serial number)."""
    serial = int(convoy.id.rsplit("-", 1)[1])
    return 1.0 - 1.0 / (serial + 1)


def _domain_class(unit: UnitState) -> str:
    return "sea" if unit.domain == "sea" else "land"


def _standing(ground: dict[str, list[UnitState]]) -> dict[str, list[UnitState]]:
    """The units of a place's ground still alive and not pulling out, sides with none dropped."""
    standing = {}
    for side, units in ground.items():
        kept = [u for u in units if u.alive and u.posture != "withdraw"]
        if kept:
            standing[side] = kept
    return standing


def _opposed(ground: dict[str, list[UnitState]]) -> bool:
    """Whether two sides face each other in the same domain (ships fight ships, land land)."""
    classes = [{_domain_class(u) for u in units} for units in ground.values()]
    return len(classes) >= 2 and bool(classes[0] & classes[1])


def _spread_loss(units: list[UnitState], loss: float) -> None:
    """Share a loss of strength over units in proportion to their strength."""
    total = sum(u.strength for u in units)
    if total <= 0:
        return
    for unit in units:
        unit.strength = max(0.0, unit.strength - loss * unit.strength / total)
        if unit.strength <= 1e-9:
            unit.strength = 0.0


def _arrival_pending(unit: UnitState, hour: float) -> bool:
    """A reinforcement still to arrive (one due now has not: runs stop before `until`)."""
    return unit.arrives_hour > 0 and unit.arrives_hour >= hour


def _sides_standing(state: WorldState) -> dict[tuple[str, str], set[str]]:
    """(place, domain class) -> sides with a unit standing there that would fight (alive,
    arrived, ashore, not moving, not pulling out): where enemies are, a unit is in contact.
    Works on the ground truth and on a side's believed world alike."""
    sides: dict[tuple[str, str], set[str]] = defaultdict(set)
    for unit in state.units.values():
        pending = _arrival_pending(unit, state.hour)
        if not unit.alive or pending or unit.berthing or unit.next_place is not None:
            continue
        if unit.domain != "air" and unit.posture != "withdraw":
            sides[unit.location, _domain_class(unit)].add(unit.side)
    return sides


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
    sides_at = _sides_standing(state)
    for task in taskings:
        unit = state.units.get(task.unit)
        if unit is None or not unit.alive:
            rejected.append(f"{task.unit}: no such live unit")
            continue
        if task.action in AIR_ACTIONS and unit.domain != "air":
            rejected.append(f"{task.unit}: only air units can {task.action}")
            continue
        unit.action, unit.target = task.action, task.target
        start = unit.next_place or unit.location
        if task.action in AIR_ACTIONS or task.target is None or task.target == start:
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
        here = sides_at.get((unit.location, _domain_class(unit)), ())
        if unit.next_place is None and any(side != unit.side for side in here):
            # Ordered away from a fight, whatever it is to do where it is going: it breaks
            # contact at the end of the combat step in progress and leaves.
            unit.posture = "disengage"
        elif unit.next_place is None:
            unit.posture = {"attack": "attack", "withdraw": "withdraw"}.get(task.action, "move")
    return rejected
