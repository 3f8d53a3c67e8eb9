"""Fuzz suite: mutants of the shipped scenarios either load or raise the project's own error,
valid ones simulate a cycle within the budget, and the crashers found so far stay fixed.

Hypothesis runs derandomized (a fixed seed) with a bounded number of examples, so the suite is
the same, and as fast, on every run; bench/fuzz.py runs the same oracle over thousands of files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.fuzzing import SCENARIOS, bad_command_lines, mutant, try_case

CORPUS = Path(__file__).parent / "data" / "fuzz"
FUZZ = settings(
    max_examples=120,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@FUZZ
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), name=st.sampled_from(SCENARIOS))
def test_a_mutant_loads_or_is_refused_and_a_valid_one_runs_a_cycle(tmp_path_factory, seed, name):
    _, data = mutant(seed, name)
    path = tmp_path_factory.mktemp("fuzz") / "mutant.yaml"
    path.write_bytes(data)
    assert try_case(path) in ("rejected", "ran")


def test_the_mutants_reach_both_outcomes(tmp_path):
    outcomes = set()
    for seed in range(40):
        _, data = mutant(seed, "tutorial")
        path = tmp_path / f"{seed}.yaml"
        path.write_bytes(data)
        outcomes.add(try_case(path))
    assert outcomes == {"rejected", "ran"}  # the oracle is exercised on both sides


CRASHERS = sorted(CORPUS.glob("*"))


def test_the_crasher_corpus_is_not_empty():
    assert len(CRASHERS) >= 10


@pytest.mark.parametrize("path", CRASHERS, ids=[p.name for p in CRASHERS])
def test_a_former_crasher_is_handled(path):
    expected = "ran" if path.name.startswith("valid-") else "rejected"
    assert try_case(path) == expected


def test_every_bad_command_line_exits_2_with_a_message_before_any_work(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from planner.cli import app

    monkeypatch.chdir(tmp_path)
    lines = bad_command_lines(tmp_path / "case")
    assert len(lines) >= 40
    failures = []
    for args in lines:
        result = CliRunner().invoke(app, args)
        crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
        if result.exit_code != 2 or crashed or "Traceback" in result.output:
            failures.append((args, result.exit_code, repr(result.exception)[:120]))
    assert failures == []
    assert not list(tmp_path.rglob("aar.json"))  # no campaign ran
