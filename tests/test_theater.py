"""Theater: geodesic edge lengths, per-domain routing, and the geopandas map layers."""

from __future__ import annotations

import math

import pytest

from sim.theater import Theater, land_geometry


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
