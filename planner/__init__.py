"""The planner: LangGraph OODA loop, COA drafters, wargaming, after-action records, CLI."""

from planner.aar import render_markdown, write_aar
from planner.campaign import run_campaign
from planner.drafters import DoctrineDrafter, LLMDrafter

__all__ = ["DoctrineDrafter", "LLMDrafter", "render_markdown", "run_campaign", "write_aar"]
