"""The one source of truth for editions and partners: ``config/wikidrop.yaml``, validated strictly.

Unknown keys are errors (a misspelt key must not silently become a default), and anything that
becomes a DAG id, a bucket name or an object path is checked against a pattern. Errors name the
file and the key path, e.g. ``config/wikidrop.yaml: editions.1.dbname: String should match ...``.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from wikidrop.delivery.formats import FORMAT_NAMES
from wikidrop.record_fields import unknown_field

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG_PATH = PROJECT_ROOT / "config" / "wikidrop.yaml"
CONFIG_ENV_VAR = "WIKIDROP_CONFIG"

DbName = Annotated[
    str, Field(pattern=r"^[a-z][a-z0-9_]{1,30}wiki$", description="Wikimedia dbname, e.g. enwiki")
]
BucketName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$")]
ObjectPrefix = Annotated[str, Field(pattern=r"^([A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*)?$")]
Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")]
ConnId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,250}$")]
LanguageCode = Annotated[str, Field(pattern=r"^[a-z]{2,3}(-[a-z0-9]{2,8})*$")]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BeamSettings(StrictModel):
    """Where the parse job runs: in the task process on Beam's local runner, or on Dataflow."""

    runner: Literal["local", "dataflow"] = "local"
    direct_num_workers: int = Field(2, ge=1, le=64)
    pool: Identifier = "beam_jobs"
    pool_slots: int = Field(1, ge=1, le=64, description="Airflow pool size created by `make up`/demo")
    dataflow_project: str | None = None
    dataflow_region: str | None = None
    dataflow_temp_location: str | None = Field(None, pattern=r"^gs://")
    dataflow_extra_options: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _dataflow_needs_project(self) -> BeamSettings:
        if self.runner == "dataflow" and not (self.dataflow_project and self.dataflow_region):
            raise ValueError("runner 'dataflow' needs dataflow_project and dataflow_region")
        return self


class SensorSettings(StrictModel):
    poke_interval_seconds: int = Field(600, ge=1)
    timeout_hours: float = Field(72, gt=0)


class Settings(StrictModel):
    """Deployment-wide settings (buckets, mirror, runners); per-edition facts live on editions."""

    mirror: str = Field("https://dumps.wikimedia.org", description="base URL, gs:// URI or local directory")
    staging_bucket: BucketName = "wikidrop-staging"
    reports_bucket: BucketName = "wikidrop-reports"
    staging_conn_id: ConnId = "wikidrop_gcs"
    owner: str = "data-engineering"
    retries: int = Field(2, ge=0, le=10)
    beam: BeamSettings = Field(default_factory=BeamSettings)
    sensor: SensorSettings = Field(default_factory=SensorSettings)


class ValidationThresholds(StrictModel):
    """Per-edition Great Expectations suite parameters (one suite, thresholds from here)."""

    max_dead_letter_ratio: float = Field(0.01, ge=0, le=1)
    max_row_drop_vs_previous: float = Field(0.2, ge=0, le=1)
    max_row_deviation_vs_dump: float = Field(0.05, ge=0, le=1)
    max_markup_residue_per_10k: float = Field(1.0, ge=0)
    min_script_share: float = Field(0.5, ge=0, le=1)
    stub_max_wikitext_bytes: int = Field(
        200,
        ge=0,
        description="pages with at most this much wikitext of their own prose (outside tables, templates, "
        "file and category links: wikidrop.quality.measures.prose_wikitext_bytes) may have empty text",
    )
    min_nonstub_text_share: float = Field(
        0.999, ge=0, le=1, description="share of non-stub articles that must have non-empty text"
    )


class NightlyThresholds(StrictModel):
    """Suite parameters of the nightly gate (``expectations/nightly.json``)."""

    max_dead_letter_ratio: float = Field(
        0.01, ge=0, le=1, description="dead-lettered pages of the day / pages the day changed"
    )
    max_change_ratio_vs_recent: float = Field(
        10.0, gt=1, description="the day's change records at most this many times the median of recent nights"
    )
    min_change_ratio_vs_recent: float = Field(
        0.0, ge=0, lt=1, description="and at least this share of it (0: an empty day is fine)"
    )
    recent_nights: int = Field(
        7, ge=1, le=60, description="validated nights the change volume is compared with"
    )


def _day_string(value: str | None) -> str | None:
    """A real calendar day (the pattern alone lets 20261341 through)."""
    import datetime as dt

    if value is not None:
        try:
            dt.datetime.strptime(value, "%Y%m%d")
        except ValueError:
            raise ValueError(f"{value!r} is not a YYYYMMDD date") from None
    return value


class NightlyConfig(StrictModel):
    """An edition's nightly DAG ``wikidrop_<dbname>_nightly``: one adds-changes day per run, in order."""

    schedule: str | None = Field(
        "0 5 * * *", description="cron (UTC); a tick applies the day lag_days before it; null: manual only"
    )
    lag_days: int = Field(
        1, ge=0, le=7, description="a tick on day D applies the adds-changes day D - lag_days"
    )
    first_day: Annotated[str, Field(pattern=r"^\d{8}$")] | None = Field(
        None,
        description="first adds-changes day the schedule covers (its start date); earlier days are the "
        "full dump's business. Required with a schedule",
    )
    catchup: bool = Field(True, description="ticks missed while paused or down run afterwards, oldest first")
    max_days_per_run: int = Field(
        7,
        ge=1,
        le=31,
        description="days one run may apply: its own day, plus the days after a new full dump that a "
        "re-base applies again on top of it; more is an error naming the days",
    )
    wait_hours: float = Field(24, gt=0, description="how long to wait for the day's status.txt to say done")
    thresholds: NightlyThresholds = Field(default_factory=NightlyThresholds)

    @field_validator("first_day")
    @classmethod
    def _first_day_is_a_date(cls, first_day: str | None) -> str | None:
        return _day_string(first_day)

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, schedule: str | None) -> str | None:
        return _checked_cron(schedule)

    @model_validator(mode="after")
    def _schedule_needs_first_day(self) -> NightlyConfig:
        if self.schedule is not None and self.first_day is None:
            raise ValueError("a nightly schedule needs first_day (YYYYMMDD): the first day it applies")
        return self


def _checked_cron(schedule: str | None) -> str | None:
    from croniter import croniter  # Airflow's own cron library; imported only when validating

    if schedule is not None and not croniter.is_valid(schedule):
        raise ValueError(f"not a valid cron expression: {schedule!r} (e.g. '0 6 2,21 * *' or '@daily')")
    return schedule


class EditionConfig(StrictModel):
    """One Wikipedia language edition: one DAG ``wikidrop_<dbname>``, and ``wikidrop_<dbname>_nightly``
    when it has a ``nightly`` block."""

    dbname: DbName
    language: LanguageCode
    scripts: list[str] = Field(
        min_length=1, description="Unicode scripts of the language, e.g. [Latin] or [Han, Hiragana, Katakana]"
    )
    schedule: str | None = Field(None, description="cron expression, or null for manual runs only")
    namespaces: list[int] = Field(default_factory=lambda: [0], min_length=1)
    thresholds: ValidationThresholds = Field(default_factory=ValidationThresholds)
    page_props: bool = Field(
        True,
        description="stage and read the dump's page_props table (job pagepropstable): Wikidata ids, "
        "disambiguation flags, short descriptions, images; false: those fields stay null and no "
        "partner may filter on them",
    )
    description: str = ""
    nightly: NightlyConfig | None = Field(
        None, description="opt in to nightly adds-changes runs (DAG wikidrop_<dbname>_nightly)"
    )

    @field_validator("schedule")
    @classmethod
    def _valid_cron(cls, schedule: str | None) -> str | None:
        return _checked_cron(schedule)

    @property
    def dag_id(self) -> str:
        return f"wikidrop_{self.dbname}"

    @property
    def nightly_dag_id(self) -> str:
        return f"wikidrop_{self.dbname}_nightly"


class FilterConfig(StrictModel):
    namespaces: list[int] | None = None
    min_text_length: int = Field(0, ge=0)
    exclude_disambiguation: bool = False


class WebhookConfig(StrictModel):
    url: HttpUrl
    secret_conn_id: ConnId = Field(description="Airflow connection whose password is the signing secret")
    max_attempts: int = Field(5, ge=1, le=20)


class PubSubConfig(StrictModel):
    project: Annotated[str, Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")]
    topic: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$")]


class EmailConfig(StrictModel):
    to: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1)
    smtp_conn_id: ConnId = "smtp_default"


class NoticeConfig(StrictModel):
    webhook: WebhookConfig | None = None
    pubsub: PubSubConfig | None = None
    email: EmailConfig | None = None


# What a partner may get each night from an edition with nightly runs (wikidrop.layout.DROP_KINDS)
NIGHTLY_DROPS = {"batches": "batch", "snapshot": "snapshot"}


class PartnerConfig(StrictModel):
    """A customer: their own bucket, the editions they subscribe to, formats, filters, notices."""

    id: Identifier
    name: str = ""
    editions: list[DbName] = Field(min_length=1)
    bucket: BucketName
    prefix: ObjectPrefix = ""
    gcs_conn_id: ConnId = Field(description="Airflow connection holding this partner's bucket credentials")
    formats: list[Literal[FORMAT_NAMES]] = Field(min_length=1)
    fields: list[Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]*(\.[a-z_][a-z0-9_]*)*$")]] | None = Field(
        None,
        description="record fields to deliver, dotted for sub-fields (version.sha1); null = all. "
        "identifier always comes; plaintext carries the selected ones of identifier, name, url, text",
    )
    filters: FilterConfig = Field(default_factory=FilterConfig)
    chunk_records: int = Field(10_000, ge=1)
    notices: NoticeConfig = Field(default_factory=NoticeConfig)
    nightly: list[Literal["batches", "snapshot"]] = Field(
        default_factory=lambda: ["batches"],
        description="what the partner gets each night from its editions that run nightly: batches "
        "(that day's changes, records with event, under batches/) and/or snapshot (a full snapshot "
        "built from the day's state, under snapshots/); [] = only the full dumps' snapshots",
    )

    @field_validator("nightly")
    @classmethod
    def _nightly_once_each(cls, nightly: list[str]) -> list[str]:
        if len(set(nightly)) < len(nightly):
            raise ValueError(f"{nightly}: name each of batches and snapshot at most once")
        return nightly

    def takes_nightly(self, kind_name: str) -> bool:
        """Whether the partner gets this kind of drop (``batch``, ``snapshot``) each night."""
        return any(NIGHTLY_DROPS[choice] == kind_name for choice in self.nightly)

    @field_validator("fields")
    @classmethod
    def _fields_exist(cls, fields: list[str] | None, info: ValidationInfo) -> list[str] | None:
        """Checked against the record schema now, not inside deliver after a whole parse."""
        if fields is None:
            return None
        problems = [problem for path in fields if (problem := unknown_field(path))]
        if "plaintext" in info.data.get("formats", ()) and "text" not in fields:
            problems.append(
                "plaintext carries the selected ones of identifier, name, url and text: "
                "add 'text' to fields or drop plaintext from formats"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return fields

    @field_validator("prefix")
    @classmethod
    def _prefix_stays_inside(cls, prefix: str) -> str:
        if any(segment in {".", ".."} for segment in prefix.split("/")):
            raise ValueError(f"{prefix!r} has a '.' or '..' segment: it must stay inside the partner's area")
        return prefix


class WikidropConfig(StrictModel):
    settings: Settings = Field(default_factory=Settings)
    editions: list[EditionConfig] = Field(min_length=1)
    partners: list[PartnerConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _cross_references(self) -> WikidropConfig:
        dbnames = [e.dbname for e in self.editions]
        _no_duplicates("editions.*.dbname", dbnames)
        _no_duplicates("partners.*.id", [p.id for p in self.partners])
        for i, p in enumerate(self.partners):
            unknown = sorted(set(p.editions) - set(dbnames))
            if unknown:
                raise ValueError(
                    f"partners.{i}.editions: partner {p.id!r} subscribes to unknown editions {unknown}"
                )
            without_props = [db for db in p.editions if not self.editions_by_dbname[db].page_props]
            if p.filters.exclude_disambiguation and without_props:
                raise ValueError(
                    f"partners.{i}.filters.exclude_disambiguation: partner {p.id!r} filters out "
                    f"disambiguation pages, but editions {without_props} have page_props: false, so no "
                    "record says whether it is one; set page_props: true on them or drop the filter"
                )
        buckets = [(p.bucket, p.prefix) for p in self.partners]
        _no_duplicates("partners.*.bucket/prefix pairs", buckets)
        return self

    @cached_property
    def editions_by_dbname(self) -> dict[str, EditionConfig]:
        return {e.dbname: e for e in self.editions}

    def edition(self, dbname: str) -> EditionConfig:
        try:
            return self.editions_by_dbname[dbname]
        except KeyError:
            raise KeyError(f"no edition {dbname!r} in the config") from None

    def partners_for(self, dbname: str) -> list[PartnerConfig]:
        """Partners subscribed to an edition, in config order (stable mapped-task order)."""
        return [p for p in self.partners if dbname in p.editions]


def _no_duplicates(what: str, values: list) -> None:
    dups = sorted({str(v) for v in values if values.count(v) > 1})
    if dups:
        raise ValueError(f"{what}: duplicate values {dups}")


class ConfigError(ValueError):
    """The config file is missing, not YAML, or fails validation; the message names file and key."""


def config_path() -> Path:
    return Path(os.environ.get(CONFIG_ENV_VAR, DEFAULT_CONFIG_PATH))


def load_config(path: str | os.PathLike[str] | None = None) -> WikidropConfig:
    """Load and validate the config; ``$WIKIDROP_CONFIG`` or ``config/wikidrop.yaml`` by default."""
    path = Path(path) if path is not None else config_path()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read config: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    try:
        return WikidropConfig.model_validate(raw if raw is not None else {})
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            key = ".".join(str(part) for part in err["loc"])
            # Cross-field errors (root level) carry their key path at the start of the message.
            message = err["msg"].removeprefix("Value error, ")
            lines.append(f"{path}: {key}: {message}" if key else f"{path}: {message}")
        raise ConfigError("\n".join(lines)) from None
