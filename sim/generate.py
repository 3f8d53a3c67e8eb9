"""Synthetic scenarios of any size on real geography, for scaling tests and benchmarks.

`generate_scenario(units, places, seed)` samples places on land in a real region (central Europe
by default, from the Natural Earth layer in `sim/data/countries.gpkg`), links them by a road
network that is connected by construction (a Euclidean minimum spanning tree plus each place's
nearest neighbours), gives the western half to Blue and the eastern half to Red, and sets each
side's objectives on the other side's half. The result is a plain dict ready for
`yaml.safe_dump`; it validates with `sim.scenario.parse_scenario` and is the same for the same
seed (numpy `default_rng(seed)`).
"""

from __future__ import annotations

import os
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import shapely
import yaml
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.spatial import Delaunay, QhullError, cKDTree

from sim.theater import load_countries

__all__ = ["DEFAULT_REGION", "MAX_PLACES", "MAX_UNITS", "generate_scenario", "write_scenario"]

#: (west, south, east, north) in degrees: central Europe, from the Rhine to the Bug, Alps to the
#: North German Plain; the generator keeps the largest land polygon inside the box.
DEFAULT_REGION: tuple[float, float, float, float] = (6.0, 46.5, 24.0, 54.0)

KM_PER_DEGREE = 111.195
EXTRA_NEIGHBOURS = 2  # nearest-neighbour roads per place on top of the spanning tree
MIN_UNITS, MIN_PLACES = 2, 4
#: Largest generated scenario: its file stays inside the loader's size and node limits.
MAX_UNITS, MAX_PLACES = 20_000, 10_000

_LAND_TYPES = ("infantry", "mechanized", "armor", "artillery", "recon")
_TYPE_WEIGHTS = (0.35, 0.30, 0.15, 0.12, 0.08)
_STRENGTH = {
    "infantry": (60, 90),
    "mechanized": (70, 100),
    "armor": (45, 65),
    "artillery": (40, 55),
    "recon": (20, 35),
}
_TERRAINS = ("open", "forest", "urban", "marsh", "mountain")
_TERRAIN_WEIGHTS = (0.55, 0.25, 0.12, 0.04, 0.04)
_SIDES = {
    "blue": ("Blue (synthetic)", "#1f5fbf", "friendly"),
    "red": ("Red (synthetic)", "#c0392b", "adversary"),
}


def generate_scenario(
    units: int,
    places: int,
    seed: int,
    region: tuple[float, float, float, float] = DEFAULT_REGION,
) -> dict[str, Any]:
    """A synthetic, valid scenario as plain data (dicts, lists, str, int, float, bool).

    Args:
        units: number of land units, split evenly between Blue and Red (2 to `MAX_UNITS`).
        places: number of places sampled on land (4 to `MAX_PLACES`).
        seed: seed of the numpy random generator; the same seed gives the same scenario.
        region: (west, south, east, north) bounding box in degrees, on a continent.

    Raises:
        ValueError: too few or too many units or places, or a region with no land.
    """
    if units < MIN_UNITS or places < MIN_PLACES:
        raise ValueError(f"need at least {MIN_UNITS} units and {MIN_PLACES} places")
    if units > MAX_UNITS or places > MAX_PLACES:
        raise ValueError(f"at most {MAX_UNITS:,} units and {MAX_PLACES:,} places")
    rng = np.random.default_rng(seed)
    lon, lat = _sample_land(rng, places, region)
    order = np.argsort(lon, kind="stable")  # west to east: index < places // 2 is Blue's half
    lon, lat = lon[order], lat[order]
    n_blue_places = places // 2
    side_of = np.where(np.arange(places) < n_blue_places, "blue", "red")
    ids = [f"p{i:04d}" for i in range(places)]

    terrain = rng.choice(_TERRAINS, size=places, p=_TERRAIN_WEIGHTS)
    n_sources = max(1, places // 100)
    sources = set(range(n_sources)) | set(range(places - n_sources, places))  # far west, far east
    place_rows = [
        {
            "id": ids[i],
            "name": f"Site {i} ({lat[i]:.2f}N {lon[i]:.2f}E)",
            "lat": float(lat[i]),
            "lon": float(lon[i]),
            "kind": "city" if i in sources else "town",
            "terrain": "urban" if i in sources else str(terrain[i]),
            "control": str(side_of[i]),
            **({"supply_source": True} if i in sources else {}),
        }
        for i in range(places)
    ]
    route_rows = [{"from": ids[a], "to": ids[b], "mode": "road"} for a, b in _road_edges(lon, lat)]

    halves = {"blue": np.arange(n_blue_places), "red": np.arange(n_blue_places, places)}
    # Objectives: each side seizes the enemy places nearest the centre line and holds its own
    # supply sources; the front is between the two middle places.
    middle = (lon[n_blue_places - 1] + lon[n_blue_places]) / 2
    n_seize = min(3, n_blue_places, places - n_blue_places)
    seize = {
        "blue": halves["red"][np.argsort(np.abs(lon[halves["red"]] - middle))[:n_seize]],
        "red": halves["blue"][np.argsort(np.abs(lon[halves["blue"]] - middle))[:n_seize]],
    }
    hold = {
        "blue": [i for i in sorted(sources) if i < n_blue_places][:2],
        "red": [i for i in sorted(sources) if i >= n_blue_places][-2:],
    }
    horizon = 72
    sides = []
    for side, (name, color, doctrine) in _SIDES.items():
        objectives = [
            {
                "id": f"seize-{ids[i]}",
                "place": ids[i],
                "kind": "seize",
                "deadline_hours": 48 + 12 * k,
                "weight": 2,
            }
            for k, i in enumerate(seize[side])
        ] + [
            {
                "id": f"hold-{ids[i]}",
                "place": ids[i],
                "kind": "hold",
                "deadline_hours": horizon,
                "weight": 1,
            }
            for i in hold[side]
        ]
        sides.append(
            {
                "id": side,
                "name": name,
                "color": color,
                "planner": "agent" if side == "blue" else "scripted",
                "doctrine": doctrine,
                "mission": {
                    "statement": f"Seize {', '.join(ids[i] for i in seize[side])} and hold "
                    f"{', '.join(ids[i] for i in hold[side])}.",
                    "intent": "Synthetic scenario for scaling tests.",
                    "objectives": objectives,
                },
            }
        )

    unit_rows, order_rows = [], []
    counts = {"blue": units // 2, "red": units - units // 2}
    for side, count in counts.items():
        types = rng.choice(_LAND_TYPES, size=count, p=_TYPE_WEIGHTS)
        locations = rng.choice(halves[side], size=count)
        reinforcement = rng.random(count) < 0.1
        arrival = rng.integers(6, 49, size=count)
        strength_draw = rng.random(count)
        own_sources = [i for i in sorted(sources) if side_of[i] == side]
        targets = seize[side]
        for k in range(count):
            unit_type = str(types[k])
            low, high = _STRENGTH[unit_type]
            row: dict[str, Any] = {
                "id": f"{side[0]}{k:05d}",
                "side": side,
                "type": unit_type,
                "strength": int(low + strength_draw[k] * (high - low)),
                "location": ids[int(locations[k])],
                "posture": "defend" if side == "blue" else "attack",
            }
            if reinforcement[k]:
                row["location"] = ids[own_sources[k % len(own_sources)]]
                row["arrives_hour"] = int(arrival[k])
            unit_rows.append(row)
            if side == "red" or k % 4 == 0:
                target = ids[int(targets[k % len(targets)])]
                order_rows.append(
                    {"unit": row["id"], "action": "attack", "target": target, "at_hour": 0}
                )
            else:
                order_rows.append({"unit": row["id"], "action": "defend", "at_hour": 0})

    west, south, east, north = region
    return {
        "id": f"synthetic-{units}u-{places}p-s{seed}",
        "name": f"Synthetic scenario ({units} units, {places} places, seed {seed})",
        "summary": f"Synthetic scaling scenario: {units} units on {places} places sampled on land "
        f"in {west:g}-{east:g}E {south:g}-{north:g}N, seed {seed}.",
        "briefing": (
            "SITUATION. Synthetic scenario generated by sim/generate.py for scaling tests: places "
            "sampled uniformly on land (Natural Earth 1:10m, largest land polygon in the region), "
            "linked by a road network (Euclidean minimum spanning tree plus each place's "
            f"{EXTRA_NEIGHBOURS} nearest neighbours). Blue holds the western half, Red the "
            "eastern.\n"
            "MISSION. Each side seizes the enemy places nearest the centre line and holds its "
            "supply sources.\nFORCES. Random mix of default unit types (sim/unit_types.py); about "
            "10 % of units arrive as reinforcements at their side's supply sources.\nSOURCES. "
            "Natural Earth admin-0 countries (public domain); forces are random."
        ),
        "sources": [
            "Natural Earth 1:10m admin-0 countries (public domain), sim/data/countries.gpkg.",
            f"Generated by sim.generate.generate_scenario(units={units}, places={places}, "
            f"seed={seed}).",
        ],
        "places": place_rows,
        "routes": route_rows,
        "sides": sides,
        "units": unit_rows,
        "orders": order_rows,
        "settings": {
            "cycle_hours": 12,
            "horizon_hours": horizon,
            "seed": int(seed),
            "planning": {"coas": 3, "max_replications": 6},
        },
    }


def write_scenario(data: dict[str, Any], path: str | Path) -> None:
    """Write a scenario dict as YAML (UTF-8, keys in the given order), creating its folder;
    through a temporary file and a rename, so never half a file."""
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml when available: ~10x faster
    text = yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(f"# {data.get('name', 'Scenario')}\n{text}", encoding="utf-8")
    os.replace(temporary, path)


@cache
def _land_mask(region: tuple[float, float, float, float]) -> shapely.Polygon:
    """Largest land polygon of the Natural Earth layer inside the region box, prepared."""
    box = shapely.box(*region)
    countries = load_countries()
    inside = countries.geometry.values[countries.intersects(box).to_numpy()]
    if len(inside) == 0:
        raise ValueError(f"no land in region {region}")
    land = shapely.union_all(inside).intersection(box)
    parts = list(land.geoms) if hasattr(land, "geoms") else [land]
    polygons = [p for p in parts if isinstance(p, shapely.Polygon) and not p.is_empty]
    if not polygons:
        raise ValueError(f"no land in region {region}")
    mask = max(polygons, key=lambda p: p.area)
    shapely.prepare(mask)
    return mask


def _sample_land(
    rng: np.random.Generator, count: int, region: tuple[float, float, float, float]
) -> tuple[np.ndarray, np.ndarray]:
    """`count` distinct points (rounded to 1e-4 degree, ~10 m) uniform on land in the region."""
    mask = _land_mask(region)
    west, south, east, north = region
    lon = np.empty(0)
    lat = np.empty(0)
    seen: set[tuple[float, float]] = set()
    while len(lon) < count:
        batch = max(64, 2 * (count - len(lon)))
        x = np.round(rng.uniform(west, east, batch), 4)
        # uniform in area: latitude by inverse transform on sin(lat)
        s = rng.uniform(np.sin(np.radians(south)), np.sin(np.radians(north)), batch)
        y = np.round(np.degrees(np.arcsin(s)), 4)
        keep = shapely.contains_xy(mask, x, y)
        fresh_x, fresh_y = [], []
        for xi, yi in zip(x[keep].tolist(), y[keep].tolist(), strict=True):
            if (xi, yi) not in seen:
                seen.add((xi, yi))
                fresh_x.append(xi)
                fresh_y.append(yi)
        lon = np.concatenate([lon, fresh_x])
        lat = np.concatenate([lat, fresh_y])
    return lon[:count], lat[:count]


def _road_edges(lon: np.ndarray, lat: np.ndarray) -> list[tuple[int, int]]:
    """Euclidean minimum spanning tree (on a local flat projection) plus links to each place's
    nearest neighbours. The tree is a subgraph of the Delaunay triangulation, so scipy's
    `minimum_spanning_tree` over the triangulation's edges finds it in O(n log n)."""
    n = len(lon)
    points = np.column_stack([lon * np.cos(np.radians(lat.mean())), lat]) * KM_PER_DEGREE
    if n < 2:
        return []
    first, second = _delaunay_pairs(points)
    lengths = np.hypot(*(points[first] - points[second]).T)
    tree = minimum_spanning_tree(coo_matrix((lengths, (first, second)), shape=(n, n))).tocoo()
    edges = {(int(min(a, b)), int(max(a, b))) for a, b in zip(tree.row, tree.col, strict=True)}
    k = min(EXTRA_NEIGHBOURS, n - 1)
    if k > 0:
        _, nearest = cKDTree(points).query(points, k=k + 1)  # each place itself comes first
        for a, row in enumerate(nearest.tolist()):
            for b in row[1:]:
                edges.add((min(a, b), max(a, b)))
    return sorted(edges)


def _delaunay_pairs(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i < j) of the Delaunay triangulation's edges; every pair when there are
    too few points, or all on a line, to triangulate."""
    try:
        simplices = Delaunay(points).simplices
    except QhullError:
        pairs = np.array([(i, j) for i in range(len(points)) for j in range(i + 1, len(points))])
        return pairs[:, 0], pairs[:, 1]
    sides = np.concatenate([simplices[:, [0, 1]], simplices[:, [1, 2]], simplices[:, [0, 2]]])
    sides.sort(axis=1)
    unique = np.unique(sides, axis=0)
    return unique[:, 0], unique[:, 1]
