"""Console runs that last: one folder per run, stepped cycle by cycle (or phase by phase),
paused for the commander, reopened and resumed after a reload.

A run folder (under `runs_dir()`) holds `scenario.yaml` (the text the run was started from),
`run.json` (settings, the commanded sides, the commander's decisions, the cycles so far and
each side's perceived picture per cycle), `campaign.sqlite` (LangGraph checkpoints) and, once
finished, `aar.json`, `aar.md`, `aar.html` and `aar.pdf`, each rendered once.

`advance` opens the run's `planner.campaign.Campaign` from its checkpoint, gives it the
commander's decisions, steps it by phase, by cycle or to the end (stopping early for a side
the user commands) and closes it: each call resumes where the last stopped, so a page
reload, a Stop or a crash loses at most the step in progress.
"""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from planner.command import Approve, Pause, Pick, Revise, Reweight
from planner.console_map import perceived_units
from planner.record import AfterActionRecord, CycleRecord, load_aar
from sim.scenario import Scenario, parse_scenario

Decision = Approve | Pick | Reweight | Revise

__all__ = [
    "ConsoleRun",
    "RunSettings",
    "advance",
    "finish",
    "list_runs",
    "open_run",
    "quick_planning",
    "runs_dir",
    "start_run",
]

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


@dataclass
class ConsoleRun:
    """One console run as saved in its folder's run.json."""

    id: str
    folder: str
    scenario_id: str
    settings: RunSettings
    started: str
    decisions: dict[str, dict[str, str]] = field(default_factory=dict)  # cycle -> side -> kind
    cycles: list[dict[str, Any]] = field(default_factory=list)  # CycleRecord dicts
    pictures: dict[str, dict[str, list[dict[str, Any]]]] = field(default_factory=dict)
    pending: dict[str, Any] | None = None  # planner.command.Pause the run waits on
    hour: float = 0.0
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

    def pause(self) -> Pause | None:
        """The commander's pause the run waits on (None: not paused)."""
        return Pause.model_validate(self.pending) if self.pending else None

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


def _record_picture(run: ConsoleRun, scenario: Scenario, node: str, update: dict[str, Any]) -> None:
    """After an act step: each side's perceived picture of the world it left."""
    if node != "act" or not update.get("world"):
        return
    for record in update.get("history", []):
        run.pictures[str(record["cycle"])] = {
            side.id: [asdict(p) for p in perceived_units(scenario, update["world"], side.id)]
            for side in scenario.sides
        }


def advance(
    run: ConsoleRun,
    *,
    until: Literal["phase", "cycle", "end"] = "cycle",
    decisions: Sequence[Decision] = (),
    drafter: Any = None,
    index: Any = None,
    progress: Callable[[str, dict[str, Any]], None] | None = None,
) -> ConsoleRun:
    """Give the commander's `decisions` (if the run is paused) and run the campaign from its
    checkpoint to the next pause (`planner.campaign.Campaign.step`); save the run.

    Args:
        until: "phase" stops after the next observe, staff, orders or act step; "cycle" after
            the next act step; "end" at the end. Any of them stops early when a side the user
            commands awaits a decision (`run.pending`).
        decisions: Approve, Pick, Reweight or Revise per awaiting side.
        progress: also called as (node, update) after every node.

    Raises:
        ValueError: a decision that cannot apply (the message says why).
    """
    from planner.campaign import Campaign

    scenario, settings = run.scenario(), run.settings

    def on_node(node: str, update: dict[str, Any]) -> None:
        run.last_node = node
        _record_picture(run, scenario, node, update)
        if progress is not None:
            progress(node, update)

    campaign = Campaign.start(
        scenario,
        seed=settings.seed,
        command=list(settings.command),
        checkpoint=run.path / "campaign.sqlite",
        thread_id="console",
        cycles=settings.cycles,
        drafter=drafter,
        index=index,
        workers=settings.workers,
        replications=settings.replications,
        weights=settings.weights,
        progress=on_node,
    )
    try:
        for decision in decisions:
            campaign.decide(decision)
        if decisions:
            run.decisions.setdefault(str(run.pending["cycle"] if run.pending else 0), {}).update(
                {d.side: d.kind for d in decisions}
            )
        run.error = ""
        status = campaign.step(until)
        record = campaign.aar()
        run.cycles = [c.model_dump(mode="json") for c in record.cycles]
        run.pending = status.pause.model_dump(mode="json") if status.pause else None
        run.hour = status.hour
        run.save()
        if status.finished and not run.finished:
            finish(run, record, scenario)
    finally:
        campaign.close()
    return run


def finish(run: ConsoleRun, aar: AfterActionRecord, scenario: Scenario) -> None:
    """Write the AAR and render every report once into the run folder."""
    from planner.aar import render_markdown
    from planner.report import write_reports

    (run.path / REPORTS["json"]).write_text(aar.to_json(), encoding="utf-8")
    (run.path / REPORTS["md"]).write_text(render_markdown(aar), encoding="utf-8")
    write_reports(aar, run.path, scenario, formats=("html", "pdf"))
    run.cycles = [c.model_dump(mode="json") for c in aar.cycles]
    run.finished, run.pending = True, None
    run.save()
