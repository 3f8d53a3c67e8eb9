"""Batch specs: the YAML format, its validation with located errors, and its expansion into runs.

A spec sweeps scenarios x override values (their Cartesian product: the parameter cells) x
seeds. It is validated like a scenario, in one pass that reports every problem as
``file:line: field.path: message``: the shape by pydantic, then every scenario loaded, every
override path checked against the scenario schema, and every cell's changed scenario validated
again in full. Example::

    name: tutorial-forces
    scenarios: [tutorial]             # shipped names, or paths relative to the spec's folder
    seeds: {count: 10, first: 1}      # or a list: [1, 2, 3]
    overrides:                        # dotted path -> values to sweep
      scale.red: [0.75, 1.0, 1.25]    # force scaling: every unit of a side
      settings.planning.coas: [2, 3]  # any scenario field (see planner.batch.overrides)
    fixed:                            # dotted path -> one value, set in every run (not swept)
      settings.planning.revision_replications: 0
    campaign: {cycles: 2, replications: 4}   # per-run budget (default: the scenario's)
    plot: {x: scale.red}              # x axis of the batch plots (default: first numeric path)
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from planner.batch.overrides import OverrideError, apply_overrides, check_path
from planner.batch.records import RunJob
from scenarios import resolve_scenario
from sim.loading import Limits, parse_yaml, pydantic_message, read_text
from sim.scenario import Scenario, ScenarioError, load_scenario

__all__ = ["BatchPlan", "BatchSpec", "Cell", "SpecError", "load_spec", "parse_spec"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class SeedRange(_Strict):
    """`count` consecutive seeds from `first`."""

    count: int = Field(ge=1, le=100_000)
    first: int = Field(default=1, ge=0)


class CampaignBudget(_Strict):
    """The planner's budget in every run."""

    cycles: int | None = Field(default=None, ge=1, description="Stop each run after N cycles.")
    replications: int | None = Field(
        default=None, ge=1, description="Wargame replications per COA (default: the scenario's)."
    )
    keep_aar: bool = Field(default=True, description="Write each run's aar.json under runs/.")


class PlotSettings(_Strict):
    """How the batch plots lay out the cells."""

    x: str | None = Field(default=None, description="Override path on the x axis.")


class BatchSpec(_Strict):
    """A batch: scenarios x overrides x seeds, and the budget of each run."""

    name: str = ""
    description: str = ""
    scenarios: list[Annotated[str, Field(min_length=1)]] = Field(min_length=1)
    seeds: list[Annotated[int, Field(ge=0)]] | SeedRange
    overrides: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(default_factory=dict)
    fixed: dict[str, Any] = Field(
        default_factory=dict,
        description="Dotted path -> one value set in every run (a budget, say); not swept, "
        "so not in the cell labels or plots.",
    )
    campaign: CampaignBudget = Field(default_factory=CampaignBudget)
    plot: PlotSettings = Field(default_factory=PlotSettings)

    @field_validator("seeds")
    @classmethod
    def _seeds_given(cls, seeds: list[int] | SeedRange) -> list[int] | SeedRange:
        if isinstance(seeds, list):
            if not seeds:
                raise ValueError("give at least one seed")
            if len(set(seeds)) != len(seeds):
                raise ValueError("seeds repeat")
        return seeds

    def seed_list(self) -> list[int]:
        """The seeds, in order."""
        if isinstance(self.seeds, SeedRange):
            return list(range(self.seeds.first, self.seeds.first + self.seeds.count))
        return list(self.seeds)


@dataclass(frozen=True)
class Cell:
    """One parameter cell: a scenario with one value of every override."""

    key: str  # canonical JSON of (scenario, overrides)
    scenario_ref: str
    overrides: dict[str, Any]
    scenario: Scenario = field(repr=False)

    @property
    def label(self) -> str:
        """Human-readable: ``tutorial scale.red=0.75 settings.planning.coas=2``."""
        values = " ".join(f"{path}={json.dumps(value)}" for path, value in self.overrides.items())
        return f"{self.scenario_ref} {values}".strip()


@dataclass
class BatchPlan:
    """A validated spec expanded: its cells and its runs (cells x seeds), in spec order."""

    spec: BatchSpec
    source: str
    text: str
    cells: list[Cell]
    runs: list[RunJob]


class SpecError(Exception):
    """A batch spec failed validation; `problems` holds (location, message) pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: invalid batch spec ({len(problems)} problem(s))"]
        lines += [f"  {where}: {message}" for where, message in problems]
        super().__init__("\n".join(lines))


def load_spec(path: str | Path, out_dir: str | Path | None = None) -> BatchPlan:
    """Read, validate and expand a batch spec file (scenario paths are relative to its folder).

    Args:
        out_dir: the batch's output folder; runs' AARs go under ``out_dir/runs``.

    Raises:
        SpecError: the file is missing, not YAML, or not a valid spec.
    """
    path = Path(path)
    try:
        text = read_text(path, Limits.from_env())
    except ScenarioError as err:
        raise SpecError(err.source, err.problems) from None
    return parse_spec(text, source=str(path), base=path.parent, out_dir=out_dir)


def parse_spec(
    text: str,
    source: str = "<spec>",
    *,
    base: Path | None = None,
    out_dir: str | Path | None = None,
) -> BatchPlan:
    """Validate and expand spec YAML text; `source` names it in error messages."""
    try:
        parsed = parse_yaml(text, source, Limits.from_env(), what="batch spec")
    except ScenarioError as err:
        raise SpecError(source, err.problems) from None

    def locate(path: tuple[Any, ...]) -> str:
        return parsed.locate(source, path)

    problems = [(locate(path), "duplicate key") for path in parsed.duplicates]
    try:
        spec = BatchSpec.model_validate(parsed.data)
    except ValidationError as err:
        problems += [(locate(tuple(e["loc"])), pydantic_message(e)) for e in err.errors()]
        raise SpecError(source, problems) from None
    found, scenarios = _check(spec, base or Path("."))
    problems += [(locate(path), message) for path, message in found]
    bad_paths = {path[1] for path, _ in found if path[0] in ("overrides", "fixed")}
    cells, more = _cells(spec, scenarios, skip=bad_paths)
    problems += [(locate(path), message) for path, message in more]
    if problems:
        raise SpecError(source, problems)
    runs = _runs(spec, cells, out_dir)
    if len({run.run_key for run in runs}) != len(runs):
        where = locate(("overrides",)) if spec.overrides else locate(("scenarios",))
        raise SpecError(source, [(where, "two cells give the same scenario (a run would repeat)")])
    return BatchPlan(spec=spec, source=source, text=text, cells=cells, runs=runs)


def _check(
    spec: BatchSpec, base: Path
) -> tuple[list[tuple[tuple[Any, ...], str]], dict[str, Scenario]]:
    """Problems the shape cannot show (scenarios that do not load, override paths not in the
    scenario schema, a plot axis that is not swept), and the scenarios that loaded."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    scenarios: dict[str, Scenario] = {}
    for i, ref in enumerate(spec.scenarios):
        candidate = base / ref
        target = candidate if candidate.suffix in (".yaml", ".yml") else resolve_scenario(ref)
        try:
            scenarios[ref] = load_scenario(target)
        except ScenarioError as err:
            where, message = err.problems[0]
            more = f" (and {len(err.problems) - 1} more)" if len(err.problems) > 1 else ""
            problems.append((("scenarios", i), f"cannot load {ref!r}: {where}: {message}{more}"))
    for section, paths in (("overrides", spec.overrides), ("fixed", spec.fixed)):
        for path in paths:
            try:
                check_path(path)
            except OverrideError as err:
                problems.append(((section, path), str(err)))
    for path in set(spec.fixed) & set(spec.overrides):
        problems.append((("fixed", path), "also swept under overrides; give it in one place"))
    if spec.plot.x is not None and spec.plot.x not in spec.overrides:
        problems.append((("plot", "x"), f"{spec.plot.x!r} is not one of the overrides"))
    return problems, scenarios


def _cells(
    spec: BatchSpec, scenarios: dict[str, Scenario], *, skip: set[str]
) -> tuple[list[Cell], list[tuple[tuple[Any, ...], str]]]:
    """Every (scenario, combination of override values), each validated in full; scenarios
    that did not load and override paths in `skip` (already reported) are left out."""
    paths = [path for path in spec.overrides if path not in skip]
    fixed = {path: value for path, value in spec.fixed.items() if path not in skip}
    cells, problems = [], []
    blamed: set[tuple[Any, ...]] = set()
    for ref in (r for r in spec.scenarios if r in scenarios):
        for values in itertools.product(*(spec.overrides[p] for p in paths)):
            overrides = dict(zip(paths, values, strict=True))
            try:
                changed = apply_overrides(scenarios[ref], {**fixed, **overrides})
            except OverrideError as err:
                where = _blame(scenarios[ref], spec, overrides)
                if where not in blamed:
                    blamed.add(where)
                    problems.append((where, f"in {ref}: {err}"))
                continue
            key = json.dumps({"scenario": ref, "overrides": overrides}, sort_keys=True)
            cells.append(Cell(key=key, scenario_ref=ref, overrides=overrides, scenario=changed))
    return cells, problems


def _blame(scenario: Scenario, spec: BatchSpec, overrides: dict[str, Any]) -> tuple[Any, ...]:
    """The spec location of the value that breaks a cell: the first one that fails alone."""
    for path, value in spec.fixed.items():
        try:
            apply_overrides(scenario, {path: value})
        except OverrideError:
            return ("fixed", path)
    for path, value in overrides.items():
        try:
            apply_overrides(scenario, {path: value})
        except OverrideError:
            return ("overrides", path, spec.overrides[path].index(value))
    return ("overrides",)  # only the combination fails


def _run_key(scenario: Scenario, seed: int, budget: CampaignBudget) -> str:
    """What a run's result depends on, hashed: the changed scenario, the seed, the budget."""
    content = {
        "scenario": scenario.model_dump(mode="json", by_alias=True),
        "seed": seed,
        "cycles": budget.cycles,
        "replications": budget.replications,
    }
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _runs(spec: BatchSpec, cells: list[Cell], out_dir: str | Path | None) -> list[RunJob]:
    runs = []
    for cell in cells:
        for seed in spec.seed_list():
            key = _run_key(cell.scenario, seed, spec.campaign)
            aar_dir = None
            if spec.campaign.keep_aar and out_dir is not None:
                aar_dir = str(Path(out_dir) / "runs" / key[:16])
            runs.append(
                RunJob(
                    run_key=key,
                    run_index=len(runs),
                    cell_key=cell.key,
                    scenario_ref=cell.scenario_ref,
                    overrides=cell.overrides,
                    seed=seed,
                    scenario=cell.scenario,
                    cycles=spec.campaign.cycles,
                    replications=spec.campaign.replications,
                    aar_dir=aar_dir,
                )
            )
    return runs
