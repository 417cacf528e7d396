"""One DAG per edition from the validated config: ``build_edition_dag(edition, config)``.

    resolve_run -> wait_for_dump -> stage_dump -> parse_articles -> validate -> publish_gate
                -> deliver[partner] -> notify[partner]

Each stage's tasks come from its module in ``wikidrop_airflow.stages``; this module only orders
them and sets what every task shares (owner, retries, the run form). Stages hand each other the
typed contracts of ``wikidrop.contracts`` (as XCom dicts).
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import DAG

    from wikidrop.config import EditionConfig, Settings, WikidropConfig

DOCS_URL = "docs/architecture.md"


def build_edition_dag(edition: EditionConfig, config: WikidropConfig) -> DAG:
    """The DAG ``wikidrop_<dbname>`` of one edition; cheap to call (no I/O, no heavy imports)."""
    from airflow.sdk import DAG, CronTriggerTimetable

    from wikidrop_airflow.params import build_params
    from wikidrop_airflow.stages.deliver import add_delivery
    from wikidrop_airflow.stages.dump import add_dump_stages
    from wikidrop_airflow.stages.parse import add_parse_stage
    from wikidrop_airflow.stages.publish_gate import add_publish_gate
    from wikidrop_airflow.stages.resolve_run import add_resolve_run
    from wikidrop_airflow.stages.validate import add_validation

    settings = config.settings
    partners = config.partners_for(edition.dbname)
    with DAG(
        dag_id=edition.dag_id,
        dag_display_name=f"wikidrop: {edition.description or edition.dbname} ({edition.dbname})",
        description=f"{edition.dbname} dump -> parsed, validated partner drops",
        doc_md=edition_doc_md(edition, config),
        # Trigger timetable: the logical date is the tick itself, which resolve_run maps to a dump.
        schedule=None if edition.schedule is None else CronTriggerTimetable(edition.schedule, timezone="UTC"),
        start_date=None if edition.schedule is None else _schedule_start(),
        catchup=False,
        max_active_runs=1,
        tags=["wikidrop", edition.language, edition.dbname],
        params=build_params(settings, partners),
        default_args=task_defaults(settings),
    ) as dag:
        run_context = add_resolve_run(edition, settings)
        staged = add_dump_stages(edition, settings, run_context)
        parsed = add_parse_stage(edition, settings, run_context, staged)
        validation = add_validation(edition, settings, run_context, parsed)
        approved = add_publish_gate(run_context, validation)
        add_delivery(edition, settings, partners, run_context, staged, parsed, approved)
    return dag


def build_nightly_dag(edition: EditionConfig, config: WikidropConfig) -> DAG:
    """The DAG ``wikidrop_<dbname>_nightly`` of an edition with a ``nightly`` block: one adds-changes
    day per run, strictly in order (``wikidrop_airflow.stages.nightly``).

        resolve_day -> skip_if_applied -> wait_for_day -> stage_day -> apply_changes -> validate
                    -> publish_gate -> deliver[partner] -> notify[partner]

    One run at a time (``max_active_runs=1``) and each run checks the order itself against what
    staging holds, so a backfill or a Celery deployment cannot apply two days at once or out of order.
    """
    from datetime import datetime

    from airflow.sdk import DAG, CronTriggerTimetable

    from wikidrop_airflow.params import build_nightly_params
    from wikidrop_airflow.stages.deliver_nightly import add_nightly_delivery
    from wikidrop_airflow.stages.nightly import (
        add_apply_changes,
        add_day_stages,
        add_resolve_day,
        add_skip_if_applied,
    )
    from wikidrop_airflow.stages.publish_gate import add_publish_gate
    from wikidrop_airflow.stages.validate_nightly import add_nightly_validation

    nightly = edition.nightly
    if nightly is None:
        raise ValueError(f"{edition.dbname} has no nightly block")
    settings = config.settings
    partners = config.partners_for(edition.dbname)
    start = None
    if nightly.schedule is not None and nightly.first_day is not None:
        # The first tick that applies first_day: lag_days after it.
        start = datetime.strptime(nightly.first_day, "%Y%m%d").replace(tzinfo=UTC) + timedelta(
            days=nightly.lag_days
        )
    with DAG(
        dag_id=edition.nightly_dag_id,
        dag_display_name=f"wikidrop nightly: {edition.description or edition.dbname} ({edition.dbname})",
        description=f"{edition.dbname} adds-changes day -> state moved forward, validated partner batches",
        doc_md=nightly_doc_md(edition, config),
        schedule=None if nightly.schedule is None else CronTriggerTimetable(nightly.schedule, timezone="UTC"),
        start_date=start,
        catchup=nightly.catchup and start is not None,
        max_active_runs=1,
        tags=["wikidrop", "nightly", edition.language, edition.dbname],
        params=build_nightly_params(settings, partners),
        default_args=task_defaults(settings),
    ) as dag:
        night = add_resolve_day(edition, settings)
        go_on = add_skip_if_applied(night)
        staged = add_day_stages(edition, settings, night, go_on)
        output = add_apply_changes(settings, night, staged)
        validation = add_nightly_validation(edition, settings, night, staged, output)
        approved = add_publish_gate(night, validation, nightly=True)
        add_nightly_delivery(edition, settings, partners, night, staged, output, approved)
    return dag


def nightly_doc_md(edition: EditionConfig, config: WikidropConfig) -> str:
    """The nightly DAG's documentation panel: what a night does, in what order, what stops it."""
    from wikidrop_airflow.params import default_mirror

    nightly = edition.nightly
    assert nightly is not None
    settings = config.settings
    partners = ", ".join(f"`{p.id}`" for p in config.partners_for(edition.dbname)) or "none subscribed"
    schedule = (
        f"`{nightly.schedule}` UTC from {nightly.first_day}; a tick on day D applies day D - {nightly.lag_days}"
        if nightly.schedule
        else "manual only"
    )
    return f"""\
# {edition.description or edition.dbname} (`{edition.dbname}`): nightly adds-changes

Moves the edition's state forward by one Wikimedia adds-changes day per run and delivers each
partner that day's changes as a batch (`batches/<day>/`): wait for the day's `status.txt` on the
mirror ({default_mirror(settings).rstrip("/")}/other/incr/{edition.dbname}/), stage its pages file
verified against its md5sums.txt in `gs://{settings.staging_bucket}/{edition.dbname}/nightly/<day>/`,
apply it with Beam to the previous state, validate the changes and the new state, deliver, notify.

**Order.** Days apply strictly in order and exactly once. A day whose predecessor is not applied
fails in `resolve_day` naming the missing days (run them first: trigger with that day, or let the
backfill run them in order); an applied day is a no-op (`skip_if_applied`). When a full dump newer
than the state's has been parsed, the night re-bases on it and re-applies the days since (at most
{nightly.max_days_per_run}); pages gone from the full dump reach partners as tombstones.

**Schedule:** {schedule}. **Trigger** with a day (`YYYYMMDD` or `next`), another mirror, a subset of
partners ({partners}) or a dry run.
"""


def edition_doc_md(edition: EditionConfig, config: WikidropConfig) -> str:
    """The DAG's documentation panel: what it does, for whom, where its data goes."""
    from wikidrop_airflow.params import default_mirror

    settings = config.settings
    partners = config.partners_for(edition.dbname)
    partner_lines = (
        "\n".join(
            f"- **{p.name or p.id}** (`{p.id}`): `gs://{p.bucket}/{p.prefix}`, formats {', '.join(p.formats)}"
            for p in partners
        )
        or "- none subscribed: runs stop after validation"
    )
    schedule = (
        f"`{edition.schedule}` (newest dump on or before each tick)" if edition.schedule else "manual only"
    )
    return f"""\
# {edition.description or edition.dbname} (`{edition.dbname}`, language `{edition.language}`)

Turns the Wikimedia dump of **{edition.dbname}** into validated partner drops:
wait for the dump on the mirror, stage it checksum-verified in `gs://{settings.staging_bucket}/{edition.dbname}/<date>/dump/`,
parse it with Beam (runner `{settings.beam.runner}`, pool `{settings.beam.pool}`) into
`.../parsed/`, validate it with Great Expectations (Data Docs in `gs://{settings.reports_bucket}/{edition.dbname}/`),
then deliver to each partner and notify them. Namespaces: {", ".join(map(str, edition.namespaces))}.

**Schedule:** {schedule}. **Trigger with config** to pick a dump date (`YYYYMMDD` or `latest`),
another mirror, a subset of partners, or a dry run (stops after validation).

## Partners
{partner_lines}

## Links
- Dumps: {default_mirror(settings).rstrip("/")}/{edition.dbname}/
- Data quality reports of every run: Browse > Data quality reports (`/wikidrop-reports/`)
- Pipeline stages and contracts: `{DOCS_URL}` in the wikidrop repository
"""


def _schedule_start():
    """A fixed past start date; with catchup off, unpausing runs only the most recent tick."""
    from datetime import datetime

    return datetime(2025, 1, 1, tzinfo=UTC)


def task_defaults(settings: Settings) -> dict[str, Any]:
    """Every task's owner and retries (the same for an edition's dump DAG and its nightly DAG)."""
    return {
        "owner": settings.owner,
        "retries": settings.retries,
        "retry_delay": timedelta(minutes=5),
        "retry_exponential_backoff": True,
    }
