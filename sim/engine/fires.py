"""Air and shore fires: sortie waves from air bases (strike and interdict), and salvos across
the shoreline (anti-ship batteries at ships, ships' land-attack missiles at batteries)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from sim.attrition import salvo_exchange
from sim.engine.combat import pooled_salvo, salvo_parameters
from sim.engine.kernel import PHASE_FIRES, Process, first_wave
from sim.engine.presence import efficiency, spread_loss
from sim.state import UnitState
from sim.unit_types import TERRAIN_DEFENSE_FACTOR

if TYPE_CHECKING:
    from sim.engine.simulation import Simulation

__all__ = ["AIR_LOSS_PER_SORTIE", "Fires"]

#: Share of an air wing lost per sortie wave over defended targets (1-5 % is the usual planning
#: range for contested airspace; JP 3-01 / RAND air campaign studies).
AIR_LOSS_PER_SORTIE = 0.02


class Fires:
    """Air sorties and shore salvos; both aim where their side believes the enemy is."""

    def __init__(self, sim: Simulation):
        self.sim = sim
        self.kernel = sim.kernel
        self.state = sim.state
        self.theater = sim.theater
        self.places = sim.theater.places
        self.types = sim.scenario.unit_types
        self.scenario = sim.scenario
        self.presence = sim.presence

    def shooters(self) -> list[UnitState]:
        """Units that fire across the shore (batteries and land-attack ships), in id order."""
        return [
            unit
            for unit in self.sim.sorted_units()
            if self.types[unit.type].anti_ship_range_km > 0
            or self.types[unit.type].land_attack_range_km > 0
        ]

    # -------------------------------------------------------------- air power
    def sorties(self, unit: UnitState) -> Process:
        """Sortie waves from the unit's base against its target place (strike or interdict).

        Without an airfield capacity the waves fly every turnaround on a fixed grid; with one,
        each wave first needs a slot, held for the turnaround (rearm, refuel), so wings sharing
        a crowded base fly less often.
        """
        kernel, movement = self.kernel, self.sim.movement
        unit_type = self.types[unit.type]
        target = unit.target
        if target is None or self.theater.distance_km(unit.location, target) > (
            unit_type.sortie_range_km
        ):
            return
        turnaround = unit_type.turnaround_hours
        base = self.places[unit.location]
        for wave in itertools.count(first_wave(kernel.now, turnaround)):
            if not unit.alive:
                return
            if base.capacity is None:
                yield kernel.wait(
                    wave * turnaround - kernel.now, PHASE_FIRES, movement.rank[unit.id]
                )
            else:
                slots = movement.slots.of(("place", base.id), base.capacity)
                yield from movement.occupy(unit, slots, turnaround, PHASE_FIRES)
            if unit.action == "strike":
                self.strike(unit, target)
            elif self.state.control.get(target) != unit.side:
                unit.strength = max(0.0, unit.strength * (1 - AIR_LOSS_PER_SORTIE))

    def strike(self, unit: UnitState, target: str) -> None:
        """One wave on the enemy at a place; damage weighs target type and terrain cover."""
        enemies = [
            u
            for side, units in self.presence.ground(target).items()
            if side != unit.side
            for u in units
        ]
        if not enemies:
            return
        unit_type = self.types[unit.type]
        cover = TERRAIN_DEFENSE_FACTOR[self.places[target].terrain]
        exposure = [u.strength * unit_type.versus.get(u.type, 1.0) for u in enemies]
        total = sum(u.strength for u in enemies)
        turnaround = unit_type.turnaround_hours
        # Fire is spread by strength (as in the ground laws) and scaled by the type multiplier.
        damage = unit_type.lethality * unit.strength * efficiency(unit) * turnaround / cover
        loss = AIR_LOSS_PER_SORTIE * unit.strength
        if self.kernel.stochastic:
            draws = self.kernel.rng("air", unit.id, round(self.kernel.now, 6))
            numpy_rng = np.random.default_rng(draws.getrandbits(63))
            damage, loss = (
                float(numpy_rng.poisson(damage)),
                float(numpy_rng.binomial(1, 0.5) * 2 * loss),
            )
        for enemy, weight in zip(enemies, exposure, strict=True):
            enemy.strength = max(0.0, enemy.strength - damage * weight / total)
            if enemy.strength <= 1e-9:
                enemy.strength = 0.0
                self.presence.discard(target, enemy.id)
        unit.strength = max(0.0, unit.strength - loss)

    # ------------------------------------------------------ fires across the shore
    def shore_fires(self, shooter: UnitState) -> Process:
        """Salvos across the shoreline every reload: a land anti-ship battery fires at the
        strongest enemy ship group its side has a live track on within reach, and a ship with
        land-attack missiles at the strongest enemy anti-ship battery tracked within reach
        (counter-battery fire). Each aims at the reported place: if the target has moved on,
        the salvo is wasted (fog of war). Losses follow Hughes's salvo equation, one-sided."""
        kernel, rank = self.kernel, self.sim.movement.rank
        unit_type = self.types[shooter.type]
        salvo = salvo_parameters(self.types, shooter)
        is_target: Callable[[str], bool]
        if unit_type.anti_ship_range_km > 0:
            reach, offense, is_target = unit_type.anti_ship_range_km, salvo.offense, self._is_ship
        else:
            reach, offense = unit_type.land_attack_range_km, salvo.land_attack
            is_target = self._is_battery
        reload = unit_type.turnaround_hours
        for wave in itertools.count(first_wave(kernel.now, reload)):
            if not shooter.alive:
                return
            yield kernel.wait(wave * reload - kernel.now, PHASE_FIRES, rank[shooter.id])
            if not self.presence.holds(shooter.location, shooter.id):
                continue  # under way, or not yet ashore
            aim = self._shore_target(shooter, reach, is_target)
            if aim is None:
                continue
            targets = [
                u
                for u in self.presence.units_at(aim)
                if u.side != shooter.side and u.alive and is_target(u.type)
            ]
            if not targets:
                continue
            rng = kernel.rng("coastal", shooter.id, wave) if kernel.stochastic else None
            b, _, b_def, b_stay = pooled_salvo(self.types, targets)
            _, loss = salvo_exchange(
                shooter.strength,
                b,
                offense * efficiency(shooter),
                0.0,
                1.0,
                0.0,
                b_def,
                b_stay,
                rng,
            )
            spread_loss(targets, loss)

    def _is_ship(self, unit_type: str) -> bool:
        return self.types[unit_type].domain == "sea"

    def _is_battery(self, unit_type: str) -> bool:
        return self.types[unit_type].anti_ship_range_km > 0

    def _shore_target(
        self, shooter: UnitState, reach_km: float, is_target: Callable[[str], bool]
    ) -> str | None:
        """Place of the strongest live enemy track of a target type the shooter's side holds
        within reach."""
        now = self.kernel.now
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
