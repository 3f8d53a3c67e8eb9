"""After-action report as a self-contained HTML page and a PDF (Jinja2, plotly, WeasyPrint).

Everything the template shows comes from the typed record (`planner.record.AfterActionRecord`)
and, for the theater map (places, routes, unit tracks, battle sites), the scenario. The
template autoescapes: scenario- and model-supplied strings are never marked safe; chart data
reaches the page through Jinja's ``tojson`` filter only. The HTML embeds plotly.js for an
interactive force-strength chart; the PDF (WeasyPrint runs no JavaScript) draws the same chart
as an inline SVG, and both draw the map (with unit tracks and battle markers) as inline SVG.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from planner.aar import write_atomic
from planner.record import AfterActionRecord, COARecord, PlanRecord
from planner.rundir import atomic_path
from planner.tracks import battle_sites, unit_tracks
from sim.scenario import Scenario

__all__ = [
    "ROUTE_STYLE",
    "decision_rows",
    "labelled_places",
    "place_priorities",
    "render_html",
    "side_colors",
    "strength_rows",
    "theater_bounds",
    "write_pdf",
    "write_reports",
]

TEMPLATE = "aar.html.j2"
FORMATS = ("html", "pdf")
FALLBACK_COLORS = ("#1f5fbf", "#c0392b", "#2e8b57", "#8e44ad")
NEUTRAL_COLOR = "#9a9a9a"
MAX_LABELS = 20
ROUTE_STYLE = {
    "road": {"color": "#5b5b5b", "dash": ""},
    "rail": {"color": "#7d3c98", "dash": "6 3"},
    "offroad": {"color": "#a0522d", "dash": "1 3"},
    "sea": {"color": "#2471a3", "dash": "2 3"},
    "air": {"color": "#148f77", "dash": "8 3 2 3"},
}
_HEX_COLOR = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


# --- flat records shared by the report and the console ----------------------------------------


def decision_rows(aar: AfterActionRecord) -> list[dict[str, Any]]:
    """One flat record per (cycle, side, COA): scores, 95% CI and whether it was selected."""
    rows = []
    for cycle in aar.cycles:
        for side, plan in cycle.plans.items():
            for coa in plan.coas:
                rows.append(_decision_row(cycle.cycle, side, plan, coa))
    return rows


def _decision_row(cycle: int, side: str, plan: PlanRecord, coa: COARecord) -> dict[str, Any]:
    scores = coa.scores
    losses = scores.losses if scores else {}
    enemy = next((k for k in losses if k != side), None)
    low, high = scores.p_success_ci95 if scores else (None, None)
    md = scores.vs_most_dangerous if scores else None
    return {
        "cycle": cycle,
        "side": side,
        "coa": coa.id,
        "name": coa.name,
        "form_of_maneuver": coa.form_of_maneuver,
        "drafted_by": coa.drafted_by,
        "screened_out": scores is None,
        "p_success": scores.p_success if scores else None,
        "p_low": low,
        "p_high": high,
        "loss_own": losses.get(side),
        "loss_enemy": losses.get(enemy) if enemy else None,
        "utility": scores.utility if scores else None,
        "utility_vs_most_dangerous": md.utility if md else None,
        "replications": scores.replications if scores else None,
        "selected": coa.id == plan.selected_coa,
    }


def strength_rows(aar: AfterActionRecord) -> list[dict[str, Any]]:
    """Total strength per side at H+0 and at the end of every cycle (long format)."""
    rows = [
        {"hour": 0.0, "cycle": None, "side": side, "strength": value}
        for side, value in aar.outcome.initial_strength.items()
    ]
    for cycle in aar.cycles:
        for side, value in cycle.situation.strength.items():
            rows.append(
                {"hour": cycle.end_hour, "cycle": cycle.cycle, "side": side, "strength": value}
            )
    return rows


def place_priorities(scenario: Scenario) -> dict[str, int]:
    """Label priority per place: 2 for objectives, 1 for cities, ports and bases, else 0."""
    objectives = {o.place for side in scenario.sides for o in side.mission.objectives}
    return {
        p.id: 2 if p.id in objectives else 1 if p.kind in ("city", "port", "base") else 0
        for p in scenario.places
    }


def labelled_places(scenario: Scenario, most: int = MAX_LABELS) -> set[str]:
    """Places named on a map: all of them, or only higher-priority ones in dense theaters."""
    priority = place_priorities(scenario)
    if len(priority) <= most:
        return set(priority)
    floor = 2 if sum(v >= 1 for v in priority.values()) > most else 1
    return {place for place, value in priority.items() if value >= floor}


def side_colors(ids: Sequence[str], scenario: Scenario | None = None) -> dict[str, str]:
    """A safe CSS colour per side id: the scenario's if it is a plain hex colour, else a default."""
    declared = {s.id: s.color for s in scenario.sides} if scenario is not None else {}
    colors = {}
    for i, side in enumerate(ids):
        color = declared.get(side, "")
        colors[side] = color if _HEX_COLOR.match(color) else FALLBACK_COLORS[i % 4]
    return colors


# --- rendering -------------------------------------------------------------------------------


def render_html(aar: AfterActionRecord, scenario: Scenario | None = None) -> str:
    """The after-action report as one self-contained HTML page (interactive chart inline)."""
    return _render(aar, scenario, pdf=False)


def write_pdf(aar: AfterActionRecord, path: Path, scenario: Scenario | None = None) -> Path:
    """Write the after-action report as a PDF with WeasyPrint; returns the path.

    Only ``data:`` URLs may be fetched while rendering, so the PDF never touches a network.
    """
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    path = Path(path)
    html = _render(aar, scenario, pdf=True)
    fetcher = URLFetcher(allowed_protocols=("data",))
    with atomic_path(path) as temporary:  # never half a PDF
        HTML(string=html, url_fetcher=fetcher).write_pdf(temporary)
    return path


def write_reports(
    aar: AfterActionRecord,
    out_dir: Path,
    scenario: Scenario | None = None,
    formats: Sequence[str] = FORMATS,
) -> dict[str, Path]:
    """Write aar.html and/or aar.pdf into `out_dir`; returns {format: path}.

    Raises:
        ValueError: a format other than "html" or "pdf" was asked for.
    """
    unknown = sorted(set(formats) - set(FORMATS))
    if unknown:
        raise ValueError(f"unknown report format(s) {unknown}; choose from {list(FORMATS)}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    if "html" in formats:
        paths["html"] = write_atomic(out_dir / "aar.html", render_html(aar, scenario))
    if "pdf" in formats:
        paths["pdf"] = write_pdf(aar, out_dir / "aar.pdf", scenario)
    return paths


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _render(aar: AfterActionRecord, scenario: Scenario | None, *, pdf: bool) -> str:
    colors = side_colors([side.id for side in aar.sides], scenario)
    context = {
        "pdf": pdf,
        "aar": aar,
        "title": aar.title,
        "sides": _sides(aar, colors),
        "outcome_rows": _outcome_rows(aar),
        "cycles": _cycles(aar),
        "strength_svg": strength_svg(aar, colors),
        "map_svg": theater_svg(aar, scenario, colors) if scenario is not None else None,
        "sources": list(scenario.sources) if scenario is not None else [],
        "fmt": _fmt,
        "pct": _pct,
    }
    if not pdf:
        context["chart_json"] = _plotly_figure(aar, colors)
        context["plotly_js"] = _plotly_js()
    return _environment().get_template(TEMPLATE).render(**context)


@cache
def _plotly_js() -> Markup:
    """The plotly.js bundle (library code shipped with the plotly package, not user data)."""
    from plotly.offline import get_plotlyjs

    return Markup(get_plotlyjs())  # trusted library source: no scenario text inside


def _fmt(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.0f}%"


def _sides(aar: AfterActionRecord, colors: dict[str, str]) -> dict[str, dict[str, str]]:
    return {side.id: {"name": side.name or side.id, "color": colors[side.id]} for side in aar.sides}


def _outcome_rows(aar: AfterActionRecord) -> list[dict[str, Any]]:
    outcome = aar.outcome
    rows = []
    for side, surviving in outcome.surviving_strength.items():
        initial = outcome.initial_strength.get(side, 0.0)
        objectives = outcome.objectives.get(side, {})
        rows.append(
            {
                "side": side,
                "initial": initial,
                "surviving": surviving,
                "remaining": surviving / initial if initial else None,
                "objectives": sorted(objectives.items()),
                "achieved": sum(bool(v) for v in objectives.values()),
                "attainment": outcome.attainment.get(side),
                "winner": side == outcome.winner,
            }
        )
    return rows


def _cycles(aar: AfterActionRecord) -> list[dict[str, Any]]:
    """Per-cycle view: each side's decision matrix rows, the chosen COA's tasks and notes."""
    by_key: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for row in decision_rows(aar):
        by_key.setdefault((row["cycle"], row["side"]), []).append(row)
    cycles = []
    forecasts = {(c.cycle, c.side): c for c in aar.assessment.forecasts}
    for cycle in aar.cycles:
        plans = []
        for side, plan in cycle.plans.items():
            plans.append(
                {
                    "side": side,
                    "selected": plan.selected_coa,
                    "selected_by": plan.selected_by,
                    "rows": by_key.get((cycle.cycle, side), []),
                    "chosen": plan.selected,
                    "notes": plan.notes,
                    "selection": plan.selection,
                    "analysis": cycle.analyses.get(side),
                    "orders": plan.orders,
                    "forecast": forecasts.get((cycle.cycle, side)),
                }
            )
        cycles.append({"record": cycle, "plans": plans})
    return cycles


# --- charts ----------------------------------------------------------------------------------


def _series(aar: AfterActionRecord) -> dict[str, list[tuple[float, float]]]:
    series: dict[str, list[tuple[float, float]]] = {}
    for row in strength_rows(aar):
        series.setdefault(row["side"], []).append((row["hour"], row["strength"]))
    return series


def _plotly_figure(aar: AfterActionRecord, colors: dict[str, str]) -> dict[str, Any]:
    """The force-strength chart as plain plotly JSON (rendered client-side by plotly.js)."""
    import plotly.graph_objects as go

    names = aar.side_names()
    figure = go.Figure()
    for side, points in _series(aar).items():
        figure.add_trace(
            go.Scatter(
                x=[p[0] for p in points],
                y=[p[1] for p in points],
                name=names.get(side, side),
                mode="lines+markers",
                line={"color": colors.get(side, NEUTRAL_COLOR), "width": 3},
            )
        )
    figure.update_layout(
        template="plotly_white",
        height=320,
        margin={"l": 50, "r": 20, "t": 10, "b": 40},
        xaxis_title="hour (H+)",
        yaxis_title="total strength",
        yaxis_rangemode="tozero",
        legend={"orientation": "h", "y": -0.25},
    )
    return json.loads(figure.to_json())


def _ticks(top: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least `top`."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [i * step for i in range(math.ceil(top / step) + 1)]


def strength_svg(
    aar: AfterActionRecord, colors: dict[str, str], width: int = 640, height: int = 260
) -> dict[str, Any]:
    """Geometry of the force-strength chart as SVG primitives (numbers only; labels by id)."""
    series = _series(aar)
    left, right, top, bottom = 56, 16, 12, 36
    hours = [h for points in series.values() for h, _ in points] or [0.0]
    max_hour = max(hours) or 1.0
    yticks = _ticks(max((s for pts in series.values() for _, s in pts), default=1.0))
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(hour: float) -> float:
        return round(left + plot_w * hour / max_hour, 1)

    def y(value: float) -> float:
        return round(top + plot_h * (1 - value / yticks[-1]), 1)

    lines = [
        {
            "side": side,
            "color": colors.get(side, NEUTRAL_COLOR),
            "points": " ".join(f"{x(h)},{y(s)}" for h, s in points),
            "markers": [(x(h), y(s)) for h, s in points],
        }
        for side, points in series.items()
    ]
    return {
        "width": width,
        "height": height,
        "left": left,
        "right": width - right,
        "top": top,
        "bottom": height - bottom,
        "lines": lines,
        "xticks": [(x(h), f"{h:g}") for h in sorted(set(hours))],
        "yticks": [(y(v), f"{v:g}") for v in yticks],
    }


# --- theater map -----------------------------------------------------------------------------


def theater_svg(
    aar: AfterActionRecord,
    scenario: Scenario,
    colors: dict[str, str],
    width: int = 640,
    max_height: int = 440,
) -> dict[str, Any]:
    """Geometry of a small theater map: countries, routes and places, projected linearly."""
    from shapely.geometry import box

    from sim.theater import load_countries

    bounds = theater_bounds(scenario)
    west, south, east, north = bounds
    kx = math.cos(math.radians((south + north) / 2))
    scale = min(width / ((east - west) * kx), max_height / (north - south))
    height = round((north - south) * scale)
    width = round((east - west) * kx * scale)

    def project(lon: float, lat: float) -> tuple[float, float]:
        return round((lon - west) * kx * scale, 1), round((north - lat) * scale, 1)

    frame = box(*bounds)
    countries = load_countries()
    countries = countries[countries.intersects(frame)]
    shapes, labels = [], []
    for name, geometry in zip(countries["name"], countries.geometry, strict=False):
        clipped = geometry.intersection(frame)
        if clipped.is_empty:
            continue
        shapes.append(_svg_path(clipped, project))
        if clipped.area > 0.08 * frame.area:
            point = clipped.representative_point()
            x, y = project(point.x, point.y)
            half = 3.6 * len(str(name))  # about half the label's width at 13 px italic
            x = min(max(x, half + 4), width - half - 4)
            labels.append({"name": str(name), "xy": (round(x, 1), y)})
    control = aar.outcome.control
    priority, named = place_priorities(scenario), labelled_places(scenario)
    places = []
    for p in scenario.places:
        x, y = project(p.lon, p.lat)
        name = (p.name or p.id) if p.id in named else ""
        flip = x + 8 + 6.2 * len(name) > width  # label would run off the right edge
        places.append(
            {
                "name": name,
                "xy": (x, y),
                "label_x": x - 8 if flip else x + 8,
                "anchor": "end" if flip else "start",
                "color": colors.get(control.get(p.id) or p.control or "", NEUTRAL_COLOR),
                "objective": priority[p.id] == 2,
            }
        )
    return {
        "width": width,
        "height": height,
        "countries": shapes,
        "country_labels": labels,
        "routes": _svg_routes(scenario, project),
        "places": places,
        "tracks": _svg_tracks(aar, scenario, colors, project),
        "battles": _svg_battles(aar, scenario, colors, project),
        "modes": sorted({r.mode for r in scenario.routes}),
        "route_style": ROUTE_STYLE,
    }


def _svg_tracks(
    aar: AfterActionRecord, scenario: Scenario, colors: dict[str, str], project: Any
) -> list[dict[str, Any]]:
    """Polylines of the units that moved; each unit of a side slightly offset from the last,
    so columns that took the same road stay apart."""
    places = {p.id: p for p in scenario.places}
    lines, count = [], dict.fromkeys(colors, 0)
    for track in unit_tracks(aar, scenario):
        if not track.moved:
            continue
        k = count.get(track.side, 0)
        count[track.side] = k + 1
        shift = 1.6 * ((k % 5) - 2)
        points = [project(places[place].lon, places[place].lat) for _, place in track.points]
        points = [(round(x + shift, 1), round(y + shift, 1)) for x, y in points]
        lines.append(
            {
                "unit": track.unit,
                "color": colors.get(track.side, NEUTRAL_COLOR),
                "points": " ".join(f"{x},{y}" for x, y in points),
                "end": points[-1],
                "title": f"{track.unit}: "
                + " → ".join(f"{place} (H+{hour:g})" for hour, place in track.points),
            }
        )
    return lines


def _svg_battles(
    aar: AfterActionRecord, scenario: Scenario, colors: dict[str, str], project: Any
) -> list[dict[str, Any]]:
    """One crossed-swords marker per place fought over, coloured by the last battle's winner."""
    places = {p.id: p for p in scenario.places}
    by_place: dict[str, list[Any]] = {}
    for site in battle_sites(aar):
        if site.place in places:
            by_place.setdefault(site.place, []).append(site)
    markers = []
    for place, sites in by_place.items():
        x, y = project(places[place].lon, places[place].lat)
        last = max(sites, key=lambda s: s.start_hour)
        spans = "; ".join(
            f"H+{s.start_hour:.1f}–"
            + (
                f"H+{s.end_hour:.1f} {s.winner or 'undecided'}"
                if s.end_hour is not None
                else "going on"
            )
            for s in sorted(sites, key=lambda s: s.start_hour)
        )
        markers.append(
            {
                "xy": (x, y),
                "color": colors.get(last.winner or "", "#1d2630"),
                "count": len(sites),
                "title": f"battle of {places[place].name or place}: {spans}",
            }
        )
    return markers


def theater_bounds(scenario: Scenario) -> tuple[float, float, float, float]:
    """Places' bounding box widened by a margin (15% of the span, at least 0.05 degrees)."""
    lons = [p.lon for p in scenario.places]
    lats = [p.lat for p in scenario.places]
    margin_x = max(0.15 * (max(lons) - min(lons)), 0.05)
    margin_y = max(0.15 * (max(lats) - min(lats)), 0.05)
    return (
        max(min(lons) - margin_x, -180.0),
        max(min(lats) - margin_y, -89.0),
        min(max(lons) + margin_x, 180.0),
        min(max(lats) + margin_y, 89.0),
    )


def _rings(geometry: Any) -> Iterable[Any]:
    if geometry.geom_type == "Polygon":
        yield geometry.exterior
        yield from geometry.interiors
    elif hasattr(geometry, "geoms"):
        for part in geometry.geoms:
            yield from _rings(part)


def _svg_path(geometry: Any, project: Any) -> str:
    """SVG path data of every polygon ring of a (clipped) geometry."""
    parts = []
    for ring in _rings(geometry):
        points = [project(lon, lat) for lon, lat in ring.coords]
        if len(points) > 2:
            parts.append("M" + "L".join(f"{px},{py}" for px, py in points) + "Z")
    return "".join(parts)


def _svg_routes(scenario: Scenario, project: Any) -> list[dict[str, Any]]:
    """Route segments; parallel routes between the same places are offset side by side."""
    places = {p.id: p for p in scenario.places}
    pairs: dict[frozenset[str], list[Any]] = {}
    for route in scenario.routes:
        pairs.setdefault(frozenset((route.source, route.target)), []).append(route)
    segments = []
    for routes in pairs.values():
        for k, route in enumerate(routes):
            (x1, y1) = project(places[route.source].lon, places[route.source].lat)
            (x2, y2) = project(places[route.target].lon, places[route.target].lat)
            length = math.hypot(x2 - x1, y2 - y1) or 1.0
            shift = 3.0 * (k - (len(routes) - 1) / 2)
            dx, dy = -(y2 - y1) / length * shift, (x2 - x1) / length * shift
            style = ROUTE_STYLE.get(route.mode, ROUTE_STYLE["road"])
            segments.append(
                {
                    "x1": round(x1 + dx, 1),
                    "y1": round(y1 + dy, 1),
                    "x2": round(x2 + dx, 1),
                    "y2": round(y2 + dy, 1),
                    **style,
                }
            )
    return segments
