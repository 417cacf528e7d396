"""Wikimedia's daily adds-changes ("incr") dumps: their file names and the day each one holds.

Wikimedia publishes, per wiki and day, ``other/incr/<dbname>/<YYYYMMDD>/`` with
``<dbname>-<YYYYMMDD>-pages-meta-hist-incr.xml.bz2`` (every revision created since the previous
day's cut-off, all namespaces, history format), ``<dbname>-<YYYYMMDD>-stubs-meta-hist-incr.xml.gz``
(the same without text), ``<dbname>-<YYYYMMDD>-md5sums.txt``, ``maxrevid.txt`` (the highest
revision id the day covers) and ``status.txt`` (``done`` once the day is complete). There are no
deletions and no move log: a moved page shows up with its page id under its new title.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

STATUS_FILE = "status.txt"
MAXREVID_FILE = "maxrevid.txt"
STATUS_DONE = "done"

_MD5SUMS_LINE_RE = re.compile(r"^(?P<md5>[0-9a-fA-F]{32})\s+\*?(?P<name>\S+)\s*$")


class IncrDayError(ValueError):
    """A day's md5sums.txt or maxrevid.txt is not what Wikimedia writes."""


@dataclass(frozen=True)
class DayStatus:
    """One poll of a day on the mirror: ``done`` once its status.txt says so."""

    day: str
    url: str
    status: str | None  # the text of status.txt, None when it is not there (yet)
    error: str | None = None

    @property
    def done(self) -> bool:
        return self.status == STATUS_DONE


_PAGES_FILE_RE = re.compile(
    r"(?P<dbname>[a-z][a-z0-9_]*)-(?P<day>\d{8})-pages-meta-hist-incr\.xml(?:\.\w+)?$"
)


def pages_file_name(dbname: str, day: str) -> str:
    return f"{dbname}-{day}-pages-meta-hist-incr.xml.bz2"


def stubs_file_name(dbname: str, day: str) -> str:
    return f"{dbname}-{day}-stubs-meta-hist-incr.xml.gz"


def md5sums_file_name(dbname: str, day: str) -> str:
    return f"{dbname}-{day}-md5sums.txt"


def day_directory(dbname: str, day: str) -> str:
    """The day's folder relative to a mirror's root, as on dumps.wikimedia.org."""
    return f"other/incr/{dbname}/{day}"


def parse_pages_file_name(path: str) -> tuple[str, str] | None:
    """``(dbname, YYYYMMDD)`` of an adds-changes pages file (local path or URI), None if not one."""
    match = _PAGES_FILE_RE.search(path.rsplit("/", 1)[-1])
    return (match.group("dbname"), match.group("day")) if match else None


def day_file_relpath(dbname: str, day: str, name: str) -> str:
    return f"{day_directory(dbname, day)}/{name}"


def parse_md5sums(payload: bytes, where: str) -> dict[str, str]:
    """``{file name: md5}`` of a day's ``<dbname>-<day>-md5sums.txt`` (``md5sum`` output)."""
    sums: dict[str, str] = {}
    for number, line in enumerate(payload.decode("utf-8", "replace").splitlines(), 1):
        if not line.strip():
            continue
        match = _MD5SUMS_LINE_RE.match(line)
        if match is None:
            raise IncrDayError(f"{where}: line {number} is not '<md5>  <file name>': {line[:120]!r}")
        sums[match.group("name")] = match.group("md5").lower()
    return sums


def parse_maxrevid(payload: bytes, where: str) -> int:
    """The highest revision id a day covers (``maxrevid.txt``)."""
    text = payload.decode("ascii", "replace").strip()
    if not text.isdigit():
        raise IncrDayError(f"{where}: not a revision id: {text[:40]!r}")
    return int(text)


def fetch_day_status(mirror: str, dbname: str, day: str) -> DayStatus:
    """Read a day's status.txt; a missing file or a failed fetch is "not done yet" (with the error)."""
    from wikidrop.dumps.dumpstatus import DumpStatusError, mirror_url, read_mirror_bytes

    relpath = day_file_relpath(dbname, day, STATUS_FILE)
    url = mirror_url(mirror, relpath)
    try:
        text = read_mirror_bytes(mirror, relpath).decode("utf-8", "replace").strip()
    except (OSError, DumpStatusError) as exc:  # HTTP/URL errors and missing files are OSErrors
        return DayStatus(day, url, None, str(exc))
    return DayStatus(day, url, text)
