"""Shared fixtures: the tutorial scenario, a scenario factory for duels, an isolated cache."""

from __future__ import annotations

import pytest
import yaml

from scenarios import resolve_scenario
from sim.scenario import Scenario, load_scenario, parse_scenario


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
