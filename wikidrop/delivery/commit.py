"""Committing a drop once every chunk is in, and the partner's latest pointer after it.

Order: page ids, tombstones (snapshots), ``LICENSE.txt``, ``manifest.json``, ``sha256sums.txt``,
removal of objects an earlier, differently chunked attempt left, then ``_SUCCESS`` last: a drop
without ``_SUCCESS`` is work in progress, which a retry rebuilds deterministically and finishes.
Only then is ``latest.json`` (of the drop's kind) moved to it. A committed drop is left alone unless
delivery is forced; then its ``_SUCCESS`` is withdrawn first, so nobody reads it while it is
rewritten.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wikidrop.checksums import FileDigest
from wikidrop.contracts import SnapshotDrop
from wikidrop.delivery.attribution import license_text
from wikidrop.delivery.bucket import PartnerBucket
from wikidrop.delivery.chunks import WrittenChunks
from wikidrop.delivery.encoding import json_document
from wikidrop.delivery.manifest import (
    build_manifest,
    document_entry,
    file_entry,
    listed_files,
    sha256sums,
    success_document,
)
from wikidrop.delivery.projection import RecordShape
from wikidrop.delivery.tombstones import previous_drop, write_tombstones
from wikidrop.layout import DELETIONS, LICENSE_FILE, MANIFEST, PAGE_IDS, SHA256SUMS, DropPaths

if TYPE_CHECKING:
    from wikidrop.delivery.drops import DeliveryRequest

log = logging.getLogger(__name__)

PUT_OUTCOMES = ("created", "kept", "replaced")


def commit_drop(
    bucket: PartnerBucket,
    request: DeliveryRequest,
    namespace: int,
    shape: RecordShape,
    written: WrittenChunks,
    excluded: Mapping[str, int],
    workdir: Path,
) -> SnapshotDrop:
    """Upload page ids, tombstones, licence, manifest and checksums, remove strays, then ``_SUCCESS``."""
    paths = request.paths(namespace)
    objects = written.objects

    def put(name: str, source: bytes | Path, digest: FileDigest) -> None:
        objects[bucket.put(paths.file(name), source, digest, replace=True)] += 1

    formats = request.partner.formats
    chunks = sorted(written.chunks, key=lambda c: (formats.index(c["format"]), c["path"]))
    ids_digest = FileDigest.of_file(written.page_ids)
    put(PAGE_IDS, written.page_ids, ids_digest)
    deletions = None
    if paths.kind.tombstones:
        local = workdir / DELETIONS
        count, previous = write_tombstones(bucket, paths, written.page_ids, local)
        digest = FileDigest.of_file(local)
        put(DELETIONS, local, digest)
        local.unlink()
        deletions = {**file_entry(DELETIONS, count, digest), "previous_snapshot": previous}
    license_bytes = license_text(request.site, request.dump_date)
    license_digest = FileDigest.of_bytes(license_bytes)
    put(LICENSE_FILE, license_bytes, license_digest)
    manifest = build_manifest(
        request,
        namespace,
        shape,
        chunks,
        written.record_count,
        excluded,
        file_entry(PAGE_IDS, written.record_count, ids_digest),
        deletions,
        document_entry(LICENSE_FILE, license_digest),
    )
    manifest_bytes = json_document(manifest)
    manifest_digest = FileDigest.of_bytes(manifest_bytes)
    files = listed_files(manifest, manifest_digest.sha256)
    sums = sha256sums(files)
    put(MANIFEST, manifest_bytes, manifest_digest)
    put(SHA256SUMS, sums, FileDigest.of_bytes(sums))
    _remove_strays(bucket, paths, {path for _, path in files} | {SHA256SUMS})
    committed_at = _commit(bucket, paths, manifest_digest.sha256, written.record_count)
    log.info(
        "committed %s: %d records, %d chunks (objects %s)",
        bucket.uri(paths.dir),
        written.record_count,
        len(chunks),
        dict(objects),
    )
    return SnapshotDrop(
        identifier=paths.identifier,
        namespace=namespace,
        manifest_uri=bucket.uri(paths.manifest),
        manifest_sha256=manifest_digest.sha256,
        record_count=written.record_count,
        committed=True,
        committed_at=committed_at,
        unchanged=False,
        objects={outcome: objects[outcome] for outcome in PUT_OUTCOMES},
    )


def _commit(bucket: PartnerBucket, paths: DropPaths, manifest_sha256: str, record_count: int) -> str:
    """Write ``_SUCCESS`` (create-only) and return the commit time it records.

    A commit step run twice (a retried worker) finds its own ``_SUCCESS`` (same manifest) and keeps
    it, commit time included; a ``_SUCCESS`` for another manifest is a conflict.
    """
    existing = bucket.read_bytes(paths.success)
    if existing is not None and json.loads(existing).get("manifest_sha256") == manifest_sha256:
        return json.loads(existing).get("committed_at") or rfc3339(bucket.get(paths.success).time_created)
    committed_at = rfc3339(datetime.now(UTC))
    success = success_document(manifest_sha256, record_count, committed_at)
    bucket.put(paths.success, success, FileDigest.of_bytes(success))
    return committed_at


def _remove_strays(bucket: PartnerBucket, paths: DropPaths, expected: set[str]) -> None:
    """Objects left by an earlier, differently chunked attempt are not part of the drop."""
    for blob in bucket.list(paths.dir):
        rel = bucket.relative(blob.name)[len(paths.dir) + 1 :]
        if rel not in expected:
            log.warning("removing stray object %s from an earlier attempt", blob.name)
            bucket.delete(blob)


def committed_drop(bucket: PartnerBucket, paths: DropPaths, namespace: int) -> SnapshotDrop | None:
    """The drop as its ``_SUCCESS`` describes it, or None when it is not committed."""
    blob = bucket.get(paths.success)
    if blob is None:
        return None
    facts = json.loads(blob.download_as_bytes())
    return SnapshotDrop(
        identifier=paths.identifier,
        namespace=namespace,
        manifest_uri=bucket.uri(paths.manifest),
        manifest_sha256=facts["manifest_sha256"],
        record_count=facts["record_count"],
        committed=True,
        # drops committed before _SUCCESS recorded the time: the object's creation time
        committed_at=facts.get("committed_at") or rfc3339(blob.time_created),
        unchanged=True,
        objects={},
    )


def rfc3339(moment: datetime) -> str:
    """``2026-11-23T10:00:00Z``: UTC, whole seconds."""
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def withdraw(bucket: PartnerBucket, paths: DropPaths) -> None:
    """Forced redelivery: point ``latest.json`` away from the drop, then remove its ``_SUCCESS``.

    So nobody reads the drop while it is rewritten, and a crash meanwhile never leaves
    ``latest.json`` naming a drop without ``_SUCCESS``: it names the previous committed drop of the
    identifier (or none) until the rewritten one is committed.
    """
    blob = bucket.get(paths.success)
    if blob is None:
        return
    previous = previous_drop(bucket, paths)

    def change(drops: dict[str, Any]) -> dict[str, Any] | None:
        current = drops.get(paths.identifier)
        if current is None or current["dump_date"] != paths.dump_date:
            return None
        if previous is None:
            return {k: v for k, v in drops.items() if k != paths.identifier}
        older = paths.at(previous["dump_date"])
        entry = _latest_entry(older, previous["manifest_sha256"], previous["record_count"])
        return {**drops, paths.identifier: entry}

    _update_latest(bucket, paths, change)
    log.warning("forced redelivery: withdrawing %s", bucket.uri(paths.success))
    bucket.delete(blob)


def update_latest(bucket: PartnerBucket, paths: DropPaths, result: SnapshotDrop) -> None:
    """Point the kind's ``latest.json`` at a committed drop unless a newer date is already there.

    ``{"snapshots": {identifier: {dump_date, manifest, manifest_sha256, record_count}}}`` (``batches``
    for batches); the manifest path is relative to the partner's prefix. Idempotent: a retry calls it
    for every committed drop, so a crash between ``_SUCCESS`` and here is finished by the next run.
    """
    entry = _latest_entry(paths, result.manifest_sha256, result.record_count)

    def change(drops: dict[str, Any]) -> dict[str, Any] | None:
        current = drops.get(paths.identifier)
        if current == entry or (current is not None and current["dump_date"] > paths.dump_date):
            return None
        return {**drops, paths.identifier: entry}

    _update_latest(bucket, paths, change)


def _latest_entry(paths: DropPaths, manifest_sha256: str, record_count: int) -> dict[str, Any]:
    return {
        "dump_date": paths.dump_date,
        "manifest": paths.manifest,
        "manifest_sha256": manifest_sha256,
        "record_count": record_count,
    }


def _update_latest(
    bucket: PartnerBucket, paths: DropPaths, change: Callable[[dict[str, Any]], dict[str, Any] | None]
) -> None:
    """Apply ``change`` to the kind's drops in ``latest.json`` (None: leave the object as it is)."""
    key = paths.kind.directory

    def change_document(doc: dict[str, Any]) -> dict[str, Any] | None:
        drops = change(dict(doc.get(key, {})))
        return None if drops is None else {**doc, key: dict(sorted(drops.items()))}

    bucket.update_json(paths.kind.latest, change_document)
