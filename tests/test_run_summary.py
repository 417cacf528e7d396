"""Run summaries: per-shard measures merge into the run's metrics, whatever the sharding.

The frames come from real article records (``wikidrop.records.build_article_record`` and the real
Parquet schema), reduced by ``shard_measures`` exactly as each articles-shard check does.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from tests.test_validation import FR_EDITION, FR_SITE, frame_of, good_records, record
from wikidrop.quality.frames import article_frame, quality_rows
from wikidrop.quality.measures import prose_wikitext_bytes
from wikidrop.quality.quantiles import RELATIVE_ACCURACY, QuantileSketch
from wikidrop.quality.run_summary import RunSummary, run_metrics, run_summary_of, shard_measures
from wikidrop.records import ARTICLE_SCHEMA


def test_sketch_quantiles_stay_within_their_relative_accuracy() -> None:
    values = np.random.default_rng(7).lognormal(mean=7.5, sigma=1.2, size=20_000).round()
    values[:300] = 0  # empty texts
    sketch = QuantileSketch.of(values)
    for q in (0.0, 0.01, 0.1, 0.5, 0.9, 0.99, 1.0):
        exact = float(np.quantile(values, q, method="lower"))
        estimate = sketch.quantile(q)
        assert estimate == pytest.approx(exact, rel=RELATIVE_ACCURACY, abs=0), (q, exact, estimate)
    assert QuantileSketch().quantile(0.5) is None


def test_sketches_merge_to_the_same_quantiles_whatever_the_sharding() -> None:
    values = np.random.default_rng(3).integers(0, 50_000, size=9_000)
    whole = QuantileSketch.of(values)
    merged = QuantileSketch()
    for part in np.array_split(values, 7):
        merged = merged.merge(QuantileSketch.from_dict(QuantileSketch.of(part).to_dict()))  # via JSON
    assert merged == whole
    assert [merged.quantile(q) for q in (0.1, 0.5)] == [whole.quantile(q) for q in (0.1, 0.5)]
    with pytest.raises(ValueError, match="non-negative"):
        QuantileSketch.of([3.0, float("nan")])


def infobox(record: dict) -> dict:
    record["infoboxes"] = [{"name": "Infobox Ville", "params": [{"key": "pays", "value": "France"}]}]
    return record


def test_run_metrics_from_shard_measures_and_stats_counts() -> None:
    shard_a = [infobox(r) if i % 2 else r for i, r in enumerate(good_records(start=1))]
    shard_b = [*good_records(start=100), record(500, "Ébauche", "", wikitext="{{ébauche}}")]
    measures = [shard_measures(frame_of(shard)) for shard in (shard_a, shard_b)]
    counts = {
        "articles": 25,
        "redirects": 4,
        "pages_read": 31,
        "dead_lettered": 2,
        "dead_letter_ratio": 2 / 27,
    }
    metrics = run_metrics(measures, counts, {"parse_timeout": 1, "too_large": 1, "never": 0})

    texts = [len(r["text"] or "") for r in (*shard_a, *shard_b)]
    assert metrics.articles == 25 and metrics.redirects == 4 and metrics.dead_letter_ratio == 2 / 27
    assert metrics.dead_letter_ratio_by_reason == {"parse_timeout": 1 / 27, "too_large": 1 / 27}
    assert metrics.text_chars_median == pytest.approx(np.quantile(texts, 0.5, method="lower"), rel=0.005)
    assert metrics.text_chars_p10 == pytest.approx(np.quantile(texts, 0.1, method="lower"), rel=0.005)
    stubs = [
        len(w.encode()) <= 200 or prose_wikitext_bytes(w, FR_SITE) <= 200
        for w in (r["article_body"]["wikitext"] for r in (*shard_a, *shard_b))
    ]
    assert 0 < sum(stubs) < len(stubs) and metrics.stub_share == pytest.approx(sum(stubs) / 25)
    assert metrics.infobox_coverage == pytest.approx(6 / 25)
    assert metrics.reference_coverage == 0.0  # measured: no record has references
    assert metrics.table_coverage == 0.0
    assert metrics.script_share_mean == pytest.approx(1.0, abs=0.02)
    assert metrics.residue_per_10k_mean == 0.0
    # a shard checked without measures: per-article metrics unknown, counts still known
    partial = run_metrics([measures[0], None], counts, {})
    assert partial.text_chars_median is None and partial.stub_share is None and partial.articles == 25


def test_coverage_is_unknown_when_a_shard_lacks_the_field() -> None:
    with_field = shard_measures(frame_of(good_records()))
    schema = ARTICLE_SCHEMA.remove(ARTICLE_SCHEMA.get_field_index("infoboxes"))
    old = [{k: v for k, v in r.items() if k != "infoboxes"} for r in good_records(start=50)]
    from tests.test_validation import FR_SITE

    table = pa.Table.from_pylist(old, schema=schema)
    without = shard_measures(article_frame(quality_rows(table, FR_SITE, FR_EDITION.scripts), FR_EDITION))
    assert with_field["has_infobox"] == 0 and without["has_infobox"] is None
    assert run_metrics([with_field, without], {"articles": 24}, {}).infobox_coverage is None


def test_run_summary_of_a_validation_summary_and_entries_written_before_metrics() -> None:
    summary = {
        "dbname": "frwiki",
        "dump_date": "20250801",
        "run_id": "manual__x",
        "success": True,
        "counts": {"articles": 12},
        "metrics": {"articles": 12, "text_chars_median": 80.0},
        "thresholds": {"min_script_share": 0.5},
        "skipped": [
            {
                "suite": "run_level",
                "expectation": "e",
                "column": "article_drop_vs_previous",
                "reason": "first run",
            }
        ],
    }
    run = run_summary_of(summary, "manual__x", "2026-01-01T00:00:00+00:00", "nightly")
    assert run.kind == "nightly" and run.metrics.text_chars_median == 80.0
    assert run.skipped == ["run_level e(article_drop_vs_previous): first run"]
    assert RunSummary.model_validate_json(run.model_dump_json()) == run
    # a reports-index entry from before run summaries: still listed, as a snapshot without metrics
    old = RunSummary.model_validate(
        {
            "dbname": "frwiki",
            "dump_date": "20250601",
            "run_id": "manual__old",
            "run_dir": "manual__old",
            "success": False,
            "counts": {"articles": 3},
            "built_at": "2025-06-02T00:00:00+00:00",
        }
    )
    assert old.kind == "snapshot" and old.metrics.articles is None
    with pytest.raises(ValueError, match="kind"):
        RunSummary.model_validate({**old.model_dump(), "kind": "weekly"})
