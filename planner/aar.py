"""After-action record: the JSON a staff hands over, and its Markdown rendering.

The record is built only from the loop's final state: cycles (analyses, COAs with scores,
selections), the outcome, the doctrine cited and run statistics.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from doctrine import DoctrineIndex
from sim.outcome import evaluate, logistics_summary
from sim.scenario import Scenario
from sim.state import WorldState

__all__ = ["build_aar", "render_markdown", "write_aar"]

AAR_VERSION = 1


def build_aar(
    scenario: Scenario,
    final: dict[str, Any],
    *,
    seed: int,
    planner: str,
    index: DoctrineIndex,
) -> dict[str, Any]:
    """Assemble the after-action record from the loop's final state."""
    world = WorldState.from_dict(final["world"])
    outcome = evaluate(scenario, world)
    cycles = []
    cited: set[str] = set()
    for record in final.get("history", []):
        plans = {}
        for side, plan in record["plans"].items():
            coas = []
            for coa in plan["coas"]:
                for task in coa["tasks"]:
                    cited.update(task["citations"])
                coas.append({**coa, "summary": f"{coa['name']}: {coa['concept']}"})
            plans[side] = {
                "coas": coas,
                "selected_coa": plan["selected_coa"],
                "selected_by": plan.get("selected_by", "planner"),
                "decision_matrix": plan["matrix"],
                "selection": plan.get("selection"),
                "notes": plan["notes"],
                "weights": plan.get("weights", {}),
                "orders": plan.get("orders"),
            }
        cycles.append(
            {
                "cycle": record["cycle"],
                "start_hour": record["start_hour"],
                "end_hour": record["end_hour"],
                "analyses": record["analyses"],
                "plans": plans,
                "situation": record["situation"],
                "events": record["events"],
            }
        )
    for record in final.get("history", []):
        for analysis in record["analyses"].values():
            cited.update(analysis["doctrine"])
    stats = final.get("stats", {})
    return {
        "aar_version": AAR_VERSION,
        "scenario": {"id": scenario.id, "name": scenario.name, "summary": scenario.summary},
        "seed": seed,
        "planner": planner,
        "sides": [{"id": s.id, "name": s.name, "planner": s.planner} for s in scenario.sides],
        "cycles": cycles,
        "outcome": {
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
        "doctrine_cited": [
            {
                "id": pid,
                "title": index.get(pid).title,
                "reference": index.get(pid).reference,
            }
            for pid in sorted(cited)
            if pid in index
        ],
        "stats": {
            "events": int(stats.get("events", 0)),
            "replications": int(stats.get("replications", 0)),
            "cycles": len(cycles),
            # Planning and simulation time summed over every segment of a resumed run.
            "wall_seconds": round(stats.get("seconds", 0.0), 3),
        },
    }


def _pct(value: float) -> str:
    return f"{100 * value:.0f}%"


def _md(text: Any) -> str:
    """Scenario- or model-supplied text made safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ").replace("<", "&lt;")


def _selection_line(selection: dict[str, Any]) -> str:
    """One decision's selection procedure, budget, stopping reason and guarantee."""
    runs = ", ".join(f"{coa} {n}" for coa, n in selection["replications"].items())
    eliminated = ", ".join(selection["eliminated"]) or "none"
    return (
        f"Selection: {selection['procedure']} ({selection['reference']}); replications per "
        f"COA: {_md(runs)}; eliminated: {_md(eliminated)}; stopped: {selection['stopped']}; "
        f"guarantee: {selection['guarantee']}."
    )


def render_markdown(aar: dict[str, Any]) -> str:
    """The after-action report as Markdown."""
    out = [f"# After-action report: {_md(aar['scenario']['name'] or aar['scenario']['id'])}", ""]
    outcome = aar["outcome"]
    out += [
        f"- Scenario: `{aar['scenario']['id']}` — {_md(aar['scenario']['summary'])}",
        f"- Seed: {aar['seed']}; planner: {aar['planner']}",
        f"- Winner: **{outcome['winner'] or 'none'}** at H+{outcome['end_hour']:g}",
        "",
        "## Outcome",
        "",
        "| Side | Initial | Surviving | Objectives achieved |",
        "|---|---|---|---|",
    ]
    for side, surviving in outcome["surviving_strength"].items():
        achieved = outcome["objectives"][side]
        got = ", ".join(k for k, ok in achieved.items() if ok) or "none"
        out.append(
            f"| {side} | {outcome['initial_strength'][side]:g} | {surviving:g} | "
            f"{_md(got)} ({sum(achieved.values())}/{len(achieved)}) |"
        )
    logistics = outcome.get("logistics", {})
    if any(row["sent"] for row in logistics.values()):
        out += [
            "",
            "## Logistics",
            "",
            "| Side | Convoys sent | Delivered | Lost to ground | Lost to air | Loads delivered |",
            "|---|---|---|---|---|---|",
        ]
        out += [
            f"| {side} | {row['sent']} | {row['delivered']} | {row['lost_to_ground']} | "
            f"{row['lost_to_air']} | {row['loads_delivered']:g} |"
            for side, row in logistics.items()
        ]
    for cycle in aar["cycles"]:
        out += [
            "",
            f"## Cycle {cycle['cycle']} (H+{cycle['start_hour']:g} to H+{cycle['end_hour']:g})",
        ]
        for side, plan in cycle["plans"].items():
            out += [
                "",
                f"### {side}: selected {plan['selected_coa']} ({plan['selected_by']})",
                "",
                "| COA | p(success) [95% CI] | losses own / enemy | utility | runs |",
                "|---|---|---|---|---|",
            ]
            for coa in plan["coas"]:
                scores = coa["scores"]
                if not scores:
                    out.append(f"| {coa['id']} {_md(coa['name'])} | screened out | | | |")
                    continue
                low, high = scores["p_success_ci95"]
                own, enemy = (scores["losses"][k] for k in scores["losses"])
                out.append(
                    f"| {coa['id']} {_md(coa['name'])} | {scores['p_success']:.2f} "
                    f"[{low:.2f}, {high:.2f}] | {_pct(own)} / {_pct(enemy)} | "
                    f"{scores['utility']:.3f} | {scores['replications']} |"
                )
            if plan.get("selection"):
                out += ["", _selection_line(plan["selection"])]
            chosen = next((c for c in plan["coas"] if c["id"] == plan["selected_coa"]), None)
            if chosen:
                out += _chosen_markdown(chosen, plan.get("orders"))
            out += [f"- Note: {_md(note)}" for note in plan["notes"]]
    out += ["", "## Doctrine cited", ""]
    out += [
        f"- `{d['id']}` {_md(d['title'])} — {_md(d['reference'])}" for d in aar["doctrine_cited"]
    ]
    stats = aar["stats"]
    out += [
        "",
        "## Run statistics",
        "",
        f"{stats['cycles']} cycles, {stats['events']} engine events (ground truth), "
        f"{stats['replications']} wargame replications, {stats['wall_seconds']} s wall time.",
        "",
    ]
    return "\n".join(out)


def _chosen_markdown(chosen: dict[str, Any], orders: dict[str, Any] | None) -> list[str]:
    """The selected COA: its revisions, orders (paragraph 3, synchronisation) and tasks."""
    out = [""]
    out += [
        f"- Revision: {_md(r['change'])} (utility {r['utility_before']:.3f} to "
        f"{r['utility_after']:.3f}, {r['replications']} runs each)"
        for r in chosen.get("revisions", [])
    ]
    if orders:
        out += ["", f"#### Orders of {chosen['id']}: paragraph 3, execution", ""]
        out += [f"Concept of operations. {_md(orders['concept_of_operations'])}", ""]
        out += ["Tasks to subordinate units:", ""]
        out += [
            f"- {_md(sub['name'])}: {_md('; '.join(sub['tasks']))}"
            for sub in orders["tasks_to_subordinates"]
        ]
        out += ["", f"Reserve. {_md(orders['reserve'])}", "", "Coordinating instructions:", ""]
        out += [f"- {_md(line)}" for line in orders["coordinating_instructions"]]
        out += ["", "| Synchronisation | " + " | ".join(_md(c) for c in orders["columns"]) + " |"]
        out += ["|---|" + "---|" * len(orders["columns"])]
        out += [
            f"| {_md(row['row'])} | " + " | ".join(_md(c) for c in row["cells"]) + " |"
            for row in orders["synchronisation"]
        ]
    out += ["", f"Tasks of {chosen['id']}:", ""]
    out += [
        f"- {t['unit']}, phase {t.get('phase', 1)} from H+{t.get('at_hour', 0):g}: "
        f"{t['action']} {t['target'] or ''} — {_md(t['purpose'])} [{', '.join(t['citations'])}]"
        for t in chosen["tasks"]
        if not t.get("continued")
    ]
    return out


def write_aar(aar: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write aar.json and aar.md into `out_dir`; returns their paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "aar.json", "md": out_dir / "aar.md"}
    paths["json"].write_text(json.dumps(aar, indent=2, sort_keys=True), encoding="utf-8")
    paths["md"].write_text(render_markdown(aar), encoding="utf-8")
    return paths
