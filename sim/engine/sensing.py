"""Sensing: every scan interval each side's sensors look at every enemy unit and convoy in
range (range, detection probability, target signature), and reports reach the side's picture
after its report delay (at once from forces in contact)."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING

from sim._random import splitmix64, stream_key
from sim.engine.kernel import PHASE_SENSE, Process
from sim.state import Detection

if TYPE_CHECKING:
    from sim.engine.simulation import Simulation

__all__ = ["CONVOY_SIGHTINGS_KEPT", "CONVOY_SIGNATURE", "DETECTIONS_KEPT", "Sensing"]

DETECTIONS_KEPT = 3
#: A truck column on a road is taken to be as detectable as a manoeuvre unit (the default
#: unit signature); a side keeps its newest sightings of enemy convoys.
CONVOY_SIGNATURE = 1.0
CONVOY_SIGHTINGS_KEPT = 50


class SensorField:
    """A side's sensor coverage for one layout of its observers (place and type of each)."""

    def __init__(
        self,
        layout: tuple[tuple[str, str], ...],
        observer_places: frozenset[str],
        covering: dict[str, list[float]],
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


class Sensing:
    """Each side's scans and the detections and convoy sightings they report."""

    def __init__(self, sim: Simulation):
        self.sim = sim
        self.kernel = sim.kernel
        self.state = sim.state
        self.theater = sim.theater
        self.scenario = sim.scenario
        self.types = sim.scenario.unit_types
        self.interval = sim.settings.scan_interval_hours
        self._units_of = sim.units_of
        self._enemies_of = sim.enemies_of
        self._fields: dict[str, SensorField] = {}
        self._look_keys: dict[str, dict[str, int]] = {}  # side -> enemy id -> its looks' stream
        self._within_cache: dict[tuple[str, float], list[tuple[str, float]]] = {}

    def start(self, side: str) -> None:
        """Register the side's scans."""
        self.kernel.start(self._sensor(side))

    def initial_sweep(self) -> None:
        """Every side's pre-hostilities intelligence picture: one scan, reported at once."""
        scan = math.ceil(self.kernel.now / self.interval - 1e-9)
        for side in self.sim.sides:
            self.scan(side, scan, delay=0.0)

    def _sensor(self, side: str) -> Process:
        interval = self.interval
        scan = math.ceil(self.kernel.now / interval - 1e-9)
        while True:
            yield self.kernel.wait(scan * interval - self.kernel.now, PHASE_SENSE)
            self.scan(side, scan)
            scan += 1

    def _within(self, place: str, radius: float) -> list[tuple[str, float]]:
        key = (place, radius)
        if key not in self._within_cache:
            self._within_cache[key] = [
                (other, self.theater.distance_km(place, other))
                for other in self.theater.places_within(place, radius)
            ]
        return self._within_cache[key]

    def _sensor_field(self, side: str, now: float) -> SensorField:
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
            reach = max(self.types[t].sensor_range_km for t in unit_types)
            for other, distance in self._within(place, reach):
                for unit_type in unit_types:
                    sensor = self.types[unit_type]
                    if sensor.sensor_range_km >= distance:
                        covering[other].append(sensor.detection_probability)
        field = SensorField(layout, frozenset(by_place), covering)
        self._fields[side] = field
        return field

    def scan(self, side: str, scan: int, delay: float | None = None) -> None:
        """One detection pass of a side's sensors over every enemy unit in range."""
        now = self.kernel.now
        field = self._sensor_field(side, now)
        if delay is None:
            delay = self.scenario.side(side).report_delay_hours
        seen = self.state.detections[side]
        battles = self.state.battles
        look_keys = self._look_keys.get(side)
        if look_keys is None:
            look_keys = self._look_keys[side] = {
                u.id: stream_key(self.kernel.seed, "look", side, u.id)
                for u in self._enemies_of[side]
            }
        for enemy in self._enemies_of[side]:
            place = enemy.location
            if place not in field.covering or not enemy.active(now):
                continue
            in_contact = place in battles and place in field.observer_places
            p_miss = field.miss_probability(place, self.types[enemy.type].signature)
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

    def _sight_convoys(self, side: str, scan: int, field: SensorField, delay: float) -> None:
        """Enemy convoys the side's sensors pick up: where and when, not whose or what."""
        now = self.kernel.now
        sightings = self.state.convoy_sightings.setdefault(side, [])
        for convoy_id in sorted(self.state.convoys):
            convoy = self.state.convoys[convoy_id]
            if convoy.side == side or convoy.location not in field.covering:
                continue
            p_miss = field.miss_probability(convoy.location, CONVOY_SIGNATURE)
            if self.kernel.uniform("convoy look", side, convoy.id, scan) < p_miss:
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
