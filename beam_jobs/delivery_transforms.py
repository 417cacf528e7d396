"""The steps of the delivery job (``beam_jobs.deliver_drop``), run on Beam workers.

They live in a module of their own so workers unpickle them by this name, whichever way the job
was launched (``python -m beam_jobs.deliver_drop`` makes the launcher's module ``__main__``).
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import heapq
import json
import logging
import pickle
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from beam_jobs.local_gcs import use_anonymous_gcs_for_emulator
from beam_jobs.progress import CHUNKS_WRITTEN, TO_WRITE, WRITTEN, WorkCounters
from wikidrop.delivery.bucket import PartnerBucket
from wikidrop.delivery.chunks import ChunkWriter, WrittenChunks
from wikidrop.delivery.drops import DeliveryPlan, DeliveryRequest, commit_drops
from wikidrop.delivery.errors import DeliveryError
from wikidrop.delivery.projection import RecordShape
from wikidrop.delivery.shards import partner_records, record_key, unique_in_order
from wikidrop.delivery.sort import ExternalSort, pair_frame, read_pairs
from wikidrop.gzip_files import ReproducibleGzip
from wikidrop.layout import PAGE_IDS

log = logging.getLogger(__name__)

DELIVERY_SCOPE = "delivery"  # the job's counters: namespaces wikidrop and wikidrop.delivery
CHUNK_SCRATCH = "wikidrop-chunk-"  # a chunk's local files, in a folder of its own


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
    with open_uncompressed(uri) as f:
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


def chunk_boundaries(
    page_ids: PageIds, chunk_records: int, tally_dir: str | None = None
) -> dict[int, list[int]]:
    """Per namespace, the first page id of each chunk: chunk N starts at the (N * chunk_records)-th id.

    Also counts the drop's records (``records_to_write``): the total of the launcher's progress lines.
    """
    counters = WorkCounters(DELIVERY_SCOPE, (TO_WRITE,), tally_dir)
    counters.inc(TO_WRITE, sum(len(ids) for ids in page_ids.ids.values()))
    counters.flush()
    return {ns: ids[::chunk_records].tolist() for ns, ids in page_ids.ids.items()}


RunRange = tuple[str, int, int]  # a sorted run's path, and a byte range of it holding one chunk


def run_path(runs_dir: str, uri: str) -> str:
    """The sorted run of a shard: named after the shard, so a retried worker rewrites the same file."""
    return FileSystems.join(runs_dir, hashlib.sha1(uri.encode()).hexdigest()[:20] + ".run")


def sort_shard(
    uri: str, shape: RecordShape, boundaries: Mapping[int, list[int]], runs_dir: str
) -> Iterator[tuple[tuple[int, int], RunRange]]:
    """A shard's passing records sorted by (namespace, page id) into one run under ``runs_dir``;
    yields, per chunk the shard has records of, ``((namespace, chunk), (run, start, end))``.

    Only these small ranges are grouped by chunk: records never go through the runner's shuffle,
    which on the local runner is held in memory. Sorting is bounded by ``ExternalSort``.
    """
    path = run_path(runs_dir, uri)
    ranges = []
    with tempfile.TemporaryDirectory(prefix="wikidrop-sort-") as tmp:
        sorter = ExternalSort(Path(tmp))
        with open_uncompressed(uri) as f:
            for record in partner_records(f, uri, shape, Counter()):
                sorter.add(record_key(record), record)
        current, start, offset = None, 0, 0
        with FileSystems.create(path, compression_type=CompressionTypes.UNCOMPRESSED) as out:
            for (ns, page_id), blob in sorter.sorted_pickled():
                chunk = (ns, bisect.bisect_right(boundaries[ns], page_id) - 1)
                if chunk != current:
                    if current is not None:
                        ranges.append((current, (path, start, offset)))
                    current, start = chunk, offset
                frame = pair_frame((ns, page_id), blob)
                out.write(frame)
                offset += len(frame)
        if current is not None:
            ranges.append((current, (path, start, offset)))
    yield from ranges


class WriteChunkFn(beam.DoFn):
    """(namespace, chunk) + its ranges of the shards' sorted runs -> the chunk in every format, in the
    partner's bucket; emits (namespace, manifest entries, put outcomes).

    Its local files (the ranges, the chunk in each format) go under ``runs_dir`` when that is a local
    folder (one disk for all the job's scratch), else in the system's temporary folder. It counts
    records and chunks written (``beam_jobs.progress``; also in ``tally_dir`` on the local runner).
    """

    def __init__(
        self,
        target: PartnerTarget,
        request: DeliveryRequest,
        shape: RecordShape,
        schemas: dict[str, Any],
        runs_dir: str,
        tally_dir: str | None = None,
    ) -> None:
        self.target = target
        self.request = request
        self.shape = shape
        self.schemas = schemas
        self.scratch = runs_dir if FileSystems.get_scheme(runs_dir) is None else None
        self.tally_dir = tally_dir

    def setup(self) -> None:
        self.bucket = self.target.open()
        self.counters = WorkCounters(DELIVERY_SCOPE, (WRITTEN, CHUNKS_WRITTEN), self.tally_dir)

    def process(
        self, element: tuple[tuple[int, int], Iterable[RunRange]]
    ) -> Iterator[tuple[int, list[dict[str, Any]], dict[str, int]]]:
        (ns, index), ranges = element
        if self.scratch:
            Path(self.scratch).mkdir(parents=True, exist_ok=True)
        with (
            tempfile.TemporaryDirectory(prefix=CHUNK_SCRATCH, dir=self.scratch) as tmp,
            contextlib.ExitStack() as files,
        ):
            workdir = Path(tmp)
            # each range is copied to local disk first: the merge then reads every run with a small buffer
            parts = [_copy_range(r, workdir / f"part-{i:05d}.run") for i, r in enumerate(sorted(ranges))]
            runs = [read_pairs(files.enter_context(open(part, "rb"))) for part in parts]
            merged = heapq.merge(*runs, key=lambda pair: pair[0])
            records = unique_in_order((key, pickle.loads(blob)) for key, blob in merged)
            writer = ChunkWriter(self.bucket, self.request.paths(ns), self.shape, self.schemas, workdir)
            entries, outcomes = writer.write(index, records)
        count = entries[0]["records"] if entries else 0
        self.counters.inc(WRITTEN, count)
        self.counters.inc(CHUNKS_WRITTEN)
        yield ns, entries, dict(outcomes)

    def finish_bundle(self) -> None:
        self.counters.flush()


def _copy_range(run: RunRange, local: Path, block: int = 1 << 20) -> Path:
    path, start, end = run
    with open_uncompressed(path) as source, open(local, "wb") as target:
        source.seek(start)
        remaining = end - start
        while remaining:
            data = source.read(min(block, remaining))
            if not data:
                raise DeliveryError(f"{path}: ends before byte {end} (a sorted run cut short)")
            target.write(data)
            remaining -= len(data)
    return local


def clear_runs(runs_dir: str) -> None:
    """Delete the sorted runs of an earlier attempt or of this one, once committed, and the chunk
    scratch folders a killed worker left behind in a local ``runs_dir``."""
    found = [m.path for m in FileSystems.match([FileSystems.join(runs_dir, "*.run")])[0].metadata_list]
    if found:
        FileSystems.delete(found)
    if FileSystems.get_scheme(runs_dir) is None and Path(runs_dir).is_dir():
        for scratch in Path(runs_dir).glob(f"{CHUNK_SCRATCH}*"):
            shutil.rmtree(scratch, ignore_errors=True)


def commit(
    chunk_results: list[tuple[int, list[dict[str, Any]], dict[str, int]]],
    page_ids: PageIds,
    *,
    target: PartnerTarget,
    plan: DeliveryPlan,
    shape: RecordShape,
    result: str,
    runs_dir: str,
) -> dict[str, Any]:
    """Once every chunk is in: page-id lists, then ``commit_drops``; the Drop goes to ``result``."""
    import numpy as np

    bucket = target.open()
    with tempfile.TemporaryDirectory(prefix="wikidrop-commit-") as tmp:
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
    write_json(result, drop)
    clear_runs(runs_dir)
    return drop


def _write_page_ids(ids: Any, path: Path, block: int = 1 << 20) -> Path:
    """``page_ids.txt.gz``: one id per line, ascending (the bytes the in-process delivery writes)."""
    with ReproducibleGzip(path) as out:
        for start in range(0, len(ids), block):
            lines = "".join(f"{page_id}\n" for page_id in ids[start : start + block].tolist())
            out.write(lines.encode("ascii"))
    return path


def open_uncompressed(uri: str) -> Any:
    """A shard or JSON file, local or ``gs://``, as Beam's filesystems open it (no decompression).

    Runs on workers: against an emulator, Beam's GCS client is made anonymous first (else each
    worker process hunts for credentials for ~25 s, ``beam_jobs.local_gcs``)."""
    use_anonymous_gcs_for_emulator()
    return FileSystems.open(uri, compression_type=CompressionTypes.UNCOMPRESSED)


def write_json(path: str, payload: Any) -> None:
    with FileSystems.create(path, mime_type="application/json") as f:
        f.write(json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8"))
