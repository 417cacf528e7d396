"""Checksum-verified staging from the HTTP mirror on 127.0.0.1 into the GCS emulator."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

import wikidrop.dumps.staging
from tests.conftest import SHARED_DUMPS
from tests.fixtures.dump_mirror import SAMPLE_DUMP_DATE, SAMPLES, DroppingMirror, ServedMirror, upload_mirror
from wikidrop.contracts import StagedDump
from wikidrop.dumps.dumpstatus import DumpStatusError, MirrorConnectionClosed
from wikidrop.dumps.staging import META_MD5, META_SHA1, StagingChecksumError, stage_dump
from wikidrop.layout import INCOMING_DIR, StagingPartition
from wikidrop_dev.mirror import build_mirror, with_jobs_in_progress

FRWIKI_FILES = [
    "frwiki-20261101-pages-articles-multistream.xml.bz2",
    "frwiki-20261101-pages-articles-multistream-index.txt.bz2",
    "frwiki-20261101-siteinfo-namespaces.json.gz",
    "frwiki-20261101-page_props.sql.gz",
]


def object_generations(client, bucket: str) -> dict[str, int]:
    return {blob.name: blob.generation for blob in client.list_blobs(bucket)}


def file_requests(served: ServedMirror) -> int:
    """GETs of dump files (anything but dumpstatus.json) the mirror has served."""
    return sum(n for path, n in served.requests.items() if not path.endswith("/dumpstatus.json"))


def test_stage_dump_copies_verified_files_and_returns_staged_dump(
    dump_mirror, gcs_client, make_bucket, sample_mirror_root
):
    bucket = make_bucket("staging")
    partition = StagingPartition(bucket, "frwiki", SAMPLE_DUMP_DATE)
    staged = stage_dump(dump_mirror, "frwiki", SAMPLE_DUMP_DATE, partition, gcs_client)

    dump_uri = f"gs://{bucket}/frwiki/20261101/dump"
    assert staged.dumpstatus_uri == f"{dump_uri}/dumpstatus.json"
    assert [f.name for f in staged.files] == FRWIKI_FILES
    assert staged.pages_articles == [f"{dump_uri}/{FRWIKI_FILES[0]}"]
    assert staged.index == [f"{dump_uri}/{FRWIKI_FILES[1]}"]
    assert staged.siteinfo_json == f"{dump_uri}/{FRWIKI_FILES[2]}"
    assert staged.page_props == f"{dump_uri}/{FRWIKI_FILES[3]}"
    assert StagedDump.from_xcom(json.loads(json.dumps(staged.to_xcom()))) == staged  # an XCom value

    source = sample_mirror_root / "frwiki" / SAMPLE_DUMP_DATE
    for entry in staged.files:
        blob = gcs_client.bucket(bucket).get_blob(f"frwiki/20261101/dump/{entry.name}")
        content = blob.download_as_bytes()
        assert content == (source / entry.name).read_bytes()
        assert entry.size == len(content)
        assert entry.md5 == hashlib.md5(content).hexdigest() == blob.metadata[META_MD5]
        assert entry.sha1 == hashlib.sha1(content).hexdigest() == blob.metadata[META_SHA1]
        assert entry.job in ("articlesmultistreamdump", "namespaces", "pagepropstable")
    staged_status = gcs_client.bucket(bucket).blob("frwiki/20261101/dump/dumpstatus.json").download_as_bytes()
    assert staged_status == (source / "dumpstatus.json").read_bytes()
    assert not [b.name for b in gcs_client.list_blobs(bucket) if f"/{INCOMING_DIR}/" in b.name]


def test_rerun_of_a_finished_staging_uploads_and_downloads_nothing(mirror_server, gcs_client, make_bucket):
    bucket = make_bucket("staging")
    partition = StagingPartition(bucket, "jawiki", SAMPLE_DUMP_DATE)
    first = stage_dump(mirror_server.url, "jawiki", SAMPLE_DUMP_DATE, partition, gcs_client)
    generations = object_generations(gcs_client, bucket)
    downloads = file_requests(mirror_server)
    assert downloads == 4 and len(generations) == 5  # 4 dump files (page_props too) + dumpstatus.json

    again = stage_dump(mirror_server.url, "jawiki", SAMPLE_DUMP_DATE, partition, gcs_client)
    assert again == first
    assert object_generations(gcs_client, bucket) == generations
    assert file_requests(mirror_server) == downloads


def test_checksum_mismatch_fails_naming_file_and_both_checksums_and_stages_nothing(
    mirror_server, gcs_client, make_bucket
):
    bucket = make_bucket("staging")
    partition = StagingPartition(bucket, "ukwiki", SAMPLE_DUMP_DATE)
    directory = mirror_server.root / "ukwiki" / SAMPLE_DUMP_DATE
    name = "ukwiki-20261101-pages-articles-multistream-index.txt.bz2"
    expected = json.loads((directory / "dumpstatus.json").read_text())["jobs"]["articlesmultistreamdump"][
        "files"
    ][name]
    corrupted = bytearray((directory / name).read_bytes())
    corrupted[len(corrupted) // 2] ^= 0xFF  # same size, different bytes
    (directory / name).write_bytes(bytes(corrupted))

    with pytest.raises(StagingChecksumError) as failure:
        stage_dump(mirror_server.url, "ukwiki", SAMPLE_DUMP_DATE, partition, gcs_client)
    message = str(failure.value)
    assert name in message
    assert expected["md5"] in message and hashlib.md5(corrupted).hexdigest() in message
    assert expected["sha1"] in message and hashlib.sha1(corrupted).hexdigest() in message
    names = {b.name for b in gcs_client.list_blobs(bucket)}
    assert f"ukwiki/20261101/dump/{name}" not in names
    assert not [n for n in names if f"/{INCOMING_DIR}/" in n]
    assert "ukwiki/20261101/dump/dumpstatus.json" not in names  # staging is not marked complete


def test_republished_dump_replaces_what_was_staged_or_removes_it_on_mismatch(
    mirror_server, gcs_client, make_bucket
):
    bucket = make_bucket("staging")
    partition = StagingPartition(bucket, "frwiki", SAMPLE_DUMP_DATE)
    stage_dump(mirror_server.url, "frwiki", SAMPLE_DUMP_DATE, partition, gcs_client)
    status_path = mirror_server.root / "frwiki" / SAMPLE_DUMP_DATE / "dumpstatus.json"
    status = json.loads(status_path.read_text())
    status["jobs"]["namespaces"]["files"][FRWIKI_FILES[2]]["md5"] = (
        "0" * 32
    )  # the mirror now promises other bytes
    status_path.write_text(json.dumps(status))

    with pytest.raises(StagingChecksumError, match=f"{FRWIKI_FILES[2]}: checksum mismatch .* md5={'0' * 32}"):
        stage_dump(mirror_server.url, "frwiki", SAMPLE_DUMP_DATE, partition, gcs_client)
    names = {b.name for b in gcs_client.list_blobs(bucket)}
    assert f"frwiki/20261101/dump/{FRWIKI_FILES[2]}" not in names
    assert f"frwiki/20261101/dump/{FRWIKI_FILES[0]}" in names  # still verified against this dumpstatus


def test_dump_in_progress_is_not_staged(mirror_server, gcs_client, make_bucket):
    bucket = make_bucket("staging")
    status_path = mirror_server.root / "jawiki" / SAMPLE_DUMP_DATE / "dumpstatus.json"
    status_path.write_text(
        json.dumps(with_jobs_in_progress(json.loads(status_path.read_text()), ["namespaces"]))
    )
    with pytest.raises(DumpStatusError, match=r"jobs not done: \{'namespaces': 'in-progress'\}"):
        stage_dump(
            mirror_server.url,
            "jawiki",
            SAMPLE_DUMP_DATE,
            StagingPartition(bucket, "jawiki", SAMPLE_DUMP_DATE),
            gcs_client,
        )
    assert list(gcs_client.list_blobs(bucket)) == []


def test_partial_files_are_all_staged_in_order(tmp_path: Path, gcs_client, make_bucket):
    build_mirror(SAMPLES / f"ukwiki-{SAMPLE_DUMP_DATE}-pages-articles.xml.bz2", tmp_path, pages_per_part=10)
    bucket = make_bucket("staging")
    staged = stage_dump(
        str(tmp_path),
        "ukwiki",
        SAMPLE_DUMP_DATE,
        StagingPartition(bucket, "ukwiki", SAMPLE_DUMP_DATE),
        gcs_client,
    )
    assert [uri.rsplit("/", 1)[1] for uri in staged.pages_articles] == [
        "ukwiki-20261101-pages-articles-multistream1.xml-p2p11.bz2",
        "ukwiki-20261101-pages-articles-multistream2.xml-p12p21.bz2",
        "ukwiki-20261101-pages-articles-multistream3.xml-p22p30.bz2",
    ]
    assert len(staged.index) == 3


def test_page_props_job_is_optional_and_staged_only_when_done(tmp_path: Path, gcs_client, make_bucket):
    export = SAMPLES / f"jawiki-{SAMPLE_DUMP_DATE}-pages-articles.xml.bz2"
    props = SAMPLES / f"jawiki-{SAMPLE_DUMP_DATE}-page_props.sql"
    bucket = make_bucket("staging")
    partition = StagingPartition(bucket, "jawiki", SAMPLE_DUMP_DATE)

    build_mirror(export, tmp_path, page_props=props, in_progress=["pagepropstable"])
    staged = stage_dump(str(tmp_path), "jawiki", SAMPLE_DUMP_DATE, partition, gcs_client)
    assert staged.page_props is None and len(staged.files) == 3

    build_mirror(export, tmp_path)  # a dump without the job at all
    staged = stage_dump(str(tmp_path), "jawiki", SAMPLE_DUMP_DATE, partition, gcs_client)
    assert staged.page_props is None

    build_mirror(export, tmp_path, page_props=props)
    staged = stage_dump(str(tmp_path), "jawiki", SAMPLE_DUMP_DATE, partition, gcs_client)
    name = f"jawiki-{SAMPLE_DUMP_DATE}-page_props.sql.gz"
    assert staged.page_props == f"gs://{bucket}/jawiki/{SAMPLE_DUMP_DATE}/dump/{name}"
    staged_bytes = (
        gcs_client.bucket(bucket).blob(f"jawiki/{SAMPLE_DUMP_DATE}/dump/{name}").download_as_bytes()
    )
    assert staged_bytes == (tmp_path / "jawiki" / SAMPLE_DUMP_DATE / name).read_bytes()

    # Not asked for (an edition that declares no page_props): not staged though it is done.
    staged = stage_dump(str(tmp_path), "jawiki", SAMPLE_DUMP_DATE, partition, gcs_client, optional_jobs=())
    assert staged.page_props is None and len(staged.files) == 3


def test_partition_of_another_dump_is_refused(dump_mirror, gcs_client):
    with pytest.raises(ValueError, match="is not frwiki/20261101"):
        stage_dump(
            dump_mirror,
            "frwiki",
            SAMPLE_DUMP_DATE,
            StagingPartition("b", "ukwiki", SAMPLE_DUMP_DATE),
            gcs_client,
        )


def test_missing_staging_bucket_is_not_mistaken_for_a_missing_mirror_file(dump_mirror, gcs_client):
    from google.api_core.exceptions import NotFound

    partition = StagingPartition("no-such-staging-bucket", "frwiki", SAMPLE_DUMP_DATE)
    with pytest.raises(NotFound, match="no-such-staging-bucket"):
        stage_dump(dump_mirror, "frwiki", SAMPLE_DUMP_DATE, partition, gcs_client)


def test_stage_from_a_gs_mirror(gcs_client, make_bucket, sample_mirror_root):
    mirror = upload_mirror(gcs_client, make_bucket("mirror"), sample_mirror_root)
    bucket = make_bucket("staging")
    staged = stage_dump(
        mirror, "jawiki", SAMPLE_DUMP_DATE, StagingPartition(bucket, "jawiki", SAMPLE_DUMP_DATE), gcs_client
    )
    index = staged.index[0].split(f"gs://{bucket}/", 1)[1]
    expected = (sample_mirror_root / "jawiki" / SAMPLE_DUMP_DATE / index.rsplit("/", 1)[1]).read_bytes()
    assert gcs_client.bucket(bucket).blob(index).download_as_bytes() == expected


@pytest.mark.realdata
def test_large_file_is_streamed_in_several_upload_chunks(
    tmp_path: Path, gcs_client, make_bucket, monkeypatch
):

    monkeypatch.setattr(wikidrop.dumps.staging, "UPLOAD_CHUNK", 256 * 1024)  # the smallest resumable chunk
    monkeypatch.setattr(wikidrop.dumps.staging, "READ_CHUNK", 64 * 1024)
    export = SHARED_DUMPS / "ltg" / "ltgwiki-2017-COMPLETE-pages-articles-dumpster-dive.xml.bz2"
    build = build_mirror(export, tmp_path, dump_date="20170901")
    size = build.multistream[0].stat().st_size
    assert size > 2 * 256 * 1024
    bucket = make_bucket("staging")
    staged = stage_dump(
        str(tmp_path), "ltgwiki", "20170901", StagingPartition(bucket, "ltgwiki", "20170901"), gcs_client
    )
    name = staged.pages_articles[0].split(f"gs://{bucket}/", 1)[1]
    assert gcs_client.bucket(bucket).blob(name).download_as_bytes() == build.multistream[0].read_bytes()


MULTISTREAM = f"frwiki-{SAMPLE_DUMP_DATE}-pages-articles-multistream.xml.bz2"


@pytest.fixture
def quick_resumes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(wikidrop.dumps.dumpstatus, "HTTP_RESUME_DELAYS_SECONDS", (0.01, 0.01, 0.01))


@pytest.mark.parametrize("ranges", [True, False], ids=["resumes-with-range", "mirror-ignores-range"])
def test_connection_closed_mid_download_is_resumed_and_the_file_staged(
    dropping_mirror: DroppingMirror, gcs_client, make_bucket, quick_resumes, caplog, ranges: bool
) -> None:
    dropping_mirror.drops, dropping_mirror.ranges = 2, ranges
    bucket = make_bucket("staging")
    partition = StagingPartition(bucket, "frwiki", SAMPLE_DUMP_DATE)
    stage_dump(dropping_mirror.url, "frwiki", SAMPLE_DUMP_DATE, partition, gcs_client)

    expected = (dropping_mirror.root / "frwiki" / SAMPLE_DUMP_DATE / MULTISTREAM).read_bytes()
    staged = (
        gcs_client.bucket(bucket).blob(f"frwiki/{SAMPLE_DUMP_DATE}/dump/{MULTISTREAM}").download_as_bytes()
    )
    assert staged == expected
    gets = [rng for path, rng in dropping_mirror.gets if path.endswith(MULTISTREAM)]
    half = len(expected) // 2
    if ranges:
        assert gets == [None, f"bytes={half}-", f"bytes={half + (len(expected) - half) // 2}-"]
    else:
        assert len(gets) == 3  # the whole file each time, the bytes already staged skipped
    assert f"connection closed after {half} of {len(expected)} bytes; resuming" in caplog.text


def test_connection_that_keeps_closing_fails_saying_so_not_as_a_checksum_mismatch(
    dropping_mirror: DroppingMirror, gcs_client, make_bucket, quick_resumes
) -> None:
    dropping_mirror.drops = 100
    bucket = make_bucket("staging")
    partition = StagingPartition(bucket, "frwiki", SAMPLE_DUMP_DATE)
    size = (dropping_mirror.root / "frwiki" / SAMPLE_DUMP_DATE / MULTISTREAM).stat().st_size
    with pytest.raises(MirrorConnectionClosed) as failure:
        stage_dump(dropping_mirror.url, "frwiki", SAMPLE_DUMP_DATE, partition, gcs_client)
    message = str(failure.value)
    assert (
        f"/{MULTISTREAM}: connection closed after " in message
        and f" of {size} bytes (3 resume(s) tried)" in message
    )
    assert not isinstance(failure.value, StagingChecksumError)
    assert sum(1 for path, _ in dropping_mirror.gets if path.endswith(MULTISTREAM)) == 4
    assert [b.name for b in gcs_client.list_blobs(bucket)] == []  # nothing staged, no temporary object left
