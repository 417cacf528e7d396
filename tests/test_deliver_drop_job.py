"""The Beam delivery job (beam_jobs.deliver_drop) against fake-gcs-server: the same drop as the
in-process delivery byte for byte, the same crash safety, retries and refusals."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from beam_jobs import deliver_drop
from tests.conftest import PROJECT_ROOT
from tests.test_delivery import DUMP_DATE, article, objects, partner, request, write_shards
from wikidrop.delivery.bucket import PartnerBucket
from wikidrop.delivery.drops import deliver
from wikidrop.delivery.verify import verify

IN_PROCESS = ["--direct_running_mode", "in_memory", "--direct_num_workers", "1"]
SNAP = f"wikipedia/snapshots/{DUMP_DATE}/frwiki_namespace_0"


@pytest.fixture
def shards(tmp_path: Path) -> list[str]:
    """23 articles over three shards, out of order, two namespaces (chunks of 3: several per worker)."""
    ids = [17, 4, 9, 23, 1, 12, 8, 20, 3, 15, 6, 11, 22, 2, 14, 19, 5, 10, 21, 7, 13, 16, 18]
    records = [article(i, ns=10 if i % 7 == 0 else 0, text="court" if i == 9 else None) for i in ids]
    return write_shards(tmp_path / "articles", [records[:8], records[8:15], records[15:]])


def job_args(tmp_path: Path, fake_gcs: str, req: Any, name: str = "job") -> list[str]:
    path = tmp_path / f"{name}-request.json"
    path.write_text(json.dumps(req.to_json()))
    return [
        "--request",
        str(path),
        "--result",
        str(tmp_path / f"{name}-drop.json"),
        "--partner_endpoint",
        fake_gcs,
        "--workdir",
        str(tmp_path / "runs"),
    ]


def contents(client: Any, bucket: str) -> dict[str, bytes]:
    """Every object's bytes, ``_SUCCESS`` without its commit time (the one thing that differs)."""
    out = {}
    for name, blob in objects(client, bucket).items():
        data = blob.download_as_bytes()
        if name.endswith("/_SUCCESS"):
            data = json.dumps({k: v for k, v in json.loads(data).items() if k != "committed_at"}).encode()
        out[name] = data
    return out


def test_job_builds_the_in_process_drop_byte_for_byte(
    fake_gcs, fake_gcs_client, make_fake_gcs_bucket, shards, tmp_path
) -> None:
    filters = {"namespaces": [0, 10], "min_text_length": 10}
    serial_bucket, job_bucket = make_fake_gcs_bucket("serial"), make_fake_gcs_bucket("job")
    serial = partner(serial_bucket, filters=filters)
    expected = deliver(
        request(serial, shards, namespaces=[0, 10]), PartnerBucket.for_partner(fake_gcs_client, serial)
    )

    p = partner(job_bucket, filters=filters)
    run = deliver_drop.run_job(
        [*job_args(tmp_path, fake_gcs, request(p, shards, namespaces=[0, 10])), *IN_PROCESS]
    )

    assert contents(fake_gcs_client, job_bucket) == contents(fake_gcs_client, serial_bucket)
    assert run.drop["record_count"] == expected["record_count"] == 22  # page 9 is too short
    assert [s["manifest_sha256"] for s in run.drop["snapshots"]] == [
        s["manifest_sha256"] for s in expected["snapshots"]
    ]
    assert json.loads((tmp_path / "job-drop.json").read_text()) == run.drop
    scratch = tmp_path / "runs"  # the sorted runs and each chunk's local files, all cleared
    assert scratch.is_dir() and not [p for p in scratch.rglob("*") if p.is_file()]
    counters = {c.key.metric.name: c.committed for c in run.result.metrics().query()["counters"]}
    assert counters["records_written"] == 22 and counters["chunks_written"] == 8  # 7 + 1 chunks of <= 3


def test_rerun_is_a_noop_without_a_pipeline(
    fake_gcs, fake_gcs_client, make_fake_gcs_bucket, shards, tmp_path
) -> None:
    bucket = make_fake_gcs_bucket("job")
    p = partner(bucket)
    first = deliver_drop.run_job([*job_args(tmp_path, fake_gcs, request(p, shards)), *IN_PROCESS])
    before = {n: b.generation for n, b in objects(fake_gcs_client, bucket).items()}
    again = deliver_drop.run_job([*job_args(tmp_path, fake_gcs, request(p, shards), "again"), *IN_PROCESS])
    assert again.result is None and again.drop["snapshots"][0]["unchanged"]
    assert again.drop["snapshots"][0]["committed_at"] == first.drop["snapshots"][0]["committed_at"]
    assert {n: b.generation for n, b in objects(fake_gcs_client, bucket).items()} == before


KILLED_JOB = """
import os, signal, sys

from beam_jobs import deliver_drop
from wikidrop.delivery.bucket import PartnerBucket

real_put = PartnerBucket.put
chunks = []


def put(self, rel, source, digest, *, replace=False):
    if "/chunk_" in rel:
        if len(chunks) == 5:
            os.kill(os.getpid(), signal.SIGKILL)  # the job dies between two chunk uploads
        chunks.append(rel)
    return real_put(self, rel, source, digest, replace=replace)


PartnerBucket.put = put
deliver_drop.run(sys.argv[1:])
"""


def test_job_killed_between_chunks_then_rerun_completes(
    fake_gcs, fake_gcs_client, make_fake_gcs_bucket, shards, tmp_path, monkeypatch
) -> None:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", fake_gcs)  # for verify's own client
    bucket = make_fake_gcs_bucket("job")
    p = partner(bucket)
    script = tmp_path / "killed_job.py"
    script.write_text(KILLED_JOB)
    args = job_args(tmp_path, fake_gcs, request(p, shards))
    killed = subprocess.run(
        [sys.executable, str(script), *args, *IN_PROCESS],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    half = objects(fake_gcs_client, bucket)
    assert len(half) == 5 and not any(n.endswith(("_SUCCESS", "latest.json", "manifest.json")) for n in half)
    assert verify(f"gs://{bucket}/{SNAP}")[1]  # not committed
    left = [p for p in (tmp_path / "runs").rglob("*") if p.is_file()]
    assert any("wikidrop-chunk-" in str(p) for p in left)  # the killed chunk's local files

    run = deliver_drop.run_job([*args, *IN_PROCESS])
    assert not [p for p in (tmp_path / "runs").rglob("*") if p.is_file()]
    done = objects(fake_gcs_client, bucket)
    assert all(done[name].generation == blob.generation for name, blob in half.items())  # kept
    assert run.drop["committed"] and run.drop["snapshots"][0]["objects"]["kept"] == 5
    assert verify(f"gs://{bucket}/{SNAP}")[1] == []


def test_duplicate_page_ids_fail_the_job_before_anything_is_written(
    fake_gcs, fake_gcs_client, make_fake_gcs_bucket, tmp_path
) -> None:
    bucket = make_fake_gcs_bucket("job")
    duplicated = write_shards(tmp_path / "dup", [[article(1), article(2)], [article(2)]])
    with pytest.raises(Exception, match=r"page id 2 \(namespace 0\) appears twice"):
        deliver_drop.run_job(
            [*job_args(tmp_path, fake_gcs, request(partner(bucket), duplicated)), *IN_PROCESS]
        )
    assert objects(fake_gcs_client, bucket) == {}


def test_job_logs_records_written_of_the_drops_total_without_beams_info_noise(
    fake_gcs, make_fake_gcs_bucket, shards, tmp_path
) -> None:
    """``python -m beam_jobs.deliver_drop`` as the deliver task runs it (worker processes): progress
    lines of records written of the drop's total (the page ids it listed), none of Beam's INFO."""
    bucket = make_fake_gcs_bucket("job")
    filters = {"namespaces": [0, 10], "min_text_length": 10}
    req = request(partner(bucket, filters=filters), shards, namespaces=[0, 10])
    args = [*job_args(tmp_path, fake_gcs, req), "--progress_seconds", "0.1"]
    workers = ["--direct_running_mode", "multi_processing", "--direct_num_workers", "2"]
    job = subprocess.run(
        [sys.executable, "-m", "beam_jobs.deliver_drop", *args, *workers],
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert job.returncode == 0, job.stderr[-3000:]
    progress = [line for line in job.stderr.splitlines() if " beam_jobs.progress: " in line]
    who = f"{req.partner.id} frwiki {DUMP_DATE}: written"
    assert progress and all(who in line for line in progress), job.stderr[-3000:]
    assert f"{who} 22 of 22 records (100%), " in progress[-1]  # page 9 is too short: 22 of 23 records
    line = re.compile(
        r"\S+ \S+ \d{8}: written [\d,]+ of [\d,]+ records \(\d+%\), [\d,]+ records/s(, ETA [\d:]+)?"
    )
    assert all(line.fullmatch(text.split(" beam_jobs.progress: ")[1]) for text in progress)
    readme = " ".join((PROJECT_ROOT / "README.md").read_text(encoding="utf-8").split())
    assert line.fullmatch(
        readme.split("`deliver[partner]`: `")[1].split("`")[0]
    )  # what it says the log shows
    assert not [line for line in job.stderr.splitlines() if " INFO apache_beam" in line], job.stderr[-3000:]
