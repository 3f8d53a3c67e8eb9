"""Monte Carlo summaries: Student-t intervals for means, Wilson intervals for proportions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.montecarlo import mean_interval, wilson_interval


def test_mean_interval_is_the_student_t_interval():
    values = [0.31, 0.52, 0.47, 0.25, 0.66, 0.40]
    mean, low, high = mean_interval(values)
    expected = stats.t.interval(0.95, len(values) - 1, loc=np.mean(values), scale=stats.sem(values))
    assert mean == pytest.approx(np.mean(values))
    assert (low, high) == pytest.approx(expected)
    assert mean_interval([0.4]) == (0.4, 0.4, 0.4) and mean_interval([]) == (0.0, 0.0, 0.0)


def test_mean_interval_covers_the_mean_95_percent_of_the_time_at_six_replications():
    # 4,000 samples of 6 normal outputs: coverage within 4 standard errors (0.014) of 0.95;
    # a normal-quantile interval (z = 1.96) covers only P(|T_5| < 1.96) = 0.893 here.
    rng = np.random.default_rng(16)
    samples = rng.normal(0.5, 0.2, size=(4000, 6))
    covered = [low <= 0.5 <= high for _, low, high in map(mean_interval, samples.tolist())]
    assert abs(np.mean(covered) - 0.95) < 4 * (0.95 * 0.05 / len(covered)) ** 0.5


def test_wilson_interval_matches_the_hand_computed_value():
    # Wilson (1927) score interval for 8 successes in 10 trials at 95 %, worked by hand:
    # centre (0.8 + 0.192) / 1.384 = 0.717, half-width 1.96 * 0.160 / 1.384 = 0.227.
    low, high = wilson_interval(8, 10)
    assert (round(low, 3), round(high, 3)) == (0.490, 0.943)
