"""Console runs that last: one folder per run, stepped cycle by cycle (or phase by phase),
paused for the commander, reopened and resumed after a reload.

A run folder (under `runs_dir()`) holds `scenario.yaml` (the text the run was started from),
`run.json` (settings, the commanded sides, the commander's decisions, the cycles so far and
each side's perceived picture per cycle), `campaign.sqlite` (LangGraph checkpoints) and, once
finished, `aar.json`, `aar.md`, `aar.html` and `aar.pdf`, each rendered once.

`advance` runs the campaign from its checkpoint until the next pause: the next decision
(every cycle's approval step), or after one graph node when stepping by phase. It is built on
`planner.campaign.run_campaign`: the checkpoint and thread make each call resume where the
last stopped, so a page reload, a Stop or a crash loses at most the node in progress.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from planner.console_map import perceived_units
from planner.record import AfterActionRecord, CycleRecord, PlanRecord, load_aar
from sim.scenario import Scenario, parse_scenario

__all__ = [
    "ConsoleRun",
    "PhasePause",
    "RunSettings",
    "advance",
    "decide",
    "finish",
    "list_runs",
    "open_run",
    "quick_planning",
    "runs_dir",
    "start_run",
]

#: The LangGraph nodes of one OODA cycle, in order (the staff node runs once per side).
NODES = ("observe", "staff", "approve", "orders", "act")
#: Nodes after which stepping by phase may stop: each runs alone in its graph step, so the
#: checkpoint holds its result (stopping between the parallel staffs would lose the step).
PAUSE_AFTER = ("observe", "orders", "act")
REPORTS = {"json": "aar.json", "md": "aar.md", "html": "aar.html", "pdf": "aar.pdf"}


@dataclass(frozen=True)
class RunSettings:
    """A run's parameters (None: the scenario's own setting)."""

    seed: int | None = None
    cycles: int | None = None
    replications: int | None = None
    workers: int = 1
    model: str = ""
    base_url: str = ""
    doctrine_dir: str = ""
    command: tuple[str, ...] = ()  # sides the user commands: the campaign pauses for them
    weights: dict[str, float] | None = None
    quick: bool = False  # small planning budgets (one revision round of 2 replications)


class PhasePause(Exception):  # noqa: N818 - a signal, not a failure
    """Raised from the progress callback to stop after one node (step by phase)."""


class _Decide(Exception):  # noqa: N818 - a signal, not a failure
    """Raised by the approver: the commander has not decided this cycle yet."""

    def __init__(self, payload: dict[str, Any]):
        super().__init__(f"cycle {payload.get('cycle')} awaits the commander")
        self.payload = payload


@dataclass
class ConsoleRun:
    """One console run as saved in its folder's run.json."""

    id: str
    folder: str
    scenario_id: str
    settings: RunSettings
    started: str
    decisions: dict[str, dict[str, str]] = field(default_factory=dict)  # cycle -> side -> coa
    cycles: list[dict[str, Any]] = field(default_factory=list)  # CycleRecord dicts
    pictures: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    plans: dict[str, dict[str, Any]] = field(default_factory=dict)  # the open decision's
    pending: dict[str, Any] | None = None  # the approval payload the run waits on
    last_node: str = ""
    finished: bool = False
    error: str = ""

    @property
    def path(self) -> Path:
        """The run's folder."""
        return Path(self.folder)

    def scenario(self) -> Scenario:
        """The scenario the run was started from."""
        text = (self.path / "scenario.yaml").read_text(encoding="utf-8")
        scenario = parse_scenario(text, source=str(self.path / "scenario.yaml"))
        return quick_planning(scenario) if self.settings.quick else scenario

    def cycle_records(self) -> list[CycleRecord]:
        """The cycles played so far, as typed records."""
        return [CycleRecord.model_validate(c) for c in self.cycles]

    def open_plans(self) -> dict[str, PlanRecord]:
        """The plans of the decision the run is paused on (empty when not paused)."""
        return {side: PlanRecord.model_validate(plan) for side, plan in self.plans.items()}

    def aar(self) -> AfterActionRecord | None:
        """The finished run's after-action record."""
        path = self.path / REPORTS["json"]
        return load_aar(path) if path.exists() else None

    def report(self, fmt: str) -> bytes:
        """A rendered report's bytes (rendered once, when the run finished)."""
        return (self.path / REPORTS[fmt]).read_bytes()

    def save(self) -> None:
        """Write run.json."""
        data = asdict(self)
        (self.path / "run.json").write_text(json.dumps(data, indent=1), encoding="utf-8")


def quick_planning(scenario: Scenario) -> Scenario:
    """The scenario with a small revision budget (one round of 2 replications)."""
    planning = scenario.settings.planning.model_copy(
        update={"revision_replications": 2, "revision_rounds": 1}
    )
    settings = scenario.settings.model_copy(update={"planning": planning})
    return scenario.model_copy(update={"settings": settings})


def runs_dir() -> Path:
    """Where console runs are kept: $OODA_FORGE_RUNS, else ./runs."""
    return Path(os.environ.get("OODA_FORGE_RUNS", "runs")).expanduser()


def start_run(scenario_text: str, scenario: Scenario, settings: RunSettings) -> ConsoleRun:
    """A new run folder for `scenario`, with the scenario's text saved beside it."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    base = runs_dir()
    base.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9_-]+", "-", scenario.id)[:40] or "scenario"
    folder = base / f"{stamp}-{slug}"
    k = 1
    while folder.exists():
        k += 1
        folder = base / f"{stamp}-{slug}-{k}"
    folder.mkdir()
    (folder / "scenario.yaml").write_text(scenario_text, encoding="utf-8")
    run = ConsoleRun(
        id=folder.name,
        folder=str(folder),
        scenario_id=scenario.id,
        settings=settings,
        started=time.strftime("%Y-%m-%d %H:%M:%S"),
    )
    run.save()
    return run


def open_run(folder: str | Path) -> ConsoleRun:
    """A saved run from its folder.

    Raises:
        ValueError: the folder holds no readable run.json.
    """
    path = Path(folder) / "run.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        data["settings"] = RunSettings(
            **{**data["settings"], "command": tuple(data["settings"].get("command", ()))}
        )
        return ConsoleRun(**data)
    except (OSError, ValueError, TypeError, KeyError) as err:
        raise ValueError(f"{path}: not a console run: {err}") from None


def list_runs() -> list[ConsoleRun]:
    """Saved runs, newest first (folders that are not runs are skipped)."""
    base = runs_dir()
    if not base.is_dir():
        return []
    runs = []
    for folder in sorted(base.iterdir(), reverse=True):
        if (folder / "run.json").exists():
            try:
                runs.append(open_run(folder))
            except ValueError:
                continue
    return runs


def _record_update(run: ConsoleRun, scenario: Scenario, node: str, update: dict[str, Any]) -> None:
    """Keep what the page shows from one node's update: the plans being decided, the cycle
    record and each side's picture once the cycle has been acted."""
    run.last_node = node
    if update.get("plans"):
        run.plans.update(update["plans"])
    if node == "act":
        for record in update.get("history", []):
            run.cycles = [c for c in run.cycles if c["cycle"] != record["cycle"]] + [record]
            if update.get("world"):
                run.pictures[str(record["cycle"])] = {
                    side.id: [
                        asdict(p) for p in perceived_units(scenario, update["world"], side.id)
                    ]
                    for side in scenario.sides
                }
        run.plans = {}
        run.save()


def advance(
    run: ConsoleRun,
    *,
    until: Literal["phase", "cycle", "end"] = "cycle",
    drafter: Any = None,
    index: Any = None,
    progress: Callable[[str, dict[str, Any]], None] | None = None,
) -> ConsoleRun:
    """Run the campaign from its checkpoint to the next pause and save the run.

    The run pauses at every decision of a side the user commands that has no recorded
    answer (`decide`); sides the user does not command are approved as their staff selected.

    Args:
        until: "phase" stops after the next observe, orders or act step; "cycle" after the
            next act step (one OODA cycle); "end" only for the commander or the campaign's end.
        progress: also called as (node, update) after every node.
    """
    from planner.campaign import run_campaign

    scenario, settings = run.scenario(), run.settings
    run.error = ""

    def approver(payload: dict[str, Any]) -> dict[str, str]:
        cycle = str(payload.get("cycle", 0))
        if cycle in run.decisions:
            return run.decisions[cycle]
        if not set(payload.get("plans", {})) & set(settings.command):
            run.decisions[cycle] = {}
            return {}
        raise _Decide(payload)

    def on_node(node: str, update: dict[str, Any]) -> None:
        _record_update(run, scenario, node, update)
        if progress is not None:
            progress(node, update)
        stop = (until == "phase" and node in PAUSE_AFTER) or (until == "cycle" and node == "act")
        if stop and not update.get("done"):
            raise PhasePause(node)

    try:
        aar = run_campaign(
            scenario,
            seed=settings.seed,
            cycles=settings.cycles,
            drafter=drafter,
            index=index,
            workers=settings.workers,
            replications=settings.replications,
            approver=approver,
            checkpoint=run.path / "campaign.sqlite",
            thread_id="console",
            progress=on_node,
            weights=settings.weights,
        )
    except _Decide as pause:
        run.pending = pause.payload
        run.save()
        return run
    except PhasePause:
        run.save()
        return run
    run.pending, run.plans = None, {}
    finish(run, aar, scenario)
    return run


def decide(run: ConsoleRun, cycle: int, choices: dict[str, str]) -> None:
    """Record the commander's choice of COA per side for `cycle` (the next `advance` acts)."""
    run.decisions[str(cycle)] = dict(choices)
    run.pending = None
    run.save()


def finish(run: ConsoleRun, aar: AfterActionRecord, scenario: Scenario) -> None:
    """Write the AAR and render every report once into the run folder."""
    from planner.aar import render_markdown
    from planner.report import write_reports

    (run.path / REPORTS["json"]).write_text(aar.to_json(), encoding="utf-8")
    (run.path / REPORTS["md"]).write_text(render_markdown(aar), encoding="utf-8")
    write_reports(aar, run.path, scenario, formats=("html", "pdf"))
    run.cycles = [c.model_dump(mode="json") for c in aar.cycles]
    run.finished = True
    run.save()
