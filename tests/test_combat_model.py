"""Combat models: the closed-form battle is the engine's battle, the Helmbold law keeps its
invariant, the per-battle luck gives the predicted win probability, the setting is checked."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from bench.battle import battle_scenario, run_battle
from sim.attrition import deterministic_step
from sim.combat_model import battle_outcomes, combat_model_names, load_combat_model
from sim.engine import Simulation
from sim.scenario import ScenarioError, parse_scenario
from sim.state import initial_state
from sim.theater import Theater
from sim.unit_types import TERRAIN_DEFENSE_FACTOR

# (attacker, defender, posture, terrain, attacker's lethality multiplier)
SAMPLE_BATTLES = [
    (20000, 10000, "defend", "open", 1.0),
    (10000, 15000, "reserve", "forest", 2.0),
    (30000, 30000, "defend", "mountain", 0.5),
    (5000, 20000, "reserve", "open", 4.0),
    (12000, 9000, "defend", "urban", 1.0),
]


def _closed_form(model_name: str, battle: tuple) -> tuple[float, float, float]:
    attacker, defender, posture, terrain, multiplier = battle
    model = load_combat_model(model_name)
    log_ratio = (
        math.log(multiplier)
        - math.log(model.posture_factors[posture])
        - math.log(model.terrain_factors[terrain])
    )
    p, cas_a, cas_d = battle_outcomes(
        np.array([log_ratio]),
        np.array([math.log(attacker / defender)]),
        model.exponent,
        model.break_fraction.attacker,
        model.break_fraction.defender,
        0.0,
    )
    return float(p[0]), float(cas_a[0]), float(cas_d[0])


@pytest.mark.parametrize("model_name", ["cdb90", "dupuy_defaults"])
def test_closed_form_is_the_engines_battle(model_name):
    """Deterministic engine battles end as `battle_outcomes` says: same winner, casualty
    fractions within the break check's overshoot (at most one 0.1-hour step of losses)."""
    assert SAMPLE_BATTLES
    for battle in SAMPLE_BATTLES:
        attacker, defender, posture, terrain, multiplier = battle
        scenario = battle_scenario(
            attacker,
            defender,
            posture=posture,
            terrain=terrain,
            attacker_multiplier=multiplier,
            combat_model=model_name,
            step=0.1,
        )
        result = run_battle(scenario)
        p, cas_a, cas_d = _closed_form(model_name, battle)
        assert result.end_reason == "breakpoint"
        assert result.attacker_won == (p == 1.0), battle
        assert result.casualties_attacker == pytest.approx(cas_a, abs=0.006), battle
        assert result.casualties_defender == pytest.approx(cas_d, abs=0.006), battle


def test_stochastic_engine_wins_at_the_predicted_rate():
    """With the model's luck, the engine's attacker wins in Phi(eta / sigma) of the runs
    (within three binomial standard errors)."""
    model = load_combat_model("cdb90")
    assert model.luck_sigma > 0
    scenario = battle_scenario(2000, 1500, posture="defend", stochastic=True)
    runs = 200
    wins = sum(run_battle(scenario, seed=seed).attacker_won for seed in range(runs))
    p, _, _ = battle_outcomes(
        np.array([-math.log(model.posture_factors["defend"])]),
        np.array([math.log(2000 / 1500)]),
        model.exponent,
        model.break_fraction.attacker,
        model.break_fraction.defender,
        model.luck_sigma,
    )
    expected = float(p[0])
    assert 0.05 < expected < 0.95  # an informative check
    assert abs(wins / runs - expected) < 3 * math.sqrt(expected * (1 - expected) / runs)


@pytest.mark.parametrize("exponent", [1.0, 0.5, 0.3])
def test_helmbold_invariant(exponent):
    """alpha (A0^2W - A^2W) = beta (B0^2W - B^2W) along the Helmbold ODE."""
    a0, b0, alpha, beta = 1000.0, 800.0, 0.02, 0.03
    result = deterministic_step("helmbold", [a0], [b0], [[alpha]], [[beta]], 5.0, exponent)
    a, b = result.a[0], result.b[0]
    assert a < a0 and b < b0
    w2 = 2 * exponent
    lhs, rhs = alpha * (a0**w2 - a**w2), beta * (b0**w2 - b**w2)
    assert lhs == pytest.approx(rhs, rel=1e-6)


def test_helmbold_with_exponent_one_is_the_square_law():
    square = deterministic_step("square", [1000.0], [800.0], [[0.02]], [[0.03]], 5.0)
    helmbold = deterministic_step("helmbold", [1000.0], [800.0], [[0.02]], [[0.03]], 5.0, 1.0)
    assert helmbold.a == square.a and helmbold.b == square.b


def test_default_and_named_models():
    assert {"cdb90", "dupuy_defaults"} <= set(combat_model_names())
    scenario = battle_scenario(1000, 800)
    assert scenario.settings.combat_model == "cdb90"
    dupuy = load_combat_model("dupuy_defaults")  # today's numbers, by name
    assert (dupuy.law, dupuy.exponent, dupuy.luck_sigma) == ("square", 1.0, 0.0)
    assert dupuy.posture_factors == {"defend": 1.5, "reserve": 1.3}
    assert dupuy.break_fraction.attacker == dupuy.break_fraction.defender == 0.3
    assert dupuy.terrain_factors == TERRAIN_DEFENSE_FACTOR


def test_unknown_combat_model_is_a_located_error():
    text = yaml.safe_dump(
        {
            "id": "x",
            "places": [{"id": "p", "lat": 0, "lon": 0}],
            "sides": [{"id": "a"}, {"id": "b"}],
            "units": [{"id": "u", "side": "a", "type": "infantry", "strength": 1, "location": "p"}],
            "settings": {"combat_model": "no_such_model"},
        }
    )
    with pytest.raises(ScenarioError, match=r"settings\.combat_model: unknown combat model"):
        parse_scenario(text)


def _one_place(stochastic: bool) -> dict:
    return {
        "id": "one",
        "places": [{"id": "hill", "lat": 50, "lon": 10, "terrain": "forest", "control": "b"}],
        "sides": [{"id": "a"}, {"id": "b"}],
        "units": [
            {"id": "A", "side": "a", "type": "infantry", "strength": 900, "location": "hill"},
            {"id": "B", "side": "b", "type": "infantry", "strength": 600, "location": "hill"},
        ],
        "settings": {"stochastic": stochastic, "supply": False, "horizon_hours": 2000},
    }


def test_one_place_theater_runs_a_battle():
    """One place, no routes: valid; with nowhere to break off to, the battle goes on until a
    side is gone, and the square law's survivors follow (explicit law, Dupuy's forest)."""
    data = _one_place(stochastic=False)
    data["settings"].update({"attrition": "square", "combat_model": "dupuy_defaults"})
    scenario = parse_scenario(yaml.safe_dump(data))
    world = initial_state(scenario)
    Simulation(scenario, Theater(scenario), world, seed=3).run(2000)
    assert len(world.battle_log) == 1
    entry = world.battle_log[0]
    assert entry["winner"] == "a" and entry["end_reason"] == "annihilation"
    # Both in `defend`, B holds the hill: A's fire on B is divided by 1.3 (forest) x 1.5.
    alpha, beta = 0.02 / (1.3 * 1.5), 0.02
    survivors = math.sqrt(900**2 - (beta / alpha) * 600**2)
    assert world.units["A"].strength == pytest.approx(survivors, rel=1e-3)


def test_explicit_textbook_law_has_no_luck():
    """`attrition: square` runs the law exactly: no per-battle luck even when stochastic."""
    data = _one_place(stochastic=True)
    data["settings"]["attrition"] = "square"
    scenario = parse_scenario(yaml.safe_dump(data))
    world = initial_state(scenario)
    Simulation(scenario, Theater(scenario), world, seed=3).run(1.0)
    assert world.battles["hill"].luck == 0.0
    data["settings"]["attrition"] = None
    scenario = parse_scenario(yaml.safe_dump(data))
    world = initial_state(scenario)
    Simulation(scenario, Theater(scenario), world, seed=3).run(1.0)
    assert world.battles["hill"].luck != 0.0
