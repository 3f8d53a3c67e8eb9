"""Engine behaviour: movement on edges, determinism, snapshots, fog of war, reinforcements,
keyed random draws."""

from __future__ import annotations

import json

import pytest
from conftest import duel

from sim._random import keyed_uniform, splitmix64
from sim.engine import Simulation, apply_orders
from sim.engine.movement import Movement
from sim.montecarlo import replicate
from sim.outcome import perceived_state
from sim.state import Tasking, WorldState, initial_state
from sim.theater import Theater

RED_ATTACK = [
    Tasking("r-mech-1", "attack", "johvi"),
    Tasking("r-tank-2", "attack", "narva"),
    Tasking("r-mech-3", "attack", "rakvere"),
    Tasking("b-arm-3", "move", "johvi"),
]


def _run(scenario, seed=3, until=48.0, cut=None, stochastic=None):
    theater = Theater(scenario)
    state = initial_state(scenario)
    apply_orders(scenario, theater, state, RED_ATTACK)
    simulation = Simulation(scenario, theater, state, seed=seed, stochastic=stochastic)
    if cut is not None:
        simulation.run(cut)
    simulation.run(until)
    return state


def test_units_move_only_along_graph_edges(tutorial, monkeypatch):
    legs = []
    original = Movement._depart

    def record(self, unit, destination, hours):
        legs.append((unit.id, unit.location, destination))
        original(self, unit, destination, hours)

    monkeypatch.setattr(Movement, "_depart", record)
    _run(tutorial)
    theater = Theater(tutorial)
    assert legs, "the red attack must move units"
    for unit_id, source, target in legs:
        modes = tutorial.unit_types[initial_state(tutorial).units[unit_id].type].modes
        routes = theater.graph.get_edge_data(source, target) or {}
        assert any(r["mode"] in modes for r in routes.values()), (unit_id, source, target)


def test_same_seed_same_world_different_seed_differs(tutorial):
    first, again, other = _run(tutorial, seed=3), _run(tutorial, seed=3), _run(tutorial, seed=4)
    assert first.to_dict() == again.to_dict()
    assert first.to_dict() != other.to_dict()


def test_snapshot_and_rebuild_equals_straight_run(tutorial):
    for stochastic in (False, True):
        for cut in (12.0, 13.3):
            straight = _run(tutorial, cut=cut, stochastic=stochastic)
            theater = Theater(tutorial)
            state = initial_state(tutorial)
            apply_orders(tutorial, theater, state, RED_ATTACK)
            Simulation(tutorial, theater, state, seed=3, stochastic=stochastic).run(cut)
            snapshot = WorldState.from_dict(json.loads(json.dumps(state.to_dict())))
            Simulation(tutorial, theater, snapshot, seed=3, stochastic=stochastic).run(48.0)
            assert snapshot.to_dict() == straight.to_dict(), (stochastic, cut)


def test_perceived_picture_holds_only_reported_detections(tutorial):
    theater = Theater(tutorial)
    state = initial_state(tutorial)
    apply_orders(tutorial, theater, state, RED_ATTACK)
    simulation = Simulation(tutorial, theater, state, seed=5)
    enemy_convoys_on_the_road = 0
    for hour in range(1, 49):
        simulation.run(float(hour))
        for side in ("blue", "red"):
            believed = perceived_state(tutorial, state, side)
            enemy_convoys_on_the_road += sum(c.side != side for c in state.convoys.values())
            assert all(c.side == side for c in believed.convoys.values())
            assert all(entry["side"] == side for entry in believed.logistics_log)
            reports = state.detections[side]
            for unit in believed.units.values():
                if unit.side == side:
                    continue
                usable = [r for r in reports.get(unit.id, []) if r.reported_hour <= hour]
                assert usable, f"{side} believes in {unit.id} without a report at H+{hour}"
                assert unit.location == usable[-1].place
    assert enemy_convoys_on_the_road > 0  # there were enemy convoys to keep out of the picture


def test_units_beyond_every_sensor_are_never_seen():
    scenario = duel(10, 10, 0.01, 0.01)
    data = scenario.model_dump(by_alias=True)
    data["places"].append(
        {
            "id": "far",
            "lat": 60.0,
            "lon": 21.0,
            "kind": "town",
            "terrain": "open",
            "control": None,
            "supply_source": False,
            "name": "",
        }
    )
    data["routes"].append(
        {
            "from": "rear",
            "to": "far",
            "mode": "road",
            "terrain": "open",
            "length_km": None,
            "capacity": None,
        }
    )
    data["units"][1]["location"] = "far"
    data["unit_types"] = {k: v for k, v in data["unit_types"].items() if k.startswith("shooter")}
    from sim.scenario import Scenario

    far = Scenario.model_validate(data)
    state = initial_state(far)
    Simulation(far, Theater(far), state, seed=1).run(24)
    assert state.detections["a"] == {} and state.detections["b"] == {}


def test_reinforcement_arrives_on_the_hour():
    scenario = duel(50, 40, 0.0, 0.0, a_arrives=7.0)
    theater = Theater(scenario)
    state = initial_state(scenario)
    simulation = Simulation(scenario, theater, state, seed=1, record_timeline=True)
    simulation.run(12)
    hours = [row[0] for row in simulation.timeline if row[1] == "A"]
    assert min(hours) == 7.0
    assert state.battles["field"].start_hour == 7.0


def test_serial_and_parallel_replications_are_identical(tutorial):
    state = initial_state(tutorial)
    plans = [RED_ATTACK, RED_ATTACK[:2]]
    kwargs = dict(side="blue", until=24.0, replications=6, seed=11)
    serial = replicate(tutorial, state, plans, workers=1, **kwargs)
    parallel = replicate(tutorial, state, plans, workers=2, **kwargs)
    assert serial == parallel
    assert len({r.own_loss for r in serial}) > 1  # replications really differ


def test_ships_and_land_units_at_one_place_do_not_lock_in_battle():
    scenario = duel(10, 3, 0.01, 0.01)
    data = scenario.model_dump(by_alias=True)
    data["unit_types"]["frigate"] = {
        "domain": "sea",
        "salvo": {"offense": 2, "defense": 1, "staying_power": 1},
    }
    data["routes"].append(
        {
            "from": "field",
            "to": "rear",
            "mode": "sea",
            "terrain": "water",
            "length_km": None,
            "capacity": None,
        }
    )
    data["units"][1].update(type="frigate")  # enemy ship at the land unit's place
    from sim.scenario import Scenario

    mixed = Scenario.model_validate(data)
    theater = Theater(mixed)
    state = initial_state(mixed)
    apply_orders(mixed, theater, state, [Tasking("A", "move", "rear")])
    Simulation(mixed, theater, state, seed=1).run(10)
    assert state.battles == {}
    assert state.units["A"].location == "rear"  # free to leave
    assert state.units["A"].strength == 10 and state.units["B"].strength == 3


# ------------------------------------------------------------------ keyed draws
def test_keyed_draws_are_splitmix64_at_the_index():
    # Rosetta Code, "Pseudo-random numbers/Splitmix64": the first five outputs for 1234567.
    reference = [
        6457827717110365317,
        3203168211198807973,
        9817491932198370423,
        4593380528125082431,
        16408922859458223821,
    ]
    assert [splitmix64(1234567, i) for i in range(5)] == reference
    # A draw depends on its key alone, not on which draws came before it.
    later_first = [keyed_uniform(7, "detect", "blue", "u1", i) for i in (3, 2, 1)]
    assert later_first[::-1] == [keyed_uniform(7, "detect", "blue", "u1", i) for i in (1, 2, 3)]
    assert keyed_uniform(7, "detect", "blue", "u1", 1) != keyed_uniform(
        7, "detect", "blue", "u2", 1
    )
    draws = [keyed_uniform(11, "move", "u", i) for i in range(20_000)]
    # Uniform on (0, 1): mean 1/2 and variance 1/12, each within 4 standard errors.
    mean = sum(draws) / len(draws)
    variance = sum((x - mean) ** 2 for x in draws) / len(draws)
    assert abs(mean - 0.5) < 4 * (1 / 12 / len(draws)) ** 0.5
    assert abs(variance - 1 / 12) < 4 * (1 / 180 / len(draws)) ** 0.5


# ------------------------------------------------------- snapshots at corps scale
def _scripted(name):
    from scenarios import resolve_scenario
    from sim.scenario import load_scenario

    scenario = load_scenario(resolve_scenario(name))
    theater = Theater(scenario)
    state = initial_state(scenario)
    orders = [Tasking(o.unit, o.action, o.target) for o in scenario.orders if o.at_hour == 0]
    apply_orders(scenario, theater, state, orders)
    return scenario, theater, state


# Under the CDB90 model the Western Pacific's battles end at their breakpoints within hours and
# no convoy leaves in the first 40 hours, so that case runs the pre-calibration model (square
# law, break fraction 0.3) to cut convoys too; the Baltic case runs the default model.
@pytest.mark.parametrize(
    "name, model", [("baltic_corps", None), ("western_pacific", "dupuy_defaults")]
)
def test_runs_rebuilt_at_arbitrary_cuts_equal_a_straight_run(name, model):
    scenario, theater, straight = _scripted(name)
    if model is not None:
        update = {"combat_model": model, "attrition": "square", "break_fraction": 0.3}
        settings = scenario.settings.model_copy(update=update)
        scenario = scenario.model_copy(update={"settings": settings})
    segmented = straight.clone()
    Simulation(scenario, theater, straight, seed=7).run(40.0)
    # Cuts mid-leg, mid-step (combat steps are half-hourly), on a step and on the supply grid.
    for cut in (3.3, 11.75, 12.0, 12.25, 25.9, 40.0):
        Simulation(scenario, theater, segmented, seed=7).run(cut)
        segmented = WorldState.from_dict(json.loads(json.dumps(segmented.to_dict())))
    assert straight.battle_log and straight.convoys_sent  # battles and convoys were cut too
    assert segmented.to_dict() == straight.to_dict()
    assert segmented == straight  # the snapshot round trip loses nothing, legs included


@pytest.mark.parametrize("name", ["tutorial", "western_pacific"])
def test_a_run_that_keeps_no_picture_has_the_same_outcome(name):
    scenario, theater, kept = _scripted(name)
    unread = kept.clone()
    Simulation(scenario, theater, kept, seed=2).run(36.0)
    simulation = Simulation(scenario, theater, unread, seed=2, keep_picture=False)
    simulation.run(36.0)
    assert any(kept.detections.values())  # the full run did build a picture
    for field in ("units", "control", "battle_log", "battles", "convoys", "logistics_log"):
        assert getattr(unread, field) == getattr(kept, field), field
    # Western Pacific's batteries and ships aim by their tracks: those sides still scan.
    shooters = {u.side for u in unread.units.values() if "coastal" in u.type}
    assert bool(shooters) == (name == "western_pacific")
    assert all(unread.detections[side] == kept.detections[side] for side in shooters)


def test_snapshots_written_before_the_leg_record_still_load(tutorial):
    theater = Theater(tutorial)
    state = initial_state(tutorial)
    apply_orders(tutorial, theater, state, RED_ATTACK)
    Simulation(tutorial, theater, state, seed=3).run(0.5)  # columns are under way
    old = json.loads(json.dumps(state.to_dict()))
    for mover in [*old["units"].values(), *old["convoys"].values()]:
        leg = mover.pop("leg")  # the three fields of 927a2df's snapshots
        mover["next_place"] = leg and leg["to"]
        mover["depart_hour"] = leg and leg["depart_hour"]
        mover["arrive_hour"] = leg and leg["arrive_hour"]
    assert any(u["next_place"] for u in old["units"].values())
    assert WorldState.from_dict(old) == state
