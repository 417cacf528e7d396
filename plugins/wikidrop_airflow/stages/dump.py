"""wait_for_dump -> stage_dump: the edition's dump, verified, in the staging bucket.

``wait_for_dump`` is the deferrable ``DumpStatusSensor`` (poke interval and timeout from
``settings.sensor``); its templated ``mirror``/``dbname``/``dump_date`` are pulled from the
RunContext of ``resolve_run``. ``stage_dump`` streams the files into
``gs://<staging>/<db>/<date>/dump/`` with ``wikidrop.dumps.staging.stage_dump`` and returns the
StagedDump contract (docs/architecture.md). The GCS client comes from the connection
``settings.staging_conn_id`` (``WikidropGCSHook``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import XComArg

    from wikidrop.config import EditionConfig, Settings


def _from_run_context(run_context: XComArg, key: str) -> str:
    """Jinja pulling one RunContext key, for the sensor's templated fields."""
    return f"{{{{ ti.xcom_pull(task_ids='{run_context.operator.task_id}')['{key}'] }}}}"


def add_dump_stages(edition: EditionConfig, settings: Settings, run_context: XComArg) -> XComArg:
    """Create wait_for_dump -> stage_dump; return stage_dump's StagedDump XComArg."""
    from airflow.sdk import task

    from wikidrop_airflow.sensors.dumpstatus import DumpStatusSensor

    wait_for_dump = DumpStatusSensor(
        task_id="wait_for_dump",
        mirror=_from_run_context(run_context, "mirror"),
        dbname=_from_run_context(run_context, "dbname"),
        dump_date=_from_run_context(run_context, "dump_date"),
        poke_interval=settings.sensor.poke_interval_seconds,
        timeout=settings.sensor.timeout_hours * 3600,
        doc_md="Waits (in the triggerer) until dumpstatus.json says the multistream and namespaces jobs are done.",
    )

    @task(task_id="stage_dump")
    def stage_dump(run_context: dict[str, Any]) -> dict[str, Any]:
        """Stream the dump files into staging, verified against dumpstatus.json (skips verified ones)."""
        from wikidrop.contracts import RunContext
        from wikidrop.dumps.dumpstatus import OPTIONAL_JOBS
        from wikidrop.dumps.staging import stage_dump as stage
        from wikidrop_airflow.hooks.gcs import WikidropGCSHook

        context = RunContext.from_xcom(run_context)
        client = WikidropGCSHook(settings.staging_conn_id, "staging bucket").get_client()
        staged = stage(
            context.mirror,
            context.dbname,
            context.dump_date,
            context.partition,
            client,
            optional_jobs=OPTIONAL_JOBS if edition.page_props else (),
        )
        return staged.to_xcom()

    staged = stage_dump(run_context)
    run_context >> wait_for_dump >> staged
    return staged
