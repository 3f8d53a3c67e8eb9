"""The drafting context: everything a COA drafter needs about one side's decision, typed.

Built once per side and decision from the scenario, the side's believed world and its mission
analysis; it answers the questions schemes keep asking (how long an element needs to reach a
place, when the enemy gets there, which air units can reach a target).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property

from doctrine import DoctrineIndex
from planner.analysis import MissionAnalysis
from planner.echelons import Element, OrderOfBattle
from sim.scenario import Scenario
from sim.state import UnitState, WorldState
from sim.theater import Theater

__all__ = ["DraftingContext", "lookahead_hours"]


def lookahead_hours(scenario: Scenario, side: str) -> float:
    """How far ahead a side wargames its COAs: `planning.lookahead_hours`, or two of its own
    decision cycles."""
    settings = scenario.settings
    cycle = scenario.side(side).cycle_hours or settings.cycle_hours
    return settings.planning.lookahead_hours or 2 * cycle


@dataclass
class DraftingContext:
    """One side's decision: scenario, believed world, analysis, doctrine and echelons."""

    scenario: Scenario
    theater: Theater
    believed: WorldState
    analysis: MissionAnalysis
    index: DoctrineIndex
    count: int  # COAs wanted
    _travel: dict[tuple[str, str], float | None] = field(default_factory=dict, repr=False)

    @property
    def side(self) -> str:
        """The side planning."""
        return self.analysis.side

    @property
    def hour(self) -> float:
        """The decision hour (H-hour of the COAs)."""
        return self.believed.hour

    @cached_property
    def order_of_battle(self) -> OrderOfBattle:
        """The side's formation tree."""
        return OrderOfBattle(self.scenario, self.side)

    @cached_property
    def elements(self) -> list[Element]:
        """Ground and sea elements the drafter tasks, strongest first."""
        return self.order_of_battle.elements(self.believed)

    @cached_property
    def air_units(self) -> list[UnitState]:
        """The side's alive air units, strongest first."""
        return sorted(
            (
                u
                for u in self.believed.units.values()
                if u.side == self.side and u.alive and u.domain == "air"
            ),
            key=lambda u: (-u.strength, u.id),
        )

    @cached_property
    def restricted(self) -> frozenset[str]:
        """Places the mission forbids as destination and on the way."""
        return frozenset(self.scenario.side(self.side).mission.constraints.restricted_places)

    @cached_property
    def lookahead_hours(self) -> float:
        """How far ahead the COAs are wargamed."""
        return lookahead_hours(self.scenario, self.side)

    def units_of(self, element: Element) -> list[UnitState]:
        """The element's units in the believed world."""
        return [self.believed.units[uid] for uid in element.units]

    def travel_hours(self, element: Element, place: str) -> float | None:
        """Hours for the element's slowest unit to reach `place` (from where it is, or will
        arrive) avoiding restricted places; None if some unit cannot get there."""
        key = (element.id, place)
        if key not in self._travel:
            self._travel[key] = self._slowest(element, place)
        return self._travel[key]

    def _slowest(self, element: Element, place: str) -> float | None:
        worst = 0.0
        for unit in self.units_of(element):
            modes = self.scenario.unit_types[unit.type].modes
            start = unit.next_place or unit.location
            path = self.theater.path(modes, start, place, avoid=self.restricted)
            if path is None:
                return None
            wait = max(0.0, unit.arrives_hour - self.hour)
            worst = max(worst, wait + self.theater.travel_hours(modes, path, unit.speed_kph))
        return worst

    @cached_property
    def enemy_eta(self) -> dict[str, float]:
        """Earliest hour (after the decision) the enemy could reach each place on a threat
        avenue, at the avenue's marching speed."""
        eta: dict[str, float] = {}
        for avenue in self.analysis.avenues:
            if not avenue.id.startswith("E") or avenue.hours <= 0:
                continue
            elapsed = 0.0
            graph = self.theater.domain_graph(frozenset(avenue.modes))
            for here, there in zip(avenue.path, avenue.path[1:], strict=False):
                elapsed += graph[here][there]["cost"] / avenue.speed_kph
                eta[there] = min(eta.get(there, math.inf), elapsed)
        return eta

    def reachable_air(self, unit: UnitState, place: str) -> bool:
        """Whether an air unit's sorties reach `place` (and the place is not restricted)."""
        if place in self.restricted:
            return False
        reach = self.scenario.unit_types[unit.type].sortie_range_km
        return self.theater.distance_km(unit.location, place) <= reach
