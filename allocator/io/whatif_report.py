"""A what-if study's comparison as files a commissioner can open: CSV tables, a JSON document,
two charts and one HTML page that holds them all (charts embedded, so the page travels alone).
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from allocator.io.folders import write_folder
from allocator.io.market_plots import save_png
from allocator.whatif.compare import Comparison
from allocator.whatif.study import Study

UNMET_CHART = "unmet_hours.png"
SWEEP_CHART = "sweeps.png"
PAGE = "report.html"


@dataclass(frozen=True)
class SweepPoint:
    """Where a variant sits on its sweep: the scenario swept, the change, and the scale."""

    sweep: str
    change: str
    scale: float


def sweep_points(study: Study) -> dict[str, SweepPoint]:
    """Each swept variant's name, with the sweep it belongs to and its scale."""
    return {
        name: SweepPoint(what_if.name, what_if.sweep.change, scale)
        for what_if in study.scenarios
        if what_if.sweep is not None
        for name, scale in zip(what_if.variant_names(), what_if.sweep.scales(), strict=True)
    }


def write_whatif_report(
    out_dir: Path,
    study_name: str,
    comparison: Comparison,
    sweeps: dict[str, SweepPoint],
    record: dict[str, str],
) -> list[Path]:
    """Write every file into `out_dir` (replacing it whole); `sweeps` maps variant names to
    their place on a sweep; `record` says how the study was run (shown on the page)."""

    def fill(folder: Path) -> None:
        comparison.scenarios.to_csv(folder / "comparison.csv", index=False)
        comparison.by_zone_band.to_csv(folder / "by_zone_band.csv", index=False)
        comparison.affected.to_csv(folder / "affected.csv", index=False)
        document = {
            "study": study_name,
            "run": record,
            "scenarios": json.loads(comparison.scenarios.to_json(orient="records")),
        }
        (folder / "comparison.json").write_text(json.dumps(document, indent=2) + "\n", "utf-8")
        save_png(unmet_chart(comparison.scenarios, study_name), folder / UNMET_CHART)
        charts = [UNMET_CHART]
        if sweeps:
            save_png(sweep_chart(comparison.scenarios, sweeps), folder / SWEEP_CHART)
            charts.append(SWEEP_CHART)
        (folder / PAGE).write_text(_page(folder, study_name, comparison, charts, record), "utf-8")

    return write_folder(out_dir, fill)


def unmet_chart(scenarios: pd.DataFrame, title: str, base: bool = True) -> Figure:
    """Unmet carer hours a week per scenario, the first (the base) also as a line unless `base`
    is False (books that are not variants of one); failed scenarios named."""
    solved = scenarios[scenarios["status"] == "solved"]
    height = 1.5 + 0.28 * len(scenarios)
    figure = Figure(figsize=(9, height))
    ax = figure.add_subplot()
    labels = list(scenarios["scenario"])
    values = [0.0 if v is None or pd.isna(v) else float(v) for v in scenarios["unmet_hours"]]
    colours = [
        "#999999" if status == "failed" else ("#1f4e79" if i == 0 and base else "#5b9bd5")
        for i, status in enumerate(scenarios["status"])
    ]
    ax.barh(range(len(labels)), values, color=colours)
    ax.set_yticks(range(len(labels)), [_short(s) for s in labels], fontsize=8)
    ax.invert_yaxis()
    if base and len(solved):
        ax.axvline(float(solved.iloc[0]["unmet_hours"]), color="#c00000", linewidth=1)
    for i, status in enumerate(scenarios["status"]):
        if status == "failed":
            ax.text(0, i, "  failed", va="center", fontsize=8, color="#c00000")
    ax.set_xlabel("unmet carer hours a week" + (" (red line: the base book)" if base else ""))
    ax.set_title(title, loc="left", fontsize=10)
    figure.tight_layout()
    return figure


def sweep_chart(scenarios: pd.DataFrame, sweeps: dict[str, SweepPoint]) -> Figure:
    """Placed and unmet carer hours against each sweep's scale, one panel per sweep (the base
    book, the first row, at x1.00)."""
    rows = scenarios[scenarios["scenario"].isin(sweeps) & (scenarios["status"] == "solved")]
    first = scenarios.iloc[0]
    base = first if first["status"] == "solved" else None
    names = sorted({sweeps[s].sweep for s in rows["scenario"]})
    figure = Figure(figsize=(5 * max(len(names), 1), 3.6))
    for n, name in enumerate(names, start=1):
        ax = figure.add_subplot(1, len(names), n)
        mine = rows[[sweeps[s].sweep == name for s in rows["scenario"]]]
        points = [
            (sweeps[s].scale, row)
            for s, (_, row) in zip(mine["scenario"], mine.iterrows(), strict=True)
        ]
        if base is not None and all(scale != 1.0 for scale, _ in points):
            points.append((1.0, base))  # the base book is every sweep's x1.00
        points.sort(key=lambda point: point[0])
        for measure, colour in (("placed_hours", "#1f4e79"), ("unmet_hours", "#c00000")):
            ax.plot(
                [scale for scale, _ in points],
                [float(row[measure]) for _, row in points],
                marker="o",
                color=colour,
                label=measure.replace("_", " "),
            )
        change = sweeps[mine.iloc[0]["scenario"]].change
        ax.set_xlabel(f"{change} scale")
        ax.set_ylabel("carer hours a week")
        ax.set_title(_short(name), loc="left", fontsize=10)
        ax.legend(fontsize=8)
    figure.tight_layout()
    return figure


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _page(
    folder: Path, study_name: str, comparison: Comparison, charts: list[str], record: dict
) -> str:
    table = comparison.scenarios.drop(columns=["number"]).to_html(
        index=False, na_rep="", float_format=lambda v: f"{v:,.2f}", border=0
    )
    affected = (
        comparison.affected.groupby(["scenario", "change"]).size().unstack(fill_value=0)
        if len(comparison.affected)
        else pd.DataFrame()
    )
    images = "".join(
        f'<img alt="{html.escape(c)}" src="data:image/png;base64,'
        f'{base64.b64encode((folder / c).read_bytes()).decode()}">'
        for c in charts
    )
    run = "; ".join(f"{html.escape(k)}: {html.escape(str(v))}" for k, v in record.items())
    rushed = int(comparison.scenarios["reproducible"].eq(False).sum())  # None: failed, unknown
    warning = (
        f"<p><strong>{rushed} solves stopped on the clock</strong> before their deterministic "
        "work was done, so a rerun may differ: treat small differences from the base as noise, "
        "or rerun with a longer time limit.</p>"
        if rushed
        else ""
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(study_name)}</title>
<style>
body {{ font-family: sans-serif; margin: 2em; color: #222; }}
table {{ border-collapse: collapse; font-size: 0.85em; }}
th, td {{ padding: 0.2em 0.6em; border-bottom: 1px solid #ddd; text-align: right; }}
th:first-child, td:first-child {{ text-align: left; }}
img {{ max-width: 100%; display: block; margin: 1em 0; }}
</style></head><body>
<h1>{html.escape(study_name)}</h1>
<p>Each scenario is a full solve of the base book with its changes, compared with the base
book's own plan from the same run. Changes are against the base; "people affected" counts everyone
a scenario displaces, moves, places or leaves unplaced compared with the base plan
(<code>affected.csv</code> names them).</p>
{warning}
{images}
<h2>Scenarios</h2>
{table}
<h2>People affected, by kind of change</h2>
{affected.to_html(border=0) if len(affected) else "<p>No one.</p>"}
<p><small>{run}</small></p>
</body></html>
"""
