"""Where everything lives in the staging, reports and partner buckets: one place, so no stage guesses a path.

    gs://<staging>/<dbname>/<date>/dump/<dump file names as Wikimedia names them>
    gs://<staging>/<dbname>/<date>/parsed/articles/part-*.parquet, part-*.ndjson.gz
    gs://<staging>/<dbname>/<date>/parsed/dead_letter/part-*.ndjson.gz
    gs://<staging>/<dbname>/<date>/parsed/stats.json
    gs://<staging>/<dbname>/<date>/validation/summary.json
    gs://<staging>/<dbname>/<date>/validation/results/<batch>.json
    gs://<reports>/<dbname>/<date>/<run id>/index.html    (Great Expectations Data Docs)
    gs://<reports>/<dbname>/<date>/<run id>/drilldown.json  (dead letters, sample failing rows)
    gs://<reports>/<dbname>/_runs/<run id>.json           (reports index: one RunSummary per validated run)

A partner's area, ``gs://<partner bucket>/<partner prefix>/``, holds drops of two kinds, each named
as Wikimedia Enterprise names its snapshots (``<dbname>_namespace_<ns>``)::

    snapshots/<YYYYMMDD>/<dbname>_namespace_<ns>/   the whole namespace as of a full dump
    batches/<YYYYMMDD>/<dbname>_namespace_<ns>/     what changed that day (nightly adds-changes)
        chunk_0000.<format extension> ...   the records, page-id order, ``chunk_records`` per chunk
        page_ids.txt.gz                     every delivered page id, ascending
        deletions.ndjson.gz                 snapshots only: ids of the previous snapshot now gone
        LICENSE.txt                         the text's licence and how to credit its authors
        manifest.json  sha256sums.txt
        _SUCCESS                            written last: the drop is committed
    latest.json                             newest committed snapshot per identifier
    batches/latest.json                     newest committed batch per identifier
"""

from __future__ import annotations

import re
from dataclasses import dataclass

DUMP_DATE_RE = re.compile(r"^\d{8}$")
RUNS_INDEX_DIR = "_runs"
DRILLDOWN_FILE = "drilldown.json"


@dataclass(frozen=True)
class StagingPartition:
    """The staging area of one (edition, dump date); a re-run overwrites exactly this prefix."""

    bucket: str
    dbname: str
    dump_date: str

    def __post_init__(self) -> None:
        if not DUMP_DATE_RE.match(self.dump_date):
            raise ValueError(f"dump date must be YYYYMMDD, got {self.dump_date!r}")

    @property
    def prefix(self) -> str:
        return f"{edition_prefix(self.dbname)}{self.dump_date}"

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.prefix}"

    @property
    def dump_uri(self) -> str:
        return f"{self.uri}/dump"

    @property
    def parsed_uri(self) -> str:
        return f"{self.uri}/parsed"

    @property
    def articles_uri(self) -> str:
        return f"{self.parsed_uri}/articles"

    @property
    def dead_letter_uri(self) -> str:
        return f"{self.parsed_uri}/dead_letter"

    @property
    def stats_uri(self) -> str:
        return f"{self.parsed_uri}/stats.json"

    @property
    def validation_summary_uri(self) -> str:
        return f"{self.uri}/validation/summary.json"

    @property
    def validation_results_uri(self) -> str:
        """Full Great Expectations results, one JSON per validated batch (input of the Data Docs)."""
        return f"{self.uri}/validation/results"

    def validation_result_uri(self, batch: str) -> str:
        """The full Great Expectations result of one validated batch (``part-00003``, ``run_level``)."""
        return f"{self.validation_results_uri}/{batch}.json"


def edition_prefix(dbname: str) -> str:
    """The prefix of one edition in the staging and reports buckets; its subfolders are dump dates."""
    return f"{dbname}/"


def run_dir_name(run_id: str) -> str:
    """An Airflow run id made path-safe (``manual__2026-11-23T10:00:00+00:00`` -> ``manual__2026-11-23T10_00_00_00_00``)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", run_id)


def report_prefix(dbname: str, dump_date: str, run_id: str) -> str:
    """Object prefix of one run's Data Docs site in the reports bucket (run ids made path-safe)."""
    return report_site_prefix(dbname, dump_date, run_dir_name(run_id))


def report_site_prefix(dbname: str, dump_date: str, run_dir: str) -> str:
    """``report_prefix`` from a run directory name already made path-safe (as the reports index holds it)."""
    return f"{edition_prefix(dbname)}{dump_date}/{run_dir}"


def drilldown_name(dbname: str, dump_date: str, run_dir: str) -> str:
    """A run's drill-down (dead letters, sample failing rows), beside its Data Docs site."""
    return f"{report_site_prefix(dbname, dump_date, run_dir)}/{DRILLDOWN_FILE}"


def runs_index_prefix(dbname: str) -> str:
    """Prefix of an edition's reports index: one RunSummary per validated run, for the UI's listing,
    trends and per-run link (so the UI never walks every report file of an edition)."""
    return f"{edition_prefix(dbname)}{RUNS_INDEX_DIR}/"


def run_summary_name(dbname: str, run_id: str) -> str:
    """Object name of a run's RunSummary in the reports index (run id made path-safe as in its report)."""
    return f"{runs_index_prefix(dbname)}{run_dir_name(run_id)}.json"


# -- partner buckets (paths relative to the partner's prefix) -------------------------------------------

MANIFEST = "manifest.json"
SHA256SUMS = "sha256sums.txt"
SUCCESS = "_SUCCESS"
PAGE_IDS = "page_ids.txt.gz"
DELETIONS = "deletions.ndjson.gz"
LICENSE_FILE = "LICENSE.txt"


@dataclass(frozen=True)
class DropKind:
    """A kind of partner drop: the folder its dates live in, its latest pointer, whether it has tombstones.

    A snapshot is a whole namespace, so the ids of the previous snapshot that are gone are its
    tombstones; a batch holds one day's changes only, and adds-changes dumps carry no deletions.
    """

    name: str
    directory: str
    latest: str
    tombstones: bool


SNAPSHOT = DropKind("snapshot", "snapshots", "latest.json", tombstones=True)
BATCH = DropKind("batch", "batches", "batches/latest.json", tombstones=False)
DROP_KINDS = {kind.name: kind for kind in (SNAPSHOT, BATCH)}


def drop_identifier(dbname: str, namespace: int) -> str:
    """A drop's name as Wikimedia Enterprise spells its snapshots: ``enwiki_namespace_0``."""
    return f"{dbname}_namespace_{namespace}"


def chunk_name(index: int, extension: str) -> str:
    """``chunk_0007.ndjson.gz``: chunk names sort in page-id order within a format."""
    return f"chunk_{index:04d}{extension}"


@dataclass(frozen=True)
class DropPaths:
    """The paths of one drop (kind, date, identifier) inside a partner's area."""

    kind: DropKind
    dump_date: str
    identifier: str

    def __post_init__(self) -> None:
        if not DUMP_DATE_RE.match(self.dump_date):
            raise ValueError(f"dump date must be YYYYMMDD, got {self.dump_date!r}")

    @classmethod
    def of(cls, kind: DropKind, dump_date: str, dbname: str, namespace: int) -> DropPaths:
        return cls(kind, dump_date, drop_identifier(dbname, namespace))

    @property
    def dir(self) -> str:
        return f"{self.kind.directory}/{self.dump_date}/{self.identifier}"

    def file(self, name: str) -> str:
        """A file of the drop (``manifest.json``, a chunk name), relative to the partner's prefix."""
        return f"{self.dir}/{name}"

    @property
    def manifest(self) -> str:
        return self.file(MANIFEST)

    @property
    def success(self) -> str:
        return self.file(SUCCESS)

    def at(self, dump_date: str) -> DropPaths:
        """The same drop identifier on another date (the previous snapshot, for tombstones)."""
        return DropPaths(self.kind, dump_date, self.identifier)
