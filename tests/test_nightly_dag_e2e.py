"""The nightly DAG under ``dag.test()`` on a real Airflow DB: full dump, then adds-changes nights.

Real parts only, on 127.0.0.1: the sample mirror with its adds-changes days over HTTP
(``dump_mirror``/``mirror_server``), gcp-storage-emulator, a migrated SQLite Airflow DB, both Beam
jobs on the local runner, Great Expectations and a webhook receiver checking signatures. frwiki is
the edition the shipped config opts in (``nightly:``); each test first runs its full-dump DAG, the
base of the nights.
"""

from __future__ import annotations

import gzip
import json

import pytest

from tests.fixtures.dump_mirror import SAMPLE_DAYS, SAMPLE_DUMP_DATE

DBNAME = "frwiki"
FIRST, SECOND = SAMPLE_DAYS


def _run(dag, conf: dict) -> tuple[object, dict[str, str]]:
    dag_run = dag.test(run_conf=conf)
    states = {
        ti.task_id + (f"[{ti.map_index}]" if ti.map_index >= 0 else ""): str(ti.state)
        for ti in dag_run.get_task_instances()
    }
    return dag_run, states


def _dags(config):
    from wikidrop_airflow.dag_factory import build_edition_dag, build_nightly_dag

    edition = config.edition(DBNAME)
    return build_edition_dag(edition, config), build_nightly_dag(edition, config)


def _json(gcs_client, uri: str):
    from wikidrop.gcs import read_json_uri

    return read_json_uri(gcs_client, uri)


def _batch_records(gcs_client, partner, day: str) -> list[dict]:
    prefix = f"{partner.prefix}/batches/{day}/{DBNAME}_namespace_0/".lstrip("/")
    names = sorted(b.name for b in gcs_client.list_blobs(partner.bucket, prefix=f"{prefix}chunk_"))
    return [
        json.loads(line)
        for name in names
        if name.endswith((".ndjson.gz", ".jsonl.gz"))
        for line in gzip.decompress(
            gcs_client.bucket(partner.bucket).blob(name).download_as_bytes()
        ).splitlines()
    ]


@pytest.fixture
def fresh_nights(gcs_client, e2e_config):
    """No night of frwiki left in the (session-shared) staging bucket by an earlier test."""
    from wikidrop.layout import nightly_prefix

    config, _ = e2e_config
    for blob in gcs_client.list_blobs(config.settings.staging_bucket, prefix=nightly_prefix(DBNAME)):
        blob.delete()
    return config


def _committed_state(gcs_client, config, day: str) -> str | None:
    from wikidrop.gcs import committed_output_uri
    from wikidrop.layout import NightlyPartition

    return committed_output_uri(
        gcs_client, NightlyPartition(config.settings.staging_bucket, DBNAME, day).state_uri
    )


@pytest.mark.slow
def test_nights_apply_in_order_exactly_once(
    airflow_db, dump_mirror: str, e2e_config, fresh_nights, gcs_client
) -> None:
    from airflow.utils.state import DagRunState

    from wikidrop.delivery.verify import GCSSource, verify_snapshot
    from wikidrop.layout import NightlyPartition, ParseOutput, run_summary_name

    config, receiver = e2e_config
    full, nightly = _dags(config)
    dag_run, states = _run(full, {"mirror": dump_mirror, "dump_date": SAMPLE_DUMP_DATE})
    assert dag_run.state == DagRunState.SUCCESS, states

    # A day after a missing one: the chain stops in resolve_day, nothing staged or applied.
    dag_run, states = _run(nightly, {"mirror": dump_mirror, "day": SECOND})
    assert dag_run.state == DagRunState.FAILED and states["resolve_day"] == "failed", states
    assert _committed_state(gcs_client, config, SECOND) is None

    # 'next' is the day after the full dump.
    dag_run, states = _run(nightly, {"mirror": dump_mirror, "day": "next"})
    assert dag_run.state == DagRunState.SUCCESS, states
    assert {s for s in states.values()} == {"success"}, states
    state = _committed_state(gcs_client, config, FIRST)
    stats = _json(gcs_client, ParseOutput(state).stats_uri)
    assert stats["days"] == [FIRST] and stats["dump_date"] == SAMPLE_DUMP_DATE
    # the sample day: an edit, a new page, a move, an article turned redirect, a new redirect
    assert stats["created"] == 1 and stats["updated"] >= 2 and stats["removed"]["became_redirect"] == 1
    summary = _json(
        gcs_client, NightlyPartition(config.settings.staging_bucket, DBNAME, FIRST).validation_summary_uri
    )
    assert summary["success"] is True and summary["counts"]["change_records"] == stats["change_records"]
    run = _json(
        gcs_client, f"gs://{config.settings.reports_bucket}/{run_summary_name(DBNAME, summary['run_id'])}"
    )
    assert run["kind"] == "nightly" and run["dump_date"] == FIRST

    for partner in config.partners_for(DBNAME):
        drop = f"{partner.prefix}/batches/{FIRST}/{DBNAME}_namespace_0".lstrip("/")
        manifest = _json(gcs_client, f"gs://{partner.bucket}/{drop}/manifest.json")
        assert (
            verify_snapshot(GCSSource(gcs_client, partner.bucket, drop)) == []
        )  # what `wikidrop verify` checks
        nightly_snapshot = f"{partner.prefix}/snapshots/{FIRST}/{DBNAME}_namespace_0/_SUCCESS".lstrip("/")
        assert gcs_client.bucket(partner.bucket).blob(nightly_snapshot).exists() == partner.takes_nightly(
            "snapshot"
        )
        records = _batch_records(gcs_client, partner, FIRST)
        assert len(records) == manifest["record_count"] > 0
        if "ndjson" in partner.formats:  # plaintext carries identifier, name, url, text only
            # the article turned into a redirect leaves as a tombstone (apply_changes' delete event)
            assert {r["event"]["type"] for r in records} == {"create", "update", "delete"}
            assert {r["event"]["date_published"] for r in records} == {"2026-11-02T00:00:00Z"}
    batches = [e for e in receiver.accepted.values() if e["type"] == "org.wikidrop.batch.published"]
    assert {e["data"]["partner"] for e in batches} == {
        p.id for p in config.partners_for(DBNAME) if p.notices.webhook
    }

    # The same day again: a no-op (nothing re-staged, re-applied or re-delivered).
    dag_run, states = _run(nightly, {"mirror": dump_mirror, "day": FIRST})
    assert dag_run.state == DagRunState.SUCCESS, states
    assert states["skip_if_applied"] == "success"
    assert {v for k, v in states.items() if k not in ("resolve_day", "skip_if_applied")} == {"skipped"}, (
        states
    )
    assert _committed_state(gcs_client, config, FIRST) == state

    # The next night builds on the first.
    dag_run, states = _run(nightly, {"mirror": dump_mirror, "day": "next"})
    assert dag_run.state == DagRunState.SUCCESS, states
    second = _json(gcs_client, ParseOutput(_committed_state(gcs_client, config, SECOND)).stats_uri)
    assert second["state_days"] == [FIRST, SECOND] and second["articles_before"] == stats["articles"]


@pytest.mark.slow
def test_bad_days_leave_nothing_half_applied(
    airflow_db, mirror_server, e2e_config, fresh_nights, gcs_client
) -> None:
    """A corrupt, then a truncated day fail with nothing applied; once fixed the day applies; a day
    older than the base is a no-op."""
    import bz2
    import hashlib
    import shutil

    from airflow.utils.state import DagRunState

    from wikidrop.dumps.incr import day_directory, md5sums_file_name, pages_file_name
    from wikidrop.layout import NightlyPartition
    from wikidrop.nightly import next_day

    config, _ = e2e_config
    # Failures end the run at once here (a deployment retries staging and the job: a mirror may heal).
    config = config.model_copy(update={"settings": config.settings.model_copy(update={"retries": 0})})
    full, nightly = _dags(config)
    dag_run, states = _run(full, {"mirror": mirror_server.url, "dump_date": SAMPLE_DUMP_DATE})
    assert dag_run.state == DagRunState.SUCCESS, states
    day_dir = mirror_server.root / day_directory(DBNAME, FIRST)
    pages = day_dir / pages_file_name(DBNAME, FIRST)
    md5sums = day_dir / md5sums_file_name(DBNAME, FIRST)
    good = day_dir.parent / "good.bz2"
    shutil.copy(pages, good)
    partition = NightlyPartition(config.settings.staging_bucket, DBNAME, FIRST)
    _, incr_prefix = partition.incr_uri.removeprefix("gs://").split("/", 1)

    # 1. The mirror serves other bytes than md5sums.txt promises: staging fails, nothing is staged.
    data = bytearray(good.read_bytes())
    data[len(data) // 2] ^= 0xFF
    pages.write_bytes(bytes(data))
    dag_run, states = _run(nightly, {"mirror": mirror_server.url, "day": FIRST})
    assert dag_run.state == DagRunState.FAILED and states["stage_day"] == "failed", states
    staged = [b.name for b in gcs_client.list_blobs(config.settings.staging_bucket, prefix=incr_prefix)]
    assert not [n for n in staged if n.endswith(pages.name)], staged
    assert _committed_state(gcs_client, config, FIRST) is None

    # 2. A day published cut short (its md5 matches the short file): the job fails, commits nothing.
    cut = good.read_bytes()[: good.stat().st_size // 2]
    pages.write_bytes(cut)
    md5sums.write_text(f"{hashlib.md5(cut).hexdigest()}  {pages.name}\n")
    dag_run, states = _run(nightly, {"mirror": mirror_server.url, "day": FIRST})
    assert dag_run.state == DagRunState.FAILED and states["apply_changes"] == "failed", states
    assert _committed_state(gcs_client, config, FIRST) is None
    assert next_day(gcs_client, config.settings.staging_bucket, DBNAME) == FIRST  # still to apply

    # 3. The good day applies; bz2 of the good file reads whole (it was the cut that failed).
    shutil.copy(good, pages)
    md5sums.write_text(f"{hashlib.md5(good.read_bytes()).hexdigest()}  {pages.name}\n")
    assert bz2.decompress(good.read_bytes())
    dag_run, states = _run(nightly, {"mirror": mirror_server.url, "day": FIRST})
    assert dag_run.state == DagRunState.SUCCESS, states
    assert _committed_state(gcs_client, config, FIRST) is not None

    # 4. A day older than the base (the full dump's own date): nothing to apply, a no-op.
    dag_run, states = _run(nightly, {"mirror": mirror_server.url, "day": SAMPLE_DUMP_DATE})
    assert dag_run.state == DagRunState.SUCCESS, states
    assert states["apply_changes"] == "skipped"
