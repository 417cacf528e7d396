"""One DAG per edition from the validated config: ``build_edition_dag(edition, config)``.

    resolve_run -> wait_for_dump -> stage_dump -> parse_articles -> validate -> publish_gate
                -> deliver[partner] -> notify[partner]

Each stage's tasks come from its module in ``wikidrop_airflow.stages``; this module only orders
them and sets what every task shares (owner, retries, the run form). Stages hand each other the
typed contracts of ``wikidrop.contracts`` (as XCom dicts).
"""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow.sdk import DAG

    from wikidrop.config import EditionConfig, WikidropConfig

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
        default_args={
            "owner": settings.owner,
            "retries": settings.retries,
            "retry_delay": timedelta(minutes=5),
            "retry_exponential_backoff": True,
        },
    ) as dag:
        run_context = add_resolve_run(edition, settings)
        staged = add_dump_stages(edition, settings, run_context)
        parsed = add_parse_stage(edition, settings, run_context, staged)
        validation = add_validation(edition, settings, run_context, parsed)
        approved = add_publish_gate(run_context, validation)
        add_delivery(edition, settings, partners, run_context, staged, parsed, approved)
    return dag


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
