"""Land offence: penetration, envelopment, attack in sequence, attack with a reserve, frontal
attack. Axes are our avenues of approach to the objectives we must seize; the main effort
masses where the defence seen is weakest (FM 3-90, forms of manoeuvre)."""

from __future__ import annotations

from planner.coa import AirShare, COADraft, EffortDraft, ReserveDraft
from planner.context import DraftingContext
from planner.echelons import Element

__all__ = ["LAND_OFFENCE", "axes_to", "to_seize"]

from planner.schemes._common import (
    RESERVE_SHARE,
    Plan,
    assign,
    ground_elements,
    names,
)


def axes_to(ctx: DraftingContext, objective: str) -> list:
    return sorted(
        (a for a in ctx.analysis.avenues if a.id.startswith("A") and a.objective == objective),
        key=lambda a: (a.hours, a.id),
    )


def to_seize(ctx: DraftingContext) -> list[dict]:
    pending = [o for o in ctx.analysis.objectives if not o["held"]] or ctx.analysis.objectives
    return sorted(pending, key=lambda o: (o["deadline_hours"], -o["weight"], o["id"]))


def seize_hour(ctx: DraftingContext, elements: list[Element], place: str) -> float:
    """When the next objective's attack starts: the first objective's estimated seizure
    (slowest arrival plus a day's fighting at most half the lookahead), within the horizon."""
    arrivals = [ctx.travel_hours(e, place) for e in elements]
    arrival = max((h for h in arrivals if h is not None), default=0.0)
    return round(min(arrival + ctx.lookahead_hours / 4, ctx.lookahead_hours * 0.6), 1)


def _frontal_attack(ctx: DraftingContext) -> COADraft | None:
    ground = ground_elements(ctx)
    targets = to_seize(ctx)
    if not ground or not targets:
        return None
    first = targets[0]["place"]
    plan = Plan(
        name=f"Frontal attack on {first}",
        concept=f"All manoeuvre forces attack {first} on a broad front by every axis, then "
        "press on to the next objective.",
        form="frontal attack",
    )
    axes = axes_to(ctx, first)
    attack = plan.phase(f"Attack on {first}", 0.0, f"{first} seized")
    assign(attack, ground, "attack", first, f"seize {first} with massed combat power")
    plan.main = EffortDraft(
        role="main",
        elements=[e.id for e in ground],
        axis=axes[0].path if axes else [first],
        purpose=f"seize {first}",
    )
    if len(targets) > 1:
        second = targets[1]["place"]
        on = seize_hour(ctx, ground, first)
        follow = plan.phase(f"Attack on {second}", on, f"{second} seized")
        assign(follow, ground[: max(1, 2 * len(ground) // 3)], "attack", second, f"seize {second}")
    plan.air = [AirShare(phase=1, strike=0.6, close_support=0.4)]
    return plan.draft()


def _penetration(ctx: DraftingContext) -> COADraft | None:
    ground = ground_elements(ctx)
    targets = to_seize(ctx)
    if len(ground) < 2 or not targets:
        return None
    decisive = max(targets, key=lambda o: (o["weight"], -o["deadline_hours"], o["id"]))["place"]
    first = targets[0]["place"]
    axes = axes_to(ctx, decisive)
    breach = min(axes, key=lambda a: (a.own_strength, a.hours)).path if axes else [decisive]
    size = max(1, (2 * len(ground) + 2) // 3)
    main_force = sorted(ground, key=lambda e: (not e.mobile, -e.strength, e.id))[:size]
    supporting = [e for e in ground if e not in main_force]
    plan = Plan(
        name=f"Penetration to {decisive}",
        concept=f"The main effort ({names(main_force)}) masses on one narrow axis "
        f"({' - '.join(breach)}) to break through to {decisive}; a supporting attack fixes "
        f"{first}.",
        form="penetration",
    )
    attack = plan.phase("Breach and penetrate", 0.0, f"{decisive} seized")
    assign(attack, main_force, "attack", decisive, f"penetrate to {decisive}")
    others = [o["place"] for o in targets if o["place"] != decisive]
    gains = [o["place"] for o in ctx.analysis.objectives if o["held"]]
    if others:  # a supporting attack fixes the defenders of another objective
        fix_target, action, why = others[0], "attack", f"fix the defenders of {others[0]}"
    elif gains:  # nothing else to fix: the supporting effort secures what is already taken
        fix_target, action, why = gains[0], "defend", f"secure {gains[0]} behind the penetration"
    else:
        return None
    assign(attack, supporting, action, fix_target, why)
    plan.main = EffortDraft(
        role="main", elements=[e.id for e in main_force], axis=breach, purpose=f"seize {decisive}"
    )
    if supporting:
        plan.supporting.append(
            EffortDraft(
                role="supporting",
                elements=[e.id for e in supporting],
                axis=[fix_target],
                purpose=why,
            )
        )
    plan.air = [AirShare(phase=1, close_support=0.6, strike=0.4)]
    return plan.draft()


def _envelopment(ctx: DraftingContext) -> COADraft | None:
    ground = ground_elements(ctx)
    targets = to_seize(ctx)
    if len(ground) < 2 or not targets:
        return None
    for objective in targets:
        place = objective["place"]
        axes = axes_to(ctx, place)
        if len(axes) < 2:
            continue
        direct, flank = axes[0], axes[1]
        waypoint = next((p for p in flank.path[1:-1] if p not in direct.path), None)
        if waypoint is None:
            continue
        size = max(1, (2 * len(ground) + 2) // 3)
        enveloping = sorted(ground, key=lambda e: (not e.mobile, -e.strength, e.id))[:size]
        fixing = [e for e in ground if e not in enveloping]
        turn = max((ctx.travel_hours(e, waypoint) or 0.0) for e in enveloping)
        plan = Plan(
            name=f"Envelopment of {place} via {waypoint}",
            concept=f"A fixing force attacks {place} on the direct axis while the main effort "
            f"({names(enveloping)}) moves through {waypoint} to strike it from the flank.",
            form="envelopment",
        )
        move = plan.phase("Fix and manoeuvre", 0.0, f"main effort at {waypoint}")
        assign(move, fixing, "attack", place, f"fix the defender of {place} on the direct axis")
        assign(move, enveloping, "move", waypoint, f"envelop {place} through {waypoint}")
        strike = plan.phase("Assault from the flank", turn, f"{place} seized")
        assign(strike, enveloping, "attack", place, f"seize {place} from the flank")
        plan.main = EffortDraft(
            role="main",
            elements=[e.id for e in enveloping],
            axis=flank.path,
            purpose=f"seize {place}",
        )
        if fixing:
            plan.supporting.append(
                EffortDraft(
                    role="supporting",
                    elements=[e.id for e in fixing],
                    axis=direct.path,
                    purpose="fix",
                )
            )
        plan.air = [
            AirShare(phase=1, strike=0.7, interdiction=0.3),
            AirShare(phase=2, close_support=0.7, strike=0.3),
        ]
        return plan.draft()
    return None


def _sequential(ctx: DraftingContext) -> COADraft | None:
    ground = ground_elements(ctx)
    targets = to_seize(ctx)
    if len(ground) < 3 or len(targets) < 2:
        return None
    first, second = targets[0]["place"], targets[1]["place"]
    size = max(1, round(RESERVE_SHARE * len(ground)))
    reserve = sorted(ground, key=lambda e: (not e.mobile, e.strength, e.id))[:size]
    assault = [e for e in ground if e not in reserve]
    on = seize_hour(ctx, assault, first)
    staging = next(iter(axes_to(ctx, first)), None)
    hold_at = staging.path[-2] if staging and len(staging.path) >= 2 else reserve[0].location
    plan = Plan(
        name=f"Attack in sequence: {first}, then {second}",
        concept=f"Seize {first} first with the main effort, then pass the reserve "
        f"({names(reserve)}) through to {second} by its deadline.",
        form="penetration",
    )
    one = plan.phase(f"Seize {first}", 0.0, f"{first} seized")
    assign(one, assault, "attack", first, f"seize {first} by H+{targets[0]['deadline_hours']:g}")
    assign(one, reserve, "hold", hold_at, "reserve: prepare to pass through")
    two = plan.phase(f"Exploit to {second}", on, f"{second} seized")
    assign(two, reserve, "attack", second, f"seize {second} by H+{targets[1]['deadline_hours']:g}")
    assign(
        two,
        assault[: max(1, len(assault) // 2)],
        "attack",
        second,
        f"follow and support to {second}",
    )
    plan.main = EffortDraft(
        role="main", elements=[e.id for e in assault], axis=[first], purpose=f"seize {first}"
    )
    plan.reserve = ReserveDraft(
        elements=[e.id for e in reserve],
        position=hold_at,
        commit_hour=on,
        criterion=f"{first} seized or the attack there stalls",
        target=second,
    )
    plan.air = [
        AirShare(phase=1, close_support=0.5, strike=0.5),
        AirShare(phase=2, close_support=0.5, interdiction=0.5),
    ]
    return plan.draft()


def _attack_with_reserve(ctx: DraftingContext) -> COADraft | None:
    ground = ground_elements(ctx)
    targets = to_seize(ctx)
    if len(ground) < 3 or not targets:
        return None
    first = targets[0]["place"]
    size = max(1, round(RESERVE_SHARE * len(ground)))
    reserve = sorted(ground, key=lambda e: (not e.mobile, e.strength, e.id))[:size]
    assault = [e for e in ground if e not in reserve]
    axis = next(iter(axes_to(ctx, first)), None)
    staging = axis.path[-2] if axis and len(axis.path) >= 2 else reserve[0].location
    commit = seize_hour(ctx, assault, first)
    exploit = targets[1]["place"] if len(targets) > 1 else first
    plan = Plan(
        name=f"Attack on {first} with a reserve at {staging}",
        concept=f"Three quarters of the force attack {first}; the reserve ({names(reserve)}) "
        f"waits at {staging} to exploit success towards {exploit} or meet a counterattack.",
        form="frontal attack with reserve",
    )
    attack = plan.phase(f"Attack on {first}", 0.0, f"{first} seized")
    assign(attack, assault, "attack", first, f"seize {first} with the main effort")
    assign(attack, reserve, "hold", staging, "reserve: exploit or counter a counterattack")
    commit_phase = plan.phase("Commit the reserve", commit, f"{exploit} seized")
    assign(commit_phase, reserve, "attack", exploit, f"exploit to {exploit}")
    plan.main = EffortDraft(
        role="main", elements=[e.id for e in assault], axis=axis.path if axis else [first]
    )
    plan.reserve = ReserveDraft(
        elements=[e.id for e in reserve],
        position=staging,
        commit_hour=commit,
        criterion=f"the assault on {first} succeeds or stalls",
        target=exploit,
    )
    plan.air = [AirShare(phase=1, close_support=0.6, strike=0.4)]
    return plan.draft()


#: Land offence schemes in the order their COAs are offered.
LAND_OFFENCE = [_penetration, _envelopment, _sequential, _attack_with_reserve, _frontal_attack]
