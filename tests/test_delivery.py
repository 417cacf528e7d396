"""Partner drops against fake-gcs-server (it enforces ifGenerationMatch, so create-only is real)."""

from __future__ import annotations

import gzip
import json
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.conftest import PROJECT_ROOT
from wikidrop.checksums import FileDigest
from wikidrop.config import PartnerConfig
from wikidrop.delivery.bucket import PartnerBucket
from wikidrop.delivery.drops import DeliveryRequest, deliver
from wikidrop.delivery.errors import DeliveryConflict, DeliveryError, OutsidePartnerPrefix
from wikidrop.delivery.sort import ExternalSort
from wikidrop.delivery.verify import verify
from wikidrop.dumps.siteinfo import SiteInfo
from wikidrop.layout import BATCH
from wikidrop.records import ARTICLE_SCHEMA, LICENSE, SCHEMA_VERSION, article_schema

DUMP_DATE = "20250801"
SOURCE_FILES = [
    {
        "name": "frwiki-20250801-pages-articles-multistream.xml.bz2",
        "job": "articlesmultistreamdump",
        "uri": "gs://staging/frwiki/20250801/dump/frwiki-20250801-pages-articles-multistream.xml.bz2",
        "size": 1234,
        "md5": "0" * 32,
        "sha1": "1" * 40,
    }
]
SITE = SiteInfo(
    dbname="frwiki",
    sitename="Wikipédia",
    base_url="https://fr.wikipedia.org/wiki/Wikip%C3%A9dia:Accueil_principal",
    language="fr",
)
VALIDATION = {
    "success": True,
    "critical_failures": [],
    "warnings": ["markup residue 0.4/10k"],
    "counts": {"articles": 3},
    "summary_uri": "gs://staging/frwiki/20250801/validation/summary.json",
}
INFOBOX_PARAM = {
    "name": "nom",
    "value": "Lyon",
    "links": [{"text": "Lyon", "url": "https://fr.wikipedia.org/wiki/Lyon"}],
    "images": [],
    "value_wikitext": "[[Lyon]]",
}


def article(
    page_id: int,
    ns: int = 0,
    text: str | None = None,
    dbname: str = "frwiki",
    is_disambiguation: bool | None = None,
) -> dict[str, Any]:
    """One record with every ARTICLE_SCHEMA field, as the parse job writes it (page_props fields
    null unless ``is_disambiguation`` is given: a run without the page_props table)."""
    name = f"Page {page_id}" if ns == 0 else f"Modèle:Page {page_id}"
    text = f"Texte de la page {page_id}. " * 5 if text is None else text
    url = f"https://fr.wikipedia.org/wiki/{name.replace(' ', '_')}"
    return {
        "name": name,
        "identifier": page_id,
        "url": url,
        "namespace": {"identifier": ns, "name": "" if ns == 0 else "Modèle"},
        "in_language": {"identifier": "fr", "direction": "ltr"},
        "is_part_of": {"identifier": dbname, "url": "https://fr.wikipedia.org"},
        "date_modified": "2025-07-30T12:00:00Z",
        "main_entity": None
        if is_disambiguation is None
        else {"identifier": f"Q{page_id}", "url": f"https://www.wikidata.org/entity/Q{page_id}"},
        "is_disambiguation": is_disambiguation,
        "description": None,
        "image": None,
        "version": {
            "identifier": page_id * 10,
            "parent_identifier": None,
            "comment": "maj",
            "is_minor_edit": False,
            "editor": {"identifier": 7, "name": "Éditeur", "is_anonymous": False},
            "number_of_characters": len(text),
            "size": {"value": len(text.encode()), "unit_text": "B"},
            "sha1": "a" * 31,
        },
        "license": [dict(LICENSE)],
        "article_body": {"wikitext": text},
        "redirects": [{"name": f"Redir {page_id}", "url": url + "_r"}],
        "categories": [],
        "templates": [],
        "text": text,
        "abstract": text[:20],
        "sections": [{"name": "Histoire", "level": 2, "text": "…"}],
        "tables": [
            {
                "identifier": "table-1",
                "section": "Histoire",
                "caption": None,
                "headers": [["Année", "Population"]],
                "rows": [["1990", "415 487"]],
                "parent_identifier": None,
                "text_offset": len(text),
            }
        ],
        "infoboxes": [{"name": "Infobox Ville", "params": [INFOBOX_PARAM]}],
        "references": [],
        "links": [],
        "provenance": {
            "dump_date": DUMP_DATE,
            "source_file": "frwiki-20250801-pages-articles-multistream.xml.bz2",
            "stream_offset": 600,
            "parser_version": "test",
            "schema_version": SCHEMA_VERSION,
        },
    }


def write_shards(
    directory: Path, shards: Iterable[Iterable[dict[str, Any]]], page_props: str | None = None
) -> list[str]:
    """Parquet shards in ARTICLE_SCHEMA (ids deliberately unsorted and interleaved across shards),
    stamped as the parse job does with the page_props file it read (``None``: none)."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    schema = article_schema(page_props)
    for i, records in enumerate(shards):
        path = directory / f"part-{i:05d}.parquet"
        pq.write_table(pa.Table.from_pylist(list(records), schema=schema), path)
        paths.append(str(path))
    return paths


def partner(bucket: str, **overrides: Any) -> PartnerConfig:
    fields = {
        "id": "acme_ai",
        "editions": ["frwiki"],
        "bucket": bucket,
        "prefix": "wikipedia",
        "gcs_conn_id": "wikidrop_partner_acme_ai",
        "formats": ["ndjson", "parquet", "plaintext"],
        "chunk_records": 3,
    }
    return PartnerConfig.model_validate({**fields, **overrides})


def request(p: PartnerConfig, shards: list[str], **overrides: Any) -> DeliveryRequest:
    fields = {
        "partner": p,
        "dbname": "frwiki",
        "dump_date": DUMP_DATE,
        "namespaces": [0],
        "article_shards": shards,
        "run_id": "manual__2026-11-23T10:00:00",
        "schema_version": SCHEMA_VERSION,
        "source_files": SOURCE_FILES,
        "validation": VALIDATION,
        "site": SITE,
    }
    return DeliveryRequest(**{**fields, **overrides})


def objects(client: Any, bucket: str, prefix: str = "") -> dict[str, Any]:
    return {b.name: b for b in client.list_blobs(bucket, prefix=prefix)}


def read_ndjson(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in gzip.decompress(data).splitlines()]


@pytest.fixture
def shards(tmp_path: Path) -> list[str]:
    # ten articles over three shards, out of order; one template page (namespace 10)
    return write_shards(
        tmp_path / "articles",
        [
            [article(9), article(2), article(5)],
            [article(7), article(1), article(12, ns=10)],
            [article(3), article(10), article(4), article(8), article(6)],
        ],
    )


SNAP = f"wikipedia/snapshots/{DUMP_DATE}/frwiki_namespace_0"


def test_drop_layout_manifest_and_formats(fake_gcs_client, make_fake_gcs_bucket, shards) -> None:
    bucket = make_fake_gcs_bucket("acme")
    p = partner(bucket)
    drop = deliver(request(p, shards), PartnerBucket.for_partner(fake_gcs_client, p))

    assert drop["committed"] and drop["record_count"] == 10
    assert drop["manifest_uri"] == f"gs://{bucket}/{SNAP}/manifest.json"
    names = set(objects(fake_gcs_client, bucket))
    chunk_names = {
        f"{SNAP}/chunk_{i:04d}{ext}" for i in range(4) for ext in (".ndjson.gz", ".parquet", ".jsonl.gz")
    }
    assert names == chunk_names | {
        f"{SNAP}/{n}"
        for n in (
            "page_ids.txt.gz",
            "deletions.ndjson.gz",
            "LICENSE.txt",
            "manifest.json",
            "sha256sums.txt",
            "_SUCCESS",
        )
    } | {"wikipedia/latest.json"}

    b = fake_gcs_client.bucket(bucket)
    ndjson = [
        r
        for i in range(4)
        for r in read_ndjson(b.blob(f"{SNAP}/chunk_{i:04d}.ndjson.gz").download_as_bytes())
    ]
    assert [r["identifier"] for r in ndjson] == list(range(1, 11))
    first = ndjson[0]
    assert list(first)[:3] == ["name", "identifier", "url"]  # schema order, Enterprise names
    assert first["version"]["parent_identifier"] is None  # nulls written out, never faked or dropped
    assert first["infoboxes"] == [{"name": "Infobox Ville", "params": [INFOBOX_PARAM]}]
    assert first["tables"][0]["rows"] == [["1990", "415 487"]] and first["tables"][0]["caption"] is None

    plain = read_ndjson(b.blob(f"{SNAP}/chunk_0000.jsonl.gz").download_as_bytes())
    assert [list(r) for r in plain] == [["identifier", "name", "url", "text"]] * 3
    table = pq.read_table(pa.py_buffer(b.blob(f"{SNAP}/chunk_0003.parquet").download_as_bytes()))
    assert table.column("identifier").to_pylist() == [10]
    assert table.schema.field("version").type == ARTICLE_SCHEMA.field("version").type

    manifest_bytes = b.blob(f"{SNAP}/manifest.json").download_as_bytes()
    manifest = json.loads(manifest_bytes)
    assert manifest["identifier"] == "frwiki_namespace_0"
    assert manifest["dump_date"] == DUMP_DATE and manifest["schema_version"] == SCHEMA_VERSION
    assert manifest["record_count"] == 10 and manifest["pipeline"]["run_id"] == "manual__2026-11-23T10:00:00"
    public_url = f"https://dumps.wikimedia.org/frwiki/{DUMP_DATE}/{SOURCE_FILES[0]['name']}"
    assert manifest["source_dump"]["files"][0] == {
        **{k: v for k, v in SOURCE_FILES[0].items() if k != "uri"},  # staging URIs stay internal
        "url": public_url,
    }
    assert manifest["page_props"] == {"source_file": None}  # parsed without page_props: fields null
    assert manifest["validation"]["warnings"] == VALIDATION["warnings"]
    assert "summary_uri" not in manifest["validation"]  # staging internals stay internal
    chunk = manifest["chunks"][0]
    stored = b.get_blob(f"{SNAP}/{chunk['path']}")
    manifest_digest = {k: chunk[k] for k in ("bytes", "md5", "sha256", "crc32c")}
    assert FileDigest(sha1="", **manifest_digest).matches_blob(stored)
    assert (chunk["records"], chunk["first_identifier"], chunk["last_identifier"]) == (3, 1, 3)
    assert manifest["deletions"]["records"] == 0 and manifest["deletions"]["previous_snapshot"] is None
    assert manifest["schema_document"] == "docs/record-schema.md"
    assert (PROJECT_ROOT / manifest["schema_document"]).is_file()

    latest = json.loads(b.blob("wikipedia/latest.json").download_as_bytes())
    assert (
        latest["snapshots"]["frwiki_namespace_0"]["manifest"]
        == f"snapshots/{DUMP_DATE}/frwiki_namespace_0/manifest.json"
    )
    success = json.loads(b.blob(f"{SNAP}/_SUCCESS").download_as_bytes())
    assert success["manifest_sha256"] == drop["manifest_sha256"]
    # _SUCCESS was the last object of the snapshot written
    snapshot_blobs = objects(fake_gcs_client, bucket, SNAP + "/")
    assert max(snapshot_blobs.values(), key=lambda blob: blob.generation).name == f"{SNAP}/_SUCCESS"


def test_create_only_is_enforced(fake_gcs_client, make_fake_gcs_bucket) -> None:
    pb = PartnerBucket(fake_gcs_client, make_fake_gcs_bucket("acme"), "wikipedia")
    assert pb.put("a/x.txt", b"one", FileDigest.of_bytes(b"one")) == "created"
    assert pb.put("a/x.txt", b"one", FileDigest.of_bytes(b"one")) == "kept"
    generation = pb.get("a/x.txt").generation
    with pytest.raises(DeliveryConflict, match="exists with different content"):
        pb.put("a/x.txt", b"two", FileDigest.of_bytes(b"two"))
    assert pb.read_bytes("a/x.txt") == b"one" and pb.get("a/x.txt").generation == generation
    assert pb.put("a/x.txt", b"two", FileDigest.of_bytes(b"two"), replace=True) == "replaced"
    assert pb.read_bytes("a/x.txt") == b"two"


def test_concurrent_writer_is_caught_by_the_server_precondition(
    fake_gcs_client, make_fake_gcs_bucket, monkeypatch
) -> None:
    from google.api_core.exceptions import PreconditionFailed

    bucket = make_fake_gcs_bucket("acme")
    raw = fake_gcs_client.bucket(bucket).blob("wikipedia/a/x.txt")
    raw.upload_from_string(b"one", if_generation_match=0)
    with pytest.raises(PreconditionFailed):  # the emulator enforces create-only
        fake_gcs_client.bucket(bucket).blob("wikipedia/a/x.txt").upload_from_string(
            b"two", if_generation_match=0
        )

    pb = PartnerBucket(fake_gcs_client, bucket, "wikipedia")
    real_get_blob = pb._bucket.get_blob
    looks = []

    def stale_first_look(name, **kwargs):  # the object appeared right after this writer looked
        looks.append(name)
        return None if len(looks) == 1 else real_get_blob(name, **kwargs)

    monkeypatch.setattr(pb._bucket, "get_blob", stale_first_look)
    with pytest.raises(DeliveryConflict):
        pb.put("a/x.txt", b"two", FileDigest.of_bytes(b"two"))
    assert len(looks) == 2  # the server's 412 sent it back to compare
    assert pb.read_bytes("a/x.txt") == b"one"


KILLED_WORKER = """
import json, os, signal, sys

from tests.test_delivery import partner, request
from wikidrop.delivery.bucket import PartnerBucket
from wikidrop.delivery.drops import deliver
from wikidrop.gcs import storage_client

bucket, endpoint, shards = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
real_put = PartnerBucket.put
chunks = []


def put(self, rel, source, digest, *, replace=False):
    if "/chunk_" in rel:
        if len(chunks) == 4:
            os.kill(os.getpid(), signal.SIGKILL)  # the worker dies between two chunk uploads
        chunks.append(rel)
    return real_put(self, rel, source, digest, replace=replace)


PartnerBucket.put = put
p = partner(bucket)
deliver(request(p, shards), PartnerBucket.for_partner(storage_client(endpoint=endpoint), p))
"""


def test_worker_killed_between_chunks_then_retry_completes(
    fake_gcs, fake_gcs_client, make_fake_gcs_bucket, shards, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs)  # for verify's own client
    bucket = make_fake_gcs_bucket("acme")
    p = partner(bucket)
    script = tmp_path / "killed_worker.py"
    script.write_text(KILLED_WORKER)
    killed = subprocess.run(
        [sys.executable, str(script), bucket, fake_gcs, json.dumps(shards)],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    half = objects(fake_gcs_client, bucket)
    assert len(half) == 4 and not any(n.endswith(("_SUCCESS", "latest.json", "manifest.json")) for n in half)
    assert verify(f"gs://{bucket}/{SNAP}")[1]  # not committed: verify refuses it

    drop = deliver(request(p, shards), PartnerBucket.for_partner(fake_gcs_client, p))
    assert drop["committed"] and drop["record_count"] == 10
    done = objects(fake_gcs_client, bucket)
    assert all(done[name].generation == blob.generation for name, blob in half.items())  # kept, not rewritten
    assert drop["snapshots"][0]["objects"]["kept"] == 4
    assert verify(f"gs://{bucket}/{SNAP}")[1] == []


def test_retry_after_crash_with_other_chunking_removes_strays(
    fake_gcs, fake_gcs_client, make_fake_gcs_bucket, shards, monkeypatch
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs)
    bucket = make_fake_gcs_bucket("acme")
    pb = PartnerBucket(fake_gcs_client, bucket, "wikipedia")
    stale = f"snapshots/{DUMP_DATE}/frwiki_namespace_0/chunk_0009.ndjson.gz"
    pb.put(stale, b"left by a crashed attempt", FileDigest.of_bytes(b"left by a crashed attempt"))
    deliver(request(partner(bucket), shards), pb)
    assert pb.get(stale) is None
    assert verify(f"gs://{bucket}/{SNAP}")[1] == []


def test_rerun_is_noop_and_forced_rerun_byte_identical(fake_gcs_client, make_fake_gcs_bucket, shards) -> None:
    bucket = make_fake_gcs_bucket("acme")
    p = partner(bucket)
    pb = PartnerBucket.for_partner(fake_gcs_client, p)
    first = deliver(request(p, shards), pb)
    before = objects(fake_gcs_client, bucket)

    again = deliver(request(p, shards, run_id="scheduled__other"), pb)
    assert again["snapshots"][0]["unchanged"] and again["manifest_sha256"] == first["manifest_sha256"]
    # the commit time is recorded once, in _SUCCESS: a rerun reports the same (its notices' time)
    committed_at = first["snapshots"][0]["committed_at"]
    assert again["snapshots"][0]["committed_at"] == committed_at
    assert json.loads(pb.read_bytes(f"snapshots/{DUMP_DATE}/frwiki_namespace_0/_SUCCESS"))[
        "committed_at"
    ] == (committed_at)
    assert {n: b.generation for n, b in objects(fake_gcs_client, bucket).items()} == {
        n: b.generation for n, b in before.items()
    }

    forced = deliver(request(p, shards, force=True), pb)
    after = objects(fake_gcs_client, bucket)
    assert forced["committed"] and forced["manifest_sha256"] == first["manifest_sha256"]
    chunks = [n for n in before if "/chunk_" in n]
    assert all(after[n].md5_hash == before[n].md5_hash for n in chunks)
    assert (
        after[f"{SNAP}/_SUCCESS"].generation != before[f"{SNAP}/_SUCCESS"].generation
    )  # withdrawn, rewritten

    # built from scratch in another place, the chunks are the same bytes
    elsewhere = partner(bucket, id="acme_copy", prefix="copy")
    deliver(request(elsewhere, list(reversed(shards))), PartnerBucket.for_partner(fake_gcs_client, elsewhere))
    copy = objects(fake_gcs_client, bucket, "copy/")
    for name in chunks:
        assert copy[name.replace("wikipedia/", "copy/", 1)].md5_hash == before[name].md5_hash


def test_two_partners_are_isolated(fake_gcs_client, make_fake_gcs_bucket, shards) -> None:
    shared = make_fake_gcs_bucket("shared")
    own = make_fake_gcs_bucket("globex")
    acme = partner(shared, prefix="acme")
    acme_next_door = partner(shared, id="acme_labs", prefix="acme-labs", formats=["ndjson"])
    globex = partner(
        own,
        id="globex_llm",
        prefix="corpora/wikipedia",
        formats=["plaintext"],
        fields=["identifier", "name", "url", "text"],
    )
    for p in (acme, acme_next_door, globex):
        deliver(request(p, shards), PartnerBucket.for_partner(fake_gcs_client, p))

    in_shared = objects(fake_gcs_client, shared)
    assert all(n.startswith(("acme/", "acme-labs/")) for n in in_shared)
    assert not any(n.endswith(".parquet") for n in in_shared if n.startswith("acme-labs/"))
    assert all(n.startswith("corpora/wikipedia/") for n in objects(fake_gcs_client, own))

    pb = PartnerBucket.for_partner(fake_gcs_client, acme)
    for outside in (
        "../acme-labs/latest.json",
        "/etc/x",
        "a//b",
        "a/./b",
        "snapshots/../../x",
        "",
        "a\\..\\b",
    ):
        with pytest.raises(OutsidePartnerPrefix):
            pb.put(outside, b"x", FileDigest.of_bytes(b"x"))
    foreign = fake_gcs_client.bucket(shared).get_blob("acme-labs/latest.json")
    with pytest.raises(OutsidePartnerPrefix):
        pb.delete(foreign)
    assert fake_gcs_client.bucket(shared).get_blob("acme-labs/latest.json") is not None


def test_tombstones_list_pages_gone_since_previous_snapshot(
    fake_gcs_client, make_fake_gcs_bucket, tmp_path
) -> None:
    bucket = make_fake_gcs_bucket("acme")
    p = partner(bucket, formats=["ndjson"])
    pb = PartnerBucket.for_partner(fake_gcs_client, p)
    old = write_shards(
        tmp_path / "old", [[article(i) for i in (5, 1, 2, 3)], [article(i) for i in (4, 9, 10)]]
    )
    new = write_shards(tmp_path / "new", [[article(i) for i in (11, 1, 2)], [article(i) for i in (4, 5, 8)]])
    deliver(request(p, old, dump_date="20250701"), pb)
    drop = deliver(request(p, new, dump_date=DUMP_DATE), pb)

    b = fake_gcs_client.bucket(bucket)
    manifest = json.loads(b.blob(f"{SNAP}/manifest.json").download_as_bytes())
    deletions = manifest["deletions"]
    assert deletions["previous_snapshot"]["dump_date"] == "20250701"
    assert deletions["records"] == 3
    assert read_ndjson(b.blob(f"{SNAP}/{deletions['path']}").download_as_bytes()) == [
        {"identifier": 3},
        {"identifier": 9},
        {"identifier": 10},
    ]
    latest = json.loads(b.blob("wikipedia/latest.json").download_as_bytes())
    assert latest["snapshots"]["frwiki_namespace_0"]["dump_date"] == DUMP_DATE
    assert latest["snapshots"]["frwiki_namespace_0"]["manifest_sha256"] == drop["manifest_sha256"]

    # redelivering the older date (forced) keeps latest.json on the newer one
    deliver(request(p, old, dump_date="20250701", force=True), pb)
    assert json.loads(b.blob("wikipedia/latest.json").download_as_bytes()) == latest


def test_filters_fields_and_namespaces(fake_gcs_client, make_fake_gcs_bucket, tmp_path) -> None:
    bucket = make_fake_gcs_bucket("globex")
    shards = write_shards(
        tmp_path / "a",
        [
            [
                article(1, text="court", is_disambiguation=False),
                article(2, is_disambiguation=False),
                article(3, ns=10, is_disambiguation=False),
                article(4, ns=10, text="x", is_disambiguation=False),
            ]
        ],
        page_props="frwiki-20250801-page_props.sql.gz",
    )
    p = partner(
        bucket,
        formats=["ndjson"],
        fields=["name", "text"],  # the page id comes anyway
        filters={"min_text_length": 10, "namespaces": [0, 10], "exclude_disambiguation": True},
    )
    drop = deliver(request(p, shards, namespaces=[0, 10]), PartnerBucket.for_partner(fake_gcs_client, p))
    assert [(s["identifier"], s["record_count"]) for s in drop["snapshots"]] == [
        ("frwiki_namespace_0", 1),
        ("frwiki_namespace_10", 1),
    ]
    b = fake_gcs_client.bucket(bucket)
    rows = read_ndjson(
        b.blob(
            f"wikipedia/snapshots/{DUMP_DATE}/frwiki_namespace_10/chunk_0000.ndjson.gz"
        ).download_as_bytes()
    )
    assert [list(r) for r in rows] == [["name", "identifier", "text"]] and rows[0]["identifier"] == 3
    manifest = json.loads(b.blob(f"{SNAP}/manifest.json").download_as_bytes())
    assert manifest["excluded_by_filters"] == {"min_text_length": 1}

    # the config rejects unknown fields; staged articles of an older schema can still lack one
    older = pa.schema([f for f in ARTICLE_SCHEMA if f.name != "abstract"], metadata=ARTICLE_SCHEMA.metadata)
    old_shard = tmp_path / "older" / "part-00000.parquet"
    old_shard.parent.mkdir()
    pq.write_table(pa.Table.from_pylist([article(1)], schema=older), old_shard)
    with pytest.raises(DeliveryError, match="field 'abstract': the article record has no 'abstract'"):
        deliver(
            request(
                partner(bucket, prefix="other", formats=["ndjson"], fields=["abstract"]), [str(old_shard)]
            ),
            PartnerBucket(fake_gcs_client, bucket, "other"),
        )


def test_exclude_disambiguation_acts_when_the_parse_read_page_props(
    fake_gcs_client, make_fake_gcs_bucket, tmp_path
) -> None:
    bucket = make_fake_gcs_bucket("globex")
    records = [
        article(1, is_disambiguation=False),
        article(2, is_disambiguation=True),
        article(3, is_disambiguation=False),
    ]
    shards = write_shards(tmp_path / "a", [records], page_props="frwiki-20250801-page_props.sql.gz")
    p = partner(bucket, formats=["ndjson"], filters={"exclude_disambiguation": True})
    deliver(request(p, shards), PartnerBucket.for_partner(fake_gcs_client, p))
    b = fake_gcs_client.bucket(bucket)
    rows = read_ndjson(b.blob(f"{SNAP}/chunk_0000.ndjson.gz").download_as_bytes())
    assert [r["identifier"] for r in rows] == [1, 3]
    manifest = json.loads(b.blob(f"{SNAP}/manifest.json").download_as_bytes())
    assert manifest["excluded_by_filters"] == {"exclude_disambiguation": 1}
    assert manifest["page_props"] == {"source_file": "frwiki-20250801-page_props.sql.gz"}


def test_exclude_disambiguation_without_page_props_fails_the_drop(
    fake_gcs_client, make_fake_gcs_bucket, tmp_path
) -> None:
    """Delivering would pass every disambiguation page through: the drop fails before writing."""
    bucket = make_fake_gcs_bucket("globex")
    shards = write_shards(tmp_path / "a", [[article(1), article(2)]])  # parsed without page_props
    p = partner(bucket, formats=["ndjson"], filters={"exclude_disambiguation": True})
    with pytest.raises(
        DeliveryError, match="exclude_disambiguation cannot act: the parse read no page_props"
    ):
        deliver(request(p, shards), PartnerBucket.for_partner(fake_gcs_client, p))
    assert list(fake_gcs_client.bucket(bucket).list_blobs()) == []


def test_nested_field_selection(fake_gcs_client, make_fake_gcs_bucket, shards) -> None:
    bucket = make_fake_gcs_bucket("acme")
    fields = ["version.editor.name", "name", "sections.name", "version.sha1"]
    p = partner(bucket, formats=["ndjson", "parquet"], fields=fields, chunk_records=100)
    deliver(request(p, shards), PartnerBucket.for_partner(fake_gcs_client, p))

    b = fake_gcs_client.bucket(bucket)
    first = read_ndjson(b.blob(f"{SNAP}/chunk_0000.ndjson.gz").download_as_bytes())[0]
    assert first == {
        "name": "Page 1",
        "identifier": 1,
        "version": {"editor": {"name": "Éditeur"}, "sha1": "a" * 31},
        "sections": [{"name": "Histoire"}],
    }
    table = pq.read_table(pa.py_buffer(b.blob(f"{SNAP}/chunk_0000.parquet").download_as_bytes()))
    assert table.schema.names == ["name", "identifier", "version", "sections"]
    assert table.slice(0, 1).to_pylist()[0] == first
    manifest = json.loads(b.blob(f"{SNAP}/manifest.json").download_as_bytes())
    assert manifest["fields"] == [
        "name",
        "identifier",
        "version.editor.name",
        "version.sha1",
        "sections.name",
    ]


def test_refuses_failed_validation_and_duplicate_pages(
    fake_gcs_client, make_fake_gcs_bucket, tmp_path, shards
) -> None:
    bucket = make_fake_gcs_bucket("acme")
    p = partner(bucket)
    pb = PartnerBucket.for_partner(fake_gcs_client, p)
    with pytest.raises(DeliveryError, match="validation failed"):
        deliver(request(p, shards, validation={**VALIDATION, "success": False}), pb)
    duplicated = write_shards(tmp_path / "dup", [[article(1), article(2)], [article(2)]])
    with pytest.raises(DeliveryError, match=r"page id 2 .* appears twice"):
        deliver(request(p, duplicated), pb)
    broken = tmp_path / "broken" / "part-00009.parquet"
    broken.parent.mkdir()
    broken.write_bytes(Path(shards[0]).read_bytes()[:-200])  # a shard cut short
    with pytest.raises(DeliveryError, match=f"{broken}: cannot read articles shard"):
        deliver(request(p, [shards[1], str(broken)]), pb)
    with pytest.raises(DeliveryError, match=f"{broken}: cannot read articles shard"):
        deliver(request(p, [str(broken)]), pb)
    assert not any(n.endswith("_SUCCESS") for n in objects(fake_gcs_client, bucket))


def test_gs_shards_are_read_from_staging(fake_gcs_client, make_fake_gcs_bucket, shards) -> None:
    staging = make_fake_gcs_bucket("staging")
    uris = []
    for path in shards:
        name = f"frwiki/{DUMP_DATE}/parsed/articles/{Path(path).name}"
        fake_gcs_client.bucket(staging).blob(name).upload_from_filename(path)
        uris.append(f"gs://{staging}/{name}")
    p = partner(make_fake_gcs_bucket("acme"), formats=["plaintext"])
    drop = deliver(
        request(p, uris), PartnerBucket.for_partner(fake_gcs_client, p), staging_client=fake_gcs_client
    )
    assert drop["record_count"] == 10


def test_external_sort_spills_and_merges_in_rounds(tmp_path) -> None:
    sorter = ExternalSort(tmp_path, run_bytes=200, fan_in=3)
    keys = [(i % 3, (i * 7919) % 1009) for i in range(500)]
    for key in keys:
        sorter.add(key, {"payload": key})
    assert len(list(tmp_path.iterdir())) < 500 // 3  # spilled, and merged in rounds
    assert [k for k, _ in sorter.sorted()] == sorted(keys)


def test_batch_is_a_drop_kind_with_its_own_folder_and_latest(
    fake_gcs, fake_gcs_client, make_fake_gcs_bucket, tmp_path, monkeypatch
) -> None:
    """A nightly batch goes through the same delivery as a snapshot, under batches/, without tombstones."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs)
    event_type = pa.struct([("type", pa.string()), ("date_published", pa.string())])
    schema = ARTICLE_SCHEMA.append(pa.field("event", event_type))

    def day(directory: str, changes: dict[int, str]) -> list[str]:
        rows = [
            {**article(i), "event": {"type": t, "date_published": "2025-08-02T01:00:00Z"}}
            for i, t in changes.items()
        ]
        path = tmp_path / directory / "part-00000.parquet"
        path.parent.mkdir()
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
        return [str(path)]

    bucket = make_fake_gcs_bucket("acme")
    p = partner(bucket, formats=["ndjson", "parquet"], fields=["name"])
    pb = PartnerBucket.for_partner(fake_gcs_client, p)
    deliver(request(p, day("d1", {4: "update", 2: "create"}), dump_date="20250802", kind=BATCH), pb)
    drop = deliver(request(p, day("d2", {7: "create"}), dump_date="20250803", kind=BATCH), pb)

    batch = "wikipedia/batches/20250803/frwiki_namespace_0"
    assert drop["manifest_uri"] == f"gs://{bucket}/{batch}/manifest.json"
    names = set(objects(fake_gcs_client, bucket))
    assert "wikipedia/latest.json" not in names  # the snapshots' pointer is not touched
    assert not any("snapshots/" in n or n.endswith("deletions.ndjson.gz") for n in names)
    b = fake_gcs_client.bucket(bucket)
    records = read_ndjson(b.blob(f"{batch}/chunk_0000.ndjson.gz").download_as_bytes())
    assert records == [
        {
            "name": "Page 7",
            "identifier": 7,
            "event": {"type": "create", "date_published": "2025-08-02T01:00:00Z"},
        }
    ]
    manifest = json.loads(b.blob(f"{batch}/manifest.json").download_as_bytes())
    assert manifest["deletions"] is None and manifest["fields"] == ["name", "identifier", "event"]
    latest = json.loads(b.blob("wikipedia/batches/latest.json").download_as_bytes())
    assert latest == {
        "batches": {
            "frwiki_namespace_0": {
                "dump_date": "20250803",
                "manifest": "batches/20250803/frwiki_namespace_0/manifest.json",
                "manifest_sha256": drop["manifest_sha256"],
                "record_count": 1,
            }
        }
    }
    assert verify(f"gs://{bucket}/{batch}")[1] == []


class Crash(Exception):
    """Stands for the worker dying at that point: nothing after it runs."""


def latest_entry(client: Any, bucket: str, path: str = "wikipedia/latest.json") -> dict[str, Any] | None:
    blob = client.bucket(bucket).get_blob(path)
    return (
        None if blob is None else json.loads(blob.download_as_bytes())["snapshots"].get("frwiki_namespace_0")
    )


def test_retry_finishes_a_commit_that_stopped_before_latest_json(
    fake_gcs_client, make_fake_gcs_bucket, shards, tmp_path, monkeypatch
) -> None:
    import wikidrop.delivery.drops as drops

    bucket = make_fake_gcs_bucket("acme")
    p = partner(bucket)
    pb = PartnerBucket.for_partner(fake_gcs_client, p)
    deliver(request(p, write_shards(tmp_path / "old", [[article(1)]]), dump_date="20250701"), pb)

    def crash(*args: Any, **kwargs: Any) -> None:
        raise Crash

    with monkeypatch.context() as patch:
        patch.setattr(drops, "update_latest", crash)
        with pytest.raises(Crash):
            deliver(request(p, shards), pb)
    assert pb.get(f"snapshots/{DUMP_DATE}/frwiki_namespace_0/_SUCCESS") is not None
    assert latest_entry(fake_gcs_client, bucket)["dump_date"] == "20250701"

    drop = deliver(request(p, shards), pb)  # the retry finds the snapshot committed
    assert drop["snapshots"][0]["unchanged"]
    latest = latest_entry(fake_gcs_client, bucket)
    assert (latest["dump_date"], latest["manifest_sha256"]) == (DUMP_DATE, drop["manifest_sha256"])


def test_forced_redelivery_never_leaves_latest_json_on_an_uncommitted_snapshot(
    fake_gcs_client, make_fake_gcs_bucket, shards, tmp_path, monkeypatch
) -> None:
    bucket = make_fake_gcs_bucket("acme")
    p = partner(bucket)
    pb = PartnerBucket.for_partner(fake_gcs_client, p)
    old = deliver(request(p, write_shards(tmp_path / "old", [[article(1)]]), dump_date="20250701"), pb)
    new = deliver(request(p, shards), pb)
    real_put = PartnerBucket.put

    def crash_at_first_chunk(self, rel, *args: Any, **kwargs: Any) -> str:
        if "/chunk_" in rel:
            raise Crash
        return real_put(self, rel, *args, **kwargs)

    with monkeypatch.context() as patch:
        patch.setattr(PartnerBucket, "put", crash_at_first_chunk)
        with pytest.raises(Crash):
            deliver(request(p, shards, force=True), pb)
    assert pb.get(f"snapshots/{DUMP_DATE}/frwiki_namespace_0/_SUCCESS") is None  # withdrawn
    latest = latest_entry(fake_gcs_client, bucket)
    assert latest == {
        "dump_date": "20250701",
        "manifest": "snapshots/20250701/frwiki_namespace_0/manifest.json",
        "manifest_sha256": old["manifest_sha256"],
        "record_count": 1,
    }

    deliver(request(p, shards), pb)
    assert latest_entry(fake_gcs_client, bucket)["manifest_sha256"] == new["manifest_sha256"]

    # with no older snapshot to fall back on, the entry is gone while the snapshot is rewritten
    only = partner(bucket, id="acme_only", prefix="only")
    pb_only = PartnerBucket.for_partner(fake_gcs_client, only)
    deliver(request(only, shards), pb_only)
    with monkeypatch.context() as patch:
        patch.setattr(PartnerBucket, "put", crash_at_first_chunk)
        with pytest.raises(Crash):
            deliver(request(only, shards, force=True), pb_only)
    assert latest_entry(fake_gcs_client, bucket, "only/latest.json") is None


def test_plaintext_honours_fields(fake_gcs_client, make_fake_gcs_bucket, shards) -> None:
    bucket = make_fake_gcs_bucket("acme")
    p = partner(bucket, formats=["plaintext", "ndjson"], fields=["text", "name"])
    deliver(request(p, shards), PartnerBucket.for_partner(fake_gcs_client, p))
    b = fake_gcs_client.bucket(bucket)
    plain = read_ndjson(b.blob(f"{SNAP}/chunk_0000.jsonl.gz").download_as_bytes())
    assert plain[0] == {"identifier": 1, "name": "Page 1", "text": article(1)["text"]}
    manifest = json.loads(b.blob(f"{SNAP}/manifest.json").download_as_bytes())
    assert manifest["plaintext_fields"] == ["identifier", "name", "text"]


def test_every_drop_carries_its_licence_and_how_to_credit_the_authors(
    fake_gcs, fake_gcs_client, make_fake_gcs_bucket, shards, monkeypatch
) -> None:
    """Even a plaintext drop of text alone: LICENSE.txt, listed in the manifest and sha256sums.txt."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs)  # for verify's own client
    bucket = make_fake_gcs_bucket("acme")
    p = partner(bucket, formats=["plaintext"], fields=["text"])
    deliver(request(p, shards), PartnerBucket.for_partner(fake_gcs_client, p))
    b = fake_gcs_client.bucket(bucket)
    manifest = json.loads(b.blob(f"{SNAP}/manifest.json").download_as_bytes())
    licence_bytes = b.blob(f"{SNAP}/LICENSE.txt").download_as_bytes()
    licence = licence_bytes.decode("utf-8")

    section = manifest["license"]
    assert {k: section[k] for k in ("name", "identifier", "url")} == LICENSE  # as the records say
    assert section["earlier_revisions"]["saved_before"] == "2023-06-29"
    assert section["earlier_revisions"]["identifier"] == "CC-BY-SA-3.0"
    assert "GNU Free Documentation License" in section["gfdl"]
    assert section["file"] == {
        "path": "LICENSE.txt",
        **FileDigest.of_bytes(licence_bytes).as_dict(("bytes", "md5", "sha256", "crc32c")),
    }
    sums = b.blob(f"{SNAP}/sha256sums.txt").download_as_bytes().decode()
    assert f"{section['file']['sha256']}  LICENSE.txt\n" in sums

    attribution = manifest["attribution"]
    assert attribution["edition"] == {
        "dbname": "frwiki",
        "name": "Wikipédia",
        "language": "fr",
        "url": "https://fr.wikipedia.org",
    }
    plain = read_ndjson(b.blob(f"{SNAP}/chunk_0000.jsonl.gz").download_as_bytes())
    first = plain[0]
    assert list(first) == ["identifier", "text"]  # the page id is always delivered: the history link needs it
    assert attribution["history_url"].format(**first) == (
        "https://fr.wikipedia.org/w/index.php?curid=1&action=history"
    )
    assert (
        "Wikipédia (https://fr.wikipedia.org, frwiki, language fr), Wikimedia dump of 2025-08-01"
        in (attribution["statement"])
    )

    for fact in (
        "https://dumps.wikimedia.org/frwiki/20250801/",
        "Creative Commons Attribution-ShareAlike 4.0 International",
        "https://creativecommons.org/licenses/by-sa/4.0/legalcode",
        "Revisions saved before 2023-06-29",
        "https://creativecommons.org/licenses/by-sa/3.0/",
        "GNU Free Documentation License",
        "https://foundation.wikimedia.org/wiki/Policy:Terms_of_Use",
        "https://dumps.wikimedia.org/legal.html",
        "https://fr.wikipedia.org/w/index.php?curid=<identifier>&action=history",
    ):
        assert fact in licence, fact
    assert verify(f"gs://{bucket}/{SNAP}")[1] == []


def test_licence_names_the_edition_it_comes_with() -> None:
    from wikidrop.delivery.attribution import license_text

    site = SiteInfo(
        dbname="ukwiki", sitename="Вікіпедія", base_url="https://uk.wikipedia.org/wiki/", language="uk"
    )
    text = license_text(site, "20230501").decode("utf-8")
    assert text.startswith(
        "Licence and attribution: Вікіпедія (https://uk.wikipedia.org, ukwiki, language uk), "
        "Wikimedia dump of 2023-05-01\n"
    )
    assert "https://uk.wikipedia.org/w/index.php?curid=<identifier>&action=history" in text
    assert "fr.wikipedia" not in text and "frwiki" not in text


def test_partners_get_public_dump_names_never_staging_paths(
    fake_gcs_client, make_fake_gcs_bucket, tmp_path
) -> None:
    staged = f"gs://wikidrop-staging/frwiki/{DUMP_DATE}/dump/{SOURCE_FILES[0]['name']}"
    records = [article(2), article(1)]
    for record in records:
        record["provenance"]["source_file"] = staged
    shards = write_shards(tmp_path / "a", [records])
    bucket = make_fake_gcs_bucket("acme")
    p = partner(bucket, formats=["ndjson", "parquet"])
    deliver(request(p, shards), PartnerBucket.for_partner(fake_gcs_client, p))

    b = fake_gcs_client.bucket(bucket)
    delivered = read_ndjson(b.blob(f"{SNAP}/chunk_0000.ndjson.gz").download_as_bytes())
    table = pq.read_table(pa.py_buffer(b.blob(f"{SNAP}/chunk_0000.parquet").download_as_bytes()))
    for provenance in [r["provenance"] for r in delivered] + table.column("provenance").to_pylist():
        assert provenance["source_file"] == SOURCE_FILES[0]["name"]
    manifest = json.loads(b.blob(f"{SNAP}/manifest.json").download_as_bytes())
    assert manifest["source_dump"]["files"][0]["url"] == (
        f"https://dumps.wikimedia.org/frwiki/{DUMP_DATE}/{SOURCE_FILES[0]['name']}"
    )
    assert "wikidrop-staging" not in json.dumps(manifest) + json.dumps(delivered)


def test_delivery_logs_progress_of_reading_and_writing(
    fake_gcs_client, make_fake_gcs_bucket, shards, monkeypatch, caplog
) -> None:
    import wikidrop.progress

    monkeypatch.setattr(wikidrop.progress, "INTERVAL_SECONDS", 0.0)  # a line at every step
    bucket = make_fake_gcs_bucket("acme")
    p = partner(bucket, formats=["ndjson"])
    with caplog.at_level(logging.INFO, logger="wikidrop.delivery.drops"):
        deliver(request(p, shards, article_count=11), PartnerBucket.for_partner(fake_gcs_client, p))
    lines = [m for m in caplog.messages if m.startswith("acme_ai frwiki 20250801: ")]
    assert "acme_ai frwiki 20250801: read 11 of 11 records (100%)" in "\n".join(lines)
    written = [m for m in lines if ": written " in m]
    assert len(written) == 10 and written[-1].startswith("acme_ai frwiki 20250801: written 10 of 10 records")
    assert "ETA" in written[0]
