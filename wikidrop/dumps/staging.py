"""Copy one dump from a mirror into the staging bucket, verifying every byte against dumpstatus.json
(an adds-changes day: against its md5sums.txt, ``stage_incr_day``).

For each file dumpstatus.json lists for our jobs (multistream + index, possibly as partial files,
and the siteinfo JSON) ``stage_dump``:

1. skips it when ``gs://<staging>/<db>/<date>/dump/<name>`` already exists with the size and the
   md5/sha1 this dumpstatus promises (recorded in the object's metadata when it was verified, and
   the size/md5 GCS itself reports);
2. otherwise streams it from the mirror in chunks into a temporary object, hashing as it goes and
   logging bytes copied of the total every ~30 s (an HTTP connection closed mid-way is resumed
   where it stopped, ``wikidrop.dumps.dumpstatus.ResumingHttpBody``);
3. compares size, md5 and sha1 with dumpstatus.json: on a match the temporary object is copied to
   the final name and deleted; on a mismatch both the temporary object and any stale object under
   the final name are deleted and ``StagingChecksumError`` names the file and both checksums.

dumpstatus.json itself is staged last, so its presence marks a complete staging. A rerun of a
finished staging reads dumpstatus.json again and uploads nothing.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import logging
import uuid
from dataclasses import dataclass
from typing import Any

from wikidrop.checksums import Digester, FileDigest
from wikidrop.contracts import StagedDay, StagedDump, StagedFile
from wikidrop.dumps.dumpstatus import (
    DUMPSTATUS_NAME,
    INDEX,
    OPTIONAL_JOBS,
    PAGE_PROPS,
    PAGE_PROPS_JOB,
    PAGES_ARTICLES,
    REQUIRED_JOBS,
    SITEINFO_JSON,
    DumpFile,
    dumpstatus_location,
    dumpstatus_relpath,
    files_to_stage,
    mirror_url,
    open_mirror_file,
    parse_dumpstatus,
    read_mirror_bytes,
)
from wikidrop.dumps.incr import (
    MAXREVID_FILE,
    IncrDayError,
    day_file_relpath,
    fetch_day_status,
    md5sums_file_name,
    pages_file_name,
    parse_maxrevid,
    parse_md5sums,
)
from wikidrop.layout import NightlyPartition, StagingPartition
from wikidrop.progress import BYTES, INTERVAL_SECONDS, Progress

log = logging.getLogger(__name__)

READ_CHUNK = 1 << 20
UPLOAD_CHUNK = 8 << 20  # resumable upload chunk (a multiple of 256 KiB)
# Object metadata keys recording what was verified; a staged object without them is re-staged.
META_SIZE, META_MD5, META_SHA1, META_SOURCE = (
    "wikidrop-size",
    "wikidrop-md5",
    "wikidrop-sha1",
    "wikidrop-source",
)


class StagingChecksumError(ValueError):
    """A file read from the mirror does not match dumpstatus.json; nothing is staged under its name."""


@dataclass(frozen=True)
class Checksums:
    """What the mirror promises of a file (size, md5, sha1), to compare with what was read.

    dumpstatus.json gives all three; an adds-changes day's md5sums.txt only the md5 (``None``: not promised).
    """

    size: int | None
    md5: str
    sha1: str | None

    @classmethod
    def of(cls, digest: FileDigest) -> Checksums:
        return cls(digest.bytes, digest.md5, digest.sha1)

    def matches(self, other: Checksums) -> bool:
        """``other`` (what was read) has every checksum this promises."""
        return self.md5 == other.md5 and self.size in (None, other.size) and self.sha1 in (None, other.sha1)

    def __str__(self) -> str:
        return " ".join(
            f"{k}={v}"
            for k, v in (("size", self.size), ("md5", self.md5), ("sha1", self.sha1))
            if v is not None
        )


def _expected(dump_file: DumpFile) -> Checksums:
    return Checksums(dump_file.size, dump_file.md5.lower(), dump_file.sha1.lower())


def _gcs_md5_hex(blob: Any) -> str | None:
    """GCS reports md5 base64-encoded (absent for composite objects)."""
    if not blob.md5_hash:
        return None
    try:
        return binascii.hexlify(base64.b64decode(blob.md5_hash)).decode("ascii")
    except (ValueError, binascii.Error):
        return None


def recorded_checksums(blob: Any) -> Checksums:
    """What staging recorded in a verified object's metadata (what it read from the mirror)."""
    meta = blob.metadata or {}
    size = meta.get(META_SIZE)
    return Checksums(int(size) if size else None, meta.get(META_MD5, ""), meta.get(META_SHA1))


def is_staged_and_verified(bucket: Any, name: str, expected: Checksums) -> bool:
    """The object exists, its metadata records ``expected``, and GCS's own size/md5 agree."""
    blob = bucket.get_blob(name)
    if blob is None:
        return False
    recorded = recorded_checksums(blob)
    gcs_md5 = _gcs_md5_hex(blob)
    return (
        expected == recorded
        and blob.size == (expected.size if expected.size is not None else blob.size)
        and gcs_md5 in (None, expected.md5)
    )


def _stream_to_blob(mirror: str, relpath: str, blob: Any, progress: Progress) -> Checksums:
    """Copy ``<mirror>/<relpath>`` into ``blob`` chunk by chunk, logging ``progress``; return what was read."""
    digester = Digester()
    with open_mirror_file(mirror, relpath) as source, blob.open("wb", chunk_size=UPLOAD_CHUNK) as target:
        while chunk := source.read(READ_CHUNK):
            digester.update(chunk)
            target.write(chunk)
            progress.advance(len(chunk))
    return Checksums.of(digester.digest())


def _delete_if_exists(blob: Any) -> None:
    from google.api_core.exceptions import NotFound

    with contextlib.suppress(NotFound):
        blob.delete()


def _promote(bucket: Any, temp: Any, final_name: str) -> Any:
    """Copy the verified temporary object to its final name (rewrite: works for any size), drop it."""
    final = bucket.blob(final_name)
    final.metadata = temp.metadata
    token, _, _ = final.rewrite(temp)
    while token is not None:
        token, _, _ = final.rewrite(temp, token=token)
    temp.delete()
    return final


def stage_file(
    mirror: str,
    dbname: str,
    dump_date: str,
    dump_file: DumpFile,
    partition: StagingPartition,
    client: Any,
    progress_seconds: float = INTERVAL_SECONDS,
) -> StagedFile:
    """Stage one dump file (or skip it if already staged and verified); return its StagedDump entry.

    While copying, logs bytes copied of the size dumpstatus.json gives every ``progress_seconds``.
    """
    expected = _expected(dump_file)
    final_name = partition.dump_object(dump_file.name)
    stage_object(
        mirror,
        f"{dbname}/{dump_date}/{dump_file.name}",
        client.bucket(partition.bucket),
        final_name,
        partition.dump_upload_prefix(dump_file.name),
        expected,
        promised_by="dumpstatus.json",
        progress_seconds=progress_seconds,
    )
    return StagedFile(
        name=dump_file.name,
        job=dump_file.job,
        uri=f"gs://{partition.bucket}/{final_name}",
        size=expected.size,
        md5=expected.md5,
        sha1=expected.sha1,
    )


def stage_object(
    mirror: str,
    relpath: str,
    bucket: Any,
    final_name: str,
    upload_prefix: str,
    expected: Checksums,
    *,
    promised_by: str,
    progress_seconds: float = INTERVAL_SECONDS,
) -> Checksums:
    """Copy ``<mirror>/<relpath>`` to ``final_name`` in ``bucket`` only if it matches ``expected``.

    Skipped when already staged and verified. Streams into a temporary object (``upload_prefix`` +
    a random tail; leftovers of an earlier try are deleted first), then compares what
    was read with ``expected`` (``promised_by`` names where that came from, for the message); a
    checksum left ``None`` (an adds-changes day's md5sums.txt gives no size or sha1) is not compared.
    Returns what was read (or recorded, when skipped).
    """
    final_uri = f"gs://{bucket.name}/{final_name}"
    if is_staged_and_verified(bucket, final_name, expected):
        log.info("%s: already staged and verified, skipped", final_uri)
        return expected
    file_name = final_name.rsplit("/", 1)[-1]
    source_url = mirror_url(mirror, relpath)
    for stale in bucket.client.list_blobs(bucket.name, prefix=upload_prefix):
        _delete_if_exists(stale)
    temp = bucket.blob(f"{upload_prefix}{uuid.uuid4().hex}")
    # What the mirror promised, recorded with the object (checked by the next run's skip).
    promised = {META_SIZE: expected.size, META_MD5: expected.md5, META_SHA1: expected.sha1}
    temp.metadata = {k: str(v) for k, v in promised.items() if v is not None} | {META_SOURCE: source_url}
    try:
        progress = Progress(
            log, f"staging {file_name}:", expected.size, unit=BYTES, interval=progress_seconds
        )
        actual = _stream_to_blob(mirror, relpath, temp, progress)
        temp.reload()
        uploaded_md5 = _gcs_md5_hex(temp)
        if uploaded_md5 not in (None, actual.md5) or temp.size != actual.size:
            raise StagingChecksumError(
                f"{file_name}: upload to {final_uri} corrupted: read {actual}, "
                f"GCS stored size={temp.size} md5={uploaded_md5}"
            )
        if not expected.matches(actual):
            _delete_if_exists(bucket.blob(final_name))
            raise StagingChecksumError(
                f"{file_name}: checksum mismatch for {source_url}: {promised_by} says {expected}, "
                f"the mirror served {actual}; nothing staged under {final_uri}"
            )
        _promote(bucket, temp, final_name)
    except BaseException:
        _delete_if_exists(temp)
        raise
    log.info("%s: staged from %s (%s)", final_uri, source_url, actual)
    return actual


def stage_dump(
    mirror: str,
    dbname: str,
    dump_date: str,
    partition: StagingPartition,
    client: Any,
    required_jobs: tuple[str, ...] = REQUIRED_JOBS,
    optional_jobs: tuple[str, ...] = OPTIONAL_JOBS,
    progress_seconds: float = INTERVAL_SECONDS,
) -> StagedDump:
    """Stage every file our jobs need plus dumpstatus.json; return the StagedDump contract.

    Raises ``DumpStatusError`` when a required job is not done and ``StagingChecksumError`` on the
    first file that does not match. An optional job (the page_props table) is staged when done;
    otherwise ``page_props`` is ``None`` and the run goes on without it (logged). Each file's copy
    logs its progress every ``progress_seconds``.
    """
    if (partition.dbname, partition.dump_date) != (dbname, dump_date):
        raise ValueError(f"partition {partition.uri} is not {dbname}/{dump_date}")
    status_bytes = read_mirror_bytes(mirror, dumpstatus_relpath(dbname, dump_date))
    where = dumpstatus_location(mirror, dbname, dump_date)
    dump_files = files_to_stage(parse_dumpstatus(status_bytes, where), where, required_jobs, optional_jobs)
    if PAGE_PROPS_JOB in optional_jobs and not any(f.kind == PAGE_PROPS for f in dump_files):
        log.warning("%s: job %s is not done; records get no page_props fields", where, PAGE_PROPS_JOB)
    entries = [
        stage_file(mirror, dbname, dump_date, f, partition, client, progress_seconds) for f in dump_files
    ]
    status_uri = _stage_dumpstatus(status_bytes, where, partition, client)
    kinds = {f.name: f.kind for f in dump_files}
    return StagedDump(
        dumpstatus_uri=status_uri,
        files=entries,
        pages_articles=[e.uri for e in entries if kinds[e.name] == PAGES_ARTICLES],
        index=[e.uri for e in entries if kinds[e.name] == INDEX],
        siteinfo_json=next(e.uri for e in entries if kinds[e.name] == SITEINFO_JSON),
        page_props=next((e.uri for e in entries if kinds[e.name] == PAGE_PROPS), None),
    )


def _stage_dumpstatus(payload: bytes, source_url: str, partition: StagingPartition, client: Any) -> str:
    """Stage the dumpstatus.json the files were verified against (unchanged bytes are not re-uploaded)."""
    name = partition.dump_object(DUMPSTATUS_NAME)
    bucket = client.bucket(partition.bucket)
    checksums = Checksums.of(FileDigest.of_bytes(payload))
    if not is_staged_and_verified(bucket, name, checksums):
        blob = bucket.blob(name)
        blob.metadata = {
            META_SIZE: str(checksums.size),
            META_MD5: checksums.md5,
            META_SHA1: checksums.sha1,
            META_SOURCE: source_url,
        }
        blob.upload_from_string(payload, content_type="application/json")
    return f"gs://{partition.bucket}/{name}"


def stage_incr_day(mirror: str, dbname: str, day: str, partition: NightlyPartition, client: Any) -> StagedDay:
    """Stage one adds-changes day's pages file, verified against the day's md5sums.txt.

    The day must be complete (status.txt says done); md5sums.txt must list the pages file, whose
    bytes must match it (``StagingChecksumError`` otherwise, nothing staged under its name).
    md5sums.txt is staged last, as dumpstatus.json is for a full dump.
    """
    if (partition.dbname, partition.day) != (dbname, day):
        raise ValueError(f"partition {partition.uri} is not {dbname}/{day}")
    status = fetch_day_status(mirror, dbname, day)
    if not status.done:
        raise IncrDayError(f"{status.url}: the day is not done ({status.status or status.error!r})")
    sums_name = md5sums_file_name(dbname, day)
    sums_relpath = day_file_relpath(dbname, day, sums_name)
    sums_bytes = read_mirror_bytes(mirror, sums_relpath)
    sums = parse_md5sums(sums_bytes, mirror_url(mirror, sums_relpath))
    pages_name = pages_file_name(dbname, day)
    if pages_name not in sums:
        raise IncrDayError(f"{mirror_url(mirror, sums_relpath)}: no md5 for {pages_name}")
    maxrevid_relpath = day_file_relpath(dbname, day, MAXREVID_FILE)
    max_revision_id = parse_maxrevid(
        read_mirror_bytes(mirror, maxrevid_relpath), mirror_url(mirror, maxrevid_relpath)
    )
    bucket = client.bucket(partition.bucket)
    final_name = partition.incr_object(pages_name)
    stage_object(
        mirror,
        day_file_relpath(dbname, day, pages_name),
        bucket,
        final_name,
        partition.incr_upload_prefix(pages_name),
        Checksums(None, sums[pages_name], None),
        promised_by=sums_name,
    )
    bucket.blob(partition.incr_object(sums_name)).upload_from_string(sums_bytes, content_type="text/plain")
    return StagedDay(
        day=day,
        pages_uri=f"gs://{partition.bucket}/{final_name}",
        size=bucket.get_blob(final_name).size,
        md5=sums[pages_name],
        max_revision_id=max_revision_id,
    )
