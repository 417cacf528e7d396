"""Partner drops: the staged articles, filtered and shaped per partner, committed into the partner's bucket.

Layout (relative to ``gs://<partner bucket>/<partner prefix>/``)::

    snapshots/<YYYYMMDD>/<dbname>_namespace_<ns>/           one snapshot (Wikimedia Enterprise identifier)
        chunk_0000.ndjson.gz ...    format ndjson: gzip NDJSON, the article record with its Enterprise names
        chunk_0000.parquet ...      format parquet: the same records, Parquet with the staged schema
        chunk_0000.jsonl.gz ...     format plaintext: gzip JSONL of identifier, name, url, text
        page_ids.txt.gz             every delivered page id, ascending (next snapshot's tombstone base)
        deletions.ndjson.gz         tombstones: {"identifier": id} for ids of the previous snapshot now gone
        manifest.json               what is in the snapshot, with sizes and md5/sha256/crc32c (hex)
        sha256sums.txt              ``sha256sum -c`` input for every file above
        _SUCCESS                    written last: the snapshot is committed
    latest.json                     per snapshot identifier, the newest committed dump date

Commit protocol: every object is created with ``ifGenerationMatch=0``. A snapshot without ``_SUCCESS``
is work in progress: a retry rebuilds it deterministically, keeps objects that are already there and
identical (size, md5 and crc32c compared with the server's), replaces differing ones with a
generation-matched delete + create, deletes strays, then writes ``_SUCCESS``. A committed snapshot is
left alone unless delivery is forced (then ``_SUCCESS`` is withdrawn first). Chunks are byte-identical
across runs: records sorted by page id (external merge sort, bounded memory), gzip without name or
mtime, JSON keys in schema order, Parquet without timestamps.

Every write goes through ``PartnerBucket``, which refuses any object outside the partner's prefix.

Resources: memory is bounded by ``ExternalSort.run_bytes`` (128 MiB of pickled records) plus one
chunk's Parquet row group; local temporary disk holds the sorted runs (about the size of the columns
the partner receives) and one chunk per format at a time.
"""

from __future__ import annotations

import gzip
import hashlib
import heapq
import json
import logging
import os
import pickle
import posixpath
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wikidrop.checksums import FileDigest
from wikidrop.config import PartnerConfig
from wikidrop.gzip_files import ReproducibleGzip
from wikidrop.records import page_props_applied

log = logging.getLogger(__name__)

MANIFEST_VERSION = "1.0"
SNAPSHOTS_DIR = "snapshots"
MANIFEST = "manifest.json"
SHA256SUMS = "sha256sums.txt"
SUCCESS = "_SUCCESS"
LATEST = "latest.json"
PAGE_IDS = "page_ids.txt.gz"
DELETIONS = "deletions.ndjson.gz"
FORMAT_EXTENSIONS = {"ndjson": ".ndjson.gz", "parquet": ".parquet", "plaintext": ".jsonl.gz"}
PLAINTEXT_FIELDS = ("identifier", "name", "url", "text")

# The digests a manifest lists per file (sha1 is Wikimedia's, not the partners').
MANIFEST_DIGESTS = ("bytes", "md5", "sha256", "crc32c")


class DeliveryError(RuntimeError):
    """A drop cannot be delivered as asked; the message names the partner, object or field."""


class OutsidePartnerPrefix(DeliveryError):
    """A write aimed outside the partner's bucket prefix (a bug, never data-dependent)."""


class DeliveryConflict(DeliveryError):
    """An object exists with different content and may not be replaced."""


def snapshot_identifier(dbname: str, namespace: int) -> str:
    """Snapshot name as Wikimedia Enterprise spells it: ``enwiki_namespace_0``."""
    return f"{dbname}_namespace_{namespace}"


def snapshot_dir(dump_date: str, identifier: str) -> str:
    """Snapshot directory relative to the partner prefix."""
    return f"{SNAPSHOTS_DIR}/{dump_date}/{identifier}"


# -- the partner's bucket -----------------------------------------------------------------------------


class PartnerBucket:
    """All reads and writes of one partner's drop area: ``gs://<bucket>/<prefix>/`` and nothing else.

    Callers pass paths relative to the prefix; absolute names, ``..``/``.`` or empty segments are
    refused, so no code path can write into another partner's area.
    """

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.bucket_name = bucket
        self.prefix = prefix.strip("/")
        self._bucket = client.bucket(bucket)
        self._client = client

    @classmethod
    def for_partner(cls, client: Any, partner: PartnerConfig) -> PartnerBucket:
        return cls(client, partner.bucket, partner.prefix)

    def object_name(self, rel: str) -> str:
        """Full object name of ``rel``; raises ``OutsidePartnerPrefix`` for anything not inside."""
        parts = rel.split("/")
        if not rel or "\\" in rel or any(p in ("", ".", "..") for p in parts):
            raise OutsidePartnerPrefix(
                f"refusing object path {rel!r}: not a plain path inside gs://{self.bucket_name}/{self.prefix}"
            )
        name = f"{self.prefix}/{rel}" if self.prefix else rel
        if posixpath.normpath(name) != name:
            raise OutsidePartnerPrefix(f"refusing object path {rel!r}: not normalised")
        return name

    def uri(self, rel: str) -> str:
        return f"gs://{self.bucket_name}/{self.object_name(rel)}"

    def get(self, rel: str) -> Any | None:
        """The object's metadata (a Blob) or None."""
        return self._bucket.get_blob(self.object_name(rel))

    def read_bytes(self, rel: str) -> bytes | None:
        from google.api_core.exceptions import NotFound

        try:
            return self._bucket.blob(self.object_name(rel)).download_as_bytes()
        except NotFound:
            return None

    def download_to(self, rel: str, path: str | os.PathLike[str]) -> None:
        self._bucket.blob(self.object_name(rel)).download_to_filename(str(path))

    def list(self, rel_dir: str) -> list[Any]:
        """Blobs under ``rel_dir/`` (recursive)."""
        prefix = self.object_name(rel_dir) + "/"
        return list(self._client.list_blobs(self._bucket, prefix=prefix))

    def subdirs(self, rel_dir: str) -> list[str]:
        """Names of the immediate sub-directories of ``rel_dir``."""
        prefix = self.object_name(rel_dir) + "/"
        pages = self._client.list_blobs(self._bucket, prefix=prefix, delimiter="/")
        list(pages)  # prefixes are filled while iterating
        return sorted(p[len(prefix) :].rstrip("/") for p in pages.prefixes)

    def relative(self, object_name: str) -> str:
        return object_name[len(self.prefix) + 1 :] if self.prefix else object_name

    def put(self, rel: str, source: bytes | Path, digest: FileDigest, *, replace: bool = False) -> str:
        """Create ``rel`` only if absent (ifGenerationMatch=0); returns created, kept or replaced.

        An existing identical object is kept. A different one is a ``DeliveryConflict`` unless
        ``replace``: then it is deleted at its generation (a concurrent writer makes that fail) and
        created again.
        """
        from google.api_core.exceptions import PreconditionFailed

        name = self.object_name(rel)
        # Looking first spares re-sending a big identical chunk on a retry just to get a 412 (and
        # fake-gcs-server does not check preconditions on resumable uploads); the create below is
        # still conditional, so a concurrent writer is caught either way.
        existing = self._bucket.get_blob(name)
        if existing is None:
            try:
                self._upload(name, source, digest)
                return "created"
            except PreconditionFailed:
                existing = self._bucket.get_blob(name)
        if existing is not None and digest.matches_blob(existing):
            return "kept"
        if not replace:
            raise DeliveryConflict(f"gs://{self.bucket_name}/{name} exists with different content")
        if existing is not None:
            log.warning("replacing gs://%s/%s (content differs)", self.bucket_name, name)
            existing.delete(if_generation_match=existing.generation)
        self._upload(name, source, digest)
        return "replaced"

    def _upload(self, name: str, source: bytes | Path, digest: FileDigest) -> None:
        blob = self._bucket.blob(name, chunk_size=8 << 20)  # resumable, 8 MiB parts, for big chunks
        if isinstance(source, bytes):
            blob.upload_from_string(source, if_generation_match=0)
        else:
            blob.upload_from_filename(str(source), if_generation_match=0)
        if not digest.matches_blob(blob):
            raise DeliveryError(f"gs://{self.bucket_name}/{name}: stored object differs from what was sent")

    def delete(self, blob: Any) -> None:
        """Delete a listed blob at its generation, after checking it lies inside the prefix."""
        if blob.bucket.name != self.bucket_name or not blob.name.startswith(
            f"{self.prefix}/" if self.prefix else ""
        ):
            raise OutsidePartnerPrefix(f"refusing to delete gs://{blob.bucket.name}/{blob.name}")
        blob.delete(if_generation_match=blob.generation)

    def update_json(self, rel: str, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
        """Read-modify-write a small JSON object under a generation precondition (retried on races).

        ``change`` returns the new document, or None to leave the object as it is.
        """
        from google.api_core.exceptions import PreconditionFailed

        name = self.object_name(rel)
        for _ in range(20):
            blob = self._bucket.get_blob(name)
            current = json.loads(blob.download_as_bytes()) if blob is not None else {}
            updated = change(current)
            if updated is None:
                return
            data = _json_bytes(updated)
            try:
                self._bucket.blob(name).upload_from_string(
                    data,
                    content_type="application/json",
                    if_generation_match=blob.generation if blob is not None else 0,
                )
                return
            except PreconditionFailed:
                log.info("gs://%s/%s changed while updating it; retrying", self.bucket_name, name)
        raise DeliveryError(f"gs://{self.bucket_name}/{name}: too many concurrent updates")


# -- inputs -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryRequest:
    """Everything one partner's drop of one (edition, dump date) is built from (no secrets)."""

    partner: PartnerConfig
    dbname: str
    dump_date: str
    namespaces: Sequence[int]
    article_shards: Sequence[str]
    run_id: str
    schema_version: str
    source_files: Sequence[Mapping[str, Any]]
    validation: Mapping[str, Any]
    force: bool = False


@dataclass
class SnapshotResult:
    identifier: str
    namespace: int
    manifest_uri: str
    manifest_sha256: str
    record_count: int
    committed: bool
    unchanged: bool = False
    objects: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier,
            "namespace": self.namespace,
            "manifest_uri": self.manifest_uri,
            "manifest_sha256": self.manifest_sha256,
            "record_count": self.record_count,
            "committed": self.committed,
            "unchanged": self.unchanged,
            "objects": dict(self.objects),
        }


def drop_summary(request: DeliveryRequest, snapshots: Sequence[SnapshotResult]) -> dict[str, Any]:
    """The Drop XCom (docs/architecture.md): the edition's drop for one partner.

    ``manifest_uri``/``manifest_sha256`` are those of the first (lowest) namespace snapshot, the
    article namespace in practice; ``snapshots`` lists every namespace snapshot.
    """
    first = snapshots[0]
    return {
        "partner": request.partner.id,
        "dbname": request.dbname,
        "dump_date": request.dump_date,
        "manifest_uri": first.manifest_uri,
        "manifest_sha256": first.manifest_sha256,
        "record_count": sum(s.record_count for s in snapshots),
        "committed": all(s.committed for s in snapshots),
        "snapshots": [s.as_dict() for s in snapshots],
    }


def open_shard(uri: str, staging_client: Any | None, workdir: Path) -> Path:
    """A local path for a shard: local files as they are, ``gs://`` ones downloaded into ``workdir``."""
    if not uri.startswith("gs://"):
        return Path(uri)
    from wikidrop.gcs import split_gs_uri

    if staging_client is None:
        raise DeliveryError(f"{uri}: a gs:// shard needs a staging client")
    bucket, name = split_gs_uri(uri)
    local = workdir / "shard.parquet"
    staging_client.bucket(bucket).blob(name).download_to_filename(str(local))
    return local


def shard_schema(uri: str, staging_client: Any | None) -> Any:
    """The Arrow schema of a shard, from its footer only (ranged reads for ``gs://``)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from wikidrop.gcs import split_gs_uri

    try:
        if not uri.startswith("gs://"):
            return pq.read_schema(uri)
        if staging_client is None:
            raise DeliveryError(f"{uri}: a gs:// shard needs a staging client")
        bucket, name = split_gs_uri(uri)
        with staging_client.bucket(bucket).blob(name).open("rb") as f:
            return pq.read_schema(f)
    except (OSError, pa.ArrowException) as exc:
        raise DeliveryError(f"{uri}: cannot read articles shard: {exc}") from exc


# -- record shaping -----------------------------------------------------------------------------------


FieldTree = dict[str, "FieldTree | None"]  # selected sub-fields; None = the whole field


@dataclass(frozen=True)
class RecordShape:
    """Which columns are read, which records pass the partner's filters, what each format carries."""

    partner: PartnerConfig
    namespaces: frozenset[int]
    fields: FieldTree
    read_columns: tuple[str, ...]
    filters_not_applicable: tuple[str, ...]

    @classmethod
    def build(cls, partner: PartnerConfig, namespaces: Iterable[int], schema: Any) -> RecordShape:
        names = list(schema.names)
        fields: FieldTree = {}
        for path in partner.fields if partner.fields is not None else names:
            _select(fields, path.split("."), schema, path, partner.id)
        # the page id is always delivered: order, first/last ids and tombstones are keyed on it
        fields["identifier"] = None
        needed = {"identifier", "namespace", *fields}
        if "plaintext" in partner.formats:
            needed.update(PLAINTEXT_FIELDS)
        if partner.filters.min_text_length:
            needed.add("text")
        not_applicable = []
        if partner.filters.exclude_disambiguation:
            if "is_disambiguation" in names and page_props_applied(schema):
                needed.add("is_disambiguation")
            else:
                not_applicable.append(
                    "exclude_disambiguation: the records carry no is_disambiguation (page_props not read)"
                )
        missing = sorted(needed - set(names))
        if missing:
            raise DeliveryError(f"partner {partner.id!r}: the staged articles lack columns {missing}")
        return cls(
            partner=partner,
            namespaces=frozenset(namespaces),
            fields={n: fields[n] for n in names if n in fields},
            read_columns=tuple(n for n in names if n in needed),
            filters_not_applicable=tuple(not_applicable),
        )

    def exclusion(self, record: Mapping[str, Any]) -> str | None:
        """Why the partner's filters leave this record out (a filter name), or None to deliver it."""
        filters = self.partner.filters
        if record["namespace"]["identifier"] not in self.namespaces:
            return "namespaces"
        if filters.min_text_length and len(record.get("text") or "") < filters.min_text_length:
            return "min_text_length"
        if filters.exclude_disambiguation and record.get("is_disambiguation"):
            return "exclude_disambiguation"
        return None

    def project(self, record: Mapping[str, Any]) -> dict[str, Any]:
        """The selected fields of a record (sub-fields inside structs and lists of structs), schema order."""
        return {k: _project_value(record[k], sub) for k, sub in self.fields.items()}

    def parquet_schema(self, schema: Any) -> Any:
        import pyarrow as pa

        return pa.schema(
            [
                f.with_type(_project_type(f.type, self.fields[f.name]))
                for f in schema
                if f.name in self.fields
            ],
            metadata=schema.metadata,
        )


def _children(arrow_type: Any) -> dict[str, Any] | None:
    """Sub-field types of a schema, struct or list of structs; None for a leaf."""
    import pyarrow as pa

    if isinstance(arrow_type, pa.Schema):
        return {f.name: f.type for f in arrow_type}
    if pa.types.is_list(arrow_type) or pa.types.is_large_list(arrow_type):
        return _children(arrow_type.value_type)
    if pa.types.is_struct(arrow_type):
        return {f.name: f.type for f in arrow_type.fields}
    return None


def _select(tree: FieldTree, parts: list[str], arrow_type: Any, path: str, partner_id: str) -> None:
    """Add the dotted ``path`` to ``tree``, checked against the schema."""
    children = _children(arrow_type) or {}
    name, rest = parts[0], parts[1:]
    if name not in children:
        where = path[: -len(".".join(parts))].rstrip(".") or "the article record"
        raise DeliveryError(
            f"partner {partner_id!r}: field {path!r}: {where} has no {name!r} (it has {', '.join(children)})"
        )
    if not rest:
        tree[name] = None
    elif tree.get(name, {}) is not None:  # not already selected whole
        _select(tree.setdefault(name, {}), rest, children[name], path, partner_id)


def _project_value(value: Any, tree: FieldTree | None) -> Any:
    if tree is None or value is None:
        return value
    if isinstance(value, list):
        return [_project_value(v, tree) for v in value]
    return {k: _project_value(v, tree[k]) for k, v in value.items() if k in tree}


def _project_type(arrow_type: Any, tree: FieldTree | None) -> Any:
    import pyarrow as pa

    if tree is None:
        return arrow_type
    if pa.types.is_list(arrow_type):
        return pa.list_(_project_type(arrow_type.value_type, tree))
    return pa.struct(
        [f.with_type(_project_type(f.type, tree[f.name])) for f in arrow_type.fields if f.name in tree]
    )


def _field_paths(tree: FieldTree, parent: str = "") -> list[str]:
    """``{"version": {"sha1": None}, "name": None}`` -> ``["version.sha1", "name"]``."""
    paths = []
    for name, sub in tree.items():
        path = f"{parent}{name}"
        paths += [path] if sub is None else _field_paths(sub, f"{path}.")
    return paths


def enterprise_json(record: Mapping[str, Any]) -> dict[str, Any]:
    """A (projected) record as delivered in NDJSON: schema order, absent (null) values omitted."""
    return {k: _drop_nulls(v) for k, v in record.items() if v is not None}


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _json_line(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"


def _json_bytes(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8") + b"\n"


# -- sorting with bounded memory ------------------------------------------------------------------------


class ExternalSort:
    """Sort ``(key, record)`` pairs of any total size: sorted runs spilled to disk, then merged.

    Memory holds one run (``run_bytes`` of pickled records) plus one record per run while merging;
    at most ``fan_in`` runs are open at once (runs are merged in rounds beyond that).
    """

    def __init__(self, workdir: Path, run_bytes: int = 128 << 20, fan_in: int = 128) -> None:
        self.workdir = workdir
        self.run_bytes = run_bytes
        self.fan_in = fan_in
        self._buffer: list[tuple[Any, bytes]] = []
        self._buffered = 0
        self._runs: list[Path] = []
        self._written = 0

    def add(self, key: Any, record: Any) -> None:
        blob = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
        self._buffer.append((key, blob))
        self._buffered += len(blob)
        if self._buffered >= self.run_bytes:
            self._spill()

    def _spill(self) -> None:
        if not self._buffer:
            return
        self._buffer.sort(key=lambda item: item[0])
        self._runs.append(self._write_run(self._buffer))
        self._buffer, self._buffered = [], 0
        if len(self._runs) >= self.fan_in:
            merged = self._write_run(heapq.merge(*(_read_run(p) for p in self._runs), key=lambda i: i[0]))
            for run in self._runs:
                run.unlink()
            self._runs = [merged]

    def _write_run(self, items: Iterable[tuple[Any, bytes]]) -> Path:
        path = self.workdir / f"run-{self._written:06d}.pickle"
        self._written += 1
        with open(path, "wb") as f:
            for item in items:
                pickle.dump(item, f, protocol=pickle.HIGHEST_PROTOCOL)
        return path

    def sorted(self) -> Iterator[tuple[Any, Any]]:
        """All pairs in key order (each record unpickled once, as it is consumed)."""
        self._spill()
        for key, blob in heapq.merge(*(_read_run(p) for p in self._runs), key=lambda i: i[0]):
            yield key, pickle.loads(blob)


def _read_run(path: Path) -> Iterator[tuple[Any, bytes]]:
    with open(path, "rb") as f:
        while True:
            try:
                yield pickle.load(f)
            except EOFError:
                return


def sorted_articles(
    shards: Sequence[str],
    shape: RecordShape,
    workdir: Path,
    staging_client: Any | None = None,
    excluded: Counter[tuple[int, str]] | None = None,
) -> Iterator[dict[str, Any]]:
    """The partner's records from every shard, ordered by (namespace, page id); duplicates are errors.

    Records the filters leave out are counted in ``excluded`` per (namespace, filter), complete
    before the first record is yielded.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    sorter = ExternalSort(workdir / "runs")
    sorter.workdir.mkdir(exist_ok=True)
    for uri in shards:
        local = open_shard(uri, staging_client, workdir)
        try:
            pf = pq.ParquetFile(local)
            for batch in pf.iter_batches(batch_size=2048, columns=list(shape.read_columns)):
                for record in batch.to_pylist():
                    if record["identifier"] is None:
                        raise DeliveryError(f"{uri}: an article without identifier ({record.get('name')!r})")
                    reason = shape.exclusion(record)
                    if reason is None:
                        sorter.add((record["namespace"]["identifier"], record["identifier"]), record)
                    elif excluded is not None:
                        excluded[record["namespace"]["identifier"], reason] += 1
        except (OSError, pa.ArrowException) as exc:
            raise DeliveryError(f"{uri}: cannot read articles shard: {exc}") from exc
        finally:
            if local.parent == workdir:
                local.unlink()
    previous = None
    for key, record in sorter.sorted():
        if key == previous:
            raise DeliveryError(f"page id {key[1]} (namespace {key[0]}) appears twice in the staged articles")
        previous = key
        yield record


# -- chunk writers ---------------------------------------------------------------------------------------


class ChunkWriter:
    """Writes one format's chunks of a snapshot to local files; ``close_chunk`` hands each one over."""

    def __init__(self, fmt: str, workdir: Path, shape: RecordShape, parquet_schema: Any) -> None:
        self.fmt = fmt
        self.workdir = workdir
        self.shape = shape
        self.parquet_schema = parquet_schema
        self.index = 0
        self.path: Path | None = None
        self._sink: Any = None
        self._rows: list[dict[str, Any]] = []
        self.records = 0
        self.first_id: int | None = None
        self.last_id: int | None = None

    @property
    def name(self) -> str:
        return f"chunk_{self.index:04d}{FORMAT_EXTENSIONS[self.fmt]}"

    def write(self, record: Mapping[str, Any]) -> None:
        if self.path is None:
            self._open()
        if self.fmt == "ndjson":
            self._sink.write(_json_line(enterprise_json(self.shape.project(record))))
        elif self.fmt == "plaintext":
            self._sink.write(_json_line({k: record[k] for k in PLAINTEXT_FIELDS}))
        else:
            self._rows.append(self.shape.project(record))
            if len(self._rows) >= 1000:
                self._flush_rows()
        self.records += 1
        if self.first_id is None:
            self.first_id = record["identifier"]
        self.last_id = record["identifier"]

    def _open(self) -> None:
        self.path = self.workdir / self.name
        if self.fmt == "parquet":
            import pyarrow.parquet as pq

            self._sink = pq.ParquetWriter(self.path, self.parquet_schema, compression="zstd")
        else:
            self._sink = ReproducibleGzip(self.path)

    def _flush_rows(self) -> None:
        import pyarrow as pa

        self._sink.write_table(pa.Table.from_pylist(self._rows, schema=self.parquet_schema))
        self._rows = []

    def close_chunk(self) -> tuple[str, Path, dict[str, Any]]:
        """Finish the current chunk: its name, local path, and manifest entry (without checksums)."""
        if self.fmt == "parquet" and self._rows:
            self._flush_rows()
        self._sink.close()
        entry = {
            "path": self.name,
            "format": self.fmt,
            "records": self.records,
            "first_identifier": self.first_id,
            "last_identifier": self.last_id,
        }
        result = (self.name, self.path, entry)
        self.index += 1
        self.path, self._sink, self.records, self.first_id, self.last_id = None, None, 0, None, None
        return result


# -- one snapshot ------------------------------------------------------------------------------------------


class SnapshotBuilder:
    """Builds and commits one ``<dbname>_namespace_<ns>`` snapshot from records in page-id order."""

    def __init__(
        self,
        bucket: PartnerBucket,
        request: DeliveryRequest,
        namespace: int,
        shape: RecordShape,
        parquet_schema: Any,
        workdir: Path,
        excluded: Counter[tuple[int, str]],
    ) -> None:
        self.bucket = bucket
        self.excluded = excluded  # filled while the shards are read, complete before commit()
        self.request = request
        self.namespace = namespace
        self.identifier = snapshot_identifier(request.dbname, namespace)
        self.dir = snapshot_dir(request.dump_date, self.identifier)
        self.shape = shape
        self.workdir = workdir / self.identifier
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.writers = [ChunkWriter(f, self.workdir, shape, parquet_schema) for f in request.partner.formats]
        self.chunks: list[dict[str, Any]] = []
        self.record_count = 0
        self.objects: dict[str, int] = {"created": 0, "kept": 0, "replaced": 0}
        self._ids_path = self.workdir / PAGE_IDS
        self._ids = ReproducibleGzip(self._ids_path)

    def _rel(self, name: str) -> str:
        return f"{self.dir}/{name}"

    def add(self, record: Mapping[str, Any]) -> None:
        for writer in self.writers:
            writer.write(record)
            if writer.records >= self.request.partner.chunk_records:
                self._upload_chunk(writer)
        self._ids.write(b"%d\n" % record["identifier"])
        self.record_count += 1

    def _upload_chunk(self, writer: ChunkWriter) -> None:
        name, path, entry = writer.close_chunk()
        digest = FileDigest.of_file(path)
        self._put(name, path, digest)
        path.unlink()
        self.chunks.append({**entry, **digest.as_dict(MANIFEST_DIGESTS)})

    def _put(self, name: str, source: bytes | Path, digest: FileDigest) -> None:
        outcome = self.bucket.put(self._rel(name), source, digest, replace=True)
        self.objects[outcome] += 1

    def commit(self) -> SnapshotResult:
        """Upload the last chunks, tombstones, manifest and checksums, remove strays, then ``_SUCCESS``."""
        for writer in self.writers:
            if writer.records:
                self._upload_chunk(writer)
        self.chunks.sort(key=lambda c: (self.request.partner.formats.index(c["format"]), c["path"]))
        self._ids.close()
        ids_digest = FileDigest.of_file(self._ids_path)
        self._put(PAGE_IDS, self._ids_path, ids_digest)
        deletions = self._tombstones()
        manifest = self._manifest(ids_digest, deletions)
        manifest_bytes = _json_bytes(manifest)
        manifest_digest = FileDigest.of_bytes(manifest_bytes)
        sums = [(c["sha256"], c["path"]) for c in self.chunks]
        sums += [(ids_digest.sha256, PAGE_IDS), (deletions["sha256"], DELETIONS)]
        sums.append((manifest_digest.sha256, MANIFEST))
        sums_bytes = "".join(f"{h}  {p}\n" for h, p in sums).encode()
        self._put(MANIFEST, manifest_bytes, manifest_digest)
        self._put(SHA256SUMS, sums_bytes, FileDigest.of_bytes(sums_bytes))
        self._remove_strays({p for _, p in sums} | {SHA256SUMS})
        success = _json_bytes({"manifest_sha256": manifest_digest.sha256, "record_count": self.record_count})
        self.bucket.put(self._rel(SUCCESS), success, FileDigest.of_bytes(success))
        log.info(
            "committed %s: %d records, %d chunks (objects %s)",
            self.bucket.uri(self.dir),
            self.record_count,
            len(self.chunks),
            self.objects,
        )
        return SnapshotResult(
            identifier=self.identifier,
            namespace=self.namespace,
            manifest_uri=self.bucket.uri(self._rel(MANIFEST)),
            manifest_sha256=manifest_digest.sha256,
            record_count=self.record_count,
            committed=True,
            objects=dict(self.objects),
        )

    def _tombstones(self) -> dict[str, Any]:
        previous = previous_snapshot(self.bucket, self.identifier, self.request.dump_date)
        path = self.workdir / DELETIONS
        count = 0
        with ReproducibleGzip(path) as out:
            if previous is not None:
                prev_ids = self.workdir / "previous_page_ids.txt.gz"
                _download_verified(self.bucket, previous, prev_ids)
                for page_id in _ids_absent(prev_ids, self._ids_path):
                    out.write(_json_line({"identifier": page_id}))
                    count += 1
                prev_ids.unlink()
        digest = FileDigest.of_file(path)
        self._put(DELETIONS, path, digest)
        path.unlink()
        return {
            "path": DELETIONS,
            "records": count,
            **digest.as_dict(MANIFEST_DIGESTS),
            "previous_snapshot": (
                None
                if previous is None
                else {"dump_date": previous["dump_date"], "manifest_sha256": previous["manifest_sha256"]}
            ),
        }

    def _manifest(self, ids_digest: FileDigest, deletions: dict[str, Any]) -> dict[str, Any]:
        req = self.request
        partner = req.partner
        counts = {
            fmt: sum(c["records"] for c in self.chunks if c["format"] == fmt) for fmt in partner.formats
        }
        return {
            "manifest_version": MANIFEST_VERSION,
            "identifier": self.identifier,
            "dbname": req.dbname,
            "namespace": self.namespace,
            "dump_date": req.dump_date,
            "schema_version": req.schema_version,
            "record_count": self.record_count,
            "records_per_format": counts,
            "partner": partner.id,
            "formats": list(partner.formats),
            "fields": _field_paths(self.shape.fields),
            "plaintext_fields": list(PLAINTEXT_FIELDS) if "plaintext" in partner.formats else None,
            "filters": partner.filters.model_dump(mode="json"),
            "filters_not_applicable": list(self.shape.filters_not_applicable),
            "excluded_by_filters": {
                reason: n for (ns, reason), n in sorted(self.excluded.items()) if ns == self.namespace
            },
            "chunk_records": partner.chunk_records,
            "chunks": self.chunks,
            "page_ids": {
                "path": PAGE_IDS,
                "records": self.record_count,
                **ids_digest.as_dict(MANIFEST_DIGESTS),
            },
            "deletions": deletions,
            "source_dump": {"files": [_public_file(f) for f in req.source_files]},
            "validation": _public_validation(req.validation),
            "pipeline": {"run_id": req.run_id},
        }

    def _remove_strays(self, expected: set[str]) -> None:
        """Objects left by an earlier, differently chunked attempt are not part of the snapshot."""
        for blob in self.bucket.list(self.dir):
            rel = self.bucket.relative(blob.name)[len(self.dir) + 1 :]
            if rel not in expected:
                log.warning("removing stray object %s from an earlier attempt", blob.name)
                self.bucket.delete(blob)


def _public_file(staged: Mapping[str, Any]) -> dict[str, Any]:
    """Dump file facts a partner can check against Wikimedia's own checksums (no internal URIs)."""
    return {k: staged[k] for k in ("name", "job", "size", "md5", "sha1") if k in staged}


def _public_validation(validation: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: validation[k] for k in ("success", "critical_failures", "warnings", "counts") if k in validation
    }


def previous_snapshot(bucket: PartnerBucket, identifier: str, dump_date: str) -> dict[str, Any] | None:
    """The newest committed snapshot of ``identifier`` older than ``dump_date``: its date and page ids.

    Dates are listed from the bucket (not latest.json), so a rerun of an older date finds its own
    predecessor and a half-written newer snapshot is never used.
    """
    for date in sorted((d for d in bucket.subdirs(SNAPSHOTS_DIR) if d < dump_date), reverse=True):
        base = snapshot_dir(date, identifier)
        success = bucket.read_bytes(f"{base}/{SUCCESS}")
        if success is None:
            continue
        manifest_bytes = bucket.read_bytes(f"{base}/{MANIFEST}")
        if manifest_bytes is None:
            raise DeliveryError(f"{bucket.uri(base)}: committed snapshot without {MANIFEST}")
        manifest_sha = hashlib.sha256(manifest_bytes).hexdigest()
        if json.loads(success)["manifest_sha256"] != manifest_sha:
            raise DeliveryError(f"{bucket.uri(base)}: {MANIFEST} does not match its {SUCCESS}")
        manifest = json.loads(manifest_bytes)
        return {
            "dump_date": date,
            "manifest_sha256": manifest_sha,
            "page_ids": {**manifest["page_ids"], "path": f"{base}/{manifest['page_ids']['path']}"},
        }
    return None


def _download_verified(bucket: PartnerBucket, previous: Mapping[str, Any], local: Path) -> None:
    entry = previous["page_ids"]
    bucket.download_to(entry["path"], local)
    if FileDigest.of_file(local).sha256 != entry["sha256"]:
        raise DeliveryError(f"{bucket.uri(entry['path'])}: sha256 differs from its manifest")


def _read_ids(path: Path) -> Iterator[int]:
    with gzip.open(path, "rt", encoding="ascii") as f:
        for line in f:
            yield int(line)


def _ids_absent(previous: Path, current: Path) -> Iterator[int]:
    """Ids of ``previous`` not in ``current`` (both ascending): a streaming merge."""
    cur = _read_ids(current)
    head = next(cur, None)
    for page_id in _read_ids(previous):
        while head is not None and head < page_id:
            head = next(cur, None)
        if head != page_id:
            yield page_id


# -- the whole drop -------------------------------------------------------------------------------------


def deliver(
    request: DeliveryRequest,
    bucket: PartnerBucket,
    staging_client: Any | None = None,
    workdir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Build and commit the partner's snapshots of one edition; returns the Drop dict.

    Committed snapshots are left as they are (the call is a no-op) unless ``request.force``.
    """

    if request.validation.get("success") is False:
        raise DeliveryError(
            f"{request.dbname} {request.dump_date}: validation failed; nothing is delivered to {request.partner.id}"
        )
    if not request.article_shards:
        raise DeliveryError(f"{request.dbname} {request.dump_date}: no article shards to deliver")
    namespaces = sorted(set(request.namespaces))
    done = {ns: _committed(bucket, request, ns) for ns in namespaces}
    todo = [ns for ns in namespaces if request.force or done[ns] is None]
    if not todo:
        log.info("%s: every snapshot is already committed; nothing to do", bucket.uri(SNAPSHOTS_DIR))
        return drop_summary(request, [done[ns] for ns in namespaces])
    for ns in todo:
        if done[ns] is not None:
            _withdraw(bucket, request, ns)

    with tempfile.TemporaryDirectory(prefix="wikidrop-deliver-", dir=workdir) as tmp:
        tmpdir = Path(tmp)
        schema = shard_schema(request.article_shards[0], staging_client)
        shape = RecordShape.build(request.partner, todo, schema)
        parquet_schema = shape.parquet_schema(schema)
        excluded: Counter[tuple[int, str]] = Counter()
        builders = {
            ns: SnapshotBuilder(bucket, request, ns, shape, parquet_schema, tmpdir, excluded) for ns in todo
        }
        for record in sorted_articles(request.article_shards, shape, tmpdir, staging_client, excluded):
            builders[record["namespace"]["identifier"]].add(record)
        results = {ns: builder.commit() for ns, builder in builders.items()}
    for result in results.values():
        update_latest(bucket, request.dump_date, result)
    return drop_summary(request, [results.get(ns) or done[ns] for ns in namespaces])


def _committed(bucket: PartnerBucket, request: DeliveryRequest, namespace: int) -> SnapshotResult | None:
    identifier = snapshot_identifier(request.dbname, namespace)
    base = snapshot_dir(request.dump_date, identifier)
    success = bucket.read_bytes(f"{base}/{SUCCESS}")
    if success is None:
        return None
    facts = json.loads(success)
    return SnapshotResult(
        identifier=identifier,
        namespace=namespace,
        manifest_uri=bucket.uri(f"{base}/{MANIFEST}"),
        manifest_sha256=facts["manifest_sha256"],
        record_count=facts["record_count"],
        committed=True,
        unchanged=True,
    )


def _withdraw(bucket: PartnerBucket, request: DeliveryRequest, namespace: int) -> None:
    """Forced redelivery: remove ``_SUCCESS`` first, so nobody reads the snapshot while it is rewritten."""
    rel = f"{snapshot_dir(request.dump_date, snapshot_identifier(request.dbname, namespace))}/{SUCCESS}"
    blob = bucket.get(rel)
    if blob is not None:
        log.warning("forced redelivery: withdrawing %s", bucket.uri(rel))
        bucket.delete(blob)


def update_latest(bucket: PartnerBucket, dump_date: str, result: SnapshotResult) -> None:
    """Point ``latest.json`` at a committed snapshot unless a newer date is already there."""

    def change(doc: dict[str, Any]) -> dict[str, Any] | None:
        snapshots = dict(doc.get("snapshots", {}))
        current = snapshots.get(result.identifier)
        entry = {
            "dump_date": dump_date,
            "manifest": snapshot_dir(dump_date, result.identifier) + "/" + MANIFEST,
            "manifest_sha256": result.manifest_sha256,
            "record_count": result.record_count,
        }
        if current == entry or (current is not None and current["dump_date"] > dump_date):
            return None
        snapshots[result.identifier] = entry
        return {**doc, "snapshots": dict(sorted(snapshots.items()))}

    bucket.update_json(LATEST, change)
