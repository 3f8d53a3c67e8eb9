"""OODA Forge wargame console: plan and fight a campaign cycle by cycle, then read its record.

Run with ``wargame console`` (or ``streamlit run app.py``; both run `main`). The page only
builds, runs and reads: a run is a folder (`planner.console_run`) stepped through the OODA
graph by phase or by cycle, or continued to the end with the map redrawn after every cycle;
it pauses at each decision of the sides the user commands. The map (`planner.console_map`)
draws APP-6 / MIL-STD-2525 symbols (`planner.console_symbols`), the COAs as arrows, tracks
and battles, the ground truth or a side's perceived picture, on the packaged Natural Earth
land with a blank MapLibre style: no tile server, no request leaves the machine. Runs are
saved and can be reopened, and resumed, after a reload.
"""

from __future__ import annotations

import hashlib
import re
import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from planner.command import Approve, PendingDecision, Pick, Revise, Reweight
from planner.console_format import (
    MATRIX_HEADERS,
    coa_card,
    matrix_table,
    no_plan_reason,
    verdict,
)
from planner.console_map import (
    MAP_HEIGHT,
    MAP_WIDTH,
    PerceivedUnit,
    Situation,
    battle_icon,
    legend_html,
    map_deck,
    rgb,
    start_positions,
)
from planner.console_run import (
    ConsoleRun,
    Decision,
    RunSettings,
    advance,
    list_runs,
    open_run,
    start_run,
)
from planner.record import CycleRecord, PlanRecord
from planner.report import side_colors
from scenarios import list_scenarios, resolve_scenario
from sim.scenario import DEFAULT_WEIGHTS, Scenario, ScenarioError, parse_scenario

DOCTRINE_PLANNER = "doctrine (offline)"
MODEL_PLANNER = "chat model"
DEFAULT_SCENARIO = "tutorial"
PLAY_SECONDS = 1.5
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>:~$])")


class ConsoleError(Exception):
    """A problem with the console's inputs, shown to the user as a message (no traceback)."""


def md(text: Any) -> str:
    """Scenario- or model-supplied text made literal inside Streamlit Markdown."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def side_names(scenario: Scenario) -> dict[str, str]:
    """Display name per side id."""
    return {side.id: side.name or side.id for side in scenario.sides}


@st.cache_resource(show_spinner=False, max_entries=32)
def parse_cached(text: str, source: str) -> Scenario:
    """Validate scenario YAML once per distinct text."""
    return parse_scenario(text, source=source)


def error_markdown(err: ScenarioError) -> str:
    """A ScenarioError as Markdown: a title line and one line per located problem."""
    lines = [f"**Invalid scenario** `{Path(err.source).name.replace('`', '')}`:"]
    lines += [f"- {md(where)}: {md(message)}" for where, message in err.problems]
    return "\n".join(lines)


# --- sidebar ---------------------------------------------------------------------------------


def scenario_picker() -> tuple[Scenario | None, str, str, ScenarioError | None]:
    """Pick a shipped scenario or upload one; returns (scenario, text, key, error)."""
    source = st.radio("Source", ["Shipped", "Upload YAML"], horizontal=True, key="source")
    if source == "Shipped":
        entries = dict(list_scenarios())
        if not entries:
            return None, "", "", None
        names = list(entries)
        first = names.index(DEFAULT_SCENARIO) if DEFAULT_SCENARIO in names else 0
        name = st.selectbox("Scenario", names, index=first, key="scenario_name")
        if entries[name]:
            st.caption(entries[name])
        path = resolve_scenario(name)
        text, label = path.read_text(encoding="utf-8"), str(path)
    else:
        upload = st.file_uploader("Scenario file", type=["yaml", "yml"], key="upload")
        if upload is None:
            return None, "", "", None
        text, label = upload.getvalue().decode("utf-8", errors="replace"), upload.name
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    try:
        return parse_cached(text, label), text, key, None
    except ScenarioError as err:
        return None, text, key, err


def run_settings(scenario: Scenario | None) -> RunSettings:
    """The run parameters from the sidebar widgets."""
    seed = st.number_input(
        "Seed", min_value=0, value=None, step=1, key="seed", placeholder="scenario's seed"
    )
    cycles = st.number_input(
        "Cycles",
        min_value=1,
        max_value=200,
        value=None,
        step=1,
        key="cycles",
        placeholder="until the mission ends",
    )
    replications = st.number_input(
        "Most replications per COA",
        min_value=1,
        max_value=10_000,
        value=None,
        step=1,
        key="replications",
        placeholder="scenario's cap",
        help="COA selection (KN++) sizes the budget; it stops here at the latest.",
    )
    quick = st.toggle(
        "Quick planning", key="quick", help="One revision round of 2 replications per COA."
    )
    workers = st.radio("Workers", [1, 2], horizontal=True, key="workers")
    agents = [s for s in scenario.sides if s.planner == "agent"] if scenario else []
    default = (
        [next((s.id for s in agents if s.doctrine == "friendly"), agents[0].id)] if agents else []
    )
    command = st.multiselect(
        "Sides you command",
        [s.id for s in agents],
        default=default,
        key=f"command-{scenario.id if scenario else ''}",
        format_func=lambda s: side_names(scenario)[s] if scenario else s,
        help="The campaign pauses at these sides' decisions; the others plan and act alone.",
    )
    weights = weight_inputs(scenario)
    planner = st.radio("COA drafter", [DOCTRINE_PLANNER, MODEL_PLANNER], key="planner")
    model = base_url = ""
    if planner == MODEL_PLANNER:
        model = st.text_input("Chat model", key="model", placeholder="openai:gpt-4o-mini")
        base_url = st.text_input(
            "Base URL (optional)", key="base_url", placeholder="http://127.0.0.1:8000/v1"
        )
        if not model.strip():
            st.warning("Enter a model spec; until then the doctrine drafter plans.")
        st.caption(
            "API keys come from the environment only (OPENAI_API_KEY, "
            "ANTHROPIC_API_KEY...). If the model fails, the doctrine drafter stands in."
        )
    doctrine_dir = st.text_input(
        "Extra doctrine folder (optional)", key="doctrine_dir", placeholder="/path/to/your/doctrine"
    )
    return RunSettings(
        seed=None if seed is None else int(seed),
        cycles=None if cycles is None else int(cycles),
        replications=None if replications is None else int(replications),
        workers=int(workers),
        model=model.strip(),
        base_url=base_url.strip(),
        doctrine_dir=doctrine_dir.strip(),
        command=tuple(command),
        weights=weights,
        quick=quick,
    )


def weight_inputs(scenario: Scenario | None) -> dict[str, float] | None:
    """The decision-matrix weights (None: the scenario's), shown normalised."""
    given = dict(scenario.settings.planning.weights) if scenario else dict(DEFAULT_WEIGHTS)
    with st.expander("Decision weights"):
        values = {
            name: st.number_input(
                name.replace("_", " "),
                min_value=0.0,
                max_value=10.0,
                value=float(given.get(name, 0.0)),
                step=0.05,
                key=f"weight-{name}",
            )
            for name in DEFAULT_WEIGHTS
        }
        total = sum(values.values())
        if total <= 0:
            st.error("At least one weight must be above zero; the scenario's weights are used.")
            return None
        st.caption(
            "Used normalised: "
            + ", ".join(f"{k.replace('_', ' ')} {v / total:.2f}" for k, v in values.items())
        )
    return None if values == {k: float(given.get(k, 0.0)) for k in DEFAULT_WEIGHTS} else values


def saved_runs_picker() -> None:
    """Reopen a saved run (finished, paused or stopped)."""
    runs = list_runs()
    if not runs:
        st.caption("No saved runs yet.")
        return
    labels = {
        r.folder: f"{r.id} — {'finished' if r.finished else f'{len(r.cycles)} cycle(s), open'}"
        for r in runs
    }
    folder = st.selectbox("Saved runs", list(labels), format_func=labels.get, key="saved_run")
    if st.button("Open run", key="open-run"):
        st.session_state["run_folder"] = folder
        st.session_state["playing"] = False


def batch_folders() -> list[Path]:
    """Batch folders (holding runs.csv) under ./out and the runs folder, one level deep."""
    from planner.console_run import runs_dir

    found = []
    for base in (Path("out"), runs_dir()):
        if base.is_dir():
            found += [d for d in sorted(base.iterdir()) if (d / "runs.csv").is_file()]
    return found


def batch_browser() -> None:
    """A batch's runs (runs.csv) and its report, when batches exist."""
    folders = batch_folders()
    typed = st.text_input("Batch folder", key="batch_dir", placeholder="out/forces")
    if typed.strip():
        folders = [Path(typed.strip()).expanduser()]
    if not folders:
        st.caption("No batch results yet (`wargame batch ... --out out/NAME`).")
        return
    folder = st.selectbox("Batch", folders, format_func=str, key="batch_pick")
    if folder is None or not (folder / "runs.csv").is_file():
        st.warning(f"No runs.csv in {md(folder)}.")
        return
    if st.button("Show batch", key="show-batch"):
        st.session_state["batch_shown"] = str(folder)


def batch_results(folder: Path) -> None:
    """The batch's runs as a table, with its report to download."""
    st.subheader(f"Batch {folder.name}")
    frame = pd.read_csv(folder / "runs.csv")
    st.dataframe(frame, hide_index=True, key="batch-runs")
    st.caption(f"{len(frame)} run(s) in {md(folder)}.")
    report = folder / "batch_report.html"
    if report.is_file():
        st.download_button(
            "batch_report.html",
            report.read_bytes(),
            file_name=f"{folder.name}-batch_report.html",
            mime="text/html",
            key="dl-batch",
            on_click="ignore",
        )


# --- running ---------------------------------------------------------------------------------


def build_planner(settings: RunSettings) -> tuple[Any, Any]:
    """The drafter (None: the offline doctrine drafter) and the doctrine index for a run."""
    extra: list[str] = []
    if settings.doctrine_dir:
        folder = Path(settings.doctrine_dir).expanduser()
        if not folder.exists():
            raise ConsoleError(f"Doctrine folder not found: {settings.doctrine_dir}")
        extra.append(str(folder))
    from doctrine import default_index

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            index = default_index(extra)
        except (ValueError, OSError) as err:
            raise ConsoleError(f"Cannot build the doctrine index: {err}") from None
    for warning in caught:  # e.g. an unreadable file in the user's doctrine folder
        st.warning(f"Doctrine: {md(warning.message)}")
    if not settings.model:
        return None, index
    from planner.drafters import LLMDrafter

    try:
        return LLMDrafter(settings.model, base_url=settings.base_url or None), index
    except Exception as err:  # any provider error at set-up is a user-facing message
        raise ConsoleError(f"Cannot use chat model {settings.model!r}: {err}") from None


def step(run: ConsoleRun, until: str, decisions: list[Decision] | None = None) -> bool:
    """Advance the run to its next pause with a progress line, giving the commander's
    decisions first; False (and a message) when a decision or the campaign failed."""
    try:
        drafter, index = build_planner(run.settings)
    except ConsoleError as err:
        st.error(str(err))
        return False
    with st.status(f"Running ({until})…", expanded=False) as status:
        line = st.empty()

        def progress(node: str, update: dict[str, Any]) -> None:
            line.write(f"{node} done")

        try:
            advance(
                run,
                until=until,  # type: ignore[arg-type]
                decisions=decisions or [],
                drafter=drafter,
                index=index,
                progress=progress,
            )
        except ValueError as err:  # a decision that cannot apply
            status.update(label="Decision refused", state="error")
            st.error(md(err))
            return False
        except Exception as err:  # the campaign failed: say so without a traceback
            run.error = f"{type(err).__name__}: {err}"
            run.save()
            status.update(label="The campaign stopped", state="error")
            st.error(f"The campaign stopped: {md(run.error)}")
            return False
        label = (
            f"Campaign complete: {len(run.cycles)} cycle(s)"
            if run.finished
            else f"Paused after {run.last_node or 'start'} ({len(run.cycles)} cycle(s) done)"
        )
        status.update(label=label, state="complete")
    return True


def new_run_button(scenario: Scenario, text: str, settings: RunSettings) -> None:
    """Start a new run with the sidebar's settings and play its first cycle (or up to the
    commander's first decision)."""
    if st.button("New run", type="primary", key="run"):
        try:
            build_planner(settings)
        except ConsoleError as err:
            st.error(str(err))
            return
        run = start_run(text, scenario, settings)
        st.session_state["run_folder"] = run.folder
        st.session_state["playing"] = st.session_state["auto"] = False
        st.session_state.pop("shown", None)
        step(run, "cycle")


def controls(run: ConsoleRun) -> None:
    """Step one phase, one cycle, continue to the end, pause."""
    phase, cycle, go, pause, close = st.columns(5)
    if close.button("Close run", key="close-run"):
        st.session_state.pop("run_folder", None)
        st.rerun()
    if run.finished:
        return
    if phase.button("Step phase", key="step-phase", disabled=bool(run.pending)):
        st.session_state["playing"] = st.session_state["auto"] = False
        if step(run, "phase"):
            st.rerun()  # redraw the status line and the map with the new state
    if cycle.button("Step cycle", key="step-cycle", disabled=bool(run.pending)):
        st.session_state["playing"] = st.session_state["auto"] = False
        if step(run, "cycle"):
            st.rerun()
    if go.button("Continue", key="continue", type="primary", disabled=bool(run.pending)):
        st.session_state["playing"] = st.session_state["auto"] = True
    if pause.button("Pause", key="pause"):
        st.session_state["playing"] = st.session_state["auto"] = False


def continue_if_playing(run: ConsoleRun) -> None:
    """While "Continue" is on: one cycle per page run, then redraw (Pause takes effect between
    cycles; a pause for the commander stops it)."""
    if not st.session_state.get("playing") or run.finished or run.pending or run.error:
        st.session_state["playing"] = False
        return
    if step(run, "cycle") and not run.pending and not run.finished:
        st.rerun()
    st.session_state["playing"] = False
    st.rerun()


# --- the commander's decision ----------------------------------------------------------------


def matrix_frame(side: str, plan: PlanRecord) -> pd.DataFrame:
    """A decision matrix for display (the same in the approval and the results)."""
    return pd.DataFrame(matrix_table(side, plan), columns=MATRIX_HEADERS)


def show_matrix(side: str, plan: PlanRecord, key: str) -> None:
    """One decision matrix with the selected COA highlighted."""
    frame = matrix_frame(side, plan)

    def band(row: pd.Series) -> list[str]:
        style = "background-color: #fff4c2; font-weight: 600" if row["★"] else ""
        return [style] * len(row)

    st.dataframe(frame.style.apply(band, axis=1), hide_index=True, key=key)


def coa_cards(side: str, plan: PlanRecord) -> None:
    """The COAs side by side: concept, efforts, tasks with citations, scores, screening."""
    cards = [coa_card(side, plan, coa) for coa in plan.coas]
    for start in range(0, len(cards), 4):
        for column, card in zip(st.columns(4), cards[start : start + 4], strict=False):
            with column.container(border=True):
                star = " ★" if card["selected"] else ""
                st.markdown(f"**{md(card['id'])}{star}** {md(card['name'])}")
                st.caption(md(card["concept"]))
                st.markdown(
                    f"p(success) **{md(card['p_success'])}**  \n"
                    f"own losses {md(card['own_losses'])}  \n"
                    f"enemy losses {md(card['enemy_losses'])}  \n"
                    f"utility **{md(card['utility'])}**  \n"
                    f"screening: {md(card['screening'])}"
                )
                with st.expander("Efforts and tasks"):
                    for line in card["efforts"] + card["tasks"]:
                        st.markdown(f"- {md(line)}")


def pending_plan(pending: PendingDecision) -> PlanRecord:
    """A commanded side's open decision as a plan record (for the matrix and the cards)."""
    return PlanRecord.model_validate(
        {
            "coas": pending.coas,
            "selected_coa": pending.selected_coa,
            "weights": pending.weights,
            "notes": pending.notes,
        }
    )


def decision_inputs(run: ConsoleRun, pending: PendingDecision, name: str) -> Decision | None:
    """The commander's decision for one side: approve, pick, weights or revise."""
    side, key = pending.side, f"{run.id}-{pending.cycle}-{pending.side}"
    kinds = {
        "approve": f"Approve {pending.selected_coa}",
        "pick": "Pick another COA",
        "weights": "Change the weights (matrix recomputed)",
        "revise": "Send back to revise",
    }
    kind = st.radio(
        f"Decision for {name}",
        list(kinds),
        format_func=kinds.get,
        horizontal=True,
        key=f"kind-{key}",
    )
    if kind == "approve":
        return Approve(side=side)
    if kind == "pick":
        others = [c for c in pending.valid if c != pending.selected_coa] or pending.valid
        if not others:
            st.info("No other COA was wargamed: approve, or send the staff back to revise.")
            return None
        return Pick(
            side=side, coa=st.radio("COA to execute", others, horizontal=True, key=f"choice-{key}")
        )
    if kind == "weights":
        columns = st.columns(len(pending.weights) or 1)
        weights = {
            criterion: column.number_input(
                criterion.replace("_", " "),
                min_value=0.0,
                max_value=10.0,
                value=float(value),
                step=0.05,
                key=f"w-{key}-{criterion}",
            )
            for column, (criterion, value) in zip(columns, pending.weights.items(), strict=False)
        }
        return Reweight(side=side, weights=weights)
    guidance = st.text_area("Guidance to the staff", key=f"guidance-{key}")
    return Revise(side=side, guidance=guidance)


def approval_form(run: ConsoleRun, scenario: Scenario) -> None:
    """The commander's pause: each commanded side's matrix (weights shown), COA cards and the
    decision (approve, pick, weights, revise)."""
    pause = run.pause()
    if pause is None:
        return
    names = side_names(scenario)
    st.subheader(f"Cycle {pause.cycle} (H+{pause.hour:g}): your decision")
    decisions: list[Decision] = []
    for side, pending in pause.sides.items():
        plan = pending_plan(pending)
        weights = ", ".join(f"{k.replace('_', ' ')} {v:.2f}" for k, v in pending.weights.items())
        st.markdown(
            f"**{md(names.get(side, side))}** — staff recommends "
            f"`{str(pending.selected_coa).replace('`', '')}`; weights: {md(weights)}"
        )
        if pending.error:
            st.error(md(pending.error))
        if plan.coas:
            show_matrix(side, plan, key=f"approve-matrix-{pause.cycle}-{side}")
            coa_cards(side, plan)
        else:
            st.info(md(no_plan_reason(scenario, side, plan)))
        decision = decision_inputs(run, pending, names.get(side, side))
        if decision is not None:
            decisions.append(decision)
    submitted = st.button("Submit decision", type="primary", key=f"approve-{pause.cycle}")
    if submitted and step(run, "cycle", decisions):
        st.session_state["playing"] = st.session_state.get("auto", False) and not run.pending
        st.rerun()


# --- the map ---------------------------------------------------------------------------------


def situation_at(
    scenario: Scenario, run: ConsoleRun | None, cycles: list[CycleRecord], shown: int, view: str
) -> Situation:
    """The truth after cycle `shown` (-1: at H+0), or a side's picture then."""
    if shown < 0 or not cycles:
        control = {p.id: p.control for p in scenario.places}
        situation = Situation(hour=0.0, control=control, positions=start_positions(scenario))
    else:
        record = cycles[shown]
        situation = Situation(
            hour=record.end_hour,
            control=dict(record.situation.control),
            positions=dict(record.situation.units),
        )
    if view != "truth":
        situation.viewer = view
        if run is not None and shown >= 0 and cycles:
            seen = run.pictures.get(str(cycles[shown].cycle), {}).get(view, [])
            situation.perceived = [PerceivedUnit(**row) for row in seen]
    return situation


def track_rows(scenario: Scenario, cycles: list[CycleRecord], shown: int) -> list[dict[str, Any]]:
    """Paths of the units that moved up to cycle `shown`, in their side's colour."""
    colors = side_colors([s.id for s in scenario.sides], scenario)
    places = {p.id: p for p in scenario.places}
    rows = []
    for unit in scenario.units:
        points = [] if unit.arrives_hour > 0 else [unit.location]
        for record in cycles[: shown + 1]:
            where = record.situation.units.get(unit.id)
            if where is not None and (not points or points[-1] != where.place):
                points.append(where.place)
        if len(points) > 1:
            rows.append(
                {
                    "path": [[places[p].lon, places[p].lat] for p in points if p in places],
                    "color": rgb(colors.get(unit.side, "#9a9a9a"), 120),
                    "tooltip": md_free(
                        f"{unit.name or unit.id}: "
                        + " → ".join(places[p].name or p for p in points if p in places)
                    ),
                }
            )
    return rows


def md_free(text: str) -> str:
    """Text for a map tooltip (HTML-escaped)."""
    import html

    return html.escape(text)


def battle_rows(scenario: Scenario, cycles: list[CycleRecord], shown: int) -> list[dict[str, Any]]:
    """A marker per place fought over by the end of cycle `shown`."""
    if shown < 0:
        return []
    colors = side_colors([s.id for s in scenario.sides], scenario)
    places = {p.id: p for p in scenario.places}
    rows = []
    seen: set[str] = set()
    for record in cycles[: shown + 1]:
        for event in record.event_log:
            if event.kind in ("battle_begun", "battle_ended") and event.place in places:
                if event.place in seen and event.kind == "battle_begun":
                    continue
                seen.add(event.place)
                color = colors.get(event.winner or "", "#1d2630")
                rows.append(
                    {
                        "position": [places[event.place].lon, places[event.place].lat],
                        "icon": battle_icon(color),
                        "tooltip": md_free(
                            f"Battle at {places[event.place].name or event.place}: {event.detail}"
                        ),
                    }
                )
    return rows


def sketched_coas(
    scenario: Scenario, run: ConsoleRun | None, cycles: list[CycleRecord], shown: int
) -> list[tuple[Any, str]]:
    """COAs to draw: at a commander's pause every COA of the commanded sides (the selected one
    in the side's colour, the others grey); else each side's selected COA of the next cycle."""
    colors = side_colors([s.id for s in scenario.sides], scenario)
    pause = run.pause() if run is not None else None
    if pause is not None and shown == len(cycles) - 1:
        out = []
        for side, pending in pause.sides.items():
            plan = pending_plan(pending)
            for coa in plan.coas:
                if coa.id == plan.selected_coa:
                    out.append((coa, colors[side]))
                elif coa.scores is not None:
                    out.append((coa, "#6f6f6f"))
        return out
    upcoming = shown + 1
    if upcoming < len(cycles):
        return [
            (plan.selected, colors[side])
            for side, plan in cycles[upcoming].plans.items()
            if plan.selected is not None
        ]
    return []


def map_section(scenario: Scenario, run: ConsoleRun | None) -> None:
    """Map, timeline with play/pause, picture toggle, legend and the shown cycle's events.
    A fragment: moving the timeline redraws only this part, never reruns the planner."""
    cycles = run.cycle_records() if run else []
    playing_timeline = st.session_state.get("timeline_playing", False)

    @st.fragment(run_every=PLAY_SECONDS if playing_timeline else None)
    def fragment() -> None:
        last = len(cycles) - 1
        picked = st.session_state.get("shown")  # None: follow the newest cycle
        shown = last if picked is None else min(int(picked), last)
        if st.session_state.get("timeline_playing"):
            shown = min(shown + 1, last)
            st.session_state["shown"] = None if shown >= last else shown
            if shown >= last:
                st.session_state["timeline_playing"] = False
        shown = max(shown, -1)
        names = side_names(scenario)
        top = st.columns([2, 3, 1, 1]) if cycles else st.columns([2, 5])
        views = ["truth"] + [s.id for s in scenario.sides]
        view = top[0].selectbox(
            "Picture",
            views,
            key="picture",
            format_func=lambda v: "Ground truth" if v == "truth" else f"{names[v]}'s picture",
        )
        if cycles:
            slider = f"timeline-{shown}-{last}"
            top[1].select_slider(
                "Timeline",
                options=list(range(-1, len(cycles))),
                value=shown,
                key=slider,
                format_func=lambda i: "H+0" if i < 0 else f"after cycle {cycles[i].cycle}",
                on_change=_timeline_moved,
                args=(slider, last),
            )
            if top[2].button("Play", key="timeline-play", icon=":material/play_arrow:"):
                st.session_state["timeline_playing"] = True
                st.session_state["shown"] = -2 if shown >= last else shown - 1
                st.rerun()
            if top[3].button("Stop", key="timeline-stop", icon=":material/pause:"):
                st.session_state["timeline_playing"] = False
                st.rerun(scope="fragment")
        situation = situation_at(scenario, run, cycles, shown, view)
        deck = map_deck(
            scenario,
            situation,
            coas=sketched_coas(scenario, run, cycles, shown),
            tracks=track_rows(scenario, cycles, shown),
            battles=battle_rows(scenario, cycles, shown),
        )
        what = "ground truth" if view == "truth" else f"{names[view]}'s picture"
        st.markdown(f"**Map at H+{situation.hour:g}** — {md(what)}")
        st.pydeck_chart(deck, width=MAP_WIDTH, height=MAP_HEIGHT, key="map")
        if view != "truth" and shown >= 0:
            st.caption(
                f"{len(situation.perceived)} enemy unit(s) reported to {md(names[view])}, "
                "at their reported place and estimated strength; the rest of the enemy is "
                "unseen."
            )
        st.html(legend_html(scenario))
        if shown >= 0:
            events_of(cycles[shown], scenario)

    fragment()


def _timeline_moved(slider: str, last: int) -> None:
    """The user moved the timeline: show that cycle (the newest: follow new cycles)."""
    value = st.session_state[slider]
    st.session_state["shown"] = None if value >= last else value
    st.session_state["timeline_playing"] = False


def events_of(record: CycleRecord, scenario: Scenario) -> None:
    """The event log of one cycle."""
    with st.expander(
        f"Events of cycle {record.cycle} (H+{record.start_hour:g} to H+{record.end_hour:g})",
        expanded=False,
    ):
        rows = [
            {
                "Hour": "—" if e.hour is None else f"H+{e.hour:.1f}",
                "Event": e.kind.replace("_", " "),
                "Place": e.place or "",
                "Side": e.side or "",
                "Detail": e.detail,
            }
            for e in record.event_log
        ]
        if rows:
            st.dataframe(pd.DataFrame(rows), hide_index=True, key=f"events-{record.cycle}")
        else:
            st.caption("Nothing logged in this cycle (no arrival, battle or change of control).")


# --- results ---------------------------------------------------------------------------------


def decisions_tab(scenario: Scenario, cycles: list[CycleRecord]) -> None:
    """Per cycle, each side's decision (or why it has none) and matrix."""
    names = side_names(scenario)
    for record in cycles:
        st.markdown(f"#### Cycle {record.cycle} (H+{record.start_hour:g} to H+{record.end_hour:g})")
        for side in scenario.sides:
            plan = record.plans.get(side.id)
            reason = no_plan_reason(scenario, side.id, plan)
            if reason or plan is None:
                st.markdown(f"**{md(names[side.id])}**: {md(reason)}")
                continue
            weights = ", ".join(f"{k.replace('_', ' ')} {v:.2f}" for k, v in plan.weights.items())
            st.markdown(
                f"**{md(names[side.id])}**: selected `{str(plan.selected_coa).replace('`', '')}` "
                f"({md(plan.selected_by)})" + (f" — weights: {md(weights)}" if weights else "")
            )
            show_matrix(side.id, plan, key=f"matrix-{record.cycle}-{side.id}")
            with st.expander(f"Compare {names[side.id]}'s COAs (cycle {record.cycle})"):
                coa_cards(side.id, plan)
            for note in plan.notes:
                st.caption(md(note))


def sync_tab(scenario: Scenario, cycles: list[CycleRecord]) -> None:
    """The synchronisation matrix of each selected COA."""
    names = side_names(scenario)
    shown = 0
    for record in cycles:
        for side, plan in record.plans.items():
            if plan.orders is None or not plan.orders.synchronisation:
                continue
            shown += 1
            st.markdown(
                f"**Cycle {record.cycle}, {md(names.get(side, side))}: "
                f"{md(plan.orders.coa)}** — {md(plan.orders.concept_of_operations)}"
            )
            columns = plan.orders.columns or [
                f"phase {i + 1}" for i in range(len(plan.orders.synchronisation[0].cells))
            ]
            frame = pd.DataFrame(
                [[row.row] + list(row.cells) for row in plan.orders.synchronisation],
                columns=["Element"] + columns[: len(plan.orders.synchronisation[0].cells)],
            )
            st.dataframe(frame, hide_index=True, key=f"sync-{record.cycle}-{side}")
    if not shown:
        st.caption("No orders written yet.")


def strength_tab(scenario: Scenario, cycles: list[CycleRecord]) -> None:
    """Total strength per side, cycle by cycle (plotly)."""
    import plotly.express as px

    names = side_names(scenario)
    colors = side_colors([side.id for side in scenario.sides], scenario)
    initial: dict[str, float] = {}
    for unit in scenario.units:
        initial[unit.side] = initial.get(unit.side, 0.0) + unit.strength
    rows = [{"hour": 0.0, "side": names[s], "strength": v} for s, v in initial.items()]
    rows += [
        {"hour": c.end_hour, "side": names.get(s, s), "strength": v}
        for c in cycles
        for s, v in c.situation.strength.items()
    ]
    figure = px.line(
        pd.DataFrame(rows),
        x="hour",
        y="strength",
        color="side",
        markers=True,
        color_discrete_map={names.get(s, s): c for s, c in colors.items()},
        labels={"hour": "hour (H+)", "strength": "total strength"},
    )
    figure.update_layout(yaxis_rangemode="tozero", legend_orientation="h", height=360)
    st.plotly_chart(figure, key="strength-chart")


def downloads(run: ConsoleRun) -> None:
    """The four reports, rendered once when the run finished (no rerun on click)."""
    stem = f"aar-{run.scenario_id}"
    files = [
        ("json", "aar.json", "application/json", ":material/data_object:"),
        ("md", "aar.md", "text/markdown", ":material/description:"),
        ("html", "aar.html", "text/html", ":material/public:"),
        ("pdf", "aar.pdf", "application/pdf", ":material/picture_as_pdf:"),
    ]
    for column, (fmt, label, mime, icon) in zip(st.columns(4), files, strict=True):
        column.download_button(
            label,
            run.report(fmt),
            file_name=f"{stem}.{fmt}",
            mime=mime,
            key=f"dl-{fmt}",
            icon=icon,
            on_click="ignore",
        )
    st.caption(f"Saved in {md(run.folder)}.")


def results(run: ConsoleRun, scenario: Scenario) -> None:
    """Outcome (or progress), then tabs: decisions, synchronisation, strength, AAR, files."""
    cycles = run.cycle_records()
    if run.finished:
        aar = run.aar()
        if aar is not None:
            line = verdict(aar, scenario)
            {"winner": st.success, "draw": st.warning, "stopped": st.info}[line.kind](md(line.text))
    labels = ["Decisions", "Synchronisation", "Force strength"]
    labels += ["After-action report", "Downloads"] if run.finished else []
    tabs = st.tabs(labels)
    with tabs[0]:
        decisions_tab(scenario, cycles)
    with tabs[1]:
        sync_tab(scenario, cycles)
    with tabs[2]:
        strength_tab(scenario, cycles)
    if run.finished:
        with tabs[3]:
            st.markdown(run.report("md").decode("utf-8"))
        with tabs[4]:
            downloads(run)


# --- page ------------------------------------------------------------------------------------


def scenario_header(scenario: Scenario) -> None:
    """Scenario name, summary and briefing."""
    st.subheader(scenario.name or scenario.id)
    if scenario.summary:
        st.caption(md(scenario.summary))
    if scenario.briefing:
        with st.expander("Briefing"):
            st.text(scenario.briefing)


def run_status(run: ConsoleRun, scenario: Scenario, settings: RunSettings, key: str) -> None:
    """Where the run stands, and a word when the sidebar no longer matches it."""
    horizon = scenario.settings.horizon_hours
    hour = run.cycle_records()[-1].end_hour if run.cycles else 0.0
    state = "finished" if run.finished else "waiting for your decision" if run.pending else "paused"
    if st.session_state.get("playing") and not run.finished and not run.pending:
        state = "running"
    command = ", ".join(side_names(scenario).get(s, s) for s in run.settings.command) or "none"
    st.markdown(
        f"**Run {md(run.id)}** — {state}; {len(run.cycles)} cycle(s) done, H+{hour:g} of "
        f"H+{horizon:g}; last step: {md(run.last_node or 'none')}; you command: {md(command)}"
    )
    if run.error:
        st.error(f"The campaign stopped: {md(run.error)}")
    if settings != run.settings or key != st.session_state.get("run_key", key):
        st.caption(
            "The sidebar's settings differ from this run's; they apply to the next New run "
            "(this run keeps its own)."
        )


def main() -> None:
    """Lay out the console."""
    st.set_page_config(page_title="OODA Forge console", page_icon="🎯", layout="wide")
    with st.sidebar:
        st.header("Scenario")
        scenario, text, key, problem = scenario_picker()
        st.header("Run")
        settings = run_settings(scenario)
        st.header("Saved runs")
        saved_runs_picker()
        st.header("Batches")
        batch_browser()
    st.title("OODA Forge wargame console")
    if problem is not None:
        st.error(error_markdown(problem))
        return
    if scenario is None:
        st.info("Pick a shipped scenario or upload a scenario YAML in the sidebar.")
        return
    new_run_button(scenario, text, settings)
    run = None
    if st.session_state.get("run_folder"):
        try:
            run = open_run(st.session_state["run_folder"])
        except ValueError as err:
            st.error(md(err))
            st.session_state.pop("run_folder", None)
    shown = run.scenario() if run else scenario
    scenario_header(shown)
    if run is not None:
        run_status(run, shown, settings, key)
        controls(run)
        if run.pending:
            approval_form(run, shown)
    map_section(shown, run)
    if st.session_state.get("batch_shown"):
        batch_results(Path(st.session_state["batch_shown"]))
    if run is not None:
        if run.cycles or run.finished:
            results(run, shown)
        continue_if_playing(run)


if __name__ == "__main__":
    main()
