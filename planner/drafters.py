"""COA drafters: who drafts a side's courses of action, behind one interface.

The offline `DoctrineDrafter` (planner.schemes) needs no model; the `LLMDrafter` (planner.llm)
asks any LangChain chat model. Both return `COADraft`s that planner.validation checks alike.
"""

from __future__ import annotations

from typing import Protocol

from planner.coa import COADraft
from planner.context import DraftingContext
from planner.llm import LLMDrafter
from planner.schemes import DoctrineDrafter
from planner.validation import finalize_drafts

__all__ = ["DoctrineDrafter", "Drafter", "LLMDrafter", "finalize_drafts"]


class Drafter(Protocol):
    """Anything that drafts COAs for a side."""

    name: str

    def draft(self, ctx: DraftingContext) -> list[COADraft]:
        """Return up to `ctx.count` COA drafts."""
        ...
