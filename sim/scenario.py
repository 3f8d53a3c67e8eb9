"""The scenario: its schema (`sim.schema`) and its loader (`sim.loading`), under one name.

Other modules import scenario records and `load_scenario` from here; the schema itself never
imports the loader, the unit-type catalogue or the theater, so there is no import cycle.
"""

from __future__ import annotations

from sim.loading import Limits, ScenarioError, load_scenario, parse_scenario
from sim.schema import (
    AIR_ACTIONS,
    DEFAULT_WEIGHTS,
    DOMAIN_MODES,
    TASKED_ECHELONS,
    AttritionLaw,
    Constraints,
    Criterion,
    Formation,
    LogisticsSettings,
    Mission,
    Objective,
    Order,
    Place,
    PlanningSettings,
    Route,
    SalvoParameters,
    Scenario,
    Settings,
    Side,
    UnitSpec,
    UnitType,
)

__all__ = [
    "AIR_ACTIONS",
    "DEFAULT_WEIGHTS",
    "DOMAIN_MODES",
    "TASKED_ECHELONS",
    "AttritionLaw",
    "Constraints",
    "Criterion",
    "Formation",
    "Limits",
    "LogisticsSettings",
    "Mission",
    "Objective",
    "Order",
    "Place",
    "PlanningSettings",
    "Route",
    "SalvoParameters",
    "Scenario",
    "ScenarioError",
    "Settings",
    "Side",
    "UnitSpec",
    "UnitType",
    "load_scenario",
    "parse_scenario",
]
