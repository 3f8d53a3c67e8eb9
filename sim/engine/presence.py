"""Who stands where: the units present at each place, and the rules every subsystem shares
about them (who fights whom, supply's effect on combat power and speed, arrivals pending)."""

from __future__ import annotations

from collections import defaultdict

from sim.state import UnitState, WorldState

__all__ = [
    "Presence",
    "arrival_pending",
    "domain_class",
    "efficiency",
    "opposed",
    "sides_standing",
    "spread_loss",
    "standing",
]

#: Units of a place by side.
Ground = dict[str, list[UnitState]]


class Presence:
    """The units standing at each place (arrived, ashore, not under way), by place id."""

    def __init__(self, state: WorldState):
        self.state = state
        self.at: dict[str, set[str]] = defaultdict(set)
        self._fighters: dict[str, list[UnitState]] = {}  # place -> non-air units, id order

    def add(self, place: str, unit_id: str) -> None:
        """A unit now stands at `place`."""
        self.at[place].add(unit_id)
        self._fighters.pop(place, None)

    def discard(self, place: str, unit_id: str) -> None:
        """A unit left `place` (or died there)."""
        self.at[place].discard(unit_id)
        self._fighters.pop(place, None)

    def holds(self, place: str, unit_id: str) -> bool:
        """Whether the unit stands at `place`."""
        return unit_id in self.at[place]

    def _fighters_at(self, place: str) -> list[UnitState]:
        fighters = self._fighters.get(place)
        if fighters is None:
            units = self.state.units
            fighters = [units[uid] for uid in sorted(self.at[place])]
            fighters = self._fighters[place] = [u for u in fighters if u.domain != "air"]
        return fighters

    def ships_at(self, place: str) -> bool:
        """Whether any ship stands at `place` (alive or not)."""
        return any(unit.domain == "sea" for unit in self._fighters_at(place))

    def ground(self, place: str) -> Ground:
        """Stationary, alive non-air units at a place that are not pulling out, by side."""
        fighters = self._fighters_at(place)
        by_side: Ground = defaultdict(list)
        for unit in fighters:
            if unit.strength > 1e-9 and unit.posture != "withdraw":
                by_side[unit.side].append(unit)
        return by_side

    def units_at(self, place: str) -> list[UnitState]:
        """Every unit standing at `place`, in id order."""
        return [self.state.units[uid] for uid in sorted(self.at[place])]


def efficiency(unit: UnitState) -> float:
    """Combat power and speed factor from supply: full above 25 % of a load, half when dry."""
    return 1.0 if unit.supply >= 0.25 else 0.5 + 2.0 * unit.supply


def domain_class(unit: UnitState) -> str:
    """Ships fight ships; everything else that fights on the ground is land."""
    return "sea" if unit.domain == "sea" else "land"


def standing(ground: Ground) -> Ground:
    """The units of a place's ground still alive and not pulling out, sides with none dropped."""
    kept_by_side = {}
    for side, units in ground.items():
        kept = [u for u in units if u.strength > 1e-9 and u.posture != "withdraw"]
        if kept:
            kept_by_side[side] = kept
    return kept_by_side


def opposed(ground: Ground) -> bool:
    """Whether two sides face each other in the same domain (ships fight ships, land land)."""
    if len(ground) < 2:
        return False
    sides = iter(ground.values())
    first, second = _classes(next(sides)), _classes(next(sides))
    return (first[0] and second[0]) or (first[1] and second[1])


def _classes(units: list[UnitState]) -> tuple[bool, bool]:
    """Whether any of the units fights on land, and whether any at sea."""
    land = sea = False
    for unit in units:
        if unit.domain == "sea":
            sea = True
        else:
            land = True
    return land, sea


def spread_loss(units: list[UnitState], loss: float) -> None:
    """Share a loss of strength over units in proportion to their strength."""
    total = sum(u.strength for u in units)
    if total <= 0:
        return
    for unit in units:
        unit.strength = max(0.0, unit.strength - loss * unit.strength / total)
        if unit.strength <= 1e-9:
            unit.strength = 0.0


def arrival_pending(unit: UnitState, hour: float) -> bool:
    """A reinforcement still to arrive (one due now has not: runs stop before `until`)."""
    return unit.arrives_hour > 0 and unit.arrives_hour >= hour


def sides_standing(state: WorldState) -> dict[tuple[str, str], set[str]]:
    """(place, domain class) -> sides with a unit standing there that would fight (alive,
    arrived, ashore, not moving, not pulling out): where enemies are, a unit is in contact.
    Works on the ground truth and on a side's believed world alike."""
    sides: dict[tuple[str, str], set[str]] = defaultdict(set)
    for unit in state.units.values():
        pending = arrival_pending(unit, state.hour)
        if not unit.alive or pending or unit.berthing or unit.leg is not None:
            continue
        if unit.domain != "air" and unit.posture != "withdraw":
            sides[unit.location, domain_class(unit)].add(unit.side)
    return sides
