"""What happened in one act phase: an event log derived from the world before and after it.

The engine logs battles (`battle_log`), convoys (`logistics_log`) and objective deadlines
(`objective_log`); everything else is read off the difference between the two snapshots:
reinforcements due in the cycle, places whose control changed, and the air taskings in force.
Nothing here changes the world or draws a random number, so logging cannot alter a run.

What the engine does not log yet, and so is not here: the damage of each strike or
interdiction wave and of each coastal salvo (only the tasking and the wing's own losses are
known), and the hour a place changed hands without a fight (recorded with ``hour=None`` and
the hours between which it happened).
"""

from __future__ import annotations

from planner.record import CycleEvent
from sim.scenario import AIR_ACTIONS, Scenario
from sim.state import WorldState

__all__ = ["cycle_events"]

_KIND_ORDER = {
    "arrival": 0,
    "strike_tasked": 1,
    "battle_begun": 2,
    "battle_ended": 3,
    "control_changed": 4,
    "convoy_lost": 5,
    "objective_deadline": 6,
}


def cycle_events(scenario: Scenario, before: WorldState, after: WorldState) -> list[CycleEvent]:
    """The events of the act phase that took `before` (orders applied) to `after`, in order.

    Args:
        before: the ground truth at the cycle's start, with the cycle's orders already applied.
        after: the ground truth at the cycle's end (the same run, advanced).
    """
    start, end = before.hour, after.hour
    at_place = _objectives_by_place(scenario)
    timed: list[tuple[float, CycleEvent]] = []  # (sort hour, event)
    timed += ((e.hour, e) for e in _arrivals(before, start, end))
    timed += ((start, e) for e in _air_taskings(scenario, before, after, start, end))
    new_battles = after.battle_log[len(before.battle_log) :]
    timed += _battles(before, after, new_battles, at_place)
    timed += _control_changes(before, after, new_battles, at_place, start, end)
    for entry in after.logistics_log[len(before.logistics_log) :]:
        if entry["result"].startswith("destroyed"):
            event = CycleEvent(
                kind="convoy_lost",
                hour=entry["hour"],
                place=entry["place"],
                side=entry["side"],
                unit=entry["unit"],
                detail=f"{entry['convoy']} {entry['result']}",
            )
            timed.append((entry["hour"], event))
    timed += _deadlines(scenario, before, after)
    timed.sort(key=lambda pair: (pair[0], _KIND_ORDER[pair[1].kind], pair[1].place or ""))
    return [event for _, event in timed]


def _hour(value: float) -> str:
    return f"H+{round(value, 1):g}"


def _objectives_by_place(scenario: Scenario) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for side in scenario.sides:
        for objective in side.mission.objectives:
            found.setdefault(objective.place, []).append(f"{side.id}:{objective.id}")
    return found


def _arrivals(before: WorldState, start: float, end: float) -> list[CycleEvent]:
    """Units due in theater during the cycle (reinforcements), at their arrival place."""
    return [
        CycleEvent(
            kind="arrival",
            hour=unit.arrives_hour,
            place=unit.location,
            side=unit.side,
            unit=unit.id,
            detail=f"{unit.id} ({unit.type}, strength {unit.strength:g}) due",
        )
        for unit in sorted(before.units.values(), key=lambda u: (u.arrives_hour, u.id))
        if start < unit.arrives_hour <= end and unit.alive
    ]


def _air_taskings(
    scenario: Scenario, before: WorldState, after: WorldState, start: float, end: float
) -> list[CycleEvent]:
    """Air units tasked to strike or interdict during the cycle, and what the wing lost."""
    tasked = {
        unit.id: (unit.action, unit.target)
        for unit in before.units.values()
        if unit.action in AIR_ACTIONS and unit.target is not None and unit.active(start)
    }
    scripted = {side.id for side in scenario.sides if side.planner == "scripted"}
    for order in scenario.orders:
        unit = before.units.get(order.unit)
        if unit is None or unit.side not in scripted or not start <= order.at_hour < end:
            continue
        if order.action in AIR_ACTIONS:
            tasked[order.unit] = (order.action, order.target)
        else:
            tasked.pop(order.unit, None)
    events = []
    for unit_id in sorted(tasked):
        action, target = tasked[unit_id]
        lost = before.units[unit_id].strength - after.units[unit_id].strength
        events.append(
            CycleEvent(
                kind="strike_tasked",
                hour=start,
                place=target,
                side=before.units[unit_id].side,
                unit=unit_id,
                action=action,
                detail=f"{unit_id} tasked to {action} at {target}; the wing lost "
                f"{lost:.3g} strength this cycle",
            )
        )
    return events


def _same_battle(world: WorldState, place: str, start_hour: float) -> bool:
    battle = world.battles.get(place)
    return battle is not None and abs(battle.start_hour - start_hour) < 1e-9


def _battles(
    before: WorldState,
    after: WorldState,
    new_battles: list[dict],
    at_place: dict[str, list[str]],
) -> list[tuple[float, CycleEvent]]:
    """Battles begun in the cycle (ended or still going on) and battles ended in it."""
    found = []
    for entry in new_battles:
        place = entry["place"]
        if not _same_battle(before, place, entry["start_hour"]):
            found.append((entry["start_hour"], _begun(place, entry["start_hour"], entry, at_place)))
        found.append(
            (
                entry["end_hour"],
                CycleEvent(
                    kind="battle_ended",
                    hour=entry["end_hour"],
                    place=place,
                    winner=entry["winner"],
                    previous=entry["defender"],
                    objectives=at_place.get(place, []),
                    detail=f"battle of {place} since {_hour(entry['start_hour'])}: "
                    + (f"{entry['winner']} holds the field" if entry["winner"] else "undecided"),
                ),
            )
        )
    for place in sorted(after.battles):
        battle = after.battles[place]
        if not _same_battle(before, place, battle.start_hour):
            entry = {"defender": battle.defender}
            found.append((battle.start_hour, _begun(place, battle.start_hour, entry, at_place)))
    return found


def _begun(place: str, hour: float, entry: dict, at_place: dict[str, list[str]]) -> CycleEvent:
    return CycleEvent(
        kind="battle_begun",
        hour=hour,
        place=place,
        previous=entry["defender"],
        objectives=at_place.get(place, []),
        detail=f"battle of {place} begins"
        + (f" ({entry['defender']} defending)" if entry["defender"] else ""),
    )


def _control_changes(
    before: WorldState,
    after: WorldState,
    new_battles: list[dict],
    at_place: dict[str, list[str]],
    start: float,
    end: float,
) -> list[tuple[float, CycleEvent]]:
    """Places that changed hands: by a battle won (timed), or without a fight (untimed, seen in
    the control before a battle, or at the cycle's end)."""
    holders = dict(before.control)
    since = dict.fromkeys(holders, start)  # when each place's holder was last known
    found = []

    def change(place: str, side: str | None, hour: float | None, order_hour: float, how: str):
        event = CycleEvent(
            kind="control_changed",
            hour=hour,
            place=place,
            side=side,
            previous=holders.get(place),
            objectives=at_place.get(place, []),
            detail=how,
        )
        found.append((order_hour, event))
        holders[place] = side

    # Battles ended in the cycle, and those begun in it and still going on (no winner yet):
    # the defender is who held the place when the fight began.
    fights = [
        (e["start_hour"], e["end_hour"], e["place"], e["defender"], e["winner"])
        for e in new_battles
    ]
    fights += [
        (b.start_hour, None, place, b.defender, None)
        for place, b in after.battles.items()
        if not _same_battle(before, place, b.start_hour)
    ]
    for begun, ended, place, defender, winner in sorted(fights, key=lambda f: (f[0], f[2])):
        if defender is not None and defender != holders.get(place):
            untimed = f"occupied without a fight between {_hour(since[place])} and {_hour(begun)}"
            change(place, defender, None, begun - 1e-6, untimed)  # listed before the battle
        if ended is None:
            since[place] = begun
            continue
        if winner is not None and winner != holders.get(place):
            change(place, winner, ended, ended, f"won the battle of {place}")
        since[place] = ended
    for place in sorted(after.control):
        if after.control[place] != holders.get(place):
            after_hour = since.get(place, start)
            untimed = f"occupied without a fight between {_hour(after_hour)} and {_hour(end)}"
            change(place, after.control[place], None, end, untimed)
    return found


def _deadlines(
    scenario: Scenario, before: WorldState, after: WorldState
) -> list[tuple[float, CycleEvent]]:
    """Objective deadlines that fell in the cycle, with who held the place then."""
    found = []
    for side in scenario.sides:
        for objective in side.mission.objectives:
            key = f"{side.id}:{objective.id}"
            if key in after.objective_log and key not in before.objective_log:
                holder = after.objective_log[key]
                met = "achieved" if holder == side.id else "not achieved"
                event = CycleEvent(
                    kind="objective_deadline",
                    hour=objective.deadline_hours,
                    place=objective.place,
                    side=holder,
                    objectives=[key],
                    detail=f"{side.id} objective {objective.id} ({objective.kind} "
                    f"{objective.place}) {met}: held by {holder or 'nobody'} at its deadline",
                )
                found.append((objective.deadline_hours, event))
    return found
