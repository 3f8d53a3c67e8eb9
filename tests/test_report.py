"""HTML and PDF after-action reports: content, escaping of scenario text, and the PDF itself."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest

from planner.aar import render_markdown
from planner.campaign import run_campaign
from planner.record import AfterActionRecord, LogisticsRow
from planner.report import (
    decision_rows,
    render_html,
    side_colors,
    strength_rows,
    write_pdf,
    write_reports,
)
from sim.scenario import Scenario

PAYLOAD = "<script>alert(1)</script>"


@pytest.fixture(scope="module")
def scenario(tutorial: Scenario) -> Scenario:
    """The tutorial scenario (conftest)."""
    return tutorial


@pytest.fixture(scope="module")
def aar(scenario: Scenario, tmp_path_factory: pytest.TempPathFactory) -> AfterActionRecord:
    """A real two-cycle AAR of the tutorial (doctrine index cached in a temporary folder)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OODA_FORGE_CACHE", str(tmp_path_factory.mktemp("cache")))
        return run_campaign(scenario, cycles=2, replications=3)


@pytest.fixture(scope="module")
def page(aar: AfterActionRecord, scenario: Scenario) -> str:
    """The HTML report of that AAR."""
    return render_html(aar, scenario)


@pytest.fixture(scope="module")
def hostile_aar(aar: AfterActionRecord) -> AfterActionRecord:
    """The AAR with a script tag planted in every kind of free text the report shows."""
    bad = aar.model_copy(deep=True)
    bad.scenario.name = PAYLOAD
    bad.scenario.summary = PAYLOAD
    bad.sides[0].name = PAYLOAD
    plan = next(iter(bad.cycles[0].plans.values()))
    for coa in plan.coas:
        coa.name = PAYLOAD
        coa.summary = PAYLOAD
        for task in coa.tasks:
            task.purpose = PAYLOAD
    plan.notes = [PAYLOAD]
    for cited in bad.doctrine_cited:
        cited.title = PAYLOAD
    for finding in bad.assessment.findings:
        finding.text = PAYLOAD
    return bad


def test_html_names_scenario_coas_and_selection(page: str, aar: AfterActionRecord) -> None:
    assert html.escape(aar.scenario.name) in page
    rows = decision_rows(aar)
    assert rows
    for row in rows:
        assert f"<code>{row['coa']}</code>" in page
    for cycle in aar.cycles:
        for plan in cycle.plans.values():
            selected = re.escape(plan.selected_coa)
            assert re.search(rf'<tr class="selected">\s*<td>★</td>\s*<td><code>{selected}<', page)


def test_reports_state_each_decisions_selection(page: str, aar: AfterActionRecord) -> None:
    markdown = render_markdown(aar)
    plans = [plan for cycle in aar.cycles for plan in cycle.plans.values()]
    assert plans
    for plan in plans:
        selection = plan.selection
        assert selection.procedure == "KN++" and selection.reference in markdown
        # The runs each COA shows are the replications its selection rests on; a COA missing
        # from the final selection (run again after the revision) fell out of the first one.
        runs = {c.id: c.scores.replications for c in plan.coas if c.scores}
        assert set(selection.replications) <= set(runs)
        for coa in plan.coas:
            if coa.id in selection.replications:
                assert runs[coa.id] == selection.replications[coa.id]
            elif coa.scores:
                assert coa.scores.eliminated
        for text in (page, markdown):
            assert f"stopped: {selection.stopped}" in text
            assert html.escape(selection.guarantee) in text or selection.guarantee in text


def test_html_has_outcome_doctrine_stats_chart_and_map(page: str, aar: AfterActionRecord) -> None:
    assert 'id="verdict"' in page and "Outcome" in page
    for cited in aar.doctrine_cited:
        assert f'id="doctrine-{cited.id}"' in page
    assert "Run statistics" in page and f"{aar.stats.replications}</td>" in page
    assert 'id="strength-chart"' in page and "Plotly.newPlot" in page
    assert 'id="theater-map"' in page and "Jõhvi" in page


def test_html_is_self_contained(page: str) -> None:
    assert not re.search(r"<script[^>]*\ssrc=", page)
    markup = re.sub(r"<script>.*?</script>", "", page, flags=re.S)  # inline code: plotly.js
    assert not re.search(r"<link\b", markup)
    assert not re.search(r"""(?:src|href|url)[=(]["']?(?:https?:)?//""", markup)


def test_map_only_with_scenario(aar: AfterActionRecord) -> None:
    assert 'id="theater-map"' not in render_html(aar)


def test_scenario_and_model_text_is_escaped(
    hostile_aar: AfterActionRecord, scenario: Scenario
) -> None:
    page = render_html(hostile_aar, scenario)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert" not in page
    assert "</script>alert" not in page  # nor a closed tag inside the chart's JSON


def test_markdown_makes_scenario_and_model_text_inert(hostile_aar: AfterActionRecord) -> None:
    text = render_markdown(hostile_aar)
    assert text.startswith("# After-action report: &lt;script>alert(1)&lt;/script>")
    assert "<script" not in text and "</script" not in text
    assert text.count("&lt;script>") >= 4  # title, summary, COA names, notes, findings


def test_unsafe_side_colour_is_replaced(scenario: Scenario) -> None:
    sides = [scenario.sides[0].model_copy(update={"color": "red;background:url(x)"})]
    sides.append(scenario.sides[1])
    colors = side_colors([s.id for s in sides], scenario.model_copy(update={"sides": sides}))
    assert all(re.fullmatch(r"#[0-9a-fA-F]{6}", c) for c in colors.values())
    assert colors[sides[1].id] == sides[1].color


def test_strength_rows_start_at_h0_and_follow_cycles(aar: AfterActionRecord) -> None:
    rows = strength_rows(aar)
    sides = set(aar.outcome.initial_strength)
    assert {r["side"] for r in rows if r["hour"] == 0} == sides
    assert len(rows) == len(sides) * (1 + len(aar.cycles))
    assert max(r["hour"] for r in rows) == aar.cycles[-1].end_hour


def test_pdf_has_scenario_name_and_winner(
    aar: AfterActionRecord, scenario: Scenario, tmp_path: Path
) -> None:
    from pypdf import PdfReader

    paths = write_reports(aar, tmp_path, scenario)
    assert set(paths) == {"html", "pdf"}
    assert paths["pdf"].read_bytes().startswith(b"%PDF")
    text = "\n".join(page.extract_text() for page in PdfReader(paths["pdf"]).pages)
    assert aar.scenario.name in text
    winner = aar.outcome.winner
    names = {side.id: side.name for side in aar.sides}
    assert "Winner:" in text
    assert (f"{names[winner]} ({winner})" if winner else "none") in " ".join(text.split())


def test_pdf_of_hostile_text_renders_it_as_text(
    hostile_aar: AfterActionRecord, scenario: Scenario, tmp_path: Path
) -> None:
    from pypdf import PdfReader

    path = write_pdf(hostile_aar, tmp_path / "bad.pdf", scenario)
    text = PdfReader(path).pages[0].extract_text()
    assert PAYLOAD in text


def test_unknown_format_is_rejected(aar: AfterActionRecord, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="docx"):
        write_reports(aar, tmp_path, formats=("html", "docx"))


def test_logistics_table_counts_convoys_by_fate(aar: AfterActionRecord, scenario: Scenario) -> None:
    from sim.outcome import logistics_summary
    from sim.state import ConvoyState, initial_state

    world = initial_state(scenario)
    fates = [
        "delivered",
        "delivered",
        "destroyed by air interdiction",
        "destroyed by enemy ground forces",
    ]
    for n, result in enumerate(fates):
        world.logistics_log.append(
            {
                "hour": n,
                "convoy": f"blue-convoy-{n}",
                "side": "blue",
                "unit": "x",
                "place": "narva",
                "result": result,
                "cargo": 0.25,
            }
        )
    world.convoys["red-convoy-9"] = ConvoyState("red-convoy-9", "red", "y", 0.5, "narva")
    summary = logistics_summary(scenario, world)
    assert summary["blue"] == {
        "sent": 4,
        "delivered": 2,
        "lost_to_ground": 1,
        "lost_to_air": 1,
        "undelivered": 0,
        "on_the_road": 0,
        "loads_delivered": 0.5,
    }
    assert summary["red"]["sent"] == 1 and summary["red"]["on_the_road"] == 1
    with_logistics = aar.model_copy(deep=True)
    with_logistics.outcome.logistics = {
        side: LogisticsRow.model_validate(row) for side, row in summary.items()
    }
    page = render_html(with_logistics, scenario)
    section = page[page.index("<h2>Logistics</h2>") :]
    cells = re.findall(r'<td class="num">([^<]*)</td>', section.split("</table>")[0])
    assert cells[:5] == ["4", "2", "1", "1", "0.5"]
