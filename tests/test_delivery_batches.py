"""Nightly batches against fake-gcs-server: built from change records (creates, updates, tombstones),
verified by the partner-side command, read whole by pyarrow and duckdb, applied onto the previous
snapshot to give the next one, crash-safe between ``_SUCCESS`` and ``batches/latest.json``, and the
same bytes from the Beam job as in process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.json as pajson
import pyarrow.parquet as pq
import pytest

from beam_jobs import deliver_drop
from tests.conftest import PROJECT_ROOT
from tests.test_deliver_drop_job import IN_PROCESS, contents, job_args
from tests.test_delivery import article, objects, partner, read_ndjson, request, write_shards
from wikidrop.delivery.bucket import PartnerBucket
from wikidrop.delivery.drops import deliver, deliver_batch
from wikidrop.delivery.errors import DeliveryError
from wikidrop.delivery.verify import verify
from wikidrop.layout import BATCH, SNAPSHOT
from wikidrop.records import article_schema, change_schema

DAY = "20250802"
BATCH_DIR = f"wikipedia/batches/{DAY}/frwiki_namespace_0"
CHANGE_SCHEMA = change_schema(article_schema(None))  # apply_changes' changes/: articles plus event
LONG = "Un texte assez long pour passer le filtre de longueur minimale. " * 2


def change(page_id: int, kind: str, ns: int = 0, text: str | None = None) -> dict[str, Any]:
    """A change record: the article plus its event; a delete is a tombstone (identity and event only)."""
    event = {
        "identifier": f"00000000-0000-5000-8000-{page_id:012d}",
        "type": kind,
        "date_created": "2025-08-02T09:30:00Z",
        "date_published": "2025-08-02T00:00:00Z",
    }
    record = article(page_id, ns=ns, text=text)
    if kind == "delete":
        keep = ("identifier", "name", "url", "namespace")
        record = {k: (v if k in keep else None) for k, v in record.items()}
    return {**record, "event": event}


def write_changes(directory: Path, shards: list[list[dict[str, Any]]]) -> list[str]:
    directory.mkdir(parents=True)
    paths = []
    for i, rows in enumerate(shards):
        path = directory / f"part-{i:05d}.parquet"
        pq.write_table(pa.Table.from_pylist(rows, schema=CHANGE_SCHEMA), path)
        paths.append(str(path))
    return paths


# The day: 7 created, 8 created too short for the partner, 2 updated, 4 updated to too short (the
# partner's copy must go), 5 deleted (a re-base's tombstone), 99 deleted in a namespace the partner
# does not take. Shards out of page-id order.
DAY_CHANGES = [
    [change(7, "create", text=LONG), change(4, "update", text="court"), change(99, "delete", ns=10)],
    [change(5, "delete"), change(2, "update", text=LONG + " Modifié."), change(8, "create", text="bref")],
]


@pytest.fixture
def changes(tmp_path: Path) -> list[str]:
    return write_changes(tmp_path / "changes", DAY_CHANGES)


def batch_partner(bucket: str, **overrides: Any) -> Any:
    return partner(bucket, filters={"namespaces": [0], "min_text_length": 50}, **overrides)


def download(client: Any, bucket: str, prefix: str, target: Path) -> Path:
    for blob in client.list_blobs(bucket, prefix=prefix + "/"):
        local = target / blob.name[len(prefix) + 1 :]
        local.parent.mkdir(parents=True, exist_ok=True)
        blob.download_to_filename(str(local))
    return target


def test_a_batch_is_built_verified_and_read_whole(
    fake_gcs, fake_gcs_client, make_fake_gcs_bucket, changes, tmp_path
) -> None:
    bucket = make_fake_gcs_bucket("acme")
    p = batch_partner(bucket)
    drop = deliver_batch(request(p, changes, dump_date=DAY), PartnerBucket.for_partner(fake_gcs_client, p))
    assert drop["kind"] == "batch" and drop["record_count"] == 4  # 7, 2, and tombstones of 4 and 5

    verified = subprocess.run(
        [sys.executable, "-m", "wikidrop.verify", f"gs://{bucket}/wikipedia/batches/{DAY}"],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "STORAGE_EMULATOR_HOST": fake_gcs},
        capture_output=True,
        text=True,
        check=False,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "OK: 1 drop(s) intact" in verified.stdout

    local = download(fake_gcs_client, bucket, BATCH_DIR, tmp_path / "downloaded")
    manifest = json.loads((local / "manifest.json").read_text())
    assert manifest["kind"] == "batch" and manifest["deletions"] is None
    assert manifest["batch"]["events"] == {"create": 1, "update": 1, "delete": 2}
    assert manifest["batch"]["updates_delivered_as_deletions"] == {"min_text_length": 1}
    assert manifest["excluded_by_filters"] == {"min_text_length": 1}  # the short create; 99 is in ns 10
    assert "carry no deletions" in manifest["batch"]["deletions"]
    assert manifest["source_dump"]["files"][0]["url"].startswith("https://dumps.wikimedia.org/")

    # NDJSON and Parquet read into one table; tombstones are rows like the others
    parquet = pq.read_table(sorted(local.glob("chunk_*.parquet")))
    options = pajson.ParseOptions(explicit_schema=parquet.schema)
    ndjson = pa.concat_tables(
        pajson.read_json(path, parse_options=options) for path in sorted(local.glob("chunk_*.ndjson.gz"))
    )
    assert ndjson.equals(parquet)
    rows = {r["identifier"]: r for r in parquet.to_pylist()}
    assert sorted(rows) == [2, 4, 5, 7]
    assert {i: r["event"]["type"] for i, r in rows.items()} == {
        2: "update",
        4: "delete",
        5: "delete",
        7: "create",
    }
    tombstone = rows[5]
    assert tombstone["name"] == "Page 5" and tombstone["url"].endswith("/Page_5")
    assert tombstone["namespace"] == {"identifier": 0, "name": ""}
    assert tombstone["text"] is None and tombstone["version"] is None and tombstone["date_modified"] is None
    withdrawn = rows[4]  # the update the filter refuses goes out as a deletion, its event kept
    assert (
        withdrawn["text"] is None
        and withdrawn["event"]["identifier"] == DAY_CHANGES[0][1]["event"]["identifier"]
    )

    con = duckdb.connect()
    from_json = con.sql(
        f"select identifier, event.type as type from read_json('{local}/chunk_*.ndjson.gz') order by 1"
    ).fetchall()
    from_parquet = con.sql(
        f"select identifier, event.type as type from read_parquet('{local}/chunk_*.parquet') order by 1"
    ).fetchall()
    assert from_json == from_parquet == [(2, "update"), (4, "delete"), (5, "delete"), (7, "create")]

    plaintext = [
        line for path in sorted(local.glob("chunk_*.jsonl.gz")) for line in read_ndjson(path.read_bytes())
    ]
    assert [list(line) for line in plaintext] == [["identifier", "name", "url", "text", "event"]] * 4
    deleted = [line for line in plaintext if line["event"]["type"] == "delete"]
    assert [(line["identifier"], line["text"]) for line in deleted] == [(4, None), (5, None)]


def test_batches_applied_in_order_onto_a_snapshot_give_the_next_snapshot(
    fake_gcs_client, make_fake_gcs_bucket, changes, tmp_path
) -> None:
    """What the README promises partners: snapshot + the night's batch == that night's snapshot."""
    bucket = make_fake_gcs_bucket("acme")
    p = batch_partner(bucket, formats=["ndjson"])
    pb = PartnerBucket.for_partner(fake_gcs_client, p)
    before = [article(i, text=LONG) for i in (1, 2, 3, 4, 5, 6)]
    updated = {
        r["identifier"]: {k: v for k, v in r.items() if k != "event"} for r in DAY_CHANGES[0] + DAY_CHANGES[1]
    }
    after = [r for r in before if r["identifier"] not in (2, 4, 5)] + [updated[i] for i in (2, 4, 7, 8)]
    deliver(request(p, write_shards(tmp_path / "state0", [before]), dump_date="20250801"), pb)
    deliver_batch(request(p, changes, dump_date=DAY), pb)
    deliver(request(p, write_shards(tmp_path / "state1", [after]), dump_date=DAY), pb)

    def records(directory: str) -> dict[int, dict[str, Any]]:
        b = fake_gcs_client.bucket(bucket)
        out = {}
        for blob in sorted(b.list_blobs(prefix=f"wikipedia/{directory}/chunk_"), key=lambda x: x.name):
            out.update({r["identifier"]: r for r in read_ndjson(blob.download_as_bytes())})
        return out

    copy = records("snapshots/20250801/frwiki_namespace_0")
    for record in records(f"batches/{DAY}/frwiki_namespace_0").values():
        event = record.pop("event")
        if event["type"] == "delete":
            copy.pop(record["identifier"], None)
        else:
            copy[record["identifier"]] = record
    assert copy == records(f"snapshots/{DAY}/frwiki_namespace_0")
    assert sorted(copy) == [1, 2, 3, 6, 7]


def test_a_projection_keeps_identifier_and_event(fake_gcs_client, make_fake_gcs_bucket, changes) -> None:
    bucket = make_fake_gcs_bucket("acme")
    p = partner(bucket, formats=["ndjson"], fields=["url"])
    drop = deliver_batch(request(p, changes, dump_date=DAY), PartnerBucket.for_partner(fake_gcs_client, p))
    manifest = json.loads(
        fake_gcs_client.bucket(bucket).blob(f"{BATCH_DIR}/manifest.json").download_as_bytes()
    )
    assert manifest["fields"] == ["identifier", "url", "event"]
    chunk = fake_gcs_client.bucket(bucket).blob(f"{BATCH_DIR}/chunk_0000.ndjson.gz").download_as_bytes()
    first = read_ndjson(chunk)[0]
    assert list(first) == ["identifier", "url", "event"] and first["identifier"] == 2
    # without filters every change of namespace 0 is delivered as it is (8 included, 4 an update)
    assert drop["record_count"] == 5 and manifest["batch"]["events"] == {
        "create": 2,
        "update": 2,
        "delete": 1,
    }


def test_the_wrong_records_for_the_kind_are_refused_before_anything_is_written(
    fake_gcs_client, make_fake_gcs_bucket, changes, tmp_path
) -> None:
    bucket = make_fake_gcs_bucket("acme")
    p = partner(bucket)
    pb = PartnerBucket.for_partner(fake_gcs_client, p)
    articles = write_shards(tmp_path / "articles", [[article(1)]])
    with pytest.raises(DeliveryError, match="a batch is built from change records"):
        deliver(request(p, articles, dump_date=DAY, kind=BATCH), pb)
    with pytest.raises(DeliveryError, match="deliver them as a batch"):
        deliver(request(p, changes, dump_date=DAY), pb)
    assert objects(fake_gcs_client, bucket) == {}


def test_retry_finishes_a_batch_whose_commit_stopped_before_latest_json(
    fake_gcs, fake_gcs_client, make_fake_gcs_bucket, changes, tmp_path, monkeypatch
) -> None:
    """The Beam job dies after the batch's _SUCCESS, before batches/latest.json: the retry finishes it."""
    import wikidrop.delivery.drops as drops

    bucket = make_fake_gcs_bucket("acme")
    p = batch_partner(bucket)
    args = [*job_args(tmp_path, fake_gcs, request(p, changes, dump_date=DAY)), *IN_PROCESS]

    def crash(*_: Any, **__: Any) -> None:
        raise RuntimeError("worker lost")

    with monkeypatch.context() as patch:
        patch.setattr(drops, "update_latest", crash)
        with pytest.raises(Exception, match="worker lost"):
            deliver_drop.run_job([*args, "--kind", "batch"])
    half = objects(fake_gcs_client, bucket)
    assert f"{BATCH_DIR}/_SUCCESS" in half and "wikipedia/batches/latest.json" not in half

    again = deliver_drop.run_job([*args, "--kind", "batch"])
    assert again.result is None  # committed already: no pipeline, only latest.json
    done = objects(fake_gcs_client, bucket)
    assert all(done[name].generation == blob.generation for name, blob in half.items())
    latest = json.loads(done["wikipedia/batches/latest.json"].download_as_bytes())
    assert latest["batches"]["frwiki_namespace_0"]["manifest_sha256"] == again.drop["manifest_sha256"]
    assert latest["batches"]["frwiki_namespace_0"]["dump_date"] == DAY


def test_the_job_builds_the_in_process_batch_byte_for_byte(
    fake_gcs, fake_gcs_client, make_fake_gcs_bucket, changes, tmp_path
) -> None:
    serial_bucket, job_bucket = make_fake_gcs_bucket("serial"), make_fake_gcs_bucket("job")
    serial = batch_partner(serial_bucket, chunk_records=2)
    deliver_batch(request(serial, changes, dump_date=DAY), PartnerBucket.for_partner(fake_gcs_client, serial))

    # the request as a snapshot of another date: --kind and --day make it this night's batch
    job = batch_partner(job_bucket, chunk_records=2)
    run = deliver_drop.run_job(
        [*job_args(tmp_path, fake_gcs, request(job, changes)), "--kind", "batch", "--day", DAY, *IN_PROCESS]
    )
    assert run.drop["kind"] == "batch" and run.drop["dump_date"] == DAY
    assert contents(fake_gcs_client, job_bucket) == contents(fake_gcs_client, serial_bucket)
    assert f"{BATCH_DIR}/chunk_0001.parquet" in contents(fake_gcs_client, job_bucket)  # two chunks


@pytest.mark.slow
@pytest.mark.realdata
def test_a_batch_of_apply_changes_output_on_a_real_dump(
    fake_gcs, fake_gcs_client, make_fake_gcs_bucket, tmp_path, monkeypatch
) -> None:
    """The changes/ apply_changes writes for a day of a real edition become a batch that verifies and
    carries, for every page the day created or changed, the record the next snapshot has, and a
    deletion for every page that stopped being an article (turned into a redirect, moved out of the
    namespaces): the base snapshot with the batch applied is the night's snapshot."""
    from beam_jobs import apply_changes, parse_dump
    from beam_jobs.output import committed_output
    from tests.conftest import SHARED_DUMPS
    from wikidrop.dumps.siteinfo import SiteInfo
    from wikidrop.layout import ParseOutput
    from wikidrop.records import records_schema_version
    from wikidrop_dev.incr import play_sample_days

    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs)  # for verify's own client
    export = SHARED_DUMPS / "ltg" / "ltgwiki-2017-COMPLETE-pages-articles-dumpster-dive.xml.bz2"
    base_date, day = "20260101", "20260102"
    scenario = play_sample_days(export, tmp_path / "days", base_date, [day, "20260103"])  # day 1 applied
    base_args = ["--input", str(scenario.base_export), "--output", str(tmp_path / "base")]
    parse_dump.run([*base_args, "--dump-date", base_date, "--scripts", "Latin", *IN_PROCESS])
    night_args = ["--base", str(tmp_path / "base"), "--changes", str(scenario.days[0].pages)]
    apply_changes.run([*night_args, "--output", str(tmp_path / "night"), *IN_PROCESS])
    before, after = (
        ParseOutput(committed_output(str(tmp_path / "base"))),
        ParseOutput(committed_output(str(tmp_path / "night"))),
    )
    changes = sorted(str(f) for f in Path(after.changes_uri).glob("part-*.parquet"))
    site = SiteInfo.from_dict(json.loads(Path(after.siteinfo_uri).read_text()))

    bucket = make_fake_gcs_bucket("acme")
    p = partner(bucket, editions=["ltgwiki"], formats=["ndjson", "parquet"])
    pb = PartnerBucket.for_partner(fake_gcs_client, p)

    def drop_of(shards: list[str], date: str, kind: Any) -> dict[int, dict[str, Any]]:
        version = records_schema_version(pq.read_schema(shards[0]))
        fields = {
            "dbname": "ltgwiki",
            "dump_date": date,
            "site": site,
            "schema_version": version,
            "kind": kind,
        }
        deliver(request(p, shards, **fields), pb)
        directory = f"wikipedia/{kind.directory}/{date}/ltgwiki_namespace_0"
        chunks = sorted(b.name for b in fake_gcs_client.list_blobs(bucket, prefix=f"{directory}/chunk_"))
        b = fake_gcs_client.bucket(bucket)
        records = [
            r
            for name in chunks
            if name.endswith(".ndjson.gz")
            for r in read_ndjson(b.blob(name).download_as_bytes())
        ]
        return {r["identifier"]: r for r in records}

    old = drop_of(
        sorted(str(f) for f in Path(before.articles_uri).glob("part-*.parquet")), base_date, SNAPSHOT
    )
    new = drop_of(sorted(str(f) for f in Path(after.articles_uri).glob("part-*.parquet")), day, SNAPSHOT)
    batch = drop_of(changes, day, BATCH)
    assert verify(f"gs://{bucket}/wikipedia/batches/{day}")[1] == []

    assert batch and {r["event"]["type"] for r in batch.values()} == {"create", "update", "delete"}
    deleted = {page_id for page_id, record in batch.items() if record["event"]["type"] == "delete"}
    # The page turned into a redirect that night (and the one moved out of the namespaces) reach the
    # partner as deletions, named as the partner's snapshot has them.
    assert deleted == {*scenario.roles["day1_became_redirect"], *scenario.roles["day1_left_namespaces"]}
    assert deleted == set(old) - set(new)
    applied = dict(old)
    for page_id, record in batch.items():
        event = record.pop("event")
        if event["type"] == "delete":
            assert {f: v for f, v in record.items() if v is not None} == {
                f: old[page_id][f] for f in ("identifier", "name", "url", "namespace")
            }
            del applied[page_id]
            continue
        assert event["type"] == ("update" if page_id in old else "create")
        assert record == new[page_id]  # the batch brings the page as the night's snapshot has it
        applied[page_id] = record
    assert applied == new  # base snapshot + the night's batch == the night's snapshot
