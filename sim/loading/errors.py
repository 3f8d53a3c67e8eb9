"""The loader's one error type and the limits that bound what loading a file may cost."""

from __future__ import annotations

import os
from dataclasses import dataclass

__all__ = ["Limits", "Problem", "ScenarioError"]

#: (where, message): ``file:line: field.path`` and what is wrong there.
Problem = tuple[str, str]


class ScenarioError(Exception):
    """A scenario failed validation; `problems` holds (location, message) pairs."""

    def __init__(self, source: str, problems: list[Problem]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: invalid scenario ({len(problems)} problem(s))"]
        lines += [f"  {where}: {message}" for where, message in problems]
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Limits:
    """What one scenario file may cost to load; past any limit it is refused with a message.

    The defaults are far above every shipped scenario (the largest, about 60 KB, has about
    9,000 YAML nodes nested 9 deep) and the largest generated one (20,000 units, about 5 MB
    and 700,000 nodes); aliases may add only `max_alias_nodes`, so a file's cost follows its
    size. `max_bytes` can be raised with the environment variable
    ``OODA_FORGE_MAX_SCENARIO_BYTES``.
    """

    max_bytes: int = 8 * 1024 * 1024
    #: Nesting of mappings and sequences, counting through aliases.
    max_depth: int = 64
    #: Nodes of the document, aliases expanded.
    max_nodes: int = 4_000_000
    #: Nodes that expanding aliases adds (a "billion laughs" file is stopped here).
    max_alias_nodes: int = 100_000
    #: Digits of an integer literal (Python refuses to convert more than 4,300).
    max_int_digits: int = 100

    @classmethod
    def from_env(cls) -> Limits:
        """The defaults, with `max_bytes` from ``OODA_FORGE_MAX_SCENARIO_BYTES`` if set."""
        raw = os.environ.get("OODA_FORGE_MAX_SCENARIO_BYTES", "").strip()
        return cls(max_bytes=int(raw)) if raw.isdigit() and int(raw) > 0 else cls()
