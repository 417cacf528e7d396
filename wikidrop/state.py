"""An edition's *state*: the output folder of parse_dump or apply_changes, and the base of the next day.

A state holds the edition's articles (the records partners get), its redirect pages (so a day can
re-fold the redirects of every target it touches without re-reading the full dump), its dead
letters, and ``state.json``: which full dump it started from, which adds-changes days it holds,
and its partitions. ``state.json`` is written last: a folder without it is not a state (a run that
failed half-way), and apply_changes refuses it as a base.

Articles and redirects are stored in *partitions*: each ``part-NNNNN.parquet`` (articles: plus
``part-NNNNN.ndjson.gz`` with the same records in the same order) holds a run of page ids, listed
in ``state.json`` with its id range, row count, highest revision id and rows per namespace. A day
rewrites only the partitions holding a page it touches and copies the others, so its cost follows
its changes rather than the size of the edition. A page keeps its partition for life; a page the
state does not hold yet (a new page, a redirect that became an article) goes to the partition whose
id range holds its id, else to the nearest one below (new pages have the highest ids, so they fill
the last partition, which splits when full).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

STATE_FORMAT = 1
PARSE_DUMP = "parse_dump"
APPLY_CHANGES = "apply_changes"

# Rows per partition when a job starts a new one. Articles: ~35 MB of Parquet each (~17 KB a record
# on the benchmark's mix), so a day touching a few pages rewrites a small share of a small wiki, and
# enwiki (~7 M articles) has ~3,500 partitions: each one a validation batch and a unit of work for
# a rewrite. Redirect rows are ~100 bytes.
ARTICLE_PARTITION_ROWS = 2_000
REDIRECT_PARTITION_ROWS = 20_000

_DAY_FORMAT = "%Y%m%d"


class StateError(ValueError):
    """A folder is not a usable state, or the days asked for cannot be applied to it."""


# -- redirect pages --------------------------------------------------------------------------------

REDIRECT_SCHEMA = pa.schema(
    [
        ("identifier", pa.int64()),
        ("name", pa.string()),
        ("url", pa.string()),
        ("namespace", pa.struct([("identifier", pa.int64())])),
        ("version", pa.struct([("identifier", pa.int64()), ("date_modified", pa.string())])),
        # The normalised target; null when the redirect's target cannot be read or normalised.
        ("target", pa.struct([("namespace", pa.int64()), ("name", pa.string())])),
    ]
)


def redirect_row(page: Any, target: tuple[int, str] | None, url: str) -> dict[str, Any]:
    """One row of a state's ``redirects/``: a redirect page of the edition's namespaces.

    ``page`` is a ``wikidrop.dumps.export.Page``; ``target`` its normalised ``(namespace, title)``;
    ``url`` the redirect page's own URL (what an article's ``redirects`` entry carries).
    """
    return {
        "identifier": page.id,
        "name": page.title,
        "url": url,
        "namespace": {"identifier": page.ns},
        "version": {"identifier": page.revision.id, "date_modified": page.revision.timestamp},
        "target": {"namespace": target[0], "name": target[1]} if target else None,
    }


# -- state.json ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PartitionInfo:
    """One partition of a dataset: its name (``part-00042``) and what it holds."""

    name: str
    rows: int
    first_id: int | None
    last_id: int | None
    max_revision_id: int | None
    namespaces: Mapping[int, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "rows": self.rows,
            "first_id": self.first_id,
            "last_id": self.last_id,
            "max_revision_id": self.max_revision_id,
            "namespaces": {str(ns): n for ns, n in sorted(self.namespaces.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PartitionInfo:
        return cls(
            name=str(data["name"]),
            rows=int(data["rows"]),
            first_id=data.get("first_id"),
            last_id=data.get("last_id"),
            max_revision_id=data.get("max_revision_id"),
            namespaces={int(ns): int(n) for ns, n in (data.get("namespaces") or {}).items()},
        )


def partition_name(index: int) -> str:
    return f"part-{index:05d}"


def partition_index(name: str) -> int:
    return int(name.rsplit("-", 1)[1])


@dataclass(frozen=True)
class EditionState:
    """``state.json``: what a state folder holds."""

    dbname: str
    namespaces: tuple[int, ...]
    dump_date: str
    days: tuple[str, ...]
    schema_version: str
    articles: tuple[PartitionInfo, ...]
    redirects: tuple[PartitionInfo, ...]
    written_by: str
    # The scripts the articles' quality rows (``quality/``, one file per article partition) counted;
    # None: the state keeps no quality rows (validation then measures the articles themselves).
    quality_scripts: tuple[str, ...] | None = None

    @property
    def article_count(self) -> int:
        return sum(p.rows for p in self.articles)

    @property
    def redirect_count(self) -> int:
        return sum(p.rows for p in self.redirects)

    @property
    def max_revision_id(self) -> int | None:
        """The highest revision id of any article or redirect page the state holds."""
        ids = [p.max_revision_id for p in (*self.articles, *self.redirects) if p.max_revision_id is not None]
        return max(ids, default=None)

    @property
    def last_day(self) -> str:
        """The newest adds-changes day applied, or the full dump's date when none was."""
        return self.days[-1] if self.days else self.dump_date

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "dbname": self.dbname,
            "namespaces": list(self.namespaces),
            "dump_date": self.dump_date,
            "days": list(self.days),
            "max_revision_id": self.max_revision_id,
            "articles": self.article_count,
            "redirects": self.redirect_count,
            "schema_version": self.schema_version,
            "written_by": self.written_by,
            "quality_scripts": None if self.quality_scripts is None else list(self.quality_scripts),
            "partitions": {
                "articles": [p.to_dict() for p in self.articles],
                "redirects": [p.to_dict() for p in self.redirects],
            },
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "state.json") -> EditionState:
        if data.get("format") != STATE_FORMAT:
            raise StateError(f"{source}: state format {data.get('format')!r}, this code reads {STATE_FORMAT}")
        try:
            return cls(
                dbname=str(data["dbname"]),
                namespaces=tuple(int(ns) for ns in data["namespaces"]),
                dump_date=str(data["dump_date"]),
                days=tuple(str(d) for d in data["days"]),
                schema_version=str(data["schema_version"]),
                articles=tuple(PartitionInfo.from_dict(p) for p in data["partitions"]["articles"]),
                redirects=tuple(PartitionInfo.from_dict(p) for p in data["partitions"]["redirects"]),
                written_by=str(data["written_by"]),
                quality_scripts=None
                if data.get("quality_scripts") is None
                else tuple(str(s) for s in data["quality_scripts"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise StateError(f"{source}: not a state.json ({type(exc).__name__}: {exc})") from None


# -- the order of days -----------------------------------------------------------------------------


def _day(value: str, what: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, _DAY_FORMAT).date()
    except ValueError:
        raise StateError(f"{what}: {value!r} is not a YYYYMMDD date") from None


def check_days(state: EditionState, days: Sequence[str], allow_gaps: bool = False) -> None:
    """Refuse days that cannot follow ``state``: each day once, strictly after what the state holds.

    A day equal to or older than the state's full dump, or already applied, or out of order, is an
    error naming it. So is a missing day (the first day must follow the state's last day, each day
    the previous one) unless ``allow_gaps``: Wikimedia sometimes skips a day and the next one then
    covers it, which only the caller can tell (from ``maxrevid.txt``).
    """
    if not days:
        raise StateError("no adds-changes day given")
    base = _day(state.dump_date, "the state's full dump date")
    previous = _day(state.last_day, "the state's last day")
    for value in days:
        day = _day(value, "adds-changes day")
        if day <= base:
            raise StateError(
                f"adds-changes day {value} is not newer than the state's full dump {state.dump_date}: "
                "its revisions are in the base already"
            )
        if value in state.days:
            raise StateError(
                f"adds-changes day {value} is already applied to this state (days {list(state.days)})"
            )
        if day <= previous:
            raise StateError(
                f"adds-changes day {value} is out of order: it must come after {previous.strftime(_DAY_FORMAT)}"
            )
        expected = previous + dt.timedelta(days=1)
        if day != expected and not allow_gaps:
            missing = (day - expected).days
            raise StateError(
                f"adds-changes day {value} leaves {missing} day(s) missing after "
                f"{previous.strftime(_DAY_FORMAT)} (from {expected.strftime(_DAY_FORMAT)}); "
                "apply them first, or allow gaps if the next day is known to cover them"
            )
        previous = day


# -- where a page goes -----------------------------------------------------------------------------


class PartitionRouter:
    """The partition of a page id the state does not hold yet (see the module docstring).

    Only the last partition (highest id range) grows with new pages; it is the only one allowed to
    split, so split names never collide: they are numbered after every existing partition.
    """

    def __init__(self, partitions: Iterable[PartitionInfo]):
        ranged = sorted(
            (p for p in partitions if p.first_id is not None and p.last_id is not None),
            key=lambda p: (p.first_id, p.last_id, p.name),
        )
        self._firsts = [p.first_id for p in ranged]
        self._names = [p.name for p in ranged]
        self._lasts = [p.last_id for p in ranged]
        names = [p.name for p in partitions]
        self.next_index = max((partition_index(n) for n in names), default=-1) + 1
        self.tail = max(ranged, key=lambda p: (p.last_id, p.name)).name if ranged else partition_name(0)
        if not ranged:
            self.next_index = max(self.next_index, 1)

    def route(self, page_id: int) -> str:
        """The partition whose range holds ``page_id``, else the nearest one below it, else the first."""
        if not self._names:
            return self.tail
        position = bisect.bisect_right(self._firsts, page_id) - 1
        if position < 0:
            return self._names[0]
        # Ranges may overlap (a partition written from several read tasks): the latest-starting
        # range at or below the id holds it if it reaches that far; otherwise any earlier that does.
        for candidate in range(position, -1, -1):
            if self._lasts[candidate] >= page_id:
                return self._names[candidate]
        if page_id > max(self._lasts):
            return self.tail
        return self._names[position]

    def split_names(self, count: int) -> list[str]:
        """Names for ``count`` new partitions split off the tail."""
        return [partition_name(self.next_index + i) for i in range(count)]
