"""Contact on routes: enemy columns travelling a route towards each other meet at the
closed-form hour; the one nearer its start turns back there and stands, the other presses on,
so the fight happens at that place (battles are at places)."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

from sim.engine.kernel import PHASE_MOVE, Process
from sim.engine.presence import domain_class
from sim.state import Leg, UnitState

if TYPE_CHECKING:
    from sim.engine.simulation import Simulation

__all__ = ["RouteContact"]


class RouteContact:
    """Who is travelling each route, and the meetings of enemy columns on them."""

    def __init__(self, sim: Simulation):
        self.sim = sim
        self.kernel = sim.kernel
        self.units = sim.state.units
        self.travelling: dict[int, set[str]] = defaultdict(set)  # route key -> units on it

    def joined(self, unit: UnitState, route_key: int) -> None:
        """A unit set off along a route: schedule its meetings with enemies coming the other
        way, then count it on the route."""
        if unit.domain != "air":
            for other_id in sorted(self.travelling[route_key]):
                self._schedule_meeting(unit, self.units[other_id])
        self.travelling[route_key].add(unit.id)

    def left(self, unit: UnitState, route_key: int) -> None:
        """A unit reached the end of a route."""
        self.travelling[route_key].discard(unit.id)

    def schedule_meetings_in_progress(self) -> None:
        """A rebuilt run: the meetings of the columns already under way."""
        for key in sorted(self.travelling):
            travellers = sorted(self.travelling[key])
            for i, first in enumerate(travellers):
                for second in travellers[i + 1 :]:
                    self._schedule_meeting(self.units[first], self.units[second])

    def _schedule_meeting(self, unit: UnitState, other: UnitState) -> None:
        """Schedule where two enemy units travelling a route towards each other meet."""
        mine, theirs = unit.leg, other.leg
        if (
            other.side == unit.side
            or other.domain == "air"
            or domain_class(other) != domain_class(unit)
            or mine is None
            or theirs is None
            or other.location != mine.to
            or theirs.to != unit.location
        ):
            return
        h_unit = mine.arrive_hour - mine.depart_hour
        h_other = theirs.arrive_hour - theirs.depart_hour
        if h_unit <= 0 or h_other <= 0:
            return
        # unit's fraction of the route at t is (t - d_u)/h_u; the other's is 1 - (t - d_o)/h_o.
        hour = (1 + mine.depart_hour / h_unit + theirs.depart_hour / h_other) / (
            1 / h_unit + 1 / h_other
        )
        if hour >= self.kernel.now:
            first, second = sorted((unit.id, other.id))
            self.kernel.start(self._meet(first, second, hour))

    def _meet(self, first_id: str, second_id: str, hour: float) -> Process:
        """Two enemy columns meet on a route: the one nearer its start falls back there and
        stands; the other presses on and fights it at that place."""
        kernel = self.kernel
        movement = self.sim.movement
        yield kernel.wait(hour - kernel.now, PHASE_MOVE, movement.rank[first_id])
        first, second = self.units[first_id], self.units[second_id]
        if not (
            first.alive
            and second.alive
            and first.leg is not None
            and second.leg is not None
            and first.leg.to == second.location
            and second.leg.to == first.location
        ):
            return  # one of them died, arrived or was turned back by another meeting
        now = kernel.now
        progress = (now - first.leg.depart_hour) / (first.leg.arrive_hour - first.leg.depart_hour)
        back, progress = (first, progress) if progress <= 0.5 else (second, 1 - progress)
        assert back.leg is not None
        leg_hours = back.leg.arrive_hour - back.leg.depart_hour
        origin = back.location
        back.location = back.leg.to
        back.leg = Leg(origin, now - (1 - progress) * leg_hours, now + progress * leg_hours)
        back.path, back.action, back.target = [], "defend", origin
        movement.turn_back(back)
        key = movement.route(back, back.location, origin)["key"]
        for other_id in sorted(self.travelling[key] - {back.id}):
            self._schedule_meeting(back, self.units[other_id])
