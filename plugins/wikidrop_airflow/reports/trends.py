"""Each edition's quality over time: Vega-Lite charts and CSV/JSON series, from its RunSummaries.

Every number comes from the runs' own summaries in the reports bucket
(``wikidrop.quality.run_summary``); nothing is recomputed here. One chart per question an analyst
asks of an edition, a point per run (snapshot runs as circles, nightly runs as triangles, each on
its own line) linking to that run's Data Docs, and the run's threshold drawn as a dashed red line
where the suites apply one to that number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wikidrop.layout import report_site_prefix
from wikidrop.quality.run_summary import QualityMetrics, RunSummary

THRESHOLD_COLOR = "#cf222e"
KIND_SHAPES = {"snapshot": "circle", "nightly": "triangle-up"}
KIND_LEGEND = {"title": "run", "orient": "bottom"}


@dataclass(frozen=True)
class TrendChart:
    """One chart: its metrics (``QualityMetrics`` fields) as labelled series, and its threshold key."""

    id: str
    title: str
    series: tuple[tuple[str, str], ...]
    value_format: str = ",.0f"
    threshold: str | None = None
    per_reason: bool = False  # also one series per dead-letter reason
    zero: bool = True  # counts and lengths start where the data is, so drift shows


TREND_CHARTS = (
    TrendChart("articles", "Articles", (("articles", "articles"),), zero=False),
    TrendChart(
        "redirects", "Redirects (folded into their targets)", (("redirects", "redirects"),), zero=False
    ),
    TrendChart(
        "dead_letter_ratio",
        "Dead-letter ratio, all reasons and by reason",
        (("dead_letter_ratio", "all reasons"),),
        ".2%",
        "max_dead_letter_ratio",
        per_reason=True,
    ),
    TrendChart(
        "text_length",
        "Text length in characters: median and 10th percentile",
        (("text_chars_median", "median"), ("text_chars_p10", "10th percentile")),
        zero=False,
    ),
    TrendChart(
        "residue",
        "Markup residue per 10,000 characters of text (mean)",
        (("residue_per_10k_mean", "residue"),),
        ".3f",
        "max_markup_residue_per_10k",
    ),
    TrendChart("stubs", "Stubs (share of articles)", (("stub_share", "stubs"),), ".1%"),
    TrendChart(
        "script_share",
        "Letters in the edition's scripts (mean share)",
        (("script_share_mean", "script share"),),
        ".1%",
        "min_script_share",
    ),
    TrendChart(
        "coverage",
        "Articles with an infobox, a table, references",
        (
            ("infobox_coverage", "infoboxes"),
            ("table_coverage", "tables"),
            ("reference_coverage", "references"),
        ),
        ".0%",
    ),
)
# Export columns: run identity, result, then every metric (dead-letter reasons and thresholds appended
# per edition), then the run's Data Docs and drill-down (links relative to the reports view's root).
RUN_COLUMNS = ("dbname", "kind", "dump_date", "run_id", "success", "critical_failures", "warnings")
METRIC_COLUMNS = tuple(name for name in QualityMetrics.model_fields if name != "dead_letter_ratio_by_reason")


def iso_day(yyyymmdd: str) -> str:
    return f"{yyyymmdd[:4]}-{yyyymmdd[4:6]}-{yyyymmdd[6:]}"


def report_link(run: RunSummary) -> str:
    """The run's Data Docs, relative to the app's root (``/wikidrop-reports/``)."""
    return f"{report_site_prefix(run.dbname, run.dump_date, run.run_dir)}/index.html"


def details_link(run: RunSummary) -> str:
    """The run's drill-down page, relative to the app's root."""
    return f"details/{report_site_prefix(run.dbname, run.dump_date, run.run_dir)}"


def chart_series(chart: TrendChart, run: RunSummary, reasons: Sequence[str] = ()) -> list[tuple[str, Any]]:
    """``(series label, value)`` of one run on one chart; ``reasons``: every dead-letter reason of
    the edition's runs (a run without dead letters of a reason had a ratio of 0 for it)."""
    metrics = run.metrics.model_dump()
    series = [(label, metrics[field]) for field, label in chart.series]
    if chart.per_reason and run.metrics.dead_letter_ratio is not None:
        by_reason = run.metrics.dead_letter_ratio_by_reason
        series += [(f"reason: {reason}", by_reason.get(reason, 0.0)) for reason in reasons]
    return series


def chart_rows(chart: TrendChart, runs: Sequence[RunSummary], link_prefix: str) -> list[dict[str, Any]]:
    """The data of one chart: one row per run and series that has a value (nulls are not drawn)."""
    rows = []
    reasons = sorted({reason for run in runs for reason in run.metrics.dead_letter_ratio_by_reason})
    for run in runs:
        series = chart_series(chart, run, reasons)
        for index, (label, value) in enumerate(series):
            if value is None:
                continue
            rows.append(
                {
                    "day": iso_day(run.dump_date),  # Vega-Lite parses it into a date (the x axis)
                    "date": iso_day(run.dump_date),  # kept as text, for labels
                    "kind": run.kind,
                    "run": run.run_id,
                    "series": label,
                    "value": value,
                    # drawn once per run, with the chart's first series
                    "threshold": run.thresholds.get(chart.threshold)
                    if chart.threshold and index == 0
                    else None,
                    "result": "passed" if run.success else "failed",
                    "href": link_prefix + report_link(run),
                }
            )
    return rows


def chart_spec(chart: TrendChart, runs: Sequence[RunSummary], link_prefix: str = "") -> dict[str, Any]:
    """A Vega-Lite spec with its data inline (the page fetches nothing: CSP allows only this origin)."""
    x = {"field": "day", "type": "temporal", "title": None, "axis": {"format": "%Y-%m-%d", "labelAngle": -30}}
    y = {
        "field": "value",
        "type": "quantitative",
        "title": None,
        "axis": {"format": chart.value_format},
        "scale": {"zero": chart.zero},
    }
    color = {"field": "series", "type": "nominal", "legend": {"title": None, "orient": "bottom"}}
    kind_dash = {
        "field": "kind",
        "type": "nominal",
        "scale": {"domain": list(KIND_SHAPES), "range": [[1, 0], [4, 3]]},
        "legend": KIND_LEGEND,  # merged with the points' shape legend (same field)
    }
    layers: list[dict[str, Any]] = [
        {
            "mark": {"type": "line", "strokeWidth": 2},
            "encoding": {"x": x, "y": y, "color": color, "strokeDash": kind_dash},
        },
        {
            "mark": {"type": "point", "filled": True, "size": 70, "cursor": "pointer"},
            "encoding": {
                "x": x,
                "y": y,
                "color": color,
                "shape": {
                    "field": "kind",
                    "type": "nominal",
                    "scale": {"domain": list(KIND_SHAPES), "range": list(KIND_SHAPES.values())},
                    "legend": KIND_LEGEND,
                },
                "href": {"field": "href"},
                "description": {"field": "label"},
                "tooltip": [
                    {"field": "date", "title": "date"},
                    {"field": "kind", "title": "run kind"},
                    {"field": "series"},
                    {"field": "value", "type": "quantitative", "format": chart.value_format},
                    {"field": "result"},
                    {"field": "run", "title": "run id"},
                ],
            },
        },
    ]
    if chart.threshold:
        layers.append(
            {
                "transform": [{"filter": "datum.threshold != null"}],
                "mark": {"type": "line", "color": THRESHOLD_COLOR, "strokeDash": [6, 4], "strokeWidth": 1.5},
                "encoding": {"x": x, "y": {**y, "field": "threshold"}, "detail": {"field": "kind"}},
            }
        )
    return {
        "$schema": "https://vega.github.io/schema/vega-lite/v5.json",
        "description": chart.title,
        "width": "container",
        "height": 170,
        "data": {"values": chart_rows(chart, runs, link_prefix)},
        # what screen readers (and the render test) read from each drawn point: the exact value
        "transform": [
            {
                "calculate": "datum.series + ' | ' + datum.date + ' | ' + datum.kind + ' | ' + datum.value",
                "as": "label",
            }
        ],
        "layer": layers,
        "config": {"view": {"stroke": None}, "axis": {"labelFontSize": 11}},
    }


def export_columns(runs: Sequence[RunSummary]) -> list[str]:
    reasons = sorted({r for run in runs for r in run.metrics.dead_letter_ratio_by_reason})
    thresholds = sorted({t for run in runs for t in run.thresholds})
    return [
        *RUN_COLUMNS,
        *METRIC_COLUMNS,
        *(f"dead_letter_ratio.{r}" for r in reasons),
        *(f"threshold.{t}" for t in thresholds),
        "report",
        "drilldown",
    ]


def export_rows(runs: Sequence[RunSummary]) -> list[dict[str, Any]]:
    """One flat row per run, oldest first (what the CSV holds, and the JSON's ``runs``)."""
    rows = []
    for run in runs:
        metrics = run.metrics.model_dump()
        rows.append(
            {
                "dbname": run.dbname,
                "kind": run.kind,
                "dump_date": run.dump_date,
                "run_id": run.run_id,
                "success": run.success,
                "critical_failures": run.counts.get("critical_failures"),
                "warnings": run.counts.get("warnings"),
                **{name: metrics[name] for name in METRIC_COLUMNS},
                **{f"dead_letter_ratio.{r}": v for r, v in run.metrics.dead_letter_ratio_by_reason.items()},
                **{f"threshold.{t}": v for t, v in run.thresholds.items()},
                "report": report_link(run),
                "drilldown": details_link(run),
            }
        )
    return rows


def export_csv(runs: Sequence[RunSummary]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=export_columns(runs), lineterminator="\n")
    writer.writeheader()
    writer.writerows(export_rows(runs))
    return buffer.getvalue()
