"""Military map symbols for the console: a MIL-STD-2525D / APP-6D SIDC per unit, drawn as SVG.

A SIDC has 20 digits: version (10), context (0 reality), standard identity (3 friend, 6
hostile), symbol set (10 land unit, 30 sea surface, 01 air), status, HQ/task force, echelon
(2 digits) and entity (6 digits) with two modifier pairs. The console fills the identity from
the viewer (a side's own units are friends, the enemy's hostile), the echelon from the unit's
name or its formation, and the symbol set and entity from the unit type: the type's own `sidc`
in the scenario when it gives one, else a catalogue keyed on the type's name and domain.
Symbols are rendered offline by the MIT-licensed `milsymbol` port (PyPI) and passed to the map
as data URLs, so no symbol server is asked.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import quote

from sim.scenario import Scenario, UnitSpec

__all__ = [
    "SymbolAtlas",
    "symbol_atlas",
    "ECHELON_CODES",
    "symbol_image",
    "unit_echelon",
    "unit_sidc",
]

#: 2525D echelon amplifier codes (land units) for the scenario's echelons.
ECHELON_CODES = {
    "company": "15",
    "battalion": "16",
    "regiment": "17",
    "group": "17",
    "brigade": "18",
    "division": "21",
    "corps": "22",
    "army": "23",
    "task_force": "18",
    "component": "24",
}
#: One echelon below a formation's: a unit of a brigade is a battalion, of a division a brigade.
_BELOW = {
    "army": "corps",
    "component": "division",
    "corps": "division",
    "division": "brigade",
    "task_force": "battalion",
    "brigade": "battalion",
    "regiment": "battalion",
    "group": "battalion",
    "task_group": "battalion",
    "battalion": "company",
}
#: Battalion groups, battle groups and battalion tactical groups are battalions.
_BATTALION_GROUP = re.compile(r"\b((bn|battalion)\s+(gp|group)|battle\s*group|bg|btg)\b", re.I)
#: A company group ("Mech Coy Gp") is a company.
_COMPANY_GROUP = re.compile(r"\b(coy|company)\s+(gp|group)\b", re.I)
#: Echelon words in unit names ("2nd Mech Bn Gp", "EE 1st Infantry Brigade").
_NAME_ECHELONS = [
    (re.compile(r"\b(bn|battalion)\b", re.I), "battalion"),
    (re.compile(r"\b(bde|brigade)\b", re.I), "brigade"),
    (re.compile(r"\b(regt|regiment|rgt)\b", re.I), "regiment"),
    (re.compile(r"\b(div|division)\b", re.I), "division"),
    (re.compile(r"\b(corps)\b", re.I), "corps"),
    (re.compile(r"\b(army)\b", re.I), "army"),
    (re.compile(r"\b(coy|company)\b", re.I), "company"),
    (re.compile(r"\b(group|gp)\b", re.I), "group"),
]
#: (symbol set, entity) by a word in the unit type's name: the first match in the type's
#: domain's symbol set wins.
_ENTITIES = [
    ("carrier", ("30", "120100")),
    ("amphib", ("30", "120300")),
    ("surface", ("30", "120200")),
    ("ship", ("30", "120200")),
    ("missile", ("10", "130700")),
    ("artillery", ("10", "130300")),
    ("recon", ("10", "121300")),
    ("armor", ("10", "120500")),
    ("armour", ("10", "120500")),
    ("tank", ("10", "120500")),
    ("mech", ("10", "121102")),
    ("marine", ("10", "121101")),
    ("amphib", ("10", "121101")),
    ("littoral", ("10", "121101")),
    ("infantry", ("10", "121100")),
    ("garrison", ("10", "121100")),
    ("assault", ("10", "121100")),
    ("air", ("01", "110100")),
    ("strike", ("01", "110100")),
]
#: By domain when no word matches: infantry, a surface combatant, a fixed-wing aircraft.
_BY_DOMAIN = {"land": ("10", "121100"), "sea": ("30", "120200"), "air": ("01", "110100")}


def unit_echelon(scenario: Scenario, unit: UnitSpec) -> str:
    """A unit's echelon: the last echelon word of its name ("EE 1st Inf Bde, 1st Bn" is a
    battalion), else one below its formation's, else battalion."""
    name = _COMPANY_GROUP.sub("Coy", _BATTALION_GROUP.sub("Bn", unit.name or ""))
    found = [
        (match.start(), echelon)
        for pattern, echelon in _NAME_ECHELONS
        for match in pattern.finditer(name)
    ]
    if found:
        return max(found)[1]
    formations = {f.id: f for f in scenario.formations}
    parent = formations.get(unit.parent or "")
    return _BELOW.get(parent.echelon, "battalion") if parent else "battalion"


def unit_sidc(scenario: Scenario, unit: UnitSpec, friendly: bool) -> str:
    """The 20-digit SIDC of a unit seen as a friend (True) or a hostile (False)."""
    unit_type = scenario.unit_types[unit.type]
    if unit_type.sidc:
        symbol_set, entity = unit_type.sidc[4:6], unit_type.sidc[10:16]
        modifiers = unit_type.sidc[16:20]
    else:
        name, default = unit.type.lower(), _BY_DOMAIN[unit_type.domain]
        symbol_set, entity = next(
            (code for word, code in _ENTITIES if word in name and code[0] == default[0]),
            default,
        )
        modifiers = "0000"
    identity = "3" if friendly else "6"
    echelon = ECHELON_CODES.get(unit_echelon(scenario, unit), "16") if symbol_set == "10" else "00"
    return f"100{identity}{symbol_set}00{echelon}{entity}{modifiers}"


@lru_cache(maxsize=1024)
def symbol_image(sidc: str, size: int = 28) -> dict[str, Any]:
    """A pydeck IconLayer icon for a SIDC: an SVG data URL, its size and anchor in pixels.

    Raises:
        ValueError: the SIDC is not one the renderer knows.
    """
    from milsymbol import Symbol

    symbol = Symbol(sidc, size=size)
    if not symbol.is_valid():
        raise ValueError(f"unknown symbol code {sidc}")
    width, height = symbol.get_size()["width"], symbol.get_size()["height"]
    anchor = symbol.get_anchor()
    return dict(
        url="data:image/svg+xml;charset=utf-8," + quote(symbol.as_svg()),
        width=round(width),
        height=round(height),
        anchorX=round(anchor["x"]),
        anchorY=round(anchor["y"]),
    )


@dataclass(frozen=True)
class SymbolAtlas:
    """Many symbols in one SVG image (deck.gl's `iconAtlas`) and where each one lies
    (`iconMapping`: SIDC -> x, y, width, height, anchorX, anchorY in the atlas's pixels), so
    a map of hundreds of units sends each distinct symbol once."""

    url: str
    mapping: dict[str, dict[str, int]]


def symbol_atlas(sidcs: Iterable[str], size: int = 48) -> SymbolAtlas:
    """An atlas of the distinct SIDCs, drawn at `size` pixels high (the map scales them)."""
    from milsymbol import Symbol

    codes = sorted(set(sidcs))
    cell = 2 * size
    parts, mapping = [], {}
    for k, sidc in enumerate(codes):
        symbol = Symbol(sidc, size=size)
        if not symbol.is_valid():
            raise ValueError(f"unknown symbol code {sidc}")
        svg = symbol.as_svg()
        width = math.ceil(symbol.get_size()["width"])
        height = math.ceil(symbol.get_size()["height"])
        anchor = symbol.get_anchor()
        x = k * cell
        parts.append(svg.replace("<svg ", f'<svg x="{x}" y="0" ', 1))
        mapping[sidc] = {
            "x": x,
            "y": 0,
            "width": width,
            "height": height,
            "anchorX": round(anchor["x"]),
            "anchorY": round(anchor["y"]),
        }
    total = max(1, len(codes)) * cell
    atlas = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="{cell}" '
        f'viewBox="0 0 {total} {cell}">' + "".join(parts) + "</svg>"
    )
    return SymbolAtlas(url="data:image/svg+xml;charset=utf-8," + quote(atlas), mapping=mapping)
