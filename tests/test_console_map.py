"""The console map: the fitted view, land, pixel offsets, ships at sea, COA arrows, labels."""

from __future__ import annotations

import math

import shapely

from planner.console_map import (
    MAP_HEIGHT,
    MAP_WIDTH,
    MapView,
    Situation,
    coa_arrow_rows,
    fit_view,
    land_geojson,
    map_deck,
    place_label_rows,
    project,
    sea_bearings,
    start_positions,
    theater_view,
    unit_marker_rows,
)
from planner.record import COARecord
from planner.report import side_colors
from scenarios import list_scenarios, resolve_scenario
from sim.scenario import load_scenario
from sim.theater import load_countries


def test_projection_matches_web_mercator() -> None:
    view = MapView(longitude=0.0, latitude=0.0, zoom=0.0)
    # deck.gl's world is 512 px wide at zoom 0: 90 degrees east is a quarter of it.
    assert project(0.0, 0.0, view, 512, 512) == (256.0, 256.0)
    assert project(90.0, 0.0, view, 512, 512)[0] == 384.0
    y = project(0.0, 60.0, view, 512, 512)[1]
    expected = 256 - math.log(math.tan(math.pi / 4 + math.radians(60) / 2)) / (2 * math.pi) * 512
    assert abs(y - expected) < 1e-9


def test_every_place_and_objective_of_every_shipped_scenario_is_inside_the_map() -> None:
    names = [name for name, _ in list_scenarios()]
    assert "baltic_corps" in names
    for name in names:
        scenario = load_scenario(resolve_scenario(name))
        view = theater_view(scenario)
        for place in scenario.places:
            x, y = project(place.lon, place.lat, view)
            assert 40 <= x <= MAP_WIDTH - 40 and 40 <= y <= MAP_HEIGHT - 40, (name, place.id)


def test_fit_uses_the_frame() -> None:
    points = [(20.0, 50.0), (30.0, 60.0)]
    wide, tall = fit_view(points, 1000, 300, 0), fit_view(points, 300, 1000, 0)
    corners = [project(lon, lat, wide, 1000, 300) for lon, lat in points]
    # Tall box in a wide frame: the height is filled (zoom kept to 3 decimals), not exceeded.
    assert 299 <= abs(corners[0][1] - corners[1][1]) <= 300
    # The same box in a narrow frame fills its width instead.
    corners = [project(lon, lat, tall, 300, 1000) for lon, lat in points]
    assert 299 <= abs(corners[0][0] - corners[1][0]) <= 300


def test_land_is_whole_countries_not_a_box() -> None:
    scenario = load_scenario(resolve_scenario("baltic_corps"))
    land = land_geojson(theater_view(scenario))
    names = {f["properties"]["name"] for f in land["features"]}
    assert {"Estonia", "Latvia", "Lithuania", "Belarus"} <= {n for n in names if n}
    russia = next(f for f in land["features"] if f["properties"]["name"] == "Russia")
    east = shapely.geometry.shape(russia["geometry"]).bounds[2]
    assert east > 150  # Russia reaches the Pacific: not cut at the theater's edge


def test_ships_at_a_port_are_drawn_on_the_water() -> None:
    scenario = load_scenario(resolve_scenario("western_pacific"))
    bearings = sea_bearings(scenario)
    assert bearings
    countries = load_countries()
    places = {p.id: p for p in scenario.places}
    checked = 0
    for place, (dx, dy) in bearings.items():
        p = places[place]
        point = shapely.Point(p.lon + 0.1 * dx, p.lat - 0.1 * dy)  # screen y points down
        around = countries[countries.intersects(point.buffer(0.5))]
        checked += 1
        assert not around.geometry.contains(point).any(), place
    assert checked == len(bearings)


def test_units_are_offset_in_pixels_around_their_place() -> None:
    scenario = load_scenario(resolve_scenario("tutorial"))
    colors = side_colors([s.id for s in scenario.sides], scenario)
    situation = Situation(hour=0.0, control={}, positions=start_positions(scenario))
    rows = unit_marker_rows(scenario, situation, colors)
    assert len(rows) == len(situation.positions)
    places = {p.id: p for p in scenario.places}
    for row, unit in zip(rows, situation.positions.values(), strict=False):
        assert row["position"] in [[p.lon, p.lat] for p in places.values()]
        assert unit.place
    # Units sharing a place get distinct pixel offsets.
    by_position: dict[tuple, list] = {}
    for row in rows:
        by_position.setdefault(tuple(row["position"]), []).append(tuple(row["offset"]))
    shared = [offsets for offsets in by_position.values() if len(offsets) > 1]
    assert shared and all(len(set(o)) == len(o) for o in shared)


def test_coa_arrows_main_thick_supporting_thin_reserve_dashed() -> None:
    scenario = load_scenario(resolve_scenario("tutorial"))
    units = {u.id: u for u in scenario.units}
    blue = [units["b-inf-1"], units["b-mech-2"], units["b-arm-3"]]  # at Narva, Jõhvi, Rakvere
    coa = COARecord.model_validate(
        {
            "id": "x",
            "name": "test",
            "main_effort": {
                "role": "main",
                "elements": [blue[0].id],
                "axis": ["sillamae", "johvi"],
            },
            "supporting_efforts": [
                {"role": "supporting", "elements": [blue[1].id], "axis": ["tallinn"]}
            ],
            "reserve": {"elements": [blue[2].id], "position": "paide"},
        }
    )
    rows = coa_arrow_rows(scenario, coa, {}, "#1f5fbf")
    roles = {row["role"]: row for row in rows}
    assert set(roles) <= {"main", "supporting", "reserve"}
    assert "main" in roles and "reserve" in roles
    assert roles["main"]["width"] > roles["reserve"]["width"]
    assert roles["reserve"]["dashed"] and not roles["main"]["dashed"]
    assert [u.location for u in blue] == ["narva", "johvi", "rakvere"]
    johvi = next(p for p in scenario.places if p.id == "johvi")
    assert roles["main"]["path"][-1] == [johvi.lon, johvi.lat]
    assert len(roles["main"]["path"]) == 3  # from the unit, along the axis
    deck = map_deck(
        scenario,
        Situation(hour=0.0, control={}, positions=start_positions(scenario)),
        coas=[(coa, "#1f5fbf")],
    )
    layers = {layer.id: layer for layer in deck.layers}
    assert layers["coa-reserve"].data and layers["coa-arrows"].data


def test_labels_do_not_overlap_at_the_fitted_view() -> None:
    scenario = load_scenario(resolve_scenario("baltic_corps"))
    view = theater_view(scenario)
    rows = place_label_rows(scenario, view)
    objectives = {o.place for s in scenario.sides for o in s.mission.objectives}
    names = {p.id: p.name or p.id for p in scenario.places}
    labelled = {row["name"] for row in rows}
    assert {names[o] for o in objectives} <= labelled  # objectives keep their names
    boxes = [row["box"] for row in rows]
    assert len(boxes) > 10
    for i, a in enumerate(boxes):
        for j, b in enumerate(boxes[i + 1 :], i + 1):
            overlap = a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
            # Only two objectives' names may share space (every spot of the later one taken).
            assert not overlap or rows[i]["priority"] == rows[j]["priority"] == 2
