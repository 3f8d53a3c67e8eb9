"""The console's theater map as pydeck layers: land, routes, objectives, symbols, COA arrows.

Everything is drawn from records (the scenario, a cycle's situation or a side's picture, the
COAs of a decision, tracks and battles of the after-action record) on a blank MapLibre style:
no tile server, no request off the machine. Geometry rules that keep the map readable at
every zoom: the view is fitted (Web Mercator) to every place and objective; land is whole
countries (never clipped to a box); units stand at their place and are fanned out in screen
pixels (`get_pixel_offset`), ships towards open sea; place labels that would overlap at the
fitted view are dropped, objectives kept first; tooltips use names.
"""

from __future__ import annotations

import html
import json
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any
from urllib.parse import quote

import pydeck as pdk

from planner.console_symbols import symbol_atlas, symbol_image, unit_sidc
from planner.record import COARecord, UnitPosition
from planner.report import ROUTE_STYLE, place_priorities, side_colors
from sim.scenario import Scenario

__all__ = [
    "MAP_HEIGHT",
    "MAP_WIDTH",
    "CompactDeck",
    "OFFLINE_MAP_STYLE",
    "MapView",
    "PerceivedUnit",
    "Situation",
    "coa_arrow_rows",
    "fit_view",
    "land_geojson",
    "legend_html",
    "map_deck",
    "place_label_rows",
    "project",
    "perceived_units",
    "sea_bearings",
    "start_positions",
    "theater_view",
    "unit_marker_rows",
]

#: The map's size on the page (pixels); the view is fitted for a frame no larger than this.
MAP_WIDTH, MAP_HEIGHT = 760, 520
#: Pixels kept free around the fitted places (symbols and labels need room).
FIT_PADDING = 48
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
NEUTRAL = "#9a9a9a"
#: Widths in pixels of the COA arrows: main effort, supporting effort, reserve (dashed).
EFFORT_WIDTH = {"main": 9, "supporting": 4, "reserve": 4}
#: deck.gl's world is 512 pixels wide at zoom 0.
_TILE = 512


@dataclass(frozen=True)
class MapView:
    """Centre and zoom of the map (deck.gl's view state)."""

    longitude: float
    latitude: float
    zoom: float


@dataclass(frozen=True)
class PerceivedUnit:
    """An enemy unit in a side's picture: where and how strong it was last reported."""

    unit: str
    side: str
    type: str
    place: str
    strength: float
    seen_hour: float
    age_hours: float


@dataclass
class Situation:
    """What the map shows: the hour, control, unit positions (the truth, or one side's own
    units), the enemy a side believes in (None: the ground truth is shown)."""

    hour: float
    control: dict[str, str | None]
    positions: dict[str, UnitPosition]
    viewer: str | None = None
    perceived: list[PerceivedUnit] = field(default_factory=list)


# --- projection ------------------------------------------------------------------------------


def _mercator_y(lat: float) -> float:
    """Web Mercator y of a latitude, in radians of the world's width (2π = one world)."""
    lat = max(min(lat, 85.0), -85.0)
    return math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))


def fit_view(
    points: Iterable[tuple[float, float]],
    width: int = MAP_WIDTH,
    height: int = MAP_HEIGHT,
    padding: int = FIT_PADDING,
) -> MapView:
    """The view that shows every (lon, lat) point inside a `width` x `height` frame with
    `padding` pixels to spare on every side (Web Mercator, as deck.gl draws)."""
    lons, lats = zip(*points, strict=True)
    west, east = min(lons), max(lons)
    ys = [_mercator_y(lat) for lat in lats]
    low, high = min(ys), max(ys)
    span_x = max((east - west) / 360.0, 1e-6)
    span_y = max((high - low) / (2 * math.pi), 1e-6)
    zoom_x = math.log2((width - 2 * padding) / (_TILE * span_x))
    zoom_y = math.log2((height - 2 * padding) / (_TILE * span_y))
    middle = (low + high) / 2
    latitude = math.degrees(2 * math.atan(math.exp(middle)) - math.pi / 2)
    return MapView(
        longitude=(west + east) / 2,
        latitude=latitude,
        zoom=math.floor(1000 * max(0.5, min(13.0, zoom_x, zoom_y))) / 1000,  # never over
    )


def project(
    lon: float, lat: float, view: MapView, width: int = MAP_WIDTH, height: int = MAP_HEIGHT
) -> tuple[float, float]:
    """Screen pixels (x right, y down) of a point in a `width` x `height` map at `view`."""
    scale = _TILE * 2**view.zoom
    x = (lon - view.longitude) / 360.0 * scale + width / 2
    y = -(_mercator_y(lat) - _mercator_y(view.latitude)) / (2 * math.pi) * scale + height / 2
    return x, y


def theater_view(scenario: Scenario) -> MapView:
    """The view fitted to every place of the scenario (objectives are places)."""
    return fit_view((p.lon, p.lat) for p in scenario.places)


# --- land ------------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def land_geojson(view: MapView) -> dict[str, Any]:
    """Land as two sets of countries: the world's larger land masses coarsely (0.3 degree),
    so land never ends at a box when zooming out, and over them, in detail (about a pixel
    and a half at the view's zoom), the countries within two views' width of the centre,
    cut well outside what the fitted view shows."""
    import shapely

    from sim.theater import load_countries

    degrees_per_pixel = 360.0 / (_TILE * 2**view.zoom)
    countries = load_countries()
    half = max(degrees_per_pixel * MAP_WIDTH, 1.0)
    near = shapely.box(
        view.longitude - half,
        max(view.latitude - half, -85.0),
        view.longitude + half,
        min(view.latitude + half, 85.0),
    )
    close = countries[countries.intersects(near)].clip(near)
    parts = countries[["name", "geometry"]].explode(index_parts=False)
    with warnings.catch_warnings():  # areas in square degrees only rank the parts
        warnings.simplefilter("ignore", UserWarning)
        large = parts[parts.geometry.area >= 0.5]
    features = []
    for frame, tolerance in ((large, 0.3), (close, 1.5 * degrees_per_pixel)):
        simplified = frame.set_geometry(frame.geometry.simplify(tolerance))
        simplified = simplified[~simplified.geometry.is_empty]
        digits = max(2, math.ceil(-math.log10(tolerance)) + 1)
        rounded = simplified.set_geometry(
            shapely.transform(simplified.geometry.values, lambda xy, d=digits: xy.round(d))
        )
        for feature in json.loads(rounded[["name", "geometry"]].to_json())["features"]:
            feature["properties"]["tooltip"] = html.escape(str(feature["properties"]["name"]))
            features.append(feature)
    return {"type": "FeatureCollection", "features": features}


@lru_cache(maxsize=16)
def _sea_bearings_cached(
    ports: tuple[tuple[str, float, float], ...],
) -> dict[str, tuple[float, float]]:
    import shapely

    from sim.theater import load_countries

    countries = load_countries()
    bearings: dict[str, tuple[float, float]] = {}
    for place, lon, lat in ports:
        around = shapely.Point(lon, lat).buffer(0.3)
        land = countries[countries.intersects(around)].geometry.union_all()
        if land is None or land.is_empty:
            continue
        best, most_sea = (0.0, 0.0), 0
        for k in range(16):
            angle = 2 * math.pi * k / 16
            dx, dy = math.cos(angle), math.sin(angle)  # east, north
            sea = sum(
                not land.contains(shapely.Point(lon + r * dx, lat + r * dy))
                for r in (0.03, 0.06, 0.1, 0.15)
            )
            if sea > most_sea:
                best, most_sea = (dx, -dy), sea  # screen y points down
        if most_sea > 0:
            bearings[place] = best
    return bearings


def sea_bearings(scenario: Scenario) -> dict[str, tuple[float, float]]:
    """Per coastal place (one with a sea route), the screen direction (x right, y down, unit
    length) towards open sea, so ships at a port are drawn on the water, not inland."""
    ends = {r.source for r in scenario.routes if r.mode == "sea"} | {
        r.target for r in scenario.routes if r.mode == "sea"
    }
    ports = tuple((p.id, p.lon, p.lat) for p in scenario.places if p.id in ends and p.kind != "sea")
    return _sea_bearings_cached(ports)


# --- rows ------------------------------------------------------------------------------------


def rgb(color: str, alpha: int = 255) -> list[int]:
    """[r, g, b, a] of a #rgb or #rrggbb colour."""
    digits = color.lstrip("#")
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    return [int(digits[i : i + 2], 16) for i in (0, 2, 4)] + [alpha]


def _names(scenario: Scenario) -> dict[str, str]:
    return {p.id: p.name or p.id for p in scenario.places}


def route_rows(scenario: Scenario) -> list[dict[str, Any]]:
    """One straight path per route, coloured by mode, with a named tooltip."""
    places, names = {p.id: p for p in scenario.places}, _names(scenario)
    return [
        {
            "path": [
                [places[r.source].lon, places[r.source].lat],
                [places[r.target].lon, places[r.target].lat],
            ],
            "color": rgb(ROUTE_STYLE.get(r.mode, ROUTE_STYLE["road"])["color"], 200),
            "tooltip": html.escape(
                f"{r.mode}: {names[r.source]} – {names[r.target]} ({r.terrain})"
            ),
        }
        for r in scenario.routes
    ]


def place_rows(
    scenario: Scenario, control: dict[str, str | None], colors: dict[str, str]
) -> list[dict[str, Any]]:
    """Places as dots coloured by the side holding them, with a named tooltip."""
    sides = {s.id: s.name or s.id for s in scenario.sides}
    objectives = _objectives(scenario)
    rows = []
    for p in scenario.places:
        holder = control.get(p.id, p.control) or ""
        aims = "; ".join(
            f"objective of {sides[side]}: {kind} by H+{deadline:g}"
            for side, kind, deadline in objectives.get(p.id, [])
        )
        rows.append(
            {
                "position": [p.lon, p.lat],
                "color": rgb(colors.get(holder, NEUTRAL)),
                "tooltip": html.escape(
                    f"{p.name or p.id} ({p.kind}, {p.terrain}), held by "
                    f"{sides.get(holder, 'nobody')}" + (f". {aims}" if aims else "")
                ),
            }
        )
    return rows


def _objectives(scenario: Scenario) -> dict[str, list[tuple[str, str, float]]]:
    by_place: dict[str, list[tuple[str, str, float]]] = {}
    for side in scenario.sides:
        for o in side.mission.objectives:
            by_place.setdefault(o.place, []).append((side.id, o.kind, o.deadline_hours))
    return by_place


def objective_rows(scenario: Scenario, colors: dict[str, str]) -> list[dict[str, Any]]:
    """A ring per objective in its side's colour (a second side's ring is drawn wider)."""
    places, sides = (
        {p.id: p for p in scenario.places},
        {s.id: s.name or s.id for s in scenario.sides},
    )
    rows = []
    for place, aims in _objectives(scenario).items():
        for k, (side, kind, deadline) in enumerate(aims):
            rows.append(
                {
                    "position": [places[place].lon, places[place].lat],
                    "radius": 13 + 5 * k,
                    "color": rgb(colors.get(side, NEUTRAL)),
                    "tooltip": html.escape(
                        f"Objective of {sides[side]}: {kind} {places[place].name or place} "
                        f"by H+{deadline:g}"
                    ),
                }
            )
    return rows


#: Where a place's name may go, in pixels from the place (first free one wins): below,
#: above, right, left.
_LABEL_SPOTS = ((0, 16), (0, -34), (1, -8), (-1, -8))


def label_box(x: float, y: float, name: str, spot: tuple[int, int]) -> tuple[float, ...]:
    """The screen box (left, top, right, bottom) of a label at one of `_LABEL_SPOTS`."""
    w, h = 7.5 * len(name) + 4, 16.0
    dx, dy = spot
    left = x - w / 2 if dx == 0 else x + 12 if dx > 0 else x - 12 - w
    return (left, y + dy, left + w, y + dy + h)


def _overlaps(box: tuple[float, ...], boxes: list[tuple[float, ...]]) -> bool:
    return any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in boxes)


def place_label_rows(scenario: Scenario, view: MapView) -> list[dict[str, Any]]:
    """Place names in priority order (objectives, then cities, ports and bases, then the
    rest), each at the first spot (below, above, right, left of its place) where it overlaps
    no name already placed at the fitted view; other places go unnamed (their tooltip names
    them), objectives are named even where every spot is taken."""
    priority = place_priorities(scenario)
    order = sorted(scenario.places, key=lambda p: (-priority[p.id], p.id))
    placed: list[tuple[float, ...]] = []
    rows = []
    for p in order:
        x, y = project(p.lon, p.lat, view)
        name = p.name or p.id
        spot = next(
            (s for s in _LABEL_SPOTS if not _overlaps(label_box(x, y, name, s), placed)), None
        )
        if spot is None and priority[p.id] < 2:
            continue
        spot = spot or _LABEL_SPOTS[0]
        box = label_box(x, y, name, spot)
        placed.append(box)
        rows.append(
            {
                "position": [p.lon, p.lat],
                "name": name,
                "priority": priority[p.id],
                "size": 15 if priority[p.id] == 2 else 13,
                "offset": [round((box[0] + box[2]) / 2 - x, 1), round(box[1] - y, 1)],
                "box": [round(v, 1) for v in box],
            }
        )
    return rows


def _ring(count: int, radius: float) -> list[tuple[float, float]]:
    if count == 1:
        return [(0.0, -radius)]
    return [
        (radius * math.sin(2 * math.pi * i / count), -radius * math.cos(2 * math.pi * i / count))
        for i in range(count)
    ]


def _friendly(scenario: Scenario, unit_side: str, viewer: str | None) -> bool:
    if viewer is not None:
        return unit_side == viewer
    return scenario.side(unit_side).doctrine == "friendly"


def icon_size(units: int) -> int:
    """Symbol height in pixels: smaller as the theater fills (26 px up to 30 units, then 20
    up to 80, then 16)."""
    return 26 if units <= 30 else 20 if units <= 80 else 16


def unit_marker_rows(
    scenario: Scenario,
    situation: Situation,
    colors: dict[str, str],
) -> list[dict[str, Any]]:
    """One symbol per unit at its place, fanned out in screen pixels: land and air units on a
    ring around the place, ships towards open sea. Strength is the label under the symbol
    (per cent of the unit's starting strength)."""
    specs = {u.id: u for u in scenario.units}
    places, names = {p.id: p for p in scenario.places}, _names(scenario)
    side_names = {s.id: s.name or s.id for s in scenario.sides}
    bearings = sea_bearings(scenario)
    entries: list[dict[str, Any]] = []
    for uid, where in situation.positions.items():
        spec = specs.get(uid)
        if spec is None or where.place not in places:
            continue
        if situation.viewer is not None and spec.side != situation.viewer:
            continue
        moving = (
            f", moving to {names.get(where.moving_to, where.moving_to)}" if where.moving_to else ""
        )
        entries.append(
            {
                "unit": uid,
                "side": spec.side,
                "place": where.place,
                "sea": scenario.unit_types[spec.type].domain == "sea",
                "sidc": unit_sidc(scenario, spec, _friendly(scenario, spec.side, situation.viewer)),
                "strength": where.strength,
                "initial": spec.strength,
                "tooltip": f"{spec.name or uid} ({side_names[spec.side]}, {spec.type}): strength "
                f"{where.strength:,.0f} of {spec.strength:,.0f} at {names[where.place]}{moving}",
            }
        )
    for seen in situation.perceived:
        spec = specs.get(seen.unit)
        if spec is None or seen.place not in places:
            continue
        entries.append(
            {
                "unit": seen.unit,
                "side": seen.side,
                "place": seen.place,
                "sea": scenario.unit_types[seen.type].domain == "sea",
                "sidc": unit_sidc(scenario, spec, False),
                "strength": seen.strength,
                "initial": spec.strength,
                "tooltip": f"Reported: {spec.name or seen.unit} ({side_names[seen.side]}, "
                f"{seen.type}), estimated strength {seen.strength:,.0f} at "
                f"{names[seen.place]}, seen H+{seen.seen_hour:g} ({seen.age_hours:g} h old)",
            }
        )
    size = icon_size(len(entries))
    by_place: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for entry in entries:
        at_sea = entry["sea"] and entry["place"] in bearings
        by_place.setdefault((entry["place"], at_sea), []).append(entry)
    rows = []
    for (place_id, at_sea), group in by_place.items():
        if at_sea:
            bx, by = bearings[place_id]
            offsets = [
                (
                    bx * 1.2 * size - by * size * (i - (len(group) - 1) / 2),
                    by * 1.2 * size + bx * size * (i - (len(group) - 1) / 2),
                )
                for i in range(len(group))
            ]
        else:
            offsets = _ring(len(group), max(0.85 * size, 1.15 * size * len(group) / (2 * math.pi)))
        for entry, (dx, dy) in zip(group, offsets, strict=True):
            share = entry["strength"] / entry["initial"] if entry["initial"] else 0.0
            rows.append(
                {
                    "position": [places[place_id].lon, places[place_id].lat],
                    "offset": [round(dx, 1), round(dy, 1)],
                    "label_offset": [round(dx + 0.8 * size + 12, 1), round(dy, 1)],
                    "size": size,
                    "strength": f"{100 * share:.0f}%",
                    "color": rgb(colors.get(entry["side"], NEUTRAL)),
                    "unit": entry["unit"],
                    "side": entry["side"],
                    "sidc": entry["sidc"],
                    "tooltip": html.escape(entry["tooltip"]),
                }
            )
    return rows


def start_positions(scenario: Scenario) -> dict[str, UnitPosition]:
    """Units at H+0 (reinforcements not yet arrived are not drawn)."""
    return {
        u.id: UnitPosition(place=u.location, strength=u.strength)
        for u in scenario.units
        if u.arrives_hour <= 0
    }


def perceived_units(scenario: Scenario, world: dict[str, Any], side: str) -> list[PerceivedUnit]:
    """The enemy units `side` believes in at the snapshot's hour (reports that have arrived
    and are not stale, as the planner's picture uses them) with the age of each report."""
    from sim.state import WorldState

    state = WorldState.from_dict(world)
    stale = scenario.side(side).track_stale_hours
    seen = []
    for uid, reports in state.detections.get(side, {}).items():
        usable = [r for r in reports if r.reported_hour <= state.hour]
        if not usable or state.hour - usable[-1].seen_hour > stale or uid not in state.units:
            continue
        last = usable[-1]
        seen.append(
            PerceivedUnit(
                unit=uid,
                side=state.units[uid].side,
                type=last.type,
                place=last.place,
                strength=round(last.strength, 1),
                seen_hour=round(last.seen_hour, 2),
                age_hours=round(state.hour - last.seen_hour, 1),
            )
        )
    return sorted(seen, key=lambda s: s.unit)


# --- COAs ------------------------------------------------------------------------------------


def _members(scenario: Scenario, element: str) -> list[str]:
    """Units of an element: the unit itself, or every unit under a formation."""
    children: dict[str, list[str]] = {}
    for f in scenario.formations:
        if f.parent:
            children.setdefault(f.parent, []).append(f.id)
    wanted, stack = {element}, [element]
    while stack:
        for child in children.get(stack.pop(), []):
            wanted.add(child)
            stack.append(child)
    return [u.id for u in scenario.units if u.id in wanted or (u.parent or "") in wanted]


def _origin(
    scenario: Scenario, elements: Sequence[str], positions: dict[str, UnitPosition]
) -> list[float] | None:
    """The mean position of an element's units: where they stand in `positions`, or at their
    start places when there are no positions yet."""
    places = {p.id: p for p in scenario.places}
    start = {u.id: u.location for u in scenario.units}
    spots = []
    for element in elements:
        for unit in _members(scenario, element):
            where = positions[unit].place if unit in positions else None
            if where is None and not positions:
                where = start[unit]
            if where in places:
                spots.append(places[where])
    if not spots:
        return None
    return [sum(p.lon for p in spots) / len(spots), sum(p.lat for p in spots) / len(spots)]


def coa_arrow_rows(
    scenario: Scenario,
    coa: COARecord,
    positions: dict[str, UnitPosition],
    color: str,
) -> list[dict[str, Any]]:
    """A COA's concept as arrows from where its elements stand: the main effort along its
    axis (thick), each supporting effort (thin), the reserve to its position (dashed). A COA
    without efforts is drawn from its tasks (thin)."""
    places, names = {p.id: p for p in scenario.places}, _names(scenario)

    def arrow(role: str, elements: Sequence[str], axis: Sequence[str], what: str) -> None:
        origin = _origin(scenario, elements, positions)
        stops = [[places[a].lon, places[a].lat] for a in axis if a in places]
        if origin is None or not stops:
            return
        path = [origin] + [s for s in stops if s != origin]
        if len(path) < 2:
            return
        rows.append(
            {
                "path": path,
                "role": role,
                "width": EFFORT_WIDTH[role],
                "color": rgb(color, 230 if role == "main" else 200),
                "dashed": role == "reserve",
                "coa": coa.id,
                "tooltip": html.escape(f"{coa.id} {coa.name}: {what}"),
            }
        )

    rows: list[dict[str, Any]] = []
    efforts = ([coa.main_effort] if coa.main_effort else []) + list(coa.supporting_efforts)
    for effort in efforts:
        arrow(
            effort.role,
            effort.elements,
            effort.axis,
            f"{effort.role} effort ({', '.join(effort.elements)}) via "
            + " → ".join(names.get(a, a) for a in effort.axis)
            + (f": {effort.purpose}" if effort.purpose else ""),
        )
    if coa.reserve:
        target = [coa.reserve.position] + ([coa.reserve.target] if coa.reserve.target else [])
        arrow(
            "reserve",
            coa.reserve.elements,
            target,
            f"reserve ({', '.join(coa.reserve.elements)}) at {names.get(coa.reserve.position)}",
        )
    if not rows:
        for task in coa.tasks:
            if task.target and task.action not in ("hold", "defend"):
                arrow(
                    "supporting",
                    [task.unit],
                    [task.target],
                    f"{task.unit} {task.action} {names.get(task.target, task.target)}",
                )
    return rows


def arrow_heads(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A triangle at the end of each arrow, turned along its last leg (screen angle)."""
    heads = []
    for row in rows:
        (x1, y1), (x2, y2) = row["path"][-2], row["path"][-1]
        dx, dy = x2 - x1, _mercator_y(y2) * 180 / math.pi - _mercator_y(y1) * 180 / math.pi
        heads.append(
            {
                "position": row["path"][-1],
                "angle": math.degrees(math.atan2(dy, dx)),
                "size": 14 + 2 * row["width"],
                "color": row["color"],
                "text": "▶",
                "tooltip": row["tooltip"],
            }
        )
    return heads


# --- what happened ---------------------------------------------------------------------------


_BATTLE_SVG = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="24" height="24" viewBox="0 0 24 24">'
    '<circle cx="12" cy="12" r="11" fill="white" stroke="{color}" stroke-width="2"/>'
    '<path d="M6 6 L18 18 M18 6 L6 18" stroke="{color}" stroke-width="3" '
    'stroke-linecap="round"/></svg>'
)


def battle_icon(color: str) -> dict[str, Any]:
    """A crossed-lines battle marker in a colour, as an IconLayer icon."""
    return {
        "url": "data:image/svg+xml;charset=utf-8," + quote(_BATTLE_SVG.format(color=color)),
        "width": 24,
        "height": 24,
        "anchorY": 12,
    }


# --- the deck --------------------------------------------------------------------------------


class CompactDeck(pdk.Deck):
    """A Deck whose JSON has no indentation (pydeck indents it, six times the bytes sent to
    the browser on every redraw)."""

    def to_json(self) -> str:
        """The deck's JSON, compact."""
        return json.dumps(json.loads(super().to_json()), separators=(",", ":"))


def _layer(kind: str, data: Any, **props: Any) -> pdk.Layer:
    return pdk.Layer(kind, data, **props)


def map_deck(
    scenario: Scenario,
    situation: Situation,
    *,
    coas: Sequence[tuple[COARecord, str]] = (),
    tracks: Sequence[dict[str, Any]] = (),
    battles: Sequence[dict[str, Any]] = (),
    view: MapView | None = None,
) -> pdk.Deck:
    """The theater map: land, routes, tracks, COA arrows, objectives, places, battles, unit
    symbols with strength, and labels; `coas` are (COA, colour) pairs to sketch."""
    colors = side_colors([side.id for side in scenario.sides], scenario)
    view = view or theater_view(scenario)
    pixels = "'pixels'"  # a literal for pydeck, which reads bare strings as accessors
    arrows = [
        row
        for coa, color in coas
        for row in coa_arrow_rows(scenario, coa, situation.positions, color)
    ]
    units = unit_marker_rows(scenario, situation, colors)
    atlas = symbol_atlas(row["sidc"] for row in units)
    layers = [
        _layer(
            "GeoJsonLayer",
            land_geojson(view),
            id="land",
            stroked=True,
            filled=True,
            get_fill_color=[242, 239, 230],
            get_line_color=[150, 140, 125],
            line_width_min_pixels=1,
            pickable=True,
        ),
        _layer(
            "PathLayer",
            route_rows(scenario),
            id="routes",
            get_path="path",
            get_color="color",
            width_min_pixels=2,
            pickable=True,
        ),
        _layer(
            "PathLayer",
            list(tracks),
            id="tracks",
            get_path="path",
            get_color="color",
            width_min_pixels=3,
            pickable=True,
        ),
        _layer(
            "PathLayer",
            [a for a in arrows if not a["dashed"]],
            id="coa-arrows",
            get_path="path",
            get_color="color",
            get_width="width",
            width_units=pixels,
            cap_rounded=True,
            joint_rounded=True,
            pickable=True,
        ),
        _layer(
            "PathLayer",
            [a for a in arrows if a["dashed"]],
            id="coa-reserve",
            get_path="path",
            get_color="color",
            get_width="width",
            width_units=pixels,
            get_dash_array=[3, 2],
            dash_justified=True,
            extensions=[{"@@type": "PathStyleExtension", "dash": True}],
            pickable=True,
        ),
        _layer(
            "TextLayer",
            arrow_heads(arrows),
            id="coa-heads",
            get_position="position",
            get_text="text",
            get_angle="angle",
            get_size="size",
            get_color="color",
            character_set="'auto'",
            pickable=True,
        ),
        _layer(
            "ScatterplotLayer",
            objective_rows(scenario, colors),
            id="objectives",
            get_position="position",
            get_radius="radius",
            radius_units=pixels,
            filled=False,
            stroked=True,
            get_line_color="color",
            line_width_min_pixels=3,
            pickable=True,
        ),
        _layer(
            "ScatterplotLayer",
            place_rows(scenario, situation.control, colors),
            id="places",
            get_position="position",
            get_fill_color="color",
            get_radius=6,
            radius_units=pixels,
            stroked=True,
            get_line_color=[29, 38, 48],
            line_width_min_pixels=2,
            pickable=True,
        ),
        _layer(
            "IconLayer",
            list(battles),
            id="battles",
            get_position="position",
            get_icon="icon",
            get_size=22,
            size_units=pixels,
            get_pixel_offset=[14, 14],
            pickable=True,
        ),
        _layer(
            "IconLayer",
            units,
            id="units",
            get_position="position",
            icon_atlas=f"'{atlas.url}'",  # quoted: a literal, not an accessor
            icon_mapping=atlas.mapping,
            get_icon="sidc",
            get_size="size",
            size_units=pixels,
            get_pixel_offset="offset",
            pickable=True,
        ),
        _layer(
            "TextLayer",
            units if len(units) <= 40 else [],
            id="strength",
            get_position="position",
            get_text="strength",
            get_pixel_offset="label_offset",
            get_size=11,
            character_set="'auto'",
            get_color=[29, 38, 48],
            background=True,
            get_background_color=[255, 255, 255, 210],
            background_padding=[2, 0],
        ),
        _layer(
            "TextLayer",
            place_label_rows(scenario, view),
            id="labels",
            get_position="position",
            get_text="name",
            get_size="size",
            get_color=[29, 38, 48],
            get_pixel_offset="offset",
            get_alignment_baseline="'top'",
            character_set="'auto'",
            font_family="'Helvetica Neue, Arial, sans-serif'",
            font_weight=600,
            outline_width=2,
            outline_color=[255, 255, 255],
            font_settings={"sdf": True},
        ),
    ]
    return CompactDeck(
        layers=layers,
        initial_view_state=pdk.ViewState(
            longitude=view.longitude, latitude=view.latitude, zoom=view.zoom
        ),
        map_style=OFFLINE_MAP_STYLE,
        map_provider=None,
        tooltip={
            "html": "{tooltip}",
            "style": {
                "maxWidth": "260px",
                "whiteSpace": "normal",
                "fontSize": "12px",
                "backgroundColor": "#1d2630",
                "color": "white",
            },
        },
    )


def legend_html(scenario: Scenario) -> str:
    """The map's legend as HTML (escaped): sides and their symbols, objectives, routes by
    mode, COA arrows, tracks and battles."""
    colors = side_colors([side.id for side in scenario.sides], scenario)
    parts = []
    for side in scenario.sides:
        unit = next((u for u in scenario.units if u.side == side.id), None)
        icon = ""
        if unit is not None:
            image = symbol_image(unit_sidc(scenario, unit, side.doctrine == "friendly"), 20)
            icon = f'<img src="{image["url"]}" height="18" style="vertical-align:middle"> '
        parts.append(
            f'<span style="margin-right:14px">{icon}<b style="color:{colors[side.id]}">'
            f"{html.escape(side.name or side.id)}</b></span>"
        )
    for mode in sorted({r.mode for r in scenario.routes}):
        color = ROUTE_STYLE.get(mode, ROUTE_STYLE["road"])["color"]
        parts.append(
            f'<span style="margin-right:14px"><span style="display:inline-block;width:22px;'
            f'height:3px;background:{color};vertical-align:middle"></span> {html.escape(mode)}'
            "</span>"
        )
    parts.append(
        '<span style="margin-right:14px">◯ objective (ring in its side\'s colour)</span>'
        '<span style="margin-right:14px">━ main effort, ─ supporting, ┅ reserve</span>'
        '<span style="margin-right:14px">⊗ battle</span>'
        "<span>% = strength left</span>"
    )
    return '<div style="font-size:13px;line-height:1.9">' + "".join(parts) + "</div>"
