"""CDB90 (660 land battles 1600-1982) read into the arrays the calibration fits.

The data stay outside the project: `OODA_FORGE_CDB90` names the folder, else the first
`shared/data/cdb90` beside the repository or one of its parents. The signed codes (`WINA`,
surprise, the advantage codes) are only intact in `src-data/CDB90/CDB90-patched.csv`, so that is
the file read; `src-data/M000121/CDB90DEF.csv` is the field dictionary the mappings follow.
Kept: battles with both strengths and a decisive outcome (`WINA` = +1 or -1). Casualty fractions
are casualties over total strength, clipped to [0, 1], NaN where unknown; codes of -9 or 9 (not
known) count as 0 (no advantage).
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["CDB90_FACTORS", "Battles", "data_dir", "load_cdb90", "terrain_of"]

ROOT = Path(__file__).resolve().parents[1]
PATCHED = Path("src-data") / "CDB90" / "CDB90-patched.csv"

#: Advantage factor (sim.combat_model.ADVANTAGE_FACTORS) -> CDB90 column (attacker's relative
#: advantage, -4..+4; surprise -3..+3; air superiority -1..+1). Left out: CEA (relative combat
#: effectiveness), computed from the battle's own result; FORTSA (influence of fortifications):
#: with it the CV accuracy is 0.80 instead of 0.78, but it takes over the prepared defence's
#: effect (the `defend` factor falls below 1), and scenarios carry no fortification code, so
#: in the engine a prepared defence would then help the attacker.
CDB90_FACTORS: dict[str, str] = {
    "surprise": "SURPA",
    "air_superiority": "AEROA",
    "leadership": "LEADA",
    "training": "TRNGA",
    "morale": "MORALA",
    "logistics": "LOGSA",
    "momentum": "MOMNTA",
    "intelligence": "INTELA",
    "technology": "TECHA",
    "initiative": "INITA",
}

#: Defender's primary posture (POST1) -> engine posture: prepared and fortified defences are
#: `defend` (prepared), hasty defence, delay and withdrawal `reserve` (hasty).
POSTURES = {"PD": "defend", "FD": "defend", "HD": "reserve", "DL": "reserve", "WD": "reserve"}


@dataclass(frozen=True)
class Battles:
    """Battles as arrays: strengths, outcome, casualty fractions, posture, terrain, codes."""

    ids: np.ndarray  # ISQNO
    wars: np.ndarray  # group for cross-validation
    attacker: np.ndarray  # total personnel strength
    defender: np.ndarray
    attacker_wins: np.ndarray  # 1.0 / 0.0
    casualties_attacker: np.ndarray  # fraction of strength, NaN if unknown
    casualties_defender: np.ndarray
    posture: np.ndarray  # engine posture of the defender: "defend" or "reserve"
    terrain: np.ndarray  # engine terrain
    codes: np.ndarray  # (battles, factors)
    factors: tuple[str, ...]
    version: str = ""
    sha256: str = ""

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, index: np.ndarray) -> Battles:
        """The battles at `index`."""
        return Battles(
            self.ids[index],
            self.wars[index],
            self.attacker[index],
            self.defender[index],
            self.attacker_wins[index],
            self.casualties_attacker[index],
            self.casualties_defender[index],
            self.posture[index],
            self.terrain[index],
            self.codes[index],
            self.factors,
            self.version,
            self.sha256,
        )


def data_dir() -> Path | None:
    """The CDB90 folder (OODA_FORGE_CDB90, else shared/data/cdb90 beside the repository or a
    parent of it), or None if there is none."""
    named = os.environ.get("OODA_FORGE_CDB90")
    if named:
        path = Path(named)
        return path if (path / PATCHED).is_file() else None
    for parent in ROOT.parents:
        path = parent / "shared" / "data" / "cdb90"
        if (path / PATCHED).is_file():
            return path
    return None


def terrain_of(code: str) -> str:
    """Engine terrain for a CDB90 TERRA1 code (relief, cover, special: e.g. "RM0", "GW0")."""
    code = (code or "000").ljust(3, "0")
    relief, cover, special = code[0], code[1], code[2]
    if special == "U":
        return "urban"
    if special == "M":
        return "marsh"
    if cover == "W":
        return "forest"
    if relief == "G":
        return "mountain"
    if cover == "D" or special == "D":
        return "desert"
    return "open"


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return math.nan


def _code(text: str) -> float:
    value = _number(text)
    return 0.0 if math.isnan(value) or abs(value) >= 9 else value


def load_cdb90(path: Path | None = None) -> Battles:
    """CDB90's decisive battles with both strengths (614 in version 9.0.3)."""
    folder = path if path is not None else data_dir()
    if folder is None:
        raise FileNotFoundError("CDB90 not found: set OODA_FORGE_CDB90 to its folder")
    source = folder / PATCHED
    raw = source.read_bytes()
    rows = list(csv.DictReader(raw.decode("latin-1").splitlines()))
    version_file = folder / "data" / "version.csv"
    version = version_file.read_text().splitlines()[1].strip('"') if version_file.is_file() else ""
    kept = []
    for row in rows:
        a, d, outcome = _number(row["STRA"]), _number(row["STRD"]), _number(row["WINA"])
        if a > 0 and d > 0 and outcome in (1.0, -1.0):
            kept.append(row)

    def fraction(cas: str, strength: str) -> float:
        value = _number(cas)
        return min(1.0, value / _number(strength)) if value >= 0 else math.nan

    factors = tuple(CDB90_FACTORS)
    return Battles(
        ids=np.array([int(r["ISQNO"]) for r in kept]),
        wars=np.array([r["WAR"].strip() for r in kept]),
        attacker=np.array([_number(r["STRA"]) for r in kept]),
        defender=np.array([_number(r["STRD"]) for r in kept]),
        attacker_wins=np.array([1.0 if _number(r["WINA"]) > 0 else 0.0 for r in kept]),
        casualties_attacker=np.array([fraction(r["CASA"], r["STRA"]) for r in kept]),
        casualties_defender=np.array([fraction(r["CASD"], r["STRD"]) for r in kept]),
        posture=np.array([POSTURES.get(r["POST1"], "reserve") for r in kept]),
        terrain=np.array([terrain_of(r["TERRA1"]) for r in kept]),
        codes=np.array([[_code(r[CDB90_FACTORS[f]]) for f in factors] for r in kept]),
        factors=factors,
        version=version,
        sha256=hashlib.sha256(raw).hexdigest(),
    )
