"""The partitioned datasets of an edition state (articles, redirects): write, read, rewrite, copy.

``wikidrop/state.py`` says why a state is partitioned by page id. Here: each partition is one
Parquet file and, for articles, a gzip NDJSON file holding the same records in the same order.
That order is what makes a day cheap: rewriting a touched partition copies every untouched row as
Arrow data and its JSON line as bytes, and only encodes the rows that changed (json.dumps of every
record would cost more than all the rest of the rewrite). The articles' quality rows
(``wikidrop.quality.article_quality``, what validation checks) are a third file per partition,
``quality/part-NNNNN.parquet``, in the same order: copied for untouched rows, measured for the rest.

parse_dump writes partitions with ``WritePartitions`` (one partition per worker bundle, rotated
every ``max_rows`` rows or when page ids stop ascending, so a partition read from a sorted dump is
one tight id range); apply_changes rewrites touched partitions with ``rewrite_partition`` and copies
the others with ``copy_partition``.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.transforms.window import GlobalWindow
from apache_beam.utils.timestamp import MIN_TIMESTAMP
from apache_beam.utils.windowed_value import WindowedValue

from beam_jobs.outputs import NDJSON_GZIP_LEVEL, delete_folder
from wikidrop.delivery.encoding import json_line
from wikidrop.dumps.siteinfo import SiteInfo
from wikidrop.gzip_files import ReproducibleGzip
from wikidrop.quality.article_quality import article_quality, quality_schema
from wikidrop.state import PartitionInfo, partition_name

PARQUET_SUFFIX = ".parquet"
NDJSON_SUFFIX = ".ndjson.gz"
# Rows per Parquet row group: bounded buffers keep a worker's memory flat (~200 article records).
ROW_GROUP_ROWS = 200
ROW_GROUP_BYTES = 32 * 1024 * 1024


class PartitionError(RuntimeError):
    """A partition's files disagree with each other or with what the state says they hold."""


@dataclass(frozen=True)
class QualityRows:
    """The quality rows kept beside a dataset's partitions: one per record, in the records' order."""

    folder: str
    site: SiteInfo
    scripts: tuple[str, ...]  # the edition's Unicode scripts, counted by script_share

    @property
    def schema(self) -> pa.Schema:
        return quality_schema(self.scripts)

    def parquet(self, name: str) -> str:
        return f"{self.folder}/{name}{PARQUET_SUFFIX}"

    @property
    def temporary(self) -> str:
        return f"{self.folder}/_temporary"

    def measure(self, records: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [article_quality(record, self.site, self.scripts) for record in records]


@dataclass(frozen=True)
class Dataset:
    """One partitioned dataset of a state folder: where its files are and what they hold."""

    folder: str
    schema: pa.Schema
    ndjson: bool
    # Fields an update takes from the row it replaces (articles: the page_props fields, which
    # adds-changes days do not carry; they stay as the last full dump's page_props table gave them).
    kept_on_update: tuple[str, ...] = ()
    # Articles: their quality rows, a partition file of their own (None: the state has none).
    quality: QualityRows | None = None

    def parquet(self, name: str) -> str:
        return f"{self.folder}/{name}{PARQUET_SUFFIX}"

    def ndjson_file(self, name: str) -> str | None:
        return f"{self.folder}/{name}{NDJSON_SUFFIX}" if self.ndjson else None

    @property
    def temporary(self) -> str:
        """Where workers write partitions before they are named (inside the dataset folder, as Beam's
        own sinks do: a listing of the folder's files never sees them)."""
        return f"{self.folder}/_temporary"

    def files(self, name: str) -> list[str]:
        ndjson = self.ndjson_file(name)
        quality = self.quality.parquet(name) if self.quality else None
        return [self.parquet(name), *([ndjson] if ndjson else []), *([quality] if quality else [])]

    def writer(self, name: str) -> PartitionWriter:
        """A writer of partition ``name`` of this dataset (all its files)."""
        return PartitionWriter(
            self.parquet(name), self.ndjson_file(name), self.schema, self.quality, self.quality_file(name)
        )

    def quality_file(self, name: str) -> str | None:
        return self.quality.parquet(name) if self.quality else None


def _struct_field(table: pa.Table | pa.RecordBatch, column: str, name: str) -> pa.Array:
    return pc.struct_field(table.column(column), name)


class PartitionWriter:
    """Writes one partition's files (Parquet, plus NDJSON and quality rows for articles) and what
    ``PartitionInfo`` needs.

    Rows arrive as Arrow tables with their JSON lines and quality rows (``add_rows``, copying old
    rows) or as records (``add_records``, measured here); every file gets them in the same order.
    """

    def __init__(
        self,
        parquet_path: str,
        ndjson_path: str | None,
        schema: pa.Schema,
        quality: QualityRows | None = None,
        quality_path: str | None = None,
    ):
        self.schema = schema
        self._parquet_file = FileSystems.create(parquet_path, mime_type="application/vnd.apache.parquet")
        self._parquet = pq.ParquetWriter(self._parquet_file, schema, compression="zstd")
        self._quality = quality if quality_path else None
        self._quality_file = None
        self._quality_writer = None
        if self._quality is not None:
            self._quality_file = FileSystems.create(quality_path, mime_type="application/vnd.apache.parquet")
            self._quality_writer = pq.ParquetWriter(
                self._quality_file, self._quality.schema, compression="zstd"
            )
        self._quality_records: list[dict[str, Any]] = []  # rows of ``_records``, not yet Arrow
        self._quality_pending: list[pa.Table] = []  # quality rows of ``_pending``
        self._ndjson = None
        if ndjson_path is not None:
            raw = FileSystems.create(
                ndjson_path, mime_type="application/gzip", compression_type=CompressionTypes.UNCOMPRESSED
            )
            self._ndjson = ReproducibleGzip(raw, NDJSON_GZIP_LEVEL, engine="isal")
        self._records: list[Mapping[str, Any]] = []  # added as records, not yet Arrow
        self._pending: list[pa.Table] = []  # Arrow rows of the next row group
        self._pending_rows = 0
        self._pending_bytes = 0
        self._accounted = 0
        self._first: int | None = None
        self._last: int | None = None
        self._max_revision: int | None = None
        self._namespaces: Counter = Counter()

    @property
    def rows(self) -> int:
        return self._accounted + len(self._records)

    def add_records(self, records: Sequence[Mapping[str, Any]]) -> None:
        """New records (encoded here, in batches of ``ROW_GROUP_ROWS``)."""
        if not records:
            return
        if self._ndjson is not None:
            self._ndjson.write(b"".join(json_line(r) for r in records))
        if self._quality is not None:
            self._quality_records.extend(self._quality.measure(records))
        self._records.extend(records)
        if len(self._records) >= ROW_GROUP_ROWS:
            self._convert_records()

    def add_rows(
        self,
        table: pa.Table | pa.RecordBatch,
        lines: Sequence[bytes] | None,
        quality: pa.Table | None = None,
    ) -> None:
        """Rows already encoded: Arrow data and (articles) their NDJSON lines and quality rows,
        copied as they are."""
        if not table.num_rows:
            return
        self._convert_records()
        if isinstance(table, pa.RecordBatch):
            table = pa.Table.from_batches([table])
        if self._ndjson is not None:
            if lines is None or len(lines) != table.num_rows:
                raise PartitionError(f"{table.num_rows} rows but {len(lines or ())} NDJSON lines")
            self._ndjson.write(b"".join(lines))
        if self._quality is not None:
            if quality is None or quality.num_rows != table.num_rows:
                rows = quality.num_rows if quality is not None else 0
                raise PartitionError(f"{table.num_rows} rows but {rows} quality rows")
            self._quality_pending.append(quality)
        self._append(table)

    def _convert_records(self) -> None:
        if self._records:
            table = pa.Table.from_pylist(self._records, schema=self.schema)
            self._records = []
            if self._quality is not None:
                self._quality_pending.append(
                    pa.Table.from_pylist(self._quality_records, schema=self._quality.schema)
                )
                self._quality_records = []
            self._append(table)

    def _append(self, table: pa.Table) -> None:
        if not table.schema.equals(self.schema, check_metadata=False):
            table = table.cast(self.schema)
        table = table.replace_schema_metadata(self.schema.metadata)
        self._account(table)
        self._pending.append(table)
        self._pending_rows += table.num_rows
        self._pending_bytes += table.nbytes
        if self._pending_rows >= ROW_GROUP_ROWS or self._pending_bytes >= ROW_GROUP_BYTES:
            self._flush()

    def _account(self, table: pa.Table) -> None:
        ids = pc.min_max(table.column("identifier"))
        low, high = ids["min"].as_py(), ids["max"].as_py()
        self._first = low if self._first is None else min(self._first, low)
        self._last = high if self._last is None else max(self._last, high)
        revision = pc.max(_struct_field(table, "version", "identifier")).as_py()
        if revision is not None:
            self._max_revision = revision if self._max_revision is None else max(self._max_revision, revision)
        counts = pc.value_counts(_struct_field(table, "namespace", "identifier"))
        for item in counts.to_pylist():
            self._namespaces[item["values"]] += item["counts"]
        self._accounted += table.num_rows

    def _flush(self) -> None:
        if self._pending:
            table = pa.concat_tables(self._pending)
            self._parquet.write_table(table, row_group_size=table.num_rows)
        if self._quality_pending:
            assert self._quality is not None and self._quality_writer is not None
            schema = self._quality.schema
            quality = pa.concat_tables(
                [t if t.schema.equals(schema) else t.cast(schema) for t in self._quality_pending]
            )
            self._quality_writer.write_table(quality.replace_schema_metadata(schema.metadata))
        self._pending, self._pending_rows, self._pending_bytes = [], 0, 0
        self._quality_pending = []

    def close(self, name: str) -> PartitionInfo:
        """Finish both files; ``name`` is the partition's name in state.json."""
        self._convert_records()
        self._flush()
        self._parquet.close()
        self._parquet_file.close()
        if self._ndjson is not None:
            self._ndjson.close()
        if self._quality_writer is not None and self._quality_file is not None:
            self._quality_writer.close()
            self._quality_file.close()
        return PartitionInfo(
            name=name,
            rows=self.rows,
            first_id=self._first,
            last_id=self._last,
            max_revision_id=self._max_revision,
            namespaces=dict(self._namespaces),
        )


def read_partition(
    dataset: Dataset, name: str, columns: Sequence[str] | None = None
) -> Iterator[tuple[pa.RecordBatch, list[bytes] | None]]:
    """Row batches of a partition in file order, each with its NDJSON lines (articles, all columns)."""
    parquet_path = dataset.parquet(name)
    ndjson_path = dataset.ndjson_file(name) if columns is None else None
    with FileSystems.open(parquet_path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
        parquet = pq.ParquetFile(raw)
        lines = _ndjson_lines(ndjson_path) if ndjson_path else None
        for batch in parquet.iter_batches(batch_size=ROW_GROUP_ROWS, columns=columns):
            batch_lines = None
            if lines is not None:
                batch_lines = [next(lines, b"") for _ in range(batch.num_rows)]
                if not batch_lines[-1]:
                    raise PartitionError(f"{ndjson_path} has fewer lines than {parquet_path} has rows")
            yield batch, batch_lines
        if lines is not None and next(lines, None) is not None:
            raise PartitionError(f"{ndjson_path} has more lines than {parquet_path} has rows")


def _ndjson_lines(path: str) -> Iterator[bytes]:
    from isal import igzip

    with (
        FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw,
        igzip.IGzipFile(fileobj=raw, mode="rb") as lines,
    ):
        yield from lines


def read_quality(dataset: Dataset, name: str) -> pa.Table | None:
    """The quality rows of a partition (small columns: read whole), or None for a dataset without them."""
    path = dataset.quality_file(name)
    if path is None:
        return None
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as raw:
        return pq.read_table(raw)


def partition_schema(dataset: Dataset, name: str) -> pa.Schema:
    """The Arrow schema a partition was written with (its footer only)."""
    with FileSystems.open(dataset.parquet(name), compression_type=CompressionTypes.UNCOMPRESSED) as raw:
        return pq.read_schema(raw)


def copy_partition(source: Dataset, target: Dataset, name: str) -> None:
    """Copy an untouched partition's files into the new state (a server-side copy on GCS)."""
    FileSystems.copy(source.files(name), target.files(name))


# -- rewriting one partition (apply_changes) -------------------------------------------------------


CREATE = "create"
UPDATE = "update"
REFOLD = "refold"
DELETE = "delete"


@dataclass
class PartitionEdits:
    """What a day does to one partition, by page id.

    ``creates``/``updates``: the full new record; ``refolds``: the new ``redirects`` of an article
    whose own revision did not change (applied only if they differ); ``deletes``: why it leaves.
    """

    creates: dict[int, dict[str, Any]] = field(default_factory=dict)
    updates: dict[int, dict[str, Any]] = field(default_factory=dict)
    refolds: dict[int, list[dict[str, str]]] = field(default_factory=dict)
    deletes: dict[int, str] = field(default_factory=dict)


@dataclass
class RewriteResult:
    """The partitions written (more than one when the tail split) and what changed in them."""

    partitions: list[PartitionInfo]
    written: list[tuple[str, dict[str, Any]]]  # (CREATE | UPDATE | REFOLD, record as written)
    # {identifier, name, url, namespace (as stored), revision (the row's version id), reason}
    removed: list[dict[str, Any]]
    unchanged_refolds: int


def rewrite_partition(
    old: Dataset,
    new: Dataset,
    name: str,
    edits: PartitionEdits,
    *,
    exists: bool = True,
    split_names: Iterable[str] = (),
    max_rows: int | None = None,
) -> RewriteResult:
    """Write partition ``name`` of ``new`` from ``old``'s with ``edits`` applied.

    Untouched rows keep their order (Arrow slices and NDJSON bytes copied); created records are
    merged in by page id. Every updated, refolded or deleted id must be in the old partition and no
    created id may be: a mismatch means the state and the day disagree, and fails the run. With
    ``split_names`` (the state's last partition only), the rows beyond ``max_rows`` go into new
    partitions of those names.
    """
    if (new.quality is None) != (old.quality is None):
        raise PartitionError(f"{old.folder} and {new.folder} must both keep quality rows, or neither")
    writer = _SplittingWriter(new, name, list(split_names), max_rows)
    old_quality = read_quality(old, name) if exists else None
    offset = 0  # position of the current batch's first row in the old partition

    def quality(start: int, stop: int | None = None) -> pa.Table | None:
        """The old quality rows of the current batch's rows ``start:stop``."""
        if old_quality is None:
            return None
        end = batch.num_rows if stop is None else stop
        return old_quality.slice(offset + start, end - start)

    creates = sorted(edits.creates.items())
    create_ids = set(edits.creates)
    next_create = 0
    expected = set(edits.updates) | set(edits.refolds) | set(edits.deletes)
    seen: set[int] = set()
    written: list[tuple[str, dict[str, Any]]] = []
    removed: list[dict[str, Any]] = []
    unchanged = 0

    def emit_creates_before(page_id: int | None) -> None:
        nonlocal next_create
        batch = []
        while next_create < len(creates) and (page_id is None or creates[next_create][0] < page_id):
            batch.append(creates[next_create][1])
            next_create += 1
        if batch:
            writer.add_records(batch)
            written.extend((CREATE, r) for r in batch)

    batches = read_partition(old, name) if exists else iter(())
    for batch, lines in batches:
        ids = batch.column("identifier").to_pylist()
        start = 0
        for i, page_id in enumerate(ids):
            if page_id in create_ids:
                raise PartitionError(f"{old.parquet(name)}: page {page_id} to create is already there")
            late_create = next_create < len(creates) and creates[next_create][0] < page_id
            if page_id not in expected and not late_create:
                continue
            writer.add_rows(
                batch.slice(start, i - start),
                lines[start:i] if lines is not None else None,
                quality(start, i),
            )
            start = i
            emit_creates_before(page_id)
            if page_id not in expected:
                continue
            seen.add(page_id)
            start = i + 1
            if page_id in edits.deletes:
                row = batch.slice(i, 1).select(["name", "url", "namespace", "version"]).to_pylist()[0]
                removed.append(
                    {
                        "identifier": page_id,
                        "name": row["name"],
                        "url": row["url"],
                        "namespace": row["namespace"],
                        "revision": row["version"]["identifier"],
                        "reason": edits.deletes[page_id],
                    }
                )
            elif page_id in edits.updates:
                record = edits.updates[page_id]
                if old.kept_on_update:
                    kept = batch.slice(i, 1).select(list(old.kept_on_update)).to_pylist()[0]
                    record = {**record, **kept}
                writer.add_records([record])
                written.append((UPDATE, record))
            else:
                record = batch.slice(i, 1).to_pylist()[0]
                if record["redirects"] == edits.refolds[page_id]:
                    unchanged += 1
                    start = i  # the row stays as it is
                    continue
                record["redirects"] = edits.refolds[page_id]
                writer.add_records([record])
                written.append((REFOLD, record))
        writer.add_rows(batch.slice(start), lines[start:] if lines is not None else None, quality(start))
        offset += batch.num_rows
    if old_quality is not None and old_quality.num_rows != offset:
        raise PartitionError(
            f"{old.quality_file(name)}: {old_quality.num_rows} quality rows for {offset} articles"
        )
    emit_creates_before(None)
    missing = expected - seen
    if missing:
        raise PartitionError(
            f"{old.parquet(name)}: pages {sorted(missing)[:10]} are not there, yet the state's index said so"
        )
    return RewriteResult(writer.close(), written, removed, unchanged)


class _SplittingWriter:
    """A PartitionWriter that moves on to the next split name after ``max_rows`` rows."""

    def __init__(self, dataset: Dataset, name: str, split_names: list[str], max_rows: int | None):
        self.dataset = dataset
        self.names = [name, *split_names]
        self.max_rows = max_rows if split_names else None
        self.done: list[PartitionInfo] = []
        self._open(name)

    def _open(self, name: str) -> None:
        self.name = name
        self.writer = self.dataset.writer(name)

    def _room(self) -> int | None:
        """Rows the current file may still take; None once no split name is left (no limit)."""
        if self.max_rows is None or len(self.done) + 1 >= len(self.names):
            return None
        if self.writer.rows >= self.max_rows:
            self.done.append(self.writer.close(self.name))
            self._open(self.names[len(self.done)])
        return self.max_rows - self.writer.rows

    def add_rows(
        self, table: pa.RecordBatch, lines: Sequence[bytes] | None, quality: pa.Table | None = None
    ) -> None:
        position = 0
        while position < table.num_rows:
            room = self._room()
            take = table.num_rows - position if room is None else min(room, table.num_rows - position)
            part = lines[position : position + take] if lines is not None else None
            rows = quality.slice(position, take) if quality is not None else None
            self.writer.add_rows(table.slice(position, take), part, rows)
            position += take

    def add_records(self, records: Sequence[Mapping[str, Any]]) -> None:
        for record in records:
            self._room()
            self.writer.add_records([record])

    def close(self) -> list[PartitionInfo]:
        self.done.append(self.writer.close(self.name))
        return [p for p in self.done if p.rows or p.name == self.names[0]]


# -- writing a fresh dataset (parse_dump) ----------------------------------------------------------


@dataclass(frozen=True)
class _TempPartition:
    parquet: str
    ndjson: str | None
    quality: str | None
    info: PartitionInfo


class _WriteTempPartitionsFn(beam.DoFn):
    """Records -> partition files under the dataset's temporary folder, rotated every ``max_rows``
    rows and whenever the page ids stop ascending; one ``_TempPartition`` out per file pair written."""

    def __init__(self, dataset: Dataset, max_rows: int):
        self.dataset = dataset
        self.max_rows = max_rows

    def setup(self) -> None:
        from beam_jobs.local_gcs import use_anonymous_gcs_for_emulator

        use_anonymous_gcs_for_emulator()

    def start_bundle(self) -> None:
        self._writer: PartitionWriter | None = None
        self._paths: tuple[str, str | None, str | None] = ("", None, None)
        self._last_id = -1
        self._closed: list[_TempPartition] = []

    def process(self, record: dict[str, Any]) -> None:
        page_id = record["identifier"]
        if self._writer is not None and (self._writer.rows >= self.max_rows or page_id < self._last_id):
            self._close()
        if self._writer is None:
            dataset, file_id = self.dataset, uuid.uuid4().hex
            stem = f"{dataset.temporary}/{file_id}"
            quality = f"{dataset.quality.temporary}/{file_id}{PARQUET_SUFFIX}" if dataset.quality else None
            self._paths = (stem + PARQUET_SUFFIX, stem + NDJSON_SUFFIX if dataset.ndjson else None, quality)
            parquet, ndjson, quality = self._paths
            self._writer = PartitionWriter(parquet, ndjson, dataset.schema, dataset.quality, quality)
        self._writer.add_records([record])
        self._last_id = page_id

    def _close(self) -> None:
        assert self._writer is not None
        info = self._writer.close(name="")
        self._closed.append(_TempPartition(*self._paths, info))
        self._writer = None

    def finish_bundle(self) -> Iterator[WindowedValue]:
        if self._writer is not None:
            self._close()
        for temp in self._closed:
            yield WindowedValue(temp, MIN_TIMESTAMP, [GlobalWindow()])


def _finalize(temps: list[_TempPartition], dataset: Dataset) -> list[dict[str, Any]]:
    """Name the partitions by page-id range, move them into the dataset, drop the temporary folder.

    Only the files of committed bundles reach here; a retried bundle's orphans go with the folder.
    """
    ordered = sorted(temps, key=lambda t: (t.info.first_id, t.info.last_id, t.info.rows, t.parquet))
    sources: list[str] = []
    targets: list[str] = []
    infos = []
    for index, temp in enumerate(ordered):
        name = partition_name(index)
        sources.append(temp.parquet)
        targets.append(dataset.parquet(name))
        if temp.ndjson:
            sources.append(temp.ndjson)
            targets.append(dataset.ndjson_file(name) or "")
        if temp.quality:
            sources.append(temp.quality)
            targets.append(dataset.quality_file(name) or "")
        infos.append({**temp.info.to_dict(), "name": name})
    folders = [dataset.folder, *([dataset.quality.folder] if dataset.quality else [])]
    if sources:
        for folder in folders:
            if not FileSystems.exists(folder):  # a local folder; GCS has none to make
                FileSystems.mkdirs(folder)
        FileSystems.rename(sources, targets)
    delete_folder(dataset.temporary)
    if dataset.quality:
        delete_folder(dataset.quality.temporary)
    return infos


class WritePartitions(beam.PTransform):
    """Records -> the partitions of a fresh dataset; outputs one list of ``PartitionInfo`` dicts."""

    def __init__(self, dataset: Dataset, max_rows: int):
        super().__init__()
        self.dataset = dataset
        self.max_rows = max_rows

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return (
            records
            | "WriteTempPartitions" >> beam.ParDo(_WriteTempPartitionsFn(self.dataset, self.max_rows))
            | "GatherPartitions" >> beam.combiners.ToList()
            | "NamePartitions" >> beam.Map(_finalize, self.dataset)
        )
