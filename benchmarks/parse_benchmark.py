"""Throughput and memory of the parse job against a bare mwparserfromhell loop (prints, never asserts).

Builds a multistream dump (+ index) of at least ``--target-mb`` MB of uncompressed XML by
replicating the real pages of ../shared/data/dumps under new page ids and titles, then measures,
each in its own process tree (CPU and RSS summed over every descendant: Beam workers and the
page-guard children too):

- the Beam job (``python -m beam_jobs.parse_dump``, multistream + index) with 1 and 2 workers;
- a bare ``mwparserfromhell.parse(text).strip_code()`` loop over the same article pages, and our
  ``extract_content`` over the same pages without Beam (the pure extraction cost);
- the page guard's IPC cost per page (guard vs direct call on the same pages);
- peak RSS of the 1-worker job on an input ten times smaller, to show memory does not grow with it.

``--scaling`` only compares 1 and 2 workers on the local runner and on Beam's portable job API
(job service + worker pool of scripts/beam_portable.py), with each worker's CPU and the serial part.

``--validation-only`` measures the 1-worker job and what validating its output costs, task by task
(benchmarks/validation_benchmark.py), from the job's quality rows and from the articles shards.

``--page-props-overhead N`` measures only what ``--page-props`` adds: the 1-worker job on the same
dump without and with an enwiki-shaped page_props table for its pages
(benchmarks/page_props_benchmark.py), alternating, N times each.

    PYTHONPATH=.:plugins .venv/bin/python benchmarks/parse_benchmark.py --target-mb 100
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from itertools import count
from pathlib import Path
from typing import Any

import psutil

PROJECT = Path(__file__).resolve().parent.parent
DUMPS = PROJECT.parent / "shared" / "data" / "dumps"
SOURCES = [
    "derived/enwiki-2022-head-10MB-CLOSED-wp2txt.xml.bz2",  # first: its <siteinfo> heads the output
    "en/enwiki-2019-10k-lines-196pages-camchenry-wikidump.xml.bz2",
    "ja/jawiki-20250801-head-100k-lines-nlp4j.xml.bz2",
    "ltg/ltgwiki-2017-COMPLETE-pages-articles-dumpster-dive.xml.bz2",
    "derived/ukwiki-20230501-head-100k-lines-CLOSED-xztextfilter.xml.bz2",
    "derived/bnwiki-20230501-head-100k-lines-CLOSED-xztextfilter.xml.bz2",
    "derived/mrwiki-20230501-head-100k-lines-CLOSED-xztextfilter.xml.bz2",
]
_ID = re.compile(rb"<id>\d+</id>")
_TITLE = re.compile(rb"<title>([^<]*)</title>")


def build_dump(directory: Path, target_bytes: int) -> tuple[Path, Path, int]:
    """Write ``benchwiki`` export XML of >= target_bytes, then its multistream + index mirror."""
    from wikidrop_dev.mirror import ExportSplit, _utf8_blocks, build_mirror, open_export_bytes, split_export

    header = b""
    pages: list[bytes] = []
    for name in SOURCES:
        split = ExportSplit()
        with open_export_bytes(DUMPS / name) as stream:
            pages += [p.raw for p in split_export(_utf8_blocks(stream, name), name, split)]
        header = header or split.header
    header = re.sub(rb"<dbname>[^<]*</dbname>", b"<dbname>benchwiki</dbname>", header)
    export = directory / "benchwiki-20260101-pages-articles.xml"
    ids = count(1)
    written = 0
    with open(export, "wb") as out:
        out.write(header)
        for copy in count():
            for raw in pages:
                page_id = next(ids)
                raw = _ID.sub(f"<id>{page_id}</id>".encode(), raw, count=1)
                if copy:
                    raw = _TITLE.sub(
                        lambda m, c=copy: b"<title>" + m.group(1) + f" {c}</title>".encode(), raw, count=1
                    )
                written += out.write(raw)
                if written >= target_bytes:
                    break
            if written >= target_bytes:
                break
        out.write(b"\n</mediawiki>\n")
    size = export.stat().st_size
    build = build_mirror(export, directory / "mirror", dbname="benchwiki", dump_date="20260101")
    export.unlink()
    return build.multistream[0], build.index[0], size


def measure(command: list[str], interval: float = 0.2, services: Sequence[int] = ()) -> dict[str, Any]:
    """Run a command; sample its process tree: CPU seconds (all descendants), peak RSS, wall.

    ``services``: pids of running services the command hands work to (Beam's job service and worker
    pool): their trees are sampled too, and their CPU before the command started is not counted.
    Also returns the CPU of each Beam SDK worker with its descendants (``workers_cpu_s``) and of
    everything else (``runner_cpu_s``: launcher, runner or job service, pool).
    """
    env = {**os.environ, "PYTHONPATH": f"{PROJECT}:{PROJECT / 'plugins'}"}
    service_roots = [psutil.Process(pid) for pid in services]
    cpu: dict[int, float] = {}
    parents: dict[int, int] = {}
    sdk_workers: set[int] = set()
    baseline = {p.pid: _cpu(p) for root in service_roots for p in _tree(root)}
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=PROJECT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    root = psutil.Process(proc.pid)
    peak_tree = peak_single = 0
    while proc.poll() is None:
        rss = 0
        for p in [*_tree(root), *(p for service in service_roots for p in _tree(service))]:
            try:
                cpu[p.pid] = _cpu(p)
                mem = p.memory_info().rss
                if p.pid not in parents:
                    parents[p.pid] = p.ppid()
                    # The Python process itself, not the shell the local runner starts it through.
                    command_line = " ".join(p.cmdline())
                    if p.name().startswith("python") and (
                        "SdkHarness" in command_line or "sdk_worker_main" in command_line
                    ):
                        sdk_workers.add(p.pid)
            except psutil.Error:
                continue
            rss += mem
            peak_single = max(peak_single, mem)
        peak_tree = max(peak_tree, rss)
        time.sleep(interval)
    out, err = proc.communicate()
    wall = time.monotonic() - started
    if proc.returncode:
        raise RuntimeError(f"{command} failed:\n{err.decode()[-3000:]}")
    used = {pid: seconds - baseline.get(pid, 0.0) for pid, seconds in cpu.items()}

    def worker_of(pid: int) -> int | None:
        while pid in parents and pid not in sdk_workers:
            pid = parents[pid]
        return pid if pid in sdk_workers else None

    per_worker: dict[int, float] = {}
    for pid, seconds in used.items():
        worker = worker_of(pid)
        if worker is not None:
            per_worker[worker] = per_worker.get(worker, 0.0) + seconds
    return {
        "wall_s": wall,
        "cpu_s": sum(used.values()),
        "workers_cpu_s": sorted(per_worker.values(), reverse=True),
        "runner_cpu_s": sum(used.values()) - sum(per_worker.values()),
        "peak_rss_tree_mb": peak_tree / 2**20,
        "peak_rss_process_mb": peak_single / 2**20,
        "stdout": out.decode(),
    }


def _tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def bare_loop(multistream: str, mode: str) -> None:
    """Child process: read pages, then time strip_code or extract_content over the article pages."""
    import mwparserfromhell

    from wikidrop.dumps.export import open_dump
    from wikidrop.wikitext import extract_content

    read_started = time.process_time()
    with open_dump(multistream) as reader:
        site = reader.siteinfo
        pages = [(p.title, p.revision.text) for p in reader.pages() if p.ns == 0 and not p.is_redirect]
    read_cpu = time.process_time() - read_started
    started = time.process_time()
    for title, text in pages:
        if len(text.encode()) > 4 * 1024 * 1024:
            continue  # the job dead-letters these too
        if mode == "strip_code":
            mwparserfromhell.parse(text).strip_code()
        else:
            extract_content(text, site, title)
    print(
        json.dumps({"read_cpu_s": read_cpu, "loop_cpu_s": time.process_time() - started, "pages": len(pages)})
    )


def guard_overhead(multistream: str, limit: int = 2000) -> dict[str, float]:
    """CPU per page through the page guard (owner + child) vs a direct call, on the same pages."""
    from wikidrop.dumps.export import open_dump
    from wikidrop.wikitext import extract_content
    from wikidrop.wikitext.page_guard import PageGuard

    with open_dump(multistream) as reader:
        site = reader.siteinfo
        pages = []
        for p in reader.pages():
            if p.ns == 0 and not p.is_redirect:
                pages.append((p.title, p.revision.text))
            if len(pages) >= limit:
                break
    started = time.process_time()
    for title, text in pages:
        extract_content(text, site, title)
    direct = time.process_time() - started
    with PageGuard(extract_content, site, preload=("wikidrop.wikitext",)) as guard:
        guard.run("warm up", "")
        child = psutil.Process(guard.child_pid)
        child_before = sum(child.cpu_times()[:2])
        started = time.process_time()
        for title, text in pages:
            guard.run(text, title)
        owner = time.process_time() - started
        guarded = owner + sum(child.cpu_times()[:2]) - child_before
    return {
        "pages": len(pages),
        "direct_ms": 1000 * direct / len(pages),
        "guarded_ms": 1000 * guarded / len(pages),
        "owner_ms": 1000 * owner / len(pages),
    }


# The benchmark dump mixes en, ja, ltg, uk, bn and mr pages; its quality rows count Latin letters.
SCRIPTS = "Latin"


def job_command(
    multistream: Path,
    index: Path,
    output: Path,
    workers: int,
    page_props: Path | None = None,
    runner: Sequence[str] | None = None,
) -> list[str]:
    """The job on the local runner with ``workers`` processes, or on ``runner`` (e.g. portable) options."""
    extra = ["--page-props", str(page_props)] if page_props else []
    local = ["--direct_running_mode", "multi_processing", "--direct_num_workers", str(workers)]
    extra += ["--scripts", SCRIPTS]
    return [
        sys.executable,
        "-m",
        "beam_jobs.parse_dump",
        "--input",
        str(multistream),
        "--index",
        str(index),
        "--output",
        str(output),
        *(local if runner is None else runner),
        *extra,
    ]


def stats_of(output: Path) -> dict[str, Any]:
    """stats.json of the run committed under the job output root ``output`` (beam_jobs.output)."""
    from beam_jobs.output import committed_output
    from wikidrop.layout import ParseOutput

    return json.loads(Path(ParseOutput(committed_output(str(output))).stats_uri).read_text())


def report(label: str, xml_bytes: int, pages: int, m: dict[str, Any]) -> None:
    mb = xml_bytes / 1e6
    print(
        f"{label:<42} {mb / m['cpu_s']:6.2f} MB XML/CPU-s  {pages / m['wall_s']:7.1f} pages/s (wall)  "
        f"cpu {m['cpu_s']:7.1f} s  wall {m['wall_s']:7.1f} s  peak RSS tree {m['peak_rss_tree_mb']:6.0f} MB "
        f"(largest process {m['peak_rss_process_mb']:5.0f} MB)",
        flush=True,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target-mb", type=float, default=100)
    parser.add_argument("--workdir", default=None, help="keep the generated dumps here")
    parser.add_argument("--bare", nargs=2, metavar=("MULTISTREAM", "MODE"), help=argparse.SUPPRESS)
    parser.add_argument(
        "--page-props-overhead", type=int, metavar="N", help="only compare without/with page_props"
    )
    parser.add_argument(
        "--scaling", action="store_true", help="only 1 vs 2 workers, local runner and portable job API"
    )
    parser.add_argument(
        "--validation-only",
        action="store_true",
        help="only the 1-worker job and the validation of its output (benchmarks/validation_benchmark.py)",
    )
    args = parser.parse_args(argv)
    if args.bare:
        bare_loop(*args.bare)
        return
    if args.page_props_overhead:
        page_props_overhead(args.target_mb, args.page_props_overhead, args.workdir)
        return
    if args.scaling:
        scaling(args.target_mb, args.workdir)
        return
    if args.validation_only:
        validation_cost(args.target_mb, args.workdir)
        return
    with tempfile.TemporaryDirectory(prefix="wikidrop-bench-", dir=args.workdir) as tmp:
        work = Path(tmp)
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()}", flush=True)
        big_dir, small_dir = work / "big", work / "small"
        big_dir.mkdir()
        small_dir.mkdir()
        big = build_dump(big_dir, int(args.target_mb * 1e6))
        small = build_dump(small_dir, int(args.target_mb * 1e5))
        print(
            f"input: {big[2] / 1e6:.1f} MB XML ({big[0].stat().st_size / 1e6:.1f} MB bz2); small {small[2] / 1e6:.1f} MB"
        )

        runs = {}

        for workers in (1, 2):
            m = measure(job_command(big[0], big[1], work / f"out{workers}", workers))
            stats = stats_of(work / f"out{workers}")
            runs[workers] = (m, stats)
            report(f"beam job, {workers} worker(s), {big[2] / 1e6:.0f} MB", big[2], stats["pages_read"], m)
        print(
            f"  stats: {json.dumps({k: runs[1][1][k] for k in ('pages_read', 'articles', 'redirects', 'skipped', 'dead_lettered', 'redirects_folded')})}"
        )
        m = measure(job_command(small[0], small[1], work / "out_small", 1))
        stats = stats_of(work / "out_small")
        report(f"beam job, 1 worker, {small[2] / 1e6:.0f} MB (1/10 input)", small[2], stats["pages_read"], m)

        for mode in ("strip_code", "extract_content"):
            m = measure([sys.executable, __file__, "--bare", str(big[0]), mode])
            loop = json.loads(m["stdout"].strip().splitlines()[-1])
            report(f"bare {mode} loop incl. XML read", big[2], loop["pages"], m)
            print(
                f"  {mode}: loop only {big[2] / 1e6 / loop['loop_cpu_s']:.2f} MB XML/CPU-s "
                f"({loop['loop_cpu_s']:.1f} CPU-s for {loop['pages']} article pages; XML read {loop['read_cpu_s']:.1f} CPU-s)",
                flush=True,
            )
        overhead = guard_overhead(str(big[0]))
        print(
            f"page guard: {overhead['guarded_ms']:.2f} CPU-ms/page guarded (owner side {overhead['owner_ms']:.2f}) "
            f"vs {overhead['direct_ms']:.2f} CPU-ms/page direct over {overhead['pages']} pages",
            flush=True,
        )


def validation_cost(target_mb: float, workdir: str | None) -> None:
    """CPU of validating the 1-worker job's output, task by task, against the job's own CPU."""
    from benchmarks.validation_benchmark import import_cost, validate_output

    with tempfile.TemporaryDirectory(prefix="wikidrop-bench-", dir=workdir) as tmp:
        work = Path(tmp)
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()}", flush=True)
        multistream, index, xml_bytes = build_dump(work, int(target_mb * 1e6))
        job = measure(job_command(multistream, index, work / "out", 1))
        stats = stats_of(work / "out")
        report(f"beam job, 1 worker, {xml_bytes / 1e6:.0f} MB", xml_bytes, stats["pages_read"], job)
        fixed = import_cost()
        print(
            f"  a process importing what a validate task imports (GX, pandas, GCS): {fixed:.1f} CPU-s",
            flush=True,
        )
        for source in ("articles", "quality"):
            result = validate_output(work / "out", index, [SCRIPTS], source)
            one, per_task = result["one_process"], result["per_task"]
            work_s = one["cpu_s"] - one["steps"]["import"]
            print(
                f"validation from {source} ({result['shards']} shard(s), {stats['articles']} articles), CPU-s:\n"
                f"  one process (as dag.test): {one['cpu_s']:.1f} = {100 * one['cpu_s'] / job['cpu_s']:.1f}% of the job;"
                f" without the GX import ({one['steps']['import']:.1f}): {work_s:.1f} = {100 * work_s / job['cpu_s']:.1f}%"
                f"  [{', '.join(f'{k} {v:.1f}' for k, v in one['steps'].items())}]\n"
                f"  one process per task (as a scheduler): {per_task['cpu_s']:.1f} ="
                f" {100 * per_task['cpu_s'] / job['cpu_s']:.1f}% of the job"
                f"  [{', '.join(f'{k} {v:.1f}' for k, v in per_task['steps'].items())}]",
                flush=True,
            )


def page_props_overhead(target_mb: float, repeat: int, workdir: str | None) -> None:
    """CPU of the 1-worker job without and with a page_props table for every page of the dump."""
    from benchmarks.page_props_benchmark import write_page_props
    from wikidrop.dumps.multistream import open_index

    with tempfile.TemporaryDirectory(prefix="wikidrop-bench-", dir=workdir) as tmp:
        work = Path(tmp)
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()}", flush=True)
        multistream, index, xml_bytes = build_dump(work, int(target_mb * 1e6))
        with open(index, "rb") as raw:
            page_ids = sorted(entry.page_id for entry in open_index(raw, str(index)))
        props = work / "benchwiki-20260101-page_props.sql.gz"
        rows = write_page_props(props, page_ids)
        print(
            f"input: {xml_bytes / 1e6:.1f} MB XML, {len(page_ids)} pages; page_props {rows} rows", flush=True
        )
        cpu: dict[bool, list[float]] = {False: [], True: []}
        for _ in range(repeat):
            for with_props in (False, True):
                out = work / f"out-{with_props}"
                m = measure(job_command(multistream, index, out, 1, props if with_props else None))
                stats = stats_of(out)
                cpu[with_props].append(m["cpu_s"])
                label = "with page_props" if with_props else "without page_props"
                report(f"beam job, 1 worker, {label}", xml_bytes, stats["pages_read"], m)
                if with_props:
                    print(f"  stats page_props: {stats['page_props']}", flush=True)
        base, extra = min(cpu[False]), min(cpu[True])
        print(
            f"page_props overhead: {extra - base:+.1f} CPU-s ({100 * (extra - base) / base:+.1f}%), "
            f"best of {repeat}: {base:.1f} -> {extra:.1f} CPU-s; all runs {cpu}",
            flush=True,
        )


def scaling(target_mb: float, workdir: str | None) -> None:
    """1 vs 2 workers on the local runner and on Beam's portable job API (job service + worker pool,
    scripts/beam_portable.py, started fresh for each run and measured with the job's process tree)."""
    from scripts.beam_portable import PortableBeam

    with tempfile.TemporaryDirectory(prefix="wikidrop-bench-", dir=workdir) as tmp:
        work = Path(tmp)
        print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()}", flush=True)
        multistream, index, xml_bytes = build_dump(work, int(target_mb * 1e6))
        print(
            f"input: {xml_bytes / 1e6:.1f} MB XML ({multistream.stat().st_size / 1e6:.1f} MB bz2)", flush=True
        )
        runs: dict[tuple[str, int], dict[str, Any]] = {}
        for path in ("local", "portable"):
            for workers in (1, 2):
                out = work / f"out-{path}-{workers}"
                if path == "local":
                    m = measure(job_command(multistream, index, out, workers))
                else:
                    with PortableBeam(work / f"services-{workers}") as beam:
                        runner = beam.pipeline_args(workers)
                        services = [p.pid for p in beam.processes.values()]
                        m = measure(
                            job_command(multistream, index, out, workers, runner=runner), services=services
                        )
                m["load"] = os.getloadavg()[0]
                stats = stats_of(out)
                runs[path, workers] = m
                report(f"{path}, {workers} worker(s)", xml_bytes, stats["pages_read"], m)
                print(
                    f"  load {m['load']:.2f}; CPU-s per SDK worker (with its page guard) "
                    f"{', '.join(f'{c:.1f}' for c in m['workers_cpu_s'])}; launcher, runner, services "
                    f"{m['runner_cpu_s']:.1f}",
                    flush=True,
                )
            one, two = runs[path, 1], runs[path, 2]
            speedup = one["wall_s"] / two["wall_s"]
            # On an idle machine, CPU time is wall time: the 2-worker run takes at least its serial
            # CPU (launcher, runner) plus its busiest worker's CPU. Pessimistic where the runner
            # works while the workers do.
            critical = two["runner_cpu_s"] + max(two["workers_cpu_s"])
            mean_worker = sum(two["workers_cpu_s"]) / len(two["workers_cpu_s"])
            print(
                f"{path}: wall {one['wall_s']:.1f} s -> {two['wall_s']:.1f} s, {speedup:.2f}x, parallel "
                f"efficiency {speedup / 2:.2f} per worker (load {one['load']:.1f} / {two['load']:.1f} on "
                f"{os.cpu_count()} CPUs); CPU model for an idle machine: {one['cpu_s']:.1f} / "
                f"(2 x {critical:.1f}) = {one['cpu_s'] / (2 * critical):.2f} per worker; the rest: serial "
                f"{two['runner_cpu_s']:.1f} CPU-s (launcher, runner/job service), busiest worker "
                f"{max(two['workers_cpu_s']) / mean_worker:.2f}x the mean, second worker's extra CPU "
                f"{two['cpu_s'] - one['cpu_s']:+.1f} s",
                flush=True,
            )


if __name__ == "__main__":
    main()
