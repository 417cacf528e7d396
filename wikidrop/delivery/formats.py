"""Partner formats: one registry entry per format (name, file extension, what it carries, its writer).

    ndjson     chunk_NNNN.ndjson.gz  gzip NDJSON of the selected fields, Wikimedia Enterprise names
    parquet    chunk_NNNN.parquet    the same records, zstd Parquet with the staged (projected) schema
    plaintext  chunk_NNNN.jsonl.gz   gzip JSONL of identifier, name, url, text

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

PLAINTEXT_FIELDS = ("identifier", "name", "url", "text")
PARQUET_ROW_GROUP = 1000


class ChunkFile(Protocol):
    """One chunk file of one format being written: records in, then closed."""

    def write(self, record: Mapping[str, Any]) -> None: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class Format:
    """A delivery format: its file extension, the fields it carries and how a chunk file is written.

    ``fixed_fields`` is None for formats that carry the partner's selected fields, else the format's
    own fields (in that order).
    """

    name: str
    extension: str
    fixed_fields: tuple[str, ...] | None
    open_chunk: Callable[[Path, RecordShape, Any], ChunkFile]

    def record_schema(self, shape: RecordShape, staged_schema: Any) -> Any:
        """The Arrow schema of the records this format carries, from the staged articles' schema."""
        import pyarrow as pa

        if self.fixed_fields is None:
            return shape.arrow_schema(staged_schema)
        return pa.schema([staged_schema.field(name) for name in self.fixed_fields])


def enterprise_json(record: Mapping[str, Any]) -> dict[str, Any]:
    """A (projected) record as delivered in NDJSON: schema order, absent (null) values omitted."""
    return {k: _drop_nulls(v) for k, v in record.items() if v is not None}


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


class NdjsonChunk:
    def __init__(self, path: Path, shape: RecordShape, schema: Any) -> None:
        self._shape = shape
        self._out = ReproducibleGzip(path)

    def write(self, record: Mapping[str, Any]) -> None:
        self._out.write(json_line(enterprise_json(self._shape.project(record))))

    def close(self) -> None:
        self._out.close()


class PlaintextChunk:
    def __init__(self, path: Path, shape: RecordShape, schema: Any) -> None:
        self._out = ReproducibleGzip(path)

    def write(self, record: Mapping[str, Any]) -> None:
        self._out.write(json_line({k: record[k] for k in PLAINTEXT_FIELDS}))

    def close(self) -> None:
        self._out.close()


class ParquetChunk:
    def __init__(self, path: Path, shape: RecordShape, schema: Any) -> None:
        import pyarrow.parquet as pq

        self._shape = shape
        self._schema = schema
        self._rows: list[dict[str, Any]] = []
        self._sink = pq.ParquetWriter(path, schema, compression="zstd")

    def write(self, record: Mapping[str, Any]) -> None:
        self._rows.append(self._shape.project(record))
        if len(self._rows) >= PARQUET_ROW_GROUP:
            self._flush()

    def _flush(self) -> None:
        import pyarrow as pa

        self._sink.write_table(pa.Table.from_pylist(self._rows, schema=self._schema))
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
