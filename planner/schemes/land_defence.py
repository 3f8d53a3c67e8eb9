"""Land defence: area defence by sectors, mobile defence, delay, forward defence (FM 3-90).

Every element is placed in a sector and at a position of it: forces go to sectors in proportion
to the threat each faces, and each threatened sector first gets the 1:3 a defence needs (FM
6-0's planning ratio); within a sector an element defends the most forward position it can
reach before the enemy could (forward defence: any place on the approach; area defence: the
objectives and key terrain only), else the sector's objective if it can be there by its
deadline. Elements that can serve nowhere in time (late reinforcements) defend where they
arrive.
"""

from __future__ import annotations

from dataclasses import dataclass

from planner.analysis import Sector
from planner.coa import AirShare, COADraft, EffortDraft, ReserveDraft
from planner.context import DraftingContext
from planner.echelons import Element
from planner.schemes._common import (
    DEFEND_RATIO,
    Plan,
    assign,
    commit_hour,
    ground_elements,
    names,
    nearest_to,
    threatened,
    to_retake,
)

__all__ = ["LAND_DEFENCE"]

#: A position counts as reached in time if the element gets there within this multiple of
#: the enemy's unopposed march time to it: that time ignores the friction of contact on the
#: way (screens, obstacles, the fight at every place before it), which buys the defender time.
IN_TIME_FACTOR = 1.5
#: Share of the ground force's strength held as a reserve (FM 3-90: a third to a ninth).
RESERVE_STRENGTH_SHARE = 0.2
#: Share of the ground strength in a mobile defence's striking force (FM 3-90: the striking
#: force is the bulk of the combat power, but the fixing force must hold the sectors).
STRIKING_STRENGTH_SHARE = 1 / 3


@dataclass
class _Layout:
    """Sectors, where each placed element defends, and the elements left over."""

    sectors: list[Sector]
    placed: dict[str, list[tuple[Element, str]]]  # sector id -> (element, position)
    unplaced: list[Element]

    def position_of(self, sector: Sector) -> str:
        """The sector's most forward occupied position (its main battle position)."""
        occupied = {p for _, p in self.placed[sector.id]}
        return next((p for p in sector.positions if p in occupied), sector.positions[-1])


def _hours_after(ctx: DraftingContext, place: str) -> float:
    """Hours after the decision by which an objective must be held (or the horizon)."""
    deadlines = [o["deadline_hours"] for o in ctx.analysis.objectives if o["place"] == place]
    return min(deadlines, default=ctx.scenario.settings.horizon_hours) - ctx.hour


def _placement(
    ctx: DraftingContext, element: Element, sector: Sector, forward: bool
) -> tuple[str, float] | None:
    """(position, travel hours) of an element in a sector, or None if it cannot serve there."""
    key_places = set(sector.objectives) | {k.place for k in ctx.analysis.key_terrain}
    for place in sector.positions:
        if not forward and place not in key_places:
            continue
        hours = ctx.travel_hours(element, place)
        if hours is not None and hours <= IN_TIME_FACTOR * ctx.enemy_eta.get(place, float("inf")):
            return place, hours
    deepest = sector.positions[-1]
    hours = ctx.travel_hours(element, deepest)
    if hours is not None and hours <= _hours_after(ctx, deepest):
        return deepest, hours
    return None


def _layout(ctx: DraftingContext, elements: list[Element], forward: bool) -> _Layout | None:
    """Elements to sectors (greedy, strongest first: where the unmet share of the force the
    threat calls for is largest, discounted by travel time) and to positions."""
    sectors = threatened(ctx)
    if not elements or not sectors:
        return None
    total = sum(e.strength for e in elements)
    threat = sum(s.threat for s in sectors) or 1.0
    want = {
        s.id: max(DEFEND_RATIO * s.threat, total * s.threat / threat) if s.threat else 0.0
        for s in sectors
    }
    given = dict.fromkeys(want, 0.0)
    placed: dict[str, list[tuple[Element, str]]] = {s.id: [] for s in sectors}
    unplaced = []
    for element in sorted(elements, key=lambda e: (-e.strength, e.id)):
        options = []
        for sector in sectors:
            spot = _placement(ctx, element, sector, forward)
            if spot is None:
                continue
            gap = (want[sector.id] - given[sector.id]) / max(want[sector.id], 1e-9)
            options.append((gap / (1.0 + spot[1] / 12.0), sector.id, spot[0]))
        if not options:
            unplaced.append(element)
            continue
        _, sector_id, place = max(options)
        placed[sector_id].append((element, place))
        given[sector_id] += element.strength
    return _Layout(sectors, placed, unplaced)


def _reserve(ctx: DraftingContext, elements: list[Element], place: str) -> list[Element]:
    """Mobile elements (nearest `place` first) up to a fifth of the ground strength."""
    if len(elements) < 3:
        return []
    mobile = [e for e in elements if e.mobile] or list(elements)
    budget = RESERVE_STRENGTH_SHARE * sum(e.strength for e in elements)
    chosen: list[Element] = []
    for element in nearest_to(ctx, mobile, place, len(mobile)):
        if chosen and sum(e.strength for e in chosen) + element.strength > budget:
            break
        chosen.append(element)
    return chosen


def _striking_force(ctx: DraftingContext, elements: list[Element], place: str) -> list[Element]:
    """Mobile elements (nearest `place` first) up to a third of the ground strength: the
    striking force of a mobile defence; the rest fix."""
    mobile = [e for e in elements if e.mobile]
    budget = STRIKING_STRENGTH_SHARE * sum(e.strength for e in elements)
    chosen: list[Element] = []
    for element in nearest_to(ctx, mobile, place, len(mobile)):
        if chosen and sum(e.strength for e in chosen) + element.strength > budget:
            break
        chosen.append(element)
    return chosen


def _assembly_area(ctx: DraftingContext, place: str) -> str:
    """A place next to `place`, off the enemy's approaches and held by no enemy, as far from
    the enemy's nearest concentration as the neighbours allow: where a striking force waits
    out of contact (the place itself if there is none)."""
    approaches = {p for a in ctx.analysis.avenues if a.id.startswith("E") for p in a.path}
    origins = [a.origin for a in ctx.analysis.avenues if a.id.startswith("E")]
    control = ctx.believed.control
    options = [
        n
        for n in ctx.theater.neighbors(place, frozenset({"road", "rail"}))
        if n not in ctx.restricted and control.get(n) in (None, ctx.side) and n not in approaches
    ]
    if not options or not origins:
        return place
    return max(
        options,
        key=lambda n: (min(ctx.theater.distance_km(n, o) for o in origins), n),
    )


def _defend_layout(plan: Plan, phase, layout: _Layout, purpose: str) -> None:
    """Tasks for every placed element, efforts per sector (the most threatened is the main
    effort), and holding in place for the elements that can serve nowhere in time."""
    main = layout.sectors[0]
    for sector in layout.sectors:
        members = layout.placed[sector.id]
        if not members:
            continue
        for element, place in members:
            assign(phase, [element], "defend", place, f"{purpose} {place} in sector {sector.id}")
        effort = EffortDraft(
            role="main" if sector is main else "supporting",
            elements=[e.id for e, _ in members],
            sector=sector.id,
            axis=sector.positions,
            purpose=f"retain {', '.join(sector.objectives)}",
        )
        if sector is main:
            plan.main = effort
        else:
            plan.supporting.append(effort)
    for element in layout.unplaced:
        assign(phase, [element], "defend", None, "defend where it arrives (no sector in time)")


def _area_defence(ctx: DraftingContext) -> COADraft | None:
    sectors = threatened(ctx)
    forces = ground_elements(ctx)
    if not sectors or not forces:
        return None
    depth = sectors[0].positions[-1]
    held = _reserve(ctx, forces, depth)
    layout = _layout(ctx, [e for e in forces if e not in held], forward=False)
    if layout is None:
        return None
    main = layout.sectors[0]
    engagement = layout.position_of(main)
    commit = commit_hour(ctx, engagement)
    plan = Plan(
        name=f"Area defence by sectors, main effort at {engagement}",
        concept=f"Defend the objectives and key terrain of {len(layout.sectors)} sector(s), each "
        f"by its threat (at least 1:3), the main effort at {engagement} on the most threatened "
        "approach; a reserve in depth counterattacks a penetration.",
        form="area defence",
    )
    defend = plan.phase("Defence of the sectors", 0.0, f"reserve committed at H+{commit:g}")
    _defend_layout(plan, defend, layout, "retain")
    retake = to_retake(ctx)
    if held and retake:  # the enemy holds an objective: the reserve counterattacks at once
        assign(defend, held, "attack", retake[0], f"counterattack to retake {retake[0]}")
        plan.reserve = ReserveDraft(
            elements=[e.id for e in held],
            position=retake[0],
            commit_hour=0.0,
            criterion=f"committed at once: the enemy holds {retake[0]}",
            target=retake[0],
        )
        plan.air = [AirShare(phase=1, close_support=0.5, strike=0.5)]
    elif held:
        assign(defend, held, "hold", depth, "reserve: prepare to counterattack")
        plan.reserve = ReserveDraft(
            elements=[e.id for e in held],
            position=depth,
            commit_hour=commit,
            criterion=f"enemy main effort committed against {engagement}",
            target=engagement,
        )
        counter = plan.phase("Counterattack", commit, f"penetration at {engagement} defeated")
        assign(counter, held, "attack", engagement, "defeat the penetration")
        plan.air = [
            AirShare(phase=1, interdiction=0.4, strike=0.6),
            AirShare(phase=2, strike=0.4, close_support=0.6),
        ]
    else:
        plan.air = [AirShare(phase=1, interdiction=0.4, strike=0.6)]
    return plan.draft()


def _forward_defence(ctx: DraftingContext) -> COADraft | None:
    layout = _layout(ctx, ground_elements(ctx), forward=True)
    if layout is None:
        return None
    held = [layout.position_of(s) for s in layout.sectors if layout.placed[s.id]]
    plan = Plan(
        name=f"Forward defence at {', '.join(dict.fromkeys(held))}",
        concept="Meet the enemy as far forward as each element can reach before him, every "
        "sector on its approach; no reserve is held back.",
        form="forward defence",
    )
    defend = plan.phase("Forward defence", 0.0, "the enemy's attack is defeated forward")
    _defend_layout(plan, defend, layout, "stop the enemy at")
    plan.air = [AirShare(phase=1, strike=0.7, interdiction=0.3)]
    return plan.draft()


def _mobile_defence(ctx: DraftingContext) -> COADraft | None:
    forces = ground_elements(ctx)
    sectors = threatened(ctx)
    if not sectors:
        return None
    striking = _striking_force(ctx, forces, sectors[0].positions[-1])
    fixing = [e for e in forces if e not in striking]
    layout = _layout(ctx, fixing, forward=False)
    if layout is None or not striking:
        return None
    main = layout.sectors[0]
    engagement = layout.position_of(main)
    behind = main.positions[main.positions.index(engagement) + 1 :]
    assembly = behind[0] if behind else _assembly_area(ctx, engagement)
    commit = commit_hour(ctx, engagement)
    plan = Plan(
        name=f"Mobile defence: destroy the enemy at {engagement}",
        concept=f"A fixing force holds the sectors and draws the enemy onto {engagement}; the "
        f"striking force ({names(striking)}) assembles at {assembly} and destroys him there.",
        form="mobile defence",
    )
    fix = plan.phase("Fix", 0.0, f"enemy main effort fixed at {engagement}")
    _defend_layout(plan, fix, layout, "fix the enemy at")
    plan.supporting = [e for e in ([plan.main] if plan.main else []) + plan.supporting]
    for effort in plan.supporting:
        effort.role = "supporting"
    retake = to_retake(ctx)
    if retake:  # the enemy holds an objective: the striking force retakes it at once
        assign(fix, striking, "attack", retake[0], f"strike the enemy at {retake[0]}, retake it")
        target = retake[0]
    else:
        assign(fix, striking, "hold", assembly, "striking force: assemble out of contact")
        strike = plan.phase("Strike", commit, "enemy main body destroyed")
        assign(strike, striking, "attack", engagement, "destroy the enemy main body")
        target = engagement
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
    layout = _layout(ctx, ground_elements(ctx), forward=True)
    if layout is None:
        return None
    main = layout.sectors[0]
    objectives = set(main.objectives)
    covering = [(e, p) for e, p in layout.placed[main.id] if p not in objectives]
    if not covering or len(main.positions) < 2:
        return None
    body = [e for e, p in layout.placed[main.id] if p in objectives]
    decisive = main.objectives[-1]
    fall_back = commit_hour(ctx, covering[0][1])
    plan = Plan(
        name=f"Delay forward of {decisive}, main body on {', '.join(main.objectives)}",
        concept=f"A covering force ({names([e for e, _ in covering])}) delays on the most "
        f"threatened approach and falls back position by position, trading space for time, "
        f"while the main body defends {', '.join(main.objectives)}; other sectors defend.",
        form="delay",
    )
    first = plan.phase("Delay forward", 0.0, f"covering force ordered back at H+{fall_back:g}")
    _defend_layout(plan, first, layout, "delay the enemy at")
    second = plan.phase("Fall back", fall_back, "covering force on the next position")
    for element, place in covering:
        index = main.positions.index(place)
        back = main.positions[min(index + 1, len(main.positions) - 1)]
        assign(second, [element], "withdraw", back, f"break contact and delay again at {back}")
    plan.main = EffortDraft(
        role="main",
        elements=[e.id for e in body] or [e.id for e, _ in covering],
        axis=main.objectives,
        sector=main.id,
        purpose=f"retain {decisive}",
    )
    plan.supporting = [s for s in plan.supporting if s.sector != main.id]
    plan.supporting.insert(
        0,
        EffortDraft(
            role="supporting",
            elements=[e.id for e, _ in covering],
            axis=main.positions,
            sector=main.id,
            purpose="covering force: delay and attrit",
        ),
    )
    plan.air = [
        AirShare(phase=1, interdiction=0.6, strike=0.4),
        AirShare(phase=2, strike=0.5, close_support=0.5),
    ]
    return plan.draft()


#: Land defence schemes in the order their COAs are offered.
LAND_DEFENCE = [_area_defence, _mobile_defence, _delay, _forward_defence]
