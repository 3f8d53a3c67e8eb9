"""Scenario schema (pydantic v2) and the YAML loader that validates it once, with located errors.

A scenario is data: theater (places and routes), sides with their missions, unit types, units,
scripted orders and simulation settings. `load_scenario` parses YAML with the safe loader,
validates the shape with pydantic, then checks what pydantic cannot see (references between
objects, reachability, duplicates) and raises one `ScenarioError` listing every problem as
``file:line: field.path: message``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import networkx as nx
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

__all__ = [
    "AIR_ACTIONS",
    "TASKED_ECHELONS",
    "AttritionLaw",
    "Formation",
    "LogisticsSettings",
    "Objective",
    "Order",
    "Place",
    "Route",
    "Scenario",
    "ScenarioError",
    "Side",
    "UnitSpec",
    "UnitType",
    "load_scenario",
    "parse_scenario",
]

Mode = Literal["road", "rail", "offroad", "sea", "air"]
Domain = Literal["land", "sea", "air"]
Terrain = Literal["open", "forest", "urban", "mountain", "marsh", "desert", "water", "beach"]
Posture = Literal["attack", "defend", "move", "reserve", "withdraw"]
AttritionLaw = Literal["square", "linear", "mixed", "salvo"]
Action = Literal["move", "attack", "defend", "hold", "withdraw", "strike", "interdict"]
#: Actions only air units can carry out (sorties against a place from the unit's base).
AIR_ACTIONS = frozenset({"strike", "interdict"})

#: Which route modes a unit of each domain may travel on.
DOMAIN_MODES: dict[str, frozenset[str]] = {
    "land": frozenset({"road", "rail", "offroad"}),
    "sea": frozenset({"sea"}),
    "air": frozenset({"air"}),
}

#: libyaml's safe loader when available (about ten times faster), else PyYAML's.
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

NonNegative = Annotated[float, Field(ge=0)]
Probability = Annotated[float, Field(ge=0, le=1)]


class _Strict(BaseModel):
    """Base for every schema model: unknown keys and NaN/inf are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class Place(_Strict):
    """A named location of the theater (city, port, airfield, crossing...)."""

    id: str = Field(min_length=1)
    name: str = ""
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    kind: Literal[
        "city", "town", "port", "airfield", "crossing", "base", "island", "point", "sea"
    ] = "town"
    terrain: Terrain = "open"
    control: str | None = Field(default=None, description="Side holding the place at start.")
    supply_source: bool = Field(
        default=False, description="Units of the controlling side draw supply here."
    )
    capacity: int | None = Field(
        default=None,
        ge=1,
        description="Units handled at once: port berths for landings, airfield sortie slots.",
    )
    handling_hours: float = Field(
        default=4.0, gt=0, description="Hours a landing or arriving unit occupies a berth."
    )


class Route(_Strict):
    """A link between two places, travelled by units of the matching domain."""

    model_config = ConfigDict(populate_by_name=True)

    source: str = Field(alias="from", min_length=1)
    target: str = Field(alias="to", min_length=1)
    mode: Mode = "road"
    terrain: Terrain = "open"
    length_km: NonNegative | None = Field(
        default=None, description="Override; default is the geodesic distance (WGS84)."
    )
    capacity: int | None = Field(
        default=None, ge=1, description="Units that can use the route at once (bridge, strait)."
    )


class SalvoParameters(_Strict):
    """Hughes salvo model parameters of a ship type (per ship)."""

    offense: NonNegative = Field(description="Well-aimed missiles fired per ship per salvo.")
    defense: NonNegative = Field(description="Missiles a ship intercepts per salvo.")
    staying_power: float = Field(gt=0, description="Hits needed to put one ship out of action.")
    land_attack: NonNegative = Field(
        default=0.0,
        description="Ships: well-aimed land-attack missiles per ship per salvo (at batteries).",
    )


class UnitType(_Strict):
    """Capabilities shared by every unit of one type."""

    domain: Domain = "land"
    lethality: NonNegative = Field(
        default=0.01,
        description="Attrition coefficient: enemy strength removed per hour per unit of strength.",
    )
    versus: dict[str, NonNegative] = Field(
        default_factory=dict, description="Multiplier on lethality against a target unit type."
    )
    speed_kph: float = Field(default=30.0, gt=0)
    sensor_range_km: NonNegative = 20.0
    detection_probability: Probability = 0.8
    signature: float = Field(default=1.0, gt=0, description="Detectability multiplier.")
    salvo: SalvoParameters | None = None
    sortie_range_km: NonNegative = Field(default=0.0, description="Air units: strike radius.")
    turnaround_hours: float = Field(
        default=6.0, gt=0, description="Air units: sortie cycle; batteries and ships: reload."
    )
    consumption_per_hour: NonNegative = Field(
        default=0.004, description="Fraction of basic load used per hour when active."
    )
    amphibious: bool = Field(default=False, description="Land unit that can also move by sea.")
    anti_ship_range_km: NonNegative = Field(
        default=0.0,
        description="Land units: reach of anti-ship missile salvos (uses `salvo`, every "
        "`turnaround_hours`) against ships their side has detected.",
    )
    land_attack_range_km: NonNegative = Field(
        default=0.0,
        description="Sea units: reach of land-attack salvos (uses `salvo.land_attack`, every "
        "`turnaround_hours`) against anti-ship batteries their side has detected.",
    )
    sidc: str | None = Field(
        default=None,
        pattern=r"^[0-9]{20}$",
        description="Map symbol: a 20-digit MIL-STD-2525D / APP-6D SIDC whose symbol set and "
        "entity are drawn (the console sets affiliation and echelon); default: from the "
        "type's name and domain.",
    )

    @property
    def modes(self) -> frozenset[str]:
        """Route modes a unit of this type may travel."""
        extra = frozenset({"sea"}) if self.amphibious else frozenset()
        return DOMAIN_MODES[self.domain] | extra


Echelon = Literal[
    "army",
    "corps",
    "component",
    "division",
    "task_force",
    "brigade",
    "regiment",
    "group",
    "task_group",
    "battalion",
]
#: Echelons the planner tasks as one element: a unit whose formation is one of these is
#: tasked through it; a unit directly under a higher headquarters is tasked on its own.
TASKED_ECHELONS = frozenset({"brigade", "regiment", "group", "task_group", "battalion"})


class Formation(_Strict):
    """A headquarters grouping units (corps, division, brigade, task group): the planner
    tasks formations, and a COA's formation tasks expand to their units."""

    id: str = Field(min_length=1)
    name: str = ""
    side: str
    echelon: Echelon = "brigade"
    parent: str | None = Field(default=None, description="Higher formation's id.")


class UnitSpec(_Strict):
    """One unit of a side at scenario start (or arriving later as a reinforcement)."""

    id: str = Field(min_length=1)
    name: str = ""
    side: str
    parent: str | None = Field(default=None, description="Id of the formation it belongs to.")
    type: str
    strength: float = Field(gt=0, description="Combat strength (personnel, vehicles or ships).")
    location: str
    speed_kph: float | None = Field(default=None, gt=0, description="Overrides the type's speed.")
    posture: Posture = "defend"
    arrives_hour: NonNegative = Field(default=0.0, description="Reinforcement arrival time.")


class Objective(_Strict):
    """A place a side must hold or seize, by a deadline."""

    id: str = Field(min_length=1)
    place: str
    kind: Literal["hold", "seize"] = "hold"
    deadline_hours: NonNegative
    weight: float = Field(default=1.0, gt=0)


class Constraints(_Strict):
    """Limits the commander imposes on every course of action."""

    max_loss_fraction: Probability = Field(
        default=0.6, description="Acceptable share of own strength lost."
    )
    restricted_places: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)


class Mission(_Strict):
    """A side's mission statement, commander's intent, objectives and constraints."""

    statement: str = ""
    intent: str = ""
    objectives: list[Objective] = Field(default_factory=list)
    constraints: Constraints = Field(default_factory=Constraints)


class Side(_Strict):
    """A belligerent: who plans for it and what it must achieve."""

    id: str = Field(min_length=1)
    name: str = ""
    color: str = "#1f77b4"
    planner: Literal["agent", "scripted"] = "agent"
    doctrine: Literal["friendly", "adversary"] = "friendly"
    report_delay_hours: NonNegative = 1.0
    track_stale_hours: float = Field(default=24.0, gt=0)
    cycle_hours: float | None = Field(
        default=None,
        gt=0,
        le=8760,
        description="Hours between this side's decisions (default: settings.cycle_hours).",
    )
    decision_delay_hours: float = Field(
        default=0.0,
        ge=0,
        le=720,
        description="Hours from observing to the side's new orders taking effect; until then "
        "its units carry on with their last orders.",
    )
    mission: Mission = Field(default_factory=Mission)


class Order(_Strict):
    """A scripted order: from `at_hour`, `unit` performs `action` towards `target`."""

    unit: str
    action: Action = "move"
    target: str | None = None
    at_hour: NonNegative = 0.0


class LogisticsSettings(_Strict):
    """Convoys that carry supply from sources to units (see the engine's logistics section)."""

    convoy_speed_kph: float = Field(default=30.0, gt=0)
    convoy_load: float = Field(
        default=0.5, gt=0, le=1, description="Basic loads one convoy carries."
    )
    request_below: Probability = Field(
        default=0.7, description="A unit asks for a convoy when its supply falls below this."
    )
    interdiction_per_aircraft: Probability = Field(
        default=0.02,
        description="Chance one interdicting aircraft stops a convoy passing its target place.",
    )


#: Decision-matrix criteria (FM 5-0 COA comparison: weighted criteria).
Criterion = Literal["p_success", "attainment", "own_survival", "enemy_loss"]
DEFAULT_WEIGHTS: dict[Criterion, float] = {
    "p_success": 0.45,
    "attainment": 0.25,
    "own_survival": 0.2,
    "enemy_loss": 0.1,
}


class PlanningSettings(_Strict):
    """Budget, guarantee and criteria of the planner's Decide step (COA selection by KN++)."""

    coas: int = Field(default=3, ge=1, le=8)
    indifference: float = Field(
        default=0.02,
        gt=0,
        le=1,
        description="Indifference zone δ in utility units: the smallest difference in expected "
        "utility worth telling apart.",
    )
    pcs: float = Field(
        default=0.95,
        ge=0.5,
        lt=1,
        description="Probability of selecting the best COA when it is at least `indifference` "
        "better than every other.",
    )
    first_stage_replications: int = Field(
        default=30,
        ge=2,
        le=10_000,
        description="Replications of every COA before the first comparison (n0).",
    )
    max_replications: int = Field(
        default=500,
        ge=1,
        le=10_000,
        description="Cap on the replications of any one COA; selection stops there even "
        "before the best is separated (and says so).",
    )
    lookahead_hours: float | None = Field(
        default=None, gt=0, description="Wargame horizon; default is two cycles."
    )
    weights: dict[Criterion, NonNegative] = Field(
        default_factory=lambda: dict(DEFAULT_WEIGHTS),
        description="Decision-matrix weights per criterion (used normalised to sum to 1).",
    )
    revision_replications: int = Field(
        default=8,
        ge=0,
        le=1_000,
        description="Replications per candidate in the revision search (common random "
        "numbers); 0 turns revision off.",
    )
    revision_rounds: int = Field(
        default=2, ge=0, le=20, description="Improvement rounds of the revision search."
    )
    llm_max_steps: int = Field(
        default=8,
        ge=1,
        le=50,
        description="Model turns a chat-model planning agent may take per decision (each "
        "turn may call tools: doctrine search, theater queries, wargame_coa); its answer must "
        "come by the last one.",
    )
    llm_timeout_s: float = Field(
        default=120.0,
        gt=0,
        le=3600,
        description="Seconds a chat-model planning agent may spend per decision; also the "
        "timeout of each model request. Past it the agent stops and the doctrine drafter "
        "plans, with a note.",
    )

    @field_validator("weights")
    @classmethod
    def _weights_sum_positive(cls, weights: dict[str, float]) -> dict[str, float]:
        if sum(weights.values()) <= 0:
            raise ValueError("decision-matrix weights must not all be zero")
        return weights


class Settings(_Strict):
    """Simulation settings."""

    cycle_hours: float = Field(default=12.0, gt=0)
    horizon_hours: float = Field(default=96.0, gt=0)
    seed: int = Field(default=1, ge=0)
    combat_step_hours: float = Field(default=0.5, gt=0)
    attrition: Literal["square", "linear", "mixed"] = "square"
    naval_attrition: Literal["salvo", "square"] = "salvo"
    stochastic: bool = True
    movement_noise: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.1, description="Coefficient of variation of travel times."
    )
    break_fraction: Annotated[float, Field(ge=0, lt=1)] = Field(
        default=0.3, description="A force below this share of its strength at contact retreats."
    )
    scan_interval_hours: float = Field(default=1.0, gt=0)
    cross_country_km: float | None = Field(
        default=None,
        gt=0,
        le=200,
        description="Join land places at most this far apart, whose straight line runs over "
        "land, by off-road routes (terrain: the slower of the two places'); off by default.",
    )
    supply: bool = Field(default=True, description="Model supply; off for validation runs.")
    logistics: LogisticsSettings = Field(default_factory=LogisticsSettings)
    planning: PlanningSettings = Field(default_factory=PlanningSettings)


class Scenario(_Strict):
    """A whole scenario, as loaded from one YAML file."""

    id: str = Field(min_length=1)
    name: str = ""
    summary: str = ""
    briefing: str = ""
    sources: list[str] = Field(default_factory=list)
    places: list[Place] = Field(min_length=2)
    routes: list[Route] = Field(min_length=1)
    sides: list[Side] = Field(min_length=2)
    unit_types: dict[str, UnitType] = Field(default_factory=dict, validate_default=True)
    formations: list[Formation] = Field(default_factory=list)
    units: list[UnitSpec] = Field(min_length=1)
    orders: list[Order] = Field(default_factory=list)
    settings: Settings = Field(default_factory=Settings)

    @field_validator("unit_types")
    @classmethod
    def _with_default_types(cls, declared: dict[str, UnitType]) -> dict[str, UnitType]:
        from sim.unit_types import DEFAULT_UNIT_TYPES

        merged = dict(DEFAULT_UNIT_TYPES)
        for name, unit_type in declared.items():
            base = DEFAULT_UNIT_TYPES.get(name)
            # Overriding a catalogue type changes only the fields the scenario spells out.
            merged[name] = (
                base.model_copy(
                    update={f: getattr(unit_type, f) for f in unit_type.model_fields_set}
                )
                if base is not None
                else unit_type
            )
        return merged

    def place(self, place_id: str) -> Place:
        """The place with this id."""
        return self._places_by_id[place_id]

    def side(self, side_id: str) -> Side:
        """The side with this id."""
        return next(side for side in self.sides if side.id == side_id)

    def unit_type(self, unit: UnitSpec) -> UnitType:
        """The type record of a unit."""
        return self.unit_types[unit.type]

    def enemy_of(self, side_id: str) -> str:
        """The opposing side (scenarios have exactly two sides)."""
        return next(side.id for side in self.sides if side.id != side_id)

    @property
    def _places_by_id(self) -> dict[str, Place]:
        return {place.id: place for place in self.places}


class ScenarioError(Exception):
    """A scenario failed validation; `problems` holds (location, message) pairs."""

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = problems
        lines = [f"{source}: invalid scenario ({len(problems)} problem(s))"]
        lines += [f"  {where}: {message}" for where, message in problems]
        super().__init__("\n".join(lines))


def load_scenario(path: str | Path) -> Scenario:
    """Read, parse and validate a scenario file.

    Raises:
        ScenarioError: the file is missing, not YAML, or not a valid scenario.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ScenarioError(str(path), [(str(path), f"cannot read file: {err.strerror}")]) from None
    return parse_scenario(text, source=str(path))


def parse_scenario(text: str, source: str = "<string>") -> Scenario:
    """Parse and validate scenario YAML text; `source` names it in error messages."""
    loader = _SAFE_LOADER(text)
    try:
        root = loader.get_single_node()  # one parse: lines come from the node tree,
        data = loader.construct_document(root) if root is not None else None  # data too
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(err, "problem", None) or str(err)
        raise ScenarioError(source, [(where, f"not valid YAML: {problem}")]) from None
    finally:
        loader.dispose()
    if root is None or not isinstance(root, yaml.MappingNode):
        raise ScenarioError(
            source, [(source, "expected a mapping of scenario fields at top level")]
        )
    lines: dict[tuple[Any, ...], int] = {}
    duplicates: list[tuple[tuple[Any, ...], int]] = []
    _index_lines(root, (), lines, duplicates)

    def locate(path: tuple[Any, ...]) -> str:
        return f"{source}:{_nearest_line(lines, path)}: {_dotted(path) or '<root>'}"

    problems = [(locate(path), "duplicate key") for path, _ in duplicates]
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        for error in err.errors():
            problems.append((locate(tuple(error["loc"])), _pydantic_message(error)))
        raise ScenarioError(source, problems) from None
    problems += [(locate(path), message) for path, message in _semantic_problems(scenario)]
    if problems:
        raise ScenarioError(source, problems)
    return scenario


def _pydantic_message(error: Mapping[str, Any]) -> str:
    message = error["msg"]
    if error["type"] == "extra_forbidden":
        return "unknown field"
    if "input" in error and error["type"] not in ("missing",):
        shown = repr(error["input"])
        if len(shown) <= 60:
            message += f" (got {shown})"
    return message


def _index_lines(
    node: yaml.Node,
    path: tuple[Any, ...],
    lines: dict[tuple[Any, ...], int],
    duplicates: list[tuple[tuple[Any, ...], int]],
) -> None:
    """Record the 1-based line of every mapping key and sequence item below `node`."""
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        seen: set[Any] = set()
        for key_node, value_node in node.value:
            key = key_node.value
            child = (*path, key)
            if key in seen:
                duplicates.append((child, key_node.start_mark.line + 1))
            seen.add(key)
            _index_lines(value_node, child, lines, duplicates)
            lines[child] = key_node.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(item, (*path, index), lines, duplicates)


def _nearest_line(lines: dict[tuple[Any, ...], int], path: tuple[Any, ...]) -> int:
    """Line of `path`, or of its closest ancestor that the YAML spelled out."""
    path = tuple(str(p) if not isinstance(p, int) else p for p in path)
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return 1


def _dotted(path: Iterable[Any]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _semantic_problems(scenario: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """Problems pydantic cannot see: references, duplicates, reachability."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    place_ids = _check_unique(scenario.places, "places", problems)
    side_ids = _check_unique(scenario.sides, "sides", problems)
    unit_ids = _check_unique(scenario.units, "units", problems)
    if len(scenario.sides) != 2:
        problems.append((("sides",), f"exactly two sides are supported (got {len(side_ids)})"))

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
        for j, objective in enumerate(side.mission.objectives):
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
) -> list[tuple[tuple[Any, ...], str]]:
    """Formations: unique ids (also against units), known sides and parents of the same
    side, no cycles; a unit's parent is a formation of its own side."""
    problems: list[tuple[tuple[Any, ...], str]] = []
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


def _check_unique(
    items: list[Any], field: str, problems: list[tuple[tuple[Any, ...], str]]
) -> set[str]:
    seen: set[str] = set()
    for i, item in enumerate(items):
        if item.id in seen:
            problems.append(((field, i, "id"), f"duplicate id {item.id!r}"))
        seen.add(item.id)
    return seen


def _reachability_problems(scenario: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """The theater must be connected; every unit's place and objective must be reachable."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    graph: nx.MultiGraph[str] = nx.MultiGraph()
    graph.add_nodes_from(place.id for place in scenario.places)
    for route in scenario.routes:
        graph.add_edge(route.source, route.target, mode=route.mode)
    if scenario.settings.cross_country_km:
        from sim.theater import cross_country_pairs  # the land mask lives with the theater

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
