"""Decide, step 1: doctrinal schemes of manoeuvre that draft COAs from the mission analysis.

Each scheme is a plain function of the drafting context that returns one structured COA draft
(or None where it does not apply): a concept, a main effort and supporting efforts with their
axes or sectors, a reserve with its commitment criterion, phases with H-hours and end
conditions, and the apportionment of air power by phase. Forces are allocated to sectors by
FM 6-0's planning ratios (a defence holds at 1:3; an attack wants 3:1 on a prepared defence,
2.5:1 on a hasty one), and naval forces by the salvo arithmetic the engine uses (Hughes).

Land defence: area defence by sectors, mobile defence, delay, forward defence. Land offence:
frontal attack, penetration, envelopment, attack in sequence by deadline. Joint and maritime
theaters (objectives that only ships and amphibious forces reach): sea denial, sea control,
blockade of the enemy's sea lines, strike campaign, amphibious assault (planning and
embarkation, rehearsal, movement, action).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from planner.coa import AirShare, COADraft, EffortDraft, PhaseDraft, ReserveDraft, TaskDraft
from planner.context import DraftingContext
from planner.echelons import Element
from sim.unit_types import TERRAIN_DEFENSE_FACTOR

__all__ = ["DoctrineDrafter", "SCHEMES", "air_tasks", "family"]

#: FM 6-0 (2014) ch. 9 minimum planning ratios, friendly : enemy.
DEFEND_RATIO = 1 / 3
ATTACK_PREPARED_RATIO = 3.0
ATTACK_HASTY_RATIO = 2.5
#: Share of the ground force kept as a reserve (FM 3-90: a third to a ninth; a quarter here).
RESERVE_SHARE = 0.25
#: Hours the planner allows after the enemy's expected arrival before committing a reserve
#: (it commits once the enemy main effort has shown itself at the main position).
COMMIT_AFTER_CONTACT_HOURS = 4.0
#: Amphibious assault: hours of planning, embarkation and rehearsal before the movement.
AMPHIBIOUS_PREPARATION_HOURS = 2.0


@dataclass
class _Plan:
    """A COA draft being built phase by phase."""

    name: str
    concept: str
    form: str
    phases: list[PhaseDraft] = field(default_factory=list)
    main: EffortDraft | None = None
    supporting: list[EffortDraft] = field(default_factory=list)
    reserve: ReserveDraft | None = None
    air: list[AirShare] = field(default_factory=list)

    def phase(self, name: str, start: float, ends: str) -> PhaseDraft:
        phase = PhaseDraft(name=name, start_hour=round(max(0.0, start), 2), end_condition=ends)
        self.phases.append(phase)
        return phase

    def draft(self) -> COADraft:
        return COADraft(
            name=self.name,
            concept=self.concept,
            form_of_maneuver=self.form,
            phases=self.phases,
            main_effort=self.main,
            supporting_efforts=self.supporting,
            reserve=self.reserve,
            air=self.air,
        )


def _task(phase: PhaseDraft, elements: list[Element], action: str, target: str | None, why: str):
    phase.tasks += [
        TaskDraft(unit=e.id, action=action, target=target, purpose=why) for e in elements
    ]


def _names(elements: list[Element]) -> str:
    return ", ".join(e.name for e in elements) or "none"


# ----------------------------------------------------------------------------- helpers
def _ground(ctx: DraftingContext) -> list[Element]:
    return [e for e in ctx.elements if e.domain == "land"]


def _naval(ctx: DraftingContext) -> list[Element]:
    return [e for e in ctx.elements if e.domain == "sea"]


def _threatened(ctx: DraftingContext) -> list:
    """Sectors with a threat, most threatened first (all sectors if none is)."""
    sectors = ctx.analysis.sectors
    return [s for s in sectors if s.threat > 0] or list(sectors)


def _defence_factor(ctx: DraftingContext, place: str) -> float:
    return TERRAIN_DEFENSE_FACTOR[ctx.theater.places[place].terrain]


def _in_time(ctx: DraftingContext, elements: list[Element], place: str) -> bool:
    """Whether most of the elements' strength can be at `place` before the enemy could be."""
    eta = ctx.enemy_eta.get(place, float("inf"))
    total = sum(e.strength for e in elements)
    timely = 0.0
    for element in elements:
        hours = ctx.travel_hours(element, place)
        if hours is not None and hours <= eta:
            timely += element.strength
    return total > 0 and timely * 2 >= total


def _main_position(ctx: DraftingContext, sector, elements: list[Element], forward: bool) -> str:
    """Where a sector is defended: among the positions the elements reach before the enemy,
    the most forward (forward defence) or the better defensible of the two most forward ones
    (area defence); the objective if none can be reached in time."""
    timely = [p for p in sector.positions if _in_time(ctx, elements, p)]
    if not timely:
        return sector.positions[-1]
    if forward:
        return timely[0]
    return max(timely[:2], key=lambda p: (_defence_factor(ctx, p), -timely.index(p)))


def _allocate(
    ctx: DraftingContext, elements: list[Element], sectors: list, positions: dict[str, str]
) -> dict[str, list[Element]]:
    """Elements to sectors: each goes (strongest first) where the unmet share of the force the
    sector's threat calls for is largest, discounted by how long it needs to get there. Every
    threatened sector is first given at least 1:3 where the force allows (FM 6-0)."""
    total = sum(e.strength for e in elements)
    threat = sum(s.threat for s in sectors) or 1.0
    want = {
        s.id: max(DEFEND_RATIO * s.threat, total * s.threat / threat) if s.threat else 0.0
        for s in sectors
    }
    given = {s.id: 0.0 for s in sectors}
    allocation: dict[str, list[Element]] = {s.id: [] for s in sectors}
    for element in sorted(elements, key=lambda e: (-e.strength, e.id)):
        best, best_score = None, None
        for sector in sectors:
            hours = ctx.travel_hours(element, positions[sector.id])
            if hours is None:
                continue
            gap = (want[sector.id] - given[sector.id]) / max(want[sector.id], 1e-9)
            score = gap / (1.0 + hours / 12.0)
            if best_score is None or score > best_score:
                best, best_score = sector, score
        if best is None:
            continue
        allocation[best.id].append(element)
        given[best.id] += element.strength
    return allocation


def _nearest(ctx: DraftingContext, elements: list[Element], place: str, k: int) -> list[Element]:
    """The k elements that can reach `place` soonest."""
    timed = [
        (hours, e.id, e) for e in elements if (hours := ctx.travel_hours(e, place)) is not None
    ]
    return [e for _, _, e in sorted(timed)][:k]


def _reserve_of(ctx: DraftingContext, elements: list[Element], place: str) -> list[Element]:
    """A quarter of the force (mobile elements first, nearest the place first) as reserve."""
    if len(elements) < 3:
        return []
    size = max(1, round(RESERVE_SHARE * len(elements)))
    mobile = [e for e in elements if e.mobile] or list(elements)
    return _nearest(ctx, mobile, place, size)


def _to_retake(ctx: DraftingContext) -> list[str]:
    """Our objectives the enemy holds (those still in the analysis can be retaken)."""
    control = ctx.believed.control
    return [
        o["place"] for o in ctx.analysis.objectives if control.get(o["place"]) == ctx.analysis.enemy
    ]


def _commit_hour(ctx: DraftingContext, place: str) -> float:
    """Hours after the decision to commit a reserve against `place`: once the enemy is
    expected there plus time for its main effort to show, within the wargame's horizon."""
    eta = ctx.enemy_eta.get(place, ctx.lookahead_hours / 2)
    return round(min(max(eta + COMMIT_AFTER_CONTACT_HOURS, 2.0), ctx.lookahead_hours * 0.75), 1)


def _gate(ctx: DraftingContext) -> str | None:
    """Where the enemy's main approach enters our ground (the most threatened sector's first
    position)."""
    sectors = _threatened(ctx)
    return sectors[0].positions[0] if sectors and sectors[0].positions else None


def _strike_target(ctx: DraftingContext) -> str | None:
    """Strike where the most enemy strength is believed outside restricted places; failing
    that, the gate of the enemy's main approach (the strike meets the enemy there)."""
    mass: dict[str, float] = {}
    for unit in ctx.believed.units.values():
        enemy = unit.side != ctx.side and unit.alive and unit.domain != "air"
        if enemy and unit.location not in ctx.restricted:
            mass[unit.location] = mass.get(unit.location, 0.0) + unit.strength
    if mass:
        return max(sorted(mass), key=lambda p: mass[p])
    gate = _gate(ctx)
    if gate is not None:
        return gate
    course = ctx.analysis.enemy_most_likely
    return course.objective if course else None


def air_tasks(
    ctx: DraftingContext, shares: list[AirShare], close_support: dict[int, str | None]
) -> dict[int, list[TaskDraft]]:
    """Per phase, the air units' tasks that realise the apportionment: wings (strongest first)
    go to missions in proportion to their shares; strike at the enemy mass, interdiction where
    enemy supply was seen (else strike), close support over our main effort's fight."""
    tasks: dict[int, list[TaskDraft]] = {}
    wings = ctx.air_units
    if not wings:
        return tasks
    strike = _strike_target(ctx)
    total = sum(w.strength for w in wings)
    for share in shares:
        missions = [
            ("close_support", share.close_support),
            ("interdiction", share.interdiction),
            ("strike", share.strike),
        ]
        missions = [(m, s) for m, s in missions if s > 0]
        if not missions:
            continue
        quota = {m: s * total for m, s in missions}
        phase_tasks = []
        for wing in wings:
            mission = max(missions, key=lambda ms: (quota[ms[0]], ms[0]))[0]
            quota[mission] -= wing.strength
            target = {
                "close_support": close_support.get(share.phase) or strike,
                "strike": strike,
                "interdiction": next(
                    (p for p in ctx.analysis.enemy_supply_seen if ctx.reachable_air(wing, p)),
                    None,
                ),
            }[mission]
            action = "interdict" if mission == "interdiction" and target else "strike"
            target = target or strike
            if target is None or not ctx.reachable_air(wing, target):
                action, target = "hold", None
            purpose = {
                "close_support": f"close air support of the main effort at {target}",
                "strike": f"attrit the enemy at {target} before and during contact",
                "interdiction": f"interdict the enemy's supply at {target}",
            }[mission]
            phase_tasks.append(
                TaskDraft(unit=wing.id, action=action, target=target, purpose=purpose)
            )
        tasks[share.phase] = phase_tasks
    return tasks


# ------------------------------------------------------------------------ land defence
def _sector_defence(ctx: DraftingContext, forward: bool, reserve: bool):
    """Sectors, their main positions and allocated elements (reserve held out)."""
    ground = _ground(ctx)
    sectors = _threatened(ctx)
    if not ground or not sectors:
        return None
    main_sector = sectors[0]
    guess = {s.id: _main_position(ctx, s, ground, forward) for s in sectors}
    held = _reserve_of(ctx, ground, main_sector.positions[-1]) if reserve else []
    line = [e for e in ground if e not in held]
    allocation = _allocate(ctx, line, sectors, guess)
    positions = {s.id: _main_position(ctx, s, allocation[s.id] or line, forward) for s in sectors}
    return sectors, positions, allocation, held


def _area_defence(ctx: DraftingContext) -> COADraft | None:
    built = _sector_defence(ctx, forward=False, reserve=True)
    if built is None:
        return None
    sectors, positions, allocation, reserve = built
    main = sectors[0]
    plan = _Plan(
        name=f"Area defence by sectors, main effort at {positions[main.id]}",
        concept=f"Defend in {len(sectors)} sector(s), each by its threat (at least 1:3), the "
        f"main effort holding {positions[main.id]} on the most threatened approach; a reserve "
        "in depth counterattacks a penetration.",
        form="area defence",
    )
    commit = _commit_hour(ctx, positions[main.id])
    defend = plan.phase("Defence of the sectors", 0.0, f"reserve committed at H+{commit:g}")
    for sector in sectors:
        elements = allocation[sector.id]
        if not elements:
            continue
        position = positions[sector.id]
        depth = [p for p in sector.objectives if p != position]
        forward_group = elements[: max(1, (2 * len(elements) + 2) // 3)] if depth else elements
        _task(defend, forward_group, "defend", position, f"retain {position} in sector {sector.id}")
        for i, element in enumerate(e for e in elements if e not in forward_group):
            place = depth[i % len(depth)]
            _task(defend, [element], "defend", place, f"defend {place} in depth")
        effort = EffortDraft(
            role="main" if sector is main else "supporting",
            elements=[e.id for e in elements],
            sector=sector.id,
            axis=sector.positions,
            purpose=f"retain {', '.join(sector.objectives)}",
        )
        if sector is main:
            plan.main = effort
        else:
            plan.supporting.append(effort)
    retake = _to_retake(ctx)
    if retake and reserve:  # an objective the enemy holds: the reserve counterattacks at once
        _task(defend, reserve, "attack", retake[0], f"counterattack to retake {retake[0]}")
        plan.reserve = ReserveDraft(
            elements=[e.id for e in reserve],
            position=retake[0],
            commit_hour=0.0,
            criterion=f"committed at once: the enemy holds {retake[0]}",
            target=retake[0],
        )
        plan.air = [AirShare(phase=1, close_support=0.5, strike=0.5)]
    elif reserve:
        depth_place = main.positions[-1]
        _task(defend, reserve, "hold", depth_place, "reserve: prepare to counterattack")
        plan.reserve = ReserveDraft(
            elements=[e.id for e in reserve],
            position=depth_place,
            commit_hour=commit,
            criterion=f"enemy main effort committed against {positions[main.id]}",
            target=positions[main.id],
        )
        counter = plan.phase(
            "Counterattack", commit, f"penetration at {positions[main.id]} defeated"
        )
        _task(counter, reserve, "attack", positions[main.id], "defeat the penetration")
        plan.air = [
            AirShare(phase=1, interdiction=0.4, strike=0.6),
            AirShare(phase=2, strike=0.4, close_support=0.6),
        ]
    else:
        plan.air = [AirShare(phase=1, interdiction=0.4, strike=0.6)]
    return plan.draft()


def _forward_defence(ctx: DraftingContext) -> COADraft | None:
    built = _sector_defence(ctx, forward=True, reserve=False)
    if built is None:
        return None
    sectors, positions, allocation, _ = built
    main = sectors[0]
    held = dict.fromkeys(positions[s.id] for s in sectors if allocation[s.id])
    plan = _Plan(
        name=f"Forward defence at {', '.join(held)}",
        concept="Meet the enemy as far forward as we can reach before him, every sector on its "
        "most forward defensible position; no reserve is held back.",
        form="forward defence",
    )
    defend = plan.phase("Forward defence", 0.0, "the enemy's attack is defeated forward")
    for sector in sectors:
        elements = allocation[sector.id]
        if not elements:
            continue
        _task(
            defend,
            elements,
            "defend",
            positions[sector.id],
            f"stop the enemy at {positions[sector.id]}",
        )
        effort = EffortDraft(
            role="main" if sector is main else "supporting",
            elements=[e.id for e in elements],
            sector=sector.id,
            axis=sector.positions,
            purpose=f"deny the enemy {positions[sector.id]}",
        )
        if sector is main:
            plan.main = effort
        else:
            plan.supporting.append(effort)
    plan.air = [AirShare(phase=1, strike=0.7, interdiction=0.3)]
    return plan.draft()


def _mobile_defence(ctx: DraftingContext) -> COADraft | None:
    ground = _ground(ctx)
    sectors = _threatened(ctx)
    striking = [e for e in ground if e.mobile]
    fixing = [e for e in ground if not e.mobile]
    if not sectors or not striking or not fixing:
        return None
    main = sectors[0]
    positions = {s.id: _main_position(ctx, s, fixing, forward=False) for s in sectors}
    allocation = _allocate(ctx, fixing, sectors, positions)
    assembly = main.positions[-1] if len(main.positions) > 1 else main.objectives[-1]
    target = positions[main.id]
    commit = _commit_hour(ctx, target)
    plan = _Plan(
        name=f"Mobile defence: strike the enemy at {target} from {assembly}",
        concept=f"A fixing force holds the sectors and draws the enemy onto {target}; the "
        f"striking force ({_names(striking)}) waits at {assembly} and destroys him there.",
        form="mobile defence",
    )
    fix = plan.phase("Fix", 0.0, f"enemy main effort fixed at {target}")
    for sector in sectors:
        elements = allocation[sector.id]
        if elements:
            _task(
                fix,
                elements,
                "defend",
                positions[sector.id],
                f"fix the enemy at {positions[sector.id]}",
            )
            plan.supporting.append(
                EffortDraft(
                    role="supporting",
                    elements=[e.id for e in elements],
                    sector=sector.id,
                    axis=sector.positions,
                    purpose="fixing force: hold and canalise the enemy",
                )
            )
    retake = _to_retake(ctx)
    if retake:  # the enemy holds an objective: the striking force retakes it at once
        target, commit = retake[0], 0.0
        _task(fix, striking, "attack", target, f"strike the enemy at {target} and retake it")
    else:
        _task(fix, striking, "hold", assembly, "striking force: assemble out of contact")
        strike = plan.phase("Strike", commit, "enemy main body destroyed")
        _task(strike, striking, "attack", target, "destroy the enemy main body")
    plan.main = EffortDraft(
        role="main",
        elements=[e.id for e in striking],
        axis=[assembly, target],
        purpose="striking force: destroy the enemy in the engagement area",
    )
    plan.air = [
        AirShare(phase=1, interdiction=0.5, strike=0.5),
        AirShare(phase=2, close_support=0.8, strike=0.2),
    ]
    return plan.draft()


def _delay(ctx: DraftingContext) -> COADraft | None:
    ground = _ground(ctx)
    sectors = _threatened(ctx)
    if len(ground) < 2 or not sectors:
        return None
    main = sectors[0]
    if len(main.positions) < 2:
        return None
    forward, back = main.positions[0], main.positions[1]
    decisive = max(ctx.analysis.objectives, key=lambda o: (o["weight"], o["id"]))["place"]
    size = max(1, len(ground) // 3)
    covering = _nearest(ctx, sorted(ground, key=lambda e: not e.mobile), forward, size)
    body = [e for e in ground if e not in covering]
    fall_back = _commit_hour(ctx, forward)
    plan = _Plan(
        name=f"Delay from {forward}, main body on {decisive}",
        concept=f"A covering force ({_names(covering)}) delays at {forward} and falls back on "
        f"{back}, trading space for time, while the main body defends {decisive}.",
        form="delay",
    )
    first = plan.phase("Delay forward", 0.0, f"covering force ordered back at H+{fall_back:g}")
    _task(first, covering, "defend", forward, f"delay the enemy at {forward}")
    objectives = [
        o["place"] for o in sorted(ctx.analysis.objectives, key=lambda o: (-o["weight"], o["id"]))
    ]
    for i, element in enumerate(body):
        place = (
            decisive
            if i % 3 != 2 or len(objectives) == 1
            else objectives[(i // 3 + 1) % len(objectives)]
        )
        _task(first, [element], "defend", place, f"defend {place} with the main body")
    second = plan.phase("Fall back", fall_back, f"covering force on {back}")
    _task(second, covering, "withdraw", back, f"break contact and delay again at {back}")
    plan.main = EffortDraft(
        role="main", elements=[e.id for e in body], axis=[decisive], purpose=f"retain {decisive}"
    )
    plan.supporting.append(
        EffortDraft(
            role="supporting",
            elements=[e.id for e in covering],
            axis=[forward, back],
            sector=main.id,
            purpose="covering force: delay and attrit",
        )
    )
    plan.air = [
        AirShare(phase=1, interdiction=0.6, strike=0.4),
        AirShare(phase=2, strike=0.5, close_support=0.5),
    ]
    return plan.draft()


# ------------------------------------------------------------------------ land offence
def _axes(ctx: DraftingContext, objective: str) -> list:
    return sorted(
        (a for a in ctx.analysis.avenues if a.id.startswith("A") and a.objective == objective),
        key=lambda a: (a.hours, a.id),
    )


def _to_seize(ctx: DraftingContext) -> list[dict]:
    pending = [o for o in ctx.analysis.objectives if not o["held"]] or ctx.analysis.objectives
    return sorted(pending, key=lambda o: (o["deadline_hours"], -o["weight"], o["id"]))


def _seize_hour(ctx: DraftingContext, elements: list[Element], place: str) -> float:
    """When the next objective's attack starts: the first objective's estimated seizure
    (slowest arrival plus a day's fighting at most half the lookahead), within the horizon."""
    arrivals = [ctx.travel_hours(e, place) for e in elements]
    arrival = max((h for h in arrivals if h is not None), default=0.0)
    return round(min(arrival + ctx.lookahead_hours / 4, ctx.lookahead_hours * 0.6), 1)


def _frontal_attack(ctx: DraftingContext) -> COADraft | None:
    ground = _ground(ctx)
    targets = _to_seize(ctx)
    if not ground or not targets:
        return None
    first = targets[0]["place"]
    plan = _Plan(
        name=f"Frontal attack on {first}",
        concept=f"All manoeuvre forces attack {first} on a broad front by every axis, then "
        "press on to the next objective.",
        form="frontal attack",
    )
    axes = _axes(ctx, first)
    attack = plan.phase(f"Attack on {first}", 0.0, f"{first} seized")
    _task(attack, ground, "attack", first, f"seize {first} with massed combat power")
    plan.main = EffortDraft(
        role="main",
        elements=[e.id for e in ground],
        axis=axes[0].path if axes else [first],
        purpose=f"seize {first}",
    )
    if len(targets) > 1:
        second = targets[1]["place"]
        on = _seize_hour(ctx, ground, first)
        follow = plan.phase(f"Attack on {second}", on, f"{second} seized")
        _task(follow, ground[: max(1, 2 * len(ground) // 3)], "attack", second, f"seize {second}")
    plan.air = [AirShare(phase=1, strike=0.6, close_support=0.4)]
    return plan.draft()


def _penetration(ctx: DraftingContext) -> COADraft | None:
    ground = _ground(ctx)
    targets = _to_seize(ctx)
    if len(ground) < 2 or not targets:
        return None
    decisive = max(targets, key=lambda o: (o["weight"], -o["deadline_hours"], o["id"]))["place"]
    first = targets[0]["place"]
    axes = _axes(ctx, decisive)
    breach = min(axes, key=lambda a: (a.own_strength, a.hours)).path if axes else [decisive]
    size = max(1, (2 * len(ground) + 2) // 3)
    main_force = sorted(ground, key=lambda e: (not e.mobile, -e.strength, e.id))[:size]
    supporting = [e for e in ground if e not in main_force]
    plan = _Plan(
        name=f"Penetration to {decisive}",
        concept=f"The main effort ({_names(main_force)}) masses on one narrow axis "
        f"({' - '.join(breach)}) to break through to {decisive}; a supporting attack fixes "
        f"{first}.",
        form="penetration",
    )
    attack = plan.phase("Breach and penetrate", 0.0, f"{decisive} seized")
    _task(attack, main_force, "attack", decisive, f"penetrate to {decisive}")
    others = [o["place"] for o in targets if o["place"] != decisive]
    gains = [o["place"] for o in ctx.analysis.objectives if o["held"]]
    if others:  # a supporting attack fixes the defenders of another objective
        fix_target, action, why = others[0], "attack", f"fix the defenders of {others[0]}"
    elif gains:  # nothing else to fix: the supporting effort secures what is already taken
        fix_target, action, why = gains[0], "defend", f"secure {gains[0]} behind the penetration"
    else:
        return None
    _task(attack, supporting, action, fix_target, why)
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
    ground = _ground(ctx)
    targets = _to_seize(ctx)
    if len(ground) < 2 or not targets:
        return None
    for objective in targets:
        place = objective["place"]
        axes = _axes(ctx, place)
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
        plan = _Plan(
            name=f"Envelopment of {place} via {waypoint}",
            concept=f"A fixing force attacks {place} on the direct axis while the main effort "
            f"({_names(enveloping)}) moves through {waypoint} to strike it from the flank.",
            form="envelopment",
        )
        move = plan.phase("Fix and manoeuvre", 0.0, f"main effort at {waypoint}")
        _task(move, fixing, "attack", place, f"fix the defender of {place} on the direct axis")
        _task(move, enveloping, "move", waypoint, f"envelop {place} through {waypoint}")
        strike = plan.phase("Assault from the flank", turn, f"{place} seized")
        _task(strike, enveloping, "attack", place, f"seize {place} from the flank")
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
    ground = _ground(ctx)
    targets = _to_seize(ctx)
    if len(ground) < 3 or len(targets) < 2:
        return None
    first, second = targets[0]["place"], targets[1]["place"]
    size = max(1, round(RESERVE_SHARE * len(ground)))
    reserve = sorted(ground, key=lambda e: (not e.mobile, e.strength, e.id))[:size]
    assault = [e for e in ground if e not in reserve]
    on = _seize_hour(ctx, assault, first)
    staging = next(iter(_axes(ctx, first)), None)
    hold_at = staging.path[-2] if staging and len(staging.path) >= 2 else reserve[0].location
    plan = _Plan(
        name=f"Attack in sequence: {first}, then {second}",
        concept=f"Seize {first} first with the main effort, then pass the reserve "
        f"({_names(reserve)}) through to {second} by its deadline.",
        form="penetration",
    )
    one = plan.phase(f"Seize {first}", 0.0, f"{first} seized")
    _task(one, assault, "attack", first, f"seize {first} by H+{targets[0]['deadline_hours']:g}")
    _task(one, reserve, "hold", hold_at, "reserve: prepare to pass through")
    two = plan.phase(f"Exploit to {second}", on, f"{second} seized")
    _task(two, reserve, "attack", second, f"seize {second} by H+{targets[1]['deadline_hours']:g}")
    _task(
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
    ground = _ground(ctx)
    targets = _to_seize(ctx)
    if len(ground) < 3 or not targets:
        return None
    first = targets[0]["place"]
    size = max(1, round(RESERVE_SHARE * len(ground)))
    reserve = sorted(ground, key=lambda e: (not e.mobile, e.strength, e.id))[:size]
    assault = [e for e in ground if e not in reserve]
    axis = next(iter(_axes(ctx, first)), None)
    staging = axis.path[-2] if axis and len(axis.path) >= 2 else reserve[0].location
    commit = _seize_hour(ctx, assault, first)
    exploit = targets[1]["place"] if len(targets) > 1 else first
    plan = _Plan(
        name=f"Attack on {first} with a reserve at {staging}",
        concept=f"Three quarters of the force attack {first}; the reserve ({_names(reserve)}) "
        f"waits at {staging} to exploit success towards {exploit} or meet a counterattack.",
        form="frontal attack with reserve",
    )
    attack = plan.phase(f"Attack on {first}", 0.0, f"{first} seized")
    _task(attack, assault, "attack", first, f"seize {first} with the main effort")
    _task(attack, reserve, "hold", staging, "reserve: exploit or counter a counterattack")
    commit_phase = plan.phase("Commit the reserve", commit, f"{exploit} seized")
    _task(commit_phase, reserve, "attack", exploit, f"exploit to {exploit}")
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


# ----------------------------------------------------------------- joint and maritime
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
    ground = _ground(ctx)
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
        nearest = _nearest(ctx, free, objective["place"], 1)
        if nearest:
            _task(phase, nearest, "defend", objective["place"], f"hold {objective['place']}")
            free.remove(nearest[0])
            tasked += nearest
    for element in free:
        here = element.location
        _task(phase, [element], "defend", here, "hold the ground it stands on")
        tasked.append(element)
    return tasked


def _sea_denial(ctx: DraftingContext) -> COADraft | None:
    naval = _naval(ctx)
    points = _sea_points(ctx, "E")
    if not naval or not points:
        return None
    plan = _Plan(
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
        _task(deny, [element], "defend", point, f"deny the enemy passage at {point}")
    for element in carriers:
        _task(deny, [element], "hold", element.location, "stay out of the densest missile threat")
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
    naval = _naval(ctx)
    points = _sea_points(ctx, "E" if ctx.analysis.posture == "defence" else "A")
    if not naval or not points:
        return None
    focus = points[0]
    power, defence = _naval_power(ctx, naval), _enemy_naval_defence(ctx)
    plan = _Plan(
        name=f"Sea control: destroy the enemy fleet at {focus}",
        concept=f"Concentrate every surface and carrier group at {focus} to win the fleet "
        f"battle there (our salvo of {power:.0f} missiles against the {defence:.0f} the enemy "
        "ships seen can intercept), then hold the sea lanes.",
        form="sea control",
    )
    fight = plan.phase("Fleet engagement", 0.0, f"sea control at {focus}")
    _task(fight, naval, "attack", focus, f"destroy the enemy fleet at {focus}")
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
    naval = _naval(ctx)
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
    plan = _Plan(
        name=f"Blockade of the enemy's sea lines at {', '.join(exits[:2])}",
        concept=f"Close the exits of the enemy's ports at {', '.join(exits[:3])} with surface "
        "groups; air interdicts his sea lines of communication; garrisons hold the islands.",
        form="blockade",
    )
    close = plan.phase("Blockade", 0.0, "enemy sea lines cut")
    for i, element in enumerate(naval):
        point = exits[i % len(exits)]
        _task(close, [element], "defend", point, f"close the sea lane at {point}")
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
    naval = _naval(ctx)
    target = _strike_target(ctx)
    plan = _Plan(
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
        _task(phase, [element], "defend", screen, f"screen the approach at {screen}")
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
    ground = _ground(ctx)
    naval = _naval(ctx)
    targets = _to_seize(ctx)
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
    reachable = [e for e in landing if ctx.travel_hours(e, objective) is not None]
    if not reachable:
        return None
    axis = next(iter(_axes(ctx, objective)), None)
    approach = (
        next((p for p in reversed(axis.path[1:-1]) if ctx.theater.places[p].kind == "sea"), None)
        if axis
        else None
    )
    start = AMPHIBIOUS_PREPARATION_HOURS
    arrive = max((ctx.travel_hours(e, approach or objective) or 0.0) for e in reachable) + start
    plan = _Plan(
        name=f"Amphibious assault on {objective}",
        concept=f"Land on {objective}: after planning, embarkation and rehearsal, the landing "
        f"force ({_names(reachable)}) moves under escort to {approach or objective} and "
        f"assaults {objective} from H+{arrive:g}.",
        form="amphibious assault",
    )
    prepare = plan.phase("Planning and embarkation", 0.0, "landing force embarked")
    _task(prepare, reachable, "hold", None, "plan, embark and load")
    if naval:
        _task(
            prepare, naval, "attack", approach or objective, "win local sea control on the approach"
        )
    rehearse = plan.phase("Rehearsal", start / 2, "rehearsal complete")
    _task(rehearse, reachable, "hold", None, "rehearse the landing")
    movement = plan.phase("Movement", start, f"landing force off {objective}")
    _task(
        movement,
        reachable,
        "move",
        approach or objective,
        f"move to the objective area off {objective}",
    )
    action = plan.phase("Action", arrive, f"lodgement at {objective} secured")
    _task(action, reachable, "attack", objective, f"assault and seize {objective}")
    others = [e for e in ground if e not in reachable]
    if others:
        _task(prepare, others, "defend", None, "secure the embarkation area")
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


# --------------------------------------------------------------------------- drafter
Scheme = Callable[[DraftingContext], COADraft | None]

#: Scheme families, in the order their COAs are offered.
SCHEMES: dict[str, list[Scheme]] = {
    "land defence": [_area_defence, _mobile_defence, _delay, _forward_defence],
    "land offence": [
        _penetration,
        _envelopment,
        _sequential,
        _attack_with_reserve,
        _frontal_attack,
    ],
    "maritime defence": [_sea_denial, _sea_control, _strike_campaign, _blockade],
    "maritime offence": [_amphibious_assault, _main_objective_assault, _sea_control, _blockade],
}


def family(ctx: DraftingContext) -> str:
    """Which schemes fit: maritime where the side has naval forces and an objective its land
    forces cannot reach by land alone; land otherwise; defence or offence by the mission."""
    maritime = False
    if _naval(ctx):
        land_modes = frozenset({"road", "rail", "offroad"})
        for objective in ctx.analysis.objectives:
            place = objective["place"]
            if not any(
                ctx.theater.path(land_modes, unit.location, place) is not None
                for element in _ground(ctx)
                for unit in ctx.units_of(element)
            ):
                maritime = True
                break
    return f"{'maritime' if maritime else 'land'} {ctx.analysis.posture}"


class DoctrineDrafter:
    """Offline drafter: the doctrinal schemes of the side's situation, filled in with its
    elements from the mission analysis; needs no model and no network."""

    name = "doctrine"

    def draft(self, ctx: DraftingContext) -> list[COADraft]:
        """Up to `ctx.count` drafts from the schemes that fit, each distinct by construction
        (another scheme, hence another concept or main effort). A defence gives up the
        objectives it could neither retake nor hold, and says so in each concept."""
        kind = family(ctx)
        lost: dict[str, str] = {}
        if kind.endswith("defence"):
            ctx, lost = _without_lost_objectives(ctx)
        given_up = (
            " Given up, our ground forces being under the planning ratio to retake "
            f"({ATTACK_HASTY_RATIO:g}:1) or hold (1:{1 / DEFEND_RATIO:g}): "
            + ", ".join(f"{place} ({why})" for place, why in lost.items())
            + "."
        )
        drafts = []
        for scheme in SCHEMES[kind]:
            draft = scheme(ctx)
            if draft is None or any(d.name == draft.name for d in drafts):
                continue
            if lost:
                draft = draft.model_copy(update={"concept": draft.concept + given_up})
            drafts.append(draft)
            if len(drafts) == ctx.count:
                break
        return drafts


def _without_lost_objectives(ctx: DraftingContext) -> tuple[DraftingContext, dict[str, str]]:
    """The context without the objectives the side's whole ground force could no longer retake
    (enemy-held, under the hasty-defence ratio) or hold (enemy there, under 1:3), and those
    places with the ratio found: feeding units into a lost position loses them piecemeal.
    With every objective lost nothing is given up."""
    ground = sum(e.strength for e in _ground(ctx))
    analysis = ctx.analysis
    kept, lost = [], {}
    for objective in analysis.objectives:
        place = objective["place"]
        enemy = sum(
            u.strength
            for u in ctx.believed.units.values()
            if u.side == analysis.enemy and u.alive and u.location == place
        )
        enemy_holds = ctx.believed.control.get(place) == analysis.enemy
        needed = ATTACK_HASTY_RATIO if enemy_holds else DEFEND_RATIO
        if enemy > 0 and ground < needed * enemy:
            lost[place] = f"{ground / enemy:.2g}:1, {'retake' if enemy_holds else 'hold'}"
        else:
            kept.append(objective)
    if not lost or not kept:
        return ctx, {}
    sectors = []
    for sector in analysis.sectors:
        objectives = [p for p in sector.objectives if p not in lost]
        if objectives:
            positions = [p for p in sector.positions if p not in lost] or objectives
            sectors.append(
                sector.model_copy(update={"objectives": objectives, "positions": positions})
            )
    narrowed = analysis.model_copy(update={"objectives": kept, "sectors": sectors})
    return replace(ctx, analysis=narrowed, _travel={}), lost
