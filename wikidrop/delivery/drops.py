"""Partner drops: the staged articles, filtered and shaped per partner, committed into the partner's bucket.

``deliver`` builds one drop per namespace of an edition for one partner, of one kind (a snapshot
of a full dump, or a nightly batch of one day's changes; paths in ``wikidrop.layout``): the
partner's records in page-id order (``shards``), cut into chunks of ``chunk_records`` written in
every format (``chunks``, ``formats``), then committed (``commit``: manifest, checksums, tombstones,
``_SUCCESS`` last, then ``latest.json``). Every write goes through ``PartnerBucket``, create-only
and inside the partner's prefix. A committed drop is left alone unless ``force``; a drop without
``_SUCCESS`` is rebuilt byte for byte (objects already there and identical are kept).

Resources: memory is bounded by ``ExternalSort.run_bytes`` (128 MiB of pickled records) plus one
Parquet row group per chunk; local temporary disk holds the sorted runs (about the size of the
columns the partner receives) and one chunk per format at a time.
"""

from __future__ import annotations

import itertools
import logging
import os
import tempfile
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from wikidrop.config import PartnerConfig
from wikidrop.contracts import Drop, SnapshotDrop
from wikidrop.delivery.bucket import PartnerBucket
from wikidrop.delivery.chunks import ChunkWriter, WrittenChunks
from wikidrop.delivery.commit import commit_drop, committed_drop, update_latest, withdraw
from wikidrop.delivery.errors import DeliveryError
from wikidrop.delivery.formats import FORMATS
from wikidrop.delivery.projection import RecordShape
from wikidrop.delivery.shards import shard_schema, sorted_articles
from wikidrop.dumps.siteinfo import SiteInfo
from wikidrop.gzip_files import ReproducibleGzip
from wikidrop.layout import BATCH, DROP_KINDS, PAGE_IDS, SNAPSHOT, DropKind, DropPaths
from wikidrop.progress import Progress

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryRequest:
    """Everything one partner's drop of one (edition, dump date) is built from (no secrets).

    ``site`` is the edition's SiteInfo (the parse's ``siteinfo.json``): the drop's LICENSE.txt and
    attribution name the wiki and link to its pages' histories.
    """

    partner: PartnerConfig
    dbname: str
    dump_date: str
    namespaces: Sequence[int]
    article_shards: Sequence[str]
    run_id: str
    schema_version: str
    source_files: Sequence[Mapping[str, Any]]
    validation: Mapping[str, Any]
    site: SiteInfo
    force: bool = False
    kind: DropKind = SNAPSHOT
    article_count: int | None = None  # records in the shards (the parse's stats), for progress lines

    def paths(self, namespace: int) -> DropPaths:
        return DropPaths.of(self.kind, self.dump_date, self.dbname, namespace)

    def to_json(self) -> dict[str, Any]:
        """A JSON document of the request (what the Beam job is launched with)."""
        return {
            **{f.name: getattr(self, f.name) for f in fields(self)},
            "partner": self.partner.model_dump(mode="json"),
            "namespaces": list(self.namespaces),
            "article_shards": list(self.article_shards),
            "source_files": [dict(f) for f in self.source_files],
            "validation": dict(self.validation),
            "site": self.site.to_dict(),
            "kind": self.kind.name,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> DeliveryRequest:
        return cls(
            **{
                **doc,
                "partner": PartnerConfig.model_validate(doc["partner"]),
                "site": SiteInfo.from_dict(doc["site"]),
                "kind": DROP_KINDS[doc["kind"]],
            }
        )


def drop_summary(request: DeliveryRequest, drops: Sequence[SnapshotDrop]) -> dict[str, Any]:
    """The Drop contract's XCom (``wikidrop.contracts.Drop``): the edition's drop for one partner.

    ``manifest_uri``/``manifest_sha256`` are those of the first (lowest) namespace, the article
    namespace in practice; ``snapshots`` lists every namespace's drop.
    """
    first = drops[0]
    return Drop(
        partner=request.partner.id,
        dbname=request.dbname,
        dump_date=request.dump_date,
        kind=request.kind.name,
        manifest_uri=first.manifest_uri,
        manifest_sha256=first.manifest_sha256,
        record_count=sum(d.record_count for d in drops),
        committed=all(d.committed for d in drops),
        snapshots=list(drops),
    ).to_xcom()


@dataclass(frozen=True)
class DeliveryPlan:
    """What a delivery run has to do: the namespaces whose drops it builds (``todo``) and the drops
    already committed that it leaves alone (``done``)."""

    request: DeliveryRequest
    todo: tuple[int, ...]
    done: Mapping[int, SnapshotDrop]

    def shape(self, staged_schema: Any) -> tuple[RecordShape, dict[str, Any]]:
        """The partner's record shape over the staged schema, and each format's record schema."""
        shape = RecordShape.build(self.request.partner, self.todo, staged_schema, self.request.kind)
        return shape, {fmt: FORMATS[fmt].record_schema(shape) for fmt in self.request.partner.formats}


def plan_delivery(request: DeliveryRequest, bucket: PartnerBucket) -> DeliveryPlan:
    """Check the request, find what is committed, and withdraw what a forced run rebuilds."""
    if request.validation.get("success") is False:
        raise DeliveryError(
            f"{request.dbname} {request.dump_date}: validation failed; nothing is delivered to {request.partner.id}"
        )
    if not request.article_shards:
        raise DeliveryError(f"{request.dbname} {request.dump_date}: no article shards to deliver")
    namespaces = sorted(set(request.namespaces))
    committed = {ns: committed_drop(bucket, request.paths(ns), ns) for ns in namespaces}
    todo = tuple(ns for ns in namespaces if request.force or committed[ns] is None)
    if not todo:
        log.info(
            "%s: every %s is already committed; only %s is brought up to date",
            bucket.uri(request.kind.directory),
            request.kind.name,
            request.kind.latest,
        )
    for ns in todo:
        if committed[ns] is not None:
            withdraw(bucket, request.paths(ns))
    done = {ns: drop for ns, drop in committed.items() if ns not in todo and drop is not None}
    return DeliveryPlan(request, todo, done)


def deliver(
    request: DeliveryRequest,
    bucket: PartnerBucket,
    staging_client: Any | None = None,
    workdir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Build and commit the partner's drops of one edition in this process; returns the Drop dict.

    Committed drops are left as they are (the call is a no-op) unless ``request.force``. The Beam
    job ``beam_jobs.deliver_drop`` builds the same drops, byte for byte, on several workers.
    """
    plan = plan_delivery(request, bucket)
    if not plan.todo:
        return finish_delivery(bucket, plan, {})
    with tempfile.TemporaryDirectory(prefix="wikidrop-deliver-", dir=workdir) as tmp:
        tmpdir = Path(tmp)
        shape, schemas = plan.shape(shard_schema(request.article_shards[0], staging_client))
        excluded: Counter[tuple[int, str]] = Counter()
        who = f"{request.partner.id} {request.dbname} {request.dump_date}"
        reading = Progress(log, f"{who}: read", request.article_count)
        count, records = sorted_articles(
            request.article_shards, shape, tmpdir, staging_client, excluded, reading
        )
        writing = Progress(log, f"{who}: written", count)
        # in (namespace, page id) order, and only the namespaces in ``todo`` pass the filters
        groups = itertools.groupby(records, key=lambda r: r["namespace"]["identifier"])
        group = next(groups, None)
        written: dict[int, WrittenChunks] = {}
        for ns in plan.todo:
            ns_records: Iterator[dict[str, Any]] = iter(())
            if group is not None and group[0] == ns:
                ns_records = group[1]
            ns_dir = tmpdir / request.paths(ns).identifier
            ns_dir.mkdir()
            writer = ChunkWriter(bucket, request.paths(ns), shape, schemas, ns_dir)
            written[ns] = _write_chunks(
                writer, ns_records, request.partner.chunk_records, ns_dir / PAGE_IDS, writing
            )
            if group is not None and group[0] == ns:
                group = next(groups, None)
        return commit_drops(bucket, plan, shape, written, excluded, tmpdir)


def deliver_batch(
    request: DeliveryRequest,
    bucket: PartnerBucket,
    staging_client: Any | None = None,
    workdir: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """A nightly batch in this process: ``request.dump_date`` is the day, ``request.article_shards``
    its change records (apply_changes' ``changes/``, with ``event``: ``wikidrop.delivery.batches``);
    committed under ``batches/<day>/`` and ``batches/latest.json``. Returns the Drop (kind batch)."""
    return deliver(replace(request, kind=BATCH), bucket, staging_client, workdir)


def commit_drops(
    bucket: PartnerBucket,
    plan: DeliveryPlan,
    shape: RecordShape,
    written: Mapping[int, WrittenChunks],
    excluded: Mapping[tuple[int, str], int],
    workdir: Path,
) -> dict[str, Any]:
    """Once every chunk is in: commit each namespace's drop, then ``finish_delivery``."""
    results = {}
    for ns in plan.todo:
        ns_excluded = {reason: n for (in_ns, reason), n in sorted(excluded.items()) if in_ns == ns}
        ns_dir = workdir / plan.request.paths(ns).identifier
        ns_dir.mkdir(parents=True, exist_ok=True)
        results[ns] = commit_drop(bucket, plan.request, ns, shape, written[ns], ns_excluded, ns_dir)
    return finish_delivery(bucket, plan, results)


def finish_delivery(
    bucket: PartnerBucket, plan: DeliveryPlan, committed: Mapping[int, SnapshotDrop]
) -> dict[str, Any]:
    """Point latest.json at every committed drop (again: a crash may have come before), then summarise."""
    drops = {**plan.done, **committed}
    for ns, drop in sorted(drops.items()):
        update_latest(bucket, plan.request.paths(ns), drop)
    return drop_summary(plan.request, [drop for _, drop in sorted(drops.items())])


def _write_chunks(
    writer: ChunkWriter,
    records: Iterator[dict[str, Any]],
    chunk_records: int,
    page_ids: Path,
    progress: Progress,
) -> WrittenChunks:
    """Cut records (page-id order) into chunks of ``chunk_records``, listing every page id on the way."""
    written = WrittenChunks(page_ids=page_ids)
    with ReproducibleGzip(page_ids) as ids:

        def listed(chunk: Iterator[dict[str, Any]]) -> Iterator[dict[str, Any]]:
            for record in chunk:
                ids.write(b"%d\n" % record["identifier"])
                written.record_count += 1
                progress.advance()
                yield record

        for index in itertools.count():
            first = next(records, None)
            if first is None:
                break
            chunk = itertools.chain([first], itertools.islice(records, chunk_records - 1))
            entries, outcomes = writer.write(index, listed(chunk))
            written.chunks += entries
            written.objects.update(outcomes)
    return written
