"""The simulation: scenario schema, theater, SimPy engine, outcomes and Monte Carlo.

`sim` never imports `planner`, `app` or Streamlit.
"""

from sim.engine import EventBudgetExceeded, Simulation, apply_orders
from sim.montecarlo import ReplicationResult, replicate
from sim.outcome import Outcome, evaluate, mission_over, perceived_state
from sim.runner import run_scripted, simulate
from sim.scenario import Scenario, ScenarioError, load_scenario, parse_scenario
from sim.state import Tasking, WorldState, initial_state
from sim.theater import Theater

__all__ = [
    "EventBudgetExceeded",
    "Outcome",
    "ReplicationResult",
    "Scenario",
    "ScenarioError",
    "Simulation",
    "Tasking",
    "Theater",
    "WorldState",
    "apply_orders",
    "evaluate",
    "initial_state",
    "load_scenario",
    "mission_over",
    "parse_scenario",
    "perceived_state",
    "replicate",
    "run_scripted",
    "simulate",
]
