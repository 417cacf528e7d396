"""The staged article shards as delivery reads them: the schema from a footer, the partner's records
filtered and in (namespace, page id) order.

Shards are Parquet files, local or ``gs://`` (downloaded one at a time into the work directory).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from wikidrop.delivery.batches import WITHDRAWN, as_tombstone
from wikidrop.delivery.errors import DeliveryError
from wikidrop.delivery.projection import RecordShape
from wikidrop.delivery.sort import ExternalSort
from wikidrop.progress import Progress

# Records turned into Python objects at a time: a long article (wikitext, text, links, references)
# is megabytes of objects, so a reader holds a few hundred, whatever the shards' row group size.
READ_BATCH_ROWS = 256


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


def partner_records(
    source: Any,
    uri: str,
    shape: RecordShape,
    excluded: Counter[tuple[int, str]],
    columns: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> Iterator[dict[str, Any]]:
    """The records of one shard (a local path or an open binary file) that pass the partner's filters.

    ``columns`` defaults to what the partner receives; records left out are counted in ``excluded``
    per (namespace, filter). A batch's update the content filters leave out comes out as a tombstone,
    counted per (namespace, ``withdrawn:<filter>``). An unreadable shard or a record without page id
    is a DeliveryError.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        pf = pq.ParquetFile(source)
        for batch in pf.iter_batches(batch_size=READ_BATCH_ROWS, columns=list(columns or shape.read_columns)):
            if progress is not None:
                progress.advance(batch.num_rows)
            for record in batch.to_pylist():
                if record["identifier"] is None:
                    raise DeliveryError(f"{uri}: an article without identifier ({record.get('name')!r})")
                reason = shape.exclusion(record)
                if reason is None:
                    yield record
                elif shape.withdraws(record, reason):
                    excluded[record["namespace"]["identifier"], WITHDRAWN + reason] += 1
                    yield as_tombstone(record)
                else:
                    excluded[record["namespace"]["identifier"], reason] += 1
    except (OSError, pa.ArrowException) as exc:
        raise DeliveryError(f"{uri}: cannot read articles shard: {exc}") from exc


def sorted_articles(
    shards: Sequence[str],
    shape: RecordShape,
    workdir: Path,
    staging_client: Any | None = None,
    excluded: Counter[tuple[int, str]] | None = None,
    progress: Progress | None = None,
) -> tuple[int, Iterator[dict[str, Any]]]:
    """The partner's records from every shard: how many, and an iterator over them ordered by
    (namespace, page id); a page id met twice is an error when the iterator reaches it.

    Every shard is read (and ``progress`` advanced per record read) before this returns; records the
    filters leave out are counted in ``excluded`` per (namespace, filter).
    """
    excluded = Counter() if excluded is None else excluded
    sorter = ExternalSort(workdir / "runs")
    sorter.workdir.mkdir(exist_ok=True)
    for uri in shards:
        local = open_shard(uri, staging_client, workdir)
        try:
            for record in partner_records(local, uri, shape, excluded, progress=progress):
                sorter.add(record_key(record), record)
        finally:
            if local.parent == workdir:
                local.unlink()
    return sorter.count, unique_in_order(sorter.sorted())


def record_key(record: Mapping[str, Any]) -> tuple[int, int]:
    """Drops are ordered by (namespace, page id)."""
    return record["namespace"]["identifier"], record["identifier"]


def unique_in_order(pairs: Iterator[tuple[tuple[int, int], dict[str, Any]]]) -> Iterator[dict[str, Any]]:
    """The records of ``(key, record)`` pairs in key order; a key met twice is a DeliveryError."""
    previous = None
    for key, record in pairs:
        if key == previous:
            raise DeliveryError(f"page id {key[1]} (namespace {key[0]}) appears twice in the staged articles")
        previous = key
        yield record
