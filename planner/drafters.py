"""Decide, step 1: drafting courses of action — the offline doctrine drafter and the LLM drafter.

The doctrine drafter needs no model: it instantiates doctrinal schemes of manoeuvre (area and
forward defence, defence with a counterattack reserve, spoiling attack; frontal attack,
envelopment, sequential seizure) for the side's objectives and forces, and cites the passages
retrieved for each task. The LLM drafter asks any LangChain chat model for structured COAs,
validates every unit, place and citation, and never executes model output.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol

from doctrine import DoctrineIndex
from planner.analysis import MissionAnalysis
from planner.coa import COA, COADraft, COADraftSet, Task, TaskDraft
from sim.scenario import AIR_ACTIONS, Scenario
from sim.state import UnitState, WorldState
from sim.theater import Theater

__all__ = ["DoctrineDrafter", "Drafter", "LLMDrafter", "finalize_drafts"]

ACTIONS = ("move", "attack", "defend", "hold", "withdraw", "strike", "interdict")


class Drafter(Protocol):
    """Anything that drafts COAs for a side."""

    name: str

    def draft(
        self,
        scenario: Scenario,
        theater: Theater,
        believed: WorldState,
        analysis: MissionAnalysis,
        count: int,
        index: DoctrineIndex,
    ) -> list[COADraft]:
        """Return up to `count` COA drafts."""
        ...


class DoctrineDrafter:
    """Offline drafter: doctrinal schemes of manoeuvre filled in with the side's own units."""

    name = "doctrine"

    def draft(self, scenario, theater, believed, analysis, count, index) -> list[COADraft]:
        """Draft COAs from the schemes that fit the mission (defensive or offensive)."""
        units = _maneuver_units(believed, analysis.side)
        if not units or not analysis.objectives:
            return []
        seizing = sum(1 for o in analysis.objectives if not o["held"])
        schemes = _OFFENSIVE if seizing * 2 >= len(analysis.objectives) else _DEFENSIVE
        lost: dict[str, str] = {}
        if schemes is _DEFENSIVE:
            analysis, lost = _without_lost_objectives(believed, analysis, units)
        given_up = (
            " Given up, our ground forces being under the planning ratio to retake "
            f"({RETAKE_RATIO:g}:1) or hold (1:{1 / DEFEND_RATIO:g}): "
            + ", ".join(f"{place} ({why})" for place, why in lost.items())
            + "."
        )
        drafts = []
        for scheme in schemes:
            draft = scheme(scenario, theater, believed, analysis, units)
            if draft is None:
                continue
            if lost and not any(task.target in lost for task in draft.tasks):
                draft = draft.model_copy(update={"concept": draft.concept + given_up})
            drafts.append(draft)
            if len(drafts) == count:
                break
        return drafts


#: Historical minimum planning ratios, friendly to enemy (FM 6-0 (2014), ch. 9): attacking a
#: hasty defence (an objective the enemy has just taken) wants 2.5:1; defending a prepared
#: position holds at 1:3.
RETAKE_RATIO = 2.5
DEFEND_RATIO = 1 / 3


def _without_lost_objectives(
    believed: WorldState, analysis: MissionAnalysis, units: list[UnitState]
) -> tuple[MissionAnalysis, dict[str, str]]:
    """The analysis without the objectives the side's whole ground force could no longer
    retake (enemy-held, under RETAKE_RATIO) or hold (enemy there, under DEFEND_RATIO), and
    those places with the ratio found. Feeding units into a lost position loses them
    piecemeal. With every objective lost the analysis is returned whole."""
    ground = sum(u.strength for u in _ground(units))
    kept, lost = [], {}
    for objective in analysis.objectives:
        place = objective["place"]
        enemy = sum(
            u.strength
            for u in believed.units.values()
            if u.side == analysis.enemy and u.alive and u.location == place
        )
        enemy_holds = believed.control.get(place) == analysis.enemy
        needed = RETAKE_RATIO if enemy_holds else DEFEND_RATIO
        if enemy > 0 and ground < needed * enemy:
            lost[place] = f"{ground / enemy:.2g}:1, {'retake' if enemy_holds else 'hold'}"
        else:
            kept.append(objective)
    if not lost or not kept:
        return analysis, {}
    return replace(analysis, objectives=kept), lost


def _maneuver_units(believed: WorldState, side: str) -> list[UnitState]:
    return sorted(
        (u for u in believed.units.values() if u.side == side and u.alive),
        key=lambda u: (-u.strength, u.id),
    )


def _main_objective(analysis: MissionAnalysis) -> dict:
    return max(analysis.objectives, key=lambda o: (o["weight"], -o["deadline_hours"], o["id"]))


def _threat_order(theater: Theater, analysis: MissionAnalysis) -> list[dict]:
    """Objectives ordered by how close the enemy main body is to them (most threatened first)."""
    if analysis.enemy_main_body is None:
        return sorted(analysis.objectives, key=lambda o: (-o["weight"], o["id"]))
    return sorted(
        analysis.objectives,
        key=lambda o: (theater.distance_km(analysis.enemy_main_body, o["place"]), o["id"]),
    )


def _orders(units: list[UnitState], action: str, target: str | None, purpose: str):
    """The same task for several units."""
    return [TaskDraft(unit=u.id, action=action, target=target, purpose=purpose) for u in units]


def _air_tasks(units: list[UnitState], analysis: MissionAnalysis, purpose: str) -> list[TaskDraft]:
    target = analysis.enemy_main_body
    return [
        TaskDraft(unit=u.id, action="strike", target=target, purpose=purpose)
        for u in units
        if u.domain == "air" and target is not None
    ]


def _interdiction_tasks(
    scenario: Scenario, theater: Theater, units: list[UnitState], analysis: MissionAnalysis
) -> list[TaskDraft]:
    """Air interdicts the enemy's supply where its convoys were seen (the most-used place in
    each wing's sortie range); a wing with none in range strikes the main body instead."""
    tasks = []
    for unit in (u for u in units if u.domain == "air"):
        reach = scenario.unit_types[unit.type].sortie_range_km
        place = next(
            (
                p
                for p in analysis.enemy_supply_seen
                if theater.distance_km(unit.location, p) <= reach
            ),
            None,
        )
        if place is None:
            tasks += _air_tasks([unit], analysis, "interdict the enemy while the delay buys time")
        else:
            tasks.append(
                TaskDraft(
                    unit=unit.id,
                    action="interdict",
                    target=place,
                    purpose=f"cut the enemy's supply line where convoys were seen at {place}",
                )
            )
    return tasks


def _ground(units: list[UnitState]) -> list[UnitState]:
    return [u for u in units if u.domain != "air"]


def _nearest_assignment(
    theater: Theater, units: list[UnitState], objectives: list[dict]
) -> dict[str, dict]:
    """Each objective (most threatened first) gets the nearest free unit; the rest reinforce
    the most threatened objective."""
    free = list(units)
    assignment = {}
    for objective in objectives:
        if not free:
            break
        unit = min(free, key=lambda u: (theater.distance_km(u.location, objective["place"]), u.id))
        assignment[unit.id] = objective
        free.remove(unit)
    for unit in free:
        assignment[unit.id] = objectives[0]
    return assignment


def _forward_defence(scenario, theater, believed, analysis, units) -> COADraft:
    objectives = _threat_order(theater, analysis)
    assignment = _nearest_assignment(theater, _ground(units), objectives)
    tasks = [
        TaskDraft(
            unit=uid,
            action="defend",
            target=objective["place"],
            purpose=f"retain {objective['place']} and deny the enemy its approach",
        )
        for uid, objective in assignment.items()
    ]
    tasks += _air_tasks(units, analysis, "attrit the enemy main body before contact")
    return COADraft(
        name="Forward defence",
        concept="Defend every objective, weighting the most threatened one with the "
        "remaining combat power; air interdicts the enemy main body.",
        form_of_maneuver="area defence",
        tasks=tasks,
    )


def _defence_with_reserve(scenario, theater, believed, analysis, units) -> COADraft | None:
    ground = _ground(units)
    if len(ground) < 2:
        return None
    objectives = _threat_order(theater, analysis)
    reserve, holders = ground[0], ground[1:]
    depth = _main_objective(analysis)["place"]
    tasks = [
        TaskDraft(
            unit=uid,
            action="defend",
            target=objective["place"],
            purpose="fix the enemy on prepared positions",
        )
        for uid, objective in _nearest_assignment(theater, holders, objectives).items()
    ]
    tasks.append(
        TaskDraft(
            unit=reserve.id,
            action="hold",
            target=depth,
            purpose="counterattack reserve in depth to defeat a penetration",
        )
    )
    tasks += _air_tasks(units, analysis, "shape the enemy's approach for the counterattack")
    return COADraft(
        name="Defence in depth with counterattack reserve",
        concept=f"Hold the objectives with {len(holders)} units and keep the strongest unit "
        f"({reserve.id}) in depth at {depth} as a counterattack reserve.",
        form_of_maneuver="mobile defence",
        tasks=tasks,
    )


def _spoiling_attack(scenario, theater, believed, analysis, units) -> COADraft | None:
    target = analysis.enemy_main_body
    ground = _ground(units)
    if target is None or len(ground) < 2:
        return None
    strikers = [u for u in ground if u.type in ("armor", "mechanized")] or ground[:1]
    holders = [u for u in ground if u not in strikers] or ground[-1:]
    strikers = [u for u in strikers if u not in holders]
    objectives = _threat_order(theater, analysis)
    tasks = _orders(
        strikers,
        "attack",
        target,
        "spoil the enemy's attack by striking its main body before it deploys",
    )
    tasks += [
        TaskDraft(
            unit=unit.id,
            action="defend",
            target=objectives[i % len(objectives)]["place"],
            purpose="retain the objective while the mobile force attacks",
        )
        for i, unit in enumerate(holders)
    ]
    tasks += _air_tasks(units, analysis, "support the spoiling attack with air interdiction")
    return COADraft(
        name="Spoiling attack",
        concept=f"Mobile units attack the enemy main body at {target} before it can attack; "
        "the rest defend the objectives.",
        form_of_maneuver="frontal attack",
        tasks=tasks,
    )


def _delay_forward(scenario, theater, believed, analysis, units) -> COADraft | None:
    forward = [
        p for p in analysis.key_terrain if p not in {o["place"] for o in analysis.objectives}
    ]
    ground = _ground(units)
    if not forward or len(ground) < 2:
        return None
    main = _main_objective(analysis)["place"]
    delayers, main_body = ground[-1:], ground[:-1]
    tasks = _orders(
        delayers, "defend", forward[0], "delay the enemy forward to trade space for time"
    )
    tasks += [
        TaskDraft(unit=u.id, action="defend", target=main, purpose="mass on the decisive objective")
        for u in main_body
    ]
    air_tasks = _interdiction_tasks(scenario, theater, units, analysis)
    tasks += air_tasks
    concept = f"A covering force delays at {forward[0]}; the main body masses on {main}."
    cut = sorted({t.target for t in air_tasks if t.action == "interdict"})
    if cut:
        concept += f" Air interdicts the enemy's supply where it was seen ({', '.join(cut)})."
    return COADraft(
        name="Delay forward, mass on the main objective",
        concept=concept,
        form_of_maneuver="delay",
        tasks=tasks,
    )


def _frontal_attack(scenario, theater, believed, analysis, units) -> COADraft:
    target = _first_to_seize(analysis)
    tasks = [
        TaskDraft(
            unit=u.id,
            action="attack",
            target=target,
            purpose=f"seize {target} with massed combat power",
        )
        for u in _ground(units)
    ]
    tasks += _air_tasks(units, analysis, "attrit the defender ahead of the assault")
    return COADraft(
        name=f"Massed attack on {target}",
        concept=f"All manoeuvre units attack {target} on the fastest axis, massing at the "
        "decisive point.",
        form_of_maneuver="frontal attack",
        tasks=tasks,
    )


def _envelopment(scenario, theater, believed, analysis, units) -> COADraft | None:
    target = _first_to_seize(analysis)
    ground = _ground(units)
    if len(ground) < 2:
        return None
    fixing, enveloping = ground[len(ground) * 2 // 3 :], ground[: len(ground) * 2 // 3]
    anchor = enveloping[0]
    modes = scenario.unit_types[anchor.type].modes
    direct = theater.path(modes, anchor.location, target)
    if direct is None or len(direct) < 3:
        return None
    alternate = theater.path(modes, anchor.location, target, avoid=frozenset(direct[1:-1]))
    if alternate is None:
        return None
    waypoint = alternate[len(alternate) // 2]
    tasks = _orders(fixing, "attack", target, f"fix the defender of {target} on the direct axis")
    tasks += _orders(
        enveloping,
        "move",
        waypoint,
        f"envelop {target} through {waypoint}, avoiding the defended axis",
    )
    tasks += _air_tasks(units, analysis, "isolate the objective from reinforcement")
    return COADraft(
        name=f"Envelopment of {target} via {waypoint}",
        concept=f"A fixing force attacks {target} directly while the main effort moves through "
        f"{waypoint} to strike it from a flank.",
        form_of_maneuver="envelopment",
        tasks=tasks,
    )


def _sequential(scenario, theater, believed, analysis, units) -> COADraft | None:
    targets = [o for o in sorted(analysis.objectives, key=lambda o: o["deadline_hours"])]
    targets = [o for o in targets if not o["held"]]
    ground = _ground(units)
    if len(targets) < 2 or len(ground) < 2:
        return None
    tasks = []
    for i, unit in enumerate(ground):
        objective = targets[0] if i % 3 != 2 else targets[1]
        tasks.append(
            TaskDraft(
                unit=unit.id,
                action="attack",
                target=objective["place"],
                purpose=f"seize {objective['place']} by H+{objective['deadline_hours']:g}",
            )
        )
    tasks += _air_tasks(units, analysis, "interdict the second objective's defenders")
    return COADraft(
        name="Sequential seizure by deadline",
        concept=f"Two thirds attack {targets[0]['place']} (earliest deadline) while one third "
        f"presses on {targets[1]['place']}.",
        form_of_maneuver="penetration",
        tasks=tasks,
    )


def _attack_with_reserve(scenario, theater, believed, analysis, units) -> COADraft | None:
    target = _first_to_seize(analysis)
    ground = _ground(units)
    if len(ground) < 3:
        return None
    reserve = ground[len(ground) * 2 // 3 :]
    assault = ground[: len(ground) * 2 // 3]
    modes = scenario.unit_types[reserve[0].type].modes
    path = theater.path(modes, reserve[0].location, target)
    staging = path[-2] if path and len(path) >= 2 else reserve[0].location
    tasks = _orders(assault, "attack", target, f"seize {target} with the main effort")
    tasks += _orders(
        reserve, "hold", staging, f"reserve at {staging} to exploit success or meet a counterattack"
    )
    tasks += _air_tasks(units, analysis, "isolate the objective from reinforcement")
    return COADraft(
        name=f"Attack on {target} with a reserve at {staging}",
        concept=f"Two thirds attack {target}; one third waits at {staging} as the reserve to "
        "exploit a breach or defeat a counterattack.",
        form_of_maneuver="penetration",
        tasks=tasks,
    )


def _hold_gains(scenario, theater, believed, analysis, units) -> COADraft:
    draft = _forward_defence(scenario, theater, believed, analysis, units)
    return draft.model_copy(update={"name": "Consolidate and defend gains"})


def _first_to_seize(analysis: MissionAnalysis) -> str:
    pending = [o for o in analysis.objectives if not o["held"]] or analysis.objectives
    return min(pending, key=lambda o: (o["deadline_hours"], -o["weight"], o["id"]))["place"]


Scheme = Callable[..., COADraft | None]
_DEFENSIVE: list[Scheme] = [
    _forward_defence,
    _defence_with_reserve,
    _spoiling_attack,
    _delay_forward,
]
_OFFENSIVE: list[Scheme] = [
    _frontal_attack,
    _envelopment,
    _sequential,
    _attack_with_reserve,
    _hold_gains,
]


def _citation_query(task: TaskDraft, form: str, adversary: bool) -> str:
    words = {
        "defend": "defense defend retain terrain prepared positions",
        "hold": "reserve counterattack defense in depth",
        "attack": "attack offense force ratio assault",
        "move": "movement maneuver envelopment flank",
        "withdraw": "retrograde withdrawal delay",
        "strike": "air interdiction strike sorties",
        "interdict": "air interdiction lines of communication supply convoys",
    }[task.action]
    prefix = "adversary " if adversary else ""
    return f"{prefix}{form} {words} {task.purpose}"


def finalize_drafts(
    drafts: list[COADraft],
    scenario: Scenario,
    believed: WorldState,
    side: str,
    index: DoctrineIndex,
    drafted_by: str,
) -> tuple[list[COA], list[str]]:
    """Validate drafts into COAs: known own units and places, legal actions, real citations.

    Tasks naming unknown units or places, or illegal actions, are dropped with a note; a task
    left without a valid citation gets the best-matching passage for its purpose.
    """
    notes: list[str] = []
    place_ids = {p.id for p in scenario.places}
    adversary = scenario.side(side).doctrine == "adversary"
    coas = []
    for number, draft in enumerate(drafts, start=1):
        tasks, seen = [], set()
        for task in draft.tasks:
            unit = believed.units.get(task.unit)
            problem = None
            if unit is None or unit.side != side or not unit.alive:
                problem = f"unknown or enemy unit {task.unit!r}"
            elif task.action not in ACTIONS:
                problem = f"unknown action {task.action!r}"
            elif task.action in AIR_ACTIONS and unit.domain != "air":
                problem = f"{task.unit} is not an air unit and cannot {task.action}"
            elif task.target is not None and task.target not in place_ids:
                problem = f"unknown place {task.target!r}"
            elif task.unit in seen:
                problem = f"second task for {task.unit}"
            if problem:
                notes.append(f"COA {number} ({draft.name}): dropped task: {problem}")
                continue
            seen.add(task.unit)
            citations = [c for c in task.citations if c in index]
            if not citations:
                query = _citation_query(task, draft.form_of_maneuver, adversary)
                domains = [unit.domain, "joint"]
                hits = index.search(query, k=2, domain=domains)
                citations = [hit.id for hit in hits] or [h.id for h in index.search(query, k=2)]
            tasks.append(Task(**{**task.model_dump(), "citations": citations}))
        if tasks:
            coas.append(
                COA(
                    id=f"{side}-{number}",
                    side=side,
                    name=draft.name,
                    concept=draft.concept,
                    form_of_maneuver=draft.form_of_maneuver,
                    tasks=tasks,
                    drafted_by=drafted_by,
                )
            )
    return coas, notes


class LLMDrafter:
    """Drafts COAs with any LangChain chat model through structured output.

    Args:
        model: a chat model instance, or a spec for `init_chat_model` such as
            "openai:gpt-4o-mini", "anthropic:claude-sonnet-4-5" or "ollama:llama3.1".
        base_url: for OpenAI-compatible servers (vLLM, llama.cpp, LM Studio).
    """

    def __init__(self, model, base_url: str | None = None):
        if isinstance(model, str):
            from langchain.chat_models import init_chat_model

            kwargs = {"base_url": base_url} if base_url else {}
            model = init_chat_model(model, **kwargs)
            self.name = f"llm:{model.__class__.__name__}"
        else:
            self.name = f"llm:{model.__class__.__name__}"
        self.model = model

    def draft(self, scenario, theater, believed, analysis, count, index) -> list[COADraft]:
        """Ask the model for `count` COAs given the analysis and retrieved doctrine."""
        structured = self.model.with_structured_output(COADraftSet, method="function_calling")
        result = structured.invoke(_prompt(scenario, believed, analysis, count, index))
        if result is None:  # structured output gives None for a reply it cannot parse
            raise ValueError("the model's reply did not parse as a set of COAs")
        if isinstance(result, dict):
            result = COADraftSet.model_validate(result)
        return list(result.coas[:count])


def _prompt(scenario, believed, analysis, count, index) -> list[tuple[str, str]]:
    side = scenario.side(analysis.side)
    own = [
        {"id": u.id, "type": u.type, "strength": round(u.strength, 1), "at": u.location}
        for u in believed.units.values()
        if u.side == analysis.side and u.alive
    ]
    enemy = [
        {"id": u.id, "type": u.type, "strength_est": round(u.strength, 1), "at": u.location}
        for u in believed.units.values()
        if u.side != analysis.side
    ]
    query = f"{side.mission.statement} course of action development screening criteria"
    passages = index.search(query, k=6)
    doctrine = "\n".join(f"[{h.id}] {h.title}: {h.passage.text[:400]}" for h in passages)
    situation = {
        "mission": side.mission.statement,
        "intent": side.mission.intent,
        "specified_tasks": analysis.specified_tasks,
        "constraints": analysis.constraints,
        "key_terrain": analysis.key_terrain,
        "own_units": own,
        "enemy_units_seen": enemy,
        "places": [p.id for p in scenario.places],
        "enemy_most_likely": analysis.enemy_coa_notes.get("most_likely", ""),
    }
    system = (
        "You are a military planning staff officer. Draft distinct courses of action that are "
        "feasible, acceptable, suitable, distinguishable and complete. Give every own unit "
        f"exactly one task; actions are {', '.join(ACTIONS)}; targets are place ids from the "
        "list. Cite doctrine passage ids (in square brackets below) that support each task."
    )
    user = (
        f"Situation (JSON):\n{json.dumps(situation, indent=1)}\n\nDoctrine:\n{doctrine}\n\n"
        f"Draft {count} courses of action."
    )
    return [("system", system), ("human", user)]
