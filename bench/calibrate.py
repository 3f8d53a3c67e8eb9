"""Fit the engine's land-combat model to CDB90 and write it as the `cdb90` combat model.

    python bench/calibrate.py          # fit, cross-validate, write the model file
    python bench/calibrate.py --check  # fit and print, write nothing

The model file is sim/data/combat_models/cdb90.yaml.

What is fitted is the engine's own battle (sim/combat_model.py, `battle_outcomes`; tested equal
to the engine's battles): Helmbold's exponent W, the defender's posture and terrain divisors,
the attacker's lethality multipliers per relative-advantage code (surprise, air superiority,
leadership, training, morale, ...), both break fractions and the per-battle luck. The fit is
maximum a posteriori: the winners' Bernoulli likelihood plus a Laplace likelihood of both
sides' casualty fractions (its scale fitted too), with a N(mu, 1) prior on each log factor
(mu: Dupuy's value for posture and terrain, 0 for the codes) so that rare terrains stay near
Dupuy. Cross-validation folds are whole wars (`WAR`), five folds balanced by battle count.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.cdb90 import Battles, load_cdb90  # noqa: E402
from sim.combat_model import (  # noqa: E402
    MODELS_DIR,
    BreakFractions,
    CombatModel,
    battle_outcomes,
    load_combat_model,
)

__all__ = [
    "COMMAND",
    "Prediction",
    "cross_validate",
    "fit",
    "folds_by_war",
    "predict",
    "scores",
]

COMMAND = "python bench/calibrate.py"
FOLDS = 5
PRIOR_SD = 1.0
POSTURES = ("defend", "reserve")


@dataclass(frozen=True)
class Prediction:
    """Per battle: P(attacker wins) and both sides' expected casualty fractions."""

    p_attacker: np.ndarray
    casualties_attacker: np.ndarray
    casualties_defender: np.ndarray


def predict(model: CombatModel, battles: Battles) -> Prediction:
    """What the engine under `model` predicts for each battle (`battle_outcomes`)."""
    advantage = np.array([model.advantage.get(f, 0.0) for f in battles.factors])
    posture = np.log([model.posture_factors.get(p, 1.0) for p in battles.posture])
    terrain = np.log([model.terrain_factors.get(t, 1.0) for t in battles.terrain])
    log_ratio = battles.codes @ advantage - posture - terrain
    fraction = model.break_fraction
    p, cas_a, cas_d = battle_outcomes(
        log_ratio,
        np.log(battles.attacker / battles.defender),
        model.exponent,
        fraction.attacker,
        fraction.defender,
        model.luck_sigma,
    )
    return Prediction(p, cas_a, cas_d)


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-min(max(x, -500.0), 500.0)))


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


class _Layout:
    """The parameter vector: W, sigma, both breakpoints, log posture and terrain factors,
    advantage coefficients, the casualty likelihood's log scale."""

    def __init__(self, battles: Battles, base: CombatModel):
        self.terrains = sorted(set(battles.terrain) - {"open"})
        self.factors = battles.factors
        self.base = base
        dupuy = load_combat_model("dupuy_defaults")
        self.prior = np.array(
            [math.log(dupuy.posture_factors[p]) for p in POSTURES]
            + [math.log(dupuy.terrain_factors[t]) for t in self.terrains]
            + [0.0] * len(self.factors)
        )
        self.size = 4 + len(self.prior) + 1
        # One-hot designs, so the objective needs no per-battle lookups.
        self.design = np.hstack(
            [
                -1.0 * (battles.posture[:, None] == np.array(POSTURES)[None, :]),
                -1.0 * (battles.terrain[:, None] == np.array(self.terrains)[None, :]),
                battles.codes,
            ]
        ).astype(float)
        self.log_force_ratio = np.log(battles.attacker / battles.defender)

    def start(self) -> np.ndarray:
        theta = np.zeros(self.size)
        theta[:4] = [_logit(0.5), math.log(0.7), _logit(0.85), _logit(0.8)]
        theta[4 : 4 + len(self.prior)] = self.prior
        theta[-1] = math.log(0.1)
        return theta

    def model(self, theta: np.ndarray, provenance: dict | None = None) -> CombatModel:
        n_post, n_terr = len(POSTURES), len(self.terrains)
        logs = theta[4 : 4 + len(self.prior)]
        terrain = dict(self.base.terrain_factors)  # terrains not in the data keep Dupuy's
        fitted = logs[n_post : n_post + n_terr]
        terrain.update({t: float(math.exp(v)) for t, v in zip(self.terrains, fitted, strict=True)})
        terrain["open"] = 1.0
        return CombatModel(
            name="cdb90",
            description="Fitted to CDB90's decisive battles (bench/calibrate.py).",
            law="helmbold",
            exponent=0.05 + 0.95 * _sigmoid(theta[0]),
            luck_sigma=math.exp(theta[1]),
            break_fraction=BreakFractions(attacker=_sigmoid(theta[2]), defender=_sigmoid(theta[3])),
            posture_factors={
                p: float(math.exp(v)) for p, v in zip(POSTURES, logs[:n_post], strict=True)
            },
            terrain_factors=terrain,
            advantage={
                f: float(v) for f, v in zip(self.factors, logs[n_post + n_terr :], strict=True)
            },
            provenance=provenance or {},
        )


def _objective(theta: np.ndarray, layout: _Layout, battles: Battles) -> float:
    """Negative log posterior; `predict` on `layout.model(theta)`, with the lookups done once."""
    logs = theta[4 : 4 + len(layout.prior)]
    p, cas_a, cas_d = battle_outcomes(
        layout.design @ logs,
        layout.log_force_ratio,
        0.05 + 0.95 * _sigmoid(theta[0]),
        _sigmoid(theta[2]),
        _sigmoid(theta[3]),
        math.exp(min(theta[1], 50.0)),
    )
    p = np.clip(p, 1e-9, 1 - 1e-9)
    y = battles.attacker_wins
    winners = -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))
    errors = np.concatenate(
        [
            np.abs(cas_a - battles.casualties_attacker),
            np.abs(cas_d - battles.casualties_defender),
        ]
    )
    errors = errors[~np.isnan(errors)]
    scale = max(math.exp(min(theta[-1], 50.0)), 1e-4)  # floored: exact data need no log(0)
    casualties = np.sum(errors / scale + math.log(2 * scale))
    prior = 0.5 * np.sum(((logs - layout.prior) / PRIOR_SD) ** 2)
    return float(winners + casualties + prior)


def fit(battles: Battles, provenance: dict | None = None) -> CombatModel:
    """The maximum a posteriori combat model for these battles."""
    if len(battles) == 0:
        raise ValueError("no battles to fit")
    layout = _Layout(battles, load_combat_model("dupuy_defaults"))
    result = minimize(
        _objective,
        layout.start(),
        args=(layout, battles),
        method="L-BFGS-B",
        options={"maxiter": 500},
    )
    return layout.model(result.x, provenance)


def folds_by_war(wars: np.ndarray, folds: int = FOLDS) -> np.ndarray:
    """Fold of each battle: whole wars, largest first, each to the fold with fewest battles."""
    names, counts = np.unique(wars, return_counts=True)
    size = [0] * folds
    fold_of: dict[str, int] = {}
    for count, name in sorted(zip(counts.tolist(), names.tolist(), strict=True), reverse=True):
        target = min(range(folds), key=lambda k: (size[k], k))
        fold_of[name] = target
        size[target] += count
    return np.array([fold_of[w] for w in wars])


def scores(prediction: Prediction, battles: Battles) -> dict[str, float]:
    """Winner accuracy, Brier score and casualty-fraction mean absolute error."""
    y = battles.attacker_wins
    p = prediction.p_attacker
    errors = np.concatenate(
        [
            np.abs(prediction.casualties_attacker - battles.casualties_attacker),
            np.abs(prediction.casualties_defender - battles.casualties_defender),
        ]
    )
    return {
        "winner_accuracy": float(np.mean((p > 0.5) == (y > 0.5))),
        "brier": float(np.mean((p - y) ** 2)),
        "casualty_error": float(np.nanmean(errors)),
    }


def cross_validate(battles: Battles, folds: np.ndarray | None = None) -> Prediction:
    """Out-of-fold predictions: each fold predicted by the model fitted on the others."""
    folds = folds_by_war(battles.wars) if folds is None else folds
    p, cas_a, cas_d = (np.zeros(len(battles)) for _ in range(3))
    for k in np.unique(folds):
        train, test = np.flatnonzero(folds != k), np.flatnonzero(folds == k)
        prediction = predict(fit(battles.subset(train)), battles.subset(test))
        p[test] = prediction.p_attacker
        cas_a[test] = prediction.casualties_attacker
        cas_d[test] = prediction.casualties_defender
    return Prediction(p, cas_a, cas_d)


def calibrate(battles: Battles) -> CombatModel:
    """Fit on all battles, with the cross-validated scores and data version as provenance."""
    cv = scores(cross_validate(battles), battles)
    provenance = {
        "command": COMMAND,
        "data": "CDB90 (github:jrnold/CDB90), src-data/CDB90/CDB90-patched.csv",
        "data_version": battles.version,
        "data_sha256": battles.sha256,
        "battles": len(battles),
        "cross_validation": f"{FOLDS} folds of whole wars",
        "cv_winner_accuracy": round(cv["winner_accuracy"], 4),
        "cv_brier": round(cv["brier"], 4),
        "cv_casualty_error": round(cv["casualty_error"], 4),
    }
    return fit(battles, provenance)


def model_yaml(model: CombatModel) -> str:
    """The model as the YAML file shipped in sim/data/combat_models."""
    data = model.model_dump()
    data["exponent"] = round(data["exponent"], 6)
    data["luck_sigma"] = round(data["luck_sigma"], 6)
    data["break_fraction"] = {k: round(v, 6) for k, v in data["break_fraction"].items()}
    for key in ("posture_factors", "terrain_factors", "advantage"):
        data[key] = {k: round(v, 6) for k, v in data[key].items()}
    header = (
        "# Written by `python bench/calibrate.py` (do not edit by hand): the engine's land combat\n"
        "# fitted to CDB90. Factors divide the attacker's coefficients on the defender; advantage\n"
        "# coefficients are log lethality multipliers per code point of the attacker's advantage.\n"
    )
    return header + yaml.safe_dump(data, sort_keys=False)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="print the fit, write nothing")
    args = parser.parse_args(argv)
    try:
        battles = load_cdb90()
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    model = calibrate(battles)
    text = model_yaml(model)
    print(text)
    if not args.check:
        (MODELS_DIR / "cdb90.yaml").write_text(text, encoding="utf-8")
        print(f"wrote {MODELS_DIR / 'cdb90.yaml'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
