"""Decide, step 1: doctrinal schemes of manoeuvre that draft COAs from the mission analysis.

Each scheme is a plain function of the drafting context that returns one structured COA draft
(or None where it does not apply): a concept, a main effort and supporting efforts with their
axes or sectors, a reserve with its commitment criterion, phases with H-hours and end
conditions, and the apportionment of air power by phase. Forces are allocated by FM 6-0's
planning ratios on land (a defence holds at 1:3; an attack wants 3:1 on a prepared defence,
2.5:1 on a hasty one) and by the salvo arithmetic the engine uses at sea (Hughes).

Families: land defence (planner.schemes.land_defence), land offence (land_offence), joint and
maritime defence and offence (maritime): where the side has naval forces and an objective its
land forces cannot reach by land.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import networkx as nx

from planner.coa import COADraft
from planner.context import DraftingContext
from planner.schemes._common import (
    ATTACK_HASTY_RATIO,
    DEFEND_RATIO,
    air_tasks,
    ground_elements,
    naval_elements,
)
from planner.schemes.land_defence import LAND_DEFENCE
from planner.schemes.land_offence import LAND_OFFENCE
from planner.schemes.maritime import MARITIME_DEFENCE, MARITIME_OFFENCE

__all__ = ["SCHEMES", "DoctrineDrafter", "air_tasks", "family"]

Scheme = Callable[[DraftingContext], COADraft | None]

#: Scheme families, in the order their COAs are offered.
SCHEMES: dict[str, list[Scheme]] = {
    "land defence": LAND_DEFENCE,
    "land offence": LAND_OFFENCE,
    "maritime defence": MARITIME_DEFENCE,
    "maritime offence": MARITIME_OFFENCE,
}


def family(ctx: DraftingContext) -> str:
    """Which schemes fit: maritime where the side has naval forces and the sea is in the
    fight (an approach to or from an objective runs by sea, or the objectives lie on more than
    one land mass); land otherwise; defence or offence by the mission."""
    maritime = bool(naval_elements(ctx)) and (
        any("sea" in a.modes and _crosses_sea(ctx, a.path) for a in ctx.analysis.avenues)
        or len({_land_mass(ctx, o["place"]) for o in ctx.analysis.objectives}) > 1
    )
    return f"{'maritime' if maritime else 'land'} {ctx.analysis.posture}"


_LAND_MODES = frozenset({"road", "rail", "offroad"})


def _crosses_sea(ctx: DraftingContext, path: list[str]) -> bool:
    return any(ctx.theater.places[p].kind == "sea" for p in path)


def _land_mass(ctx: DraftingContext, place: str) -> frozenset[str]:
    """The places joined to `place` by land routes."""
    graph = ctx.theater.domain_graph(_LAND_MODES)
    return frozenset(nx.node_connected_component(graph, place))


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
    ground = sum(e.strength for e in ground_elements(ctx))
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
