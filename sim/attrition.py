"""Attrition laws: Lanchester square, linear and mixed (deterministic and stochastic), Hughes salvo.

Each law works on two forces given as strength vectors and a matrix of per-pair coefficients
``coef[i, j]``: the strength of enemy unit j removed per hour per unit of strength of shooter i.
Fire is spread over the targets in proportion to their strength, so for homogeneous forces the
laws reduce to the textbook forms (Lanchester 1916; Taylor, "Lanchester Models of Warfare", 1983):

- square:  dB/dt = -alpha A            (aimed fire)
- linear:  dB/dt = -alpha A B          (area fire)
- mixed:   the defender takes area fire (linear), the attacker aimed fire (square)
           (Deitchman 1962 guerrilla model).

Deterministic steps integrate the ODE with fourth-order Runge-Kutta and locate the moment a side
is annihilated by interpolation. Stochastic steps run the Markov chain exactly (one strength unit
lost per event, Gillespie's algorithm) while few events are expected in the step, and switch to
Poisson tau-leaping for large forces where the chain is near its mean.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

import numpy as np

__all__ = ["StepResult", "deterministic_step", "salvo_exchange", "stochastic_step"]

#: Above this many expected loss events in a step, stochastic steps use tau-leaping.
EXACT_EVENT_LIMIT = 200
_RK4_SUBSTEPS = 4
#: Above this many shooter-target pairs, coefficient matrices go to numpy.
NUMPY_PAIRS = 400


Vector = list[float]
Matrix = list[list[float]]


@dataclass
class StepResult:
    """Strengths after a step, and the fraction of the step at which a side was annihilated."""

    a: Vector
    b: Vector
    ended_at: float | None = None  # fraction of dt in [0, 1], when one side reached zero


def _aimed(shooters: Vector, coef: Matrix | np.ndarray, n_targets: int) -> Vector:
    """Per target, the loss rate if all the shooters' fire fell on it alone."""
    if isinstance(coef, np.ndarray):
        return (np.asarray(shooters) @ coef).tolist()
    fire = [0.0] * n_targets
    for strength, row in zip(shooters, coef, strict=True):
        if strength > 0:
            for j, c in enumerate(row):
                fire[j] += strength * c
    return fire


def _rates(law: str, a: Vector, b: Vector, coef_ab: Matrix, coef_ba: Matrix):
    """Loss rates of each unit of A and B; `law` is square, linear or mixed (B defends)."""
    total_a, total_b = sum(a), sum(b)
    fire_on_a = _aimed(b, coef_ba, len(a))
    fire_on_b = _aimed(a, coef_ab, len(b))
    if law == "square":
        weight_a = [x / total_a if total_a > 0 else 0.0 for x in a]
        weight_b = [x / total_b if total_b > 0 else 0.0 for x in b]
    elif law == "linear":
        weight_a, weight_b = a, b
    elif law == "mixed":
        weight_a, weight_b = [x / total_a if total_a > 0 else 0.0 for x in a], b
    else:
        raise ValueError(f"unknown attrition law {law!r}")
    return (
        [f * w for f, w in zip(fire_on_a, weight_a, strict=True)],
        [f * w for f, w in zip(fire_on_b, weight_b, strict=True)],
    )


def _advance(x: Vector, rates: Vector, h: float) -> Vector:
    return [xi - h * ri for xi, ri in zip(x, rates, strict=True)]


def _clip(x: Vector) -> Vector:
    return [xi if xi > 0 else 0.0 for xi in x]


def _for_size(coef_ab: Matrix, coef_ba: Matrix):
    """Plain lists are fastest for the usual few units a side; numpy for mass battles."""
    if len(coef_ab) * len(coef_ba) > NUMPY_PAIRS:
        return np.asarray(coef_ab, dtype=float), np.asarray(coef_ba, dtype=float)
    return coef_ab, coef_ba


def deterministic_step(
    law: str, a: Vector, b: Vector, coef_ab: Matrix, coef_ba: Matrix, dt: float
) -> StepResult:
    """Integrate one step of the law's ODE (RK4); stop where a side's total reaches zero."""
    coef_ab, coef_ba = _for_size(coef_ab, coef_ba)
    h = dt / _RK4_SUBSTEPS
    elapsed = 0.0
    for _ in range(_RK4_SUBSTEPS):
        k1a, k1b = _rates(law, a, b, coef_ab, coef_ba)
        k2a, k2b = _rates(law, _advance(a, k1a, h / 2), _advance(b, k1b, h / 2), coef_ab, coef_ba)
        k3a, k3b = _rates(law, _advance(a, k2a, h / 2), _advance(b, k2b, h / 2), coef_ab, coef_ba)
        k4a, k4b = _rates(law, _advance(a, k3a, h), _advance(b, k3b, h), coef_ab, coef_ba)
        slope_a = [
            (p + 2 * q + 2 * r + s) / 6 for p, q, r, s in zip(k1a, k2a, k3a, k4a, strict=True)
        ]
        slope_b = [
            (p + 2 * q + 2 * r + s) / 6 for p, q, r, s in zip(k1b, k2b, k3b, k4b, strict=True)
        ]
        new_a, new_b = _advance(a, slope_a, h), _advance(b, slope_b, h)
        crossing = _zero_crossing(sum(a), sum(new_a), sum(b), sum(new_b))
        if crossing is not None:
            # Re-integrate the partial sub-step to the crossing so the survivor is exact too.
            part = crossing * h
            ka, kb = _rates(law, a, b, coef_ab, coef_ba)
            mid_a, mid_b = _rates(
                law, _advance(a, ka, part / 2), _advance(b, kb, part / 2), coef_ab, coef_ba
            )
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
) -> StepResult:
    """Run the law's Markov chain for one step: exact while small, tau-leaping when large."""
    a, b = list(a), list(b)
    coef_ab, coef_ba = _for_size(coef_ab, coef_ba)
    rate_a, rate_b = _rates(law, a, b, coef_ab, coef_ba)
    if (sum(rate_a) + sum(rate_b)) * dt > EXACT_EVENT_LIMIT:
        numpy_rng = np.random.default_rng(rng.getrandbits(63))
        loss_a = numpy_rng.poisson(np.array(rate_a) * dt)
        loss_b = numpy_rng.poisson(np.array(rate_b) * dt)
        a = _clip([x - float(n) for x, n in zip(a, loss_a, strict=True)])
        b = _clip([x - float(n) for x, n in zip(b, loss_b, strict=True)])
        ended = 1.0 if sum(a) <= 0 or sum(b) <= 0 else None
        return StepResult(a, b, ended)
    t = 0.0
    while True:
        total_a, total_b = sum(rate_a), sum(rate_b)
        total = total_a + total_b
        if total <= 0:
            return StepResult(a, b)
        t += rng.expovariate(total)
        if t > dt:
            return StepResult(a, b)
        pick = rng.random() * total
        if pick < total_a:
            victim = _choose(rate_a, pick)
            a[victim] = max(0.0, a[victim] - 1.0)
        else:
            victim = _choose(rate_b, pick - total_a)
            b[victim] = max(0.0, b[victim] - 1.0)
        if sum(a) <= 1e-9 or sum(b) <= 1e-9:
            return StepResult(a, b, t / dt)
        rate_a, rate_b = _rates(law, a, b, coef_ab, coef_ba)


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
        leak_on_b = float(numpy_rng.poisson(leak_on_b))
        leak_on_a = float(numpy_rng.poisson(leak_on_a))
    return min(a, leak_on_a / a_staying), min(b, leak_on_b / b_staying)
