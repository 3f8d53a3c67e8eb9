"""Step 5 of loading: what the schema cannot see — references between records, duplicate ids
of every kind (places, sides, units, formations, objectives), and reachability over routes.
"""

from __future__ import annotations

from typing import Any

import networkx as nx

from sim.combat_model import combat_model_problem
from sim.loading.parse import Path
from sim.schema import AIR_ACTIONS, MAX_CYCLES, Formation, Scenario
from sim.theater import cross_country_pairs

__all__ = ["reference_problems"]


def reference_problems(scenario: Scenario) -> list[tuple[Path, str]]:
    """Problems pydantic cannot see: references, duplicates, reachability."""
    problems: list[tuple[Path, str]] = []
    place_ids = _check_unique(scenario.places, "places", problems)
    side_ids = _check_unique(scenario.sides, "sides", problems)
    unit_ids = _check_unique(scenario.units, "units", problems)
    if len(scenario.sides) != 2:
        problems.append((("sides",), f"exactly two sides are supported (got {len(side_ids)})"))
    model_problem = combat_model_problem(scenario.settings.combat_model)
    if model_problem is not None:
        problems.append((("settings", "combat_model"), model_problem))
    problems += _cycle_problems(scenario)

    for i, place in enumerate(scenario.places):
        if place.control is not None and place.control not in side_ids:
            problems.append((("places", i, "control"), f"unknown side {place.control!r}"))
    for i, route in enumerate(scenario.routes):
        for field, ref in (("from", route.source), ("to", route.target)):
            if ref not in place_ids:
                problems.append((("routes", i, field), f"unknown place {ref!r}"))
        if route.source == route.target:
            problems.append((("routes", i), "route starts and ends at the same place"))
    for name, unit_type in scenario.unit_types.items():
        for target in unit_type.versus:
            if target not in scenario.unit_types:
                problems.append((("unit_types", name, "versus", target), "unknown unit type"))
        salvo = scenario.settings.naval_attrition == "salvo"
        if unit_type.domain == "sea" and unit_type.salvo is None and salvo:
            problems.append((("unit_types", name, "salvo"), "ship types need salvo parameters"))
        if unit_type.anti_ship_range_km > 0:
            if unit_type.domain != "land":
                problems.append(
                    (("unit_types", name, "anti_ship_range_km"), "only land units fire at ships")
                )
            if unit_type.salvo is None:
                problems.append(
                    (("unit_types", name, "salvo"), "anti-ship units need salvo parameters")
                )
        if unit_type.land_attack_range_km > 0:
            if unit_type.domain != "sea":
                problems.append(
                    (("unit_types", name, "land_attack_range_km"), "only ships fire land-attack")
                )
            if unit_type.salvo is None or unit_type.salvo.land_attack <= 0:
                problems.append(
                    (("unit_types", name, "salvo", "land_attack"), "land-attack ships need it > 0")
                )
    problems += _formation_problems(scenario, side_ids, unit_ids)
    for i, unit in enumerate(scenario.units):
        if unit.side not in side_ids:
            problems.append((("units", i, "side"), f"unknown side {unit.side!r}"))
        if unit.type not in scenario.unit_types:
            problems.append((("units", i, "type"), f"unknown unit type {unit.type!r}"))
        if unit.location not in place_ids:
            problems.append((("units", i, "location"), f"unknown place {unit.location!r}"))
    for i, side in enumerate(scenario.sides):
        objective_ids: set[str] = set()
        for j, objective in enumerate(side.mission.objectives):
            if objective.id in objective_ids:
                problems.append(
                    (
                        ("sides", i, "mission", "objectives", j, "id"),
                        f"duplicate objective id {objective.id!r}",
                    )
                )
            objective_ids.add(objective.id)
            if objective.place not in place_ids:
                problems.append(
                    (
                        ("sides", i, "mission", "objectives", j, "place"),
                        f"unknown place {objective.place!r}",
                    )
                )
        for j, place_id in enumerate(side.mission.constraints.restricted_places):
            if place_id not in place_ids:
                problems.append(
                    (
                        ("sides", i, "mission", "constraints", "restricted_places", j),
                        f"unknown place {place_id!r}",
                    )
                )
    domains = {
        u.id: scenario.unit_types[u.type].domain
        for u in scenario.units
        if u.type in scenario.unit_types
    }
    for i, order in enumerate(scenario.orders):
        if order.unit not in unit_ids:
            problems.append((("orders", i, "unit"), f"unknown unit {order.unit!r}"))
        if order.target is not None and order.target not in place_ids:
            problems.append((("orders", i, "target"), f"unknown place {order.target!r}"))
        if order.action not in ("hold", "defend") and order.target is None:
            problems.append((("orders", i, "target"), f"action {order.action!r} needs a target"))
        domain = domains.get(order.unit)
        if order.action in AIR_ACTIONS and domain not in (None, "air"):
            problems.append(
                (("orders", i, "action"), f"only air units can {order.action} (unit is {domain})")
            )
    if problems:
        return problems  # reachability needs sound references
    problems += _reachability_problems(scenario)
    return problems


def _formation_problems(
    scenario: Scenario, side_ids: set[str], unit_ids: set[str]
) -> list[tuple[Path, str]]:
    """Formations: unique ids (also against units), known sides and parents of the same
    side, no cycles; a unit's parent is a formation of its own side."""
    problems: list[tuple[Path, str]] = []
    formations: dict[str, Formation] = {}
    for i, formation in enumerate(scenario.formations):
        if formation.id in formations:
            problems.append((("formations", i, "id"), f"duplicate id {formation.id!r}"))
        elif formation.id in unit_ids:
            problems.append((("formations", i, "id"), f"id {formation.id!r} is also a unit's"))
        formations.setdefault(formation.id, formation)
        if formation.side not in side_ids:
            problems.append((("formations", i, "side"), f"unknown side {formation.side!r}"))
    for i, formation in enumerate(scenario.formations):
        parent = formations.get(formation.parent) if formation.parent else None
        if formation.parent is not None and parent is None:
            problems.append(
                (("formations", i, "parent"), f"unknown formation {formation.parent!r}")
            )
        elif parent is not None and parent.side != formation.side:
            problems.append((("formations", i, "parent"), "parent belongs to another side"))
        seen, current = {formation.id}, parent
        while current is not None:
            if current.id in seen:
                problems.append((("formations", i, "parent"), "formations form a cycle"))
                break
            seen.add(current.id)
            current = formations.get(current.parent) if current.parent else None
    for i, unit in enumerate(scenario.units):
        if unit.parent is None:
            continue
        parent = formations.get(unit.parent)
        if parent is None:
            problems.append((("units", i, "parent"), f"unknown formation {unit.parent!r}"))
        elif parent.side != unit.side:
            problems.append((("units", i, "parent"), "formation belongs to another side"))
    return problems


def _check_unique(items: list[Any], field: str, problems: list[tuple[Path, str]]) -> set[str]:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.id in seen:
            problems.append(((field, i, "id"), f"duplicate id {item.id!r}"))
        seen.add(item.id)
    return seen


def _reachability_problems(scenario: Scenario) -> list[tuple[Path, str]]:
    """The theater must be connected; every unit's place and objective must be reachable."""
    problems: list[tuple[Path, str]] = []
    graph: nx.MultiGraph[str] = nx.MultiGraph()
    graph.add_nodes_from(place.id for place in scenario.places)
    for route in scenario.routes:
        graph.add_edge(route.source, route.target, mode=route.mode)
    if scenario.settings.cross_country_km:
        for a, b, _ in cross_country_pairs(scenario):
            graph.add_edge(a, b, mode="offroad")
    if not nx.is_connected(graph):
        components = sorted(nx.connected_components(graph), key=len, reverse=True)
        isolated = sorted(set().union(*components[1:]))
        problems.append((("routes",), f"theater is disconnected: no route reaches {isolated}"))
        return problems

    def reachable_from(place_id: str, modes: frozenset[str]) -> set[str]:
        sub: nx.Graph[str] = nx.Graph()
        sub.add_node(place_id)
        sub.add_edges_from((u, v) for u, v, d in graph.edges(data=True) if d["mode"] in modes)
        return nx.node_connected_component(sub, place_id)

    for i, unit in enumerate(scenario.units):
        unit_type = scenario.unit_types[unit.type]
        modes = unit_type.modes
        if len(scenario.places) == 1:  # a one-place theater: nobody needs a route
            break
        touching = {d["mode"] for _, _, d in graph.edges(unit.location, data=True)}
        if not touching & modes:
            what = "reinforcement arrival place" if unit.arrives_hour > 0 else "location"
            problems.append(
                (
                    ("units", i, "location"),
                    f"{what} {unit.location!r} has no {'/'.join(sorted(modes))} route "
                    f"for a {unit_type.domain} unit",
                )
            )
    for i, side in enumerate(scenario.sides):
        movers = [
            u
            for u in scenario.units
            if u.side == side.id and scenario.unit_types[u.type].domain != "air"
        ]
        for j, objective in enumerate(side.mission.objectives):
            if not any(
                objective.place in reachable_from(u.location, scenario.unit_types[u.type].modes)
                for u in movers
            ):
                problems.append(
                    (
                        ("sides", i, "mission", "objectives", j, "place"),
                        f"objective {objective.place!r} is unreachable by every {side.id} unit",
                    )
                )
    return problems


def _cycle_problems(scenario: Scenario) -> list[tuple[Path, str]]:
    """At most `MAX_CYCLES` decision cycles in the horizon, for the scenario and each side."""
    horizon = scenario.settings.horizon_hours
    lengths: list[tuple[Path, float]] = [
        (("settings", "cycle_hours"), scenario.settings.cycle_hours)
    ]
    lengths += [
        (("sides", i, "cycle_hours"), side.cycle_hours)
        for i, side in enumerate(scenario.sides)
        if side.cycle_hours is not None
    ]
    return [
        (path, f"the horizon holds more than {MAX_CYCLES:,} cycles of {hours:g} h")
        for path, hours in lengths
        if horizon / hours > MAX_CYCLES
    ]
