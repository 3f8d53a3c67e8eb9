"""Named land-combat models: the attrition law's exponent, defence factors, breakpoints and the
per-battle spread, loaded from `sim/data/combat_models/<name>.yaml`, and the outcome of a
two-sided battle under them in closed form.

The engine's land attrition with a model's own law is Helmbold's: dA/dt = -beta A^(1-W) B^W and
dB/dt = -alpha B^(1-W) A^W (W = 1 is Lanchester's square law, W = 1/2 keeps the linear law's
invariant), whose invariant is alpha (A0^2W - A^2W) = beta (B0^2W - B^2W). A side breaks off when
it falls below its break fraction of its strength at contact, so with breakpoints f_a and f_d the
attacker wins when alpha A0^2W (1 - f_a^2W) > beta B0^2W (1 - f_d^2W); the winner's losses follow
from the invariant, the loser's are 1 - f. Each battle's coefficient ratio alpha / beta carries
a log-normal spread `luck_sigma` (what the records do not capture), so the attacker wins with
probability Phi(eta / sigma). `battle_outcomes` is that computation on arrays (the calibration
fits it; tests check it against the engine's own battles).
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field
from scipy.stats import norm

__all__ = [
    "ADVANTAGE_FACTORS",
    "BreakFractions",
    "CombatModel",
    "battle_outcomes",
    "combat_model_names",
    "combat_model_problem",
    "load_combat_model",
    "luck_grid",
]

MODELS_DIR = Path(__file__).parent / "data" / "combat_models"

#: Relative-advantage factors a model may weigh (CDB90's attacker-advantage codes, -4..+4).
ADVANTAGE_FACTORS = (
    "surprise",
    "air_superiority",
    "leadership",
    "training",
    "morale",
    "logistics",
    "momentum",
    "intelligence",
    "technology",
    "initiative",
    "fortification",
)


class BreakFractions(BaseModel):
    """Share of its strength at contact below which a side breaks off, by role."""

    model_config = ConfigDict(extra="forbid")

    attacker: float = Field(ge=0, lt=1)
    defender: float = Field(ge=0, lt=1)


class CombatModel(BaseModel):
    """A land-combat model: law, defence factors, breakpoints, spread and its provenance."""

    model_config = ConfigDict(extra="forbid")

    name: str
    description: str = ""
    law: Literal["square", "linear", "mixed", "helmbold"] = "square"
    exponent: float = Field(default=1.0, gt=0, le=1, description="Helmbold's W (1: square law).")
    luck_sigma: float = Field(
        default=0.0, ge=0, description="Spread of a battle's log coefficient ratio (stochastic)."
    )
    break_fraction: BreakFractions
    posture_factors: dict[str, float] = Field(description="Defender posture -> divisor.")
    terrain_factors: dict[str, float] = Field(description="Defender terrain -> divisor.")
    advantage: dict[str, float] = Field(
        default_factory=dict, description="Per advantage code: log multiplier on lethality."
    )
    provenance: dict[str, Any] = Field(default_factory=dict)

    def advantage_multiplier(self, codes: dict[str, float]) -> float:
        """Lethality multiplier of a side holding these relative-advantage codes."""
        unknown = sorted(set(codes) - set(ADVANTAGE_FACTORS))
        if unknown:
            raise ValueError(f"unknown advantage factors {unknown}")
        return float(np.exp(sum(self.advantage.get(k, 0.0) * v for k, v in codes.items())))


def combat_model_names() -> list[str]:
    """The shipped models' names."""
    return sorted(p.stem for p in MODELS_DIR.glob("*.yaml"))


def combat_model_problem(spec: str) -> str | None:
    """Why `spec` names no model (a shipped name, or a path to a model's .yaml file), or None."""
    if spec.endswith((".yaml", ".yml")):
        return None if Path(spec).is_file() else f"combat model file {spec!r} not found"
    if spec in combat_model_names():
        return None
    return f"unknown combat model {spec!r} (known: {', '.join(combat_model_names())})"


@functools.cache
def load_combat_model(spec: str) -> CombatModel:
    """The shipped model named `spec` (sim/data/combat_models/<name>.yaml), or the model in
    the .yaml file at path `spec`."""
    problem = combat_model_problem(spec)
    if problem is not None:
        raise ValueError(problem)
    by_path = spec.endswith((".yaml", ".yml"))
    path = Path(spec) if by_path else MODELS_DIR / f"{spec}.yaml"
    model = CombatModel.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    if not by_path and model.name != spec:
        raise ValueError(f"{path}: name {model.name!r} does not match the file name")
    return model


def luck_grid(points: int = 48) -> np.ndarray:
    """Standard-normal quantiles at the midpoints of `points` equal-probability cells."""
    return np.asarray(norm.ppf((np.arange(points) + 0.5) / points))


def battle_outcomes(
    log_ratio: np.ndarray,
    log_force_ratio: np.ndarray,
    exponent: float,
    break_attacker: float,
    break_defender: float,
    sigma: float,
    z: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per battle: the attacker's probability of winning and both sides' expected casualty
    fractions, for log(alpha / beta) `log_ratio` and log(A0 / B0) `log_force_ratio`.

    Expectations over the luck are taken on the grid `z` (default `luck_grid()`); with
    `sigma` 0 the outcome is the deterministic one (the attacker wins at probability 1 or 0).
    """
    w2 = 2.0 * exponent
    keep_a, keep_d = 1.0 - break_attacker**w2, 1.0 - break_defender**w2
    base = np.asarray(log_ratio, dtype=float) + w2 * np.asarray(log_force_ratio, dtype=float)
    margin = base + np.log(keep_a) - np.log(keep_d)  # > 0: the attacker wins
    grid = np.zeros(1) if sigma == 0 else (luck_grid() if z is None else np.asarray(z))
    shifted = base[:, None] + sigma * grid[None, :]
    wins = (margin[:, None] + sigma * grid[None, :]) > 0
    # Winner's remaining share^2W = 1 - (loser's coefficient / winner's) x ratio^2W x keep.
    left_a = np.clip(1.0 - np.exp(np.clip(-shifted, -700, 700)) * keep_d, 1e-300, 1.0)
    left_d = np.clip(1.0 - np.exp(np.clip(shifted, -700, 700)) * keep_a, 1e-300, 1.0)
    cas_a = np.where(wins, 1.0 - left_a ** (1.0 / w2), 1.0 - break_attacker).mean(axis=1)
    cas_d = np.where(wins, 1.0 - break_defender, 1.0 - left_d ** (1.0 / w2)).mean(axis=1)
    p_win = (margin > 0).astype(float) if sigma == 0 else norm.cdf(margin / sigma)
    return np.asarray(p_win), cas_a, cas_d
