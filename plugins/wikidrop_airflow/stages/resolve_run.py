"""resolve_run: the run form (or a schedule tick) -> the RunContext every later stage reads.

The dump date is fixed here, before anything is fetched: a manual 'latest' is the newest dump whose
jobs are done; a scheduled run takes the newest dump directory dated on or before its tick,
finished or not (``wait_for_dump`` then waits for it), so a tick never re-processes the previous
dump. Every run option (partners, dry run, forced redelivery) travels in the RunContext, so no
later task reads the form again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wikidrop_airflow.params import FORCE_DELIVERY_PARAM, default_mirror

if TYPE_CHECKING:
    from airflow.sdk import XComArg

    from wikidrop.config import EditionConfig, Settings
    from wikidrop.contracts import RunContext


def add_resolve_run(edition: EditionConfig, settings: Settings) -> XComArg:
    """Create ``resolve_run``; return its RunContext XComArg."""
    from airflow.sdk import task

    @task(task_id="resolve_run")
    def resolve_run() -> dict[str, Any]:
        """Fix the run's dump date, mirror, partners and options before anything is fetched."""
        from airflow.sdk import get_current_context

        context = get_current_context()
        dag_run = context["dag_run"]
        return build_run_context(
            edition=edition,
            settings=settings,
            params=context["params"],
            run_id=dag_run.run_id,
            scheduled=getattr(dag_run.run_type, "value", dag_run.run_type) == "scheduled",
            logical_date=context.get("logical_date"),
        ).to_xcom()

    return resolve_run()


def build_run_context(
    *,
    edition: EditionConfig,
    settings: Settings,
    params: dict[str, Any],
    run_id: str,
    scheduled: bool,
    logical_date: Any,
) -> RunContext:
    """RunContext from validated params, with 'latest' resolved against the mirror."""
    from wikidrop.contracts import RunContext
    from wikidrop.dumps.dumpstatus import list_dump_dates, mirror_url, resolve_latest

    facts = run_facts(edition, settings, params, run_id)
    mirror = facts["mirror"]
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
    return RunContext(**facts, dump_date=dump_date)


def run_facts(
    edition: EditionConfig, settings: Settings, params: dict[str, Any], run_id: str
) -> dict[str, Any]:
    """The ``RunFacts`` fields from the validated form, for the dump DAG's RunContext and the nightly
    DAG's NightContext alike."""
    return {
        "dbname": edition.dbname,
        "language": edition.language,
        "mirror": (params.get("mirror") or default_mirror(settings)).rstrip("/"),
        "partners": list(params.get("partners") or []),
        "dry_run": bool(params.get("dry_run", False)),
        "force_delivery": bool(params.get(FORCE_DELIVERY_PARAM, False)),
        "run_id": run_id,
        "staging_bucket": settings.staging_bucket,
    }
