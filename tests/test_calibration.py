"""The CDB90 calibration: it recovers known parameters from battles the engine fought, its folds
keep wars whole, and the shipped `cdb90` model is what it fits from the data."""

from __future__ import annotations

import math

import numpy as np
import pytest
import yaml

from bench.battle import battle_scenario, run_battle
from bench.calibrate import fit, folds_by_war, predict
from bench.cdb90 import Battles, data_dir, load_cdb90
from sim.combat_model import load_combat_model

needs_cdb90 = pytest.mark.skipif(
    data_dir() is None, reason="CDB90 not found (set OODA_FORGE_CDB90 to its folder)"
)

TRUE = {
    "exponent": 0.4,
    "luck_sigma": 0.5,
    "break_fraction": {"attacker": 0.85, "defender": 0.75},
    "posture_factors": {"defend": 1.4, "reserve": 1.1},
    "terrain_factors": {"open": 1.0, "forest": 1.3},
    "advantage": {"leadership": 0.5, "surprise": 0.3},
}


def _synthetic(tmp_path, count: int = 200) -> Battles:
    """Battles fought by the engine (deterministic runs; each battle's luck drawn here and
    carried by the attacker's lethality, as the engine's luck shifts the coefficient ratio)."""
    path = tmp_path / "truth.yaml"
    path.write_text(yaml.safe_dump({"name": "truth", "law": "helmbold", **TRUE}))
    rng = np.random.default_rng(12)
    factors = ("leadership", "surprise")
    rows = []
    for _ in range(count):
        attacker = float(10 ** rng.uniform(3, 4.5))
        defender = attacker / math.exp(rng.normal(0.3, 0.6))
        posture = str(rng.choice(["defend", "reserve"]))
        terrain = str(rng.choice(["open", "forest"]))
        codes = [float(rng.integers(-1, 2)), float(rng.integers(0, 3))]
        edge = sum(TRUE["advantage"][f] * c for f, c in zip(factors, codes, strict=True))
        luck = TRUE["luck_sigma"] * rng.normal()
        scenario = battle_scenario(
            attacker,
            defender,
            posture=posture,
            terrain=terrain,
            attacker_multiplier=math.exp(edge + luck),
            combat_model=str(path),
        )
        result = run_battle(scenario)
        rows.append((attacker, defender, posture, terrain, codes, result))
    return Battles(
        ids=np.arange(count),
        wars=np.array([f"war{i % 17}" for i in range(count)]),
        attacker=np.array([r[0] for r in rows]),
        defender=np.array([r[1] for r in rows]),
        attacker_wins=np.array([float(r[5].attacker_won) for r in rows]),
        casualties_attacker=np.array([r[5].casualties_attacker for r in rows]),
        casualties_defender=np.array([r[5].casualties_defender for r in rows]),
        posture=np.array([r[2] for r in rows]),
        terrain=np.array([r[3] for r in rows]),
        codes=np.array([r[4] for r in rows]),
        factors=factors,
    )


def test_recovers_the_parameters_of_engine_battles(tmp_path):
    """Tolerances: W within 0.05, breakpoints within 0.02, luck within 30 %, posture and
    terrain factors within 20 %, advantage coefficients within 0.2 (200 battles)."""
    battles = _synthetic(tmp_path)
    assert 0.3 < battles.attacker_wins.mean() < 0.8  # both outcomes occur
    model = fit(battles)
    assert model.exponent == pytest.approx(TRUE["exponent"], abs=0.05)
    assert model.break_fraction.attacker == pytest.approx(0.85, abs=0.02)
    assert model.break_fraction.defender == pytest.approx(0.75, abs=0.02)
    assert model.luck_sigma == pytest.approx(TRUE["luck_sigma"], rel=0.3)
    for posture, value in TRUE["posture_factors"].items():
        assert model.posture_factors[posture] == pytest.approx(value, rel=0.2), posture
    assert model.terrain_factors["forest"] == pytest.approx(1.3, rel=0.2)
    for factor, value in TRUE["advantage"].items():
        assert model.advantage[factor] == pytest.approx(value, abs=0.2), factor


def _check_folds(wars: np.ndarray) -> None:
    folds = folds_by_war(wars)
    assert len(folds) == len(wars) and len(np.unique(folds)) == 5
    for war in np.unique(wars):
        assert len(np.unique(folds[wars == war])) == 1, war  # a war never straddles folds
    sizes = np.bincount(folds)
    _, per_war = np.unique(wars, return_counts=True)
    assert sizes.max() - sizes.min() <= per_war.max()  # balanced up to one war


def test_folds_never_split_a_war():
    rng = np.random.default_rng(3)
    _check_folds(np.array([f"w{int(i)}" for i in rng.zipf(1.6, size=400) % 40]))


@needs_cdb90
def test_cdb90_folds_never_split_a_war():
    _check_folds(load_cdb90().wars)


@needs_cdb90
def test_loader_reads_the_decisive_battles():
    """614 battles with both strengths and a decisive outcome; attackers won 64.7 % of them
    (the figures issue 12 quotes)."""
    battles = load_cdb90()
    assert len(battles) == 614
    assert battles.attacker_wins.mean() == pytest.approx(0.647, abs=0.0005)
    assert np.nanmax(battles.casualties_defender) <= 1.0


@needs_cdb90
def test_shipped_model_is_the_fit_of_the_data():
    """The committed `cdb90` model equals a refit from the data: W, luck, breakpoints and
    advantage coefficients within 0.01, posture and terrain factors within 3 % (marsh rests on
    one battle: the optimizer stops within about 2 % of a flat optimum), every battle's
    prediction within 0.005."""
    battles = load_cdb90()
    shipped = load_combat_model("cdb90")
    assert shipped.provenance["data_sha256"] == battles.sha256
    refit = fit(battles)
    assert refit.exponent == pytest.approx(shipped.exponent, abs=0.01)
    assert refit.luck_sigma == pytest.approx(shipped.luck_sigma, abs=0.01)
    assert refit.break_fraction.attacker == pytest.approx(shipped.break_fraction.attacker, abs=0.01)
    assert refit.break_fraction.defender == pytest.approx(shipped.break_fraction.defender, abs=0.01)
    for table in ("posture_factors", "terrain_factors"):
        for key, value in getattr(shipped, table).items():
            assert getattr(refit, table)[key] == pytest.approx(value, rel=0.03), (table, key)
    for key, value in shipped.advantage.items():
        assert refit.advantage[key] == pytest.approx(value, abs=0.01), key
    new, old = predict(refit, battles), predict(shipped, battles)
    assert np.abs(new.p_attacker - old.p_attacker).max() < 0.005
    assert np.abs(new.casualties_defender - old.casualties_defender).max() < 0.005


def _toy(count: int = 60) -> Battles:
    """Battles the bigger side always wins, casualties 0.1 and 0.2."""
    rng = np.random.default_rng(5)
    attacker = rng.uniform(1000, 3000, count)
    defender = rng.uniform(1000, 3000, count)
    return Battles(
        ids=np.arange(count),
        wars=np.array([f"w{i % 10}" for i in range(count)]),
        attacker=attacker,
        defender=defender,
        attacker_wins=(attacker > defender).astype(float),
        casualties_attacker=np.full(count, 0.1),
        casualties_defender=np.full(count, 0.2),
        posture=np.array(["defend"] * count),
        terrain=np.array(["open"] * count),
        codes=np.zeros((count, 0)),
        factors=(),
    )


def test_baselines_score_what_they_should():
    """On battles the bigger side always wins, the bigger-side baseline is always right and
    the fitted threshold nearly so (a test battle may fall between the training battles
    nearest parity); the per-side constant casualty baseline is exact."""
    from bench.validate import baselines

    battles = _toy()
    out = baselines(battles, folds_by_war(battles.wars))
    won = battles.attacker_wins
    assert np.all((out["bigger"] > 0.5) == (won > 0.5))
    assert np.mean((out["threshold"] > 0.5) == (won > 0.5)) >= 0.9
    assert np.allclose(out["per_side_a"], 0.1) and np.allclose(out["per_side_d"], 0.2)
    assert np.allclose(out["always"], won.mean(), atol=0.15)


def test_results_merge_keeps_other_keys(tmp_path):
    from bench.validate import merge_results

    path = tmp_path / "results.json"
    path.write_text('{"engine": {"x": 1}}')
    merge_results({"battles": 3}, path)
    import json

    assert json.loads(path.read_text()) == {"engine": {"x": 1}, "validation": {"battles": 3}}


def test_validation_report_writes_page_plots_and_figures(tmp_path):
    """`make validate`'s pipeline on a small set: the page, both plots as PNG and SVG, and the
    figures bench/results.json takes (engine and every baseline)."""
    pytest.importorskip("matplotlib")
    from bench.validate import validate

    battles = _toy(80)
    rng = np.random.default_rng(9)
    noisy = np.log(battles.attacker / battles.defender) + rng.normal(0, 0.3, len(battles)) > 0
    lost = rng.uniform(0.1, 0.25, len(battles))  # the loser's casualties, the winner's half
    won = noisy.astype(float)
    battles = Battles(
        **{
            **battles.__dict__,
            "attacker_wins": won,
            "casualties_attacker": np.where(noisy, lost / 2, lost),
            "casualties_defender": np.where(noisy, lost, lost / 2),
        }
    )
    result = validate(battles, tmp_path)
    for name in ("index.html", "calibration.png", "calibration.svg", "loss_ratio.png"):
        assert (tmp_path / name).stat().st_size > 0, name
    assert result["battles"] == 80 and 0 <= result["cv_brier"] <= 1
    assert {"attacker_always_wins", "logistic_force_ratio_posture_terrain"} <= set(
        result["baselines"]
    )
    # The engine, fitted on the other folds, beats "the attacker always wins" on these battles.
    assert result["cv_brier"] < result["baselines"]["attacker_always_wins"]["brier"]
    assert "<td>engine, cdb90 model (CV)</td>" in (tmp_path / "index.html").read_text()
