"""What a night does, decided from staging alone (``wikidrop.nightly``), on the GCS emulator.

States here are small but real edition states as the jobs commit them: ``state.json``, article
partitions in Parquet, a ``CURRENT.json`` pointer, and the run's validation summary.
"""

from __future__ import annotations

import gzip
import io
import json
from datetime import UTC, datetime

import pytest

from wikidrop.layout import JobOutput, NightlyPartition, StagingPartition
from wikidrop.nightly import NightOrderError, load_state_ref, next_day, plan_night, write_tombstones
from wikidrop.state import EditionState, PartitionInfo

DB = "frwiki"
NS0 = {"identifier": 0}


def _commit_state(
    client, bucket: str, root: str, summary_uri: str, dump_date: str, days, ids, ok=True
) -> str:
    """A committed state with articles ``ids`` under output root ``root``; its validation ``ok``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    attempt = f"{dump_date}T{len(days):06d}.000000Z-abcdef"
    output = JobOutput(root)
    folder = output.attempt_uri(attempt)
    rows = [
        {
            "identifier": i,
            "name": f"Page {i}",
            "url": f"https://fr.wikipedia.org/wiki/Page_{i}",
            "namespace": NS0,
        }
        for i in sorted(ids)
    ]
    table = pa.Table.from_pylist(rows)
    data = io.BytesIO()
    pq.write_table(table, data)
    target = client.bucket(bucket)
    prefix = folder.removeprefix(f"gs://{bucket}/")
    target.blob(f"{prefix}/articles/part-00000.parquet").upload_from_string(data.getvalue())
    state = EditionState(
        dbname=DB,
        namespaces=(0,),
        dump_date=dump_date,
        days=tuple(days),
        schema_version="2.0.0",
        articles=(
            PartitionInfo("part-00000", len(rows), min(ids), max(ids), 100 + len(days), {0: len(rows)}),
        ),
        redirects=(),
        written_by="test",
    )
    target.blob(f"{prefix}/state.json").upload_from_string(json.dumps(state.to_dict()))
    pointer = output.pointer_uri.removeprefix(f"gs://{bucket}/")
    target.blob(pointer).upload_from_string(JobOutput.pointer_payload(attempt, datetime.now(UTC)))
    target.blob(summary_uri.removeprefix(f"gs://{bucket}/")).upload_from_string(json.dumps({"success": ok}))
    return folder


def _full(client, bucket, date, ids, ok=True) -> str:
    partition = StagingPartition(bucket, DB, date)
    return _commit_state(
        client, bucket, partition.parsed_uri, partition.validation_summary_uri, date, [], ids, ok
    )


def _night(client, bucket, dump_date, days, ids, ok=True) -> str:
    partition = NightlyPartition(bucket, DB, days[-1])
    return _commit_state(
        client, bucket, partition.state_uri, partition.validation_summary_uri, dump_date, days, ids, ok
    )


def test_no_base_is_an_error(gcs_client, make_bucket) -> None:
    bucket = make_bucket()
    with pytest.raises(NightOrderError, match="run the edition's full-dump DAG first"):
        plan_night(gcs_client, bucket, DB, "20261102", 7)
    _full(gcs_client, bucket, "20261101", {1, 2}, ok=False)  # a parse that failed validation is no base
    with pytest.raises(NightOrderError, match="no validated full-dump parse"):
        next_day(gcs_client, bucket, DB)


def test_days_apply_in_order_and_once(gcs_client, make_bucket) -> None:
    bucket = make_bucket()
    full = _full(gcs_client, bucket, "20261101", {1, 2, 3})
    assert next_day(gcs_client, bucket, DB) == "20261102"
    plan = plan_night(gcs_client, bucket, DB, "20261102", 7)
    assert (plan.applied, plan.days, plan.base.folder, plan.rebased_from) == (
        False,
        ("20261102",),
        full,
        None,
    )
    with pytest.raises(NightOrderError, match=r"day\(s\) 20261102..20261102 are not applied yet"):
        plan_night(gcs_client, bucket, DB, "20261103", 7)
    assert plan_night(gcs_client, bucket, DB, "20261101", 7).applied  # covered by the full dump

    # A night whose validation failed is not applied: it runs again, the next one waits.
    _night(gcs_client, bucket, "20261101", ["20261102"], {1, 2, 3, 4}, ok=False)
    assert plan_night(gcs_client, bucket, DB, "20261102", 7).days == ("20261102",)
    with pytest.raises(NightOrderError):
        plan_night(gcs_client, bucket, DB, "20261103", 7)

    night = _night(gcs_client, bucket, "20261101", ["20261102"], {1, 2, 3, 4})
    again = plan_night(gcs_client, bucket, DB, "20261102", 7)
    assert again.applied and again.days == ()
    plan = plan_night(gcs_client, bucket, DB, "20261103", 7)
    assert (plan.days, plan.base.folder, plan.base.state.days) == (("20261103",), night, ("20261102",))
    assert next_day(gcs_client, bucket, DB) == "20261103"


def test_a_newer_full_dump_rebases_and_tombstones_its_deletions(gcs_client, make_bucket) -> None:
    bucket = make_bucket()
    _full(gcs_client, bucket, "20261101", {1, 2, 3})
    _night(gcs_client, bucket, "20261101", ["20261102"], {1, 2, 3, 4})
    previous = _night(gcs_client, bucket, "20261101", ["20261102", "20261103"], {1, 2, 3, 4, 5})
    full = _full(gcs_client, bucket, "20261102", {1, 3, 4, 6})  # 2 and 5 deleted since
    with pytest.raises(NightOrderError, match=r"20261104\.\.20261104 are not applied yet"):
        plan_night(gcs_client, bucket, DB, "20261105", 7)
    plan = plan_night(gcs_client, bucket, DB, "20261104", 7)
    assert plan.base.folder == full and plan.rebased_from.folder == previous
    assert plan.days == ("20261103", "20261104")  # the days since the full dump, again
    with pytest.raises(NightOrderError, match=r"more than nightly\.max_days_per_run=1"):
        plan_night(gcs_client, bucket, DB, "20261104", 1)

    partition = NightlyPartition(bucket, DB, "20261104")
    shards, count = write_tombstones(gcs_client, load_state_ref(gcs_client, previous), plan.base, partition)
    assert count == 2 and shards == [f"{partition.deletions_uri}/part-00000.parquet"]
    ndjson = gcs_client.bucket(bucket).blob(
        f"{partition.deletions_uri.removeprefix(f'gs://{bucket}/')}/part-00000.ndjson.gz"
    )
    rows = [json.loads(line) for line in gzip.decompress(ndjson.download_as_bytes()).splitlines()]
    assert [r["identifier"] for r in rows] == [2, 5]
    assert {r["event"]["type"] for r in rows} == {"delete"}
    assert rows[0]["name"] == "Page 2" and rows[0]["namespace"] == NS0
    assert rows[0]["event"]["date_published"] == "2026-11-04T00:00:00Z"
    # a rerun writes the same events; a state with nothing gone leaves no deletions file
    again, _ = write_tombstones(gcs_client, load_state_ref(gcs_client, previous), plan.base, partition)
    assert again == shards
    rows_again = [json.loads(x) for x in gzip.decompress(ndjson.download_as_bytes()).splitlines()]
    assert rows_again == rows
    assert write_tombstones(gcs_client, plan.base, plan.base, partition) == ([], 0)
    assert not list(
        gcs_client.list_blobs(bucket, prefix=partition.deletions_uri.removeprefix(f"gs://{bucket}/"))
    )
