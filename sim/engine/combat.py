"""Combat at places: contact, battles stepped on a fixed grid of `combat_step_hours`,
attrition by the combat model's law (`settings.combat_model`, sim/combat_model.py;
coefficients per unit-type pair, divided for the defender by the model's terrain and posture
factors, and in stochastic runs shifted per battle by its luck), Hughes salvos between ships,
and breaking contact when a side's strength falls below its break fraction of what it brought
into the fight. The log records how each battle ended: annihilation, breakpoint, withdrawal
(a side left by order) or horizon (still on when the run stopped).

All battles step on one grid (multiples of the step), so one process steps every battle due
at a tick, in place order; zero-delay consequences of a step (units released by a battle's end,
a side pulling back) settle before the next place's step, as they would between separate
per-battle events.
"""

from __future__ import annotations

import math
import random
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np
from simpy.events import Event

from sim.attrition import deterministic_step, exact_step, salvo_exchange
from sim.combat_model import load_combat_model
from sim.engine.kernel import PHASE_BATTLE, Process, ranks
from sim.engine.presence import Ground, efficiency, opposed, spread_loss, standing
from sim.scenario import SalvoParameters, UnitType
from sim.state import BattleState, UnitState

if TYPE_CHECKING:
    from sim.engine.simulation import Simulation

__all__ = ["Combat", "pooled_salvo", "salvo_parameters"]

Matrix = list[list[float]]


class Combat:
    """Battles in progress, their steps, and control of places."""

    def __init__(self, sim: Simulation):
        self.sim = sim
        self.kernel = sim.kernel
        self.state = sim.state
        self.settings = sim.settings
        self.places = sim.theater.places
        self.types = sim.scenario.unit_types
        self.presence = sim.presence
        self.place_rank = ranks(self.places)
        self.done: dict[str, Event] = {}  # place -> fires when its battle ends
        self._ticking = False
        self._ended_hour: dict[str, float] = {}  # when a force died out in a battle still on
        self._coefficient_cache: dict[str, tuple] = {}
        self._streams: dict[tuple[str, str], int] = {}  # (place, domain class) -> draws' key
        model = self.model = load_combat_model(self.settings.combat_model)
        explicit = self.settings.attrition  # a textbook law, run exactly
        self.law = explicit or model.law
        self.exponent = 1.0 if explicit else model.exponent
        self.luck_sigma = 0.0 if explicit else model.luck_sigma
        fraction = self.settings.break_fraction
        self.break_attacker, self.break_defender = (
            (fraction, fraction)
            if fraction is not None
            else (model.break_fraction.attacker, model.break_fraction.defender)
        )

    def resume(self) -> None:
        """A rebuilt run: the battles in progress go on."""
        for place in sorted(self.state.battles):
            self.done[place] = self.kernel.env.event()
        self._tick_on()

    def contact(self, place: str, side: str | None) -> None:
        """A unit arrived: start a battle if enemies hold the place, else take control."""
        ground = self.presence.ground(place)
        if opposed(ground):
            if place not in self.state.battles:
                now = self.kernel.now
                luck = 0.0
                if self.kernel.stochastic and self.luck_sigma > 0:
                    draw = self.kernel.uniform("battle luck", place, now)
                    luck = self.luck_sigma * NormalDist().inv_cdf(draw)
                self.state.battles[place] = BattleState(
                    place=place,
                    start_hour=now,
                    last_tick=now,
                    defender=self.state.control.get(place),
                    contact_strength={s: sum(u.strength for u in us) for s, us in ground.items()},
                    luck=luck,
                )
                self.done[place] = self.kernel.env.event()
                self._tick_on()
        elif side in ground and len(ground) == 1:
            self.state.control[place] = side

    # ------------------------------------------------------------------- steps
    def _tick_on(self) -> None:
        if self.state.battles and not self._ticking:
            self._ticking = True
            self.kernel.start(self._ticks())

    def _next_tick(self, battle: BattleState) -> int:
        """Index on the step grid of the battle's next step."""
        return math.floor(battle.last_tick / self.settings.combat_step_hours + 1e-9) + 1

    def _ticks(self) -> Process:
        """Step every battle due at each tick of the grid, in place order, while any is on."""
        kernel, battles = self.kernel, self.state.battles
        dt = self.settings.combat_step_hours
        while battles:
            index = min(self._next_tick(b) for b in battles.values())
            tick = index * dt
            yield kernel.wait(tick - kernel.now, PHASE_BATTLE)
            due = sorted(
                (p for p, b in battles.items() if self._next_tick(b) == index),
                key=self.place_rank.__getitem__,
            )
            settle = False
            for place in due:
                if settle:  # let what the last step set off happen first
                    yield kernel.wait(0.0, PHASE_BATTLE, self.place_rank[place])
                settle = self._step(battles[place], tick)
        self._ticking = False

    def _step(self, battle: BattleState, tick: float) -> bool:
        """One combat step of a battle; returns whether it set zero-delay events off."""
        place = battle.place
        ground = self.presence.ground(place)
        if not opposed(ground):
            self._end(battle, ground)
            return True
        for side, units in ground.items():
            if side not in battle.contact_strength:
                battle.contact_strength[side] = sum(u.strength for u in units)
        fraction = self._exchange(battle, ground, tick - battle.last_tick, tick)
        if fraction is not None:
            self._ended_hour[place] = battle.last_tick + fraction * (tick - battle.last_tick)
        battle.last_tick = tick
        fallen = [u for units in ground.values() for u in units if not u.alive]
        for unit in fallen:
            self.presence.discard(place, unit.id)
        # Nothing else runs within this step, so the ground is refiltered (when someone fell
        # or pulled back), not rebuilt.
        if fallen:
            ground = standing(ground)
            if not opposed(ground):
                self._end(battle, ground)
                return True
        restarted, withdrew = self._break_contact(battle, ground)
        if withdrew:
            ground = standing(ground)
        if withdrew and not opposed(ground):
            self._end(battle, ground)
            return True
        return restarted

    def _end(self, battle: BattleState, survivors: Ground) -> None:
        place = battle.place
        winner = next(iter(survivors)) if len(survivors) == 1 else None
        if winner is not None:
            self.state.control[place] = winner
        ended_hour = self._ended_hour.pop(place, None)
        died_out = ended_hour is not None  # a force reached zero in the last step
        reason = "breakpoint" if battle.broke else ("annihilation" if died_out else "withdrawal")
        self.state.battle_log.append(
            {
                "place": place,
                "start_hour": battle.start_hour,
                "end_hour": ended_hour if ended_hour is not None else self.kernel.now,
                "winner": winner,
                "defender": battle.defender,
                "sides": sorted(battle.contact_strength),
                "contact_strength": dict(battle.contact_strength),
                "losses": {s: battle.losses.get(s, 0.0) for s in sorted(battle.contact_strength)},
                "end_reason": reason,
            }
        )
        del self.state.battles[place]
        self.done.pop(place).succeed()

    # --------------------------------------------------------------- attrition
    def _exchange(
        self, battle: BattleState, ground: Ground, dt: float, tick: float
    ) -> float | None:
        """Apply one step of attrition at a place; returns when in the step a force died out."""
        sides = sorted(ground, key=lambda s: (s == battle.defender, s))  # defender is B
        side_a, side_b = sides[0], sides[1]
        ended = None
        kernel, settings = self.kernel, self.settings
        ships = self.presence.ships_at(battle.place)
        for at_sea, cls in ((False, "land"), (True, "sea")) if ships else ((False, "land"),):
            if ships:
                units_a = [u for u in ground[side_a] if (u.domain == "sea") is at_sea]
                units_b = [u for u in ground[side_b] if (u.domain == "sea") is at_sea]
            else:  # the usual land battle: every unit fights on land
                units_a, units_b = ground[side_a], ground[side_b]
            if not units_a or not units_b:
                continue
            seed = None
            if kernel.stochastic:
                stream = self._streams.get((battle.place, cls))
                if stream is None:
                    stream = self._streams[battle.place, cls] = kernel.stream(
                        "attrition", battle.place, cls
                    )
                seed = kernel.word_at(stream, round(tick / dt))
            if cls == "sea" and settings.naval_attrition == "salvo":
                self._salvo(units_a, units_b, None if seed is None else random.Random(seed))
                continue
            law = self.law if cls == "land" else settings.attrition or "square"
            exponent = self.exponent if cls == "land" else 1.0
            a = [u.strength for u in units_a]
            b = [u.strength for u in units_b]
            coef_ab, coef_ba, arrays = self._pair_coefficients(units_a, units_b, battle)
            if seed is not None:  # the chain draws as random.Random(seed) would
                result = exact_step(law, a, b, coef_ab, coef_ba, dt, seed, arrays, exponent)
            else:
                result = deterministic_step(law, a, b, coef_ab, coef_ba, dt, exponent)
            losses = battle.losses
            for unit, value in zip(units_a + units_b, result.a + result.b, strict=True):
                before = unit.strength
                unit.strength = float(value) if value > 1e-9 else 0.0
                losses[unit.side] = losses.get(unit.side, 0.0) + before - unit.strength
            if result.ended_at is not None:
                ended = result.ended_at
        return ended

    def _pair_coefficients(
        self, units_a: list[UnitState], units_b: list[UnitState], battle: BattleState
    ) -> tuple[Matrix, Matrix, tuple[np.ndarray, np.ndarray]]:
        """Both sides' coefficient matrices, as lists and as arrays, rebuilt only when who
        fights, their posture or their supply state changes (battles last many steps with the
        same line-up)."""
        signature = (
            battle.start_hour,
            battle.luck,
            battle.defender,
            tuple([(u.id, u.posture, u.supply if u.supply < 0.25 else 1.0) for u in units_a]),
            tuple([(u.id, u.posture, u.supply if u.supply < 0.25 else 1.0) for u in units_b]),
        )  # supply below a quarter of a load sets efficiency, above it nothing does
        cached = self._coefficient_cache.get(battle.place)
        if cached is None or cached[0] != signature:
            edge = math.exp(battle.luck / 2)  # A (not the defender) gains what B loses
            coef_ab = self._coefficients(units_a, units_b, battle, edge)
            coef_ba = self._coefficients(units_b, units_a, battle, 1.0 / edge)
            arrays = (np.array(coef_ab, dtype=float), np.array(coef_ba, dtype=float))
            cached = (signature, coef_ab, coef_ba, arrays)
            self._coefficient_cache[battle.place] = cached
        return cached[1], cached[2], cached[3]

    def _coefficients(
        self,
        shooters: list[UnitState],
        targets: list[UnitState],
        battle: BattleState,
        edge: float = 1.0,
    ) -> Matrix:
        """Per shooter and target: lethality times supply efficiency times the type-pair
        multiplier (`versus`) times the battle's luck `edge`, divided for the defender by the
        model's terrain and posture factors."""
        model = self.model
        terrain = model.terrain_factors.get(self.places[battle.place].terrain, 1.0)
        protection = [
            terrain * model.posture_factors.get(t.posture, 1.0)
            if t.side == battle.defender
            else 1.0
            for t in targets
        ]
        matrix = []
        for shooter in shooters:
            shooter_type = self.types[shooter.type]
            power = shooter_type.lethality * efficiency(shooter) * edge
            versus = shooter_type.versus
            matrix.append(
                [
                    power * versus.get(t.type, 1.0) / p
                    for t, p in zip(targets, protection, strict=True)
                ]
            )
        return matrix

    def _salvo(
        self, units_a: list[UnitState], units_b: list[UnitState], rng: random.Random | None
    ) -> None:
        a, a_off, a_def, a_stay = pooled_salvo(self.types, units_a)
        b, b_off, b_def, b_stay = pooled_salvo(self.types, units_b)
        loss_a, loss_b = salvo_exchange(a, b, a_off, a_def, a_stay, b_off, b_def, b_stay, rng)
        spread_loss(units_a, loss_a)
        spread_loss(units_b, loss_b)

    # ---------------------------------------------------------- breaking contact
    def _break_contact(self, battle: BattleState, ground: Ground) -> tuple[bool, bool]:
        """A side whose strength fell below the break fraction pulls back to a safe
        neighbour (the sides still face each other); returns whether a unit that stood still
        was set moving, and whether any unit pulled back."""
        if max(self.break_attacker, self.break_defender) <= 0:
            return False, False
        restarted = withdrew = False
        movement = self.sim.movement
        for side, units in ground.items():
            strength = sum(u.strength for u in units)
            fraction = self.break_defender if side == battle.defender else self.break_attacker
            if strength >= fraction * battle.contact_strength[side]:
                continue
            for unit in units:
                refuge = self._refuge(unit)
                if refuge is not None:
                    unit.action, unit.target = "withdraw", refuge
                    unit.path, unit.posture = [refuge], "withdraw"
                    withdrew = True
                    battle.broke = True
                    if not movement.movers[unit.id].is_alive:
                        movement.start(unit)
                        restarted = True
        return restarted, withdrew

    def _refuge(self, unit: UnitState) -> str | None:
        """Neighbouring place with no enemy on it, own-held first."""
        options = []
        for place in self.sim.theater.neighbors(unit.location, self.sim.movement.modes(unit)):
            if any(s != unit.side for s in self.presence.ground(place)):
                continue
            holder = self.state.control.get(place)
            if holder not in (None, unit.side):
                continue
            options.append((holder != unit.side, place))
        return min(options)[1] if options else None


def pooled_salvo(
    types: dict[str, UnitType], units: list[UnitState]
) -> tuple[float, float, float, float]:
    """Total strength and strength-weighted offense, defense and staying power."""
    total = sum(u.strength for u in units)
    params = [(u, salvo_parameters(types, u)) for u in units]
    offense = sum(u.strength * p.offense * efficiency(u) for u, p in params)
    defense = sum(u.strength * p.defense for u, p in params)
    staying = sum(u.strength * p.staying_power for u, p in params)
    return total, offense / total, defense / total, staying / total


def salvo_parameters(types: dict[str, UnitType], unit: UnitState) -> SalvoParameters:
    """The unit's salvo parameters (the scenario check gives every ship and battery some)."""
    salvo = types[unit.type].salvo
    if salvo is None:
        raise ValueError(f"unit {unit.id}: type {unit.type} has no salvo parameters")
    return salvo
