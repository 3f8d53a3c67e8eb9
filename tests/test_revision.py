"""The revision search: it only ever keeps improvements under the same random numbers, and a
revised COA keeps its scheme, phases and citations."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import decision_context

from doctrine import default_index
from planner.coa import COADraft, EffortDraft, PhaseDraft, TaskDraft
from planner.decide import Wargame
from planner.revision import revise
from planner.validation import finalize_drafts

WEIGHTS = {"p_success": 0.45, "attainment": 0.25, "own_survival": 0.2, "enemy_loss": 0.1}
REPLICATIONS = 4


@pytest.fixture(scope="module")
def setting(tutorial):
    ctx = decision_context(tutorial, "blue")
    # A poor plan: the whole brigade falls back on Tallinn and leaves Johvi and Rakvere open.
    draft = COADraft(
        name="Fall back on Tallinn",
        concept="Everything withdraws to the capital.",
        form_of_maneuver="withdrawal",
        phases=[
            PhaseDraft(
                name="Withdrawal",
                tasks=[
                    TaskDraft(unit=e.id, action="defend", target="tallinn", purpose="hold tallinn")
                    for e in ctx.elements
                ],
            )
        ],
        main_effort=EffortDraft(role="main", elements=[ctx.elements[0].id], axis=["tallinn"]),
    )
    coas, _ = finalize_drafts([draft], ctx, "doctrine")
    game = Wargame(tutorial, ctx.believed, ctx.analysis, until=24, seed=3, weights=WEIGHTS)
    return ctx, coas[0], game


def _mean(game: Wargame, coa) -> float:
    per_course = game.run([coa], 0, REPLICATIONS)[0]
    return float(np.mean(game.utilities(per_course))) - game.penalty(per_course)


def test_revision_never_scores_below_where_it_started(setting):
    ctx, start, game = setting
    revised = revise(start, ctx, game, replications=REPLICATIONS, rounds=2)
    assert revised is not None, "the search found nothing better than abandoning the objectives"
    steps = revised.revisions
    assert steps and all(s.utility_after > s.utility_before for s in steps)
    assert all(a.utility_after == b.utility_before for a, b in zip(steps, steps[1:], strict=False))
    # Re-run both on the same replications (common random numbers): exactly the recorded values.
    assert _mean(game, start) == pytest.approx(steps[0].utility_before, abs=1e-6)
    assert _mean(game, revised) == pytest.approx(steps[-1].utility_after, abs=1e-6)


def test_a_revised_coa_keeps_its_structure_and_citations(setting):
    ctx, start, game = setting
    revised = revise(start, ctx, game, replications=REPLICATIONS, rounds=1)
    assert revised is not None
    assert revised.form_of_maneuver == start.form_of_maneuver
    assert [p.name for p in revised.phases] == [p.name for p in start.phases]
    assert revised.revised_from == start.id and revised.id != start.id
    index = default_index()
    assert all(t.citations and all(c in index for c in t.citations) for t in revised.tasks)
    moved = {(t.unit, t.target) for t in revised.tasks} - {(t.unit, t.target) for t in start.tasks}
    assert moved  # it changed somebody's task
