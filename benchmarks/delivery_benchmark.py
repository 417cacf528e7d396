"""Throughput of partner delivery against the parse of the same records (prints, never asserts).

Builds the parse benchmark's ``benchwiki`` multistream dump (real pages of ../shared/data/dumps
replicated to ``--target-mb`` MB of XML), then measures, each in its own process tree (CPU seconds
and RSS summed over every descendant, Beam SDK workers included):

- the parse job (``python -m beam_jobs.parse_dump``) with 1 and 2 workers: the reference;
- the delivery job (``python -m beam_jobs.deliver_drop``) of those records to one partner
  (``--formats``, every field, ``--chunk-records`` per chunk: an enwiki drop has ~700 chunks of
  10,000, so the benchmark's drop gets a comparable number of chunks per worker) with 1 and 2
  workers, into fake-gcs-server on 127.0.0.1 (its own CPU is not counted: it stands for GCS);
- the in-process delivery (``wikidrop.delivery.drops.deliver``) of the same drop, for comparison;
- the parse and the delivery job with 1 worker on a fifth of the input: the difference between the
  two sizes is the cost per record without the fixed start-up (Beam imports, planning).

Then projects both to enwiki (``--project-articles``, ~7 M articles) with ``--partners`` partners
from the per-record (marginal) CPU plus the fixed cost: CPU-hours, and hours on 1 and 2 workers at
the parallel efficiency measured here.

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

from beam_jobs.output import committed_output  # noqa: E402

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


def write_request(
    path: Path, bucket: str, parsed: Path, stats: dict, formats: list[str], chunk_records: int
) -> None:
    """A delivery request for the articles of a committed parse output."""
    from wikidrop.config import PartnerConfig
    from wikidrop.delivery.drops import DeliveryRequest
    from wikidrop.dumps.siteinfo import SiteInfo

    partner = PartnerConfig.model_validate(
        {
            "id": "bench_partner",
            "editions": ["benchwiki"],
            "bucket": bucket,
            "prefix": "wikipedia",
            "gcs_conn_id": "unused",
            "formats": formats,
            "chunk_records": chunk_records,
        }
    )
    request = DeliveryRequest(
        partner=partner,
        dbname="benchwiki",
        dump_date="20260101",
        namespaces=[0],
        article_shards=sorted(str(p) for p in (parsed / "articles").glob("part-*.parquet")),
        run_id="benchmark",
        schema_version=stats["schema_version"],
        source_files=[],
        validation=VALIDATION,
        site=SiteInfo.from_dict(json.loads((parsed / "siteinfo.json").read_text())),
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


def delivery_command(request: Path, result: Path, endpoint: str, chunks: Path, workers: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "beam_jobs.deliver_drop",
        "--request",
        str(request),
        "--result",
        str(result),
        "--partner_endpoint",
        endpoint,
        "--workdir",
        str(chunks),
        "--direct_running_mode",
        "multi_processing",
        "--direct_num_workers",
        str(workers),
    ]


def marginal(big: dict, small: dict, big_n: int, small_n: int) -> tuple[float, float]:
    """(CPU-s per record, fixed CPU-s) from the same run on two input sizes."""
    per_record = (big["cpu_s"] - small["cpu_s"]) / (big_n - small_n)
    return per_record, small["cpu_s"] - per_record * small_n


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target-mb", type=float, default=50)
    parser.add_argument("--formats", default="ndjson,parquet", help="the partner's formats")
    parser.add_argument("--chunk-records", type=int, default=100)
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
            inputs = {}
            for size, mb in (("big", args.target_mb), ("small", args.target_mb / 5)):
                (work / size).mkdir()
                inputs[size] = build_dump(work / size, int(mb * 1e6))
                print(f"{size} input: {inputs[size][2] / 1e6:.1f} MB XML", flush=True)

            from wikidrop.gcs import storage_client

            client = storage_client(endpoint=endpoint)
            parse, deliver, articles = {}, {}, {}
            runs = [("big", 1), ("big", 2), ("small", 1)]
            for size, workers in runs:
                multistream, index, _ = inputs[size]
                root = work / size / f"parsed{workers}"
                parse[size, workers] = measure(job_command(multistream, index, root, workers))
                out = Path(committed_output(str(root)))
                stats = json.loads((out / "stats.json").read_text())
                articles[size] = stats["articles"]
                print(
                    line(f"parse job, {size}, {workers} worker(s)", stats["articles"], parse[size, workers])
                )
                shards = sorted(str(p) for p in (out / "articles").glob("part-*.parquet"))
                for how in ("job", "in-process") if (size, workers) == ("big", 1) else ("job",):
                    bucket = f"bench-{uuid.uuid4().hex[:10]}"
                    client.create_bucket(bucket)
                    request = work / f"request-{bucket}.json"
                    write_request(request, bucket, out, stats, formats, args.chunk_records)
                    if how == "job":
                        result = work / f"drop-{bucket}.json"
                        command = delivery_command(request, result, endpoint, work / "chunks", workers)
                    else:
                        command = [sys.executable, __file__, "--in-process", str(request), endpoint]
                    m = measure(command)
                    blobs = list(client.list_blobs(bucket))
                    chunks = sum(1 for b in blobs if "/chunk_" in b.name) // len(formats)
                    drop_mb = sum(b.size for b in blobs) / 1e6
                    deliver[size, workers, how] = m
                    label = f"delivery {how}, {size}, {workers} worker(s)"
                    print(line(label, stats["articles"], m) + f"  drop {drop_mb:.1f} MB in {chunks} chunks")
                print(f"  {stats['articles']} articles in {len(shards)} Parquet shards", flush=True)

            n_big, n_small = articles["big"], articles["small"]
            parse_rate, parse_fixed = marginal(parse["big", 1], parse["small", 1], n_big, n_small)
            drop_rate, drop_fixed = marginal(
                deliver["big", 1, "job"], deliver["small", 1, "job"], n_big, n_small
            )
            print(
                f"\nper record, start-up excluded: parse {parse_rate * 1e3:.1f} CPU-ms "
                f"({1 / parse_rate:.1f} records/CPU-s, fixed {parse_fixed:.1f} CPU-s); "
                f"delivery job {drop_rate * 1e3:.1f} CPU-ms ({1 / drop_rate:.1f} records/CPU-s, "
                f"fixed {drop_fixed:.1f} CPU-s): delivery/parse = {drop_rate / parse_rate:.2f}"
            )
            n = args.project_articles
            parse_cpu_h = (parse_rate * n + parse_fixed) / 3600
            drop_cpu_h = (drop_rate * n + drop_fixed) / 3600
            print(f"projection to {n / 1e6:.1f} M articles, {args.partners} partners:")
            for workers in (1, 2):
                # parallel efficiency as measured on the big input (CPU-s per worker per wall-s)
                parse_eff = parse["big", workers]["cpu_s"] / (workers * parse["big", workers]["wall_s"])
                job = deliver["big", workers, "job"]
                drop_eff = job["cpu_s"] / (workers * job["wall_s"])
                parse_h = parse_cpu_h / (workers * parse_eff)
                drop_h = drop_cpu_h / (workers * drop_eff)
                print(
                    f"  {workers} worker(s): parse {parse_cpu_h:6.1f} CPU-h, {parse_h:6.1f} h "
                    f"(efficiency {parse_eff:.2f}); one partner's drop {drop_cpu_h:6.1f} CPU-h, {drop_h:6.1f} h "
                    f"(efficiency {drop_eff:.2f}; {drop_h / parse_h:.2f}x the parse); "
                    f"{args.partners} partners {args.partners * drop_cpu_h:6.1f} CPU-h, "
                    f"{args.partners * drop_h:6.1f} h"
                )
    finally:
        fake_gcs.terminate()
        fake_gcs.wait()


if __name__ == "__main__":
    main()
