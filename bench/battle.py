"""One CDB90-style battle run by the engine itself: an attacker and a defender meet at a field
(the defender holds it, in the given posture and terrain), each with a rear place to break off
to. Used to check that `sim.combat_model.battle_outcomes` is the engine's computation, and to
generate synthetic battles for the calibration's recovery test.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from sim.engine import Simulation
from sim.scenario import Scenario, parse_scenario
from sim.state import initial_state
from sim.theater import Theater

__all__ = ["BattleResult", "battle_scenario", "run_battle"]

LETHALITY = 0.02  # per hour, both sides' base (only the ratio matters for the outcome)


@dataclass(frozen=True)
class BattleResult:
    """How the engine's battle ended."""

    attacker_won: bool
    casualties_attacker: float  # fraction of strength at contact
    casualties_defender: float
    end_reason: str
    hours: float


def battle_scenario(
    attacker: float,
    defender: float,
    *,
    posture: str = "defend",
    terrain: str = "open",
    attacker_multiplier: float = 1.0,
    combat_model: str = "cdb90",
    stochastic: bool = False,
    step: float = 0.5,
) -> Scenario:
    """The battle as a scenario: the attacker's lethality carries its advantage multiplier."""
    data = {
        "id": "battle",
        "places": [
            {"id": "field", "lat": 50.0, "lon": 10.0, "terrain": terrain, "control": "d"},
            {"id": "a_rear", "lat": 50.0, "lon": 9.9, "control": "a"},
            {"id": "d_rear", "lat": 50.0, "lon": 10.1, "control": "d"},
        ],
        "routes": [{"from": "field", "to": "a_rear"}, {"from": "field", "to": "d_rear"}],
        "sides": [{"id": "a", "planner": "scripted"}, {"id": "d", "planner": "scripted"}],
        "unit_types": {
            "attacker_line": {"lethality": LETHALITY * attacker_multiplier},
            "defender_line": {"lethality": LETHALITY},
        },
        "units": [
            {
                "id": "A",
                "side": "a",
                "type": "attacker_line",
                "strength": attacker,
                "location": "field",
                "posture": "attack",
            },
            {
                "id": "D",
                "side": "d",
                "type": "defender_line",
                "strength": defender,
                "location": "field",
                "posture": posture,
            },
        ],
        "settings": {
            "combat_model": combat_model,
            "stochastic": stochastic,
            "combat_step_hours": step,
            "horizon_hours": 5000.0,
            "cycle_hours": 5000.0,
            "movement_noise": 0.0,
            "scan_interval_hours": 5000.0,  # nobody needs to look: both sides are in contact
            "supply": False,
        },
    }
    return parse_scenario(yaml.safe_dump(data))


def run_battle(scenario: Scenario, seed: int = 1) -> BattleResult:
    """Run the battle to its end and read the engine's battle log."""
    world = initial_state(scenario)
    Simulation(scenario, Theater(scenario), world, seed=seed).run(scenario.settings.horizon_hours)
    if not world.battle_log:
        raise RuntimeError("the battle did not end within the horizon")
    entry = world.battle_log[0]
    contact, losses = entry["contact_strength"], entry["losses"]
    return BattleResult(
        attacker_won=entry["winner"] == "a",
        casualties_attacker=losses["a"] / contact["a"],
        casualties_defender=losses["d"] / contact["d"],
        end_reason=entry["end_reason"],
        hours=entry["end_hour"] - entry["start_hour"],
    )
