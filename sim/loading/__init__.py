"""Loading a scenario, one step per module: read → parse → defaults → validate → references.

`load_scenario` reads the file as bytes within a size limit and decodes it (`read`), parses the
YAML safely with the line of every field and bounded aliases (`parse`), merges the unit-type
catalogue (`defaults`), validates the shape with the pydantic schema (`validate`) and then the
references between records (`references`). Every problem of a step is reported at once, as one
`ScenarioError` listing ``file:line: field.path: message``.
"""

from __future__ import annotations

from pathlib import Path

from sim.loading.defaults import fill_defaults
from sim.loading.errors import Limits, Problem, ScenarioError
from sim.loading.parse import Parsed, parse_yaml
from sim.loading.read import check_size, decode, read_bytes
from sim.loading.references import reference_problems
from sim.loading.validate import pydantic_message, validate_shape
from sim.schema import Scenario

__all__ = [
    "Limits",
    "Parsed",
    "ScenarioError",
    "load_scenario",
    "parse_scenario",
    "parse_yaml",
    "pydantic_message",
    "read_text",
]


def load_scenario(path: str | Path, *, limits: Limits | None = None) -> Scenario:
    """Read, parse and validate a scenario file.

    Raises:
        ScenarioError: the file is missing, too large, not text, not YAML, or not a valid
            scenario.
    """
    path = Path(path)
    limits = limits or Limits.from_env()
    return parse_scenario(read_text(path, limits), source=str(path), limits=limits)


def read_text(path: Path, limits: Limits) -> str:
    """A YAML file's text, read within the size limit and decoded (`ScenarioError` if not)."""
    return decode(read_bytes(path, limits), str(path))


def parse_scenario(
    text: str, source: str = "<string>", *, limits: Limits | None = None
) -> Scenario:
    """Parse and validate scenario YAML text; `source` names it in error messages."""
    limits = limits or Limits.from_env()
    check_size(text, source, limits)
    parsed = parse_yaml(text, source, limits)
    problems: list[Problem] = [
        (parsed.locate(source, p), "duplicate key") for p in parsed.duplicates
    ]
    scenario, shape_problems = validate_shape(fill_defaults(parsed.data), parsed, source)
    problems += shape_problems
    if scenario is not None:
        problems += [(parsed.locate(source, p), m) for p, m in reference_problems(scenario)]
    if problems:
        raise ScenarioError(source, problems)
    return scenario  # type: ignore[return-value]  # None only with problems
