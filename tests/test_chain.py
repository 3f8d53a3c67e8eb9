"""The compiled attrition chain (sim/_chain.py) against the Python chain and CPython's random."""

from __future__ import annotations

import random

import pytest

from sim import attrition
from sim._chain import mt_random


@pytest.mark.parametrize("seed", [0, 1, 2016, 2**32 - 1, 2**32, 2**63 + 7, 2**64 - 1])
def test_the_generator_is_cpythons_mersenne_twister(seed):
    reference = random.Random(seed)
    # 1,500 draws take 3,000 outputs: the 624-word state is regenerated several times.
    expected = [reference.random() for _ in range(1500)]
    assert mt_random(seed & 0xFFFFFFFF, seed >> 32, 1500).tolist() == expected


@pytest.mark.parametrize(
    "law, exponent", [("square", 1.0), ("linear", 1.0), ("mixed", 1.0), ("helmbold", 0.3)]
)
def test_the_compiled_chain_gives_the_python_chains_bits(law, exponent, monkeypatch):
    draw = random.Random(law)
    fought = 0
    for case in range(150):
        n_a, n_b = draw.randint(1, 6), draw.randint(1, 6)
        a = [float(draw.randint(0, 60)) + draw.choice((0.0, 0.37)) for _ in range(n_a)]
        b = [float(draw.randint(1, 60)) for _ in range(n_b)]
        scale = 0.05 if law in ("square", "helmbold") else 0.002
        coef_ab = [[draw.uniform(0, scale) for _ in range(n_b)] for _ in range(n_a)]
        coef_ba = [[draw.uniform(0, scale) for _ in range(n_a)] for _ in range(n_b)]
        dt, seed = draw.choice((0.25, 0.5, 6.0)), draw.getrandbits(64)
        compiled = attrition.exact_step(law, a, b, coef_ab, coef_ba, dt, seed, None, exponent)
        rng = random.Random(seed)
        python = attrition.stochastic_step(law, a, b, coef_ab, coef_ba, dt, rng, exponent)
        assert compiled == python, (law, case)
        fought += compiled.a != a or compiled.b != b
    assert fought > 100  # most steps really fought, some to annihilation
    monkeypatch.setattr(attrition, "_compiled_chain", lambda: None)  # the pure-Python path
    assert attrition.exact_step(law, a, b, coef_ab, coef_ba, dt, seed, None, exponent) == python


def test_large_battles_leap_in_python_with_the_same_draws():
    a, b = [900.0, 800.0], [950.0]
    coef_ab, coef_ba = [[0.3], [0.3]], [[0.3, 0.3]]  # ~250 expected losses in the step
    compiled = attrition.exact_step("square", a, b, coef_ab, coef_ba, 0.5, 99)
    python = attrition.stochastic_step("square", a, b, coef_ab, coef_ba, 0.5, random.Random(99))
    assert compiled == python and sum(compiled.a) < sum(a)
