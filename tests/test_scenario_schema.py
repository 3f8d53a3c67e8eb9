"""Scenario loading: valid files load; bad input is caught with its file, field path and line."""

from __future__ import annotations

import json

import pytest
import yaml

from scenarios import list_scenarios, resolve_scenario
from sim.scenario import Scenario, ScenarioError, load_scenario, parse_scenario


def _tutorial_data() -> dict:
    return yaml.safe_load(resolve_scenario("tutorial").read_text())


def _problems(data: dict | str) -> list[tuple[str, str]]:
    text = data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, source="s.yaml")
    return caught.value.problems


def test_tutorial_loads_with_defaults(tutorial):
    assert tutorial.id == "tutorial"
    assert {s.id for s in tutorial.sides} == {"blue", "red"}
    assert "infantry" in tutorial.unit_types  # default catalogue merged in


def test_unknown_place_reference_names_field_path_and_line():
    text = resolve_scenario("tutorial").read_text().replace("location: rakvere", "location: narnia")
    problems = _problems(text)
    where, message = problems[0]
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "narnia" in t)
    assert where == f"s.yaml:{line}: units[2].location"
    assert "narnia" in message


@pytest.mark.parametrize(
    ("mutate", "path", "words"),
    [
        (lambda d: d["units"][0].update(strength=-5), "units[0].strength", "greater than 0"),
        (lambda d: d["places"][0].update(lat=float("nan")), "places[0].lat", "finite"),
        (lambda d: d["units"].append(dict(d["units"][0])), "units[9].id", "duplicate id"),
        (lambda d: d["routes"][0].update({"from": "atlantis"}), "routes[0].from", "unknown place"),
        (lambda d: d["routes"][0].update(mode="teleport"), "routes[0].mode", "Input should be"),
        (lambda d: d["units"][0].update(colour="red"), "units[0].colour", "unknown field"),
        (
            lambda d: d["orders"].append({"unit": "ghost", "target": "narva"}),
            "orders[0].unit",
            "unknown unit",
        ),
    ],
)
def test_bad_fields_are_located(mutate, path, words):
    data = _tutorial_data()
    data.setdefault("orders", [])
    mutate(data)
    problems = _problems(data)
    assert any(where.endswith(path) and words in msg for where, msg in problems), problems


def test_disconnected_route_network_is_rejected():
    data = _tutorial_data()
    data["places"].append({"id": "island", "lat": 58.5, "lon": 22.5})
    problems = _problems(data)
    assert any("disconnected" in msg and "island" in msg for _, msg in problems)


def test_unreachable_objective_is_rejected():
    data = _tutorial_data()
    data["places"].append({"id": "saaremaa", "lat": 58.4, "lon": 22.5})
    data["routes"].append({"from": "saaremaa", "to": "tallinn", "mode": "sea"})
    data["sides"][0]["mission"]["objectives"].append(
        {"id": "hold-saare", "place": "saaremaa", "deadline_hours": 10}
    )
    problems = _problems(data)
    assert any("unreachable" in msg for _, msg in problems), problems


def test_duplicate_yaml_key_is_reported_with_its_line():
    text = "id: a\nid: b\n"
    problems = _problems(text)
    assert ("s.yaml:2: id", "duplicate key") in problems


def test_not_yaml_gives_a_line():
    problems = _problems("id: [unclosed\nname: x\n")
    assert problems[0][0].startswith("s.yaml:")
    assert "not valid YAML" in problems[0][1]


def test_unsafe_yaml_tags_are_refused():
    problems = _problems("id: !!python/object/apply:os.system ['echo hi']\n")
    assert "not valid YAML" in problems[0][1]


def test_missing_file_is_a_scenario_error(tmp_path):
    with pytest.raises(ScenarioError, match="cannot read file"):
        load_scenario(tmp_path / "absent.yaml")


def test_json_schema_covers_the_top_level_fields():
    schema = Scenario.model_json_schema(by_alias=True)
    json.dumps(schema)
    assert {"places", "routes", "sides", "units", "settings"} <= set(schema["properties"])


def test_every_shipped_scenario_is_listed_and_valid():
    names = [name for name, _ in list_scenarios()]
    assert "tutorial" in names
    for name in names:
        load_scenario(resolve_scenario(name))


def test_overriding_a_catalogue_type_changes_only_the_given_fields():
    data = _tutorial_data()
    data["unit_types"] = {"armor": {"speed_kph": 12}}
    scenario = parse_scenario(yaml.safe_dump(data))
    from sim.unit_types import DEFAULT_UNIT_TYPES

    assert scenario.unit_types["armor"].speed_kph == 12
    assert scenario.unit_types["armor"].lethality == DEFAULT_UNIT_TYPES["armor"].lethality
