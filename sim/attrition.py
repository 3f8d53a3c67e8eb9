"""Attrition laws: Lanchester square, linear and mixed (deterministic and stochastic), Hughes salvo.

Each law works on two forces given as strength vectors and a matrix of per-pair coefficients
``coef[i, j]``: the strength of enemy unit j removed per hour per unit of strength of shooter i.
Fire is spread over the targets in proportion to their strength, so for homogeneous forces the
laws reduce to the textbook forms (Lanchester 1916; Taylor, "Lanchester Models of Warfare", 1983):

- square:  dB/dt = -alpha A            (aimed fire)
- linear:  dB/dt = -alpha A B          (area fire)
- mixed:   the defender takes area fire (linear), the attacker aimed fire (square)
           (Deitchman 1962 guerrilla model).
- helmbold: dB/dt = -alpha A^W B^(1-W): aimed fire scaled by (B/A)^(1-W), Helmbold's exponent W
           (W = 1 is the square law; the invariant alpha (A0^2W - A^2W) = beta (B0^2W - B^2W)).

Deterministic steps integrate the ODE with fourth-order Runge-Kutta and locate the moment a side
is annihilated by interpolation. Stochastic steps run the Markov chain exactly (one strength unit
lost per event, Gillespie's algorithm) while few events are expected in the step, and switch to
Poisson tau-leaping for large forces where the chain is near its mean. `exact_step` runs the
chain compiled (`sim._chain`, numba) with the very draws of `random.Random(seed)`, so it gives
the bits the Python chain gives; set OODA_FORGE_PURE_PYTHON=1 to run the Python chain.
"""

from __future__ import annotations

import functools
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType

import numpy as np

__all__ = [
    "StepResult",
    "deterministic_step",
    "exact_step",
    "load_compiled_chain",
    "salvo_exchange",
    "stochastic_step",
]

#: Above this many expected loss events in a step, stochastic steps use tau-leaping.
EXACT_EVENT_LIMIT = 200
#: Largest Poisson mean drawn (numpy refuses means above about 9e18). Losses are clipped to a
#: strength of at most 1e6 anyway, and a Poisson(1e12) draw is above that every time, so the
#: cap changes no result; it only keeps a concentration of many large units from overflowing.
MAX_POISSON_MEAN = 1e12
_RK4_SUBSTEPS = 4
#: Above this many shooter-target pairs, coefficient matrices go to numpy.
NUMPY_PAIRS = 400


Vector = list[float]
Matrix = list[list[float]]
#: Shooter strengths -> per target, the loss rate if all that fire fell on it alone.
FireFn = Callable[[Vector], Vector]
#: (fire on a side, that side's strengths) -> loss rate of each of its units, in place.
LossFn = Callable[[Vector, Vector], Vector]


@dataclass
class StepResult:
    """Strengths after a step, and the fraction of the step at which a side was annihilated."""

    a: Vector
    b: Vector
    ended_at: float | None = None  # fraction of dt in [0, 1], when one side reached zero


def _fire(coef: Matrix | np.ndarray, n_shooters: int, n_targets: int) -> FireFn:
    """The side's fire: per target, the loss rate if all the shooters' fire fell on it alone."""
    if isinstance(coef, np.ndarray):
        if coef.shape != (n_shooters, n_targets):
            raise ValueError(f"coefficients {coef.shape} for {n_shooters}x{n_targets} units")
        return lambda shooters: (np.asarray(shooters) @ coef).tolist()
    # Shapes are checked once here so the per-evaluation loops can skip zip(strict=True).
    if len(coef) != n_shooters or any(len(row) != n_targets for row in coef):
        raise ValueError(f"coefficients do not match {n_shooters}x{n_targets} units")

    targets = range(n_targets)

    def fire(shooters: Vector) -> Vector:
        total = [0.0] * n_targets
        for strength, row in zip(shooters, coef, strict=False):
            if strength > 0:  # RK4 stages can dip below zero: such shooters do not fire
                for j in targets:
                    total[j] += strength * row[j]
        return total

    return fire


def _fires(a: Vector, b: Vector, coef_ab: Matrix, coef_ba: Matrix) -> tuple[FireFn, FireFn]:
    """The fire of A (on B) and of B (on A).

    Plain lists are fastest for the usual few units a side; numpy for mass battles.
    """
    if len(coef_ab) * len(coef_ba) > NUMPY_PAIRS:
        array_ab, array_ba = np.asarray(coef_ab, dtype=float), np.asarray(coef_ba, dtype=float)
        return _fire(array_ab, len(a), len(b)), _fire(array_ba, len(b), len(a))
    return _fire(coef_ab, len(a), len(b)), _fire(coef_ba, len(b), len(a))


def _aimed_losses(fire: Vector, strengths: Vector) -> Vector:
    """Aimed fire, spread over the targets in proportion to their strength (square law).

    Turns `fire` into the loss rates in place and returns it: no new list on the hot path.
    """
    total = sum(strengths)
    if total > 0:
        for j, x in enumerate(strengths):
            fire[j] *= x / total
    else:  # a side with no strength left has zero weight everywhere
        for j in range(len(fire)):
            fire[j] *= 0.0
    return fire


def _area_losses(fire: Vector, strengths: Vector) -> Vector:
    """Area fire: losses grow with the target's own strength (linear law). In place, as above."""
    for j, x in enumerate(strengths):
        fire[j] *= x
    return fire


#: Per law, how fire turns into the loss rates of A and of B (B defends in the mixed law).
_LOSSES: dict[str, tuple[LossFn, LossFn]] = {
    "square": (_aimed_losses, _aimed_losses),
    "linear": (_area_losses, _area_losses),
    "mixed": (_aimed_losses, _area_losses),
    "helmbold": (_aimed_losses, _aimed_losses),  # then scaled by `_helmbold`
}


def _losses(law: str) -> tuple[LossFn, LossFn]:
    """Resolve the law once per step rather than on every rate evaluation."""
    try:
        return _LOSSES[law]
    except KeyError:
        raise ValueError(f"unknown attrition law {law!r}") from None


def _helmbold(rate_a: Vector, rate_b: Vector, a: Vector, b: Vector, exponent: float) -> None:
    """Scale aimed-fire loss rates by (target total / shooter total)^(1 - W), in place."""
    total_a = total_b = 0.0
    for x in a:  # explicit loops: the compiled chain adds in the same order (same bits)
        if x > 0:
            total_a += x
    for x in b:
        if x > 0:
            total_b += x
    if total_a <= 0 or total_b <= 0:  # a side with nothing left fires nothing, takes nothing
        return
    factor = (total_a / total_b) ** (1.0 - exponent)
    for i in range(len(rate_a)):
        rate_a[i] *= factor
    for j in range(len(rate_b)):
        rate_b[j] /= factor


def _advance(x: Vector, rates: Vector, h: float) -> Vector:
    return [xi - h * ri for xi, ri in zip(x, rates, strict=False)]


def _clip(x: Vector) -> Vector:
    return [xi if xi > 0 else 0.0 for xi in x]


def deterministic_step(
    law: str,
    a: Vector,
    b: Vector,
    coef_ab: Matrix,
    coef_ba: Matrix,
    dt: float,
    exponent: float = 1.0,
) -> StepResult:
    """Integrate one step of the law's ODE (RK4); stop where a side's total reaches zero.
    `exponent`: Helmbold's W, for the law "helmbold"."""
    losses_a, losses_b = _losses(law)
    fire_of_a, fire_of_b = _fires(a, b, coef_ab, coef_ba)
    helmbold = law == "helmbold"

    def rates(a: Vector, b: Vector) -> tuple[Vector, Vector]:
        rate_a, rate_b = losses_a(fire_of_b(b), a), losses_b(fire_of_a(a), b)
        if helmbold:
            _helmbold(rate_a, rate_b, a, b, exponent)
        return rate_a, rate_b

    h = dt / _RK4_SUBSTEPS
    half = h / 2
    elapsed = 0.0
    for _ in range(_RK4_SUBSTEPS):
        k1a, k1b = rates(a, b)
        k2a, k2b = rates(_advance(a, k1a, half), _advance(b, k1b, half))
        k3a, k3b = rates(_advance(a, k2a, half), _advance(b, k2b, half))
        k4a, k4b = rates(_advance(a, k3a, h), _advance(b, k3b, h))
        new_a = [
            x - h * ((p + 2 * q + 2 * r + s) / 6)
            for x, p, q, r, s in zip(a, k1a, k2a, k3a, k4a, strict=False)
        ]
        new_b = [
            x - h * ((p + 2 * q + 2 * r + s) / 6)
            for x, p, q, r, s in zip(b, k1b, k2b, k3b, k4b, strict=False)
        ]
        crossing = _zero_crossing(sum(a), sum(new_a), sum(b), sum(new_b))
        if crossing is not None:
            # Re-integrate the partial sub-step to the crossing so the survivor is exact too
            # (midpoint rule; k1 is already the slope at the sub-step's start).
            part = crossing * h
            mid_a, mid_b = rates(_advance(a, k1a, part / 2), _advance(b, k1b, part / 2))
            new_a, new_b = _clip(_advance(a, mid_a, part)), _clip(_advance(b, mid_b, part))
            if sum(new_a) <= sum(new_b):
                new_a = [0.0] * len(new_a)
            else:
                new_b = [0.0] * len(new_b)
            return StepResult(new_a, new_b, (elapsed + part) / dt)
        a, b = _clip(new_a), _clip(new_b)
        elapsed += h
    return StepResult(a, b)


def _zero_crossing(a0: float, a1: float, b0: float, b1: float) -> float | None:
    """Fraction of the sub-step at which the first side total crosses zero (linear interp.)."""
    fractions = [x0 / (x0 - x1) for x0, x1 in ((a0, a1), (b0, b1)) if x0 > 0 and x1 <= 0]
    return min(fractions) if fractions else None


def stochastic_step(
    law: str,
    a: Vector,
    b: Vector,
    coef_ab: Matrix,
    coef_ba: Matrix,
    dt: float,
    rng: random.Random,
    exponent: float = 1.0,
) -> StepResult:
    """Run the law's Markov chain for one step: exact while small, tau-leaping when large.
    `exponent`: Helmbold's W, for the law "helmbold"."""
    a, b = list(a), list(b)
    losses_a, losses_b = _losses(law)
    helmbold = law == "helmbold"
    fire_of_a, fire_of_b = _fires(a, b, coef_ab, coef_ba)
    fire_on_a, fire_on_b = fire_of_b(b), fire_of_a(a)
    # Copies: the losses are computed in place, and the fire is reused across events.
    rate_a, rate_b = losses_a(fire_on_a.copy(), a), losses_b(fire_on_b.copy(), b)
    if helmbold:
        _helmbold(rate_a, rate_b, a, b, exponent)
    total_a, total_b = sum(rate_a), sum(rate_b)
    if (total_a + total_b) * dt > EXACT_EVENT_LIMIT:
        numpy_rng = np.random.default_rng(rng.getrandbits(63))
        loss_a = numpy_rng.poisson(np.minimum(np.array(rate_a) * dt, MAX_POISSON_MEAN))
        loss_b = numpy_rng.poisson(np.minimum(np.array(rate_b) * dt, MAX_POISSON_MEAN))
        a = _clip([x - float(n) for x, n in zip(a, loss_a, strict=True)])
        b = _clip([x - float(n) for x, n in zip(b, loss_b, strict=True)])
        ended = 1.0 if sum(a) <= 0 or sum(b) <= 0 else None
        return StepResult(a, b, ended)
    expovariate, uniform = rng.expovariate, rng.random  # looked up once: one draw per event
    t = 0.0
    while True:
        total = total_a + total_b
        if total <= 0:
            return StepResult(a, b)
        t += expovariate(total)
        if t > dt:
            return StepResult(a, b)
        pick = uniform() * total
        # A casualty changes only its own side's strengths, hence only the fire that side
        # delivers: the fire it receives is reused.
        if pick < total_a:
            victim = _choose(rate_a, pick)
            a[victim] = max(0.0, a[victim] - 1.0)
            fire_on_b = fire_of_a(a)
        else:
            victim = _choose(rate_b, pick - total_a)
            b[victim] = max(0.0, b[victim] - 1.0)
            fire_on_a = fire_of_b(b)
        if sum(a) <= 1e-9 or sum(b) <= 1e-9:
            return StepResult(a, b, t / dt)
        rate_a, rate_b = losses_a(fire_on_a.copy(), a), losses_b(fire_on_b.copy(), b)
        if helmbold:
            _helmbold(rate_a, rate_b, a, b, exponent)
        total_a, total_b = sum(rate_a), sum(rate_b)


#: Per law, whether A's and B's losses are aimed fire (else area fire), as in `_LOSSES`.
_AIMED = {
    "square": (True, True),
    "linear": (False, False),
    "mixed": (True, False),
    "helmbold": (True, True),
}


def exact_step(
    law: str,
    a: Vector,
    b: Vector,
    coef_ab: Matrix,
    coef_ba: Matrix,
    dt: float,
    seed: int,
    arrays: tuple[np.ndarray, np.ndarray] | None = None,
    exponent: float = 1.0,
) -> StepResult:
    """`stochastic_step` drawing from `random.Random(seed)`: in compiled code for the few units
    a side usually has (same bits), in Python otherwise. `arrays`: the coefficient matrices
    as float arrays, if the caller keeps them."""
    chain = _compiled_chain()
    if chain is None or law not in _AIMED or len(coef_ab) * len(coef_ba) > NUMPY_PAIRS:
        rng = random.Random(seed)
        return stochastic_step(law, a, b, coef_ab, coef_ba, dt, rng, exponent)
    array_a, array_b = np.array(a, dtype=float), np.array(b, dtype=float)
    if arrays is None:
        arrays = (np.array(coef_ab, dtype=float), np.array(coef_ba, dtype=float))
    array_ab, array_ba = arrays
    if array_ab.shape != (len(a), len(b)) or array_ba.shape != (len(b), len(a)):
        raise ValueError(f"coefficients {array_ab.shape} for {len(a)}x{len(b)} units")
    aimed_a, aimed_b = _AIMED[law]
    status, fraction = chain.run_chain(
        aimed_a,
        aimed_b,
        array_a,
        array_b,
        array_ab,
        array_ba,
        dt,
        seed & 0xFFFFFFFF,
        seed >> 32,
        float(EXACT_EVENT_LIMIT),
        law == "helmbold",
        float(exponent),
    )
    if status == chain.CHAIN_TAU:
        return stochastic_step(law, a, b, coef_ab, coef_ba, dt, random.Random(seed), exponent)
    ended = fraction if status == chain.CHAIN_ENDED else None
    return StepResult(array_a.tolist(), array_b.tolist(), ended)


def load_compiled_chain() -> None:
    """Load the compiled chain now (about half a second the first time in a process): before
    forking workers, so that each inherits it instead of loading it again."""
    if _compiled_chain() is not None:
        exact_step("square", [1.0], [1.0], [[0.0]], [[0.0]], 1.0, 0)


@functools.cache
def _compiled_chain() -> ModuleType | None:
    """The compiled chain, imported on first use (None without numba, or when
    OODA_FORGE_PURE_PYTHON is set)."""
    if os.environ.get("OODA_FORGE_PURE_PYTHON"):
        return None
    try:
        from sim import _chain
    except ImportError:
        return None
    return _chain


def _choose(rates: Vector, pick: float) -> int:
    running = 0.0
    for index, rate in enumerate(rates):
        running += rate
        if pick < running:
            return index
    return len(rates) - 1


def salvo_exchange(
    a: float,
    b: float,
    a_offense: float,
    a_defense: float,
    a_staying: float,
    b_offense: float,
    b_defense: float,
    b_staying: float,
    rng: random.Random | None = None,
) -> tuple[float, float]:
    """One simultaneous Hughes salvo; returns the ships each side loses.

    Hughes (1995): delta_B = (alpha A - b3 B) / b1, delta_A = (beta B - a3 A) / a1, each clamped to
    [0, current force]. With `rng`, the leakers are Poisson with the deterministic mean.
    """
    leak_on_b = max(0.0, a_offense * a - b_defense * b)
    leak_on_a = max(0.0, b_offense * b - a_defense * a)
    if rng is not None:
        numpy_rng = np.random.default_rng(rng.getrandbits(63))
        leak_on_b = float(numpy_rng.poisson(min(leak_on_b, MAX_POISSON_MEAN)))
        leak_on_a = float(numpy_rng.poisson(min(leak_on_a, MAX_POISSON_MEAN)))
    return min(a, leak_on_a / a_staying), min(b, leak_on_b / b_staying)
