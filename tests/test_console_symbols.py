"""Unit symbols: SIDCs from unit type and echelon, the scenario's per-type override, SVG."""

from __future__ import annotations

from urllib.parse import unquote

import pytest

from planner.console_symbols import symbol_image, unit_echelon, unit_sidc
from scenarios import list_scenarios, resolve_scenario
from sim.scenario import ScenarioError, load_scenario, parse_scenario


def test_sidc_fields_follow_2525d() -> None:
    scenario = load_scenario(resolve_scenario("tutorial"))
    infantry = next(u for u in scenario.units if u.type == "infantry")
    assert "Bn" in infantry.name
    sidc = unit_sidc(scenario, infantry, friendly=True)
    # version 10, reality, friend, land unit, present, battalion (16), infantry (121100):
    # the GUIDE's friendly infantry 10031000001211000000 with the echelon amplifier set.
    assert sidc == "10031000161211000000"
    assert unit_sidc(scenario, infantry, friendly=False)[3] == "6"
    armor = next(u for u in scenario.units if u.type == "armor")
    assert unit_sidc(scenario, armor, True)[10:16] == "120500"


def test_ships_and_aircraft_use_their_symbol_sets() -> None:
    scenario = load_scenario(resolve_scenario("western_pacific"))
    by_domain = {}
    for unit in scenario.units:
        by_domain.setdefault(scenario.unit_types[unit.type].domain, unit)
    assert set(by_domain) == {"land", "sea", "air"}
    assert unit_sidc(scenario, by_domain["sea"], True)[4:6] == "30"
    assert unit_sidc(scenario, by_domain["air"], True)[4:6] == "01"
    assert unit_sidc(scenario, by_domain["sea"], True)[8:10] == "00"  # no land echelon


def test_echelon_from_the_last_word_of_the_name_else_one_below_the_formation() -> None:
    scenario = load_scenario(resolve_scenario("baltic_corps"))
    battalions = [u for u in scenario.units if (u.name or "").endswith(" Bn") or "BTG" in u.name]
    assert battalions and all(unit_echelon(scenario, u) == "battalion" for u in battalions)
    companies = [u for u in scenario.units if (u.name or "").endswith("Coy Gp")]
    assert companies and all(unit_echelon(scenario, u) == "company" for u in companies)
    tutorial = load_scenario(resolve_scenario("tutorial"))
    spec = tutorial.units[0].model_copy(update={"name": "Anonymous", "parent": None})
    assert unit_echelon(tutorial, spec) == "battalion"
    formations = {f.id: f for f in scenario.formations}
    division = next(f for f in scenario.formations if f.echelon == "division")
    nameless = next(u for u in scenario.units if u.parent in formations).model_copy(
        update={"name": "X", "parent": division.id}
    )
    assert unit_echelon(scenario, nameless) == "brigade"


def test_scenario_overrides_a_types_symbol() -> None:
    text = resolve_scenario("tutorial").read_text(encoding="utf-8")
    assert "unit_types:" not in text
    custom = text + "\nunit_types:\n  infantry: {sidc: '10031000001205000000'}\n"
    scenario = parse_scenario(custom, source="custom.yaml")
    infantry = next(u for u in scenario.units if u.type == "infantry")
    sidc = unit_sidc(scenario, infantry, friendly=False)
    assert sidc[10:16] == "120500" and sidc[3] == "6" and sidc[8:10] == "16"
    with pytest.raises(ScenarioError, match="sidc"):
        parse_scenario(text + "\nunit_types:\n  infantry: {sidc: 'SFGPUCI----'}\n", source="x.yaml")


def test_every_shipped_unit_has_a_renderable_symbol() -> None:
    names = [name for name, _ in list_scenarios()]
    assert names
    for name in names:
        scenario = load_scenario(resolve_scenario(name))
        for unit in scenario.units:
            for friendly in (True, False):
                image = symbol_image(unit_sidc(scenario, unit, friendly))
                svg = unquote(image["url"].split(",", 1)[1])
                assert svg.startswith("<svg") and image["width"] > 0 and image["height"] > 0


def test_unknown_code_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown symbol"):
        symbol_image("10031000161299990000")
