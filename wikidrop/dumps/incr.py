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

STATUS_FILE = "status.txt"
MAXREVID_FILE = "maxrevid.txt"
STATUS_DONE = "done"

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
