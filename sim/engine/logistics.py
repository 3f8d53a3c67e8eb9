"""Logistics: hourly supply use by activity, refills at own sources, and supply convoys that
drive from the nearest own source over ground the enemy does not hold (queueing at bridges
like any column), lost to enemy ground forces or, with a chance per aircraft, to air
interdiction at the places they enter."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from sim.engine.kernel import PHASE_CONVOY, PHASE_SUPPLY, Process
from sim.scenario import DOMAIN_MODES
from sim.state import ConvoyState, Leg, UnitState
from sim.theater import Routes

if TYPE_CHECKING:
    from sim.engine.simulation import Simulation

__all__ = ["CONVOY_MODES", "RESUPPLY_PER_HOUR", "SUPPLY_INTERVAL_HOURS", "Logistics"]

SUPPLY_INTERVAL_HOURS = 1.0
#: Basic loads a unit standing at an own supply source draws per hour (depot issue rate).
RESUPPLY_PER_HOUR = 0.1
#: Supply convoys are wheeled: roads and rail only, never cross-country.
CONVOY_MODES = DOMAIN_MODES["land"] - {"offroad"}


class Logistics:
    """Supply levels of land units and the convoys that carry supply to them."""

    def __init__(self, sim: Simulation):
        self.sim = sim
        self.kernel = sim.kernel
        self.state = sim.state
        self.theater = sim.theater
        self.places = sim.theater.places
        self.scenario = sim.scenario
        self.types = sim.scenario.unit_types
        self.settings = sim.settings.logistics
        self.presence = sim.presence
        # Land units by side with their hourly use; supply sources; air units tasked to
        # interdict (orders do not change within a run).
        self._land_units = {
            side: [
                (u, self.types[u.type].consumption_per_hour) for u in units if u.domain == "land"
            ]
            for side, units in sim.units_of.items()
        }
        self._sources = frozenset(p.id for p in sim.scenario.places if p.supply_source)
        self._interdictors = [u for u in sim.state.units.values() if u.action == "interdict"]

    def start(self) -> None:
        """Register the hourly supply pass."""
        self.kernel.start(self._supply())

    def start_convoy(self, convoy: ConvoyState) -> None:
        """Register a convoy's drive (new, or rebuilt from a snapshot)."""
        self.kernel.start(self._convoy(convoy))

    def holds_route(self, convoy: ConvoyState) -> bool:
        """Whether the convoy holds a route's slot it must get back first in a rebuilt run."""
        if convoy.leg is None:
            return False
        return self._convoy_route(convoy)["capacity"] is not None

    # -------------------------------------------------------------- supply use
    def _supply(self) -> Process:
        tick = math.ceil(self.kernel.now / SUPPLY_INTERVAL_HOURS - 1e-9)
        while True:
            yield self.kernel.wait(tick * SUPPLY_INTERVAL_HOURS - self.kernel.now, PHASE_SUPPLY)
            for side in self.sim.sides:
                self._consume_and_request(side)
            tick += 1

    def _consume_and_request(self, side: str) -> None:
        """Hourly: land units use supply by activity, refill at own sources, and units running
        low away from a source get a convoy from the nearest source they can be reached from."""
        control = self.state.control
        battles = self.state.battles
        sources = self._sources
        now = self.kernel.now
        request_below = self.settings.request_below
        refill = RESUPPLY_PER_HOUR * SUPPLY_INTERVAL_HOURS
        needy = []
        for unit, consumption in self._land_units[side]:
            if unit.strength <= 1e-9 or unit.arrives_hour > now:  # not active
                continue
            stationary = unit.leg is None and not unit.berthing
            place = unit.location
            if stationary and place in sources and control.get(place) == side:
                unit.supply = min(1.0, unit.supply + refill)
                continue
            activity = 3.0 if place in battles else (2.0 if unit.leg else 1.0)
            use = consumption * activity * SUPPLY_INTERVAL_HOURS
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
                cargo=self.settings.convoy_load,
                location=route[0],
                path=route[1:],
            )
            self.state.convoys[convoy.id] = convoy
            self.start_convoy(convoy)

    def _supply_network(self, side: str) -> Routes:
        """Shortest road/rail routes from the side's sources through places it can use."""
        control = self.state.control
        hostile = self._hostile_places(side)
        sources = sorted(
            p.id for p in self.scenario.places if p.supply_source and control.get(p.id) == side
        )
        return self.theater.routes_from(CONVOY_MODES, tuple(sources), hostile)

    def _hostile_places(self, side: str) -> frozenset[str]:
        """Places the enemy of `side` holds."""
        return frozenset(
            p for p, holder in self.state.control.items() if holder not in (None, side)
        )

    def _supply_route(
        self, place: str, distances: dict[str, float], paths: dict[str, list[str]]
    ) -> list[str] | None:
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

    # ----------------------------------------------------------------- convoys
    def _convoy(self, convoy: ConvoyState) -> Process:
        """A convoy drives to its unit, leg by leg (queueing at bridges like any column); it
        can be lost at any place it enters."""
        kernel = self.kernel
        speed = self.settings.convoy_speed_kph
        interval = SUPPLY_INTERVAL_HOURS
        rank = _convoy_rank(convoy)
        slots = self.sim.movement.slots

        def drive() -> Process:
            if convoy.leg is None:  # set off (a convoy rebuilt under way is not)
                route = self._convoy_route(convoy)
                now = kernel.now
                hours = route["length_km"] / (speed * route["speed_factor"])
                convoy.leg = Leg(convoy.path.pop(0), now, now + hours)
            yield kernel.wait(convoy.leg.arrive_hour - kernel.now, PHASE_CONVOY, rank)

        if convoy.leg is None and not convoy.path:
            # Waiting for its unit: look again on the supply grid, as the straight run does.
            tick = math.ceil(kernel.now / interval - 1e-9) * interval
            yield kernel.wait(tick - kernel.now, PHASE_CONVOY, rank)
        while True:
            if convoy.leg is None:
                if not convoy.path and not self._deliver(convoy):
                    if convoy.id not in self.state.convoys:
                        return
                    tick = (math.floor(kernel.now / interval + 1e-9) + 1) * interval
                    yield kernel.wait(tick - kernel.now, PHASE_CONVOY, rank)
                    continue
                if convoy.id not in self.state.convoys:
                    return
            yield from slots.on_route(convoy, self._convoy_route(convoy), drive)
            assert convoy.leg is not None
            convoy.location = convoy.leg.to
            convoy.leg = None
            convoy.legs += 1
            cause = self._interdiction(convoy)
            if cause is not None:
                self._end_convoy(convoy, cause)
                return

    def _convoy_route(self, convoy: ConvoyState) -> dict[str, Any]:
        """The route the convoy is on, or is about to take."""
        to = convoy.leg.to if convoy.leg is not None else convoy.path[0]
        return self.theater.leg(CONVOY_MODES, convoy.location, to)

    def _deliver(self, convoy: ConvoyState) -> bool:
        """Hand over the cargo if the unit is here; else re-route to it. False: not yet."""
        unit = self.state.units[convoy.for_unit]
        if not unit.alive:
            self._end_convoy(convoy, "undelivered: unit destroyed")
            return False
        if unit.leg is None and not unit.berthing and unit.location == convoy.location:
            given = min(convoy.cargo, 1.0 - unit.supply)
            unit.supply += given
            self._end_convoy(convoy, "delivered", cargo=given)
            return True
        if unit.leg is not None or unit.berthing:
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
        ground = self.presence.ground(place)
        held = self.state.control.get(place) not in (None, convoy.side)
        if (held or ground) and convoy.side not in ground:  # no own troops to secure it
            return "destroyed by enemy ground forces"
        now = self.kernel.now
        aircraft = sum(
            u.strength
            for u in self._interdictors
            if u.side != convoy.side
            and u.target == place
            and u.active(now)
            and self.theater.distance_km(u.location, place) <= self.types[u.type].sortie_range_km
        )
        if aircraft <= 0:
            return None
        per_aircraft = self.settings.interdiction_per_aircraft
        p_kill = 1.0 - (1.0 - per_aircraft) ** aircraft
        if self.kernel.stochastic:
            if self.kernel.uniform("interdict", convoy.id, convoy.legs) < p_kill:
                return "destroyed by air interdiction"
            return None
        convoy.cargo *= 1.0 - p_kill  # expected value in deterministic runs
        return None

    def _end_convoy(self, convoy: ConvoyState, result: str, cargo: float | None = None) -> None:
        self.state.logistics_log.append(
            {
                "hour": self.kernel.now,
                "convoy": convoy.id,
                "side": convoy.side,
                "unit": convoy.for_unit,
                "place": convoy.location,
                "result": result,
                "cargo": round(convoy.cargo if cargo is None else cargo, 6),
            }
        )
        del self.state.convoys[convoy.id]


def _convoy_rank(convoy: ConvoyState) -> float:
    """Convoys in the order they were sent (ids end in their serial number)."""
    serial = int(convoy.id.rsplit("-", 1)[1])
    return 1.0 - 1.0 / (serial + 1)
