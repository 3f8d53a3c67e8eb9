"""The simulation: one run from a world state, composed of the kernel and the subsystems.

Building a `Simulation` rebuilds every process from the snapshot in a fixed order (units and
convoys holding a slot first, so they get it back before anyone queued for it, as in the
uninterrupted run); `run` advances it; the world state is read back out at any time.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from sim.engine.combat import Combat
from sim.engine.contact import RouteContact
from sim.engine.fires import Fires
from sim.engine.kernel import PHASE_RECORD, Kernel, Process
from sim.engine.logistics import Logistics
from sim.engine.movement import Movement
from sim.engine.presence import Presence, arrival_pending, opposed
from sim.engine.sensing import Sensing
from sim.scenario import Scenario
from sim.state import UnitState, WorldState
from sim.theater import Theater

__all__ = ["Simulation", "TimelineRow"]

#: (hour, unit id, side, strength, place) of one unit at one whole hour.
TimelineRow = tuple[float, str, str, float, str]


class Simulation:
    """Runs a world state forward in time under the units' current orders.

    Args:
        seed: keys every random draw of the run.
        stochastic: override the scenario's setting (None keeps it).
        record_timeline: keep (hour, unit, side, strength, place) of every unit each hour.
        keep_picture: keep every side's sensor picture up to date. False for a run whose
            detections nobody reads afterwards (a wargame replication reads only the
            outcome): then only sides whose shore fires aim by their tracks scan, and the
            outcome is the same as with the picture kept.
    """

    def __init__(
        self,
        scenario: Scenario,
        theater: Theater,
        state: WorldState,
        *,
        seed: int,
        stochastic: bool | None = None,
        record_timeline: bool = False,
        keep_picture: bool = True,
    ):
        self.scenario = scenario
        self.theater = theater
        self.state = state
        self.seed = seed
        self.settings = scenario.settings
        self.stochastic = self.settings.stochastic if stochastic is None else stochastic
        self.kernel = Kernel(
            state, seed=seed, stochastic=self.stochastic, max_events=self.settings.max_events
        )
        self.env = self.kernel.env
        self.timeline: list[TimelineRow] = []
        self.sides = [side.id for side in scenario.sides]
        self.units_of = {s: [u for u in state.units.values() if u.side == s] for s in self.sides}
        self.enemies_of = {s: [u for u in state.units.values() if u.side != s] for s in self.sides}
        self.presence = Presence(state)
        self.movement = Movement(self)
        self.routes = RouteContact(self)
        self.combat = Combat(self)
        self.fires = Fires(self)
        self.sensing = Sensing(self)
        self.logistics = Logistics(self)
        self._rebuild(keep_picture, record_timeline)

    def _rebuild(self, keep_picture: bool, record_timeline: bool) -> None:
        """Start every process the snapshot implies, in the order of an uninterrupted run."""
        state, movement, logistics = self.state, self.movement, self.logistics
        for unit in self.sorted_units():
            ashore = unit.leg is None and not unit.berthing
            if unit.alive and ashore and not arrival_pending(unit, self.kernel.now):
                self.presence.add(unit.location, unit.id)
            if unit.alive and unit.leg is not None:
                route = movement.route(unit, unit.location, unit.leg.to)
                self.routes.travelling[route["key"]].add(unit.id)
        self.combat.resume()
        # Units and convoys holding a slot (on a bridge, at a berth, rearming) start first and
        # so get their slot back before anyone queued for it, as in the uninterrupted run.
        convoys = [state.convoys[c] for c in sorted(state.convoys)] if self.settings.supply else []
        for convoy in (c for c in convoys if logistics.holds_route(c)):
            logistics.start_convoy(convoy)
        shooters = set()
        for unit in sorted(self.sorted_units(), key=lambda u: not movement.holds_slot(u)):
            if unit.alive:
                movement.start(unit)
                unit_type = self.scenario.unit_types[unit.type]
                if unit_type.anti_ship_range_km > 0 or unit_type.land_attack_range_km > 0:
                    self.kernel.start(self.fires.shore_fires(unit))
                    shooters.add(unit.side)
        for convoy in (c for c in convoys if not logistics.holds_route(c)):
            logistics.start_convoy(convoy)
        self.routes.schedule_meetings_in_progress()
        for place in sorted(self.presence.at):
            if place not in state.battles and opposed(self.presence.ground(place)):
                self.combat.contact(place, None)  # forces that start in contact fight at once
        for side in self.sides:
            if keep_picture or side in shooters:
                self.sensing.start(side)
        if self.settings.supply:
            logistics.start()
        for planner_side in self.scenario.sides:
            for objective in planner_side.mission.objectives:
                key = f"{planner_side.id}:{objective.id}"
                if objective.deadline_hours >= state.hour and key not in state.objective_log:
                    self.kernel.start(
                        self._deadline(key, objective.place, objective.deadline_hours)
                    )
        if record_timeline:
            self.kernel.start(self._recorder())

    @property
    def events_processed(self) -> int:
        """SimPy events processed so far."""
        return self.kernel.events_processed

    def run(self, until: float) -> WorldState:
        """Advance to `until` hours (events at exactly `until` are left for the next run)."""
        return self.kernel.run(until)

    def initial_sweep(self) -> None:
        """Every side's pre-hostilities intelligence picture: one scan, reported at once."""
        self.sensing.initial_sweep()

    def sorted_units(self) -> Iterator[UnitState]:
        """Every unit in id order."""
        return (self.state.units[uid] for uid in sorted(self.state.units))

    # ------------------------------------------------------------- bookkeeping
    def _deadline(self, key: str, place: str, hour: float) -> Process:
        yield self.kernel.wait(hour - self.kernel.now, PHASE_RECORD)
        self.state.objective_log[key] = self.state.control.get(place)

    def _recorder(self) -> Process:
        hour = math.ceil(self.kernel.now - 1e-9)
        while True:
            yield self.kernel.wait(hour - self.kernel.now, PHASE_RECORD)
            for unit in self.sorted_units():
                if unit.arrives_hour <= hour:
                    self.timeline.append(
                        (float(hour), unit.id, unit.side, round(unit.strength, 4), unit.location)
                    )
            hour += 1
