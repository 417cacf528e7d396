"""Where everything lives in the staging, reports and partner buckets: one place, so no stage guesses a path.

    gs://<staging>/<dbname>/<date>/dump/<dump file names as Wikimedia names them>
    gs://<staging>/<dbname>/<date>/parsed/CURRENT.json       names the committed parse attempt
    gs://<staging>/<dbname>/<date>/parsed/attempts/<attempt>/  an edition state (ParseOutput below)
    gs://<staging>/<dbname>/nightly/<day>/incr/<adds-changes file names as Wikimedia names them>
    gs://<staging>/<dbname>/nightly/<day>/state/CURRENT.json  names the committed apply_changes attempt
    gs://<staging>/<dbname>/nightly/<day>/state/attempts/<attempt>/  the state after that day
    gs://<staging>/<dbname>/nightly/<day>/deletions/part-00000.parquet, .ndjson.gz  tombstones of a re-base
    gs://<staging>/<dbname>/nightly/<day>/validation/summary.json, results/<batch>.json
    gs://<staging>/<dbname>/<date>/validation/summary.json
    gs://<staging>/<dbname>/<date>/validation/results/<batch>.json
    gs://<reports>/<dbname>/<date>/<run id>/index.html    (Great Expectations Data Docs)
    gs://<reports>/<dbname>/<date>/<run id>/drilldown.json  (dead letters, sample failing rows)
    gs://<reports>/<dbname>/_runs/<run id>.json           (reports index: one RunSummary per validated run)

An attempt of parse_dump or apply_changes is an edition state (``wikidrop.state`` says what it holds)::

    articles/part-NNNNN.parquet, part-NNNNN.ndjson.gz   the article records, one partition per pair
    redirects/part-NNNNN.parquet                         the redirect pages of the edition's namespaces
    quality/part-NNNNN.parquet                           per-article quality measures, rows as in articles/
    dead_letter/part-*.ndjson.gz                         pages whose current revision failed to parse
    changes/part-*.parquet, part-*.ndjson.gz             apply_changes: records created/updated/deleted, with event
    siteinfo.json, stats.json, state.json                state.json last: the attempt is a complete state

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

import json
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

DUMP_DATE_RE = re.compile(r"^\d{8}$")
RUNS_INDEX_DIR = "_runs"
DRILLDOWN_FILE = "drilldown.json"
ATTEMPTS_DIR = "attempts"
CURRENT_POINTER = "CURRENT.json"
# Staging uploads a dump file here before it is verified and moved to its name.
INCOMING_DIR = "_incoming"
# ``20261123T101500.123456Z-3f9a1c``: start time (to the microsecond) first, so attempt ids sort by
# when the run began; the random tail keeps two runs started at once apart.
ATTEMPT_ID_RE = re.compile(r"^\d{8}T\d{6}\.\d{6}Z-[0-9a-f]{6}$")


class OutputPointerError(ValueError):
    """A job output's CURRENT.json is not a pointer this code wrote."""


@dataclass(frozen=True)
class JobOutput:
    """The output root of a job that is re-run (the parse job's ``parsed/``): attempts and a pointer.

        <root>/attempts/<attempt id>/...   one run's output, written whole before it is committed
        <root>/CURRENT.json                {"attempt": "attempts/<id>", ...}: the committed attempt

    A run writes only into its own fresh attempt and commits by writing ``CURRENT.json`` last (one
    object: atomic on GCS and on a local disk), then deletes older attempts. Readers resolve the
    pointer once and read that attempt only: they never see a mix of two runs, and a failed run
    leaves the last committed output as it was. (GCS has no directory rename to do this with.)
    ``beam_jobs.output`` writes this protocol; ``wikidrop.gcs.committed_output_uri`` reads it.
    """

    root: str

    @property
    def pointer_uri(self) -> str:
        return f"{self.root}/{CURRENT_POINTER}"

    @property
    def attempts_uri(self) -> str:
        return f"{self.root}/{ATTEMPTS_DIR}"

    def attempt_uri(self, attempt_id: str) -> str:
        return f"{self.attempts_uri}/{_checked_attempt_id(attempt_id)}"

    def attempt_id_of(self, uri: str) -> str | None:
        """The attempt a path under ``attempts/`` belongs to (None for anything else)."""
        prefix = f"{self.attempts_uri}/"
        if not uri.startswith(prefix):
            return None
        first = uri[len(prefix) :].split("/", 1)[0]
        return first if ATTEMPT_ID_RE.match(first) else None

    @staticmethod
    def pointer_payload(attempt_id: str, committed_at: datetime) -> bytes:
        """The content of ``CURRENT.json`` (a relative path: a copied root stays valid)."""
        payload = {
            "attempt": f"{ATTEMPTS_DIR}/{_checked_attempt_id(attempt_id)}",
            "committed_at": committed_at.isoformat(),
        }
        return json.dumps(payload, indent=1).encode("utf-8")

    def committed_attempt_id(self, payload: bytes) -> str:
        """The attempt id ``CURRENT.json`` names; anything else is an ``OutputPointerError``."""
        try:
            attempt = json.loads(payload)["attempt"]
            directory, attempt_id = attempt.split("/")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise OutputPointerError(f"{self.pointer_uri}: not an output pointer ({exc})") from None
        if directory != ATTEMPTS_DIR or not ATTEMPT_ID_RE.match(attempt_id):
            raise OutputPointerError(f"{self.pointer_uri}: names {attempt!r}, not an attempt of this output")
        return attempt_id


def new_attempt_id(now: datetime) -> str:
    """A fresh attempt id for a run starting at ``now`` (UTC): time-sortable, unique by its random tail."""
    return f"{now.strftime('%Y%m%dT%H%M%S.%fZ')}-{secrets.token_hex(3)}"


def _checked_attempt_id(attempt_id: str) -> str:
    if not ATTEMPT_ID_RE.match(attempt_id):
        raise ValueError(f"not an attempt id: {attempt_id!r}")
    return attempt_id


@dataclass(frozen=True)
class ParseOutput:
    """The files of one attempt of parse_dump or apply_changes (``JobOutput.attempt_uri``): an edition
    state (``wikidrop.state``); docs/architecture.md, "Parse output" and "Nightly state"."""

    uri: str

    @property
    def articles_uri(self) -> str:
        return f"{self.uri}/articles"

    @property
    def redirects_uri(self) -> str:
        return f"{self.uri}/redirects"

    @property
    def dead_letter_uri(self) -> str:
        return f"{self.uri}/dead_letter"

    @property
    def quality_uri(self) -> str:
        """One row of quality measures per article, for validation (staging-internal, never delivered)."""
        return f"{self.uri}/quality"

    @property
    def changes_uri(self) -> str:
        """apply_changes: the records the days created or updated, and tombstones of the articles
        that left, each with its event."""
        return f"{self.uri}/changes"

    @property
    def stats_uri(self) -> str:
        return f"{self.uri}/stats.json"

    @property
    def siteinfo_uri(self) -> str:
        return f"{self.uri}/siteinfo.json"

    @property
    def state_uri(self) -> str:
        """state.json, written last: the attempt is a complete state (a base for the next day)."""
        return f"{self.uri}/state.json"


class _StagingArea:
    """What every staging area (a full dump's, an adds-changes day's) lays out the same way below its
    ``prefix`` in ``bucket``: its URI, staged source files and the validation of its output."""

    bucket: str

    @property
    def prefix(self) -> str:
        raise NotImplementedError

    @property
    def uri(self) -> str:
        return f"gs://{self.bucket}/{self.prefix}"

    def _staged_object(self, folder: str, name: str) -> str:
        return f"{self.prefix}/{folder}/{name}"

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


@dataclass(frozen=True)
class StagingPartition(_StagingArea):
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
    def dump_uri(self) -> str:
        return f"{self.uri}/dump"

    def dump_object(self, name: str) -> str:
        """Object name (in ``bucket``) of a staged dump file, by its Wikimedia name."""
        return self._staged_object("dump", name)

    def dump_upload_prefix(self, name: str) -> str:
        """Where a dump file is uploaded (``<prefix><random>``) until its checksums are verified."""
        return self.dump_object(f"{INCOMING_DIR}/{name}.")

    @property
    def parsed_uri(self) -> str:
        """The parse job's output root (``--output``): its committed attempt is what stages read."""
        return f"{self.uri}/parsed"

    @property
    def parsed(self) -> JobOutput:
        return JobOutput(self.parsed_uri)


def edition_prefix(dbname: str) -> str:
    """The prefix of one edition in the staging and reports buckets; its subfolders are dump dates
    (and, in staging, ``nightly/``: the adds-changes days)."""
    return f"{dbname}/"


@dataclass(frozen=True)
class NightlyPartition(_StagingArea):
    """The staging area of one adds-changes day of an edition: the day's files and the state after it."""

    bucket: str
    dbname: str
    day: str

    def __post_init__(self) -> None:
        if not DUMP_DATE_RE.match(self.day):
            raise ValueError(f"day must be YYYYMMDD, got {self.day!r}")

    @property
    def prefix(self) -> str:
        return f"{nightly_prefix(self.dbname)}{self.day}"

    @property
    def incr_uri(self) -> str:
        """The day's staged adds-changes files, under their Wikimedia names."""
        return f"{self.uri}/incr"

    def incr_object(self, name: str) -> str:
        """Object name (in ``bucket``) of a staged adds-changes file, by its Wikimedia name."""
        return self._staged_object("incr", name)

    def incr_upload_prefix(self, name: str) -> str:
        """Where an adds-changes file is uploaded (``<prefix><random>``) until its md5 is verified."""
        return self.incr_object(f"{INCOMING_DIR}/{name}.")

    @property
    def state_uri(self) -> str:
        """apply_changes' output root (``--output``): its committed attempt is the state after the day."""
        return f"{self.uri}/state"

    @property
    def state(self) -> JobOutput:
        return JobOutput(self.state_uri)

    @property
    def deletions_uri(self) -> str:
        """Tombstones of a re-base on a new full dump: ``changes/``-style rows with ``event.type: delete``
        for the pages the previous state held and the full dump no longer has."""
        return f"{self.uri}/deletions"


def nightly_prefix(dbname: str) -> str:
    """The prefix of an edition's adds-changes days in the staging bucket (subfolders are days)."""
    return f"{edition_prefix(dbname)}nightly/"


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


def parsed_asset_uri(staging_bucket: str, dbname: str) -> str:
    """The URI of the Airflow Asset every parse of an edition updates (``<edition>/<date>/parsed`` of
    any date: an Asset's identity, not an object prefix)."""
    return f"gs://{staging_bucket}/{edition_prefix(dbname)}parsed"


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
