"""The chat-model drafter: any LangChain chat model drafts structured COAs.

The reply is parsed into the same `COADraftSet` the doctrine schemes produce and validated like
theirs (planner.validation); it is never executed. A reply that does not parse raises, so the
caller falls back to the doctrine drafter with a note naming the error.
"""

from __future__ import annotations

from typing import Any

from planner.coa import COADraft, COADraftSet
from planner.context import DraftingContext
from planner.prompts import draft_messages

__all__ = ["LLMDrafter"]


class LLMDrafter:
    """Drafts COAs with any LangChain chat model through structured output.

    Args:
        model: a chat model instance, or a spec for `init_chat_model` such as
            "openai:gpt-4o-mini", "anthropic:claude-sonnet-4-5" or "ollama:llama3.1".
        base_url: for OpenAI-compatible servers (vLLM, llama.cpp, LM Studio).
    """

    def __init__(self, model: Any, base_url: str | None = None):
        if isinstance(model, str):
            from langchain.chat_models import init_chat_model

            kwargs = {"base_url": base_url} if base_url else {}
            model = init_chat_model(model, **kwargs)
        self.name = f"llm:{model.__class__.__name__}"
        self.model = model

    def draft(self, ctx: DraftingContext) -> list[COADraft]:
        """Ask the model for `ctx.count` COAs given the analysis and retrieved doctrine."""
        structured = self.model.with_structured_output(COADraftSet, method="function_calling")
        result = structured.invoke(draft_messages(ctx))
        if result is None:  # structured output gives None for a reply it cannot parse
            raise ValueError("the model's reply did not parse as a set of COAs")
        if isinstance(result, dict):
            result = COADraftSet.model_validate(result)
        return list(result.coas[: ctx.count])
