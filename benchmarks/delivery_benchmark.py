"""Throughput of partner delivery against the parse of the same records (prints, never asserts).

Builds the parse benchmark's ``benchwiki`` multistream dump (real pages of ../shared/data/dumps
replicated to ``--target-mb`` MB of XML), then measures, each in its own process tree (CPU seconds
and RSS summed over every descendant, Beam SDK workers included):

- the parse job (``python -m beam_jobs.parse_dump``) with 1 and 2 workers: the reference;
- the delivery job (``python -m beam_jobs.deliver_drop``) of those records to one partner
  (``--formats``, every field, chunks of 10,000) with 1 and 2 workers, into fake-gcs-server on
  127.0.0.1 (its own CPU is not counted: it stands for GCS);
- the in-process delivery (``wikidrop.delivery.drops.deliver``) of the same drop, for comparison.

Then projects both to enwiki (``--project-articles``, ~7 M articles) with ``--partners`` partners:
CPU-hours, and hours on the same workers. Records per CPU-second are what scale: with more workers
wall time divides, CPU does not.

    PYTHONPATH=.:plugins .venv/bin/python benchmarks/delivery_benchmark.py --target-mb 50
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path
from typing import Any

PROJECT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT), str(PROJECT / "benchmarks")]

from parse_benchmark import build_dump, job_command, measure  # noqa: E402

VALIDATION = {"success": True, "critical_failures": [], "warnings": [], "counts": {}}


def start_fake_gcs() -> tuple[Any, str]:
    """fake-gcs-server (in memory) on a free 127.0.0.1 port: the bundled binary the tests use."""
    import subprocess
    import time
    import urllib.request

    from tests.fixtures.fake_gcs import fake_gcs_binary
    from tests.fixtures.gcs_emulator import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["-scheme", "http", "-backend", "memory", "-host", "127.0.0.1", "-port", str(port)]
    proc = subprocess.Popen(
        [str(fake_gcs_binary()), *args, "-external-url", url, "-log-level", "error"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"{url}/storage/v1/b", timeout=1):
                return proc, url
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("fake-gcs-server did not start")


def write_request(path: Path, bucket: str, shards: list[str], stats: dict, formats: list[str]) -> None:
    from wikidrop.config import PartnerConfig
    from wikidrop.delivery.drops import DeliveryRequest

    partner = PartnerConfig.model_validate(
        {
            "id": "bench_partner",
            "editions": ["benchwiki"],
            "bucket": bucket,
            "prefix": "wikipedia",
            "gcs_conn_id": "unused",
            "formats": formats,
        }
    )
    request = DeliveryRequest(
        partner=partner,
        dbname="benchwiki",
        dump_date="20260101",
        namespaces=[0],
        article_shards=shards,
        run_id="benchmark",
        schema_version=stats["schema_version"],
        source_files=[],
        validation=VALIDATION,
        article_count=stats["articles"],
    )
    path.write_text(json.dumps(request.to_json()))


def in_process(request_path: str, endpoint: str) -> None:
    """Child process: the in-process delivery of a request."""
    from wikidrop.delivery.bucket import PartnerBucket
    from wikidrop.delivery.drops import DeliveryRequest, deliver
    from wikidrop.gcs import storage_client

    request = DeliveryRequest.from_json(json.loads(Path(request_path).read_text()))
    bucket = PartnerBucket.for_partner(storage_client(endpoint=endpoint), request.partner)
    print(json.dumps(deliver(request, bucket)))


def line(label: str, records: int, m: dict[str, Any]) -> str:
    return (
        f"{label:<40} {records / m['cpu_s']:8.1f} records/CPU-s  {records / m['wall_s']:8.1f} records/s (wall)  "
        f"cpu {m['cpu_s']:7.1f} s  wall {m['wall_s']:7.1f} s  peak RSS tree {m['peak_rss_tree_mb']:6.0f} MB "
        f"(largest process {m['peak_rss_process_mb']:5.0f} MB)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target-mb", type=float, default=50)
    parser.add_argument("--formats", default="ndjson,parquet", help="the partner's formats")
    parser.add_argument("--partners", type=int, default=3, help="partners in the enwiki projection")
    parser.add_argument("--project-articles", type=float, default=7.0e6, help="enwiki articles")
    parser.add_argument("--workdir", default=None)
    parser.add_argument("--in-process", nargs=2, metavar=("REQUEST", "ENDPOINT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.in_process:
        in_process(*args.in_process)
        return
    formats = args.formats.split(",")
    fake_gcs, endpoint = start_fake_gcs()
    try:
        with tempfile.TemporaryDirectory(prefix="wikidrop-delivery-bench-", dir=args.workdir) as tmp:
            work = Path(tmp)
            print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()}", flush=True)
            multistream, index, xml_bytes = build_dump(work, int(args.target_mb * 1e6))
            print(f"input: {xml_bytes / 1e6:.1f} MB XML", flush=True)

            parse = {}
            for workers in (1, 2):
                parse[workers] = measure(job_command(multistream, index, work / f"parsed{workers}", workers))
                stats = json.loads((work / f"parsed{workers}" / "stats.json").read_text())
                print(line(f"parse job, {workers} worker(s)", stats["articles"], parse[workers]), flush=True)
            articles = stats["articles"]
            shards = sorted(str(p) for p in (work / "parsed2" / "articles").glob("part-*.parquet"))
            shard_mb = sum(Path(s).stat().st_size for s in shards) / 1e6
            print(f"  {articles} articles in {len(shards)} Parquet shards, {shard_mb:.1f} MB", flush=True)

            from wikidrop.gcs import storage_client

            client = storage_client(endpoint=endpoint)
            deliver = {}
            runs = [(1, "job"), (2, "job"), (1, "in-process")]
            for workers, how in runs:
                bucket = f"bench-{uuid.uuid4().hex[:10]}"
                client.create_bucket(bucket)
                request = work / f"request-{bucket}.json"
                write_request(request, bucket, shards, stats, formats)
                if how == "job":
                    command = [
                        sys.executable,
                        "-m",
                        "beam_jobs.deliver_drop",
                        "--request",
                        str(request),
                        "--result",
                        str(work / f"drop-{bucket}.json"),
                        "--partner_endpoint",
                        endpoint,
                        "--workdir",
                        str(work / "chunks"),
                        "--direct_running_mode",
                        "multi_processing",
                        "--direct_num_workers",
                        str(workers),
                    ]
                else:
                    command = [sys.executable, __file__, "--in-process", str(request), endpoint]
                m = measure(command)
                drop_mb = sum(b.size for b in client.list_blobs(bucket)) / 1e6
                deliver[(workers, how)] = m
                label = f"delivery {how}, {workers} worker(s)" if how == "job" else "delivery in-process"
                print(line(label, articles, m) + f"  drop {drop_mb:.1f} MB", flush=True)

            print(f"\nprojection to {args.project_articles / 1e6:.1f} M articles, {args.partners} partners:")
            for workers in (1, 2):
                parse_cpu = args.project_articles * parse[workers]["cpu_s"] / articles / 3600
                parse_wall = args.project_articles * parse[workers]["wall_s"] / articles / 3600
                one = deliver[(workers, "job")]
                drop_cpu = args.project_articles * one["cpu_s"] / articles / 3600
                drop_wall = args.project_articles * one["wall_s"] / articles / 3600
                print(
                    f"  {workers} worker(s): parse {parse_cpu:6.1f} CPU-h, {parse_wall:6.1f} h; "
                    f"one partner's drop {drop_cpu:6.1f} CPU-h, {drop_wall:6.1f} h "
                    f"({drop_wall / parse_wall:.2f}x the parse); "
                    f"{args.partners} partners {args.partners * drop_cpu:6.1f} CPU-h, "
                    f"{args.partners * drop_wall:6.1f} h"
                )
    finally:
        fake_gcs.terminate()
        fake_gcs.wait()


if __name__ == "__main__":
    main()
