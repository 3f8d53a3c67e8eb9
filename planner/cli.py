"""The `wargame` command line: validate, run campaigns, simulate scripted runs, search doctrine.

Bad input never shows a traceback: scenario problems print as ``file:line: field: message`` on
standard error and exit with code 2.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Column, Table

from planner.cli_checks import (
    OptionError,
    check_checkpoint,
    check_out_file,
    check_out_folder,
    check_scheduler,
)
from planner.rundir import exit_on_sigterm, run_folder
from scenarios import list_scenarios, resolve_scenario
from sim.engine import EventBudgetExceeded
from sim.generate import MAX_PLACES, MAX_UNITS
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


@contextlib.contextmanager
def _checked_options() -> Iterator[None]:
    """Option checks made before any work: a bad option is one line on stderr, exit 2."""
    try:
        yield
    except OptionError as problem:
        _say_error(str(problem))
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _load(name_or_path: str) -> Scenario:
    try:
        return load_scenario(resolve_scenario(name_or_path))
    except ScenarioError as error:
        _say_error(str(error))
        raise typer.Exit(EXIT_BAD_INPUT) from None


@app.command()
def schema(
    aar: Annotated[
        bool, typer.Option("--aar", help="The after-action record's schema (aar.json) instead.")
    ] = False,
) -> None:
    """Print the scenario JSON Schema (or, with --aar, the after-action record's)."""
    if aar:
        from planner.record import AfterActionRecord

        print(json.dumps(AfterActionRecord.model_json_schema(), indent=2))
        return
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


def _drafter(planner: str, base_url: str | None, timeout_s: float, recorder=None):
    from planner.drafters import DoctrineDrafter, LLMDrafter

    if planner == "doctrine":
        return DoctrineDrafter()
    try:
        return LLMDrafter(planner, base_url=base_url, timeout_s=timeout_s, recorder=recorder)
    except Exception as error:  # missing provider package or key: a clear message, exit 2
        _say_error(f"cannot start chat model {planner!r}: {type(error).__name__}: {error}")
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _drafters(
    scenario: Scenario,
    specs: dict[str, tuple[str, str | None]],
    recorder=None,
) -> dict:
    """Each planning side's drafter: `specs` maps "friendly" and "adversary" doctrine to a
    planner spec and its base URL."""
    timeout_s = scenario.settings.planning.llm_timeout_s
    built: dict[str, object] = {}
    drafters = {}
    for side in scenario.sides:
        if side.planner != "agent":
            continue
        spec, base_url = specs[side.doctrine]
        if (spec, base_url) not in built:
            built[(spec, base_url)] = _drafter(spec, base_url, timeout_s, recorder)
        drafters[side.id] = built[(spec, base_url)]
    return drafters


def _header(scenario: str, drafters: dict, options: dict):
    """The first line of a --record run's model_calls.jsonl: what a replay needs."""
    from planner.drafters import LLMDrafter
    from planner.replay import PlannerSpec, RunHeader

    return RunHeader(
        scenario_yaml=resolve_scenario(scenario).read_text(encoding="utf-8"),
        planners={
            side: PlannerSpec(spec=d.spec, name=d.name)
            for side, d in drafters.items()
            if isinstance(d, LLMDrafter)
        },
        **options,
    )


def _index(doctrine_dirs: list[Path]):
    from doctrine import default_index

    for folder in doctrine_dirs:
        if not folder.is_dir():
            _say_error(f"--doctrine {folder}: not a folder")
            raise typer.Exit(EXIT_BAD_INPUT)
    return default_index(tuple(doctrine_dirs))


def _weights(text: str) -> dict[str, float]:
    """Parse --weights; a bad criterion or number is a one-line error and exit 2."""
    from sim.scenario import PlanningSettings

    pairs = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, _, value = item.partition("=")
        try:
            pairs[name.strip()] = float(value)
        except ValueError:
            _say_error(f"--weights: {item!r} is not criterion=number")
            raise typer.Exit(EXIT_BAD_INPUT) from None
    try:
        return PlanningSettings(weights=pairs).weights
    except ValueError as error:
        problem = error.errors()[0] if hasattr(error, "errors") else {"msg": str(error)}
        _say_error(f"--weights: {problem['msg']} ({text})")
        raise typer.Exit(EXIT_BAD_INPUT) from None


def _ask_commander(pending):
    """Show a commanded side's decision matrix and read the commander's decision from
    standard input (again, with the reason, when it was refused)."""
    from planner.command import parse_decision

    if pending.error:
        _say_error(f"refused: {pending.error}")
    else:
        table = Table(
            "COA",
            "name",
            "p(success) [95% CI]",
            "own losses",
            "utility",
            "note",
            title=f"Cycle {pending.cycle}, H+{pending.hour:g}: {pending.side}",
        )
        ci = {c["id"]: c.get("scores", {}).get("p_success_ci95") for c in pending.coas}
        for row in pending.matrix:
            low, high = ci.get(row["coa"]) or (row["p_success"], row["p_success"])
            note = "eliminated" if row["eliminated"] else ("" if row["acceptable"] else "losses")
            table.add_row(
                row["coa"] + (" *" if row["coa"] == pending.selected_coa else ""),
                row["name"],
                f"{row['p_success']:.2f} [{low:.2f}, {high:.2f}]",
                f"{1 - row['own_survival']:.1%}",
                f"{row['utility']:.3f}",
                note,
            )
        err.print(table)
        shown = ", ".join(f"{k}={v:.2f}" for k, v in pending.weights.items())
        err.print(f"weights: {shown}", highlight=False)
    while True:
        try:
            text = typer.prompt(
                f"{pending.side}: approve {pending.selected_coa} | pick ID | "
                "weights k=v,... | revise GUIDANCE",
                default="approve",
                err=True,
            )
        except typer.Abort:  # standard input closed
            _say_error(f"no decision for {pending.side}: standard input closed")
            raise typer.Exit(EXIT_BAD_INPUT) from None
        try:
            return parse_decision(pending.side, text)
        except ValueError as problem:
            _say_error(str(problem))


def _command(scenario: Scenario, command: str | None, approve: bool) -> frozenset[str]:
    """The commanded sides: --command, else the first agent side with --approve, else none."""
    from planner.command import commanded_sides

    try:
        return commanded_sides(
            scenario, command if command is not None else None if approve else "none"
        )
    except ValueError as problem:
        _say_error(f"--command: {problem}")
        raise typer.Exit(EXIT_BAD_INPUT) from None


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name.")],
    seed: Annotated[int | None, typer.Option(help="Campaign seed (default: scenario's).")] = None,
    cycles: Annotated[int | None, typer.Option(min=1, help="Stop after N cycles.")] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("out"),
    planner: Annotated[
        str,
        typer.Option(
            help="Who plans Blue (the sides of friendly doctrine): 'doctrine' (offline) or a "
            "chat model, e.g. openai:gpt-4o-mini, anthropic:claude-sonnet-4-5, ollama:llama3.1."
        ),
    ] = "doctrine",
    base_url: Annotated[
        str | None,
        typer.Option(help="Server of --planner's model (an OpenAI-compatible server, Ollama)."),
    ] = None,
    red_planner: Annotated[
        str,
        typer.Option(
            help="Who plans Red (the sides of adversary doctrine): 'doctrine' or a chat model."
        ),
    ] = "doctrine",
    red_base_url: Annotated[
        str | None, typer.Option(help="Server of --red-planner's model.")
    ] = None,
    record: Annotated[
        bool,
        typer.Option(
            help="Write every model request and reply to --out/model_calls.jsonl "
            "(replay it with `wargame replay`)."
        ),
    ] = False,
    workers: Annotated[int, typer.Option(min=1, help="Processes for wargaming.")] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address (tcp://host:port) to run the wargames on a cluster, "
            "or 'local' for a local Dask cluster of --workers processes."
        ),
    ] = None,
    replications: Annotated[
        int | None,
        typer.Option(min=1, help="Cap per COA (selection sizes the budget below it)."),
    ] = None,
    doctrine: Annotated[list[Path], typer.Option(help="Extra doctrine folder(s).")] = [],  # noqa: B006
    command: Annotated[
        str | None,
        typer.Option(
            help="Sides you command, e.g. blue or blue,red, or none (default: none; with "
            "--approve, the first agent side). At each of their decisions you approve, pick "
            "another COA, set the weights or send the staff back to revise (read from stdin)."
        ),
    ] = None,
    approve: Annotated[
        bool, typer.Option(help="Command the first agent side (as --command <that side>).")
    ] = False,
    checkpoint: Annotated[
        Path | None,
        typer.Option(
            help="SQLite checkpoint (folder created): an unfinished run there is resumed, a "
            "finished one is not played again."
        ),
    ] = None,
    report: Annotated[str, typer.Option(help="Extra formats: html,pdf or none.")] = "none",
    weights: Annotated[
        str | None,
        typer.Option(
            help="Decision-matrix weights, e.g. p_success=0.5,attainment=0.3,own_survival=0.2 "
            "(criteria: p_success, attainment, own_survival, enemy_loss; default: the "
            "scenario's planning.weights)."
        ),
    ] = None,
) -> None:
    """Run OODA cycles on a scenario and write the after-action record (aar.json, aar.md)."""
    from planner.campaign import Campaign, CheckpointError, decision_steps
    from planner.llm import RunStopped

    with _checked_options():
        check_out_folder(out_dir)
        check_checkpoint(checkpoint)
        check_scheduler(scheduler)
    exit_on_sigterm()
    loaded = _load(scenario)
    commanded = _command(loaded, command, approve)
    matrix_weights = _weights(weights) if weights is not None else None
    formats = _formats(report, allowed=("html", "pdf"), none_ok=True)
    index = _index(doctrine)
    specs = {"friendly": (planner, base_url), "adversary": (red_planner, red_base_url)}
    recorder = None
    if record:
        from planner.replay import RECORD_FILE, CallRecorder

        recorder = CallRecorder(out_dir / RECORD_FILE)
    drafters = _drafters(loaded, specs, recorder)
    if recorder is not None:
        options = {
            "seed": seed,
            "cycles": cycles,
            "replications": replications,
            "weights": matrix_weights,
            "doctrine": [str(folder.resolve()) for folder in doctrine],
        }
        recorder.write(_header(scenario, drafters, options).model_dump(mode="json"))
    total = cycles or decision_steps(loaded)
    show = sys.stderr.isatty()
    manifest = {
        "scenario": scenario,
        "seed": seed,
        "cycles": cycles,
        "planner": planner,
        "red_planner": red_planner,
        "replications": replications,
        "checkpoint": str(checkpoint) if checkpoint else None,
    }
    with (
        run_folder(out_dir, "run", manifest),
        Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=err,
            disable=not show,
            transient=True,
        ) as bar,
    ):
        task = bar.add_task(f"{loaded.id}: cycle 1/{total}", total=total)

        def progress(node: str, update: dict) -> None:
            if node == "act":
                done = update.get("cycle", 0)
                bar.update(
                    task, completed=done, description=f"{loaded.id}: cycle {done + 1}/{total}"
                )
            else:
                bar.update(task, description=f"{loaded.id}: {node}")

        def commander(pending):
            bar.stop()  # the table and prompt go to the terminal, not under the bar
            try:
                return _ask_commander(pending)
            finally:
                bar.start()

        try:
            with Campaign.start(
                loaded,
                seed=seed,
                cycles=cycles,
                command=commanded,
                drafters=drafters,
                index=index,
                workers=workers,
                scheduler=scheduler,
                replications=replications,
                checkpoint=checkpoint,
                progress=progress,
                weights=matrix_weights,
            ) as campaign:
                if campaign.finished:
                    done = campaign.status()
                    out.print(
                        f"checkpoint {checkpoint}: this campaign is finished ({done.cycle} "
                        f"cycles, H+{done.hour:g}); not played again",
                        highlight=False,
                        soft_wrap=True,
                    )
                else:
                    campaign.run_to_end(commander)
                aar = campaign.aar()
        except (CheckpointError, EventBudgetExceeded) as problem:
            _say_error(str(problem))
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except RunStopped as stop:  # a chat model that cannot be reached on the first call
            _say_error(str(stop))
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except ImportError:
            _say_error("--scheduler needs the cluster extra: pip install 'ooda-forge[cluster]'")
            raise typer.Exit(2) from None
        except OSError as problem:  # scheduler unreachable (distributed raises OSError)
            _say_error(f"cannot reach the Dask scheduler {scheduler}: {problem}")
            raise typer.Exit(2) from None
        finally:
            if recorder is not None:
                recorder.close()
        _print_run(aar, loaded, out_dir, formats)  # before run.json says finished


def _print_run(aar, loaded: Scenario, out_dir: Path, formats: tuple[str, ...]) -> None:
    """Write the AAR (and reports) and print the outcome and the files."""
    from planner.aar import write_aar

    paths = write_aar(aar, out_dir, scenario=loaded)
    if formats:
        from planner.report import write_reports

        paths.update(write_reports(aar, out_dir, scenario=loaded, formats=formats))
    outcome, stats = aar.outcome, aar.stats
    out.print(
        f"winner: {outcome.winner or 'none'} at H+{outcome.end_hour:g}; "
        f"{stats.cycles} cycles, {stats.replications} replications, {stats.wall_seconds} s",
        highlight=False,
    )
    for kind, path in paths.items():
        out.print(f"AAR ({kind}): {path}", highlight=False)


@app.command()
def replay(
    run_dir: Annotated[
        Path, typer.Argument(help="A run folder written by `wargame run --record`.")
    ],
    out_dir: Annotated[
        Path | None, typer.Option("--out", help="Output folder (default: RUN_DIR/replay).")
    ] = None,
    report: Annotated[str, typer.Option(help="Extra formats: html,pdf or none.")] = "none",
) -> None:
    """Re-run a recorded campaign from its model calls, with no model, and check aar.json.

    Exit 0 when the replay's aar.json equals the run's (apart from wall times), 1 when it
    differs, 2 when the recording is unreadable or runs out (the message says where).
    """
    from planner.campaign import run_campaign
    from planner.command import replaying
    from planner.llm import RunStopped
    from planner.replay import RECORD_FILE, ReplayLog, ReplayTransport, aar_differences
    from sim.scenario import parse_scenario

    if out_dir is not None:
        with _checked_options():
            check_out_folder(out_dir)
    formats = _formats(report, allowed=("html", "pdf"), none_ok=True)
    try:
        log = ReplayLog(run_dir / RECORD_FILE)
        header = log.header
        loaded = parse_scenario(header.scenario_yaml, source=f"{log.path} (scenario)")
        index = _index([Path(folder) for folder in header.doctrine])
        recorded = run_dir / "aar.json"
        commanded, commander = replaying(_recorded_commands(recorded))  # the same decisions
        aar = run_campaign(
            loaded,
            command=commanded or "none",
            commander=commander,
            seed=header.seed,
            cycles=header.cycles,
            drafters=ReplayTransport(log).drafters(),
            index=index,
            replications=header.replications,
            weights=header.weights,
        )
    except ScenarioError as error:
        _say_error(str(error))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except RunStopped as stop:
        _say_error(str(stop))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    target = out_dir or run_dir / "replay"
    _print_run(aar, loaded, target, formats)
    if log.unused():
        _say_error(f"replay left {log.unused()} recorded entries unused: it took another path")
        raise typer.Exit(1)
    if not recorded.is_file():
        out.print(f"no {recorded} to compare with", highlight=False)
        return
    differences = aar_differences(
        json.loads(recorded.read_text(encoding="utf-8")), aar.model_dump(mode="json")
    )
    if differences:
        shown = ", ".join(differences[:5]) + (" ..." if len(differences) > 5 else "")
        _say_error(f"replay differs from {recorded} at {len(differences)} place(s): {shown}")
        raise typer.Exit(1)
    out.print(f"replay reproduces {recorded} (apart from wall times)", highlight=False)


def _recorded_commands(path: Path) -> list[dict]:
    """The commander's decisions in a run's aar.json (none if there is no file)."""
    if not path.is_file():
        return []
    try:
        cycles = json.loads(path.read_text(encoding="utf-8"))["cycles"]
        return [command for cycle in cycles for command in cycle.get("commands", [])]
    except (ValueError, KeyError, TypeError) as problem:
        _say_error(f"{path}: not an AAR ({type(problem).__name__}: {problem})")
        raise typer.Exit(EXIT_BAD_INPUT) from None


@app.command()
def simulate(
    scenario: Annotated[str, typer.Argument(help="Scenario file or shipped name.")],
    replications: Annotated[int, typer.Option(min=1, max=1_000_000)] = 10,
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
    resume: Annotated[
        bool,
        typer.Option(
            help="Continue a killed run in --out: only the replications not yet written "
            "(replications.jsonl) are run."
        ),
    ] = False,
) -> None:
    """Run the scenario's scripted orders with no planner; write outcomes, timeline.csv and
    battles.csv.

    Each replication is written to --out/replications.jsonl as soon as it finishes, and
    --out/run.json says which run wrote the folder and whether it finished.
    """
    from planner.simfolder import ResumeError, simulate_to_folder

    with _checked_options():
        check_out_folder(out_dir)
        check_scheduler(scheduler)
    exit_on_sigterm()
    loaded = _load(scenario)
    try:
        rows, already = simulate_to_folder(
            loaded,
            out_dir,
            replications=1 if deterministic else replications,
            seed=loaded.settings.seed if seed is None else seed,
            stochastic=not deterministic,
            workers=workers,
            scheduler=scheduler,
            resume=resume,
        )
    except (ResumeError, EventBudgetExceeded) as problem:
        _say_error(str(problem))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    except ImportError:
        _say_error("--scheduler needs the cluster extra: pip install 'ooda-forge[cluster]'")
        raise typer.Exit(2) from None
    except OSError as err:  # scheduler unreachable (distributed raises OSError subclasses)
        _say_error(f"cannot reach the Dask scheduler {scheduler}: {err}")
        raise typer.Exit(2) from None
    wins = {s.id: sum(row.winner == s.id for row in rows) for s in loaded.sides}
    kept = f" ({already} kept from the killed run)" if already else ""
    out.print(
        f"{len(rows)} replication(s){kept}; wins {wins}; wrote {out_dir}/replications.csv, "
        f"{out_dir}/timeline.csv and {out_dir}/battles.csv",
        highlight=False,
    )


@doctrine_app.command("search")
def doctrine_search(
    query: Annotated[str, typer.Argument()],
    k: Annotated[int, typer.Option("-k", min=1, max=50)] = 5,
    topic: Annotated[str | None, typer.Option()] = None,
    domain: Annotated[str | None, typer.Option()] = None,
    doctrine: Annotated[list[Path], typer.Option(help="Extra doctrine folder(s).")] = [],  # noqa: B006
    mode: Annotated[
        str | None,
        typer.Option(help="hybrid, bm25 or dense (default: hybrid if the model loads)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the hits as JSON.")] = False,
) -> None:
    """Find the doctrine passages that best answer a query.

    A terminal gets a table; otherwise one tab-separated line per hit (after a header line), so
    ids are never cut to the terminal's width.
    """
    index = _index(doctrine)
    try:
        hits = index.search(query, k=k, topic=topic, domain=domain, mode=mode)
    except ValueError as error:
        _say_error(str(error))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    used = mode or index.default_mode
    if as_json:
        records = [
            {
                "id": hit.id,
                "score": hit.score,
                "title": hit.title,
                "reference": hit.reference,
                "topic": hit.passage.topic,
                "domain": hit.passage.domain,
            }
            for hit in hits
        ]
        print(json.dumps({"query": query, "mode": used, "hits": records}, indent=2))
        return
    if not out.is_terminal:
        print("score\tid\ttitle\treference")
        for hit in hits:
            print(f"{hit.score:.4g}\t{hit.id}\t{hit.title}\t{hit.reference}")
        return
    scores = [f"{hit.score:.4g}" for hit in hits]
    table = Table(caption=f"search mode: {used}")
    # Score and id never shrink (an id cut short is useless); title and reference wrap.
    table.add_column("score", no_wrap=True, min_width=max(map(len, scores), default=5))
    longest = max((len(hit.id) for hit in hits), default=2)
    table.add_column("id", no_wrap=True, min_width=longest, overflow="fold")
    table.add_column("title", ratio=1)
    table.add_column("reference", ratio=1)
    for score, hit in zip(scores, hits, strict=True):
        table.add_row(score, hit.id, hit.title, hit.reference)
    out.print(table)


@app.command()
def generate(
    units: Annotated[int, typer.Option(min=2, max=MAX_UNITS)] = 100,
    places: Annotated[int, typer.Option(min=4, max=MAX_PLACES)] = 50,
    seed: Annotated[int, typer.Option()] = 1,
    out_file: Annotated[Path, typer.Option("--out")] = Path("generated.yaml"),
) -> None:
    """Write a synthetic, valid scenario of any size on real geography."""
    from sim.generate import generate_scenario, write_scenario

    with _checked_options():
        check_out_file(out_file)
    write_scenario(generate_scenario(units=units, places=places, seed=seed), out_file)
    out.print(f"wrote {out_file}", highlight=False)


def _formats(text: str, *, allowed: tuple[str, ...], none_ok: bool = False) -> tuple[str, ...]:
    """Comma-separated report formats, checked; an unknown one is a clean exit 2."""
    asked = tuple(f.strip() for f in text.split(",") if f.strip())
    if none_ok and asked in ((), ("none",)):
        return ()
    unknown = [f for f in asked if f not in allowed]
    if unknown or not asked:
        shown = ", ".join(repr(f) for f in unknown) or "none given"
        _say_error(f"unknown report format {shown}; choose from {', '.join(allowed)}")
        raise typer.Exit(EXIT_BAD_INPUT)
    return asked


@app.command("report")
def report_command(
    path: Annotated[
        Path, typer.Argument(help="An aar.json written by `wargame run`, or a batch folder.")
    ],
    formats: Annotated[str, typer.Option(help="html,pdf (and md for an aar.json)")] = "html,pdf",
    scenario: Annotated[
        str | None,
        typer.Option(
            help="Scenario file or name for the map (default: the shipped one of the id)."
        ),
    ] = None,
) -> None:
    """Render an aar.json as HTML, PDF and/or Markdown next to it (or a batch folder's report)."""
    if path.is_dir():
        batch_report_command(path, formats)
        return
    from planner.aar import render_markdown, write_atomic
    from planner.record import AARError, load_aar
    from planner.report import write_reports

    chosen = _formats(formats, allowed=("html", "pdf", "md"))
    try:
        aar = load_aar(path)
    except AARError as error:
        _say_error(str(error))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    loaded = None
    if scenario is not None:
        loaded = _load(scenario)
    elif aar.scenario.id in {name for name, _ in list_scenarios()}:
        # The record's id names a shipped scenario only; it is never taken as a path.
        with contextlib.suppress(ScenarioError):  # without it: a report with no map
            loaded = load_scenario(resolve_scenario(aar.scenario.id))
    paths = write_reports(
        aar, path.parent, scenario=loaded, formats=tuple(f for f in chosen if f != "md")
    )
    if "md" in chosen:
        paths["md"] = write_atomic(path.parent / "aar.md", render_markdown(aar))
    for kind, written in paths.items():
        out.print(f"{kind}: {written}", highlight=False)


@app.command()
def batch(
    spec: Annotated[Path, typer.Argument(help="Batch spec YAML (scenarios x overrides x seeds).")],
    out_dir: Annotated[Path, typer.Option("--out", help="Batch folder (store, runs, report).")],
    workers: Annotated[int, typer.Option(min=1, help="Local worker processes.")] = 1,
    scheduler: Annotated[
        str | None,
        typer.Option(
            help="Dask scheduler address (tcp://host:port), or 'local' for a local Dask "
            "cluster of --workers processes (the cluster extra)."
        ),
    ] = None,
    retry_failed: Annotated[
        bool, typer.Option(help="Run again the runs stored as failed.")
    ] = False,
) -> None:
    """Run a batch of campaigns; resumable: runs already in --out's store are skipped.

    Exit 0 when every planned run is done, 1 when some failed, 2 on a bad spec or scheduler,
    128 + the signal's number when stopped by SIGTERM or Ctrl-C (what finished is stored).
    """
    from planner.batch import BatchInterrupted, BatchStore, SpecError, load_spec, run_batch

    with _checked_options():
        check_out_folder(out_dir)
        check_scheduler(scheduler)
    try:
        plan = load_spec(spec, out_dir)
    except SpecError as error:
        _say_error(str(error))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("ETA"),
        TimeRemainingColumn(),
        console=err,
        disable=not sys.stderr.isatty(),
        transient=True,
    ) as bar:
        task = bar.add_task(plan.spec.name or spec.stem, total=len(plan.runs))

        def progress(stored: int, planned: int, record) -> None:
            bar.update(task, completed=stored)

        try:
            outcome = run_batch(
                plan,
                out_dir,
                workers=workers,
                scheduler=scheduler,
                retry_failed=retry_failed,
                progress=progress,
            )
        except BatchInterrupted as stop:
            _say_error(f"batch stopped ({stop}); finished runs are stored in {out_dir}")
            raise typer.Exit(128 + stop.signum) from None
        except ImportError:
            _say_error("--scheduler needs the cluster extra: pip install 'ooda-forge[cluster]'")
            raise typer.Exit(EXIT_BAD_INPUT) from None
        except OSError as error:  # scheduler unreachable (distributed raises OSError subclasses)
            _say_error(f"cannot reach the Dask scheduler {scheduler}: {error}")
            raise typer.Exit(EXIT_BAD_INPUT) from None
    out.print(
        f"{outcome.planned} run(s) planned: {outcome.skipped} already stored, "
        f"{outcome.done} done and {outcome.failed} failed now",
        highlight=False,
    )
    with BatchStore(out_dir) as store:
        failed = _summary_outputs(store, plan.spec.plot.x)
    if failed:
        raise typer.Exit(1)


def _summary_outputs(store, axis: str | None) -> int:
    """Print the per-cell summary table; write summary.json, runs.csv (and .parquet), the
    plots; returns how many stored runs of the plan failed."""
    from planner.batch import summarize
    from planner.batch.report import plot_axis, write_plots

    results = store.results()
    cells = summarize(results)
    table = Table(
        Column("cell", no_wrap=True),
        "runs",
        "failed",
        "side",
        "wins [95% Wilson]",
        "strength lost [95% t]",
        "exchange [95% t]",
        title="Summary by parameter cell",
    )
    for cell in cells:
        for k, side in enumerate(cell.sides or [None]):
            first = k == 0
            table.add_row(
                cell.label if first else "",
                str(cell.done) if first else "",
                str(cell.failed) if first else "",
                side.side if side else "–",
                side.wins.text() if side else "–",
                side.loss_fraction.text(percent=True) if side else "–",
                cell.exchange_ratio.text() if first else "",
            )
    (out if out.is_terminal else Console(width=160)).print(table)  # files, pipes: no wrap
    (store.folder / "summary.json").write_text(
        json.dumps([c.model_dump() for c in cells], indent=1), encoding="utf-8"
    )
    paths = store.export()
    try:
        paths.update(write_plots(store.folder, cells, plot_axis(cells, axis)) if cells else {})
    except ImportError:
        _say_error(
            "plots skipped: matplotlib is in the report extra (pip install 'ooda-forge[report]')"
        )
    for kind, path in paths.items():
        out.print(f"{kind}: {path}", highlight=False)
    return sum(r.status == "failed" for r in results)


@app.command("batch-report")
def batch_report_command(
    folder: Annotated[Path, typer.Argument(help="A batch folder written by `wargame batch`.")],
    formats: Annotated[str, typer.Option(help="html,pdf")] = "html,pdf",
) -> None:
    """Render a batch folder's report (batch_report.html, batch_report.pdf)."""
    from planner.batch.report import BATCH_FORMATS, write_batch_report

    chosen = _formats(formats, allowed=BATCH_FORMATS)
    try:
        paths = write_batch_report(folder, chosen)
    except FileNotFoundError as error:
        _say_error(str(error))
        raise typer.Exit(EXIT_BAD_INPUT) from None
    for kind, path in paths.items():
        out.print(f"{kind}: {path}", highlight=False)


def main() -> None:
    """Entry point for `python -m planner.cli`."""
    app()


if __name__ == "__main__":
    main()
