"""The theater: a networkx graph of places and routes with geodesic lengths, plus map layers.

Edge lengths come from `pyproj.Geod(ellps="WGS84")` (offline, no grids). The base map is the
Natural Earth country layer shipped in `sim/data/countries.gpkg` (see PROVENANCE.md there).
"""

from __future__ import annotations

import math
from functools import cache
from importlib import resources
from typing import cast

import geopandas as gpd
import networkx as nx
import numpy as np
import shapely
from pyproj import Geod
from shapely.geometry import LineString, Point

from sim.schema import Scenario

__all__ = ["Routes", "Theater", "cross_country_pairs", "land_geometry", "load_countries"]

#: Fastest routes from a set of sources: (hours per unit speed, place sequence), by place.
Routes = tuple[dict[str, float], dict[str, list[str]]]
#: Route trees a theater keeps (oldest dropped first).
ROUTES_CACHED = 512

_GEOD = Geod(ellps="WGS84")
EARTH_RADIUS_KM = 6371.0088

#: Share of a unit's road speed it keeps on other modes and terrain (notional planning factors:
#: FM 3-90 / ATP 4-11 march tables put cross-country and forest movement at about half of road).
MODE_SPEED_FACTOR = {"road": 1.0, "rail": 1.5, "offroad": 0.5, "sea": 1.0, "air": 1.0}
#: Cross-country lines are checked to lie on land at points this far apart ...
LAND_CHECK_SPACING_KM = 1.0
#: ... except this close to either end: a coastal place may sit just off the simplified coast.
COAST_ALLOWANCE_KM = 3.0
TERRAIN_SPEED_FACTOR = {
    "open": 1.0,
    "desert": 0.9,
    "beach": 0.5,
    "water": 1.0,
    "forest": 0.6,
    "urban": 0.7,
    "marsh": 0.4,
    "mountain": 0.5,
}


class Theater:
    """Places and routes of a scenario as a MultiGraph, with per-domain routing."""

    def __init__(self, scenario: Scenario):
        self.scenario = scenario
        self.places = {place.id: place for place in scenario.places}
        self.graph: nx.MultiGraph[str] = nx.MultiGraph()
        for place in scenario.places:
            self.graph.add_node(place.id, lat=place.lat, lon=place.lon)
        routes = scenario.routes
        for index, route in enumerate(routes):
            a, b = self.places[route.source], self.places[route.target]
            geodesic_km = _GEOD.inv(a.lon, a.lat, b.lon, b.lat)[2] / 1000.0
            length_km = route.length_km if route.length_km is not None else geodesic_km
            self.graph.add_edge(
                route.source,
                route.target,
                key=index,
                mode=route.mode,
                terrain=route.terrain,
                length_km=length_km,
                capacity=route.capacity,
                speed_factor=MODE_SPEED_FACTOR[route.mode] * TERRAIN_SPEED_FACTOR[route.terrain],
            )
        if scenario.settings.cross_country_km:
            pairs = cross_country_pairs(scenario)
            for key, (first, second, length_km) in enumerate(pairs, len(routes)):
                terrain = min(
                    (self.places[first].terrain, self.places[second].terrain),
                    key=lambda t: TERRAIN_SPEED_FACTOR[t],
                )
                self.graph.add_edge(
                    first,
                    second,
                    key=key,
                    mode="offroad",
                    terrain=terrain,
                    length_km=length_km,
                    capacity=None,
                    speed_factor=MODE_SPEED_FACTOR["offroad"] * TERRAIN_SPEED_FACTOR[terrain],
                )
        self._domain_graphs: dict[frozenset[str], nx.Graph[str]] = {}
        self._paths: dict[tuple, tuple[str, ...] | None] = {}  # the graph never changes
        self._routes_from: dict[tuple, Routes] = {}
        ids = list(self.places)
        self._index = {place_id: i for i, place_id in enumerate(ids)}
        self._ids = ids
        self._lat = np.radians([self.places[i].lat for i in ids])
        self._lon = np.radians([self.places[i].lon for i in ids])

    def domain_graph(self, modes: frozenset[str]) -> nx.Graph[str]:
        """Simple graph of the routes of these modes; each edge keeps its fastest route."""
        if modes not in self._domain_graphs:
            graph: nx.Graph[str] = nx.Graph()
            graph.add_nodes_from(self.graph.nodes)
            for u, v, key, data in self.graph.edges(keys=True, data=True):
                if data["mode"] not in modes:
                    continue
                hours_per_kph = data["length_km"] / data["speed_factor"]
                if not graph.has_edge(u, v) or hours_per_kph < graph[u][v]["cost"]:
                    graph.add_edge(u, v, key=key, cost=hours_per_kph, **data)
            self._domain_graphs[modes] = graph
        return self._domain_graphs[modes]

    def path(
        self, modes: frozenset[str], source: str, target: str, avoid: frozenset[str] = frozenset()
    ) -> list[str] | None:
        """Fastest place sequence from source to target (inclusive), or None if unreachable."""
        key = (modes, source, target, avoid)
        if key not in self._paths:
            self._paths[key] = self._shortest(modes, source, target, avoid)
        path = self._paths[key]
        return list(path) if path is not None else None

    def _shortest(
        self, modes: frozenset[str], source: str, target: str, avoid: frozenset[str]
    ) -> tuple[str, ...] | None:
        graph = self.domain_graph(modes)
        if avoid:
            blocked = avoid - {source, target}
            graph = nx.restricted_view(graph, blocked, [])
        try:
            return tuple(nx.shortest_path(graph, source, target, weight="cost"))
        except (nx.NetworkXNoPath, nx.NodeNotFound):
            return None

    def routes_from(
        self, modes: frozenset[str], sources: tuple[str, ...], avoid: frozenset[str]
    ) -> Routes:
        """Fastest routes from the nearest of `sources` to every place reachable by these
        modes without entering `avoid`: (hours per unit speed, place sequence), by place.
        Cached (the graph never changes; few control pictures recur across a run's
        replications), at most `ROUTES_CACHED` of them."""
        key = (modes, sources, avoid)
        routes = self._routes_from.get(key)
        if routes is None:
            graph = nx.restricted_view(self.domain_graph(modes), avoid, [])
            found = nx.multi_source_dijkstra(graph, sources, weight="cost") if sources else None
            routes = cast(Routes, found or ({}, {}))
            if len(self._routes_from) >= ROUTES_CACHED:
                del self._routes_from[next(iter(self._routes_from))]
            self._routes_from[key] = routes
        return routes

    def travel_hours(self, modes: frozenset[str], path: list[str], speed_kph: float) -> float:
        """Nominal hours to travel a path at a given road speed."""
        graph = self.domain_graph(modes)
        return sum(graph[u][v]["cost"] for u, v in zip(path, path[1:], strict=False)) / speed_kph

    def leg(self, modes: frozenset[str], u: str, v: str) -> dict:
        """Attributes of the fastest route of these modes between two adjacent places."""
        return self.domain_graph(modes)[u][v]

    def distance_km(self, a: str, b: str) -> float:
        """Great-circle distance between two places (haversine on the mean Earth radius)."""
        i, j = self._index[a], self._index[b]
        return float(_haversine_km(self._lat[i], self._lon[i], self._lat[j], self._lon[j]))

    def places_within(self, place_id: str, radius_km: float) -> list[str]:
        """Places whose great-circle distance from `place_id` is at most `radius_km`."""
        i = self._index[place_id]
        distances = _haversine_km(self._lat[i], self._lon[i], self._lat, self._lon)
        return [self._ids[j] for j in np.flatnonzero(distances <= radius_km)]

    def neighbors(self, place_id: str, modes: frozenset[str]) -> list[str]:
        """Adjacent places reachable by routes of these modes."""
        return sorted(self.domain_graph(modes).neighbors(place_id))

    def places_frame(self) -> gpd.GeoDataFrame:
        """Places as a point layer (EPSG:4326) for maps."""
        rows = [
            {
                "id": p.id,
                "name": p.name or p.id,
                "kind": p.kind,
                "terrain": p.terrain,
                "control": p.control,
                "geometry": Point(p.lon, p.lat),
            }
            for p in self.scenario.places
        ]
        return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")

    def routes_frame(self) -> gpd.GeoDataFrame:
        """Routes as a line layer (EPSG:4326) with mode and length."""
        rows = []
        for u, v, data in self.graph.edges(data=True):
            a, b = self.places[u], self.places[v]
            rows.append(
                {
                    "source": u,
                    "target": v,
                    "mode": data["mode"],
                    "length_km": round(data["length_km"], 1),
                    "geometry": LineString([(a.lon, a.lat), (b.lon, b.lat)]),
                }
            )
        return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


def _haversine_km(lat1, lon1, lat2, lon2):
    dlat, dlon = lat2 - lat1, lon2 - lon1
    a = np.sin(dlat / 2) ** 2 + np.cos(lat1) * np.cos(lat2) * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(a))


@cache
def load_countries() -> gpd.GeoDataFrame:
    """Natural Earth admin-0 countries (simplified to ~1 km), loaded from package data."""
    path = resources.files("sim") / "data" / "countries.gpkg"
    with resources.as_file(path) as file:
        return gpd.read_file(file)


@cache
def land_geometry():
    """Union of all countries: the land mask used for land/sea placement checks."""
    return load_countries().union_all()


def cross_country_pairs(scenario: Scenario) -> list[tuple[str, str, float]]:
    """Land places at most `settings.cross_country_km` apart, not already joined by road or
    rail, whose straight line runs over land: (place, place, geodesic km), in place order."""
    limit = scenario.settings.cross_country_km
    if not limit:
        return []
    places = [p for p in scenario.places if p.kind != "sea" and p.terrain != "water"]
    joined = {
        frozenset((r.source, r.target)) for r in scenario.routes if r.mode in ("road", "rail")
    }
    lat = np.radians([p.lat for p in places])
    lon = np.radians([p.lon for p in places])
    land = _land_around(
        (
            math.floor(min(p.lon for p in places)) - 1,
            math.floor(min(p.lat for p in places)) - 1,
            math.ceil(max(p.lon for p in places)) + 1,
            math.ceil(max(p.lat for p in places)) + 1,
        )
    )
    pairs = []
    for i, a in enumerate(places):
        distances = _haversine_km(lat[i], lon[i], lat[i + 1 :], lon[i + 1 :])
        for offset in np.flatnonzero(distances <= limit):
            b = places[i + 1 + offset]
            length_km = float(distances[offset])
            if frozenset((a.id, b.id)) in joined or not _over_land(land, a, b, length_km):
                continue
            pairs.append((a.id, b.id, _GEOD.inv(a.lon, a.lat, b.lon, b.lat)[2] / 1000.0))
    return pairs


def _over_land(land, a, b, length_km: float) -> bool:
    """Whether the straight line from a to b stays on land away from its ends."""
    steps = max(2, int(np.ceil(length_km / LAND_CHECK_SPACING_KM)))
    fractions = np.linspace(0.0, 1.0, steps + 1)
    inner = fractions[
        (fractions * length_km > COAST_ALLOWANCE_KM)
        & ((1 - fractions) * length_km > COAST_ALLOWANCE_KM)
    ]
    lons = a.lon + (b.lon - a.lon) * inner
    lats = a.lat + (b.lat - a.lat) * inner
    return bool(shapely.contains_xy(land, lons, lats).all())


@cache
def _land_around(bounds: tuple[int, int, int, int]):
    """The land of the countries in a lon/lat box, prepared for point queries (a few countries
    union far faster than the world)."""
    west, south, east, north = bounds
    land = load_countries().cx[west:east, south:north].union_all()
    shapely.prepare(land)
    return land
