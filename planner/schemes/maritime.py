"""Joint and maritime schemes: sea denial, sea control, blockade, strike campaign, amphibious
assault (planning and embarkation, rehearsal, movement, action). Naval forces are weighed by
the salvo arithmetic the engine uses (Hughes); ground forces hold the islands."""

from __future__ import annotations

from planner.coa import AirShare, COADraft, EffortDraft, PhaseDraft
from planner.context import DraftingContext
from planner.echelons import Element
from planner.schemes._common import (
    AMPHIBIOUS_PREPARATION_HOURS,
    Plan,
    assign,
    ground_elements,
    names,
    naval_elements,
    nearest_to,
    strike_target,
)
from planner.schemes.land_offence import axes_to, to_seize


def _sea_points(ctx: DraftingContext, kind: str) -> list[str]:
    """Sea places on the enemy's approaches (kind "E") or on our axes ("A"), most used first,
    excluding restricted places."""
    count: dict[str, int] = {}
    for avenue in ctx.analysis.avenues:
        if not avenue.id.startswith(kind):
            continue
        for place in avenue.path[1:-1]:
            if ctx.theater.places[place].kind == "sea" and place not in ctx.restricted:
                count[place] = count.get(place, 0) + 1
    return sorted(count, key=lambda p: (-count[p], p))


def _naval_power(ctx: DraftingContext, elements: list[Element]) -> float:
    """Salvo offence the elements bring (missiles per salvo, Hughes's alpha A)."""
    power = 0.0
    for element in elements:
        for unit in ctx.units_of(element):
            salvo = ctx.scenario.unit_types[unit.type].salvo
            if salvo is not None:
                power += unit.strength * salvo.offense
    return power


def _enemy_naval_defence(ctx: DraftingContext) -> float:
    """Missiles the enemy ships seen can intercept per salvo (Hughes's b3 B)."""
    total = 0.0
    for unit in ctx.believed.units.values():
        if unit.side != ctx.side and unit.alive and unit.domain == "sea":
            salvo = ctx.scenario.unit_types[unit.type].salvo
            if salvo is not None:
                total += unit.strength * salvo.defense
    return total


def _hold_islands(ctx: DraftingContext, phase: PhaseDraft) -> list[Element]:
    """Ground forces defend the objectives they can reach (each the nearest free element,
    then the rest on the most threatened one); returns the elements tasked."""
    ground = ground_elements(ctx)
    objectives = sorted(
        ctx.analysis.objectives,
        key=lambda o: (
            -sum(s.threat for s in ctx.analysis.sectors if o["place"] in s.objectives),
            -o["weight"],
            o["id"],
        ),
    )
    free = list(ground)
    tasked = []
    for objective in objectives:
        nearest = nearest_to(ctx, free, objective["place"], 1)
        if nearest:
            assign(phase, nearest, "defend", objective["place"], f"hold {objective['place']}")
            free.remove(nearest[0])
            tasked += nearest
    for element in free:
        here = element.location
        assign(phase, [element], "defend", here, "hold the ground it stands on")
        tasked.append(element)
    return tasked


def _sea_denial(ctx: DraftingContext) -> COADraft | None:
    naval = naval_elements(ctx)
    points = _sea_points(ctx, "E")
    if not naval or not points:
        return None
    plan = Plan(
        name=f"Sea denial: hold {', '.join(points[:2])}",
        concept=f"Deny the enemy the sea approaches at {', '.join(points[:3])} with surface "
        "groups and shore-based missiles; air strikes his groups at sea; the islands are held "
        "by their garrisons.",
        form="sea denial",
    )
    deny = plan.phase("Sea denial", 0.0, "the enemy's approach is stopped at sea")
    carriers = [e for e in naval if any("carrier" in u.type for u in ctx.units_of(e))]
    surface = [e for e in naval if e not in carriers]
    for i, element in enumerate(surface):
        point = points[i % min(len(points), max(1, len(surface)))]
        assign(deny, [element], "defend", point, f"deny the enemy passage at {point}")
    for element in carriers:
        assign(deny, [element], "hold", element.location, "stay out of the densest missile threat")
    ground = _hold_islands(ctx, deny)
    plan.main = EffortDraft(
        role="main",
        elements=[e.id for e in surface or naval],
        axis=points[:3],
        purpose="deny the sea approaches",
    )
    if ground:
        plan.supporting.append(
            EffortDraft(
                role="supporting", elements=[e.id for e in ground], purpose="hold the islands"
            )
        )
    plan.air = [AirShare(phase=1, strike=0.8, interdiction=0.2)]
    return plan.draft()


def _sea_control(ctx: DraftingContext) -> COADraft | None:
    naval = naval_elements(ctx)
    points = _sea_points(ctx, "E" if ctx.analysis.posture == "defence" else "A")
    if not naval or not points:
        return None
    focus = points[0]
    power, defence = _naval_power(ctx, naval), _enemy_naval_defence(ctx)
    plan = Plan(
        name=f"Sea control: destroy the enemy fleet at {focus}",
        concept=f"Concentrate every surface and carrier group at {focus} to win the fleet "
        f"battle there (our salvo of {power:.0f} missiles against the {defence:.0f} the enemy "
        "ships seen can intercept), then hold the sea lanes.",
        form="sea control",
    )
    fight = plan.phase("Fleet engagement", 0.0, f"sea control at {focus}")
    assign(fight, naval, "attack", focus, f"destroy the enemy fleet at {focus}")
    ground = _hold_islands(ctx, fight)
    plan.main = EffortDraft(
        role="main", elements=[e.id for e in naval], axis=[focus], purpose="win sea control"
    )
    if ground:
        plan.supporting.append(
            EffortDraft(
                role="supporting", elements=[e.id for e in ground], purpose="hold the islands"
            )
        )
    plan.air = [AirShare(phase=1, strike=0.9, interdiction=0.1)]
    return plan.draft()


def _blockade(ctx: DraftingContext) -> COADraft | None:
    naval = naval_elements(ctx)
    exits = []
    for avenue in ctx.analysis.avenues:
        if avenue.id.startswith("E"):
            first_sea = next(
                (
                    p
                    for p in avenue.path[1:]
                    if ctx.theater.places[p].kind == "sea" and p not in ctx.restricted
                ),
                None,
            )
            if first_sea is not None:
                exits.append(first_sea)
    exits = list(dict.fromkeys(exits))
    if not naval or not exits:
        return None
    plan = Plan(
        name=f"Blockade of the enemy's sea lines at {', '.join(exits[:2])}",
        concept=f"Close the exits of the enemy's ports at {', '.join(exits[:3])} with surface "
        "groups; air interdicts his sea lines of communication; garrisons hold the islands.",
        form="blockade",
    )
    close = plan.phase("Blockade", 0.0, "enemy sea lines cut")
    for i, element in enumerate(naval):
        point = exits[i % len(exits)]
        assign(close, [element], "defend", point, f"close the sea lane at {point}")
    ground = _hold_islands(ctx, close)
    plan.main = EffortDraft(
        role="main",
        elements=[e.id for e in naval],
        axis=exits[:3],
        purpose="cut the enemy's sea lines",
    )
    if ground:
        plan.supporting.append(
            EffortDraft(
                role="supporting", elements=[e.id for e in ground], purpose="hold the islands"
            )
        )
    plan.air = [AirShare(phase=1, interdiction=0.5, strike=0.5)]
    return plan.draft()


def _strike_campaign(ctx: DraftingContext) -> COADraft | None:
    if not ctx.air_units:
        return None
    naval = naval_elements(ctx)
    target = strike_target(ctx)
    plan = Plan(
        name=f"Counterair and strike campaign on {target}",
        concept=f"Air power is the main effort: strike the enemy mass at {target} in every "
        "wave; naval groups screen the island approaches and ground forces hold the islands.",
        form="strike campaign",
    )
    phase = plan.phase(
        "Strike campaign", 0.0, "enemy assault force attrited below assault strength"
    )
    points = _sea_points(ctx, "E")
    for element in naval:
        screen = next(
            (p for p in points if ctx.travel_hours(element, p) is not None), element.location
        )
        assign(phase, [element], "defend", screen, f"screen the approach at {screen}")
    ground = _hold_islands(ctx, phase)
    plan.main = EffortDraft(
        role="main",
        elements=[u.id for u in ctx.air_units],
        axis=[target] if target else [],
        purpose="attrit the enemy before he lands",
    )
    if ground or naval:
        plan.supporting.append(
            EffortDraft(
                role="supporting",
                elements=[e.id for e in naval + ground],
                purpose="screen and hold",
            )
        )
    plan.air = [AirShare(phase=1, strike=1.0)]
    return plan.draft()


def _amphibious_assault(ctx: DraftingContext, pick: int = 0) -> COADraft | None:
    ground = ground_elements(ctx)
    naval = naval_elements(ctx)
    targets = to_seize(ctx)
    landing = [e for e in ground if _moves_by_sea(ctx, e)]
    if not landing or not targets:
        return None
    ordered = (
        sorted(targets, key=lambda o: (o["deadline_hours"], -o["weight"], o["id"]))
        if pick == 0
        else sorted(targets, key=lambda o: (-o["weight"], o["deadline_hours"], o["id"]))
    )
    objective = next(
        (o["place"] for o in ordered if ctx.theater.places[o["place"]].kind != "sea"), None
    )
    if objective is None:
        return None
    axis = next(iter(axes_to(ctx, objective)), None)
    approach = (
        next((p for p in reversed(axis.path[1:-1]) if ctx.theater.places[p].kind == "sea"), None)
        if axis
        else None
    )
    start = AMPHIBIOUS_PREPARATION_HOURS
    # The landing force: what can be off the objective within the wargame's horizon; later
    # arrivals are the follow-on echelon and stay at their ports for now.
    hours = {e.id: ctx.travel_hours(e, approach or objective) for e in landing}
    window = ctx.lookahead_hours - start
    reachable = [e for e in landing if hours[e.id] is not None and hours[e.id] <= window]
    if not reachable:
        return None
    arrive = round(max(hours[e.id] for e in reachable) + start, 2)
    plan = Plan(
        name=f"Amphibious assault on {objective}",
        concept=f"Land on {objective}: after planning, embarkation and rehearsal, the landing "
        f"force ({names(reachable)}) moves under escort to {approach or objective} and "
        f"assaults {objective} from H+{arrive:g}.",
        form="amphibious assault",
    )
    prepare = plan.phase("Planning and embarkation", 0.0, "landing force embarked")
    assign(prepare, reachable, "hold", None, "plan, embark and load")
    if naval:
        assign(
            prepare, naval, "attack", approach or objective, "win local sea control on the approach"
        )
    rehearse = plan.phase("Rehearsal", start / 2, "rehearsal complete")
    assign(rehearse, reachable, "hold", None, "rehearse the landing")
    movement = plan.phase("Movement", start, f"landing force off {objective}")
    assign(
        movement,
        reachable,
        "move",
        approach or objective,
        f"move to the objective area off {objective}",
    )
    action = plan.phase("Action", arrive, f"lodgement at {objective} secured")
    assign(action, reachable, "attack", objective, f"assault and seize {objective}")
    others = [e for e in ground if e not in reachable]
    if others:
        assign(prepare, others, "defend", None, "secure the embarkation area")
    plan.main = EffortDraft(
        role="main",
        elements=[e.id for e in reachable],
        axis=axis.path if axis else [objective],
        purpose=f"seize {objective}",
    )
    if naval:
        plan.supporting.append(
            EffortDraft(
                role="supporting",
                elements=[e.id for e in naval],
                axis=[approach or objective],
                purpose="escort and sea control",
            )
        )
    plan.air = [
        AirShare(phase=1, strike=1.0),
        AirShare(phase=3, strike=0.5, interdiction=0.5),
        AirShare(phase=4, close_support=0.8, strike=0.2),
    ]
    return plan.draft()


def _main_objective_assault(ctx: DraftingContext) -> COADraft | None:
    return _amphibious_assault(ctx, pick=1)


def _moves_by_sea(ctx: DraftingContext, element: Element) -> bool:
    return any("sea" in ctx.scenario.unit_types[u.type].modes for u in ctx.units_of(element))


#: Joint and maritime schemes in the order their COAs are offered.
MARITIME_DEFENCE = [_sea_denial, _sea_control, _strike_campaign, _blockade]
MARITIME_OFFENCE = [_amphibious_assault, _main_objective_assault, _sea_control, _blockade]
