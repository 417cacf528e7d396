"""Beam job: one partner's drop of one edition, its chunks written by many workers, committed once.

Run locally (Beam's in-process FnApiRunner, several worker processes)::

    python -m beam_jobs.deliver_drop --request request.json --result drop.json \\
        --partner_endpoint http://127.0.0.1:9023 \\
        --direct_running_mode multi_processing --direct_num_workers 2

``--request`` is a ``wikidrop.delivery.drops.DeliveryRequest`` as JSON (``to_json``: the partner's
config, edition, dump date, namespaces, staged article shards, source files, validation summary),
``--result`` where the Drop (docs/architecture.md) is written when the job is done; both local or
``gs://``. The same runner options as the parse job apply: ``--runner DataflowRunner ...``, or
``--runner PortableRunner --job_endpoint ... --environment_type EXTERNAL ...``.

The drop is the in-process ``wikidrop.delivery.drops.deliver``'s, byte for byte:

1. the launcher plans (validation passed; drops already committed are left alone, and if that is
   all of them only latest.json is brought up to date, without a pipeline; forced ones are
   withdrawn) and reads the record schema from the first shard's footer;
2. ``ListPageIds``: every shard read for its filter columns only, giving per namespace the sorted
   page ids the partner gets (8 bytes a page: enwiki's ~7 M articles are 56 MB on one worker) and
   the filters' exclusion counts; a page id met twice fails the job before anything is written;
3. the chunk boundaries are every ``chunk_records``-th of those ids, so chunk N holds the records it
   holds in the in-process delivery;
4. ``KeyRecordsByChunk``: every shard read again, whole records keyed by (namespace, chunk), grouped;
   ``WriteChunk``: each chunk sorted by page id (bounded memory), written in every format, digested
   and put create-only into the partner's bucket by the worker that has it;
5. ``Commit``: one step once every chunk is in: page-id lists, tombstones, manifest,
   sha256sums.txt, ``_SUCCESS`` last, then latest.json; the Drop is written to ``--result``.

A crash anywhere before ``_SUCCESS`` leaves an uncommitted drop that the next run rebuilds: chunks
already there and identical are kept, differing ones replaced, strays removed; a retried worker
rewrites the same bytes. Credentials: the staged shards are read through Beam's filesystems (the
job's identity; ``STORAGE_EMULATOR_HOST`` for an emulator, as the parse job); the partner's bucket
with ``--partner_endpoint`` (an emulator), ``--partner_credentials`` (a service account key file
the workers can read: local runs) or else the job's own identity (on Dataflow, run each partner's
job as a service account that may write that partner's bucket only).
"""

from __future__ import annotations

import bisect
import json
import logging
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.runner import PipelineResult

from beam_jobs.local_gcs import use_anonymous_gcs_for_emulator
from beam_jobs.paths import absolute_path, make_local_paths_absolute
from beam_jobs.runners import pipeline_runner
from wikidrop.delivery.bucket import PartnerBucket
from wikidrop.delivery.chunks import ChunkWriter, WrittenChunks
from wikidrop.delivery.drops import (
    DeliveryPlan,
    DeliveryRequest,
    commit_drops,
    finish_delivery,
    plan_delivery,
)
from wikidrop.delivery.errors import DeliveryError
from wikidrop.delivery.projection import RecordShape
from wikidrop.delivery.shards import partner_records, unique_in_order
from wikidrop.delivery.sort import ExternalSort
from wikidrop.gzip_files import ReproducibleGzip
from wikidrop.layout import PAGE_IDS
from wikidrop.progress import Progress

log = logging.getLogger(__name__)

PATH_OPTIONS = ("request", "result", "partner_credentials", "workdir")
COUNTERS = "wikidrop.delivery"


class DeliverDropOptions(PipelineOptions):
    """The job's own options (nothing argparse-required: Beam parses every options class)."""

    @classmethod
    def _add_argparse_args(cls, parser: Any) -> None:
        parser.add_argument("--request", default=None, help="DeliveryRequest JSON (local or gs://)")
        parser.add_argument("--result", default=None, help="where the Drop JSON is written (local or gs://)")
        parser.add_argument(
            "--partner_endpoint", default=None, help="GCS emulator URL for the partner bucket"
        )
        parser.add_argument(
            "--partner_credentials", default=None, help="service account key file for the partner bucket"
        )
        parser.add_argument(
            "--workdir", default=None, help="local folder for the workers' chunk files (default: system temp)"
        )


@dataclass(frozen=True)
class PartnerTarget:
    """How a worker reaches the partner's bucket (picklable: no client, no secret, a key file path)."""

    bucket: str
    prefix: str
    endpoint: str | None = None
    credentials_file: str | None = None

    def open(self) -> PartnerBucket:
        from wikidrop.gcs import storage_client

        info = None
        if self.credentials_file:
            with open(self.credentials_file, encoding="utf-8") as f:
                info = json.load(f)
        return PartnerBucket(storage_client(self.endpoint, credentials_info=info), self.bucket, self.prefix)


@dataclass(frozen=True)
class DeliverRun:
    """A finished job: the Drop it committed and Beam's result (None when there was nothing to build)."""

    drop: dict[str, Any]
    result: PipelineResult | None


def run(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the job to completion and return the Drop."""
    return run_job(argv).drop


def run_job(argv: Sequence[str] | None = None) -> DeliverRun:
    options = PipelineOptions(argv)
    opts = options.view_as(DeliverDropOptions)
    if not opts.request or not opts.result:
        raise ValueError("deliver_drop needs --request REQUEST.json and --result DROP.json")
    make_local_paths_absolute(opts, PATH_OPTIONS)
    use_anonymous_gcs_for_emulator()
    doc = _read_json(opts.request)
    request = DeliveryRequest.from_json(
        {**doc, "article_shards": [absolute_path(uri) for uri in doc["article_shards"]]}
    )
    target = PartnerTarget(
        request.partner.bucket, request.partner.prefix, opts.partner_endpoint, opts.partner_credentials
    )
    bucket = target.open()
    plan = plan_delivery(request, bucket)
    if not plan.todo:
        drop = finish_delivery(bucket, plan, {})
        _write_json(opts.result, drop)
        return DeliverRun(drop, None)
    shape, schemas = plan.shape(_shard_schema(request.article_shards[0]))
    log.info(
        "delivering %s %s %s to %s: %d shards, namespaces %s",
        request.partner.id,
        request.dbname,
        request.dump_date,
        bucket.uri(request.kind.directory),
        len(request.article_shards),
        list(plan.todo),
    )
    with beam.Pipeline(runner=pipeline_runner(options), options=options) as pipeline:
        shards = pipeline | "ListShards" >> beam.Create(request.article_shards, reshuffle=False)
        page_ids = (
            shards
            | "SpreadShards" >> beam.Reshuffle()
            | "ReadPageIds" >> beam.Map(page_ids_of_shard, shape)
            | "ListPageIds" >> beam.CombineGlobally(MergePageIds())
        )
        boundaries = page_ids | "ChunkBoundaries" >> beam.Map(chunk_boundaries, request.partner.chunk_records)
        chunks = (
            shards
            | "SpreadShardsAgain" >> beam.Reshuffle()
            | "KeyRecordsByChunk"
            >> beam.FlatMap(records_by_chunk, shape, beam.pvalue.AsSingleton(boundaries))
            | "GroupChunks" >> beam.GroupByKey()
            | "WriteChunk" >> beam.ParDo(WriteChunkFn(target, request, shape, schemas, opts.workdir))
        )
        _ = (
            chunks
            | "AllChunks" >> beam.combiners.ToList()
            | "Commit"
            >> beam.Map(
                commit,
                beam.pvalue.AsSingleton(page_ids),
                target=target,
                plan=plan,
                shape=shape,
                result=opts.result,
                workdir=opts.workdir,
            )
        )
    return DeliverRun(_read_json(opts.result), pipeline.result)


# -- the pipeline's steps (run on workers) ---------------------------------------------------------------


@dataclass
class PageIds:
    """The page ids the partner gets, per namespace (sorted int64 arrays once merged), and what the
    filters left out per (namespace, filter)."""

    ids: dict[int, Any]
    excluded: Counter[tuple[int, str]]


def page_ids_of_shard(uri: str, shape: RecordShape) -> PageIds:
    """One shard's passing page ids, read from the filter columns only."""
    import numpy as np

    excluded: Counter[tuple[int, str]] = Counter()
    ids: dict[int, list[int]] = {}
    with _open(uri) as f:
        for record in partner_records(f, uri, shape, excluded, columns=shape.filter_columns):
            ids.setdefault(record["namespace"]["identifier"], []).append(record["identifier"])
    return PageIds({ns: np.array(values, dtype=np.int64) for ns, values in ids.items()}, excluded)


class MergePageIds(beam.CombineFn):
    """Every shard's PageIds -> one, ids sorted; a page id twice in a namespace is a DeliveryError."""

    def create_accumulator(self) -> PageIds:
        return PageIds({}, Counter())

    def add_input(self, acc: PageIds, shard: PageIds) -> PageIds:
        return self.merge_accumulators([acc, shard])

    def merge_accumulators(self, accumulators: Iterable[PageIds]) -> PageIds:
        import numpy as np

        parts: dict[int, list[Any]] = {}
        excluded: Counter[tuple[int, str]] = Counter()
        for acc in accumulators:
            for ns, values in acc.ids.items():
                parts.setdefault(ns, []).append(values)
            excluded.update(acc.excluded)
        return PageIds({ns: np.concatenate(values) for ns, values in parts.items()}, excluded)

    def extract_output(self, acc: PageIds) -> PageIds:
        import numpy as np

        ids = {}
        for ns, values in sorted(acc.ids.items()):
            ordered = np.sort(values, kind="stable")
            twice = np.flatnonzero(ordered[1:] == ordered[:-1])
            if twice.size:
                raise DeliveryError(
                    f"page id {int(ordered[twice[0]])} (namespace {ns}) appears twice in the staged articles"
                )
            ids[ns] = ordered
        total = sum(len(v) for v in ids.values())
        log.info("%d records to deliver (%s)", total, {ns: len(v) for ns, v in ids.items()})
        return PageIds(ids, acc.excluded)


def chunk_boundaries(page_ids: PageIds, chunk_records: int) -> dict[int, list[int]]:
    """Per namespace, the first page id of each chunk: chunk N starts at the (N * chunk_records)-th id."""
    return {ns: ids[::chunk_records].tolist() for ns, ids in page_ids.ids.items()}


def records_by_chunk(
    uri: str, shape: RecordShape, boundaries: Mapping[int, list[int]]
) -> Iterator[tuple[tuple[int, int], dict[str, Any]]]:
    """A shard's passing records keyed by (namespace, chunk index)."""
    with _open(uri) as f:
        for record in partner_records(f, uri, shape, Counter()):
            ns = record["namespace"]["identifier"]
            yield (ns, bisect.bisect_right(boundaries[ns], record["identifier"]) - 1), record


class WriteChunkFn(beam.DoFn):
    """(namespace, chunk) + its records -> the chunk in every format, in the partner's bucket;
    emits (namespace, manifest entries, put outcomes)."""

    def __init__(
        self,
        target: PartnerTarget,
        request: DeliveryRequest,
        shape: RecordShape,
        schemas: dict[str, Any],
        workdir: str | None = None,
    ) -> None:
        self.target = target
        self.workdir = workdir
        self.request = request
        self.shape = shape
        self.schemas = schemas
        self.records = Metrics.counter(COUNTERS, "records_written")
        self.chunks = Metrics.counter(COUNTERS, "chunks_written")

    def setup(self) -> None:
        if self.workdir:
            Path(self.workdir).mkdir(parents=True, exist_ok=True)
        self.bucket = self.target.open()
        self.progress = Progress(
            log, f"{self.request.partner.id} {self.request.dbname}: this worker wrote", None
        )

    def process(
        self, element: tuple[tuple[int, int], Iterable[dict[str, Any]]]
    ) -> Iterator[tuple[int, list[dict[str, Any]], dict[str, int]]]:
        (ns, index), records = element
        with tempfile.TemporaryDirectory(prefix="wikidrop-chunk-", dir=self.workdir) as tmp:
            workdir = Path(tmp)
            sorter = ExternalSort(workdir / "runs")
            sorter.workdir.mkdir()
            for record in records:
                sorter.add((ns, record["identifier"]), record)
            writer = ChunkWriter(self.bucket, self.request.paths(ns), self.shape, self.schemas, workdir)
            entries, outcomes = writer.write(index, unique_in_order(sorter.sorted()))
        self.records.inc(sorter.count)
        self.chunks.inc()
        self.progress.advance(sorter.count)
        yield ns, entries, dict(outcomes)


def commit(
    chunk_results: list[tuple[int, list[dict[str, Any]], dict[str, int]]],
    page_ids: PageIds,
    *,
    target: PartnerTarget,
    plan: DeliveryPlan,
    shape: RecordShape,
    result: str,
    workdir: str | None = None,
) -> dict[str, Any]:
    """Once every chunk is in: page-id lists, then ``commit_drops``; the Drop goes to ``result``."""
    import numpy as np

    bucket = target.open()
    if workdir:
        Path(workdir).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="wikidrop-commit-", dir=workdir) as tmp:
        workdir = Path(tmp)
        written = {}
        for ns in plan.todo:
            ids = page_ids.ids.get(ns, np.array([], dtype=np.int64))
            ns_dir = workdir / plan.request.paths(ns).identifier
            ns_dir.mkdir()
            written[ns] = WrittenChunks(
                page_ids=_write_page_ids(ids, ns_dir / PAGE_IDS), record_count=len(ids)
            )
        for ns, entries, outcomes in chunk_results:
            written[ns].chunks += entries
            written[ns].objects.update(outcomes)
        drop = commit_drops(bucket, plan, shape, written, page_ids.excluded, workdir)
    _write_json(result, drop)
    return drop


def _write_page_ids(ids: Any, path: Path, block: int = 1 << 20) -> Path:
    """``page_ids.txt.gz``: one id per line, ascending (the bytes the in-process delivery writes)."""
    with ReproducibleGzip(path) as out:
        for start in range(0, len(ids), block):
            lines = "".join(f"{page_id}\n" for page_id in ids[start : start + block].tolist())
            out.write(lines.encode("ascii"))
    return path


# -- I/O ------------------------------------------------------------------------------------------------


def _open(uri: str) -> Any:
    return FileSystems.open(uri, compression_type=CompressionTypes.UNCOMPRESSED)


def _shard_schema(uri: str) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with _open(uri) as f:
            return pq.read_schema(f)
    except (OSError, pa.ArrowException) as exc:
        raise DeliveryError(f"{uri}: cannot read articles shard: {exc}") from exc


def _read_json(path: str) -> Any:
    with _open(path) as f:
        return json.loads(f.read())


def _write_json(path: str, payload: Any) -> None:
    with FileSystems.create(path, mime_type="application/json") as f:
        f.write(json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8"))


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    print(json.dumps(run(), indent=2, ensure_ascii=False))
