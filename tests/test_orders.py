"""Orders: OPORD paragraph 3 and the synchronisation matrix of a COA."""

from __future__ import annotations

from conftest import decision_context

from planner.orders import write_orders
from planner.schemes import DoctrineDrafter
from planner.validation import finalize_drafts
from scenarios import resolve_scenario
from sim.scenario import load_scenario


def _coas(name: str, side: str):
    scenario = load_scenario(resolve_scenario(name))
    ctx = decision_context(scenario, side)
    coas, _ = finalize_drafts(DoctrineDrafter().draft(ctx), ctx, "doctrine")
    assert coas
    return scenario, ctx, coas


def test_the_synchronisation_matrix_covers_every_tasked_formation():
    scenario, ctx, coas = _coas("baltic_corps", "blue")
    wings = {u.id for u in ctx.air_units}
    for coa in coas:
        orders = write_orders(coa, scenario)
        assert len(orders.columns) == len(coa.phases)
        rows = {row.element for row in orders.synchronisation if row.kind == "formation"}
        tasked = {t.unit for p in coa.phases for t in p.tasks if t.unit not in wings}
        assert tasked and rows == tasked
        assert all(len(row.cells) == len(coa.phases) for row in orders.synchronisation)
        assert any(row.kind == "air" for row in orders.synchronisation)
        assert any(row.kind == "fires" for row in orders.synchronisation)


def test_paragraph_three_states_concept_tasks_reserve_and_coordination(tutorial):
    _, _, coas = _coas("tutorial", "blue")
    with_reserve = next(c for c in coas if c.reserve is not None)
    orders = write_orders(with_reserve, tutorial)
    assert with_reserve.name in orders.concept_of_operations
    assert "Main effort:" in orders.concept_of_operations
    assert orders.reserve.startswith("Reserve:") and with_reserve.reserve.position in orders.reserve
    assert any("kingisepp" in line for line in orders.coordinating_instructions)
    assert any("50%" in line for line in orders.coordinating_instructions)  # the loss limit
    named = {sub["element"] for sub in orders.tasks_to_subordinates}
    assert named == {t.unit for p in with_reserve.phases for t in p.tasks}
