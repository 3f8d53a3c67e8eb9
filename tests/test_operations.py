"""Operations in the engine against closed forms: berths, airfield slots, air strikes, coastal
fires, convoys (at bridges, under interdiction), contact on a route, and snapshot exactness for
them all."""

from __future__ import annotations

import json
import math

import pytest
import yaml

from sim.engine import AIR_LOSS_PER_SORTIE, Simulation, apply_orders
from sim.engine.fires import Fires
from sim.engine.movement import Movement
from sim.outcome import perceived_state
from sim.scenario import ScenarioError, parse_scenario
from sim.state import Tasking, WorldState, initial_state
from sim.theater import Theater
from sim.unit_types import TERRAIN_DEFENSE_FACTOR

PLACES = [
    {"id": "west", "lat": 57.0, "lon": 24.0, "control": "a", "supply_source": True},
    {"id": "mid", "lat": 57.0, "lon": 24.5, "terrain": "forest"},
    {"id": "east", "lat": 57.0, "lon": 25.0, "control": "b", "supply_source": True},
    {"id": "hill", "lat": 57.3, "lon": 24.5},
    {"id": "port", "lat": 56.5, "lon": 24.0, "kind": "port", "capacity": 2, "handling_hours": 3},
    {"id": "sea", "lat": 56.0, "lon": 24.0, "kind": "sea", "terrain": "water"},
    {"id": "far_sea", "lat": 54.0, "lon": 24.0, "kind": "sea", "terrain": "water"},
    {"id": "airbase", "lat": 57.5, "lon": 24.0, "kind": "airfield", "control": "a"},
]
ROUTES = [
    {"from": "west", "to": "mid", "length_km": 60},
    {"from": "mid", "to": "east", "length_km": 60},
    {"from": "mid", "to": "hill", "length_km": 40},
    {"from": "west", "to": "port"},
    {"from": "west", "to": "airbase"},
    {"from": "port", "to": "sea", "mode": "sea"},
    {"from": "sea", "to": "far_sea", "mode": "sea"},
    {"from": "airbase", "to": "east", "mode": "air"},
]
TYPES = {
    "radar": {"lethality": 0, "sensor_range_km": 150, "detection_probability": 1.0},
    "slow": {"speed_kph": 20, "consumption_per_hour": 0},
    "fast": {"speed_kph": 30, "consumption_per_hour": 0},
}


def ops(
    units: list[dict],
    *,
    stochastic: bool = False,
    types=None,
    capacity=None,
    bridge=None,
    **settings,
):
    """A small two-sided theater (road line west-mid-east, a port, sea areas, an airbase);
    `capacity` sets the airbase's sortie slots, `bridge` the lanes of the west-mid road."""
    places = [
        {**p, "capacity": capacity} if p["id"] == "airbase" and capacity else p for p in PLACES
    ]
    routes = [
        {**r, "capacity": bridge} if (r["from"], r["to"]) == ("west", "mid") and bridge else r
        for r in ROUTES
    ]
    data = {
        "id": "ops",
        "places": places,
        "routes": routes,
        "sides": [
            {"id": "a", "planner": "scripted", "report_delay_hours": 1},
            {"id": "b", "planner": "scripted"},
        ],
        "unit_types": {**TYPES, **(types or {})},
        "units": units,
        "settings": {
            "stochastic": stochastic,
            "horizon_hours": 96,
            "break_fraction": 0,
            "supply": False,
            **settings,
        },
    }
    return parse_scenario(yaml.safe_dump(data))


def unit(uid, side, type_, location, strength=10.0) -> dict:
    return {"id": uid, "side": side, "type": type_, "location": location, "strength": strength}


def run(scenario, orders=(), until=24.0, seed=1, prepare=None):
    theater = Theater(scenario)
    state = initial_state(scenario)
    if prepare:
        prepare(state)
    apply_orders(scenario, theater, state, list(orders))
    simulation = Simulation(scenario, theater, state, seed=seed)
    simulation.run(until)
    return state, simulation


def ordered_state(scenario, theater, orders, front_supply: float):
    """The initial state with the orders applied and unit `front` low on supply."""
    state = initial_state(scenario)
    state.units["front"].supply = front_supply
    apply_orders(scenario, theater, state, orders)
    return state


def run_in_segments(scenario, theater, state, cuts, seed=1):
    """Run to each cut in turn, rebuilding the engine from a JSON snapshot at every cut (as a
    planning cycle does); returns the final state."""
    for cut in cuts:
        Simulation(scenario, theater, state, seed=seed).run(cut)
        state = WorldState.from_dict(json.loads(json.dumps(state.to_dict())))
    return state


def spy(monkeypatch, name: str) -> list[tuple[float, str]]:
    """Record (hour, unit id) of every call of an engine step taking a unit first: `settle`
    (movement) or `strike` (fires)."""
    calls = []
    owner = {"settle": Movement, "strike": Fires}[name]
    original = getattr(owner, name)

    def record(self, unit, *args):
        calls.append((self.kernel.now, unit.id))
        return original(self, unit, *args)

    monkeypatch.setattr(owner, name, record)
    return calls


# ------------------------------------------------------------------ capacity
def test_reinforcements_land_through_the_ports_berths_in_turn(monkeypatch):
    arrivals = [
        {**unit(f"r{i}", "a", "infantry", "port"), "arrives_hour": 2.0} for i in range(1, 6)
    ]
    scenario = ops([*arrivals, unit("sentry", "b", "radar", "east")])
    settled = spy(monkeypatch, "settle")
    run(scenario, until=20)
    ashore = {uid: hour for hour, uid in settled}
    # Two berths, three hours each, served in id order: (k - 1) // 2 full rounds of waiting.
    for k in range(1, 6):
        assert ashore[f"r{k}"] == pytest.approx(2.0 + 3.0 * ((k - 1) // 2 + 1))


def test_landing_by_sea_waits_for_a_berth(monkeypatch):
    marines = [unit(f"m{i}", "a", "marines", "sea") for i in range(1, 4)]
    types = {"marines": {"amphibious": True, "speed_kph": 20}}
    scenario = ops([*marines, unit("sentry", "b", "radar", "east")], types=types)
    settled = spy(monkeypatch, "settle")
    theater = Theater(scenario)
    leg = theater.leg(scenario.unit_types["marines"].modes, "sea", "port")
    ride = leg["length_km"] / (20 * leg["speed_factor"])
    run(scenario, [Tasking(m["id"], "move", "port") for m in marines], until=30)
    ashore = {uid: hour for hour, uid in settled}
    assert ashore["m1"] == pytest.approx(ride + 3) and ashore["m2"] == pytest.approx(ride + 3)
    assert ashore["m3"] == pytest.approx(ride + 6)


@pytest.mark.parametrize("capacity", [None, 1, 2])
def test_airfield_slots_limit_sortie_waves(monkeypatch, capacity):
    wings = [unit(f"w{i}", "a", "air_wing", "airbase") for i in range(1, 4)]
    target = unit("target", "b", "infantry", "east", strength=10_000)
    scenario = ops([*wings, target], capacity=capacity)
    strikes = spy(monkeypatch, "strike")
    run(scenario, [Tasking(w["id"], "strike", "east") for w in wings], until=36)
    waves = math.floor((36 - 1e-9) / 6)  # turnaround 6 h; a wave at exactly 36 is not yet flown
    assert len(strikes) == waves * min(3, capacity or 3)
    if capacity == 1:  # one slot: the wings take turns in order
        assert [uid for _, uid in strikes] == ["w1", "w2", "w3", "w1", "w2"]


# ---------------------------------------------------------------- air power
def test_waves_due_at_a_cut_hour_fly_in_the_next_run(monkeypatch):
    """Runs stop before `until`: a sortie wave or salvo due exactly at a cut (a planning cycle's
    end) is fired by the rebuilt run, so cycles of any length fly the straight run's waves."""
    wings = [unit(f"w{i}", "a", "air_wing", "airbase") for i in range(1, 3)]
    scenario = ops([*wings, unit("target", "b", "infantry", "east", strength=10_000)])
    strikes = spy(monkeypatch, "strike")
    theater = Theater(scenario)
    state = initial_state(scenario)
    apply_orders(scenario, theater, state, [Tasking(w["id"], "strike", "east") for w in wings])
    run_in_segments(scenario, theater, state, [6.0, 12.0, 18.0, 36.0])  # cuts on wave hours
    assert sorted(strikes) == [(6.0 * k, w["id"]) for k in range(1, 6) for w in wings]

    battery = coastal_scenario()
    theater = Theater(battery)
    state = initial_state(battery)
    state = run_in_segments(battery, theater, state, [4.0, 5.0])  # the salvo is due at H+4
    assert state.units["group"].strength == pytest.approx(coastal().units["group"].strength)


def test_air_strike_damage_follows_type_multiplier_and_terrain_cover():
    striker = {
        "domain": "air",
        "lethality": 0.01,
        "versus": {"armor": 2.0},
        "sortie_range_km": 500,
        "turnaround_hours": 6,
    }
    scenario = ops(
        [
            unit("w", "a", "striker", "airbase", strength=10),
            unit("tanks", "b", "armor", "mid", strength=30),
            unit("rifles", "b", "infantry", "mid", strength=10),
        ],
        types={"striker": striker},
    )
    state, _ = run(scenario, [Tasking("w", "strike", "mid")], until=7)
    cover = TERRAIN_DEFENSE_FACTOR["forest"]
    damage = 0.01 * 10 * 6 / cover  # lethality x aircraft x hours, over the terrain cover
    assert state.units["tanks"].strength == pytest.approx(30 - damage * 2.0 * 30 / 40)
    assert state.units["rifles"].strength == pytest.approx(10 - damage * 1.0 * 10 / 40)
    assert state.units["w"].strength == pytest.approx(10 * (1 - AIR_LOSS_PER_SORTIE))


def test_only_air_units_take_strike_or_interdiction_orders():
    scenario = ops([unit("inf", "a", "infantry", "west"), unit("x", "b", "radar", "east")])
    state = initial_state(scenario)
    rejected = apply_orders(scenario, Theater(scenario), state, [Tasking("inf", "strike", "mid")])
    assert rejected == ["inf: only air units can strike"]
    text = yaml.safe_dump(
        {
            **scenario.model_dump(by_alias=True, exclude={"unit_types"}),
            "unit_types": TYPES,
            "orders": [{"unit": "inf", "action": "interdict", "target": "mid"}],
        }
    )
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, source="ops.yaml")
    assert "orders[0].action: only air units can interdict" in str(err.value)


# ------------------------------------------------------------ coastal fires
def coastal_scenario(radar: bool = True):
    units = [
        unit("battery", "a", "coastal_missile", "port", strength=6),
        unit("group", "b", "surface_group", "sea", strength=4),
    ]
    if radar:
        units.append(unit("radar", "a", "radar", "port"))
    return ops(units)


def coastal(ships_move: bool = False, radar: bool = True):
    orders = [Tasking("group", "move", "far_sea")] if ships_move else []
    return run(coastal_scenario(radar), orders, until=5)[0]


def test_coastal_battery_salvo_follows_hughes():
    state = coastal()
    # One salvo at H+4: 6 launchers x 2 missiles against 4 ships x 2 intercepts leaves 4
    # leakers; 2 hits put a ship out of action (Hughes 1995): 2 ships lost.
    assert state.units["group"].strength == pytest.approx(4 - (2 * 6 - 2 * 4) / 2)


def test_coastal_battery_needs_a_track_and_fires_at_the_reported_place():
    assert coastal(radar=False).units["group"].strength == 4  # no sensor reaches the ships
    moved = coastal(ships_move=True)
    assert moved.detections["a"]["group"][0].place == "sea"  # seen before it sailed
    assert moved.units["group"].strength == 4  # the salvo fell where the ships had been


#: A surface group with land-attack missiles and a sure sensor (a gun line off the coast).
GUNLINE = {
    "domain": "sea",
    "sensor_range_km": 300,
    "detection_probability": 1.0,
    "land_attack_range_km": 250,
    "turnaround_hours": 6,
    "salvo": {"offense": 0, "defense": 2, "staying_power": 2, "land_attack": 1.5},
}


def counter_battery(sensor_km: float = 300, until: float = 7):
    """Ships at sea (3) against a battery (6 launchers) with infantry beside it at the port;
    side a has no radar, so the battery (40 km sensors) never sees the ships 56 km off."""
    scenario = ops(
        [
            unit("battery", "a", "coastal_missile", "port", strength=6),
            unit("rifles", "a", "infantry", "port", strength=10),
            unit("ships", "b", "gunline", "sea", strength=3),
        ],
        types={"gunline": {**GUNLINE, "sensor_range_km": sensor_km}},
    )
    return scenario, run(scenario, until=until)[0]


def test_ships_fire_back_at_a_located_battery_by_the_salvo_equation():
    _, state = counter_battery()
    # One salvo at H+6: 3 ships x 1.5 land-attack missiles, no intercepts, one hit per
    # launcher (the battery's staying power): 4.5 launchers lost. The infantry is not a target.
    assert state.units["battery"].strength == pytest.approx(6 - 3 * 1.5 / 1)
    assert state.units["rifles"].strength == 10
    assert state.units["ships"].strength == 3
    _, later = counter_battery(until=13)
    assert later.units["battery"].strength == 0  # the second salvo finishes it


def test_ships_need_a_track_on_the_battery():
    _, state = counter_battery(sensor_km=10)  # the port is 56 km away: never seen
    assert state.units["battery"].strength == 6


def test_a_counter_battery_salvo_due_at_a_cut_hour_is_fired_by_the_rebuilt_run():
    scenario, straight = counter_battery(until=13)
    state = run_in_segments(scenario, Theater(scenario), initial_state(scenario), [6.0, 12.0, 13])
    assert state.units["battery"].strength == straight.units["battery"].strength == 0


def test_shore_fire_types_are_checked_at_load():
    text = yaml.safe_dump(
        {
            **ops([unit("x", "a", "radar", "west"), unit("y", "b", "radar", "east")]).model_dump(
                by_alias=True, exclude={"unit_types"}
            ),
            "unit_types": {
                "boat": {"domain": "sea", "anti_ship_range_km": 100},
                "fort": {"domain": "land", "land_attack_range_km": 100},
                "frigate": {**GUNLINE, "salvo": {**GUNLINE["salvo"], "land_attack": 0}},
            },
        }
    )
    with pytest.raises(ScenarioError) as err:
        parse_scenario(text, source="ops.yaml")
    message = str(err.value)
    assert "unit_types.boat.anti_ship_range_km: only land units fire at ships" in message
    assert "unit_types.boat.salvo: anti-ship units need salvo parameters" in message
    assert "unit_types.fort.land_attack_range_km: only ships fire land-attack" in message
    assert "unit_types.fort.salvo.land_attack: land-attack ships need it > 0" in message
    assert "unit_types.frigate.salvo.land_attack: land-attack ships need it > 0" in message


# -------------------------------------------------------------- logistics
def convoy_run(
    extra_units=(), orders=(), stochastic=False, seed=1, until=10.0, at="mid", bridge=None
):
    scenario = ops(
        [unit("front", "a", "slow", at), unit("x", "b", "radar", "east"), *extra_units],
        stochastic=stochastic,
        supply=True,
        bridge=bridge,
    )

    def low_supply(state):
        state.units["front"].supply = 0.5

    state, _ = run(scenario, orders, until=until, seed=seed, prepare=low_supply)
    theater = Theater(scenario)
    leg = theater.leg(frozenset({"road"}), "west", "mid")
    return state, leg["length_km"] / (30 * leg["speed_factor"])


def test_a_convoy_drives_from_the_source_and_delivers_on_arrival():
    # The unit at mid is down to half a load at H+0: a convoy leaves west (a's source) at once.
    state, hours = convoy_run()
    (entry,) = state.logistics_log
    assert entry["result"] == "delivered" and entry["hour"] == pytest.approx(hours)
    assert entry["cargo"] == pytest.approx(0.5)
    assert state.units["front"].supply == pytest.approx(1.0)


@pytest.mark.parametrize("watcher_at", ["hill", "east"])
def test_enemy_convoys_are_sighted_only_within_sensor_range(watcher_at):
    # b's sensor sees 50 km with certainty: from the hill (45 km from west, 33 from mid) it
    # picks up a's convoy at each hourly scan while it drives west-mid (H+0 to H+2); from
    # east (60 km from west) it never does.
    eyes = {"eyes": {"lethality": 0, "sensor_range_km": 50, "detection_probability": 1.0}}
    scenario = ops(
        [unit("front", "a", "slow", "mid"), unit("watcher", "b", "eyes", watcher_at)],
        types=eyes,
        supply=True,
    )

    def low_supply(state):
        state.units["front"].supply = 0.5

    state, _ = run(scenario, until=10.0, prepare=low_supply)
    assert state.logistics_log[0]["result"] == "delivered"
    sightings = state.convoy_sightings.get("b", [])
    if watcher_at == "east":
        assert sightings == []
        return
    assert [(s["seen_hour"], s["place"]) for s in sightings] == [(0.0, "west"), (1.0, "west")]
    assert all(s["reported_hour"] == s["seen_hour"] + 1.0 for s in sightings)  # report delay
    believed = perceived_state(scenario, state, "b")
    assert believed.convoy_sightings == {"b": sightings}  # reported by H+10, none stale
    assert perceived_state(scenario, state, "a").convoy_sightings == {"a": []}


def test_a_convoy_queues_for_a_one_lane_bridge_in_turn():
    # Two columns reach the one-lane west-mid bridge with the convoy at H+0. Lanes go first
    # come, first served, ties by id: k1, then the convoy (a-convoy-1 < k2), then k2.
    columns = [unit("k1", "a", "slow", "west"), unit("k2", "a", "slow", "west")]
    orders = [Tasking("k1", "move", "mid"), Tasking("k2", "move", "mid")]
    state, convoy_hours = convoy_run(columns, orders, until=30, bridge=1)
    column_hours = convoy_hours * 30 / 20  # the columns drive at 20 km/h, convoys at 30
    (entry,) = state.logistics_log
    assert entry["result"] == "delivered"
    assert entry["hour"] == pytest.approx(column_hours + convoy_hours)
    assert state.units["k2"].location == "mid"
    open_road, _ = convoy_run(columns, orders, until=30)
    assert open_road.logistics_log[0]["hour"] == pytest.approx(convoy_hours)


def test_rebuilt_runs_keep_the_bridge_queue_of_columns_and_convoys():
    columns = [unit(f"k{i}", "a", "slow", "west") for i in (1, 2, 3)]
    scenario = ops(
        [unit("front", "a", "slow", "mid"), unit("x", "b", "radar", "east"), *columns],
        supply=True,
        bridge=1,
    )
    theater = Theater(scenario)
    orders = [Tasking(c["id"], "move", "mid") for c in columns]

    def fresh():
        return ordered_state(scenario, theater, orders, front_supply=0.5)

    straight = fresh()
    Simulation(scenario, theater, straight, seed=1).run(30)
    assert straight.logistics_log[0]["result"] == "delivered"
    leg = theater.leg(frozenset({"road"}), "west", "mid")
    column_hours = leg["length_km"] / (20 * leg["speed_factor"])
    # Cuts while the convoy waits, while it holds the bridge and on a lane's hand-over.
    for cuts in ([1.0], [column_hours + 0.5], [column_hours], [0.5, 2.5, 5.0, 7.5]):
        state = run_in_segments(scenario, theater, fresh(), [*cuts, 30.0])
        assert state.to_dict() == straight.to_dict(), cuts


def test_air_interdiction_thins_convoys_by_the_per_aircraft_chance():
    jammer = unit("hunters", "b", "air_wing", "airbase", strength=20)
    p_kill = 1 - (1 - 0.02) ** 20
    state, _ = convoy_run([jammer], [Tasking("hunters", "interdict", "mid")])
    (entry,) = state.logistics_log
    assert entry["cargo"] == pytest.approx(0.5 * (1 - p_kill))  # expected value, deterministic
    lost = 0
    runs = 300
    for seed in range(runs):
        state, _ = convoy_run(
            [jammer], [Tasking("hunters", "interdict", "mid")], stochastic=True, seed=seed
        )
        lost += state.logistics_log[0]["result"] == "destroyed by air interdiction"
    standard_error = math.sqrt(p_kill * (1 - p_kill) / runs)
    assert abs(lost / runs - p_kill) < 3 * standard_error


def test_a_convoy_entering_a_place_the_enemy_has_taken_is_lost():
    # The unit is at hill, behind mid; a raider seizes the empty mid at H+1, the convoy that
    # left west at H+0 drives into it at H+2, and no later convoy is sent through it.
    raider = {**unit("raider", "b", "fast", "mid"), "arrives_hour": 1.0}
    state, hours = convoy_run([raider], at="hill")
    (entry,) = state.logistics_log
    assert entry["result"] == "destroyed by enemy ground forces" and entry["place"] == "mid"
    assert entry["hour"] == pytest.approx(hours)
    assert state.control["mid"] == "b" and state.units["front"].supply == 0.5  # nothing came


def test_a_convoy_reaches_a_unit_fighting_for_its_place():
    raider = {**unit("raider", "b", "fast", "mid"), "arrives_hour": 1.0}
    state, hours = convoy_run([raider])  # the unit holds mid: the raider attacks it there
    assert "mid" in state.battles
    assert state.logistics_log[0]["result"] == "delivered"
    assert state.logistics_log[0]["hour"] == pytest.approx(hours)


# ------------------------------------------------------------ contact en route
def test_columns_meeting_on_a_road_fight_at_the_nearer_end():
    scenario = ops([unit("A", "a", "fast", "west"), unit("B", "b", "slow", "mid")])
    theater = Theater(scenario)
    factor = theater.leg(frozenset({"road"}), "west", "mid")["speed_factor"]
    h_a, h_b = 60 / (30 * factor), 60 / (20 * factor)
    meet = 1 / (1 / h_a + 1 / h_b)  # both leave at H+0 towards each other
    orders = [Tasking("A", "attack", "mid"), Tasking("B", "attack", "west")]
    state, simulation = run(scenario, orders, until=meet + 1e-6)
    b = state.units["B"]
    # A covered 60 % of the road, so B is nearer its start: it turns back to mid.
    assert (b.location, b.next_place) == ("west", "mid")
    assert b.leg.arrive_hour == pytest.approx(meet + (meet / h_b) * h_b)
    simulation.run(20)
    # A reaches mid first and takes it; B, back at mid at 2 x meet, attacks it there.
    assert state.battles["mid"].start_hour == pytest.approx(2 * meet)
    assert state.battles["mid"].defender == "a"
    assert state.units["A"].location == "mid" and state.units["B"].location == "mid"


# ------------------------------------------------------------ breaking contact
def engaged_at_mid():
    """A (10) and B (30) start in contact at mid; C (a) stands at west, 60 km of road away."""
    scenario = ops(
        [
            unit("A", "a", "slow", "mid"),
            unit("B", "b", "slow", "mid", strength=30),
            unit("C", "a", "slow", "west"),
        ]
    )
    theater = Theater(scenario)
    state = initial_state(scenario)
    Simulation(scenario, theater, state, seed=1).run(3.0)  # one planning cycle of fighting
    return scenario, theater, state


def test_a_unit_ordered_away_from_a_battle_breaks_contact_after_the_step_in_progress():
    scenario, theater, stayed = engaged_at_mid()
    assert "mid" in stayed.battles and stayed.battles["mid"].last_tick == 2.5
    Simulation(scenario, theater, stayed, seed=1).run(3.01)  # the step ending at H+3
    _, _, state = engaged_at_mid()
    apply_orders(scenario, theater, state, [Tasking("A", "defend", "west")])
    simulation = Simulation(scenario, theater, state, seed=1)
    simulation.run(3.01)
    a = state.units["A"]
    factor = theater.leg(frozenset({"road"}), "mid", "west")["speed_factor"]
    assert a.strength == stayed.units["A"].strength < 10  # it fought that step, and left
    assert (a.next_place, a.leg.depart_hour, a.posture) == ("west", 3.0, "move")
    assert a.leg.arrive_hour == pytest.approx(3.0 + 60 / (20 * factor))
    simulation.run(12.0)
    assert a.strength == stayed.units["A"].strength  # no loss after it broke contact
    assert (a.location, a.posture) == ("west", "defend")
    assert state.battle_log[-1]["end_hour"] == 3.5  # the next step finds no one to fight
    assert state.control["mid"] == "b"


def test_orders_break_contact_in_a_believed_world_too():
    # The planner wargames its side's picture, which has detected enemies but no battles.
    scenario, theater, state = engaged_at_mid()
    believed = perceived_state(scenario, state, "a")
    assert not believed.battles and believed.units["B"].location == "mid"
    apply_orders(scenario, theater, believed, [Tasking("A", "defend", "west")])
    assert believed.units["A"].posture == "disengage"


def test_a_column_ordered_through_a_battle_joins_it():
    scenario, theater, state = engaged_at_mid()
    apply_orders(scenario, theater, state, [Tasking("C", "attack", "east")])  # via mid
    factor = theater.leg(frozenset({"road"}), "west", "mid")["speed_factor"]
    arrival = 3.0 + 60 / (20 * factor)
    Simulation(scenario, theater, state, seed=1).run(arrival + 2.0)
    c = state.units["C"]
    assert (c.location, c.next_place, c.path) == ("mid", None, ["east"])  # stopped to fight
    assert c.strength < 10


# ------------------------------------------------------------ exactness
def test_rebuilt_runs_equal_straight_runs_with_queues_convoys_and_meetings():
    units = [
        *[{**unit(f"r{i}", "a", "infantry", "port"), "arrives_hour": 1.5} for i in range(1, 5)],
        *[unit(f"w{i}", "a", "air_wing", "airbase") for i in range(1, 3)],
        unit("A", "a", "fast", "west"),
        unit("B", "b", "slow", "mid"),
        unit("front", "a", "slow", "west"),
        unit("battery", "a", "coastal_missile", "port", strength=6),
        unit("radar", "a", "radar", "port"),
        unit("group", "b", "surface_group", "sea", strength=4),
    ]
    orders = [
        Tasking("A", "attack", "mid"),
        Tasking("B", "attack", "west"),
        Tasking("w1", "strike", "mid"),
        Tasking("w2", "strike", "mid"),
        Tasking("front", "move", "mid"),
    ]
    for stochastic in (False, True):
        scenario = ops(units, stochastic=stochastic, capacity=1, supply=True)
        theater = Theater(scenario)

        def fresh(scenario=scenario, theater=theater):
            return ordered_state(scenario, theater, orders, front_supply=0.4)

        straight = fresh()
        Simulation(scenario, theater, straight, seed=5).run(30)
        for cuts in ([1.5], [2.0, 4.5], [3.3, 6.0, 9.0], [12.0]):
            state = run_in_segments(scenario, theater, fresh(), [*cuts, 30.0], seed=5)
            assert state.to_dict() == straight.to_dict(), (stochastic, cuts)
