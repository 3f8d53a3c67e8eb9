"""Theater: geodesic edge lengths, per-domain routing, cross-country routes over real land, and
the geopandas map layers."""

from __future__ import annotations

import math

import pytest
import yaml

from sim.engine import Simulation, apply_orders
from sim.engine.movement import Movement
from sim.scenario import ScenarioError, parse_scenario
from sim.state import Tasking, initial_state
from sim.theater import TERRAIN_SPEED_FACTOR, Theater, land_geometry


def _haversine_km(lat1, lon1, lat2, lon2):
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def test_edge_lengths_are_geodesic(tutorial):
    theater = Theater(tutorial)
    tallinn, rakvere = theater.places["tallinn"], theater.places["rakvere"]
    length = next(iter(theater.graph.get_edge_data("tallinn", "rakvere").values()))["length_km"]
    # the WGS84 geodesic and the spherical great circle agree within 0.5 % at this scale
    expected = _haversine_km(tallinn.lat, tallinn.lon, rakvere.lat, rakvere.lon)
    assert length == pytest.approx(expected, rel=0.005)
    assert 85 < length < 95  # Tallinn–Rakvere is about 91 km as the crow flies


def test_land_units_route_only_over_land_modes(tutorial):
    theater = Theater(tutorial)
    path = theater.path(frozenset({"road", "rail"}), "kingisepp", "tallinn")
    assert path[0] == "kingisepp" and path[-1] == "tallinn"
    for u, v in zip(path, path[1:], strict=False):
        modes = {d["mode"] for d in theater.graph.get_edge_data(u, v).values()}
        assert modes & {"road", "rail"}
    assert theater.path(frozenset({"sea"}), "kingisepp", "tallinn") is None


def test_map_layers_are_wgs84_and_complete(tutorial):
    theater = Theater(tutorial)
    places, routes = theater.places_frame(), theater.routes_frame()
    assert places.crs.to_epsg() == 4326 and routes.crs.to_epsg() == 4326
    assert len(places) == len(tutorial.places) and len(routes) == len(tutorial.routes)
    land = land_geometry()
    assert places.geometry.within(land).all()  # every tutorial place is on land


# ---------------------------------------------------------------- cross-country
ESTONIA = [
    {"id": "tallinn", "lat": 59.4370, "lon": 24.7536, "terrain": "urban", "kind": "port"},
    {"id": "rakvere", "lat": 59.3464, "lon": 26.3558, "control": "a", "supply_source": True},
    {"id": "paide", "lat": 58.8856, "lon": 25.5572, "terrain": "forest"},
    {"id": "helsinki", "lat": 60.1699, "lon": 24.9384, "terrain": "urban", "kind": "port"},
]


def estonia(cross_country_km=None, routes=None, objective="tallinn"):
    """Tallinn, Rakvere and Paide with no road between Tallinn and Rakvere (the roads run
    through Paide and its bogs), Helsinki across the Gulf of Finland by sea."""
    data = {
        "id": "estonia",
        "places": ESTONIA,
        "routes": routes
        or [
            {"from": "rakvere", "to": "paide", "terrain": "marsh"},
            {"from": "paide", "to": "tallinn", "terrain": "marsh"},
            {"from": "tallinn", "to": "helsinki", "mode": "sea"},
        ],
        "sides": [
            {
                "id": "a",
                "planner": "scripted",
                "mission": {"objectives": [{"id": "o", "place": objective, "deadline_hours": 9}]},
            },
            {"id": "b", "planner": "scripted"},
        ],
        "unit_types": {"walker": {"speed_kph": 20, "consumption_per_hour": 0.05}},
        "units": [
            {"id": "u", "side": "a", "type": "walker", "location": "rakvere", "strength": 10},
            {
                "id": "x",
                "side": "b",
                "type": "surface_group",
                "location": "helsinki",
                "strength": 2,
            },
        ],
        "settings": {"stochastic": False, "cross_country_km": cross_country_km},
    }
    return parse_scenario(yaml.safe_dump(data))


def test_cross_country_routes_join_nearby_places_over_land_only():
    theater = Theater(estonia(cross_country_km=100))
    offroad = {
        frozenset((u, v)): d for u, v, d in theater.graph.edges(data=True) if d["mode"] == "offroad"
    }
    # Tallinn-Rakvere (91 km, all land) is joined; Tallinn-Helsinki (82 km) crosses the Gulf
    # of Finland and is not; pairs already joined by road get no second, slower route.
    assert set(offroad) == {frozenset(("tallinn", "rakvere"))}
    edge = offroad[frozenset(("tallinn", "rakvere"))]
    t, r = ESTONIA[0], ESTONIA[1]
    assert edge["length_km"] == pytest.approx(
        _haversine_km(t["lat"], t["lon"], r["lat"], r["lon"]), rel=0.005
    )
    # Off road keeps half of road speed (FM 3-90), times the slower terrain: urban Tallinn.
    assert edge["terrain"] == "urban"
    assert edge["speed_factor"] == pytest.approx(0.5 * TERRAIN_SPEED_FACTOR["urban"])
    assert not any(d["mode"] == "offroad" for *_, d in Theater(estonia()).graph.edges(data=True))


def test_a_unit_moves_cross_country_at_the_terrain_speed_and_convoys_do_not():
    scenario = estonia(cross_country_km=100)
    theater = Theater(scenario)
    state = initial_state(scenario)
    state.units["u"].supply = 0.5  # wants a convoy once it stops at Tallinn
    apply_orders(scenario, theater, state, [Tasking("u", "move", "tallinn")])
    leg = theater.leg(scenario.unit_types["walker"].modes, "rakvere", "tallinn")
    assert leg["mode"] == "offroad"  # 91 km off road beats 144 km of bog roads through Paide
    hours = leg["length_km"] / (20 * 0.5 * TERRAIN_SPEED_FACTOR["urban"])
    settled = []
    original = Movement.settle

    def record(self, unit, place):
        settled.append((self.kernel.now, unit.id, place))
        original(self, unit, place)

    Movement.settle = record
    try:
        Simulation(scenario, theater, state, seed=1).run(hours + 2)
    finally:
        Movement.settle = original
    assert (pytest.approx(hours), "u", "tallinn") in settled
    # The convoy from the Rakvere depot takes the roads through Paide, never the off-road line.
    convoy = next(iter(state.convoys.values()))
    assert [convoy.location, convoy.next_place, *convoy.path] == ["rakvere", "paide", "tallinn"]


def test_an_objective_reachable_only_cross_country_needs_the_setting():
    routes = [
        {"from": "rakvere", "to": "paide"},
        {"from": "tallinn", "to": "helsinki", "mode": "sea"},
        {"from": "helsinki", "to": "paide", "mode": "air"},  # keeps the theater connected
    ]
    with pytest.raises(ScenarioError) as err:
        estonia(routes=routes)
    assert "sides[0].mission.objectives[0].place" in str(err.value)
    assert "unreachable" in str(err.value)
    assert estonia(cross_country_km=100, routes=routes).settings.cross_country_km == 100
