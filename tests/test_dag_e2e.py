"""Whole edition DAGs under ``dag.test()``: sample mirror over HTTP -> GCS emulator -> partner drops.

Real parts only, all on 127.0.0.1: the sample mirror (``dump_mirror``), gcp-storage-emulator, a
migrated SQLite Airflow DB, the Beam job on the local runner, Great Expectations, and a webhook
receiver verifying the notices' signatures. Each test uses its own buckets through a config file
of its own (``$WIKIDROP_CONFIG``), which is also what the DAG file builds from; they share the
staging bucket, where each (edition, dump date) partition is rewritten by every run
(``e2e_config``, tests/fixtures/e2e_config.py).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.fixtures.dump_mirror import SAMPLE_DUMP_DATE, SAMPLE_EDITIONS

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
from demo import TaskLogs  # scripts/ is not a package


def _run(config, dbname: str, conf: dict, task_logs=None):
    from wikidrop_airflow.dag_factory import build_edition_dag

    dag = build_edition_dag(config.edition(dbname), config)
    with task_logs or contextlib.nullcontext():
        dag_run = dag.test(run_conf=conf)
    states = {
        ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): str(ti.state)
        for ti in dag_run.get_task_instances()
    }
    return dag_run, states


def _sample_disambiguation_pages(dbname: str) -> set[int]:
    """Page ids the sample's own page_props table marks as disambiguation pages."""
    from tests.fixtures.dump_mirror import SAMPLES
    from wikidrop.dumps.page_props import DISAMBIGUATION, read_page_props

    with open(SAMPLES / f"{dbname}-{SAMPLE_DUMP_DATE}-page_props.sql", "rb") as f:
        return {page for page, props in read_page_props(f) if DISAMBIGUATION in props}


def _drop_records(gcs_client, bucket: str, drop: str) -> list[dict]:
    """The records of a snapshot's NDJSON or plaintext JSONL chunks (each format holds them all)."""
    import gzip

    chunks = sorted(b.name for b in gcs_client.list_blobs(bucket, prefix=f"{drop}/chunk_"))
    return [
        json.loads(line)
        for name in chunks
        if name.endswith((".ndjson.gz", ".jsonl.gz"))
        for line in gzip.decompress(gcs_client.bucket(bucket).blob(name).download_as_bytes()).splitlines()
    ]


def _json(gcs_client, uri: str) -> dict:
    from wikidrop.gcs import split_gs_uri

    bucket, path = split_gs_uri(uri)
    return json.loads(gcs_client.bucket(bucket).blob(path).download_as_bytes())


@pytest.mark.slow
@pytest.mark.parametrize("dbname", SAMPLE_EDITIONS)
def test_edition_dag_end_to_end(dbname: str, airflow_db, dump_mirror: str, e2e_config, gcs_client) -> None:
    from airflow.utils.state import DagRunState

    from wikidrop.gcs import committed_output_uri, split_gs_uri
    from wikidrop.layout import ParseOutput, StagingPartition

    config, receiver = e2e_config
    dag_run, states = _run(config, dbname, {"mirror": dump_mirror, "dump_date": "latest"})
    assert dag_run.state == DagRunState.SUCCESS, states
    assert {s for s in states.values()} == {"success"}, states

    partition = StagingPartition(
        config.settings.staging_bucket, dbname, SAMPLE_DUMP_DATE
    )  # 'latest' resolved
    parsed = committed_output_uri(gcs_client, partition.parsed_uri)
    assert parsed is not None and _parsed_asset_extra(dbname)["parsed_uri"] == parsed
    stats = _json(gcs_client, ParseOutput(parsed).stats_uri)
    assert stats["dbname"] == dbname and stats["articles"] > 0
    assert (
        stats["pages_read"]
        == stats["articles"] + stats["redirects"] + stats["skipped"] + stats["dead_lettered"]
    )
    summary = _json(gcs_client, partition.validation_summary_uri)
    assert summary["success"] is True
    # The articles suite checked the parse job's quality rows (one per article), not the articles.
    quality_bucket, quality_prefix = split_gs_uri(ParseOutput(parsed).quality_uri)
    quality = list(gcs_client.list_blobs(quality_bucket, prefix=f"{quality_prefix}/part-"))
    assert quality and summary["counts"]["article_shards"] == len(quality)
    assert summary["counts"]["article_rows_validated"] == stats["articles"]
    # The sample's page_props table was staged and joined: every article of it got its props.
    disambiguation = _sample_disambiguation_pages(dbname)
    assert stats["page_props"]["source_file"].endswith(f"{dbname}-{SAMPLE_DUMP_DATE}-page_props.sql.gz")
    assert stats["page_props"]["matched"] == stats["page_props"]["articles"] > len(disambiguation) > 0

    subscribers = config.partners_for(dbname)
    assert subscribers
    for partner in subscribers:
        drop = f"{partner.prefix}/snapshots/{SAMPLE_DUMP_DATE}/{dbname}_namespace_0".lstrip("/")
        manifest = _json(gcs_client, f"gs://{partner.bucket}/{drop}/manifest.json")
        assert manifest["record_count"] > 0
        assert gcs_client.bucket(partner.bucket).blob(f"{drop}/_SUCCESS").exists()
        # licence and attribution name the edition as its dump's siteinfo does
        edition = manifest["attribution"]["edition"]
        assert (edition["dbname"], edition["url"]) == (dbname, f"https://{dbname[:-4]}.wikipedia.org")
        licence = gcs_client.bucket(partner.bucket).get_blob(f"{drop}/LICENSE.txt")
        assert licence.size == manifest["license"]["file"]["bytes"]
        delivered = {r["identifier"] for r in _drop_records(gcs_client, partner.bucket, drop)}
        assert len(delivered) == manifest["record_count"]
        if partner.filters.exclude_disambiguation:  # globex_llm: no disambiguation page in its drop
            assert not delivered & disambiguation
        elif not partner.filters.min_text_length:  # the same pages reach a partner without filters
            assert disambiguation <= delivered
    notified = {e["data"]["partner"] for e in receiver.accepted.values() if e["data"]["edition"] == dbname}
    assert notified == {p.id for p in subscribers if p.notices.webhook}

    assert _parsed_asset_extra(dbname)["dump_date"] == SAMPLE_DUMP_DATE


@pytest.mark.slow
def test_dry_run_stops_after_validation(
    airflow_db, dump_mirror: str, e2e_config, gcs_client, tmp_path: Path
) -> None:
    """Also run as `make demo` runs a DAG (scripts/demo.py ``TaskLogs``): one console line per task,
    each task's whole output in its own file where Airflow keeps task logs."""
    from airflow.utils.state import DagRunState

    from wikidrop.layout import StagingPartition

    config, receiver = e2e_config
    # the console is given: pytest's capture replaces sys.stdout, which Airflow's logging then keeps
    # (in `make demo` it writes to fd 1, which TaskLogs points at the task's file)
    console_stream = io.StringIO()
    logs = TaskLogs(tmp_path / "logs", tmp_path / "dag_test.log", console=console_stream)
    dag_run, states = _run(
        config, "frwiki", {"mirror": dump_mirror, "dump_date": SAMPLE_DUMP_DATE, "dry_run": True}, logs
    )
    console = console_stream.getvalue().splitlines()
    assert dag_run.state == DagRunState.SUCCESS, states
    assert states["validate.gate"] == "success"
    assert states["publish_gate"] == "success"
    delivery = {k: v for k, v in states.items() if k.startswith("partner_drop.")}
    assert delivery and set(delivery.values()) == {"skipped"}, delivery
    partition = StagingPartition(config.settings.staging_bucket, "frwiki", SAMPLE_DUMP_DATE)
    assert _json(gcs_client, partition.validation_summary_uri)["success"] is True
    for partner in config.partners_for("frwiki"):
        assert list(gcs_client.list_blobs(partner.bucket)) == [], partner.id
    assert receiver.accepted == {}

    ran = {task for task, state in states.items() if state == "success"}  # the rest never started
    pattern = r"\[wikidrop\]   (\S+) +(success|failed|skipped) +\d+\.\d s"
    lines = [re.fullmatch(pattern, line) for line in console]
    assert all(lines) and len(lines) == len(ran), console  # one line per task, nothing else
    assert {m[1] for m in lines} == ran and {m[2] for m in lines} == {"success"}, console
    assert set(logs.files) == ran
    run_dir = tmp_path / "logs" / "dag_id=wikidrop_frwiki" / f"run_id={dag_run.run_id}"
    for task in ran:
        assert logs.files[task].is_relative_to(run_dir) and logs.files[task].name == "attempt=1.log", task
        assert logs.files[task].exists(), task  # what reaches it: test_task_output_goes_to_its_file


_TASK_OUTPUT_CHILD = """
import logging, subprocess, sys
from pathlib import Path
from types import SimpleNamespace
import airflow.sdk.listener  # noqa: F401 (Airflow says what configuration it loaded, on the console)
from demo import TaskLogs

root = Path(sys.argv[1])
ti = SimpleNamespace(dag_id="wikidrop_xxwiki", run_id="manual__1", task_id="parse_articles", map_index=-1, try_number=1)
logging.basicConfig(level=logging.INFO)
with TaskLogs(root / "logs", root / "between.log") as logs:
    print("before any task")
    logs.on_task_instance_running(None, ti)
    print("printed by the task")
    logging.getLogger("wikidrop").info("logged by the task")
    subprocess.run([sys.executable, "-c", "print('written by a child process')"], check=True)
    logs.on_task_instance_success(None, ti)
    print("after the task")
"""


def test_task_output_goes_to_its_file(tmp_path: Path) -> None:
    """``make demo``'s console: one line per task; everything the task, its logging and its child
    processes write lands in the task's own log file (run as the demo runs: a process of its own)."""
    import subprocess

    result = subprocess.run(
        [sys.executable, "-c", _TASK_OUTPUT_CHILD, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT / "scripts",
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(PROJECT_ROOT / "scripts"), *sys.path])},
    )
    assert result.returncode == 0, result.stderr
    console = result.stdout + result.stderr  # before entering: whatever Airflow said on import
    assert re.search(r"\n?\[wikidrop\]   parse_articles +success +\d+\.\d s\n$", result.stdout), console
    for line in ("before any task", "printed by the task", "logged by the task", "child process", "after"):
        assert line not in console, console
    task_log = tmp_path / "logs/dag_id=wikidrop_xxwiki/run_id=manual__1/task_id=parse_articles/attempt=1.log"
    written = task_log.read_text()
    for line in ("printed by the task", "logged by the task", "written by a child process"):
        assert line in written, written
    assert "before any task" not in written and "after the task" not in written
    between = (tmp_path / "between.log").read_text()
    assert "before any task" in between and "after the task" in between


def _parsed_asset_extra(dbname: str) -> dict:
    """The newest event of the edition's parsed-output Asset."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return session.scalars(
            select(AssetEvent.extra)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == f"wikidrop_{dbname}_parsed")
            .order_by(AssetEvent.id.desc())
        ).first()
