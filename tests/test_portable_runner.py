"""The Beam jobs through Beam's portable job API with two SDK worker processes, against the default runner.

The portable path is the one Flink, Spark and Dataflow runners take: the pipeline is pickled and
submitted to a job service (``tests/fixtures/beam_portable.py``, on 127.0.0.1), and SDK workers in
processes of their own, started by a worker pool in another working directory, run it. Each job
is launched from a working directory of its own with relative paths, as a user would. Its output
and stats must equal an in-process run of the same job on Beam's default local runner (FnApiRunner),
its counters must come back through ``result.metrics()``, and both SDK workers must have written
output. One ``PortableJob`` per Beam job: a new job is one more entry in ``JOBS``; what a job needs
besides its input files (an emulator, a bucket) comes from pytest fixtures it names.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from beam_jobs import apply_changes, deliver_drop, parse_dump
from tests.conftest import SHARED_DUMPS

pytestmark = pytest.mark.slow

IN_PROCESS = ["--direct_running_mode", "in_memory", "--direct_num_workers", "1"]
SDK_WORKERS = 2
LTG = SHARED_DUMPS / "derived" / "ltgwiki-2017-COMPLETE-pages-articles-multistream.xml.bz2"
LTG_INDEX = SHARED_DUMPS / "derived" / "ltgwiki-2017-COMPLETE-pages-articles-multistream-index.txt.bz2"
LTG_EXPORT = SHARED_DUMPS / "ltg" / "ltgwiki-2017-COMPLETE-pages-articles-dumpster-dive.xml.bz2"


@dataclass(frozen=True)
class PortableJob:
    """A Beam job as this test drives it.

    ``run(argv)`` runs it to the end and returns an object with ``.stats`` and ``.result`` (Beam's
    PipelineResult); ``args(inputs)`` are its options given (possibly relative) input paths, without
    ``--output``; ``read_output(folder)`` returns its output in a form that does not depend on how
    records were sharded; ``counters(stats)`` the user counters (namespace, name) -> value it must
    report; ``shards`` the glob of its record shards under the output folder. ``inputs`` and ``args``
    also get the values of the pytest fixtures named in ``resources``.
    """

    name: str
    run: Callable[[list[str]], Any]
    inputs: Callable[[dict[str, Any]], tuple[Path, ...]]
    args: Callable[[list[str], dict[str, Any]], list[str]]
    read_output: Callable[[Path], Any]
    counters: Callable[[dict], dict[tuple[str, str], int]]
    shards: str
    resources: tuple[str, ...] = ()
    realdata: bool = False  # reads ../shared dump samples (skipped in a clone without them)


def _parse_args(inputs: list[str], resources: dict[str, Any]) -> list[str]:
    dump, index = inputs
    # Progress polled every 0.2 s: the launcher reads the job's metrics while it runs, and the
    # counters read at the end must still be complete.
    return ["--input", dump, "--index", index, "--namespaces", "0", "--progress_seconds", "0.2"]


def _committed(root: Path) -> Path:
    """The attempt the job committed under its output root (beam_jobs.output)."""
    from beam_jobs.output import committed_output

    attempt = committed_output(str(root))
    assert attempt is not None, f"nothing committed under {root}"
    return Path(attempt)


def _parse_output(root: Path) -> dict[str, Any]:
    folder = _committed(root)

    def ndjson(pattern: str) -> list[dict]:
        return [json.loads(line) for f in sorted(folder.glob(pattern)) for line in gzip.open(f, "rt")]

    def by_id(records: list[dict]) -> list[dict]:
        return sorted(records, key=lambda r: r["identifier"])

    parquet = [
        r for f in sorted(folder.glob("articles/part-*.parquet")) for r in pq.read_table(f).to_pylist()
    ]
    return {
        "parquet": by_id(parquet),
        "ndjson": by_id(ndjson("articles/part-*.ndjson.gz")),
        "dead_letter": by_id(ndjson("dead_letter/part-*.ndjson.gz")),
        "stats.json": json.loads((folder / "stats.json").read_text()),
        "siteinfo.json": json.loads((folder / "siteinfo.json").read_text()),
    }


def _parse_counters(stats: dict) -> dict[tuple[str, str], int]:
    kinds = {
        "article": "articles",
        "redirect": "redirects",
        "skipped": "skipped",
        "dead_lettered": "dead_lettered",
        "titles_scanned": "pages_read",  # the first read (the redirect join) counts every page
    }
    expected = {}
    for kind, field in kinds.items():
        if stats[field]:  # Beam reports only counters that were incremented
            expected[("wikidrop", kind)] = stats[field]
            expected[(f"wikidrop.{stats['dbname']}", kind)] = stats[field]
    return expected


@dataclass(frozen=True)
class DeliveryRun:
    """What the harness compares of a delivery job: the drop's facts (not where or when it landed)."""

    stats: dict[str, Any]
    result: Any


def _run_delivery(argv: list[str]) -> DeliveryRun:
    """The delivery job with the harness's ``--output OUT``: the partner prefix is named after OUT (so
    each run gets its own drop), the Drop goes to OUT/drop.json, chunk files to OUT/work."""
    at = argv.index("--output")
    output = Path(argv[at + 1]).absolute()
    output.mkdir(parents=True, exist_ok=True)
    request = json.loads(Path(argv[argv.index("--request") + 1]).read_text())
    request["partner"]["prefix"] = f"runs/{output.name}"
    (output / "request.json").write_text(json.dumps(request))
    rest = [*argv[:at], *argv[at + 2 :]]
    rest[rest.index("--request") + 1] = str(output / "request.json")
    run = deliver_drop.run_job(
        [*rest, "--result", str(output / "drop.json"), "--workdir", str(output / "work")]
    )
    drop = run.drop
    facts = {
        "record_count": drop["record_count"],
        "snapshots": [(s["identifier"], s["manifest_sha256"], s["record_count"]) for s in drop["snapshots"]],
    }
    return DeliveryRun(facts, run.result)


def _delivery_inputs(resources: dict[str, Any]) -> tuple[Path, ...]:
    return (resources["delivery_request"],)


def _delivery_args(inputs: list[str], resources: dict[str, Any]) -> list[str]:
    return ["--request", inputs[0], "--partner_endpoint", resources["fake_gcs"]]


def _delivery_output(folder: Path) -> dict[str, bytes]:
    """Every object of the run's drop, by name under the partner prefix (_SUCCESS without its time)."""
    from wikidrop.gcs import storage_client

    drop = json.loads((folder / "drop.json").read_text())
    bucket, _, name = drop["manifest_uri"].removeprefix("gs://").partition("/")
    prefix = name.split("/snapshots/")[0] + "/"
    out = {}
    for blob in storage_client(endpoint=os.environ["WIKIDROP_TEST_FAKE_GCS"]).list_blobs(
        bucket, prefix=prefix
    ):
        data = blob.download_as_bytes()
        if blob.name.endswith("/_SUCCESS"):
            data = json.dumps({k: v for k, v in json.loads(data).items() if k != "committed_at"}).encode()
        out[blob.name[len(prefix) :]] = data
    return out


def _delivery_counters(stats: dict) -> dict[tuple[str, str], int]:
    counts = {
        "records_to_write": stats["record_count"],  # the progress lines' total
        "records_written": stats["record_count"],
        "chunks_written": DELIVERY_CHUNKS,
    }
    return {
        (namespace, name): n for namespace in ("wikidrop", "wikidrop.delivery") for name, n in counts.items()
    }


DELIVERY_RECORDS, DELIVERY_CHUNK_RECORDS = 60, 4
DELIVERY_CHUNKS = DELIVERY_RECORDS // DELIVERY_CHUNK_RECORDS


@pytest.fixture(scope="module")
def delivery_request(fake_gcs: str, tmp_path_factory: pytest.TempPathFactory, monkeypatch_module) -> Path:
    """Staged shards of 60 articles (four shards, ids interleaved) and a request to deliver them
    to a partner bucket in fake-gcs-server, in chunks of 4."""
    from tests.test_delivery import article, partner, request, write_shards
    from wikidrop.gcs import storage_client

    monkeypatch_module.setenv("WIKIDROP_TEST_FAKE_GCS", fake_gcs)
    folder = tmp_path_factory.mktemp("delivery")
    ids = [(i * 37) % DELIVERY_RECORDS + 1 for i in range(DELIVERY_RECORDS)]
    shards = write_shards(folder / "articles", [[article(i) for i in ids[k::4]] for k in range(4)])
    bucket = f"portable-{folder.name.lower().replace('_', '-')}"
    storage_client(endpoint=fake_gcs).create_bucket(bucket)
    p = partner(bucket, formats=["ndjson", "parquet"], chunk_records=DELIVERY_CHUNK_RECORDS)
    path = folder / "request.json"
    path.write_text(json.dumps(request(p, shards).to_json()))
    return path


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


@dataclass(frozen=True)
class ApplyInput:
    """A state (the ltg sample parsed in partitions of 60 articles) and one adds-changes day after it."""

    base: Path
    day: Path


@pytest.fixture(scope="module")
def apply_input(tmp_path_factory: pytest.TempPathFactory) -> ApplyInput:
    """The day edits every third article, so every partition is rewritten (work for both workers),
    moves one and turns one into a redirect to another (re-folds)."""
    from wikidrop_dev.incr import EditionHistory

    work = tmp_path_factory.mktemp("apply")
    history = EditionHistory.from_export(LTG_EXPORT)
    export = history.write_export(work / "ltgwiki-20260101-pages-articles.xml.bz2")
    args = ["--input", str(export), "--output", str(work / "base"), "--dump-date", "20260101"]
    parse_dump.run([*args, "--scripts", "Latin", "--partition_rows", "60", *IN_PROCESS])
    day = history.day("20260102")
    articles = sorted(p.id for p in history.pages.values() if p.ns == 0 and not p.is_redirect)
    moved, redirected, target = articles[1], articles[2], history.pages[articles[4]].title
    for page_id in articles[::3]:
        day.edit(page_id, history.text(page_id) + "\n\nEdited today.")
    day.move(moved, history.pages[moved].title + " (moved)")
    day.make_redirect(redirected, target)
    return ApplyInput(work / "base", day.write(work / "mirror").pages)


def _apply_inputs(resources: dict[str, Any]) -> tuple[Path, ...]:
    return (resources["apply_input"].base, resources["apply_input"].day)


def _apply_args(inputs: list[str], resources: dict[str, Any]) -> list[str]:
    base, day = inputs
    return ["--base", base, "--changes", day]


def _apply_output(root: Path) -> dict[str, Any]:
    """The new state (every dataset, by page id where shards may differ) and its changes."""
    folder = _committed(root)

    def parquet(dataset: str) -> dict[str, list[dict]]:
        return {
            f.name: pq.read_table(f).to_pylist() for f in sorted(folder.glob(f"{dataset}/part-*.parquet"))
        }

    def ndjson(dataset: str) -> list[dict]:
        rows = []
        for path in sorted(folder.glob(f"{dataset}/part-*.ndjson.gz")):
            with gzip.open(path, "rt") as lines:
                rows += [json.loads(line) for line in lines]
        return sorted(rows, key=lambda r: r["identifier"])

    changes = [r for rows in parquet("changes").values() for r in rows]
    return {
        # Partitions are named by page-id range, the same whatever the runner: compared file by file.
        "articles": parquet("articles"),
        "articles.ndjson": ndjson("articles"),
        "quality": parquet("quality"),
        "redirects": parquet("redirects"),
        "changes": sorted(changes, key=lambda r: r["identifier"]),
        "changes.ndjson": ndjson("changes"),
        "dead_letter": ndjson("dead_letter"),
        "state.json": json.loads((folder / "state.json").read_text()),
        "stats.json": json.loads((folder / "stats.json").read_text()),
    }


def _apply_counters(stats: dict) -> dict[tuple[str, str], int]:
    """The parse job's counters, from the parse of the day's changed pages (every other outcome of a
    page is decided before it reaches the parser)."""
    parsed = {"article": stats["created"] + stats["updated"], "dead_lettered": stats["dead_lettered"]}
    return {
        (namespace, kind): n
        for kind, n in parsed.items()
        if n
        for namespace in ("wikidrop", f"wikidrop.{stats['dbname']}")
    }


JOBS = [
    PortableJob(
        "parse_dump",
        parse_dump.run_job,
        lambda resources: (LTG, LTG_INDEX),
        _parse_args,
        _parse_output,
        _parse_counters,
        "attempts/*/articles/part-*",
        realdata=True,
    ),
    PortableJob(
        "deliver_drop",
        _run_delivery,
        _delivery_inputs,
        _delivery_args,
        _delivery_output,
        _delivery_counters,
        "work/*",
        resources=("delivery_request", "fake_gcs"),
    ),
    PortableJob(
        "apply_changes",
        apply_changes.run_job,
        _apply_inputs,
        _apply_args,
        _apply_output,
        _apply_counters,
        "attempts/*/articles/part-*",
        resources=("apply_input",),
        realdata=True,
    ),
]


def _counters(result: Any) -> dict[tuple[str, str], int]:
    return {
        (c.key.metric.namespace, c.key.metric.name): c.committed for c in result.metrics().query()["counters"]
    }


@pytest.mark.parametrize(
    "job",
    [pytest.param(job, id=job.name, marks=[pytest.mark.realdata] if job.realdata else []) for job in JOBS],
)
def test_two_sdk_workers_on_the_portable_job_api_equal_the_default_runner(
    job: PortableJob, portable_beam, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request
) -> None:
    from tests.fixtures.beam_portable import FileWriters

    resources = {name: request.getfixturevalue(name) for name in job.resources}
    inputs = job.inputs(resources)
    local = job.run(
        [*job.args([str(p) for p in inputs], resources), "--output", str(tmp_path / "local"), *IN_PROCESS]
    )

    # Launched from a folder of its own, with relative paths: the workers run in the pool's folder.
    launcher = tmp_path / "launcher"
    launcher.mkdir()
    monkeypatch.chdir(launcher)
    assert Path(portable_beam.workdir).resolve() != launcher.resolve()
    relative_inputs = [os.path.relpath(p, launcher) for p in inputs]
    with FileWriters(portable_beam, launcher / "out") as writers:
        portable = job.run(
            [
                *job.args(relative_inputs, resources),
                "--output",
                "out",
                *portable_beam.pipeline_args(SDK_WORKERS),
            ]
        )

    assert str(portable.result.state) in {"DONE", "PipelineState.DONE"}
    assert job.read_output(launcher / "out") == job.read_output(tmp_path / "local")
    assert portable.stats == local.stats
    assert not list(portable_beam.workdir.rglob("out")), "output written relative to the workers' folder"

    expected = job.counters(local.stats)
    assert expected and _counters(portable.result) == expected

    # Two SDK worker processes, and each held a record shard of the output open (wrote part of it).
    out = launcher / "out"
    shards = list(out.glob(job.shards))
    records_folder = f"{Path(job.shards).parent}/*"  # a glob: the parse job writes under attempts/<id>/
    assert len(writers.workers_seen) == SDK_WORKERS, writers.workers_seen
    writers_of_records = {
        pid
        for pid, files in writers.files_by_worker.items()
        if any(
            Path(f).is_relative_to(out) and fnmatch(str(Path(f).relative_to(out)), records_folder)
            for f in files
        )
    }
    assert writers_of_records == writers.workers_seen, (writers.files_by_worker, shards)
