"""After-action record: build it from the loop's final state, write aar.json, aar.md, aar.geojson.

The record is built only from the loop's final state: cycles (analyses, COAs with scores,
selections, the act phase's event log), the outcome, the doctrine cited and run statistics,
then judged (`planner.assessment`). Plans and COAs pass through with every key the planner put
in them (see `planner.record` on extension points).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from doctrine import DoctrineIndex
from planner.assessment import assess
from planner.record import (
    AAR_VERSION,
    AfterActionRecord,
    CycleRecord,
    PlanRecord,
    SideInfo,
)
from planner.rundir import atomic_path
from planner.tracks import tracks_geojson
from sim.outcome import evaluate, logistics_summary
from sim.scenario import Scenario, Side
from sim.state import WorldState

__all__ = ["build_aar", "render_markdown", "write_aar", "write_atomic"]

MARKDOWN_TEMPLATE = "aar.md.j2"


def build_aar(
    scenario: Scenario,
    final: dict[str, Any],
    *,
    seed: int,
    planner: str,
    index: DoctrineIndex,
) -> AfterActionRecord:
    """Assemble the after-action record from the loop's final state."""
    world = WorldState.from_dict(final["world"])
    outcome = evaluate(scenario, world)
    history = final.get("history", [])
    cycles = [
        CycleRecord.model_validate(
            {
                **record,
                "plans": {side: _plan(plan) for side, plan in record["plans"].items()},
            }
        )
        for record in history
    ]
    cited = {c for cycle in cycles for plan in cycle.plans.values() for c in _citations(plan)}
    cited |= {
        pid for record in history for a in record["analyses"].values() for pid in a["doctrine"]
    }
    stats = final.get("stats", {})
    aar = AfterActionRecord(
        aar_version=AAR_VERSION,
        scenario={"id": scenario.id, "name": scenario.name, "summary": scenario.summary},
        seed=seed,
        planner=planner,
        sides=[_side(side) for side in scenario.sides],
        cycles=cycles,
        outcome={
            "winner": outcome.winner,
            "end_hour": world.hour,
            "surviving_strength": {k: round(r.strength, 3) for k, r in outcome.sides.items()},
            "initial_strength": {k: round(r.initial_strength, 3) for k, r in outcome.sides.items()},
            "objectives": {k: r.objectives for k, r in outcome.sides.items()},
            "attainment": {k: round(r.attainment, 4) for k, r in outcome.sides.items()},
            "control": world.control,
            "battles": world.battle_log,
            "logistics": logistics_summary(scenario, world),
        },
        doctrine_cited=[
            {"id": pid, "title": index.get(pid).title, "reference": index.get(pid).reference}
            for pid in sorted(cited)
            if pid in index
        ],
        stats={
            "events": int(stats.get("events", 0)),
            "replications": int(stats.get("replications", 0)),
            "cycles": len(cycles),
            # Planning and simulation time summed over every segment of a resumed run.
            "wall_seconds": round(stats.get("seconds", 0.0), 3),
        },
    )
    aar.assessment = assess(aar, scenario)
    return aar


def _plan(plan: dict[str, Any]) -> PlanRecord:
    """A plan from the loop's state, every key kept; the matrix is `decision_matrix` here."""
    data = {key: value for key, value in plan.items() if key != "matrix"}
    data["decision_matrix"] = plan.get("matrix", [])
    data["coas"] = [
        {**coa, "summary": f"{coa['name']}: {coa.get('concept', '')}"} for coa in plan["coas"]
    ]
    return PlanRecord.model_validate(data)


def _citations(plan: PlanRecord) -> set[str]:
    return {c for coa in plan.coas for task in coa.tasks for c in task.citations}


def _side(side: Side) -> SideInfo:
    return SideInfo(
        id=side.id,
        name=side.name,
        planner=side.planner,
        max_loss_fraction=side.mission.constraints.max_loss_fraction,
        objectives=[o.model_dump() for o in side.mission.objectives],
    )


# --- Markdown --------------------------------------------------------------------------------


def _md(value: Any) -> str:
    """Any value printed into the Markdown report, made inert: no table breaks, no raw HTML."""
    return str(value).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


@cache
def _markdown_environment() -> Environment:
    # Every {{ }} goes through `_md` (finalize), so scenario or model text can neither break a
    # table nor smuggle HTML into a Markdown renderer.
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=False,
        finalize=_md,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_markdown(aar: AfterActionRecord) -> str:
    """The after-action report as Markdown (planner/templates/aar.md.j2)."""
    template = _markdown_environment().get_template(MARKDOWN_TEMPLATE)
    any_convoys = any(row.sent for row in aar.outcome.logistics.values())
    return template.render(aar=aar, any_convoys=any_convoys)


# --- files -----------------------------------------------------------------------------------


def write_atomic(path: Path, text: str) -> Path:
    """Write `text` to `path` through a temporary file and a rename: never half a file."""
    path = Path(path)
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return path


def write_aar(
    aar: AfterActionRecord, out_dir: Path, scenario: Scenario | None = None
) -> dict[str, Path]:
    """Write aar.json and aar.md into `out_dir`, and with the scenario (for coordinates)
    aar.geojson of unit tracks and battles; returns their paths."""
    out_dir = Path(out_dir)
    paths = {
        "json": write_atomic(out_dir / "aar.json", aar.to_json()),
        "md": write_atomic(out_dir / "aar.md", render_markdown(aar)),
    }
    if scenario is not None:
        geojson = json.dumps(tracks_geojson(aar, scenario), indent=1, sort_keys=True)
        paths["geojson"] = write_atomic(out_dir / "aar.geojson", geojson)
    return paths
