"""The `wargame` command line: validate, run campaigns, simulate scripted runs, search doctrine.

Bad input never shows a traceback: scenario problems print as ``file:line: field: message`` on
standard error and exit with code 2.
"""

from __future__ import annotations

import contextlib
import csv
import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from scenarios import list_scenarios, resolve_scenario
from sim.scenario import Scenario, ScenarioError, load_scenario

app = typer.Typer(
    help="OODA Forge: agentic OODA-loop wargaming with doctrine-grounded COAs.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
doctrine_app = typer.Typer(help="Search the doctrine corpus.", no_args_is_help=True)
app.add_typer(doctrine_app, name="doctrine")
err = Console(stderr=True)
out = Console()

EXIT_BAD_INPUT = 2


def _say_error(message: str) -> None:
    """Plain, unwrapped text on stderr, so file:line: field messages stay greppable."""
    print(message, file=sys.stderr)


def _load(name_or_path: str) -> Scenario:
    try:
        return load_scenario(resolve_scenario(name_or_path))
    except ScenarioError as error:
        _say_error(str(error))
        raise typer.Exit(EXIT_BAD_INPUT) from None


@app.command()
def schema() -> None:
    """Print the scenario JSON Schema."""
    print(json.dumps(Scenario.model_json_schema(by_alias=True), indent=2))


@app.command()
def validate(files: Annotated[list[str], typer.Argument(help="Scenario files or names.")]) -> None:
    """Validate scenario files; exit 2 if any is invalid."""
    failed = False
    for name in files:
        try:
            scenario = load_scenario(resolve_scenario(name))
        except ScenarioError as error:
            _say_error(str(error))
            failed = True
            continue
        out.print(
            f"{name}: ok ({len(scenario.places)} places, {len(scenario.routes)} routes, "
            f"{len(scenario.units)} units)",
            highlight=False,
        )
    if failed:
        raise typer.Exit(EXIT_BAD_INPUT)


@app.command("scenarios")
def scenarios_command() -> None:
    """List the shipped scenarios."""
    table = Table("name", "summary")
    for name, summary in list_scenarios():
        table.add_row(name, summary)
    out.print(table)


def _drafter(planner: str, base_url: str | None):
    from planner.drafters import DoctrineDrafter, LLMDrafter

    if planner == "doctrine":
        return DoctrineDrafter()
    try:
        return LLMDrafter(planner, base_url=base_url)
    except Exception as error:  # missing provider package or key: a clear message, exit 2
        _say_error(f"cannot start chat model {planner!r}: {type(error).__name__}: {error}")
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _index(doctrine_dirs: list[Path]):
    from doctrine import default_index

    for folder in doctrine_dirs:
        if not folder.is_dir():
            _say_error(f"--doctrine {folder}: not a folder")
            raise typer.Exit(EXIT_BAD_INPUT)
    return default_index(tuple(doctrine_dirs))


def _ask_commander(payload: dict) -> dict[str, str]:
    """Show each side's decision matrix and read the commander's choice."""
    answers = {}
    for side, plan in payload["plans"].items():
        table = Table(
            "COA", "name", "p(success)", "utility", title=f"Cycle {payload['cycle']}: {side}"
        )
        for row in plan["matrix"]:
            table.add_row(
                row["coa"], row["name"], f"{row['p_success']:.2f}", f"{row['utility']:.3f}"
            )
        err.print(table)
        choice = typer.prompt(
            f"{side}: approve {plan['selected_coa']} or type a COA id",
            default=plan["selected_coa"],
            err=True,
        )
        answers[side] = choice.strip()
    return answers


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name.")],
    seed: Annotated[int | None, typer.Option(help="Campaign seed (default: scenario's).")] = None,
    cycles: Annotated[int | None, typer.Option(min=1, help="Stop after N cycles.")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("out"),
    planner: Annotated[
        str, typer.Option(help="'doctrine' (offline) or a chat model, e.g. openai:gpt-4o-mini.")
    ] = "doctrine",
    base_url: Annotated[str | None, typer.Option(help="OpenAI-compatible server URL.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Processes for wargaming.")] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address (tcp://host:port) to run the wargames on a cluster, "
            "or 'local' for a local Dask cluster of --workers processes."
        ),
    ] = None,
    replications: Annotated[int | None, typer.Option(min=1, help="Per COA and enemy COA.")] = None,
    doctrine: Annotated[list[Path], typer.Option(help="Extra doctrine folder(s).")] = [],  # noqa: B006
    approve: Annotated[bool, typer.Option(help="Pause for the commander each cycle.")] = False,
    checkpoint: Annotated[Path | None, typer.Option(help="SQLite checkpoint (resumable).")] = None,
    report: Annotated[str, typer.Option(help="Extra formats: html,pdf or none.")] = "none",
) -> None:
    """Run OODA cycles on a scenario and write the after-action record (aar.json, aar.md)."""
    from planner.aar import write_aar
    from planner.campaign import run_campaign

    loaded = _load(scenario)
    drafter = _drafter(planner, base_url)
    index = _index(doctrine)
    total = cycles or int(loaded.settings.horizon_hours / loaded.settings.cycle_hours + 0.999)
    show = sys.stderr.isatty()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not show,
        transient=True,
    ) as bar:
        task = bar.add_task(f"{loaded.id}: cycle 1/{total}", total=total)

        def progress(node: str, update: dict) -> None:
            if node == "act":
                done = update.get("cycle", 0)
                bar.update(
                    task, completed=done, description=f"{loaded.id}: cycle {done + 1}/{total}"
                )
            else:
                bar.update(task, description=f"{loaded.id}: {node}")

        try:
            aar = run_campaign(
                loaded,
                seed=seed,
                cycles=cycles,
                drafter=drafter,
                index=index,
                workers=workers,
                scheduler=scheduler,
                replications=replications,
                approver=_ask_commander if approve else None,
                checkpoint=checkpoint,
                progress=progress,
            )
        except ImportError:
            _say_error("--scheduler needs the cluster extra: pip install 'ooda-forge[cluster]'")
            raise typer.Exit(2) from None
        except OSError as problem:  # scheduler unreachable (distributed raises OSError)
            _say_error(f"cannot reach the Dask scheduler {scheduler}: {problem}")
            raise typer.Exit(2) from None
    paths = write_aar(aar, out_dir)
    formats = [f for f in report.split(",") if f and f != "none"]
    if formats:
        from planner.report import write_reports

        paths.update(write_reports(aar, out_dir, scenario=loaded, formats=tuple(formats)))
    outcome = aar["outcome"]
    out.print(
        f"winner: {outcome['winner'] or 'none'} at H+{outcome['end_hour']:g}; "
        f"{aar['stats']['cycles']} cycles, {aar['stats']['replications']} replications, "
        f"{aar['stats']['wall_seconds']} s",
        highlight=False,
    )
    for kind, path in paths.items():
        out.print(f"AAR ({kind}): {path}", highlight=False)


@app.command()
def simulate(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name.")],
    replications: Annotated[int, typer.Option(min=1)] = 10,
    seed: Annotated[int | None, typer.Option()] = None,
    deterministic: Annotated[bool, typer.Option(help="Deterministic (ODE) attrition.")] = False,
    workers: Annotated[int, typer.Option(min=1)] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address (tcp://host:port) to run the replications on a "
            "cluster, or 'local' for a local Dask cluster of --workers processes."
        ),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out")] = Path("out"),
) -> None:
    """Run the scenario's scripted orders with no planner; write outcomes and timeline.csv."""
    from sim.runner import simulate as simulate_runs

    loaded = _load(scenario)
    try:
        runs = simulate_runs(
            loaded,
            replications=1 if deterministic else replications,
            seed=loaded.settings.seed if seed is None else seed,
            stochastic=not deterministic,
            workers=workers,
            scheduler=scheduler,
        )
    except ImportError:
        _say_error("--scheduler needs the cluster extra: pip install 'ooda-forge[cluster]'")
        raise typer.Exit(2) from None
    except OSError as err:  # scheduler unreachable (distributed raises OSError subclasses)
        _say_error(f"cannot reach the Dask scheduler {scheduler}: {err}")
        raise typer.Exit(2) from None
    out_dir.mkdir(parents=True, exist_ok=True)
    sides = [s.id for s in loaded.sides]
    with (out_dir / "replications.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["replication", "winner", "end_hour", "events"]
            + [f"{s}_strength" for s in sides]
            + [f"{s}_attainment" for s in sides]
            + [f"{s}_convoys_delivered" for s in sides]
            + [f"{s}_convoys_lost" for s in sides]
        )
        for run_ in runs:
            o = run_.outcome
            supply = run_.logistics
            writer.writerow(
                [run_.replication, o.winner or "", o.hour, run_.events]
                + [round(o.sides[s].strength, 4) for s in sides]
                + [round(o.sides[s].attainment, 4) for s in sides]
                + [supply[s]["delivered"] for s in sides]
                + [supply[s]["lost_to_ground"] + supply[s]["lost_to_air"] for s in sides]
            )
    with (out_dir / "timeline.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["hour", "unit", "side", "strength", "place"])
        writer.writerows(runs[0].timeline)
    wins = {s: sum(r.outcome.winner == s for r in runs) for s in sides}
    out.print(
        f"{len(runs)} replication(s); wins {wins}; wrote {out_dir}/replications.csv and "
        f"{out_dir}/timeline.csv",
        highlight=False,
    )


@doctrine_app.command("search")
def doctrine_search(
    query: Annotated[str, typer.Argument()],
    k: Annotated[int, typer.Option("-k", min=1, max=50)] = 5,
    topic: Annotated[str | None, typer.Option()] = None,
    domain: Annotated[str | None, typer.Option()] = None,
    doctrine: Annotated[list[Path], typer.Option(help="Extra doctrine folder(s).")] = [],  # noqa: B006
) -> None:
    """Find the doctrine passages that best answer a query."""
    index = _index(doctrine)
    try:
        hits = index.search(query, k=k, topic=topic, domain=domain)
    except ValueError as error:
        _say_error(str(error))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    table = Table("score", "id", "title", "reference")
    for hit in hits:
        table.add_row(f"{hit.score:.2f}", hit.id, hit.title, hit.reference)
    out.print(table)


@app.command()
def generate(
    units: Annotated[int, typer.Option(min=2)] = 100,
    places: Annotated[int, typer.Option(min=3)] = 50,
    seed: Annotated[int, typer.Option()] = 1,
    out_file: Annotated[Path, typer.Option("--out")] = Path("generated.yaml"),
) -> None:
    """Write a synthetic, valid scenario of any size on real geography."""
    from sim.generate import generate_scenario, write_scenario

    write_scenario(generate_scenario(units=units, places=places, seed=seed), out_file)
    out.print(f"wrote {out_file}", highlight=False)


@app.command("report")
def report_command(
    aar_json: Annotated[Path, typer.Argument(help="An aar.json written by `wargame run`.")],
    formats: Annotated[str, typer.Option(help="html,pdf")] = "html,pdf",
) -> None:
    """Render an aar.json as HTML and/or PDF next to it."""
    from planner.report import write_reports

    try:
        aar = json.loads(aar_json.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        _say_error(f"{aar_json}: cannot read AAR: {error}")
        raise typer.Exit(EXIT_BAD_INPUT) from None
    scenario = None
    with contextlib.suppress(ScenarioError, KeyError):  # without it: a report with no map
        scenario = load_scenario(resolve_scenario(aar["scenario"]["id"]))
    paths = write_reports(
        aar, aar_json.parent, scenario=scenario, formats=tuple(formats.split(","))
    )
    for kind, path in paths.items():
        out.print(f"{kind}: {path}", highlight=False)


def main() -> None:
    """Entry point for `python -m planner.cli`."""
    app()


if __name__ == "__main__":
    main()
