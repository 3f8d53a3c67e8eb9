"""Scenario schema (pydantic v2): the shape of a scenario and the valid range of every field.

A scenario is data: theater (places and routes), sides with their missions, unit types, units,
scripted orders and simulation settings. Loading a file (read, parse, defaults, validate) lives
in `sim.loading`; this module only declares the records, so every other module can import them
without importing the loader.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
    "Side",
    "UnitSpec",
    "UnitType",
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

Probability = Annotated[float, Field(ge=0, le=1)]

# Valid ranges. Every number a scenario sets is bounded, far above what any shipped or
# generated scenario uses, so that any valid scenario runs in bounded time and memory: no
# overflow in the attrition draws (strength x lethality x multipliers stays below 1e16), no
# zero-length step or scan, at most a year of simulated time and MAX_CYCLES decision cycles.
#: Longest horizon, lookahead, deadline or arrival hour: one year.
MAX_HOURS = 8760.0
#: Largest strength of one unit (personnel, vehicles or ships).
MAX_STRENGTH = 1_000_000.0
#: Largest attrition coefficient (per hour) and `versus` multiplier.
MAX_LETHALITY = 10.0
MAX_VERSUS = 10.0
#: Fastest unit or convoy (km/h) and longest range or route (km: half the Earth's girth).
MAX_SPEED_KPH = 3000.0
MAX_RANGE_KM = 20_000.0
#: Largest salvo figure (missiles per ship per salvo, hits to disable a ship).
MAX_SALVO = 1000.0
#: Slots of a port, airfield or route.
MAX_CAPACITY = 10_000
#: Decision cycles a horizon may hold (horizon / cycle length), checked with the references.
MAX_CYCLES = 1000
#: Events one simulation run may process unless `settings.max_events` says otherwise.
DEFAULT_MAX_EVENTS = 2_000_000
#: Largest seed (numpy's SeedSequence takes any, the engine's keyed streams 63 bits).
MAX_SEED = 2**63 - 1
Hours = Annotated[float, Field(ge=0, le=MAX_HOURS)]
RangeKm = Annotated[float, Field(ge=0, le=MAX_RANGE_KM)]
Salvo = Annotated[float, Field(ge=0, le=MAX_SALVO)]


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
        le=MAX_CAPACITY,
        description="Units handled at once: port berths for landings, airfield sortie slots.",
    )
    handling_hours: float = Field(
        default=4.0,
        ge=0.01,
        le=720,
        description="Hours a landing or arriving unit occupies a berth.",
    )


class Route(_Strict):
    """A link between two places, travelled by units of the matching domain."""

    model_config = ConfigDict(populate_by_name=True)

    source: str = Field(alias="from", min_length=1)
    target: str = Field(alias="to", min_length=1)
    mode: Mode = "road"
    terrain: Terrain = "open"
    length_km: RangeKm | None = Field(
        default=None, description="Override; default is the geodesic distance (WGS84)."
    )
    capacity: int | None = Field(
        default=None,
        ge=1,
        le=MAX_CAPACITY,
        description="Units that can use the route at once (bridge, strait).",
    )


class SalvoParameters(_Strict):
    """Hughes salvo model parameters of a ship type (per ship)."""

    offense: Salvo = Field(description="Well-aimed missiles fired per ship per salvo.")
    defense: Salvo = Field(description="Missiles a ship intercepts per salvo.")
    staying_power: float = Field(
        ge=0.01, le=MAX_SALVO, description="Hits needed to put one ship out of action."
    )
    land_attack: Salvo = Field(
        default=0.0,
        description="Ships: well-aimed land-attack missiles per ship per salvo (at batteries).",
    )


class UnitType(_Strict):
    """Capabilities shared by every unit of one type."""

    domain: Domain = "land"
    lethality: float = Field(
        default=0.01,
        ge=0,
        le=MAX_LETHALITY,
        description="Attrition coefficient: enemy strength removed per hour per unit of strength.",
    )
    versus: dict[str, Annotated[float, Field(ge=0, le=MAX_VERSUS)]] = Field(
        default_factory=dict, description="Multiplier on lethality against a target unit type."
    )
    speed_kph: float = Field(default=30.0, ge=0.1, le=MAX_SPEED_KPH)
    sensor_range_km: RangeKm = 20.0
    detection_probability: Probability = 0.8
    signature: float = Field(
        default=1.0, ge=0.001, le=1000, description="Detectability multiplier."
    )
    salvo: SalvoParameters | None = None
    sortie_range_km: RangeKm = Field(default=0.0, description="Air units: strike radius.")
    turnaround_hours: float = Field(
        default=6.0,
        ge=0.1,
        le=720,
        description="Air units: sortie cycle; batteries and ships: reload.",
    )
    consumption_per_hour: Probability = Field(
        default=0.004, description="Fraction of basic load used per hour when active."
    )
    amphibious: bool = Field(default=False, description="Land unit that can also move by sea.")
    anti_ship_range_km: RangeKm = Field(
        default=0.0,
        description="Land units: reach of anti-ship missile salvos (uses `salvo`, every "
        "`turnaround_hours`) against ships their side has detected.",
    )
    land_attack_range_km: RangeKm = Field(
        default=0.0,
        description="Sea units: reach of land-attack salvos (uses `salvo.land_attack`, every "
        "`turnaround_hours`) against anti-ship batteries their side has detected.",
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
    strength: float = Field(
        gt=0, le=MAX_STRENGTH, description="Combat strength (personnel, vehicles or ships)."
    )
    location: str
    speed_kph: float | None = Field(
        default=None, ge=0.1, le=MAX_SPEED_KPH, description="Overrides the type's speed."
    )
    posture: Posture = "defend"
    arrives_hour: Hours = Field(default=0.0, description="Reinforcement arrival time.")


class Objective(_Strict):
    """A place a side must hold or seize, by a deadline."""

    id: str = Field(min_length=1)
    place: str
    kind: Literal["hold", "seize"] = "hold"
    deadline_hours: Hours
    weight: float = Field(default=1.0, gt=0, le=1e6)


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
    report_delay_hours: float = Field(default=1.0, ge=0, le=720)
    track_stale_hours: float = Field(default=24.0, gt=0, le=MAX_HOURS)
    cycle_hours: float | None = Field(
        default=None,
        ge=0.5,
        le=MAX_HOURS,
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
    at_hour: Hours = 0.0


class LogisticsSettings(_Strict):
    """Convoys that carry supply from sources to units (see the engine's logistics section)."""

    convoy_speed_kph: float = Field(default=30.0, ge=1, le=MAX_SPEED_KPH)
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
        default=None, gt=0, le=MAX_HOURS, description="Wargame horizon; default is two cycles."
    )
    weights: dict[Criterion, Annotated[float, Field(ge=0, le=1e6)]] = Field(
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

    cycle_hours: float = Field(default=12.0, ge=0.5, le=MAX_HOURS)
    horizon_hours: float = Field(default=96.0, gt=0, le=MAX_HOURS)
    seed: int = Field(default=1, ge=0, le=MAX_SEED)
    combat_step_hours: float = Field(default=0.5, ge=0.01, le=24)
    combat_model: str = Field(
        default="cdb90",
        description="Land-combat model (a name in sim/data/combat_models, or a path to a "
        "model's .yaml): law, defence factors, breakpoints, per-battle spread; "
        "`dupuy_defaults` keeps the pre-calibration numbers.",
    )
    attrition: Literal["square", "linear", "mixed"] | None = Field(
        default=None,
        description="Run this textbook law exactly (no per-battle spread) instead of the "
        "combat model's own law.",
    )
    naval_attrition: Literal["salvo", "square"] = "salvo"
    stochastic: bool = True
    movement_noise: Annotated[float, Field(ge=0, le=1)] = Field(
        default=0.1, description="Coefficient of variation of travel times."
    )
    break_fraction: Annotated[float, Field(ge=0, lt=1)] | None = Field(
        default=None,
        description="A force below this share of its strength at contact retreats (both "
        "sides; unset: the combat model's per-role fractions).",
    )
    scan_interval_hours: float = Field(default=1.0, ge=0.1, le=MAX_HOURS)
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
    max_events: int = Field(
        default=DEFAULT_MAX_EVENTS,
        ge=1000,
        le=100_000_000,
        description="Engine budget: events one simulation run may process before it stops "
        "with an error (a runaway scenario). Shipped scenarios need under 5,000 for their "
        "whole horizon, a generated 1,000-unit one about 30,000.",
    )


class Scenario(_Strict):
    """A whole scenario, as loaded from one YAML file."""

    id: str = Field(min_length=1)
    name: str = ""
    summary: str = ""
    briefing: str = ""
    sources: list[str] = Field(default_factory=list)
    places: list[Place] = Field(min_length=1)  # one place: a single battle, no movement
    routes: list[Route] = Field(default_factory=list)
    sides: list[Side] = Field(min_length=2)
    unit_types: dict[str, UnitType] = Field(
        default_factory=dict,
        description="Unit types by name; the loader merges the default catalogue "
        "(`sim.unit_types`) with the scenario's own entries and overrides.",
    )
    formations: list[Formation] = Field(default_factory=list)
    units: list[UnitSpec] = Field(min_length=1)
    orders: list[Order] = Field(default_factory=list)
    settings: Settings = Field(default_factory=Settings)

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
