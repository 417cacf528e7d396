"""The partner-side `python -m wikidrop.delivery.verify` on a drop in GCS and on a downloaded copy."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.test_delivery import DUMP_DATE, article, partner, request, write_shards
from wikidrop.delivery.bucket import PartnerBucket
from wikidrop.delivery.drops import deliver
from wikidrop.delivery.verify import main

SNAPSHOT = f"snapshots/{DUMP_DATE}/frwiki_namespace_0"


@pytest.fixture
def drop(fake_gcs, fake_gcs_client, make_fake_gcs_bucket, tmp_path, monkeypatch) -> str:
    """A committed two-namespace drop; returns gs://bucket/prefix."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs)
    shards = write_shards(
        tmp_path / "articles", [[article(i) for i in (4, 1, 3)], [article(2), article(5), article(9, ns=10)]]
    )
    bucket = make_fake_gcs_bucket("acme")
    p = partner(bucket, filters={"namespaces": [0, 10]})
    deliver(request(p, shards, namespaces=[0, 10]), PartnerBucket.for_partner(fake_gcs_client, p))
    return f"gs://{bucket}/wikipedia"


def download(client, uri: str, target: Path) -> Path:
    bucket, _, prefix = uri.removeprefix("gs://").partition("/")
    for blob in client.list_blobs(bucket, prefix=prefix + "/"):
        local = target / blob.name[len(prefix) + 1 :]
        local.parent.mkdir(parents=True, exist_ok=True)
        blob.download_to_filename(str(local))
    return target


def run_cli(target: str | Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "wikidrop.delivery.verify", str(target)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_intact_drop_passes_in_gcs_and_downloaded(drop, fake_gcs_client, tmp_path, capsys) -> None:
    assert main([f"{drop}/{SNAPSHOT}"]) == 0
    assert "OK: 1 drop(s) intact" in capsys.readouterr().out
    assert main([f"{drop}/snapshots/{DUMP_DATE}"]) == 0  # every snapshot of the date
    assert "OK: 2 drop(s) intact" in capsys.readouterr().out

    local = download(fake_gcs_client, drop, tmp_path / "copy")
    result = run_cli(local / SNAPSHOT)
    assert result.returncode == 0, result.stdout + result.stderr
    # the partner's other tool agrees
    sums = subprocess.run(
        ["sha256sum", "--check", "--quiet", "sha256sums.txt"],
        cwd=local / SNAPSHOT,
        capture_output=True,
        check=False,
    )
    assert sums.returncode == 0, sums.stdout


def test_corrupted_chunk_in_gcs_is_reported(drop, fake_gcs_client, capsys) -> None:
    bucket, _, prefix = drop.removeprefix("gs://").partition("/")
    blob = fake_gcs_client.bucket(bucket).blob(f"{prefix}/{SNAPSHOT}/chunk_0001.ndjson.gz")
    data = bytearray(blob.download_as_bytes())
    data[len(data) // 2] ^= 0xFF  # one flipped byte, same size
    blob.upload_from_string(bytes(data))

    assert main([f"{drop}/{SNAPSHOT}"]) == 1
    out = capsys.readouterr().out
    assert f"FAIL {drop}/{SNAPSHOT}/chunk_0001.ndjson.gz: md5, sha256, crc32c differ from the manifest" in out
    assert "chunk_0000" not in out


def test_local_copy_problems_are_reported(drop, fake_gcs_client, tmp_path) -> None:
    local = download(fake_gcs_client, drop, tmp_path / "copy") / SNAPSHOT
    parquet = local / "chunk_0000.parquet"
    parquet.write_bytes(parquet.read_bytes()[:-100])  # an interrupted download
    (local / "chunk_0001.jsonl.gz").unlink()
    (local / "_SUCCESS").unlink()

    result = run_cli(local)
    assert result.returncode == 1
    assert f"FAIL {local}: not committed (no _SUCCESS): incomplete or still being written" in result.stdout
    assert f"FAIL {parquet}: bytes, md5, sha256, crc32c differ from the manifest" in result.stdout
    assert f"FAIL {local}/chunk_0001.jsonl.gz: missing" in result.stdout
    assert "do not use this drop" in result.stderr


def rewrite_manifest(local: Path, change) -> None:
    """A producer bug: the manifest says something wrong, and every checksum file agrees with it."""
    manifest = json.loads((local / "manifest.json").read_text())
    change(manifest)
    replace_manifest(local, manifest, manifest["record_count"])


def replace_manifest(local: Path, document, record_count: int) -> None:
    """Write ``document`` as the manifest, with sha256sums.txt and _SUCCESS agreeing with it."""
    data = json.dumps(document).encode()
    (local / "manifest.json").write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    sums = (local / "sha256sums.txt").read_text().splitlines()
    (local / "sha256sums.txt").write_text(
        "".join(
            f"{sha}  manifest.json\n" if line.endswith("  manifest.json") else line + "\n" for line in sums
        )
    )
    (local / "_SUCCESS").write_text(json.dumps({"manifest_sha256": sha, "record_count": record_count}))


def test_record_count_mismatch_is_reported_even_with_consistent_checksums(
    drop, fake_gcs_client, tmp_path
) -> None:
    local = download(fake_gcs_client, drop, tmp_path / "copy") / SNAPSHOT

    def one_more_record(manifest: dict) -> None:
        manifest["chunks"][0]["records"] += 1

    rewrite_manifest(local, one_more_record)
    result = run_cli(local)
    assert result.returncode == 1
    assert "chunk_0000.ndjson.gz: holds 3 records, manifest says 4" in result.stdout
    assert "ndjson chunks hold 6 records, manifest says 5" in result.stdout


def test_chunks_out_of_page_id_order_are_reported(drop, fake_gcs_client, tmp_path) -> None:
    local = download(fake_gcs_client, drop, tmp_path / "copy") / SNAPSHOT

    def swap_first_two_ndjson_chunks(manifest: dict) -> None:
        chunks = manifest["chunks"]
        chunks[0], chunks[1] = chunks[1], chunks[0]

    rewrite_manifest(local, swap_first_two_ndjson_chunks)
    result = run_cli(local)
    assert result.returncode == 1
    assert (
        "chunk_0000.ndjson.gz: starts at page id 1, not after the previous ndjson chunk's 5" in result.stdout
    )


def test_nothing_to_verify(tmp_path, capsys) -> None:
    assert main([str(tmp_path)]) == 1
    assert "no drop here or in its sub-directories" in capsys.readouterr().out


def _without_chunk_sha256(manifest: dict) -> dict:
    del manifest["chunks"][0]["sha256"]
    return manifest


def _count_as_string(manifest: dict) -> dict:
    return {**manifest, "record_count": "5"}


def _null_chunk(manifest: dict) -> dict:
    return {**manifest, "chunks": [*manifest["chunks"], None]}


def _without_page_ids(manifest: dict) -> dict:
    del manifest["page_ids"]
    return manifest


@pytest.mark.parametrize(
    ("malform", "expected"),
    [
        (lambda manifest: [], "manifest.json: malformed: not a JSON object"),
        (_without_chunk_sha256, "manifest.json: malformed: chunks.0.sha256: missing"),
        (_count_as_string, "manifest.json: malformed: record_count: not an integer"),
        (_null_chunk, "manifest.json: malformed: chunks.6: not a JSON object"),
        (_without_page_ids, "manifest.json: malformed: page_ids: missing"),
    ],
    ids=["list", "chunk-without-sha256", "count-as-string", "null-chunk", "no-page-ids"],
)
def test_malformed_manifest_is_a_fail_line_not_a_traceback(
    drop, fake_gcs_client, tmp_path, malform, expected
) -> None:
    local = download(fake_gcs_client, drop, tmp_path / "copy") / SNAPSHOT
    replace_manifest(local, malform(json.loads((local / "manifest.json").read_text())), 5)
    result = run_cli(local)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert f"FAIL {local}/{expected}" in result.stdout, result.stdout


def test_manifest_paths_outside_the_snapshot_are_refused(drop, fake_gcs_client, tmp_path) -> None:
    local = download(fake_gcs_client, drop, tmp_path / "copy") / SNAPSHOT
    outside = local.parent / "elsewhere.ndjson.gz"
    (local / "chunk_0000.ndjson.gz").rename(outside)  # the right bytes, in the wrong place

    def point_outside(manifest: dict) -> None:
        manifest["chunks"][0]["path"] = "../elsewhere.ndjson.gz"

    rewrite_manifest(local, point_outside)
    result = run_cli(local)
    assert result.returncode == 1
    assert (
        f"FAIL {local}/manifest.json: malformed: chunks.0.path: '../elsewhere.ndjson.gz' is not a file "
        "name inside the snapshot (refused)"
    ) in result.stdout


def test_uncommitted_snapshot_says_not_committed(drop, fake_gcs_client, tmp_path) -> None:
    local = download(fake_gcs_client, drop, tmp_path / "copy") / SNAPSHOT
    (local / "_SUCCESS").unlink()
    result = run_cli(local)
    assert result.returncode == 1
    assert f"FAIL {local}: not committed (no _SUCCESS): incomplete or still being written" in result.stdout

    (local / "manifest.json").unlink()  # a drop caught mid-write: chunks only
    for target in (local, local.parent):
        result = run_cli(target)
        assert result.returncode == 1
        assert (
            f"FAIL {local}: not committed (no _SUCCESS): incomplete or still being written" in result.stdout
        )
        assert "no manifest.json here" not in result.stdout


def test_garbage_beside_the_manifest_is_reported(drop, fake_gcs_client, tmp_path) -> None:
    local = download(fake_gcs_client, drop, tmp_path / "copy") / SNAPSHOT
    (local / "_SUCCESS").write_text("[1, 2]")
    with (local / "sha256sums.txt").open("a") as sums:
        sums.write("not a checksum line\n")
    result = run_cli(local)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert f"FAIL {local}/_SUCCESS: malformed: not a JSON object" in result.stdout
    assert f"FAIL {local}/sha256sums.txt: line 11 is not '<sha256>  <file name>'" in result.stdout


def test_licence_file_is_checked(drop, fake_gcs_client, tmp_path) -> None:
    """LICENSE.txt is part of the drop like its chunks: missing, altered or unlisted is a FAIL."""
    local = download(fake_gcs_client, drop, tmp_path / "copy") / SNAPSHOT
    licence = local / "LICENSE.txt"
    assert "CC BY-SA 4.0" in licence.read_text(encoding="utf-8")
    original = licence.read_bytes()

    licence.write_bytes(original.replace(b"CC BY-SA 4.0", b"CC0 1.0 ....", 1))  # same size, other terms
    result = run_cli(local)
    assert result.returncode == 1
    assert f"FAIL {licence}: md5, sha256, crc32c differ from the manifest" in result.stdout

    licence.unlink()
    assert f"FAIL {licence}: missing" in run_cli(local).stdout

    licence.write_bytes(original)
    assert run_cli(local).returncode == 0

    def without_licence(manifest: dict) -> None:
        del manifest["license"]

    rewrite_manifest(local, without_licence)
    result = run_cli(local)
    assert result.returncode == 1
    assert f"FAIL {local}/manifest.json: lists no LICENSE.txt: the drop carries no licence" in result.stdout
    assert f"FAIL {local}/sha256sums.txt: disagrees with the manifest on LICENSE.txt" in result.stdout


def test_missing_bucket_is_a_fail_line(fake_gcs, monkeypatch, capsys) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs)
    assert main(["gs://no-such-bucket-for-wikidrop/wikipedia/snapshots"]) == 1
    out = capsys.readouterr().out
    assert out.startswith("FAIL gs://no-such-bucket-for-wikidrop/wikipedia/snapshots: cannot read"), out


def test_readme_does_not_call_sha256sum_equivalent() -> None:
    """sha256sum -c cannot tell a half-written drop: it never looks at _SUCCESS."""
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme[readme.index("## For partners") :]
    assert "the same, with coreutils" not in section
    assert "sha256sum -c" in section and "_SUCCESS" in section
