"""The exact attrition chain compiled with numba: bit-identical to `attrition.stochastic_step`.

`attrition.stochastic_step` runs a battle step's Markov chain with a `random.Random`; this
module runs the same chain, draw for draw and operation for operation, in compiled code. Its
generator is CPython's own: Mersenne Twister MT19937 seeded as `random.Random(seed)` seeds it
from an integer (`init_by_array` over the integer's 32-bit words, least significant first),
`random()` as CPython's 53-bit `genrand_res53` and `expovariate` as ``-log(1 - random()) /
rate`` (Matsumoto & Nishimura 1998; CPython Modules/_randommodule.c). Additions run in the order
the Python code makes them and numba compiles without fast-math, so results carry the same bits
(tested against the Python path). Only the exact chain is here; tau-leaping for large battles
stays in Python.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["CHAIN_DONE", "CHAIN_ENDED", "CHAIN_TAU", "mt_random", "run_chain"]

#: `run_chain` statuses: the step ran out; a side was annihilated; tau-leaping is due instead.
CHAIN_DONE, CHAIN_ENDED, CHAIN_TAU = 0, 1, 2

_N, _M = 624, 397
_MATRIX_A, _UPPER, _LOWER, _MASK = 0x9908B0DF, 0x80000000, 0x7FFFFFFF, 0xFFFFFFFF


@njit(cache=True)
def _seed(mt: np.ndarray, position: np.ndarray, low: int, high: int) -> None:
    """CPython's `random.seed(seed)` for an integer 0 <= seed < 2**64 given as its 32-bit
    halves (int64 arithmetic on values below 2**32, masked: every product fits)."""
    used = 2 if high else 1
    mt[0] = 19650218
    for i in range(1, _N):
        previous = mt[i - 1]
        mt[i] = (1812433253 * (previous ^ (previous >> 30)) + i) & _MASK
    i, j = 1, 0
    for _ in range(max(_N, used)):
        previous = mt[i - 1]
        word = low if j == 0 else high
        mt[i] = ((mt[i] ^ ((previous ^ (previous >> 30)) * 1664525)) + word + j) & _MASK
        i += 1
        j += 1
        if i >= _N:
            mt[0] = mt[_N - 1]
            i = 1
        if j >= used:
            j = 0
    for _ in range(_N - 1):
        previous = mt[i - 1]
        mt[i] = ((mt[i] ^ ((previous ^ (previous >> 30)) * 1566083941)) - i) & _MASK
        i += 1
        if i >= _N:
            mt[0] = mt[_N - 1]
            i = 1
    mt[0] = 0x80000000
    position[0] = _N


@njit(cache=True)
def _word(mt: np.ndarray, position: np.ndarray) -> int:
    """The next tempered 32-bit output (CPython's `genrand_uint32`)."""
    if position[0] >= _N:
        for k in range(_N):
            y = (mt[k] & _UPPER) | (mt[(k + 1) % _N] & _LOWER)
            mt[k] = mt[(k + _M) % _N] ^ (y >> 1) ^ (_MATRIX_A if y & 1 else 0)
        position[0] = 0
    y = mt[position[0]]
    position[0] += 1
    y ^= y >> 11
    y ^= (y << 7) & 0x9D2C5680
    y ^= (y << 15) & 0xEFC60000
    y ^= y >> 18
    return y & _MASK


@njit(cache=True)
def _random(mt: np.ndarray, position: np.ndarray) -> float:
    """CPython's `random()`: 53 random bits from two outputs."""
    a = _word(mt, position) >> 5
    b = _word(mt, position) >> 6
    return (a * 67108864.0 + b) * (1.0 / 9007199254740992.0)


@njit(cache=True)
def mt_random(low: int, high: int, count: int) -> np.ndarray:
    """The first `count` values of `random.Random(high << 32 | low).random()` (to test the
    port against CPython)."""
    mt = np.empty(_N, np.int64)
    position = np.zeros(1, np.int64)
    _seed(mt, position, low, high)
    out = np.empty(count)
    for k in range(count):
        out[k] = _random(mt, position)
    return out


@njit(cache=True)
def _fire(shooters: np.ndarray, coef: np.ndarray) -> np.ndarray:
    """Per target, the loss rate if all the shooters' fire fell on it (attrition._fire)."""
    total = np.zeros(coef.shape[1])
    for i in range(shooters.shape[0]):
        strength = shooters[i]
        if strength > 0:
            for j in range(coef.shape[1]):
                total[j] += strength * coef[i, j]
    return total


@njit(cache=True)
def _sum(values: np.ndarray) -> float:
    total = 0.0
    for value in values:
        total += value
    return total


@njit(cache=True)
def _losses(fire: np.ndarray, strengths: np.ndarray, aimed: bool) -> np.ndarray:
    """Aimed fire spread by strength (square law) or area fire (linear law)."""
    rates = fire.copy()
    if aimed:
        total = _sum(strengths)
        for j in range(rates.shape[0]):
            rates[j] *= strengths[j] / total if total > 0 else 0.0
    else:
        for j in range(rates.shape[0]):
            rates[j] *= strengths[j]
    return rates


@njit(cache=True)
def _helmbold(
    rate_a: np.ndarray, rate_b: np.ndarray, a: np.ndarray, b: np.ndarray, exponent: float
) -> None:
    """Helmbold's scaling of aimed-fire rates, in place (attrition._helmbold)."""
    total_a = 0.0
    for x in a:
        if x > 0:
            total_a += x
    total_b = 0.0
    for x in b:
        if x > 0:
            total_b += x
    if total_a <= 0 or total_b <= 0:
        return
    factor = (total_a / total_b) ** (1.0 - exponent)
    for i in range(rate_a.shape[0]):
        rate_a[i] *= factor
    for j in range(rate_b.shape[0]):
        rate_b[j] /= factor


@njit(cache=True)
def _choose(rates: np.ndarray, pick: float) -> int:
    running = 0.0
    for index in range(rates.shape[0]):
        running += rates[index]
        if pick < running:
            return index
    return rates.shape[0] - 1


@njit(cache=True)
def run_chain(
    aimed_a: bool,
    aimed_b: bool,
    a: np.ndarray,
    b: np.ndarray,
    coef_ab: np.ndarray,
    coef_ba: np.ndarray,
    dt: float,
    seed_low: int,
    seed_high: int,
    event_limit: float,
    helmbold: bool = False,
    exponent: float = 1.0,
) -> tuple[int, float]:
    """One step of the exact chain on `a` and `b` in place, drawing as `random.Random(seed)`
    would (seed given as its 32-bit halves); returns (status, fraction of the step at which a
    side was annihilated, when it was). `helmbold`: scale the rates by Helmbold's law."""
    mt = np.empty(_N, np.int64)
    position = np.zeros(1, np.int64)
    _seed(mt, position, seed_low, seed_high)
    fire_on_a, fire_on_b = _fire(b, coef_ba), _fire(a, coef_ab)
    rate_a, rate_b = _losses(fire_on_a, a, aimed_a), _losses(fire_on_b, b, aimed_b)
    if helmbold:
        _helmbold(rate_a, rate_b, a, b, exponent)
    total_a, total_b = _sum(rate_a), _sum(rate_b)
    if (total_a + total_b) * dt > event_limit:
        return CHAIN_TAU, 0.0
    t = 0.0
    while True:
        total = total_a + total_b
        if total <= 0:
            return CHAIN_DONE, 0.0
        t += -math.log(1.0 - _random(mt, position)) / total
        if t > dt:
            return CHAIN_DONE, 0.0
        pick = _random(mt, position) * total
        if pick < total_a:
            victim = _choose(rate_a, pick)
            a[victim] = max(0.0, a[victim] - 1.0)
            fire_on_b = _fire(a, coef_ab)
        else:
            victim = _choose(rate_b, pick - total_a)
            b[victim] = max(0.0, b[victim] - 1.0)
            fire_on_a = _fire(b, coef_ba)
        if _sum(a) <= 1e-9 or _sum(b) <= 1e-9:
            return CHAIN_ENDED, t / dt
        rate_a, rate_b = _losses(fire_on_a, a, aimed_a), _losses(fire_on_b, b, aimed_b)
        if helmbold:
            _helmbold(rate_a, rate_b, a, b, exponent)
        total_a, total_b = _sum(rate_a), _sum(rate_b)
