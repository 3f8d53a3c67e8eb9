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


@dataclass
class StepResult:
    """Strengths after a step, and the fraction of the step at which a side was annihilated."""

    a: np.ndarray
    b: np.ndarray
    ended_at: float | None = None  # fraction of dt in [0, 1], when one side reached zero


def _rates(law: str, a: np.ndarray, b: np.ndarray, coef_ab: np.ndarray, coef_ba: np.ndarray):
    """Loss rates of each unit of A and B; `law` is square, linear or mixed (B defends)."""
    total_a, total_b = a.sum(), b.sum()
    share_a = a / total_a if total_a > 0 else a * 0
    share_b = b / total_b if total_b > 0 else b * 0
    fire_on_b = a @ coef_ab  # aimed-fire loss rate of each B unit if it were the only target
    fire_on_a = b @ coef_ba
    if law == "square":
        return fire_on_a * share_a, fire_on_b * share_b
    if law == "linear":
        return fire_on_a * a, fire_on_b * b
    if law == "mixed":
        return fire_on_a * share_a, fire_on_b * b
    raise ValueError(f"unknown attrition law {law!r}")


def deterministic_step(
    law: str,
    a: np.ndarray,
    b: np.ndarray,
    coef_ab: np.ndarray,
    coef_ba: np.ndarray,
    dt: float,
) -> StepResult:
    """Integrate one step of the law's ODE (RK4); stop where a side's total reaches zero."""
    h = dt / _RK4_SUBSTEPS
    elapsed = 0.0
    for _ in range(_RK4_SUBSTEPS):
        k1a, k1b = _rates(law, a, b, coef_ab, coef_ba)
        k2a, k2b = _rates(law, a - h / 2 * k1a, b - h / 2 * k1b, coef_ab, coef_ba)
        k3a, k3b = _rates(law, a - h / 2 * k2a, b - h / 2 * k2b, coef_ab, coef_ba)
        k4a, k4b = _rates(law, a - h * k3a, b - h * k3b, coef_ab, coef_ba)
        new_a = a - h / 6 * (k1a + 2 * k2a + 2 * k3a + k4a)
        new_b = b - h / 6 * (k1b + 2 * k2b + 2 * k3b + k4b)
        crossing = _zero_crossing(a.sum(), new_a.sum(), b.sum(), new_b.sum())
        if crossing is not None:
            # Re-integrate the partial sub-step to the crossing so the survivor is exact too.
            part = crossing * h
            ka, kb = _rates(law, a, b, coef_ab, coef_ba)
            mid_a, mid_b = _rates(law, a - part / 2 * ka, b - part / 2 * kb, coef_ab, coef_ba)
            new_a = np.clip(a - part * mid_a, 0, None)
            new_b = np.clip(b - part * mid_b, 0, None)
            if new_a.sum() <= new_b.sum():
                new_a[:] = 0
            else:
                new_b[:] = 0
            return StepResult(new_a, new_b, (elapsed + part) / dt)
        a, b = np.clip(new_a, 0, None), np.clip(new_b, 0, None)
        elapsed += h
    return StepResult(a, b)


def _zero_crossing(a0: float, a1: float, b0: float, b1: float) -> float | None:
    """Fraction of the sub-step at which the first side total crosses zero (linear interp.)."""
    fractions = [x0 / (x0 - x1) for x0, x1 in ((a0, a1), (b0, b1)) if x0 > 0 and x1 <= 0]
    return min(fractions) if fractions else None


def stochastic_step(
    law: str,
    a: np.ndarray,
    b: np.ndarray,
    coef_ab: np.ndarray,
    coef_ba: np.ndarray,
    dt: float,
    rng: random.Random,
) -> StepResult:
    """Run the law's Markov chain for one step: exact while small, tau-leaping when large."""
    a, b = a.astype(float).copy(), b.astype(float).copy()
    rate_a, rate_b = _rates(law, a, b, coef_ab, coef_ba)
    expected = (rate_a.sum() + rate_b.sum()) * dt
    if expected > EXACT_EVENT_LIMIT:
        numpy_rng = np.random.default_rng(rng.getrandbits(63))
        a = np.clip(a - numpy_rng.poisson(rate_a * dt), 0, None)
        b = np.clip(b - numpy_rng.poisson(rate_b * dt), 0, None)
        ended = 1.0 if a.sum() <= 0 or b.sum() <= 0 else None
        return StepResult(a, b, ended)
    t = 0.0
    while True:
        total = rate_a.sum() + rate_b.sum()
        if total <= 0:
            return StepResult(a, b)
        t += rng.expovariate(total)
        if t > dt:
            return StepResult(a, b)
        pick = rng.random() * total
        if pick < rate_a.sum():
            victim = _choose(rate_a, pick)
            a[victim] = max(0.0, a[victim] - 1.0)
        else:
            victim = _choose(rate_b, pick - rate_a.sum())
            b[victim] = max(0.0, b[victim] - 1.0)
        if a.sum() <= 1e-9 or b.sum() <= 1e-9:
            return StepResult(a, b, t / dt)
        rate_a, rate_b = _rates(law, a, b, coef_ab, coef_ba)


def _choose(rates: np.ndarray, pick: float) -> int:
    cumulative = np.cumsum(rates)
    return int(min(np.searchsorted(cumulative, pick, side="right"), len(rates) - 1))


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
