"""validate (nightly): nothing of a night reaches a partner until its changes and its new state pass.

    validate.shards           (the night's changes/ Parquet files, to map over)
    validate.articles[shard]  (mapped: the articles suite on one changes/ file, as a snapshot's shards)
    validate.night            (the nightly suite: reconciliation, unique identifiers in the changes and
                               in the new state, revision ids above the base's, change volume against
                               recent nights, dead-letter ratio)
    validate.gate             (aggregates; Data Docs and the run's RunSummary, kind nightly, to the
                               reports bucket; summary.json to ``nightly/<day>/validation/``; raises on
                               a critical failure)

The night's summary.json with ``success: true`` is also what makes the day *applied*
(``wikidrop.nightly``): a night that fails here is run again, never built upon.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wikidrop.contracts import NightContext, NightlyOutput, ValidationSummary
from wikidrop_airflow.stages.validate import enforce_gate, staging_client, store_result

if TYPE_CHECKING:
    from airflow.sdk import XComArg

    from wikidrop.config import EditionConfig, Settings


def add_nightly_validation(
    edition: EditionConfig, settings: Settings, night: XComArg, staged: XComArg, output: XComArg
) -> XComArg:
    """Create the nightly validate task group; return the ValidationSummary XComArg of its gate."""
    from airflow.sdk import TaskGroup, task

    assert edition.nightly is not None
    thresholds = edition.nightly.thresholds

    with TaskGroup(
        group_id="validate", tooltip="Great Expectations: the night's changes, the new state, gate"
    ):

        @task(task_id="articles", map_index_template="{{ shard_name }}")
        def validate_changes(shard_uri: str, night: dict[str, Any], output: dict[str, Any]) -> dict:
            """Articles suite on one changes/ file; a small digest over XCom, the full result to staging."""
            from airflow.sdk import get_current_context

            from wikidrop.quality import validation

            get_current_context()["shard_name"] = validation.batch_name_of(shard_uri)
            context, state = NightContext.from_xcom(night), NightlyOutput.from_xcom(output)
            client = staging_client(settings)
            site = validation.load_site(client, state.state_uri)
            outcome, result = validation.validate_article_shard(client, shard_uri, edition, site, context.day)
            return store_result(client, context.partition, outcome, result)

        @task(task_id="night")
        def validate_night(night: dict[str, Any], staged: dict[str, Any], output: dict[str, Any]) -> dict:
            """The nightly suite on the night's stats in context."""
            from wikidrop.contracts import StagedDays
            from wikidrop.quality import validation
            from wikidrop.quality.nightly_checks import night_row, recent_change_records, validate_night

            context, state = NightContext.from_xcom(night), NightlyOutput.from_xcom(output)
            days = StagedDays.from_xcom(staged).days
            client = staging_client(settings)
            maxrevids = [d.max_revision_id for d in days if d.max_revision_id is not None]
            row = night_row(
                client,
                stats=state.stats,
                state_folder=state.state_uri,
                change_shards=state.change_shards,
                base_max_revision_id=context.base_max_revision_id,
                days_max_revision_id=max(maxrevids) if maxrevids else None,
                recent=recent_change_records(
                    client, context.staging_bucket, context.dbname, context.day, thresholds.recent_nights
                ),
                tombstones=_tombstone_count(client, state),
            )
            site = validation.load_site(client, state.state_uri)
            outcome, result = validate_night(client, edition=edition, site=site, day=context.day, row=row)
            return store_result(client, context.partition, outcome, result)

        @task(task_id="gate", trigger_rule="none_failed")
        def gate(
            night: dict[str, Any], output: dict[str, Any], shards: list[dict] | None, checked: dict
        ) -> dict:
            """Aggregate, publish the report and the summary, then fail the run on a critical failure."""

            context = NightContext.from_xcom(night)
            summary = publish_night_summary(
                settings, context, NightlyOutput.from_xcom(output), [checked, *(shards or [])]
            )
            return enforce_gate(summary, f"{context.dbname} night {context.day}")

        @task(task_id="shards")
        def change_shards(output: dict[str, Any]) -> list[str]:
            """The changes/ files to map over (none on a day that changed no article)."""
            return list(NightlyOutput.from_xcom(output).change_shards)

        outcomes = validate_changes.partial(night=night, output=output).expand(
            shard_uri=change_shards(output)
        )
        return gate(night, output, outcomes, validate_night(night, staged, output))


def publish_night_summary(
    settings: Settings, context: NightContext, output: NightlyOutput, outcomes: list[dict]
) -> ValidationSummary:
    """Data Docs, drill-down and RunSummary (kind nightly) to the reports bucket, summary.json to staging."""
    import tempfile

    from wikidrop.gcs import read_json_uri, write_json_uri
    from wikidrop.layout import report_prefix
    from wikidrop.quality import validation
    from wikidrop.quality.gx import build_data_docs
    from wikidrop_airflow.reports.datadocs import upload_site, vendor_site

    client = staging_client(settings)
    night = next(o for o in outcomes if o["suite"] == "nightly")
    counts = {
        **night["counts"],
        "days": list(context.days),
        "base_dump_date": context.base_dump_date,
        "article_shards": sum(1 for o in outcomes if o["suite"] == "articles"),
        "article_rows_validated": sum(o.get("rows", 0) for o in outcomes if o["suite"] == "articles"),
    }
    summary = validation.summarize(outcomes, counts)
    summary.update(
        dbname=context.dbname,
        dump_date=context.day,
        run_id=context.run_id,
        summary_uri=context.partition.validation_summary_uri,
        thresholds=night["thresholds"],
    )
    prefix = report_prefix(context.dbname, context.day, context.run_id)
    with tempfile.TemporaryDirectory(prefix="wikidrop-datadocs-") as site_dir:
        results = [(o["batch"], read_json_uri(client, o["result_uri"])) for o in outcomes]
        build_data_docs(results, site_dir, run_name=context.run_id)
        vendor_site(site_dir)
        summary["report_uri"] = upload_site(client, site_dir, settings.reports_bucket, prefix)
    validation.publish_run_views(
        client, settings.reports_bucket, summary, results, parsed_uri=output.state_uri, kind="nightly"
    )
    write_json_uri(client, context.partition.validation_summary_uri, summary)
    return ValidationSummary.from_xcom(summary)


def _tombstone_count(client: Any, output: NightlyOutput) -> int:
    import pyarrow.parquet as pq

    from wikidrop.gcs import open_uri

    total = 0
    for uri in output.deletion_shards:
        with open_uri(client, uri) as fileobj:
            total += pq.ParquetFile(fileobj).metadata.num_rows
    return total
