"""The planner: LangGraph OODA loop, COA drafters, wargaming, after-action records, batches, CLI.

Names are imported on first use, so `import planner.report` (the console) does not pay for
loading LangGraph and LangChain.
"""

from importlib import import_module
from typing import Any

__all__ = [
    "AfterActionRecord",
    "Approve",
    "Campaign",
    "DoctrineDrafter",
    "LLMDrafter",
    "Pick",
    "Reweight",
    "Revise",
    "load_aar",
    "render_markdown",
    "run_campaign",
    "write_aar",
]

_HOMES = {
    "AfterActionRecord": "planner.record",
    "Approve": "planner.command",
    "Campaign": "planner.campaign",
    "DoctrineDrafter": "planner.drafters",
    "LLMDrafter": "planner.drafters",
    "Pick": "planner.command",
    "Reweight": "planner.command",
    "Revise": "planner.command",
    "load_aar": "planner.record",
    "render_markdown": "planner.aar",
    "run_campaign": "planner.campaign",
    "write_aar": "planner.aar",
}


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'planner' has no attribute {name!r}")
