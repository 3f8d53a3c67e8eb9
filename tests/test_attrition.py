"""Validation of the attrition laws against closed forms and the exact Markov chain."""

from __future__ import annotations

import math
from functools import cache

import numpy as np
import pytest
from conftest import duel

from sim.attrition import salvo_exchange
from sim.engine import Simulation
from sim.state import initial_state
from sim.theater import Theater


def _battle(scenario, seed=1, until=None):
    state = initial_state(scenario)
    Simulation(scenario, Theater(scenario), state, seed=seed).run(
        until or scenario.settings.horizon_hours
    )
    return state


def test_square_law_survivors_and_time_to_annihilation():
    a0, b0, alpha, beta = 1000.0, 800.0, 0.010, 0.012  # B' = -alpha A, A' = -beta B
    state = _battle(duel(a0, b0, alpha, beta))
    survivors = math.sqrt(a0**2 - (beta / alpha) * b0**2)
    gamma = math.sqrt(alpha * beta)
    t_end = math.atanh(b0 * math.sqrt(beta / alpha) / a0) / gamma
    assert state.units["B"].strength == 0
    assert state.units["A"].strength == pytest.approx(survivors, rel=0.01)
    assert state.battle_log[0]["end_hour"] == pytest.approx(t_end, rel=0.01)


def test_square_law_trajectory_matches_cosh_sinh():
    a0, b0, alpha, beta = 1000.0, 800.0, 0.010, 0.012
    state = _battle(duel(a0, b0, alpha, beta), until=50.0)
    gamma = math.sqrt(alpha * beta)
    t = 50.0
    expected_a = a0 * math.cosh(gamma * t) - math.sqrt(beta / alpha) * b0 * math.sinh(gamma * t)
    assert state.units["A"].strength == pytest.approx(expected_a, rel=0.01)


def test_linear_law_matches_logistic_solution():
    a0, b0, alpha, beta = 100.0, 80.0, 0.0004, 0.0003  # B' = -alpha A B, A' = -beta A B
    t = 40.0
    state = _battle(duel(a0, b0, alpha, beta, law="linear"), until=t)
    d = alpha * a0 - beta * b0  # conserved: alpha A - beta B
    expected_a = (d / alpha) / (1 + ((d / alpha) / a0 - 1) * math.exp(-d * t))
    expected_b = (alpha * expected_a - d) / beta
    assert state.units["A"].strength == pytest.approx(expected_a, rel=0.01)
    assert state.units["B"].strength == pytest.approx(expected_b, rel=0.01)
    # the linear-law invariant holds along the way
    assert alpha * (a0 - state.units["A"].strength) == pytest.approx(
        beta * (b0 - state.units["B"].strength), rel=0.01
    )


def _markov_expected_survivors(a0: int, b0: int, alpha: float, beta: float) -> float:
    """Exact E[A at the end] of the stochastic square law by dynamic programming over states."""

    @cache
    def value(a: int, b: int) -> float:
        if b == 0:
            return float(a)
        if a == 0:
            return 0.0
        p_b_loses = alpha * a / (alpha * a + beta * b)
        return p_b_loses * value(a, b - 1) + (1 - p_b_loses) * value(a - 1, b)

    return value(a0, b0)


def test_stochastic_square_law_matches_the_markov_chain():
    a0, b0, alpha, beta = 20, 16, 0.05, 0.05
    exact = _markov_expected_survivors(a0, b0, alpha, beta)
    deterministic = math.sqrt(a0**2 - b0**2)
    scenario = duel(a0, b0, alpha, beta, stochastic=True, horizon=400.0)
    survivors = np.array([_battle(scenario, seed=s).units["A"].strength for s in range(400)])
    standard_error = survivors.std(ddof=1) / math.sqrt(len(survivors))
    assert abs(survivors.mean() - exact) < 3 * standard_error
    assert abs(exact - deterministic) > 0.5  # the chain really differs from the ODE here


def test_salvo_equations_and_clamping():
    # Hughes: dB = (alpha A - b3 B) / b1, dA = (beta B - a3 A) / a1
    loss_a, loss_b = salvo_exchange(10, 8, 4, 2, 2, 3, 4, 1.5)
    assert loss_b == pytest.approx((4 * 10 - 4 * 8) / 1.5)
    assert loss_a == pytest.approx((3 * 8 - 2 * 10) / 2)
    # defence larger than the offence: no loss; offence overwhelming: the whole force, no more
    assert salvo_exchange(2, 10, 1, 1, 1, 50, 5, 1) == (2, 0.0)
