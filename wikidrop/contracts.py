"""Stage contracts: the small documents one pipeline stage hands the next (over Airflow XCom).

Data stays in buckets; these say where it is and what was decided about it. Each is a frozen,
strict model: ``to_xcom()`` gives the JSON dict a task returns, ``from_xcom()`` reads one back and
rejects a missing or unknown key, so a stage and its consumer cannot drift apart silently.

    resolve_run     -> RunContext        which dump, which mirror, which partners, run options
    stage_dump      -> StagedDump        the verified dump files in staging
    parse_articles  -> ParsedOutput      where the parse output is, its stats
    validate.gate   -> ValidationSummary what was checked, what failed, where the report is
    deliver         -> Drop              the partner's committed snapshots

The nightly DAG (``wikidrop_<dbname>_nightly``) hands on its own:

    resolve_day     -> NightContext      which day, on which base state, which days to apply
    stage_day       -> StagedDays        the verified adds-changes files in staging
    apply_changes   -> NightlyOutput     the committed state after the day, its changes and tombstones
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict

from wikidrop.layout import NightlyPartition, StagingPartition


class StageContract(BaseModel):
    """Frozen, strict (unknown keys are errors), JSON-serialisable."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_xcom(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def from_xcom(cls, value: dict[str, Any] | Self) -> Self:
        return value if isinstance(value, cls) else cls.model_validate(value)


class RunFacts(StageContract):
    """What every run of an edition, full dump or night, fixes from its form before touching data:
    the edition, the mirror, the partners and run options, the run id and staging bucket."""

    dbname: str
    language: str
    mirror: str
    partners: list[str]
    dry_run: bool = False
    force_delivery: bool = False
    run_id: str
    staging_bucket: str


class RunContext(RunFacts):
    """Everything a run decided before touching data; every later stage reads it, none recomputes it."""

    dump_date: str

    @property
    def partition(self) -> StagingPartition:
        """The staging area of this (edition, dump date); a re-run overwrites exactly this prefix."""
        return StagingPartition(self.staging_bucket, self.dbname, self.dump_date)


class StagedFile(StageContract):
    """One dump file copied into staging and verified against dumpstatus.json."""

    name: str
    job: str
    uri: str
    size: int
    md5: str
    sha1: str


class StagedDump(StageContract):
    """The dump in staging: every file verified, grouped by what the parse job needs.

    ``page_props`` is the page_props table dump, or None when the dump has none (its fields stay null).
    """

    dumpstatus_uri: str
    files: list[StagedFile]
    pages_articles: list[str]
    index: list[str]
    siteinfo_json: str
    page_props: str | None = None


class ParsedOutput(StageContract):
    """The parse job's output: ``stats`` is its stats.json, ``article_shards`` its Parquet shards."""

    parsed_uri: str
    stats: dict[str, Any]
    article_shards: list[str]


class ValidationFailure(StageContract):
    """One expectation that did not hold (critical stops the run, warning is reported)."""

    suite: str
    batch: str
    expectation: str
    column: str | None = None
    severity: str
    observed: Any = None
    threshold: Any = None
    message: str


class SkippedExpectation(StageContract):
    """An expectation that could not apply to this run (e.g. no previous snapshot on a first run)."""

    suite: str
    batch: str
    expectation: str
    column: str | None = None
    severity: str
    reason: str


class ValidationSummary(StageContract):
    """The gate's verdict on one run; also written to staging and quoted in every manifest."""

    success: bool
    critical_failures: list[ValidationFailure]
    warnings: list[ValidationFailure]
    skipped: list[SkippedExpectation] = []
    counts: dict[str, Any]
    # quality numbers of the run (wikidrop.quality.run_summary.QualityMetrics) and the edition's thresholds
    metrics: dict[str, Any] = {}
    thresholds: dict[str, float] = {}
    dbname: str
    dump_date: str
    run_id: str
    summary_uri: str
    report_uri: str


class SnapshotDrop(StageContract):
    """One namespace's snapshot in a partner's bucket."""

    identifier: str
    namespace: int
    manifest_uri: str
    manifest_sha256: str
    record_count: int
    committed: bool
    committed_at: str  # when its _SUCCESS was written (RFC 3339 UTC): the time its notices carry
    unchanged: bool
    objects: dict[str, int]


class Drop(StageContract):
    """A partner's delivery of one (edition, dump date): one snapshot per namespace.

    The top-level manifest fields are the first namespace's, ``record_count`` the total.
    """

    partner: str
    dbname: str
    dump_date: str
    kind: Literal["snapshot", "batch"] = "snapshot"  # wikidrop.layout.DROP_KINDS: folder, notice type
    manifest_uri: str
    manifest_sha256: str
    record_count: int
    committed: bool
    snapshots: list[SnapshotDrop]


class NightContext(RunFacts):
    """Everything a nightly run decided before touching data: its day, the base state, the days to apply.

    ``days`` is ``[day]``, or after a re-base on a newer full dump every day after that dump up to
    ``day`` (applied again on top of it). ``rebased_from`` is then the previous state's folder: its
    pages missing from the new base reach partners as tombstones. ``applied`` says the day is already
    in the newest state: the run is a no-op.
    """

    day: str
    applied: bool = False
    base_uri: str  # the base state's folder (a committed attempt), resolved once
    base_dump_date: str
    base_days: list[str]
    base_max_revision_id: int | None
    days: list[str]
    rebased_from: str | None = None

    @property
    def partition(self) -> NightlyPartition:
        """The staging area of the run's day; a re-run rewrites exactly this prefix."""
        return NightlyPartition(self.staging_bucket, self.dbname, self.day)


class StagedDay(StageContract):
    """One adds-changes day's pages file in staging, verified against the day's md5sums.txt."""

    day: str
    pages_uri: str
    size: int
    md5: str
    max_revision_id: int | None  # maxrevid.txt


class StagedDays(StageContract):
    """The days of a nightly run in staging, in the order they are applied."""

    days: list[StagedDay]


class NightlyOutput(StageContract):
    """apply_changes' committed state after the run's days, and what partners get of it.

    ``change_shards``: the ``changes/`` Parquet files (records created or updated, with ``event``);
    ``deletion_shards``: tombstones of a re-base written like them (``event.type: delete``).
    """

    state_uri: str
    stats: dict[str, Any]
    change_shards: list[str]
    deletion_shards: list[str] = []
