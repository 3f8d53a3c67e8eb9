"""Bounded settings: every number a scenario sets has a valid range, values that used to crash
or hang the engine are refused at load, and the engine stops a runaway run at its budget."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from scenarios import list_scenarios, resolve_scenario
from sim.engine import EventBudgetExceeded
from sim.runner import simulate
from sim.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from sim.schema import DEFAULT_MAX_EVENTS, MAX_STRENGTH

TUTORIAL = resolve_scenario("tutorial")


def _tutorial() -> dict[str, Any]:
    return yaml.safe_load(TUTORIAL.read_text(encoding="utf-8"))


def _numeric_fields(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(model.field, schema) of every number or integer property, through every model."""
    found = []
    for model, definition in {"Scenario": schema, **schema.get("$defs", {})}.items():
        for name, prop in definition.get("properties", {}).items():
            for option in prop.get("anyOf", [prop]):
                if option.get("type") in ("number", "integer"):
                    found.append((f"{model}.{name}", option))
                extra = option.get("additionalProperties")
                if isinstance(extra, dict) and extra.get("type") in ("number", "integer"):
                    found.append((f"{model}.{name}[*]", extra))
    return found


def test_every_numeric_field_has_a_documented_range():
    fields = _numeric_fields(Scenario.model_json_schema(by_alias=True))
    names = {name for name, _ in fields}
    assert {"UnitSpec.strength", "UnitType.lethality", "Settings.horizon_hours"} <= names
    unbounded = [
        name
        for name, prop in fields
        if not ({"minimum", "exclusiveMinimum"} & set(prop))
        or not ({"maximum", "exclusiveMaximum"} & set(prop))
    ]
    assert unbounded == []


def _set(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    target = data
    for part in path[:-1]:
        target = target.setdefault(part, {}) if isinstance(part, str) else target[part]
    target[path[-1]] = value


# Each of these validated before and then crashed or hung the engine (issue 18).
@pytest.mark.parametrize(
    "path, value",
    [
        (("units", 0, "strength"), 1e20),
        (("unit_types", "infantry", "lethality"), 1e300),
        (("settings", "combat_step_hours"), 1e-300),
        (("settings", "horizon_hours"), 1e6),
        (("settings", "horizon_hours"), 1e300),
        (("settings", "horizon_hours"), 2**100),
        (("settings", "scan_interval_hours"), 0.001),
        (("settings", "seed"), 2**64),
    ],
)
def test_values_that_crashed_or_hung_the_engine_are_refused_at_load(path, value):
    data = _tutorial()
    _set(data, path, value)
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(yaml.safe_dump(data), source="s.yaml")
    dotted = ".".join(str(p) for p in path).replace(".0.", "[0].")
    assert any(where.endswith(dotted) for where, _ in caught.value.problems)


def test_more_decision_cycles_than_the_limit_are_refused():
    data = _tutorial()
    data["settings"].update(horizon_hours=8000, cycle_hours=0.5)
    with pytest.raises(ScenarioError, match="more than 1,000 cycles"):
        parse_scenario(yaml.safe_dump(data))


def test_the_largest_valid_forces_simulate_without_overflow():
    data = _tutorial()
    for unit in data["units"]:
        unit["strength"] = MAX_STRENGTH
    data["unit_types"] = {t: {"lethality": 10.0} for t in ("infantry", "armor", "mechanized")}
    data["settings"].update(attrition="linear", horizon_hours=24, combat_step_hours=24)
    scenario = parse_scenario(yaml.safe_dump(data))
    (run,) = simulate(scenario, replications=1, seed=3)
    for side in run.outcome.sides.values():
        assert 0 <= side.strength <= side.initial_strength


def test_shipped_scenarios_stay_far_below_the_default_event_budget():
    names = [name for name, _ in list_scenarios()]
    assert names
    for name in names:
        scenario = load_scenario(resolve_scenario(name))
        assert scenario.settings.max_events == DEFAULT_MAX_EVENTS
        (run,) = simulate(scenario, replications=1, seed=1)
        assert 0 < run.events < DEFAULT_MAX_EVENTS // 100, name


@pytest.mark.parametrize("workers", [1, 2])
def test_a_runaway_run_stops_at_its_event_budget_with_a_clear_error(workers):
    data = _tutorial()
    data["settings"].update(max_events=1000, horizon_hours=2000, scan_interval_hours=0.1)
    data["settings"]["cycle_hours"] = 24
    scenario = parse_scenario(yaml.safe_dump(data))
    with pytest.raises(EventBudgetExceeded, match=r"after 1,000 events \(settings.max_events\)"):
        simulate(scenario, replications=2, seed=1, workers=workers)
