"""Progress of the parse job (its launcher's watch: a runner's live metrics, or the local runner's
tallies, as the Airflow task logs it) and of staging (bytes of total). The line itself:
tests/test_progress.py.

Intervals are short so lines appear within a test; nothing asserts how fast anything runs.
"""

from __future__ import annotations

import logging
import re
import time
from pathlib import Path

import pytest

from tests.fixtures.dump_mirror import SAMPLE_DUMP_DATE, SAMPLES
from wikidrop.progress import format_bytes

FRWIKI = SAMPLES / f"frwiki-{SAMPLE_DUMP_DATE}-pages-articles.xml.bz2"


def test_watch_reads_a_runners_live_metrics_while_it_runs(caplog: pytest.LogCaptureFixture) -> None:
    """The path Dataflow takes: ``run()`` returns while the job runs and the launcher polls its metrics.

    Beam's bundle-based DirectRunner behaves the same way offline: the first step's counter is
    committed while the second (slow) step still runs, so lines appear before the job ends.
    """
    import contextlib

    import apache_beam as beam
    from apache_beam.metrics import Metrics
    from apache_beam.options.pipeline_options import PipelineOptions

    from beam_jobs.progress import ParseProgress, metrics_counts

    class ScanFn(beam.DoFn):
        def process(self, page: int):
            Metrics.counter("wikidrop", "titles_scanned").inc()
            yield page % 3, page

    class SlowParseFn(beam.DoFn):
        def process(self, group):
            for _ in group[1]:
                time.sleep(0.05)
                Metrics.counter("wikidrop", "article").inc()
                yield 1

    caplog.set_level(logging.INFO, "beam_jobs.progress")
    progress = ParseProgress(total_pages=60, interval=0.05)
    with contextlib.ExitStack() as watch:
        with beam.Pipeline(runner="BundleBasedDirectRunner", options=PipelineOptions([])) as pipeline:
            watch.enter_context(progress.watching(lambda: metrics_counts(pipeline)))
            _ = (
                pipeline
                | beam.Create(range(60))
                | beam.ParDo(ScanFn())
                | beam.GroupByKey()
                | beam.ParDo(SlowParseFn())
            )
        running = list(caplog.messages)  # lines logged before the job ended
    assert "parse progress: first read (titles) 60 of 60 pages (100%)" in "\n".join(running)
    assert caplog.messages[-1].startswith("parse progress: parsed 60 of 60 pages (100%), ")
    assert caplog.messages[-1].endswith(", 0 dead letters")


def test_the_parse_job_logs_progress_into_the_airflow_task_log(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``run_parse_job`` (parse_articles on the local runner) logs the job's lines: progress of
    the total the index gives, and none of Beam's per-step INFO noise."""
    from wikidrop_airflow.stages.parse import run_parse_job

    from wikidrop_dev.mirror import build_mirror

    built = build_mirror(FRWIKI, tmp_path / "mirror", pages_per_stream=3)
    caplog.set_level(logging.INFO, "wikidrop_airflow.local_beam")
    run_parse_job(
        [
            *("--input", str(built.multistream[0]), "--index", str(built.index[0])),
            *("--output", str(tmp_path / "parsed"), "--progress_seconds", "0.1"),
            *("--direct_running_mode", "multi_threading", "--direct_num_workers", "2"),
        ]
    )
    job_lines = [m.removeprefix("beam: ") for m in caplog.messages if m.startswith("beam: ")]
    text = "\n".join(job_lines)
    assert re.search(r"parse progress: first read \(titles\) \d+ of 30 pages", text), text
    parsed = [line for line in job_lines if "parse progress: parsed " in line]
    assert parsed and "parse progress: parsed 30 of 30 pages (100%)" in parsed[-1], text
    assert re.search(r", \d+ pages/s, \d+ dead letters$", parsed[-1]), parsed[-1]
    assert "typehints" not in text and "Converting string literal" not in text
    assert not [line for line in job_lines if " INFO apache_beam" in line], text


def test_staging_logs_bytes_of_total(dump_mirror: str, gcs_client, make_bucket, monkeypatch, caplog) -> None:
    import wikidrop.dumps.staging
    from wikidrop.dumps.staging import stage_dump
    from wikidrop.layout import StagingPartition

    monkeypatch.setattr(wikidrop.dumps.staging, "READ_CHUNK", 2048)
    caplog.set_level(logging.INFO, "wikidrop.dumps.staging")
    bucket = make_bucket("staging")
    partition = StagingPartition(bucket, "frwiki", SAMPLE_DUMP_DATE)
    stage_dump(dump_mirror, "frwiki", SAMPLE_DUMP_DATE, partition, gcs_client, progress_seconds=0)
    name = f"frwiki-{SAMPLE_DUMP_DATE}-pages-articles-multistream.xml.bz2"
    lines = [m for m in caplog.messages if m.startswith(f"staging {name}: ")]
    size = gcs_client.bucket(bucket).get_blob(f"frwiki/{SAMPLE_DUMP_DATE}/dump/{name}").size
    assert len(lines) >= 2, caplog.messages
    assert all(f" of {format_bytes(size)} (" in line for line in lines)
    assert lines[-1].startswith(f"staging {name}: {format_bytes(size)} of {format_bytes(size)} (100%), ")
