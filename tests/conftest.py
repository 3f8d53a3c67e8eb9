"""Shared fixtures: the tutorial scenario, a scenario factory for duels, an isolated cache."""

from __future__ import annotations

import pytest
import yaml

from doctrine import default_index
from planner.analysis import analyse
from planner.context import DraftingContext
from scenarios import resolve_scenario
from sim.engine import Simulation
from sim.outcome import perceived_state
from sim.scenario import Scenario, load_scenario, parse_scenario
from sim.state import initial_state
from sim.theater import Theater


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Doctrine index caches go to a per-session temporary folder, never the home directory."""
    monkeypatch.setenv("OODA_FORGE_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def tutorial() -> Scenario:
    """The shipped tutorial scenario."""
    return load_scenario(resolve_scenario("tutorial"))


def duel(
    a0: float,
    b0: float,
    alpha: float,
    beta: float,
    *,
    law: str = "square",
    stochastic: bool = False,
    step: float = 0.25,
    horizon: float = 500.0,
    a_arrives: float = 0.0,
) -> Scenario:
    """Two homogeneous forces meeting at one open place with no modifiers.

    `alpha` is A's coefficient on B and `beta` B's on A (per hour): B' = -alpha A, A' = -beta B.
    """
    data = {
        "id": "duel",
        "places": [
            {"id": "field", "lat": 52.0, "lon": 21.0, "terrain": "open"},
            {"id": "rear", "lat": 52.1, "lon": 21.0},
        ],
        "routes": [{"from": "field", "to": "rear"}],
        "sides": [{"id": "a", "planner": "scripted"}, {"id": "b", "planner": "scripted"}],
        "unit_types": {
            "shooter_a": {"lethality": alpha, "sensor_range_km": 50},
            "shooter_b": {"lethality": beta, "sensor_range_km": 50},
        },
        "units": [
            {
                "id": "A",
                "side": "a",
                "type": "shooter_a",
                "strength": a0,
                "location": "field",
                "posture": "attack",
                "arrives_hour": a_arrives,
            },
            {
                "id": "B",
                "side": "b",
                "type": "shooter_b",
                "strength": b0,
                "location": "field",
                "posture": "attack",
            },
        ],
        "settings": {
            "attrition": law,
            "stochastic": stochastic,
            "combat_step_hours": step,
            "horizon_hours": horizon,
            "cycle_hours": horizon,
            "break_fraction": 0,
            "supply": False,
        },
    }
    return parse_scenario(yaml.safe_dump(data))


def fast_planning(scenario: Scenario, revision_replications: int = 2) -> Scenario:
    """The scenario with a small revision budget (one round), so campaign tests stay quick."""
    planning = scenario.settings.planning.model_copy(
        update={"revision_replications": revision_replications, "revision_rounds": 1}
    )
    settings = scenario.settings.model_copy(update={"planning": planning})
    return scenario.model_copy(update={"settings": settings})


@pytest.fixture(scope="session")
def quick_tutorial() -> Scenario:
    """The tutorial with a small revision budget."""
    return fast_planning(load_scenario(resolve_scenario("tutorial")))


def decision_context(scenario: Scenario, side: str, count: int = 4) -> DraftingContext:
    """A side's drafting context at H+0: its perceived picture after the pre-war sweep, its
    mission analysis, the shipped doctrine."""
    theater, index = Theater(scenario), default_index()
    world = initial_state(scenario)
    Simulation(scenario, theater, world, seed=1).initial_sweep()
    believed = perceived_state(scenario, world, side)
    analysis = analyse(scenario, theater, believed, side, index)
    return DraftingContext(scenario, theater, believed, analysis, index, count=count)
