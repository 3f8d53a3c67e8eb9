"""OODA Forge wargame console: pick a scenario, run the OODA campaign, read the after-action record.

Run with ``streamlit run app.py``. The page only builds, runs and reads: the campaign is
`planner.campaign.run_campaign`, every table and chart comes from the AAR it returns, the map
from the scenario's places, routes and units. Nothing runs until "Run campaign" is pressed.
The base map is the packaged Natural Earth layer on a blank MapLibre style: no tile server,
no request leaves the machine. With "Human approval" on, the campaign pauses at each cycle's
decision (a LangGraph interrupt checkpointed to SQLite) and resumes when the commander approves.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import shutil
import tempfile
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
import pydeck as pdk
import streamlit as st

from planner.aar import render_markdown
from planner.record import AfterActionRecord, UnitPosition
from planner.report import (
    ROUTE_STYLE,
    decision_rows,
    labelled_places,
    place_priorities,
    render_html,
    side_colors,
    strength_rows,
    theater_bounds,
    write_pdf,
)
from scenarios import list_scenarios, resolve_scenario
from sim.scenario import Scenario, ScenarioError, parse_scenario

NODES = ("observe", "orient", "decide", "approve", "act")
DOCTRINE_PLANNER = "doctrine (offline)"
MODEL_PLANNER = "chat model"
NEUTRAL = "#9a9a9a"
DEFAULT_SCENARIO = "tutorial"
#: A MapLibre style with one background layer and no sources: the map needs no tile server.
OFFLINE_MAP_STYLE = "data:application/json," + quote(
    json.dumps(
        {
            "version": 8,
            "sources": {},
            "layers": [
                {"id": "bg", "type": "background", "paint": {"background-color": "#cfe3f3"}}
            ],
        }
    )
)
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>:~$])")
#: Streamlit Markdown colour names and their approximate RGB, for legends in plain text.
_MARKDOWN_COLORS = {
    "blue": (28, 131, 225),
    "red": (255, 43, 43),
    "green": (33, 195, 84),
    "orange": (255, 164, 33),
    "violet": (128, 61, 245),
    "gray": (128, 128, 128),
}


class ConsoleError(Exception):
    """A problem with the console's inputs, shown to the user as a message (no traceback)."""


class PendingApproval(Exception):  # noqa: N818 - a signal, not a failure
    """Raised by the approver to pause the campaign until the commander decides."""

    def __init__(self, payload: dict[str, Any]):
        super().__init__(f"cycle {payload.get('cycle')} awaits approval")
        self.payload = payload


@dataclass(frozen=True)
class RunSettings:
    """The sidebar's run parameters (None: the scenario's own setting)."""

    seed: int | None = None
    cycles: int | None = None
    replications: int | None = None
    workers: int = 1
    model: str = ""
    base_url: str = ""
    doctrine_dir: str = ""
    approval: bool = False


# --- small helpers ---------------------------------------------------------------------------


def md(text: Any) -> str:
    """Scenario- or model-supplied text made literal inside Streamlit Markdown."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def rgb(color: str, alpha: int = 255) -> list[int]:
    """[r, g, b, a] of a #rgb or #rrggbb colour."""
    digits = color.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return [int(digits[i : i + 2], 16) for i in (0, 2, 4)] + [alpha]


def swatch(color: str) -> str:
    """A square in the Streamlit Markdown colour nearest to a hex colour (for legends)."""
    r, g, b, _ = rgb(color)
    name = min(
        _MARKDOWN_COLORS,
        key=lambda k: sum(
            (x - y) ** 2 for x, y in zip(_MARKDOWN_COLORS[k], (r, g, b), strict=True)
        ),
    )
    return f":{name}[■]"


def side_names(scenario: Scenario) -> dict[str, str]:
    """Display name per side id."""
    return {side.id: side.name or side.id for side in scenario.sides}


def planned_cycles(scenario: Scenario, cycles: int | None) -> int:
    """How many cycles the campaign can run at most."""
    full = math.ceil(scenario.settings.horizon_hours / scenario.settings.cycle_hours)
    return min(cycles, full) if cycles else full


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


def scenario_picker() -> tuple[Scenario | None, str, ScenarioError | None]:
    """Pick a shipped scenario or upload one; returns (scenario, key, validation error)."""
    source = st.radio("Source", ["Shipped", "Upload YAML"], horizontal=True, key="source")
    if source == "Shipped":
        entries = dict(list_scenarios())
        if not entries:
            return None, "", None
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
            return None, "", None
        text, label = upload.getvalue().decode("utf-8", errors="replace"), upload.name
    key = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    try:
        return parse_cached(text, label), key, None
    except ScenarioError as err:
        return None, key, err


def run_settings() -> RunSettings:
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
    workers = st.radio("Workers", [1, 2], horizontal=True, key="workers")
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
    approval = st.toggle(
        "Human approval each cycle",
        key="approval",
        help="Pause after each Decide step so you can approve or change the COA.",
    )
    return RunSettings(
        seed=None if seed is None else int(seed),
        cycles=None if cycles is None else int(cycles),
        replications=None if replications is None else int(replications),
        workers=int(workers),
        model=model.strip(),
        base_url=base_url.strip(),
        doctrine_dir=doctrine_dir.strip(),
        approval=approval,
    )


# --- map -------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, max_entries=16)
def countries_geojson(bounds: tuple[float, float, float, float]) -> dict[str, Any]:
    """Natural Earth countries clipped to `bounds` and simplified to the map's scale, as GeoJSON.

    The tolerance is 1/1000 of the larger side of the box (about a screen pixel at the initial
    zoom), which keeps the map message small for ocean-wide theaters.
    """
    import shapely
    from shapely.geometry import box

    from sim.theater import load_countries

    frame = box(*bounds)
    tolerance = max(bounds[2] - bounds[0], bounds[3] - bounds[1]) / 1000
    countries = load_countries()
    clipped = countries[countries.intersects(frame)].clip(frame)
    digits = max(2, math.ceil(-math.log10(tolerance)) + 1)
    simplified = clipped.geometry.simplify(tolerance).values
    clipped = clipped.set_geometry(shapely.transform(simplified, lambda xy: xy.round(digits)))
    clipped = clipped[~clipped.geometry.is_empty]
    data = json.loads(clipped[["name", "geometry"]].to_json())
    for feature in data["features"]:
        feature["properties"]["tooltip"] = feature["properties"]["name"]
    return data


def map_bounds(scenario: Scenario) -> tuple[float, float, float, float]:
    """The theater bounds widened by half a span each way, so the base map fills the view."""
    west, south, east, north = theater_bounds(scenario)
    dx, dy = (east - west) / 2, (north - south) / 2
    return (
        max(west - dx, -180.0),
        max(south - dy, -89.0),
        min(east + dx, 180.0),
        min(north + dy, 89.0),
    )


def unit_offsets(count: int, radius: float) -> list[tuple[float, float]]:
    """Positions on a small ring so that units at one place do not hide each other."""
    if count == 1:
        return [(0.0, -radius)]
    return [
        (radius * math.sin(2 * math.pi * i / count), -radius * math.cos(2 * math.pi * i / count))
        for i in range(count)
    ]


def route_rows(scenario: Scenario) -> list[dict[str, Any]]:
    """One straight path per route, coloured by mode."""
    places = {p.id: p for p in scenario.places}
    return [
        {
            "path": [
                [places[r.source].lon, places[r.source].lat],
                [places[r.target].lon, places[r.target].lat],
            ],
            "color": rgb(ROUTE_STYLE.get(r.mode, ROUTE_STYLE["road"])["color"], 220),
            "tooltip": f"{r.mode} {r.source}–{r.target} ({r.terrain})",
        }
        for r in scenario.routes
    ]


def place_rows(
    scenario: Scenario, control: dict[str, str], colors: dict[str, str]
) -> list[dict[str, Any]]:
    """Places coloured by controlling side; dense theaters label only the important ones."""
    names = side_names(scenario)
    priority, named = place_priorities(scenario), labelled_places(scenario)
    rows = []
    for p in scenario.places:
        side = control.get(p.id, p.control) or ""
        rows.append(
            {
                "position": [p.lon, p.lat],
                "name": p.name or p.id,
                "labelled": p.id in named,
                "color": rgb(colors.get(side, NEUTRAL)),
                "tooltip": f"{p.name or p.id} ({p.kind}, {p.terrain}) held by "
                f"{names.get(side, 'nobody')}" + (" — objective" if priority[p.id] == 2 else ""),
            }
        )
    return rows


def unit_rows(
    scenario: Scenario,
    colors: dict[str, str],
    positions: dict[str, UnitPosition] | None = None,
) -> list[dict[str, Any]]:
    """Units on a small ring around their place, disc area proportional to strength: at their
    start places, or where a cycle record (`positions`: id -> place, moving_to, strength) left
    them; units missing from `positions` (destroyed, not yet arrived) are not drawn."""
    places = {p.id: p for p in scenario.places}
    west, south, east, north = theater_bounds(scenario)
    ring = 0.012 * max(east - west, north - south)
    strongest = max(unit.strength for unit in scenario.units)
    by_place: dict[str, list] = {}
    for unit in scenario.units:
        if positions is None:
            by_place.setdefault(unit.location, []).append((unit, unit.strength, None))
        elif unit.id in positions:
            where = positions[unit.id]
            by_place.setdefault(where.place, []).append((unit, where.strength, where.moving_to))
    rows = []
    for place_id, units in by_place.items():
        for (unit, strength, moving_to), (dx, dy) in zip(
            units, unit_offsets(len(units), ring), strict=True
        ):
            arrives = (
                f", arrives H+{unit.arrives_hour:g}"
                if unit.arrives_hour and positions is None
                else ""
            )
            moving = f", moving to {moving_to}" if moving_to else ""
            rows.append(
                {
                    "position": [places[place_id].lon + dx, places[place_id].lat + dy],
                    "radius": 3 + 7 * math.sqrt(strength / strongest),
                    "color": rgb(colors.get(unit.side, NEUTRAL), 200),
                    "tooltip": f"{unit.name or unit.id} — {unit.type}, strength "
                    f"{strength:g} at {place_id}{moving}{arrives}",
                }
            )
    return rows


def map_layers(
    scenario: Scenario,
    control: dict[str, str],
    positions: dict[str, dict[str, Any]] | None = None,
) -> list[pdk.Layer]:
    """Countries, routes by mode, units by side, places by control, and place labels.

    Dense theaters label only objectives and cities, ports and bases; every place has a
    tooltip.
    """
    colors = side_colors([side.id for side in scenario.sides], scenario)
    places = place_rows(scenario, control, colors)
    pixels = "'pixels'"  # a literal for pydeck, which reads bare strings as accessors
    return [
        pdk.Layer(
            "GeoJsonLayer",
            countries_geojson(map_bounds(scenario)),
            id="countries",
            stroked=True,
            filled=True,
            get_fill_color=[242, 239, 230],
            get_line_color=[150, 140, 125],
            line_width_min_pixels=1,
            pickable=True,
        ),
        pdk.Layer(
            "PathLayer",
            route_rows(scenario),
            id="routes",
            get_path="path",
            get_color="color",
            width_min_pixels=3,
            pickable=True,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            unit_rows(scenario, colors, positions),
            id="units",
            get_position="position",
            get_fill_color="color",
            get_radius="radius",
            radius_units=pixels,
            stroked=True,
            get_line_color=[255, 255, 255],
            line_width_min_pixels=1,
            pickable=True,
        ),
        pdk.Layer(
            "ScatterplotLayer",
            places,
            id="places",
            get_position="position",
            get_fill_color="color",
            get_radius=7,
            radius_units=pixels,
            stroked=True,
            get_line_color=[29, 38, 48],
            line_width_min_pixels=2,
            pickable=True,
        ),
        pdk.Layer(
            "TextLayer",
            [p for p in places if p["labelled"]],
            id="labels",
            get_position="position",
            get_text="name",
            get_size=14,
            get_color=[29, 38, 48],
            get_pixel_offset=[0, -18],
            character_set="'auto'",
            font_family="'Helvetica Neue, Arial, sans-serif'",
            font_weight=600,
            outline_width=2,
            outline_color=[255, 255, 255],
            font_settings={"sdf": True},
        ),
    ]


def theater_deck(
    scenario: Scenario,
    control: dict[str, str],
    positions: dict[str, dict[str, Any]] | None = None,
) -> pdk.Deck:
    """The theater map on the offline style, framed on the scenario's places."""
    west, south, east, north = theater_bounds(scenario)
    span = max(east - west, (north - south) * 2, 1e-3)
    view = pdk.ViewState(
        longitude=(west + east) / 2,
        latitude=(south + north) / 2,
        zoom=max(1.0, min(12.0, math.log2(360 / span) + 0.6)),
    )
    return pdk.Deck(
        layers=map_layers(scenario, control, positions),
        initial_view_state=view,
        map_style=OFFLINE_MAP_STYLE,
        map_provider=None,
        tooltip={"text": "{tooltip}"},
    )


def theater_section(scenario: Scenario, aar: AfterActionRecord | None, key: str) -> None:
    """The map, with control at start or after a chosen cycle of the last run."""
    control = {p.id: p.control for p in scenario.places if p.control}
    positions = None
    when = "at H+0"
    if aar and aar.cycles:
        options = ["start"] + [f"after cycle {c.cycle}" for c in aar.cycles]
        shown = st.select_slider(
            "Control shown", options=options, value=options[-1], key=f"control-{key}"
        )
        if shown != "start":
            cycle = aar.cycles[options.index(shown) - 1]
            control = cycle.situation.control
            positions = cycle.situation.units
            when = f"at H+{cycle.end_hour:g}"
    st.pydeck_chart(theater_deck(scenario, control, positions), height=460, key=f"map-{key}")
    colors = side_colors([side.id for side in scenario.sides], scenario)
    legend = ", ".join(f"{swatch(colors[s])} {md(n)}" for s, n in side_names(scenario).items())
    modes = ", ".join(sorted({r.mode for r in scenario.routes}))
    st.caption(
        f"Places coloured by control {when}: {legend}. Units (small discs) where they stood "
        f"{when}. Routes by mode ({modes}). Hover for details."
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


def make_approver(
    decisions: dict[int, dict[str, str]],
) -> Callable[[dict[str, Any]], dict[str, str]]:
    """An approver that answers from the commander's recorded decisions, else pauses."""

    def approver(payload: dict[str, Any]) -> dict[str, str]:
        cycle = int(payload.get("cycle", 0))
        if cycle in decisions:
            return decisions[cycle]
        raise PendingApproval(payload)

    return approver


def make_progress(
    scenario: Scenario, run: dict[str, Any], bar: Any
) -> Callable[[str, dict[str, Any]], None]:
    """A run_campaign progress callback that moves a Streamlit progress bar."""
    total = planned_cycles(scenario, run["settings"].cycles)
    counter = {"cycle": run["pending"]["cycle"] if run.get("pending") else 0}

    def progress(node: str, update: dict[str, Any]) -> None:
        step = NODES.index(node) + 1 if node in NODES else 0
        done = min(1.0, (counter["cycle"] * len(NODES) + step) / (total * len(NODES)))
        bar.progress(done, text=f"cycle {counter['cycle']}: {node} done")
        if node == "act":
            counter["cycle"] = int(update.get("cycle", counter["cycle"] + 1))

    return progress


def new_run(scenario: Scenario, key: str, settings: RunSettings) -> dict[str, Any]:
    """Session record of one campaign run."""
    folder = tempfile.mkdtemp(prefix="ooda-forge-console-") if settings.approval else None
    return {
        "key": key,
        "scenario": scenario,
        "settings": settings,
        "thread": uuid.uuid4().hex,
        "checkpoint": str(Path(folder) / "campaign.sqlite") if folder else None,
        "decisions": {},
        "pending": None,
        "aar": None,
        "html": None,
    }


def advance(run: dict[str, Any]) -> None:
    """Run (or resume) the campaign until it ends or pauses for approval; updates `run`."""
    from planner.campaign import run_campaign

    settings, scenario = run["settings"], run["scenario"]
    drafter, index = build_planner(settings)
    label = "Resuming campaign…" if run["pending"] else "Running campaign…"
    with st.status(label, expanded=True) as status:
        bar = st.progress(0.0, text="starting")
        try:
            aar = run_campaign(
                scenario,
                seed=settings.seed,
                cycles=settings.cycles,
                drafter=drafter,
                index=index,
                workers=settings.workers,
                replications=settings.replications,
                approver=make_approver(run["decisions"]) if settings.approval else None,
                checkpoint=Path(run["checkpoint"]) if run["checkpoint"] else None,
                thread_id=run["thread"],
                progress=make_progress(scenario, run, bar),
            )
        except PendingApproval as pause:
            run["pending"] = pause.payload
            status.update(
                label=f"Cycle {pause.payload['cycle']}: awaiting approval",
                state="complete",
                expanded=False,
            )
            return
        run["pending"], run["aar"] = None, aar
        run["html"] = render_html(aar, scenario)
        if run["checkpoint"]:
            shutil.rmtree(Path(run["checkpoint"]).parent, ignore_errors=True)
        status.update(
            label=f"Campaign complete: {aar.stats.cycles} cycle(s), {aar.stats.wall_seconds} s",
            state="complete",
            expanded=False,
        )


def run_controls(scenario: Scenario, key: str, settings: RunSettings) -> None:
    """The Run button; starts a fresh run with the sidebar's settings."""
    if st.button("Run campaign", type="primary", key="run"):
        run = new_run(scenario, key, settings)
        st.session_state["campaign"] = run
        try:
            advance(run)
        except ConsoleError as err:
            st.session_state.pop("campaign", None)
            st.error(str(err))
        except Exception as err:  # the campaign failed: say so without a traceback
            st.session_state.pop("campaign", None)
            st.error(f"The campaign stopped: {type(err).__name__}: {err}")


def approval_form(run: dict[str, Any]) -> None:
    """The commander's decision for the paused cycle: keep or change each side's COA."""
    payload = run["pending"]
    cycle = int(payload["cycle"])
    names = side_names(run["scenario"])
    st.subheader(f"Cycle {cycle}: approve the courses of action")
    choices: dict[str, str] = {}
    for side, plan in payload["plans"].items():
        options = [row["coa"] for row in plan["matrix"]]
        st.markdown(
            f"**{md(names.get(side, side))}** — planner recommends "
            f"`{str(plan['selected_coa']).replace('`', '')}`"
        )
        st.dataframe(pd.DataFrame(plan["matrix"]), hide_index=True)
        if options:
            default = options.index(plan["selected_coa"]) if plan["selected_coa"] in options else 0
            choices[side] = st.radio(
                f"COA to execute ({side})",
                options,
                index=default,
                horizontal=True,
                key=f"choice-{run['thread']}-{cycle}-{side}",
            )
    approve, discard = st.columns([1, 4])
    if approve.button("Approve and continue", type="primary", key=f"approve-{cycle}"):
        # Every side is named (an empty answer would not resume the LangGraph interrupt).
        run["decisions"][cycle] = choices or {"_": "approved"}
        try:
            advance(run)
        except Exception as err:  # the campaign failed: say so without a traceback
            st.session_state.pop("campaign", None)
            st.error(f"The campaign stopped: {type(err).__name__}: {err}")
            return
        st.rerun()
    if discard.button("Discard run", key=f"discard-{cycle}"):
        st.session_state.pop("campaign", None)
        st.rerun()


# --- results ---------------------------------------------------------------------------------


def outcome_summary(aar: AfterActionRecord, scenario: Scenario) -> None:
    """Winner line and surviving strength per side."""
    outcome, names = aar.outcome, side_names(scenario)
    winner = outcome.winner
    if winner:
        st.success(
            f"Winner: **{md(names.get(winner, winner))}** (`{winner.replace('`', '')}`) "
            f"at H+{outcome.end_hour:g}"
        )
    else:
        st.warning(f"No winner at H+{outcome.end_hour:g}: no side met its mission.")
    columns = st.columns(len(outcome.surviving_strength))
    for column, (side, surviving) in zip(columns, outcome.surviving_strength.items(), strict=True):
        initial = outcome.initial_strength.get(side, 0.0)
        achieved = outcome.objectives.get(side, {})
        column.metric(names.get(side, side), f"{surviving:g}", f"{surviving - initial:g}")
        column.caption(f"objectives {sum(achieved.values())}/{len(achieved)}")


MATRIX_COLUMNS = {
    "★": st.column_config.TextColumn("★", width="small"),
    "coa": st.column_config.TextColumn("COA"),
    "name": st.column_config.TextColumn("Name"),
    "form_of_maneuver": st.column_config.TextColumn("Form of manoeuvre"),
    "p_success": st.column_config.NumberColumn("p(success)", format="%.2f"),
    "p_low": st.column_config.NumberColumn("95% CI low", format="%.2f"),
    "p_high": st.column_config.NumberColumn("95% CI high", format="%.2f"),
    "loss_own": st.column_config.NumberColumn("Own losses", format="%.0f%%"),
    "loss_enemy": st.column_config.NumberColumn("Enemy losses", format="%.0f%%"),
    "utility": st.column_config.NumberColumn("Utility", format="%.3f"),
    "utility_vs_most_dangerous": st.column_config.NumberColumn("vs most dangerous", format="%.3f"),
    "status": st.column_config.TextColumn("Status"),
}


def matrix_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A side's decision matrix for display: starred selection, losses in percent."""
    frame = pd.DataFrame(rows)
    frame["★"] = frame["selected"].map({True: "★", False: ""})
    frame["status"] = [
        "screened out" if out else f"{drafter}, {n or 0:g} reps"
        for out, drafter, n in zip(
            frame["screened_out"], frame["drafted_by"], frame["replications"], strict=True
        )
    ]
    for column in ("loss_own", "loss_enemy"):
        frame[column] = frame[column].astype(float) * 100
    return frame[list(MATRIX_COLUMNS)]


def highlight_selected(row: pd.Series) -> list[str]:
    """Row style: the selected COA on a pale yellow band."""
    style = "background-color: #fff4c2; font-weight: 600" if row["★"] else ""
    return [style] * len(row)


def show_matrix(rows: list[dict[str, Any]]) -> None:
    """One decision matrix as a dataframe with the selected COA highlighted."""
    frame = matrix_frame(rows)
    st.dataframe(
        frame.style.apply(highlight_selected, axis=1), hide_index=True, column_config=MATRIX_COLUMNS
    )


def decision_tab(aar: AfterActionRecord, scenario: Scenario) -> None:
    """Per cycle, each side's decision matrix with the selected COA starred."""
    names = side_names(scenario)
    rows = decision_rows(aar)
    for cycle in aar.cycles:
        st.markdown(f"#### Cycle {cycle.cycle} (H+{cycle.start_hour:g} to H+{cycle.end_hour:g})")
        for side, plan in cycle.plans.items():
            mine = [r for r in rows if r["cycle"] == cycle.cycle and r["side"] == side]
            st.markdown(
                f"**{md(names.get(side, side))}**: selected "
                f"`{str(plan.selected_coa).replace('`', '')}` ({md(plan.selected_by)})"
            )
            if mine:
                show_matrix(mine)
            for note in plan.notes:
                st.caption(md(note))


def strength_tab(aar: AfterActionRecord, scenario: Scenario) -> None:
    """Total strength per side over the campaign (plotly)."""
    import plotly.express as px

    names = side_names(scenario)
    colors = side_colors([side.id for side in scenario.sides], scenario)
    frame = pd.DataFrame(strength_rows(aar))
    frame["side"] = frame["side"].map(lambda s: names.get(s, s))
    figure = px.line(
        frame,
        x="hour",
        y="strength",
        color="side",
        markers=True,
        color_discrete_map={names.get(s, s): c for s, c in colors.items()},
        labels={"hour": "hour (H+)", "strength": "total strength"},
    )
    figure.update_layout(yaxis_rangemode="tozero", legend_orientation="h", height=380)
    st.plotly_chart(figure, key="strength-chart")


def pdf_bytes(aar: AfterActionRecord, scenario: Scenario) -> bytes:
    """The PDF report, rendered on demand."""
    with tempfile.TemporaryDirectory(prefix="ooda-forge-pdf-") as folder:
        return write_pdf(aar, Path(folder) / "aar.pdf", scenario).read_bytes()


def downloads_tab(run: dict[str, Any]) -> None:
    """Download buttons for the AAR as JSON, Markdown, HTML and PDF."""
    aar, scenario = run["aar"], run["scenario"]
    stem = f"aar-{scenario.id}"
    data, md_, html, pdf = st.columns(4)
    data.download_button(
        "aar.json",
        aar.to_json(),
        file_name=f"{stem}.json",
        mime="application/json",
        key="dl-json",
        icon=":material/data_object:",
    )
    md_.download_button(
        "aar.md",
        render_markdown(aar),
        file_name=f"{stem}.md",
        mime="text/markdown",
        key="dl-md",
        icon=":material/description:",
    )
    html.download_button(
        "aar.html",
        run["html"],
        file_name=f"{stem}.html",
        mime="text/html",
        key="dl-html",
        icon=":material/public:",
    )
    pdf.download_button(
        "aar.pdf",
        lambda: pdf_bytes(aar, scenario),
        file_name=f"{stem}.pdf",
        mime="application/pdf",
        key="dl-pdf",
        icon=":material/picture_as_pdf:",
    )
    st.caption(
        "JSON is the full record; HTML is self-contained (interactive chart, map); "
        "the PDF is rendered when you click it."
    )


def results(run: dict[str, Any]) -> None:
    """Outcome, then tabs: decision matrices, force strength, the AAR and downloads."""
    aar, scenario = run["aar"], run["scenario"]
    st.header("Results")
    outcome_summary(aar, scenario)
    matrices, strength, report, files = st.tabs(
        ["Decision matrices", "Force strength", "After-action report", "Downloads"]
    )
    with matrices:
        decision_tab(aar, scenario)
    with strength:
        strength_tab(aar, scenario)
    with report:
        st.markdown(render_markdown(aar))
    with files:
        downloads_tab(run)


# --- page ------------------------------------------------------------------------------------


def scenario_header(scenario: Scenario) -> None:
    """Scenario name, summary and briefing."""
    st.subheader(scenario.name or scenario.id)
    if scenario.summary:
        st.caption(md(scenario.summary))
    if scenario.briefing:
        with st.expander("Briefing"):
            st.text(scenario.briefing)


def main() -> None:
    """Lay out the console."""
    st.set_page_config(page_title="OODA Forge console", page_icon="🎯", layout="wide")
    with st.sidebar:
        st.header("Scenario")
        scenario, key, problem = scenario_picker()
        st.header("Run")
        settings = run_settings()
    st.title("OODA Forge wargame console")
    if problem is not None:
        st.error(error_markdown(problem))
        return
    if scenario is None:
        st.info("Pick a shipped scenario or upload a scenario YAML in the sidebar.")
        return
    scenario_header(scenario)
    run_controls(scenario, key, settings)
    run = st.session_state.get("campaign")
    run = run if run and run["key"] == key else None
    if run and run["pending"]:
        approval_form(run)
    theater_section(scenario, run["aar"] if run else None, key)
    if run and run["aar"]:
        results(run)


main()
