"""Read a mirror's ``<dbname>/<date>/dumpstatus.json``: are our jobs done, which files to stage,
which date is the latest finished one.

A mirror is an ``http(s)://`` base URL (https://dumps.wikimedia.org, any rsync mirror served over
HTTP, the project's local mirror server), a ``gs://bucket/prefix`` URI or a local directory; the
layout under it is always ``<dbname>/<YYYYMMDD>/<files>``. ``open_mirror_file`` and
``list_mirror_dir`` are the only places that know the difference.

Latest date: Wikimedia's per-wiki directory (``https://dumps.wikimedia.org/<dbname>/``) is an HTML
index with one ``<YYYYMMDD>/`` link per dump run, newest last; a run's directory exists from the
moment the run starts, long before our jobs are done. ``resolve_latest`` therefore walks the dates
newest first and returns the first whose dumpstatus.json says the required jobs are ``done`` (the
``latest/`` directory's RSS files are updated per job and would let a half-finished run through).
The same approach works for Python's ``http.server`` listing, a local directory and a GCS prefix.
"""

from __future__ import annotations

import contextlib
import http.client
import io
import json
import logging
import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

from wikidrop.gcs import GS_SCHEME, split_gs_uri

log = logging.getLogger(__name__)

MULTISTREAM_JOB = "articlesmultistreamdump"
NAMESPACES_JOB = "namespaces"
REQUIRED_JOBS: tuple[str, ...] = (MULTISTREAM_JOB, NAMESPACES_JOB)
# Staged when done, never waited for: without it the records' page_props fields are null.
PAGE_PROPS_JOB = "pagepropstable"
OPTIONAL_JOBS: tuple[str, ...] = (PAGE_PROPS_JOB,)
DUMPSTATUS_NAME = "dumpstatus.json"
HTTP_TIMEOUT_SECONDS = 60
# Waits before each resume of an HTTP download whose connection closed early (then it fails).
HTTP_RESUME_DELAYS_SECONDS: tuple[float, ...] = (2, 10, 30, 60)
# Wikimedia asks API and dump clients to identify themselves.
USER_AGENT = "wikidrop/0.1 (dump staging; +https://github.com/wikidrop)"
DATE_DIR_RE = re.compile(r"^\d{8}$")
_HREF_DATE_RE = re.compile(r'href="(?:\./)?(\d{8})/?"')

# Where Wikimedia publishes every dump file (what partners are told, whichever mirror staged it).
WIKIMEDIA_DUMPS = "https://dumps.wikimedia.org"

# Kinds of staged file, as StagedDump lists them.
PAGES_ARTICLES = "pages_articles"
INDEX = "index"
SITEINFO_JSON = "siteinfo_json"
PAGE_PROPS = "page_props"


class MirrorFileNotFound(FileNotFoundError):
    """The mirror has no such file (HTTP 404, missing object or path)."""


class MirrorUnavailable(OSError):
    """The mirror could not be reached or refused the request (may be transient)."""


class MirrorConnectionClosed(MirrorUnavailable):
    """The mirror kept closing the connection before the whole file arrived (every resume used up)."""


class DumpStatusError(ValueError):
    """dumpstatus.json is unusable for staging (message names the URL and the job or file)."""


# -- the mirror opener ---------------------------------------------------------------------------
def mirror_url(mirror: str, *parts: str) -> str:
    """``<mirror>/<part>/<part>`` for any mirror kind (used in messages and as the object address)."""
    url = "/".join([str(mirror).rstrip("/"), *(p.strip("/") for p in parts)])
    return url + "/" if parts and parts[-1].endswith("/") else url


def public_dump_url(dbname: str, dump_date: str, name: str) -> str:
    """A dump file's address on Wikimedia's own server."""
    return mirror_url(WIKIMEDIA_DUMPS, dbname, dump_date, name)


def _local_root(mirror: str) -> Path | None:
    if mirror.startswith("file://"):
        return Path(urllib.request.url2pathname(mirror[len("file://") :]))
    if "://" in mirror:
        return None
    return Path(mirror)


@contextlib.contextmanager
def open_mirror_file(mirror: str, relpath: str) -> Iterator[IO[bytes]]:
    """A readable binary stream of ``<mirror>/<relpath>``, read lazily (never whole in memory).

    Only opening is translated into ``MirrorFileNotFound``/``MirrorUnavailable`` (both OSErrors
    naming the URL): errors raised by the caller's own code inside the ``with`` pass unchanged.
    """
    url = mirror_url(mirror, relpath)
    local = _local_root(mirror)
    if local is not None:
        try:
            stream = open(local / relpath, "rb")  # noqa: SIM115 (closed by the with below)
        except FileNotFoundError as exc:
            raise MirrorFileNotFound(f"{url}: no such file") from exc
        with stream:
            yield stream
        return
    if mirror.startswith(GS_SCHEME):
        from google.api_core.exceptions import GoogleAPIError

        from wikidrop.gcs import storage_client

        bucket, name = split_gs_uri(url)
        try:
            blob = storage_client().bucket(bucket).get_blob(name)
        except GoogleAPIError as exc:
            raise MirrorUnavailable(f"{url}: {exc}") from exc
        if blob is None:
            raise MirrorFileNotFound(f"{url}: no such object")
        with blob.open("rb") as stream:
            yield stream
        return
    if not mirror.startswith(("http://", "https://")):
        raise ValueError(f"mirror must be http(s)://, gs:// or a local directory, got {mirror!r}")
    body = ResumingHttpBody(url)
    with body:
        yield body


def _http_get(url: str, headers: Mapping[str, str] | None = None) -> http.client.HTTPResponse:
    """An HTTP GET's response; ``MirrorFileNotFound``/``MirrorUnavailable`` naming the URL otherwise."""
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **(headers or {})})
    try:
        return urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_SECONDS)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            raise MirrorFileNotFound(f"{url}: HTTP 404") from exc
        raise MirrorUnavailable(f"{url}: HTTP {exc.code} {exc.reason}") from exc
    except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
        raise MirrorUnavailable(f"{url}: {getattr(exc, 'reason', exc)}") from exc


class ResumingHttpBody(io.RawIOBase):
    """The body of an HTTP GET that survives a connection closed mid-way.

    Python's HTTP client returns a body cut short by a closed connection as if it had ended, so a
    dropped download would look like a checksum mismatch. This reader knows the length the server
    announced; when the body ends early (or the read fails or times out) it waits
    (``HTTP_RESUME_DELAYS_SECONDS``) and asks for the rest with ``Range: bytes=N-`` (``If-Range``
    guards against a file replaced meanwhile). A mirror that ignores ranges sends the whole file
    again, and the bytes already read are skipped. When every resume is used up it raises
    ``MirrorConnectionClosed``: "connection closed after N of M bytes". The checksums the caller
    verifies stay the judge of the content.
    """

    def __init__(self, url: str):
        super().__init__()
        self.url = url
        self._response = _http_get(url)
        length = self._response.headers.get("Content-Length")
        self.total = int(length) if length and length.isdigit() else None
        self.position = 0
        self.resumes = 0
        self._validator = self._response.headers.get("ETag") or self._response.headers.get("Last-Modified")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while True:
            try:
                n = self._response.readinto(buffer)
            except (http.client.HTTPException, OSError) as exc:  # incomplete chunked body, reset, timeout
                cause: BaseException | None = exc
            else:
                if n or not buffer or self.total is None or self.position >= self.total:
                    self.position += n
                    return n
                cause = None  # the body ended before the announced length
            self._resume(cause)

    def close(self) -> None:
        self._response.close()
        super().close()

    def _resume(self, cause: BaseException | None) -> None:
        """Reconnect at ``position`` (or fail); every failed attempt uses one of the resumes."""
        of = f"{self.total}" if self.total is not None else "an unknown number of"
        while True:
            self._response.close()
            if self.resumes >= len(HTTP_RESUME_DELAYS_SECONDS):
                raise MirrorConnectionClosed(
                    f"{self.url}: connection closed after {self.position} of {of} bytes "
                    f"({self.resumes} resume(s) tried)" + (f": {cause}" if cause else "")
                ) from cause
            delay = HTTP_RESUME_DELAYS_SECONDS[self.resumes]
            self.resumes += 1
            log.warning(
                "%s: connection closed after %d of %s bytes; resuming in %.0f s (%d of %d)",
                self.url,
                self.position,
                of,
                delay,
                self.resumes,
                len(HTTP_RESUME_DELAYS_SECONDS),
            )
            time.sleep(delay)
            headers = {"Range": f"bytes={self.position}-"}
            if self._validator:
                headers["If-Range"] = self._validator
            try:
                self._response = _http_get(self.url, headers)
                if self._response.status == 206:
                    content_range = self._response.headers.get("Content-Range", "")
                    if not content_range.startswith(f"bytes {self.position}-"):
                        raise MirrorUnavailable(
                            f"{self.url}: asked for bytes {self.position}-, got {content_range!r}"
                        )
                else:  # the whole file again: skip what was read already
                    self._skip(self.position)
                return
            except (MirrorUnavailable, http.client.HTTPException, OSError) as exc:
                cause = exc

    def _skip(self, count: int) -> None:
        remaining = count
        while remaining:
            chunk = self._response.read(min(remaining, 1 << 20))
            if not chunk:
                raise MirrorUnavailable(f"{self.url}: connection closed while skipping to byte {count}")
            remaining -= len(chunk)


def read_mirror_bytes(mirror: str, relpath: str) -> bytes:
    with open_mirror_file(mirror, relpath) as f:
        return f.read()


def list_dump_dates(mirror: str, dbname: str) -> list[str]:
    """The ``YYYYMMDD`` run directories of one wiki on the mirror, oldest first."""
    local = _local_root(mirror)
    if local is not None:
        directory = local / dbname
        names = [p.name for p in directory.iterdir() if p.is_dir()] if directory.is_dir() else []
    elif mirror.startswith(GS_SCHEME):
        from wikidrop.gcs import storage_client

        bucket, prefix = split_gs_uri(mirror_url(mirror, dbname) + "/")
        blobs = storage_client().list_blobs(bucket, prefix=prefix, delimiter="/")
        list(blobs)  # the prefixes are filled in while iterating
        names = [p[len(prefix) :].strip("/") for p in blobs.prefixes]
    else:
        try:
            listing = read_mirror_bytes(mirror, f"{dbname}/").decode("utf-8", "replace")
        except MirrorFileNotFound:
            listing = ""
        names = _HREF_DATE_RE.findall(listing)
    return sorted({n for n in names if DATE_DIR_RE.match(n)})


# -- dumpstatus.json -----------------------------------------------------------------------------
def dumpstatus_relpath(dbname: str, dump_date: str) -> str:
    return f"{dbname}/{dump_date}/{DUMPSTATUS_NAME}"


def dumpstatus_location(mirror: str, dbname: str, dump_date: str) -> str:
    return mirror_url(mirror, dumpstatus_relpath(dbname, dump_date))


def parse_dumpstatus(payload: bytes | str, where: str) -> dict[str, Any]:
    """dumpstatus.json as a dict; a body that is not the expected JSON is an error naming ``where``."""
    try:
        status = json.loads(payload)
    except ValueError as exc:
        raise DumpStatusError(f"{where}: not JSON: {exc}") from exc
    if not isinstance(status, dict) or not isinstance(status.get("jobs"), dict):
        raise DumpStatusError(f"{where}: no 'jobs' object; not a Wikimedia dumpstatus.json")
    return status


def fetch_dumpstatus(mirror: str, dbname: str, dump_date: str) -> dict[str, Any]:
    """Fetch and parse ``<mirror>/<dbname>/<date>/dumpstatus.json`` (MirrorFileNotFound if absent)."""
    payload = read_mirror_bytes(mirror, dumpstatus_relpath(dbname, dump_date))
    return parse_dumpstatus(payload, dumpstatus_location(mirror, dbname, dump_date))


def jobs_not_done(status: Mapping[str, Any], required_jobs: Iterable[str] = REQUIRED_JOBS) -> dict[str, str]:
    """``{job: its status}`` for each required job that is not ``done`` (``missing`` if absent)."""
    jobs = status.get("jobs", {})
    pending = {}
    for job in required_jobs:
        state = jobs.get(job, {}).get("status", "missing") if isinstance(jobs.get(job), dict) else "missing"
        if state != "done":
            pending[job] = state
    return pending


def jobs_done(status: Mapping[str, Any], required_jobs: Iterable[str] = REQUIRED_JOBS) -> bool:
    """True when every required job says ``done``."""
    return not jobs_not_done(status, required_jobs)


@dataclass(frozen=True)
class DumpFile:
    """One file to stage, with the checksums dumpstatus.json promises for it."""

    name: str
    job: str
    kind: str
    size: int
    md5: str
    sha1: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


_INDEX_NAME_RE = re.compile(r"-pages-articles-multistream-index\d*\.txt")
_MULTISTREAM_NAME_RE = re.compile(r"-pages-articles-multistream\d*\.xml")
_PART_RANGE_RE = re.compile(r"multistream(?:-index)?(\d*)\.(?:xml|txt)(?:-p(\d+)p(\d+))?")


def _part_order(name: str) -> tuple[int, int, bool]:
    """Part number, first page id, then data before index."""
    match = _PART_RANGE_RE.search(name)
    is_index = bool(_INDEX_NAME_RE.search(name))
    if not match:
        return (0, 0, is_index)
    return (int(match.group(1) or 0), int(match.group(2) or 0), is_index)


def files_to_stage(
    status: Mapping[str, Any],
    where: str,
    required_jobs: Sequence[str] = REQUIRED_JOBS,
    optional_jobs: Sequence[str] = OPTIONAL_JOBS,
) -> list[DumpFile]:
    """The multistream file(s) + index(es) and the siteinfo JSON, in part order, plus the files of
    each optional job that is done (the page_props table).

    Big wikis publish the multistream as partial files (``...-multistream1.xml-p1p41242.bz2`` and
    ``...-multistream-index1.txt-p1p41242.bz2``); all of them are staged. Every file must carry
    size, md5 and sha1, or there is nothing to verify against.
    """
    pending = jobs_not_done(status, required_jobs)
    if pending:
        raise DumpStatusError(f"{where}: jobs not done: {pending}")
    done_optional = [job for job in optional_jobs if not jobs_not_done(status, [job])]
    files: list[DumpFile] = []
    for job in [*required_jobs, *done_optional]:
        for name, info in sorted(
            status["jobs"][job].get("files", {}).items(), key=lambda kv: _part_order(kv[0])
        ):
            kind = _kind(job, name)
            if kind is None:
                continue
            missing = [k for k in ("size", "md5", "sha1") if not info.get(k)]
            if missing:
                raise DumpStatusError(f"{where}: job {job} file {name} has no {', '.join(missing)}")
            files.append(DumpFile(name, job, kind, int(info["size"]), info["md5"], info["sha1"]))
    kinds = {f.kind for f in files}
    for needed in (PAGES_ARTICLES, INDEX, SITEINFO_JSON):
        if needed not in kinds:
            raise DumpStatusError(f"{where}: lists no {needed} file in jobs {list(required_jobs)}")
    return files


def _kind(job: str, name: str) -> str | None:
    if job == NAMESPACES_JOB:
        return SITEINFO_JSON if name.endswith((".json.gz", ".json")) else None
    if job == PAGE_PROPS_JOB:
        return PAGE_PROPS if name.endswith("-page_props.sql.gz") else None
    if _INDEX_NAME_RE.search(name):
        return INDEX
    if _MULTISTREAM_NAME_RE.search(name):
        return PAGES_ARTICLES
    return None


# -- latest --------------------------------------------------------------------------------------
def resolve_latest(mirror: str, dbname: str, required_jobs: Sequence[str] = REQUIRED_JOBS) -> str:
    """Newest dump date of ``dbname`` whose dumpstatus.json says ``required_jobs`` are done."""
    checked: dict[str, str] = {}
    for dump_date in reversed(list_dump_dates(mirror, dbname)):
        try:
            status = fetch_dumpstatus(mirror, dbname, dump_date)
        except (MirrorFileNotFound, DumpStatusError) as exc:
            checked[dump_date] = str(exc)
            continue
        pending = jobs_not_done(status, required_jobs)
        if not pending:
            return dump_date
        checked[dump_date] = f"not done: {pending}"
    raise LookupError(
        f"{mirror_url(mirror, dbname)}/: no dump date with jobs {list(required_jobs)} done"
        + (f" (checked {checked})" if checked else " (no YYYYMMDD directories listed)")
    )


def resolve_dump_date(mirror: str, dbname: str, dump_date: str) -> str:
    """``latest`` -> the newest finished date; a YYYYMMDD is returned as given (after a format check)."""
    if dump_date == "latest":
        return resolve_latest(mirror, dbname)
    if not DATE_DIR_RE.match(dump_date):
        raise ValueError(f"dump date must be YYYYMMDD or 'latest', got {dump_date!r}")
    return dump_date
