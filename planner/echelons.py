"""Echelons: the order of battle as a tree of formations, and the elements the planner tasks.

A scenario may group units into formations (corps -> division -> brigade -> battalion) with
`formations:` and `parent:` on units. The planner tasks *elements*: formations of a tasked
echelon (brigade, regiment, group, task group, battalion) through their units, and units that
belong to no formation or sit directly under a higher headquarters (a division, corps or
component). Without formations every unit is its own element, which is the right grain for a
brigade-sized scenario such as the tutorial. Air units are never elements: air power is
apportioned by mission, not manoeuvred (see `planner.schemes`).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.scenario import TASKED_ECHELONS, Scenario
from sim.state import UnitState, WorldState

__all__ = ["Element", "OrderOfBattle"]


@dataclass(frozen=True)
class Element:
    """A formation (or a unit on its own) as the planner sees it in one believed world."""

    id: str
    name: str
    echelon: str
    domain: str  # "land" or "sea": the domain of most of its strength
    units: tuple[str, ...]  # its alive, non-air units
    strength: float
    location: str  # where most of its strength stands (or will arrive)
    arrives_hour: float  # when its last unit is in theater
    mobile: bool  # armour or mechanised strength is the larger share (a striking force)


class OrderOfBattle:
    """The formation tree of one side."""

    def __init__(self, scenario: Scenario, side: str):
        self.side = side
        self.formations = {f.id: f for f in scenario.formations if f.side == side}
        self._parent_of_unit = {u.id: u.parent for u in scenario.units if u.side == side}
        self._unit_names = {u.id: u.name or u.id for u in scenario.units}
        self._types = scenario.unit_types

    def chain(self, unit_or_formation: str) -> list[str]:
        """Ids from the element up to the top formation (the element itself first)."""
        current = self._parent_of_unit.get(unit_or_formation, unit_or_formation)
        chain = [unit_or_formation] if current != unit_or_formation else []
        while current is not None and current in self.formations:
            chain.append(current)
            current = self.formations[current].parent
        return chain

    def element_of(self, unit_id: str) -> str:
        """The element a unit is tasked through: its formation if of a tasked echelon, or
        itself."""
        parent = self._parent_of_unit.get(unit_id)
        if parent is not None and self.formations[parent].echelon in TASKED_ECHELONS:
            return parent
        return unit_id

    def name(self, element_id: str) -> str:
        """Display name of a formation or unit."""
        formation = self.formations.get(element_id)
        if formation is not None:
            return formation.name or formation.id
        return self._unit_names.get(element_id, element_id)

    def elements(self, believed: WorldState) -> list[Element]:
        """The side's elements with alive ground or sea units, strongest first."""
        members: dict[str, list[UnitState]] = {}
        for unit in sorted(believed.units.values(), key=lambda u: u.id):
            if unit.side != self.side or not unit.alive or unit.domain == "air":
                continue
            members.setdefault(self.element_of(unit.id), []).append(unit)
        elements = [self._element(eid, units) for eid, units in members.items()]
        return sorted(elements, key=lambda e: (-e.strength, e.id))

    def _element(self, element_id: str, units: list[UnitState]) -> Element:
        weight: dict[str, float] = {}
        by_domain: dict[str, float] = {}
        mobile = 0.0
        for unit in units:
            weight[unit.location] = weight.get(unit.location, 0.0) + unit.strength
            by_domain[unit.domain] = by_domain.get(unit.domain, 0.0) + unit.strength
            if unit.type in ("armor", "mechanized"):
                mobile += unit.strength
        strength = sum(u.strength for u in units)
        formation = self.formations.get(element_id)
        return Element(
            id=element_id,
            name=self.name(element_id),
            echelon=formation.echelon if formation else "battalion",
            domain=max(sorted(by_domain), key=lambda d: by_domain[d]),
            units=tuple(u.id for u in units),
            strength=strength,
            location=max(sorted(weight), key=lambda p: weight[p]),
            arrives_hour=max(u.arrives_hour for u in units),
            mobile=mobile * 2 > strength,
        )
