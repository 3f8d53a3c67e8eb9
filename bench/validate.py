"""Validation report of the engine's land combat on CDB90, against naive baselines.

    python bench/validate.py [--out out/validation]      (`make validate`)

Every figure is cross-validated on the same folds of whole wars: the engine under the `cdb90`
model refitted on the other folds (bench/calibrate.py), and baselines fitted the same way:
"the attacker always wins", "the bigger side wins", the best single force-ratio threshold,
a logistic regression on log force ratio, posture and terrain, and for casualties a constant
fraction (one for both sides, and one per side). The engine with `dupuy_defaults` (nothing
fitted) is shown as it stands. Writes an HTML page and PNG/SVG plots (calibration curve,
predicted against actual loss ratio) under --out, and merges a "validation" entry into
bench/results.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
from jinja2 import Environment
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.calibrate import Prediction, cross_validate, folds_by_war, predict, scores  # noqa: E402
from bench.cdb90 import Battles, load_cdb90  # noqa: E402
from sim.combat_model import load_combat_model  # noqa: E402

RESULTS = ROOT / "bench" / "results.json"
COMMAND = "make validate  (python bench/validate.py)"

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>Combat model validation on CDB90</title>
<style>body{font-family:sans-serif;max-width:60em;margin:2em auto}
table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3em .6em;text-align:right}
td:first-child,th:first-child{text-align:left}</style></head><body>
<h1>Land combat against CDB90</h1>
<p>{{ battles }} decisive battles (CDB90 {{ version }}), {{ folds }} cross-validation folds of
whole wars. Command: <code>{{ command }}</code>.</p>
<table><tr><th>model</th><th>winner accuracy</th><th>Brier</th><th>casualty-fraction MAE</th>
<th>log10 loss-ratio MAE</th></tr>
{% for row in rows %}<tr><td>{{ row.name }}</td><td>{{ row.accuracy }}</td><td>{{ row.brier }}</td>
<td>{{ row.casualty }}</td><td>{{ row.ratio }}</td></tr>
{% endfor %}</table>
<h2>Calibration curve</h2><img src="calibration.png" alt="calibration curve" width="560">
<h2>Predicted against actual loss ratio</h2>
<img src="loss_ratio.png" alt="loss ratio" width="560">
<p>{{ note }}</p>
</body></html>
"""


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def _logistic(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray) -> np.ndarray:
    """Logistic regression (a light L2 penalty, intercept unpenalised)."""

    def loss(w: np.ndarray) -> float:
        z = x_train @ w
        return float(np.sum(np.logaddexp(0, z) - y_train * z) + 1e-3 * np.sum(w[1:] ** 2))

    w = minimize(loss, np.zeros(x_train.shape[1]), method="L-BFGS-B").x
    return _sigmoid(x_test @ w)


def _design(battles: Battles, terrains: list[str]) -> np.ndarray:
    columns = [np.ones(len(battles)), np.log(battles.attacker / battles.defender)]
    columns.append((battles.posture == "defend").astype(float))
    columns += [(battles.terrain == t).astype(float) for t in terrains]
    return np.column_stack(columns)


def baselines(battles: Battles, folds: np.ndarray) -> dict[str, np.ndarray]:
    """Out-of-fold P(attacker wins) of each winner baseline, and casualty predictions
    (attacker, defender) of each casualty baseline, flattened as arrays."""
    n = len(battles)
    y = battles.attacker_wins
    lfr = np.log(battles.attacker / battles.defender)
    out = {k: np.zeros(n) for k in ("always", "bigger", "threshold", "logistic")}
    for k in ("constant", "per_side"):
        out[k + "_a"], out[k + "_d"] = np.zeros(n), np.zeros(n)
    for fold in np.unique(folds):
        tr, te = folds != fold, folds == fold
        out["always"][te] = y[tr].mean()
        bigger_won = np.mean(y[tr] == (lfr[tr] > 0))
        out["bigger"][te] = np.where(lfr[te] > 0, bigger_won, 1 - bigger_won)
        values = np.unique(lfr[tr])
        cuts = np.concatenate([[values[0] - 1], (values[1:] + values[:-1]) / 2])  # midpoints
        accuracy = [np.mean((lfr[tr] > c) == (y[tr] > 0.5)) for c in cuts]
        cut = cuts[int(np.argmax(accuracy))]
        above = y[tr][lfr[tr] > cut]
        above_rate = above.mean() if len(above) else 1.0
        below_rate = y[tr][lfr[tr] <= cut].mean()
        out["threshold"][te] = np.where(lfr[te] > cut, above_rate, below_rate)
        terrains = sorted(set(battles.terrain[tr]) - {"open"})
        design = _design(battles, terrains)
        out["logistic"][te] = _logistic(design[tr], y[tr], design[te])
        both = np.concatenate([battles.casualties_attacker[tr], battles.casualties_defender[tr]])
        out["constant_a"][te] = out["constant_d"][te] = np.nanmedian(both)
        out["per_side_a"][te] = np.nanmedian(battles.casualties_attacker[tr])
        out["per_side_d"][te] = np.nanmedian(battles.casualties_defender[tr])
    return out


def _winner_scores(p: np.ndarray, battles: Battles) -> dict[str, float]:
    y = battles.attacker_wins
    return {
        "winner_accuracy": round(float(np.mean((p > 0.5) == (y > 0.5))), 4),
        "brier": round(float(np.mean((p - y) ** 2)), 4),
    }


def _casualty_error(cas_a: np.ndarray, cas_d: np.ndarray, battles: Battles) -> float:
    errors = np.concatenate(
        [np.abs(cas_a - battles.casualties_attacker), np.abs(cas_d - battles.casualties_defender)]
    )
    return round(float(np.nanmean(errors)), 4)


def _log_loss_ratios(battles: Battles, prediction: Prediction) -> tuple[np.ndarray, np.ndarray]:
    """log10 of attacker over defender losses, actual and predicted, where both are known."""
    lost_a = battles.casualties_attacker * battles.attacker
    lost_d = battles.casualties_defender * battles.defender
    known = (lost_a > 0) & (lost_d > 0)
    pred_a = prediction.casualties_attacker * battles.attacker
    pred_d = prediction.casualties_defender * battles.defender
    pred_ratio = np.clip(pred_a[known], 1e-9, None) / np.clip(pred_d[known], 1e-9, None)
    return np.log10(lost_a[known] / lost_d[known]), np.log10(pred_ratio)


def _plots(out: Path, battles: Battles, engine: Prediction, logistic: np.ndarray) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    y = battles.attacker_wins
    edges = np.linspace(0, 1, 11)
    fig, ax = plt.subplots(figsize=(5.6, 5))
    ax.plot([0, 1], [0, 1], color="#999", lw=1, label="perfectly calibrated")
    for p, label in ((engine.p_attacker, "engine (cdb90, CV)"), (logistic, "logistic (CV)")):
        bins = np.clip(np.digitize(p, edges) - 1, 0, 9)
        xs = [p[bins == b].mean() for b in range(10) if np.any(bins == b)]
        ys = [y[bins == b].mean() for b in range(10) if np.any(bins == b)]
        ax.plot(xs, ys, marker="o", label=label)
    ax.set_xlabel("predicted P(attacker wins)")
    ax.set_ylabel("observed frequency")
    ax.legend()
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(out / f"calibration.{ext}")
    plt.close(fig)

    lost_a = battles.casualties_attacker * battles.attacker
    lost_d = battles.casualties_defender * battles.defender
    pred_a = engine.casualties_attacker * battles.attacker
    pred_d = engine.casualties_defender * battles.defender
    ok = (lost_a > 0) & (lost_d > 0)
    fig, ax = plt.subplots(figsize=(5.6, 5))
    ax.scatter(pred_a[ok] / pred_d[ok], lost_a[ok] / lost_d[ok], s=8, alpha=0.5)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.plot([1e-2, 1e2], [1e-2, 1e2], color="#999", lw=1)
    ax.set_xlabel("predicted attacker / defender losses (engine, CV)")
    ax.set_ylabel("actual attacker / defender losses")
    fig.tight_layout()
    for ext in ("png", "svg"):
        fig.savefig(out / f"loss_ratio.{ext}")
    plt.close(fig)


def validate(battles: Battles, out: Path) -> dict[str, Any]:
    """Cross-validated figures of the engine and the baselines; plots and page under `out`."""
    folds = folds_by_war(battles.wars)
    engine = cross_validate(battles, folds)
    engine_scores = scores(engine, battles)
    base = baselines(battles, folds)
    dupuy = predict(load_combat_model("dupuy_defaults"), battles)
    actual, predicted = _log_loss_ratios(battles, engine)
    _, dupuy_ratio = _log_loss_ratios(battles, dupuy)
    result: dict[str, Any] = {
        "command": COMMAND,
        "data_version": battles.version,
        "battles": len(battles),
        "folds": int(len(np.unique(folds))),
        "cv_winner_accuracy": round(engine_scores["winner_accuracy"], 4),
        "cv_brier": round(engine_scores["brier"], 4),
        "casualty_error": round(engine_scores["casualty_error"], 4),
        "loss_ratio_log10_error": round(float(np.mean(np.abs(predicted - actual))), 4),
        "loss_ratio_correlation": round(float(np.corrcoef(predicted, actual)[0, 1]), 4),
        "baselines": {
            "loss_ratio_one": {"loss_ratio_log10_error": round(float(np.mean(np.abs(actual))), 4)},
            "attacker_always_wins": _winner_scores(base["always"], battles),
            "bigger_side_wins": _winner_scores(base["bigger"], battles),
            "best_force_ratio_threshold": _winner_scores(base["threshold"], battles),
            "logistic_force_ratio_posture_terrain": _winner_scores(base["logistic"], battles),
            "constant_casualty_fraction": {
                "casualty_error": _casualty_error(base["constant_a"], base["constant_d"], battles)
            },
            "constant_casualty_fraction_per_side": {
                "casualty_error": _casualty_error(base["per_side_a"], base["per_side_d"], battles)
            },
            "engine_dupuy_defaults_unfitted": {
                **_winner_scores(dupuy.p_attacker, battles),
                "casualty_error": _casualty_error(
                    dupuy.casualties_attacker, dupuy.casualties_defender, battles
                ),
                "loss_ratio_log10_error": round(float(np.mean(np.abs(dupuy_ratio - actual))), 4),
            },
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    _plots(out, battles, engine, base["logistic"])
    rows = [
        {
            "name": "engine, cdb90 model (CV)",
            "accuracy": result["cv_winner_accuracy"],
            "brier": result["cv_brier"],
            "casualty": result["casualty_error"],
            "ratio": result["loss_ratio_log10_error"],
        }
    ]
    for name, figures in result["baselines"].items():
        rows.append(
            {
                "name": name.replace("_", " "),
                "accuracy": figures.get("winner_accuracy", "-"),
                "brier": figures.get("brier", "-"),
                "casualty": figures.get("casualty_error", "-"),
                "ratio": figures.get("loss_ratio_log10_error", "-"),
            }
        )
    note = (
        "The advantage codes (leadership, training, morale, ...) are the CDB90 analysts' "
        "assessments, made after the fact; CEA, computed from the result, is not used."
    )
    html = Environment(autoescape=True).from_string(PAGE)
    (out / "index.html").write_text(
        html.render(
            battles=len(battles),
            version=battles.version,
            folds=result["folds"],
            command=COMMAND,
            rows=rows,
            note=note,
        ),
        encoding="utf-8",
    )
    return result


def merge_results(entry: dict[str, Any], path: Path = RESULTS) -> None:
    """Put `entry` under "validation" in the results file, keeping every other key."""
    data = json.loads(path.read_text()) if path.is_file() else {}
    data["validation"] = entry
    path.write_text(json.dumps(data, indent=2) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "validation")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    try:
        battles = load_cdb90()
    except FileNotFoundError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    result = validate(battles, args.out)
    merge_results(result, args.results)
    width = max(len(k) for k in result["baselines"]) + 2
    print(f"{'engine (cdb90, CV)':{width}} acc {result['cv_winner_accuracy']:.3f}  ", end="")
    print(f"Brier {result['cv_brier']:.4f}  casualty MAE {result['casualty_error']:.4f}")
    for name, figures in result["baselines"].items():
        line = "  ".join(
            f"{k} {v:.4f}" for k, v in figures.items() if isinstance(v, float) and not math.isnan(v)
        )
        print(f"{name:{width}} {line}")
    print(f"report: {args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
