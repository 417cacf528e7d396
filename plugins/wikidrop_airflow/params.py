"""The run form of every edition DAG and its resolution into a RunContext (``resolve_run``).

The form is JSON-schema validated by Airflow before a run is created, so a bad dump date, mirror or
partner id never reaches a worker. ``resolve_run`` turns the validated form (or, for scheduled
runs, the logical date) into the RunContext every later stage reads (docs/architecture.md).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import Param, XComArg

    from wikidrop.config import EditionConfig, PartnerConfig, Settings

MIRROR_ENV_VAR = "WIKIDROP_MIRROR"
FORCE_DELIVERY_PARAM = "force_delivery"
DUMP_DATE_PATTERN = r"^(\d{8}|latest)$"
# Same mirror forms Settings.mirror accepts: a base URL, a gs:// URI or an absolute local directory.
MIRROR_PATTERN = r"^(https?://[^\s/]+(/\S*)?|gs://[a-z0-9][a-z0-9._-]+(/\S*)?|/\S*)$"


def default_mirror(settings: Settings) -> str:
    """``$WIKIDROP_MIRROR`` (set by the demo and `make up`) wins over the config's mirror."""
    return os.environ.get(MIRROR_ENV_VAR) or settings.mirror


def build_params(settings: Settings, partners: list[PartnerConfig]) -> dict[str, Param]:
    """The UI form: dump date, mirror override, partner subset, dry run, forced redelivery."""
    from airflow.sdk import Param

    partner_ids = [p.id for p in partners]
    # An empty enum is not valid JSON schema: an edition without partners accepts only [].
    partner_items = {"type": "string", "enum": partner_ids} if partner_ids else {"type": "string"}
    return {
        "dump_date": Param(
            "latest",
            type="string",
            pattern=DUMP_DATE_PATTERN,
            title="Dump date",
            description="YYYYMMDD of the Wikimedia dump to process, or 'latest' (newest dump whose "
            "jobs are done). Scheduled runs take the newest dump not after their logical date.",
        ),
        "mirror": Param(
            default_mirror(settings),
            type="string",
            pattern=MIRROR_PATTERN,
            title="Dump mirror",
            description="Base URL (https://dumps.wikimedia.org or a mirror), gs:// URI or local "
            "directory holding <dbname>/<YYYYMMDD>/dumpstatus.json.",
        ),
        "partners": Param(
            partner_ids,
            type="array",
            items=partner_items,
            uniqueItems=True,
            maxItems=len(partner_ids),
            # The trigger form renders an array with "examples" as a multi-select pick list.
            examples=partner_ids,
            values_display={p.id: f"{p.name or p.id} ({p.id})" for p in partners},
            title="Partners",
            description="Subset of the subscribed partners to deliver to (default: all of them).",
        ),
        "dry_run": Param(
            False,
            type="boolean",
            title="Dry run",
            description="Stage, parse and validate, but deliver nothing and send no notices.",
        ),
        FORCE_DELIVERY_PARAM: Param(
            False,
            type="boolean",
            title="Force redelivery",
            description="Rewrite partner snapshots already committed for this dump date (otherwise "
            "a rerun leaves them untouched and delivers only what is missing).",
        ),
    }


def add_resolve_run(edition: EditionConfig, settings: Settings) -> XComArg:
    """Create ``resolve_run``; return its RunContext XComArg."""
    from airflow.sdk import task

    @task(task_id="resolve_run")
    def resolve_run() -> dict[str, Any]:
        """Fix the run's dump date, mirror and partners before anything is fetched."""
        from airflow.sdk import get_current_context

        context = get_current_context()
        params = context["params"]
        dag_run = context["dag_run"]
        return build_run_context(
            edition=edition,
            settings=settings,
            params=params,
            run_id=dag_run.run_id,
            scheduled=getattr(dag_run.run_type, "value", dag_run.run_type) == "scheduled",
            logical_date=context.get("logical_date"),
        )

    return resolve_run()


def build_run_context(
    *,
    edition: EditionConfig,
    settings: Settings,
    params: dict[str, Any],
    run_id: str,
    scheduled: bool,
    logical_date: Any,
) -> dict[str, Any]:
    """RunContext from validated params, with 'latest' resolved against the mirror.

    A manual 'latest' is the newest dump whose jobs are done. A scheduled run takes the newest dump
    directory dated on or before its logical date, finished or not: ``wait_for_dump`` then waits for
    it, so a schedule tick never falls back to re-processing the previous dump.
    """
    from wikidrop.dumps.dumpstatus import list_dump_dates, mirror_url, resolve_latest
    from wikidrop.layout import StagingPartition

    mirror = (params.get("mirror") or default_mirror(settings)).rstrip("/")
    dump_date = params.get("dump_date") or "latest"
    if dump_date == "latest" and scheduled and logical_date is not None:
        not_after = logical_date.strftime("%Y%m%d")
        candidates = [d for d in list_dump_dates(mirror, edition.dbname) if d <= not_after]
        if not candidates:
            raise LookupError(
                f"{mirror_url(mirror, edition.dbname)}/: no dump dated on or before {not_after}"
            )
        dump_date = candidates[-1]
    elif dump_date == "latest":
        dump_date = resolve_latest(mirror, edition.dbname)
    partners = list(params.get("partners") or [])
    return {
        "dbname": edition.dbname,
        "language": edition.language,
        "dump_date": dump_date,
        "mirror": mirror,
        "partners": partners,
        "dry_run": bool(params.get("dry_run", False)),
        "run_id": run_id,
        "staging_uri": StagingPartition(settings.staging_bucket, edition.dbname, dump_date).uri,
    }
