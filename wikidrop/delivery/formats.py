"""Partner formats: one registry entry per format (name, file extension, what it carries, its writer).

    ndjson     chunk_NNNN.ndjson.gz  gzip NDJSON of the selected fields, Wikimedia Enterprise names
    parquet    chunk_NNNN.parquet    the same records, zstd Parquet
    plaintext  chunk_NNNN.jsonl.gz   gzip JSONL of identifier, name, url, text (those selected); in a
                                     batch also event (a tombstone: text null, event.type delete)

Every record of every format has every field it carries, nulls written out (``null`` in JSON), with
one type per field whatever the format (``delivered_schema``): ``date_modified`` is a UTC timestamp
(RFC 3339 with ``Z`` in JSON, as Wikimedia Enterprise writes it; ``timestamp[ms, UTC]`` in Parquet, second precision),
and every integer is 64-bit (what JSON readers infer). So a drop's chunks read into one schema, and
its NDJSON and Parquet read into the same table (tests/test_delivery_formats.py loads a whole drop
with pyarrow and duckdb).

The config's allowed ``formats`` are this registry's names, so this module stays import-light (the
DAG file loads the config at parse time): pyarrow is imported by the writers, when they run.
Every writer is deterministic: the same records give the same bytes (gzip without name or mtime,
JSON keys in schema order, Parquet row groups of a fixed size and no timestamps).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from wikidrop.delivery.encoding import json_line
from wikidrop.gzip_files import ReproducibleGzip

if TYPE_CHECKING:
    from wikidrop.delivery.projection import RecordShape

PLAINTEXT_FIELDS = ("identifier", "name", "url", "text", "event")  # event: batches only
PARQUET_ROW_GROUP = 1000


class ChunkFile(Protocol):
    """One chunk file of one format being written: records in, then closed."""

    def write(self, record: Mapping[str, Any]) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Format:
    """A delivery format: its file extension, the fields it carries and how a chunk file is written.

    ``own_fields`` is None for formats that carry every field the partner selected, else the
    format's own fields, in that order, of which it carries those selected.
    """

    name: str
    extension: str
    own_fields: tuple[str, ...] | None
    open_chunk: Callable[[Path, RecordShape, Any], ChunkFile]

    def carried_fields(self, shape: RecordShape) -> tuple[str, ...]:
        """The top-level fields this format's records carry, in order."""
        if self.own_fields is None:
            return tuple(shape.fields)
        return tuple(name for name in self.own_fields if name in shape.fields)

    def record_schema(self, shape: RecordShape) -> Any:
        """The Arrow schema of the records this format carries, with the delivered types."""
        import pyarrow as pa

        projected = shape.arrow_schema()
        fields = [projected.field(name) for name in self.carried_fields(shape)]
        return delivered_schema(pa.schema(fields, metadata=projected.metadata))


# Staged as RFC 3339 strings (what the dump says), delivered as timestamps.
TIMESTAMP_FIELDS = ("date_modified",)


def delivered_schema(schema: Any) -> Any:
    """The types partners receive: ``TIMESTAMP_FIELDS`` as UTC timestamps, every integer int64."""
    import pyarrow as pa

    def widen(arrow_type: Any) -> Any:
        if pa.types.is_integer(arrow_type):
            return pa.int64()
        if pa.types.is_list(arrow_type):
            return pa.list_(widen(arrow_type.value_type))
        if pa.types.is_struct(arrow_type):
            return pa.struct([f.with_type(widen(f.type)) for f in arrow_type.fields])
        return arrow_type

    return pa.schema(
        [
            f.with_type(pa.timestamp("ms", tz="UTC") if f.name in TIMESTAMP_FIELDS else widen(f.type))
            for f in schema
        ],
        metadata=schema.metadata,
    )


class NdjsonChunk:
    def __init__(self, path: Path, shape: RecordShape, schema: Any) -> None:
        self._shape = shape
        self._out = ReproducibleGzip(path)

    def write(self, record: Mapping[str, Any]) -> None:
        self._out.write(json_line(self._shape.project(record)))

    def close(self) -> None:
        self._out.close()


class PlaintextChunk:
    def __init__(self, path: Path, shape: RecordShape, schema: Any) -> None:
        self._fields = schema.names
        self._out = ReproducibleGzip(path)

    def write(self, record: Mapping[str, Any]) -> None:
        self._out.write(json_line({k: record[k] for k in self._fields}))

    def close(self) -> None:
        self._out.close()


class ParquetChunk:
    def __init__(self, path: Path, shape: RecordShape, schema: Any) -> None:
        import pyarrow.parquet as pq

        self._shape = shape
        self._staged = shape.arrow_schema()  # the projected values' types, before delivery's
        self._schema = schema
        self._rows: list[dict[str, Any]] = []
        self._sink = pq.ParquetWriter(path, schema, compression="zstd")

    def write(self, record: Mapping[str, Any]) -> None:
        self._rows.append(self._shape.project(record))
        if len(self._rows) >= PARQUET_ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        self._sink.write_table(pa.Table.from_pylist(self._rows, schema=self._staged).cast(self._schema))
        self._rows = []

    def close(self) -> None:
        if self._rows:
            self._flush()
        self._sink.close()


FORMATS: dict[str, Format] = {
    f.name: f
    for f in (
        Format("ndjson", ".ndjson.gz", None, NdjsonChunk),
        Format("parquet", ".parquet", None, ParquetChunk),
        Format("plaintext", ".jsonl.gz", PLAINTEXT_FIELDS, PlaintextChunk),
    )
}
FORMAT_NAMES = tuple(FORMATS)
