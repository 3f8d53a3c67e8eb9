"""The planning agent's tools: doctrine search, theater queries and wargaming a candidate COA.

Every tool answers from one side's decision only: the scenario, the side's believed world and
its mission analysis (`DraftingContext`), never the ground truth. `wargame_coa` runs the
project's own Monte Carlo (`planner.decide.Wargame`, common random numbers with the staff's
later selection) on a candidate after it is validated and screened exactly as the staff will
validate and screen the agent's answer. Results are plain JSON-ready data; the agent wraps them
as <data> for the model (planner.prompts). Tools run one after another, in the order asked, so
a decision's results never depend on thread timing.
"""

from __future__ import annotations

from typing import Any

from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, Field

from planner.coa import COADraft
from planner.context import DraftingContext
from planner.decide import Wargame
from planner.record import AgentRevision
from planner.screening import screen
from planner.validation import finalize_drafts
from sim.montecarlo import mean_interval

__all__ = ["PlanningTools", "search_doctrine"]

#: Passage text shown per hit (the whole passage is rarely needed to cite it).
PASSAGE_CHARS = 600
#: Ids listed when the agent names something that does not exist.
HINT_IDS = 12


def search_doctrine(ctx: DraftingContext, query: str, k: int) -> list[Any]:
    """Passages answering `query`. A side that fights by the adversary doctrine reads that
    doctrine first (topic "adversary"), then the rest of the corpus."""
    if ctx.scenario.side(ctx.side).doctrine != "adversary":
        return ctx.index.search(query, k=k)
    hits = {h.id: h for h in ctx.index.search(query, k=k, topic="adversary")}
    for hit in ctx.index.search(query, k=k):
        if len(hits) >= k:
            break
        hits.setdefault(hit.id, hit)
    return list(hits.values())[:k]


class _Search(BaseModel):
    query: str = Field(description="What to look up, in plain words.")
    k: int = Field(default=4, ge=1, le=8, description="Passages wanted.")


class _Route(BaseModel):
    unit: str = Field(description="Id of one of our formations or units.")
    destination: str = Field(description="Place id.")
    origin: str | None = Field(
        default=None, description="Place id to start from (default: where the unit is)."
    )


class _Avenues(BaseModel):
    objective: str | None = Field(
        default=None, description="Only avenues that end at this place id (default: all)."
    )


class _Forces(BaseModel):
    place: str = Field(description="Place id.")


class _Wargame(BaseModel):
    coa: COADraft = Field(description="The candidate course of action, as you would submit it.")


class PlanningTools:
    """The tools of one side's decision, and what they found (the agent's record reads the
    wargamed candidates from `revisions`)."""

    def __init__(self, ctx: DraftingContext, game: Wargame | None, replications: int):
        self.ctx = ctx
        self.game = game
        self.replications = replications
        self.revisions: list[AgentRevision] = []
        self.step = 0  # the model turn whose tool calls are running (set by the agent)

    def tools(self) -> list[BaseTool]:
        """The LangChain tools, bound to this decision."""
        tools = [
            StructuredTool.from_function(
                self.doctrine_search,
                name="doctrine_search",
                description="Search the doctrine corpus; returns passage ids (cite them), "
                "titles, references and text.",
                args_schema=_Search,
            ),
            StructuredTool.from_function(
                self.route,
                name="route",
                description="Fastest route of one of our formations or units to a place, "
                "avoiding restricted places, with the travel time in hours.",
                args_schema=_Route,
            ),
            StructuredTool.from_function(
                self.avenues_of_approach,
                name="avenues_of_approach",
                description="Avenues of approach, key terrain, decisive points and sectors "
                "from the mission analysis.",
                args_schema=_Avenues,
            ),
            StructuredTool.from_function(
                self.forces_at,
                name="forces_at",
                description="Our forces and the enemy forces we have seen at a place, and "
                "the force ratio (ours : enemy).",
                args_schema=_Forces,
            ),
        ]
        if self.game is not None:
            tools.append(
                StructuredTool.from_function(
                    self.wargame_coa,
                    name="wargame_coa",
                    description="Validate, screen and wargame (Monte Carlo from our picture, "
                    "against the enemy's most likely and most dangerous courses) one "
                    "candidate COA; returns its utility and probability of success with 95% "
                    "intervals, or why it cannot be wargamed.",
                    args_schema=_Wargame,
                )
            )
        return tools

    # ------------------------------------------------------------------ doctrine
    def doctrine_search(self, query: str, k: int = 4) -> list[dict[str, str]]:
        """Passages answering the query."""
        return [
            {
                "id": hit.id,
                "title": hit.title,
                "reference": hit.reference,
                "text": hit.passage.text[:PASSAGE_CHARS],
            }
            for hit in search_doctrine(self.ctx, query, k)
        ]

    # ------------------------------------------------------------------ theater
    def route(self, unit: str, destination: str, origin: str | None = None) -> dict[str, Any]:
        """Route and travel hours of an element (its slowest unit) or unit to a place."""
        ctx = self.ctx
        members = self._members(unit)
        if not members:
            return self._unknown("unit or formation", unit, self._own_ids())
        for place in (destination, origin):
            if place is not None and place not in ctx.theater.places:
                return self._unknown("place", place, sorted(ctx.theater.places))
        if destination in ctx.restricted:
            return {"error": f"{destination} is a restricted place"}
        worst: dict[str, Any] | None = None
        for member in members:
            state = ctx.believed.units[member]
            kind = ctx.scenario.unit_types[state.type]
            if state.domain == "air":
                distance = ctx.theater.distance_km(state.location, destination)
                return {
                    "unit": unit,
                    "air": True,
                    "base": state.location,
                    "distance_km": round(distance, 1),
                    "within_sortie_range": distance <= kind.sortie_range_km,
                    "sortie_range_km": kind.sortie_range_km,
                }
            start = origin or state.next_place or state.location
            path = ctx.theater.path(kind.modes, start, destination, avoid=ctx.restricted)
            if path is None:
                return {"unit": unit, "error": f"{member} cannot reach {destination} from {start}"}
            wait = 0.0 if origin else max(0.0, state.arrives_hour - ctx.hour)
            hours = wait + ctx.theater.travel_hours(kind.modes, path, state.speed_kph)
            if worst is None or hours > worst["hours"]:
                worst = {"slowest_unit": member, "path": path, "hours": round(hours, 2)}
        assert worst is not None
        return {
            "unit": unit,
            "destination": destination,
            **worst,
            "arrives_at_hour": round(ctx.hour + worst["hours"], 2),
        }

    def avenues_of_approach(self, objective: str | None = None) -> dict[str, Any]:
        """The analysis's avenues (optionally to one objective), key terrain and sectors."""
        analysis = self.ctx.analysis
        avenues = [a for a in analysis.avenues if objective in (None, a.objective)]
        return {
            "avenues": [
                {
                    "id": a.id,
                    "origin": a.origin,
                    "objective": a.objective,
                    "path": a.path,
                    "hours": round(a.hours, 2),
                    "enemy_strength": round(a.strength, 1),
                    "own_strength": round(a.own_strength, 1),
                    "ratio_own_to_enemy": round(a.ratio, 3),
                }
                for a in avenues
            ],
            "key_terrain": [
                {"place": k.place, "decisive": k.decisive, "reasons": k.reasons}
                for k in analysis.key_terrain
            ],
            "sectors": [s.model_dump() for s in analysis.sectors],
        }

    def forces_at(self, place: str) -> dict[str, Any]:
        """Own units and the enemy seen at a place, and the force ratio."""
        ctx = self.ctx
        if place not in ctx.theater.places:
            return self._unknown("place", place, sorted(ctx.theater.places))
        own, enemy = [], []
        for unit in sorted(ctx.believed.units.values(), key=lambda u: u.id):
            if not unit.alive or unit.location != place:
                continue
            record = {"id": unit.id, "type": unit.type, "strength": round(unit.strength, 1)}
            if unit.side == ctx.side:
                if unit.arrives_hour > ctx.hour:
                    record["arrives_hour"] = unit.arrives_hour
                own.append(record)
            else:
                enemy.append(record)
        present = sum(u["strength"] for u in own if "arrives_hour" not in u)
        seen = sum(u["strength"] for u in enemy)
        return {
            "place": place,
            "controlled_by": ctx.believed.control.get(place),
            "own": own,
            "enemy_seen": enemy,
            "force_ratio_own_to_enemy": round(present / seen, 3) if seen else None,
        }

    # ------------------------------------------------------------------ wargame
    def wargame_coa(self, coa: COADraft) -> dict[str, Any]:
        """Validate and screen the candidate as the staff will, then wargame it."""
        ctx, game = self.ctx, self.game
        assert game is not None
        coas, dropped = finalize_drafts([coa], ctx, "agent")
        if not coas:
            return {"wargamed": False, "problems": dropped or ["no valid task"]}
        candidate = coas[0]
        if not screen([candidate], ctx):
            return {
                "wargamed": False,
                "problems": dropped + candidate.screening_notes,
                "screening": candidate.screening,
            }
        per_course = game.run([candidate], 0, self.replications)[0]
        scores = game.scores(per_course)
        mean, low, high = mean_interval(game.utilities(per_course))
        penalty = mean - game.value(per_course)
        utility = (round(mean - penalty, 6), round(low - penalty, 6), round(high - penalty, 6))
        best = max((r.utility for r in self.revisions), default=None)
        self.revisions.append(
            AgentRevision(
                step=self.step,
                coa=coa.name,
                replications=self.replications,
                utility=utility[0],
                utility_ci95=utility[1:],
                p_success=scores["p_success"],
                p_success_ci95=tuple(scores["p_success_ci95"]),
                gained=None if best is None else round(utility[0] - best, 6),
            )
        )
        return {
            "wargamed": True,
            "replications": self.replications,
            "utility": utility[0],
            "utility_ci95": list(utility[1:]),
            "p_success": scores["p_success"],
            "p_success_ci95": scores["p_success_ci95"],
            "expected_losses": scores["losses"],
            "loss_limit": game.limit,
            "vs_most_dangerous_utility": scores.get("vs_most_dangerous", {}).get("utility"),
            "dropped_tasks": dropped,
        }

    # ------------------------------------------------------------------ helpers
    def _members(self, element_id: str) -> list[str]:
        ctx = self.ctx
        unit = ctx.believed.units.get(element_id)
        if unit is not None:
            return [element_id] if unit.side == ctx.side and unit.alive else []
        element = next((e for e in ctx.elements if e.id == element_id), None)
        return list(element.units) if element else []

    def _own_ids(self) -> list[str]:
        return [e.id for e in self.ctx.elements] + [u.id for u in self.ctx.air_units]

    @staticmethod
    def _unknown(kind: str, name: str, known: list[str]) -> dict[str, Any]:
        shown = ", ".join(known[:HINT_IDS]) + (", ..." if len(known) > HINT_IDS else "")
        return {"error": f"unknown {kind} {name!r}; known: {shown}"}
