"""The nightly DAG's own stages: resolve_day -> skip_if_applied -> wait_for_day -> stage_day -> apply_changes.

``resolve_day`` fixes the day and plans the night from what staging holds (``wikidrop.nightly``):
the base state, the days to apply (the day itself, or every day since a new full dump when the
night re-bases on it), or nothing when the day is applied already. A day whose predecessor is not
applied fails here, without retries, with the days missing: the chain stops visibly, it never skips.
``skip_if_applied`` then ends an applied day's run as a no-op (every later task skipped).
``wait_for_day`` is the deferrable ``IncrDaySensor`` on the days' status.txt; ``stage_day`` copies
each day's pages file into ``nightly/<day>/incr/`` verified against its md5sums.txt;
``apply_changes`` runs ``beam_jobs.apply_changes`` on the local runner as a child of the task, reads
back the committed state and, after a re-base, writes the tombstones. Contracts: NightContext,
StagedDays, NightlyOutput (``wikidrop.contracts``).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import XComArg

    from wikidrop.config import EditionConfig, Settings
    from wikidrop.contracts import NightContext

log = logging.getLogger(__name__)

_DAY = "%Y%m%d"


def add_resolve_day(edition: EditionConfig, settings: Settings) -> XComArg:
    """Create ``resolve_day``; return its NightContext XComArg."""
    from airflow.sdk import task

    @task(task_id="resolve_day", retries=0)
    def resolve_day() -> dict[str, Any]:
        """Fix the night's day, base state and days to apply from staging, before anything is fetched."""
        from airflow.sdk import get_current_context
        from airflow.sdk.exceptions import AirflowFailException

        from wikidrop.nightly import NightOrderError

        context = get_current_context()
        dag_run = context["dag_run"]
        try:
            night = build_night_context(
                edition=edition,
                settings=settings,
                params=context["params"],
                run_id=dag_run.run_id,
                scheduled=getattr(dag_run.run_type, "value", dag_run.run_type) in ("scheduled", "backfill"),
                logical_date=context.get("logical_date"),
            )
        except NightOrderError as exc:  # the same state would give the same answer: no retries
            raise AirflowFailException(str(exc)) from None
        return night.to_xcom()

    return resolve_day()


def scheduled_day(logical_date: Any, lag_days: int) -> str:
    """The day a scheduled (or backfill) run applies: ``lag_days`` before its tick."""
    from datetime import timedelta

    return (logical_date - timedelta(days=lag_days)).strftime(_DAY)


def build_night_context(
    *,
    edition: EditionConfig,
    settings: Settings,
    params: dict[str, Any],
    run_id: str,
    scheduled: bool,
    logical_date: Any,
    client: Any = None,
) -> NightContext:
    """NightContext from the validated form (or the tick), planned against staging."""
    from wikidrop.contracts import NightContext
    from wikidrop.nightly import next_day, plan_night
    from wikidrop_airflow.stages.resolve_run import run_facts

    assert edition.nightly is not None
    client = client or _staging_client(settings)
    bucket = settings.staging_bucket
    requested = params.get("day") or "next"
    if scheduled and logical_date is not None and requested == "next":
        day = scheduled_day(logical_date, edition.nightly.lag_days)
    elif requested == "next":
        day = next_day(client, bucket, edition.dbname)
    else:
        day = requested
    plan = plan_night(client, bucket, edition.dbname, day, edition.nightly.max_days_per_run)
    log.info("%s night %s: %s", edition.dbname, day, plan.reason)
    return NightContext(
        **run_facts(edition, settings, params, run_id),
        day=day,
        applied=plan.applied,
        base_uri=plan.base.folder,
        base_dump_date=plan.base.state.dump_date,
        base_days=list(plan.base.state.days),
        base_max_revision_id=plan.base.state.max_revision_id,
        days=list(plan.days),
        rebased_from=plan.rebased_from.folder if plan.rebased_from else None,
    )


def add_skip_if_applied(night: XComArg) -> XComArg:
    """Create ``skip_if_applied``: an applied day's run ends here, every later task skipped."""
    from airflow.sdk import task

    @task.short_circuit(task_id="skip_if_applied", ignore_downstream_trigger_rules=True)
    def skip_if_applied(night: dict[str, Any]) -> bool:
        """Go on unless the day is applied already (then this run is a no-op)."""
        from wikidrop.contracts import NightContext

        context = NightContext.from_xcom(night)
        if context.applied:
            log.info(
                "%s %s is already applied (state %s): nothing to do",
                context.dbname,
                context.day,
                context.base_uri,
            )
        return not context.applied

    return skip_if_applied(night)


def _from_night(night: XComArg, expression: str) -> str:
    """Jinja over the NightContext of ``resolve_day``, for the sensor's templated fields."""
    return f"{{{{ ti.xcom_pull(task_ids='{night.operator.task_id}'){expression} }}}}"


def add_day_stages(edition: EditionConfig, settings: Settings, night: XComArg, gate: XComArg) -> XComArg:
    """Create wait_for_day -> stage_day; return stage_day's StagedDays XComArg."""
    from datetime import timedelta

    from airflow.sdk import task

    from wikidrop_airflow.sensors.dumpstatus import IncrDaySensor

    assert edition.nightly is not None
    wait_for_day = IncrDaySensor(
        task_id="wait_for_day",
        mirror=_from_night(night, "['mirror']"),
        dbname=_from_night(night, "['dbname']"),
        days=_from_night(night, "['days'] | join(',')"),
        poke_interval=min(settings.sensor.poke_interval_seconds, 3600),
        timeout=int(timedelta(hours=edition.nightly.wait_hours).total_seconds()),
        doc_md="Waits (in the triggerer) until status.txt of every day of the night says done.",
    )

    @task(task_id="stage_day")
    def stage_day(night: dict[str, Any]) -> dict[str, Any]:
        """Stream each day's pages file into staging, verified against its md5sums.txt."""
        from wikidrop.contracts import NightContext, StagedDays
        from wikidrop.dumps.staging import stage_incr_day
        from wikidrop.layout import NightlyPartition

        context = NightContext.from_xcom(night)
        client = _staging_client(settings)
        staged = [
            stage_incr_day(
                context.mirror,
                context.dbname,
                day,
                NightlyPartition(context.staging_bucket, context.dbname, day),
                client,
            )
            for day in context.days
        ]
        return StagedDays(days=staged).to_xcom()

    staged = stage_day(night)
    gate >> wait_for_day >> staged
    return staged


def add_apply_changes(settings: Settings, night: XComArg, staged: XComArg) -> XComArg:
    """Create ``apply_changes``; return its NightlyOutput XComArg."""
    from airflow.sdk import task

    @task(task_id="apply_changes", pool=settings.beam.pool)
    def apply_changes(night: dict[str, Any], staged: dict[str, Any]) -> dict[str, Any]:
        """Move the base state forward by the night's days (Beam, local runner, child process)."""
        from wikidrop.contracts import NightContext, StagedDays

        context, days = NightContext.from_xcom(night), StagedDays.from_xcom(staged)
        if [d.day for d in days.days] != context.days:
            raise RuntimeError(f"staged days {[d.day for d in days.days]} are not the night's {context.days}")
        return run_apply_changes(settings, context, days).to_xcom()

    return apply_changes(night, staged)


def run_apply_changes(settings: Settings, context: NightContext, days: Any) -> Any:
    """Run the job, then read the committed state it wrote and (after a re-base) write tombstones."""
    import re

    from wikidrop.contracts import NightlyOutput
    from wikidrop.gcs import committed_output_uri, list_uris, read_json_uri
    from wikidrop.layout import ParseOutput
    from wikidrop.nightly import StateRef, load_state_ref, write_tombstones
    from wikidrop_airflow.hooks.gcs import WikidropGCSHook
    from wikidrop_airflow.local_beam import run_local_beam_job

    hook = WikidropGCSHook(settings.staging_conn_id, "staging bucket")
    argv = ["--base", context.base_uri]
    for day in days.days:
        argv += ["--changes", day.pages_uri]
    argv += ["--output", context.partition.state_uri, "--runner", "DirectRunner"]
    argv += [
        "--direct_running_mode",
        "multi_threading",
        "--direct_num_workers",
        str(settings.beam.direct_num_workers),
    ]
    run_local_beam_job("beam_jobs.apply_changes", argv, gcs_endpoint=hook.emulator_endpoint())
    client = hook.get_client()
    folder = committed_output_uri(client, context.partition.state_uri)
    if folder is None:
        raise RuntimeError(f"apply_changes committed no state under {context.partition.state_uri}/")
    output = ParseOutput(folder)
    stats = read_json_uri(client, output.stats_uri)
    if list(stats["days"]) != context.days:
        raise RuntimeError(f"{output.stats_uri}: days {stats['days']}, the night applies {context.days}")
    deletions: list[str] = []
    if context.rebased_from is not None:
        previous = load_state_ref(client, context.rebased_from)
        base = StateRef(context.base_uri, load_state_ref(client, context.base_uri).state)
        deletions, _ = write_tombstones(client, previous, base, context.partition)
    return NightlyOutput(
        state_uri=folder,
        stats=stats,
        change_shards=list_uris(client, output.changes_uri, re.compile(r"\.parquet$")),
        deletion_shards=deletions,
    )


def _staging_client(settings: Settings) -> Any:
    from wikidrop_airflow.hooks.gcs import WikidropGCSHook

    return WikidropGCSHook(settings.staging_conn_id, "staging bucket").get_client()
