"""The batch report: summary table per cell, plots with 95 % intervals, failed runs; HTML and PDF.

Everything comes from the batch store. Plots are matplotlib PNGs (also written to ``plots/``),
embedded in the page as ``data:`` URLs, so the HTML is self-contained and the PDF (WeasyPrint,
which may fetch only ``data:`` URLs here) needs no network. The template autoescapes: scenario
names, override values and error messages are never marked safe.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from planner.aar import write_atomic
from planner.batch.store import BatchStore, PlannedRun
from planner.batch.summary import CellSummary, Estimate, summarize

__all__ = ["BATCH_FORMATS", "plot_axis", "write_batch_report", "write_plots"]

BATCH_FORMATS = ("html", "pdf")
TEMPLATE = "batch.html.j2"
COLORS = ("#1f5fbf", "#c0392b", "#2e8b57", "#8e44ad", "#d35400", "#16a085")


def plot_axis(summaries: Sequence[CellSummary], preferred: str | None = None) -> str | None:
    """The override path for the x axis: `preferred`, else the first one swept over numbers."""
    paths = list(dict.fromkeys(p for s in summaries for p in s.overrides))
    if preferred in paths:
        return preferred
    for path in paths:
        values = [s.overrides.get(path) for s in summaries]
        if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
            return path
    return None


def _series(
    summaries: Sequence[CellSummary], x: str | None
) -> dict[str, list[tuple[Any, CellSummary]]]:
    """Cells grouped into lines: same scenario and same values of every other override."""
    lines: dict[str, list[tuple[Any, CellSummary]]] = {}
    for index, cell in enumerate(summaries):
        rest = {k: v for k, v in cell.overrides.items() if k != x}
        name = " ".join([cell.scenario] + [f"{k}={json.dumps(v)}" for k, v in rest.items()])
        lines.setdefault(name, []).append((cell.overrides[x] if x else index, cell))
    return {name: sorted(points, key=lambda p: p[0]) for name, points in lines.items()}


def _panels(summaries: Sequence[CellSummary]) -> list[tuple[str, str, Any]]:
    """(file stem, y label, getter of an Estimate per (cell, side index)) of each plot."""

    def wins(cell: CellSummary, k: int) -> Estimate | None:
        return cell.sides[k].wins if k < len(cell.sides) else None

    def losses(cell: CellSummary, k: int) -> Estimate | None:
        return cell.sides[k].loss_fraction if k < len(cell.sides) else None

    def exchange(cell: CellSummary, k: int) -> Estimate | None:
        return cell.exchange_ratio if k == 0 else None

    return [
        ("wins", "share of runs won (95 % Wilson)", wins),
        ("losses", "share of strength lost (95 % t)", losses),
        ("exchange", "exchange ratio (95 % t)", exchange),
    ]


def plot_pngs(summaries: Sequence[CellSummary], x: str | None) -> dict[str, bytes]:
    """The batch plots as PNG bytes, by name (wins, losses, exchange)."""
    from matplotlib.figure import Figure

    lines = _series(summaries, x)
    pngs = {}
    for stem, label, estimate in _panels(summaries):
        figure = Figure(figsize=(6.4, 2.9), dpi=110, layout="constrained")
        axes = figure.add_subplot()
        drawn = 0
        for n, (name, points) in enumerate(lines.items()):
            for k in range(2):
                shown = [(px, estimate(cell, k), cell) for px, cell in points]
                shown = [
                    (px, e, cell) for px, e, cell in shown if e is not None and e.value is not None
                ]
                if not shown:
                    continue
                side = shown[0][2].sides[k].side if k < len(shown[0][2].sides) else ""
                values = [e.value for _, e, _ in shown]
                # max(0, ...): a Wilson bound at 0 or 1 can sit a rounding error past the share.
                below = [max(0.0, e.value - _or(e.low, e.value)) for _, e, _ in shown]
                above = [max(0.0, _or(e.high, e.value) - e.value) for _, e, _ in shown]
                axes.errorbar(
                    [px for px, _, _ in shown],
                    values,
                    yerr=[below, above],
                    marker="o",
                    capsize=3,
                    color=COLORS[(2 * n + k) % len(COLORS)],
                    linestyle="-" if k == 0 else "--",
                    label=f"{name} · {side}" if stem != "exchange" else name,
                )
                drawn += 1
        axes.set_xlabel(x or "cell")
        axes.set_ylabel(label, fontsize=8)
        axes.grid(alpha=0.3)
        if x is None:
            axes.set_xticks(range(len(summaries)))
        if drawn:
            axes.legend(fontsize=7)
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        pngs[stem] = buffer.getvalue()
    return pngs


def _or(bound: float | None, value: float) -> float:
    return value if bound is None else bound


def write_plots(folder: Path, summaries: Sequence[CellSummary], x: str | None) -> dict[str, Path]:
    """Write the plots to ``folder/plots/*.png``; returns their paths."""
    target = Path(folder) / "plots"
    target.mkdir(parents=True, exist_ok=True)
    paths = {}
    for stem, png in plot_pngs(summaries, x).items():
        paths[stem] = target / f"{stem}.png"
        paths[stem].write_bytes(png)
    return paths


@cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).resolve().parents[1] / "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _context(store: BatchStore, *, pdf: bool) -> dict[str, Any]:
    meta = store.meta()
    results: list[PlannedRun] = store.results()
    summaries = summarize(results)
    x = plot_axis(summaries, _preferred_axis(meta.get("spec_text", "")))
    pngs = plot_pngs(summaries, x) if summaries else {}
    return {
        "pdf": pdf,
        "name": meta.get("spec_name", store.folder.name),
        "spec_text": meta.get("spec_text", ""),
        "planned": store.planned_count(),
        "stored": len(results),
        "done": sum(r.status == "done" for r in results),
        "failed_runs": [r for r in results if r.status == "failed"],
        "cells": summaries,
        "plots": {stem: base64.b64encode(png).decode("ascii") for stem, png in pngs.items()},
        "x": x,
        "runs": results,
    }


def _preferred_axis(spec_text: str) -> str | None:
    import yaml

    try:
        data = yaml.safe_load(spec_text) or {}
    except yaml.YAMLError:
        return None
    plot = data.get("plot") if isinstance(data, dict) else None
    return plot.get("x") if isinstance(plot, dict) else None


def render_batch_html(store: BatchStore, *, pdf: bool = False) -> str:
    """The batch report of a store as one self-contained HTML page."""
    return _environment().get_template(TEMPLATE).render(**_context(store, pdf=pdf))


def write_batch_report(
    folder: str | Path, formats: Sequence[str] = BATCH_FORMATS
) -> dict[str, Path]:
    """Write batch_report.html and/or batch_report.pdf into a batch folder; returns the paths.

    Raises:
        FileNotFoundError: the folder holds no batch store.
        ValueError: a format other than html or pdf.
    """
    unknown = sorted(set(formats) - set(BATCH_FORMATS))
    if unknown:
        raise ValueError(f"unknown report format(s) {unknown}; choose from {list(BATCH_FORMATS)}")
    folder = Path(folder)
    paths: dict[str, Path] = {}
    with BatchStore.open_existing(folder) as store:
        if "html" in formats:
            paths["html"] = write_atomic(folder / "batch_report.html", render_batch_html(store))
        if "pdf" in formats:
            from weasyprint import HTML
            from weasyprint.urls import URLFetcher

            html = render_batch_html(store, pdf=True)
            paths["pdf"] = folder / "batch_report.pdf"
            fetcher = URLFetcher(allowed_protocols=("data",))
            HTML(string=html, url_fetcher=fetcher).write_pdf(paths["pdf"])
    return paths
