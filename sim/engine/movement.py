"""Movement and slots: units as SimPy processes travelling legs between places, and the
limited slots they queue for (a route's lanes: a bridge or a strait; a place's berths for
landings and arrivals; an airfield's sortie slots), served first come, first served."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

import simpy

from sim.engine.kernel import PHASE_MOVE, Process, ranks
from sim.engine.presence import arrival_pending, efficiency
from sim.scenario import AIR_ACTIONS
from sim.state import ConvoyState, Leg, UnitState

if TYPE_CHECKING:
    from sim.engine.simulation import Simulation

__all__ = ["Movement", "Slots"]

_NORMAL = NormalDist()
#: A route's attributes as `Theater.leg` gives them.
Route = dict[str, Any]


class Slots:
    """Limited slots as `simpy.PriorityResource`s, one per route or place that has a
    capacity, served by (hour queued, unit or convoy id)."""

    def __init__(self, env: simpy.Environment):
        self.env = env
        self._slots: dict[tuple[str, Any], simpy.PriorityResource] = {}

    def of(self, key: tuple[str, Any], capacity: int) -> simpy.PriorityResource:
        """The slots of a route ("route", key) or a place ("place", id)."""
        slots = self._slots.get(key)
        if slots is None:
            slots = self._slots[key] = simpy.PriorityResource(self.env, capacity=capacity)
        return slots

    def request(
        self, slots: simpy.PriorityResource, mover: UnitState | ConvoyState
    ) -> simpy.resources.resource.PriorityRequest:
        """A slot request served first come, first served; ties by unit or convoy id."""
        if mover.queued_hour is None:
            mover.queued_hour = self.env.now
        return slots.request(priority=(mover.queued_hour, mover.id))  # type: ignore[arg-type]

    def on_route(
        self, mover: UnitState | ConvoyState, route: Route, ride: Callable[[], Iterator[Any]]
    ) -> Process:
        """Run `ride` (depart and cover the leg) holding one of the route's slots throughout
        if it has a capacity (a bridge, a pass), queueing for it first."""
        if route["capacity"] is None:
            yield from ride()
            return
        slots = self.of(("route", route["key"]), route["capacity"])
        with self.request(slots, mover) as request:
            yield request
            mover.queued_hour = None
            yield from ride()


class Movement:
    """Every unit's process: reinforcement arrival, berthing, legs along its path, standing
    in a battle until it ends or the unit breaks contact, and sortie waves for air units."""

    def __init__(self, sim: Simulation):
        self.sim = sim
        self.kernel = sim.kernel
        self.state = sim.state
        self.theater = sim.theater
        self.places = sim.theater.places
        self.presence = sim.presence
        self.slots = Slots(sim.kernel.env)
        self.rank = ranks(sim.state.units)
        self._modes = {name: t.modes for name, t in sim.scenario.unit_types.items()}
        self.movers: dict[str, simpy.Process] = {}
        self.movement_noise = sim.settings.movement_noise

    def modes(self, unit: UnitState) -> frozenset[str]:
        """Route modes the unit may travel."""
        return self._modes[unit.type]

    def route(self, unit: UnitState, source: str, target: str) -> Route:
        """The fastest route of the unit's modes between two adjacent places."""
        return self.theater.leg(self._modes[unit.type], source, target)

    def holds_slot(self, unit: UnitState) -> bool:
        """Whether the unit holds a slot it must get back first in a rebuilt run."""
        if unit.busy_until is not None:
            return True
        if unit.leg is None:
            return False
        return self.route(unit, unit.location, unit.leg.to)["capacity"] is not None

    def start(self, unit: UnitState) -> None:
        """Start (or restart) the unit's process."""
        self.movers[unit.id] = self.kernel.start(self._unit(unit))

    def restart_if_idle(self, unit: UnitState) -> None:
        """Give a unit whose process has ended (it stood still) new orders to carry out."""
        if not self.movers[unit.id].is_alive:
            self.start(unit)

    def turn_back(self, unit: UnitState) -> None:
        """Tell a riding unit its leg changed (a contact on the route turned it back)."""
        self.movers[unit.id].interrupt("contact on route")

    # ---------------------------------------------------------------- processes
    def _unit(self, unit: UnitState) -> Process:
        kernel = self.kernel
        if arrival_pending(unit, kernel.now):
            yield kernel.wait(unit.arrives_hour - kernel.now, PHASE_MOVE, self.rank[unit.id])
            unit.berthing = self.places[unit.location].capacity is not None
            if not unit.berthing:
                self.settle(unit, unit.location)
        if unit.berthing:  # landing by sea or arriving at a capacity-limited place
            yield from self._berth(unit)
        elif unit.leg is not None:
            yield from self._cover_leg(unit, self.route(unit, unit.location, unit.leg.to), None)
        if unit.domain == "air" and unit.action in AIR_ACTIONS:
            yield from self.sim.fires.sorties(unit)
            return
        battles = self.sim.combat.done
        while unit.alive:
            battle = battles.get(unit.location)
            if battle is not None and unit.domain != "air":
                if unit.posture != "disengage":
                    yield battle  # fight it out: a column cannot pass through a contested place
                    continue
                # Ordered away: it fights the combat step ending now, then breaks contact.
                yield kernel.wait(0.0, PHASE_MOVE, self.rank[unit.id])
                if not unit.alive:
                    return
            if not unit.path:
                return
            destination = unit.path[0]
            yield from self._cover_leg(
                unit, self.route(unit, unit.location, destination), destination
            )

    def _cover_leg(self, unit: UnitState, route: Route, destination: str | None) -> Process:
        """Depart for `destination` (None: already under way) and ride to the end of the leg,
        holding one of the route's slots throughout if it has a capacity."""
        if route["capacity"] is None:  # most routes: no slot to queue for
            yield from self._ride(unit, destination, route)
        else:
            yield from self.slots.on_route(
                unit, route, lambda: self._ride(unit, destination, route)
            )
        yield from self._land(unit, route)

    def _ride(self, unit: UnitState, destination: str | None, route: Route) -> Iterator[Any]:
        """Depart for `destination` (None: already under way) and wait for the end of the leg;
        a contact on the route may turn the unit back."""
        if destination is not None:
            self._depart(unit, destination, route)
        kernel = self.kernel
        while True:
            assert unit.leg is not None
            try:
                yield kernel.wait(unit.leg.arrive_hour - kernel.now, PHASE_MOVE, self.rank[unit.id])
                return
            except simpy.Interrupt:
                continue  # the route's contact changed the leg: wait for the new arrival hour

    def _land(self, unit: UnitState, route: Route) -> Process:
        """End of a leg: arrive, after a berth if landing by sea at a capacity-limited port."""
        assert unit.leg is not None
        place = unit.leg.to
        self.sim.routes.left(unit, route["key"])
        unit.location = place
        unit.leg = None
        unit.legs += 1
        if route["mode"] == "sea" and unit.domain == "land" and self.places[place].capacity:
            unit.berthing = True
            yield from self._berth(unit)
        else:
            self.settle(unit, place)

    def _berth(self, unit: UnitState) -> Process:
        """Hold one of the place's berths for its handling time, queueing if all are taken."""
        place = self.places[unit.location]
        assert place.capacity is not None
        slots = self.slots.of(("place", place.id), place.capacity)
        yield from self.occupy(unit, slots, place.handling_hours, PHASE_MOVE)
        unit.berthing = False
        self.settle(unit, unit.location)

    def occupy(
        self, unit: UnitState, slots: simpy.PriorityResource, hours: float, phase: int
    ) -> Process:
        """Take a slot (queueing if needed) and keep it `hours`; a unit rebuilt while holding
        one keeps its recorded end hour."""
        with self.slots.request(slots, unit) as request:
            yield request
            unit.queued_hour = None
            if unit.busy_until is None:
                unit.busy_until = self.kernel.now + hours
            yield self.kernel.wait(unit.busy_until - self.kernel.now, phase, self.rank[unit.id])
            unit.busy_until = None

    # ------------------------------------------------------------------- steps
    def _travel_noise(self, unit: UnitState) -> float:
        """Lognormal travel-time factor with mean 1 and the scenario's coefficient of variation."""
        cv = self.movement_noise
        if not self.kernel.stochastic or cv <= 0:
            return 1.0
        sigma = math.sqrt(math.log1p(cv * cv))
        z = _NORMAL.inv_cdf(self.kernel.uniform("move", unit.id, unit.legs))
        return math.exp(sigma * z - sigma * sigma / 2)

    def _depart(self, unit: UnitState, destination: str, route: Route) -> None:
        speed = unit.speed_kph * route["speed_factor"] * efficiency(unit)
        hours = route["length_km"] / speed * self._travel_noise(unit)
        unit.path.pop(0)
        if unit.posture == "disengage":  # contact broken: it marches as ordered
            unit.posture = "attack" if unit.action == "attack" else "move"
        self.presence.discard(unit.location, unit.id)
        now = self.kernel.now
        unit.leg = Leg(destination, now, now + hours)
        self.sim.routes.joined(unit, route["key"])

    def settle(self, unit: UnitState, place: str) -> None:
        """A unit is at a place and stops there (or passes through): contact or control."""
        if not unit.path and unit.domain != "air":
            unit.posture = "defend"
        self.presence.add(place, unit.id)
        if unit.domain != "air":
            self.sim.combat.contact(place, unit.side)
