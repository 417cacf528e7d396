"""The RunSummary: what one validated run leaves in the reports bucket for analysts.

One small JSON object per run (``layout.run_summary_name``), written by the validate gate of a
snapshot run and, with ``kind: nightly``, by the nightly validation: the run's result, its counts,
the quality metrics its charts plot and the thresholds in force. The reports view lists runs, draws
each edition's trends and exports its series from these objects alone: nothing is recomputed from
records when an analyst opens a page.

The metrics come from the checks themselves: each articles-shard check reduces its frame to
``shard_measures`` (sums, counts, a quantile sketch of text lengths: small, mergeable), and
``run_metrics`` merges them with the run level's counts. A metric the records cannot give (a field
the parse job does not write yet, e.g. ``tables`` before it exists) is null, never zero.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from wikidrop.layout import DUMP_DATE_RE, run_summary_name
from wikidrop.quality.quantiles import QuantileSketch

if TYPE_CHECKING:
    import pandas as pd

RUN_SUMMARY_VERSION = 1
RunKind = Literal["snapshot", "nightly"]
# Coverage metric of each frame flag (``article_quality.COVERAGE_FIELDS``): share of articles with the field.
COVERAGE_METRICS = {
    "has_infobox": "infobox_coverage",
    "has_table": "table_coverage",
    "has_reference": "reference_coverage",
}


class QualityMetrics(BaseModel):
    """The numbers the trends view plots for one run (null: not measurable for this run)."""

    model_config = ConfigDict(extra="forbid")

    articles: int | None = None
    redirects: int | None = None
    pages_read: int | None = None
    dead_lettered: int | None = None
    dead_letter_ratio: float | None = Field(None, description="dead_lettered / (articles + dead_lettered)")
    dead_letter_ratio_by_reason: dict[str, float] = Field(
        default_factory=dict, description="the same ratio per dead-letter reason (stats.json)"
    )
    text_chars_median: float | None = Field(None, description="median article text length, characters")
    text_chars_p10: float | None = Field(None, description="10th percentile of article text length")
    residue_per_10k_mean: float | None = Field(
        None, description="mean leftover markup per 10,000 characters of text (articles with text)"
    )
    stub_share: float | None = Field(None, description="share of articles that are stubs (is_stub)")
    script_share_mean: float | None = Field(
        None, description="mean share of letters in the edition's scripts"
    )
    infobox_coverage: float | None = Field(None, description="share of articles with at least one infobox")
    table_coverage: float | None = Field(None, description="share of articles with at least one table")
    reference_coverage: float | None = Field(
        None, description="share of articles with at least one reference"
    )


class RunSummary(BaseModel):
    """One validated run, as the reports index holds it (``<reports>/<dbname>/_runs/<run dir>.json``).

    Entries written before the metrics existed still read: everything past the run's identity
    and result has a default.
    """

    model_config = ConfigDict(extra="forbid")

    version: int = RUN_SUMMARY_VERSION
    kind: RunKind = "snapshot"
    dbname: str
    dump_date: str = Field(pattern=DUMP_DATE_RE.pattern, description="the dump date, or the nightly day")
    run_id: str
    run_dir: str = Field(description="the run id made path-safe: its Data Docs folder")
    built_at: str
    success: bool
    counts: dict[str, Any] = Field(default_factory=dict)
    metrics: QualityMetrics = Field(default_factory=QualityMetrics)
    thresholds: dict[str, float] = Field(default_factory=dict)
    skipped: list[str] = Field(default_factory=list, description="expectations that could not apply, and why")


# -- per shard, merged per run ------------------------------------------------------------------------


def shard_measures(frame: pd.DataFrame) -> dict[str, Any]:
    """One articles frame reduced to mergeable partial aggregates (JSON, a few KB at most)."""
    residue = frame["residue_per_10k"].dropna()
    script = frame["script_share"].dropna()
    return {
        "articles": len(frame),
        "text_chars": QuantileSketch.of(frame["text_chars"].to_numpy()).to_dict(),
        "residue_per_10k": [float(residue.sum()), int(residue.size)],
        "script_share": [float(script.sum()), int(script.size)],
        "stubs": int(frame["is_stub"].sum()),
        **{column: int(frame[column].sum()) if column in frame else None for column in COVERAGE_METRICS},
    }


def run_metrics(
    measures: Sequence[Mapping[str, Any] | None],
    run_counts: Mapping[str, Any],
    dead_letter_reasons: Mapping[str, int],
) -> QualityMetrics:
    """The run's metrics: shard measures merged, with the run level's counts (stats.json).

    A shard without measures (a check from before they existed) leaves every per-article metric
    unknown: a median over some shards would be wrong, not approximate.
    """
    if any(m is None for m in measures):
        measures = []
    articles = int(run_counts.get("articles") or 0)
    dead = int(run_counts.get("dead_lettered") or 0)
    validated = sum(m["articles"] for m in measures)
    sketch = QuantileSketch()
    for m in measures:
        sketch = sketch.merge(QuantileSketch.from_dict(m["text_chars"]))

    def mean(key: str) -> float | None:
        total, n = (sum(m[key][i] for m in measures) for i in (0, 1))
        return total / n if n else None

    def share(column: str) -> float | None:
        # a field the records lack in any shard cannot be measured for the run
        if not validated or any(m.get(column) is None for m in measures):
            return None
        return sum(m[column] for m in measures) / validated

    return QualityMetrics(
        articles=articles,
        redirects=run_counts.get("redirects"),
        pages_read=run_counts.get("pages_read"),
        dead_lettered=dead,
        dead_letter_ratio=run_counts.get("dead_letter_ratio"),
        dead_letter_ratio_by_reason={
            reason: count / (articles + dead)
            for reason, count in sorted(dead_letter_reasons.items())
            if count
        },
        text_chars_median=sketch.quantile(0.5),
        text_chars_p10=sketch.quantile(0.1),
        residue_per_10k_mean=mean("residue_per_10k"),
        stub_share=sum(m["stubs"] for m in measures) / validated if validated else None,
        script_share_mean=mean("script_share"),
        **{metric: share(column) for column, metric in COVERAGE_METRICS.items()},
    )


# -- the reports index ----------------------------------------------------------------------------------


def run_summary_of(summary: Mapping[str, Any], run_dir: str, built_at: str, kind: RunKind) -> RunSummary:
    """The reports-index entry of a ValidationSummary (``wikidrop.quality.validation.summarize``)."""
    return RunSummary(
        kind=kind,
        dbname=summary["dbname"],
        dump_date=summary["dump_date"],
        run_id=summary["run_id"],
        run_dir=run_dir,
        built_at=built_at,
        success=summary["success"],
        counts=summary["counts"],
        metrics=summary.get("metrics") or {},
        thresholds=summary.get("thresholds") or {},
        skipped=[
            f"{s['suite']} {s['expectation']}({s['column']}): {s['reason']}"
            for s in summary.get("skipped", ())
        ],
    )


def write_run_summary(client: Any, reports_bucket: str, run: RunSummary) -> str:
    """Store the entry in the reports index (overwriting a re-run's); return its object name."""
    name = run_summary_name(run.dbname, run.run_id)
    client.bucket(reports_bucket).blob(name).upload_from_string(
        run.model_dump_json(), content_type="application/json"
    )
    return name
