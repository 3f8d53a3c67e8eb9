"""What every scheme shares: the COA builder, force ratios, common queries, air apportionment."""

from __future__ import annotations

from dataclasses import dataclass, field

from planner.coa import AirShare, COADraft, EffortDraft, PhaseDraft, ReserveDraft, TaskDraft
from planner.context import DraftingContext
from planner.echelons import Element
from sim.unit_types import TERRAIN_DEFENSE_FACTOR

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
class Plan:
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


def assign(phase: PhaseDraft, elements: list[Element], action: str, target: str | None, why: str):
    phase.tasks += [
        TaskDraft(unit=e.id, action=action, target=target, purpose=why) for e in elements
    ]


def names(elements: list[Element]) -> str:
    return ", ".join(e.name for e in elements) or "none"


# ----------------------------------------------------------------------------- helpers
def ground_elements(ctx: DraftingContext) -> list[Element]:
    return [e for e in ctx.elements if e.domain == "land"]


def naval_elements(ctx: DraftingContext) -> list[Element]:
    return [e for e in ctx.elements if e.domain == "sea"]


def threatened(ctx: DraftingContext) -> list:
    """Sectors with a threat, most threatened first (all sectors if none is)."""
    sectors = ctx.analysis.sectors
    return [s for s in sectors if s.threat > 0] or list(sectors)


def defence_factor(ctx: DraftingContext, place: str) -> float:
    return TERRAIN_DEFENSE_FACTOR[ctx.theater.places[place].terrain]


def nearest_to(ctx: DraftingContext, elements: list[Element], place: str, k: int) -> list[Element]:
    """The k elements that can reach `place` soonest."""
    timed = [
        (hours, e.id, e) for e in elements if (hours := ctx.travel_hours(e, place)) is not None
    ]
    return [e for _, _, e in sorted(timed)][:k]


def to_retake(ctx: DraftingContext) -> list[str]:
    """Our objectives the enemy holds (those still in the analysis can be retaken)."""
    control = ctx.believed.control
    return [
        o["place"] for o in ctx.analysis.objectives if control.get(o["place"]) == ctx.analysis.enemy
    ]


def commit_hour(ctx: DraftingContext, place: str) -> float:
    """Hours after the decision to commit a reserve against `place`: once the enemy is
    expected there plus time for its main effort to show, within the wargame's horizon."""
    eta = ctx.enemy_eta.get(place, ctx.lookahead_hours / 2)
    return round(min(max(eta + COMMIT_AFTER_CONTACT_HOURS, 2.0), ctx.lookahead_hours * 0.75), 1)


def main_gate(ctx: DraftingContext) -> str | None:
    """Where the enemy's main approach enters our ground (the most threatened sector's first
    position)."""
    sectors = threatened(ctx)
    return sectors[0].positions[0] if sectors and sectors[0].positions else None


def strike_target(ctx: DraftingContext) -> str | None:
    """Strike where the most enemy strength is believed outside restricted places; failing
    that, the gate of the enemy's main approach (the strike meets the enemy there)."""
    mass: dict[str, float] = {}
    for unit in ctx.believed.units.values():
        enemy = unit.side != ctx.side and unit.alive and unit.domain != "air"
        if enemy and unit.location not in ctx.restricted:
            mass[unit.location] = mass.get(unit.location, 0.0) + unit.strength
    if mass:
        return max(sorted(mass), key=lambda p: mass[p])
    gate = main_gate(ctx)
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
    strike = strike_target(ctx)
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
