"""Step 4 of loading: validate the shape with the pydantic schema, errors located by line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from sim.loading.errors import Problem
from sim.loading.parse import Parsed
from sim.schema import Scenario

__all__ = ["pydantic_message", "validate_shape"]

#: Longest input echoed back in a message.
_SHOWN_CHARS = 60


def validate_shape(data: Any, parsed: Parsed, source: str) -> tuple[Scenario | None, list[Problem]]:
    """The scenario, or None and every schema problem as (``file:line: path``, message)."""
    try:
        return Scenario.model_validate(data), []
    except ValidationError as err:
        return None, [
            (parsed.locate(source, tuple(error["loc"])), pydantic_message(error))
            for error in err.errors()
        ]


def pydantic_message(error: Mapping[str, Any]) -> str:
    """One pydantic error as a short message, with the offending input when it is short."""
    message = str(error["msg"])
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if "input" in error and error["type"] != "missing":
        try:
            shown = repr(error["input"])
        except ValueError:  # an int too long to print
            return message
        if len(shown) <= _SHOWN_CHARS:
            message += f" (got {shown})"
    return message
