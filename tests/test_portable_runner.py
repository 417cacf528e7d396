"""The Beam jobs through Beam's portable job API with two SDK worker processes, against the default runner.

The portable path is the one Flink, Spark and Dataflow runners take: the pipeline is pickled and
submitted to a job service (``tests/fixtures/beam_portable.py``, on 127.0.0.1), and SDK workers in
processes of their own, started by a worker pool in another working directory, run it. Each job
is launched from a working directory of its own with relative paths, as a user would. Its output
and stats must equal an in-process run of the same job on Beam's default local runner (FnApiRunner),
its counters must come back through ``result.metrics()``, and both SDK workers must have written
output. One ``PortableJob`` per Beam job: a new job is one more entry in ``JOBS``.
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from beam_jobs import parse_dump
from tests.conftest import SHARED_DUMPS

pytestmark = [pytest.mark.slow, pytest.mark.realdata]

IN_PROCESS = ["--direct_running_mode", "in_memory", "--direct_num_workers", "1"]
SDK_WORKERS = 2
LTG = SHARED_DUMPS / "derived" / "ltgwiki-2017-COMPLETE-pages-articles-multistream.xml.bz2"
LTG_INDEX = SHARED_DUMPS / "derived" / "ltgwiki-2017-COMPLETE-pages-articles-multistream-index.txt.bz2"


@dataclass(frozen=True)
class PortableJob:
    """A Beam job as this test drives it.

    ``run(argv)`` runs it to the end and returns an object with ``.stats`` and ``.result`` (Beam's
    PipelineResult); ``args(inputs)`` are its options given (possibly relative) input paths, without
    ``--output``; ``read_output(folder)`` returns its output in a form that does not depend on how
    records were sharded; ``counters(stats)`` the user counters (namespace, name) -> value it must
    report; ``shards`` the glob of its record shards under the output folder.
    """

    name: str
    run: Callable[[list[str]], Any]
    inputs: tuple[Path, ...]
    args: Callable[[list[str]], list[str]]
    read_output: Callable[[Path], Any]
    counters: Callable[[dict], dict[tuple[str, str], int]]
    shards: str


def _parse_args(inputs: list[str]) -> list[str]:
    dump, index = inputs
    return ["--input", dump, "--index", index, "--namespaces", "0"]


def _parse_output(folder: Path) -> dict[str, Any]:
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
    }
    expected = {}
    for kind, field in kinds.items():
        if stats[field]:  # Beam reports only counters that were incremented
            expected[("wikidrop", kind)] = stats[field]
            expected[(f"wikidrop.{stats['dbname']}", kind)] = stats[field]
    return expected


JOBS = [
    PortableJob(
        "parse_dump",
        parse_dump.run_job,
        (LTG, LTG_INDEX),
        _parse_args,
        _parse_output,
        _parse_counters,
        "articles/part-*",
    ),
]


def _counters(result: Any) -> dict[tuple[str, str], int]:
    return {
        (c.key.metric.namespace, c.key.metric.name): c.committed for c in result.metrics().query()["counters"]
    }


@pytest.mark.parametrize("job", JOBS, ids=lambda job: job.name)
def test_two_sdk_workers_on_the_portable_job_api_equal_the_default_runner(
    job: PortableJob, portable_beam, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fixtures.beam_portable import FileWriters

    local = job.run(
        [*job.args([str(p) for p in job.inputs]), "--output", str(tmp_path / "local"), *IN_PROCESS]
    )

    # Launched from a folder of its own, with relative paths: the workers run in the pool's folder.
    launcher = tmp_path / "launcher"
    launcher.mkdir()
    monkeypatch.chdir(launcher)
    assert Path(portable_beam.workdir).resolve() != launcher.resolve()
    relative_inputs = [os.path.relpath(p, launcher) for p in job.inputs]
    with FileWriters(portable_beam, launcher / "out") as writers:
        portable = job.run(
            [*job.args(relative_inputs), "--output", "out", *portable_beam.pipeline_args(SDK_WORKERS)]
        )

    assert str(portable.result.state) in {"DONE", "PipelineState.DONE"}
    assert job.read_output(launcher / "out") == job.read_output(tmp_path / "local")
    assert portable.stats == local.stats
    assert not list(portable_beam.workdir.rglob("out")), "output written relative to the workers' folder"

    expected = job.counters(local.stats)
    assert expected and _counters(portable.result) == expected

    # Two SDK worker processes, and each held a record shard of the output open (wrote part of it).
    shards = list((launcher / "out").glob(job.shards))
    assert len(writers.workers_seen) == SDK_WORKERS, writers.workers_seen
    writers_of_records = {
        pid
        for pid, files in writers.files_by_worker.items()
        if any(Path(f).is_relative_to(launcher / "out" / Path(job.shards).parent) for f in files)
    }
    assert writers_of_records == writers.workers_seen, (writers.files_by_worker, shards)
