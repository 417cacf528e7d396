"""Tombstones: the page ids of the partner's previous snapshot that the new one no longer has.

The previous snapshot is found by listing the partner's dates (not through latest.json), so a rerun
of an older date finds its own predecessor and a half-written newer snapshot is never used. Both id
lists are ascending, so the difference is a streaming merge: memory stays flat whatever their size.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wikidrop.checksums import FileDigest
from wikidrop.delivery.bucket import PartnerBucket
from wikidrop.delivery.encoding import json_line
from wikidrop.delivery.errors import DeliveryError
from wikidrop.gzip_files import ReproducibleGzip
from wikidrop.layout import MANIFEST, SUCCESS, DropPaths


def previous_drop(bucket: PartnerBucket, paths: DropPaths) -> dict[str, Any] | None:
    """The newest committed drop of the same identifier dated before ``paths``: its date, manifest
    sha256, record count and page-id file entry."""
    dates = (d for d in bucket.subdirs(paths.kind.directory) if d < paths.dump_date)
    for date in sorted(dates, reverse=True):
        older = paths.at(date)
        success = bucket.read_bytes(older.success)
        if success is None:
            continue
        manifest_bytes = bucket.read_bytes(older.manifest)
        if manifest_bytes is None:
            raise DeliveryError(f"{bucket.uri(older.dir)}: committed snapshot without {MANIFEST}")
        manifest_sha = hashlib.sha256(manifest_bytes).hexdigest()
        if json.loads(success)["manifest_sha256"] != manifest_sha:
            raise DeliveryError(f"{bucket.uri(older.dir)}: {MANIFEST} does not match its {SUCCESS}")
        manifest = json.loads(manifest_bytes)
        return {
            "dump_date": date,
            "manifest_sha256": manifest_sha,
            "record_count": manifest["record_count"],
            "page_ids": {**manifest["page_ids"], "path": older.file(manifest["page_ids"]["path"])},
        }
    return None


def write_tombstones(
    bucket: PartnerBucket, paths: DropPaths, current_ids: Path, out: Path
) -> tuple[int, dict[str, Any] | None]:
    """Write ``{"identifier": id}`` lines for ids of the previous drop absent from ``current_ids``.

    Returns the count and the previous drop's date and manifest sha256 (None without a previous drop).
    """
    previous = previous_drop(bucket, paths)
    count = 0
    with ReproducibleGzip(out) as tombstones:
        if previous is not None:
            previous_ids = out.with_name("previous_page_ids.txt.gz")
            _download_verified(bucket, previous["page_ids"], previous_ids)
            for page_id in _ids_absent(previous_ids, current_ids):
                tombstones.write(json_line({"identifier": page_id}))
                count += 1
            previous_ids.unlink()
    if previous is None:
        return count, None
    return count, {"dump_date": previous["dump_date"], "manifest_sha256": previous["manifest_sha256"]}


def _download_verified(bucket: PartnerBucket, entry: dict[str, Any], local: Path) -> None:
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
