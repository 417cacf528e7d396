"""validate: write-audit-publish. Nothing reaches a partner until the staged parse output passes.

    validate.shards           (the ParsedOutput's shard URIs, to map over)
    validate.articles[shard]  (mapped: the articles suite, one Parquet shard per task, in parallel)
    validate.run_level        (stats.json in context + every dead-letter file)
    validate.gate             (aggregates; Data Docs to the reports bucket; summary.json to staging;
                               raises on any critical failure, before any delivery task can start)

Each checking task writes its full Great Expectations result to
``<staging>/validation/results/<batch>.json`` and returns only a small digest over XCom. The gate
returns the ValidationSummary (``wikidrop.contracts``), also written to
``StagingPartition.validation_summary_uri`` so delivery can quote it in every manifest.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from wikidrop.contracts import ParsedOutput, RunContext, ValidationSummary

if TYPE_CHECKING:
    from airflow.sdk import XComArg

    from wikidrop.config import EditionConfig, Settings

log = logging.getLogger(__name__)


def add_validation(
    edition: EditionConfig, settings: Settings, run_context: XComArg, parsed: XComArg
) -> XComArg:
    """Create the validate task group; return the ValidationSummary XComArg of its gate."""
    from airflow.sdk import TaskGroup, task

    with TaskGroup(group_id="validate", tooltip="Great Expectations: articles per shard, run level, gate"):

        @task(task_id="articles", map_index_template="{{ shard_name }}")
        def validate_articles(shard_uri: str, run_context: dict[str, Any], parsed: dict[str, Any]) -> dict:
            """Articles suite on one Parquet shard; a small digest over XCom, the full result to staging."""
            from airflow.sdk import get_current_context

            from wikidrop.quality import validation

            get_current_context()["shard_name"] = validation.batch_name_of(shard_uri)
            run, output = RunContext.from_xcom(run_context), ParsedOutput.from_xcom(parsed)
            client = staging_client(settings)
            site = validation.load_site(client, output.parsed_uri)
            outcome, result = validation.validate_article_shard(
                client, shard_uri, edition, site, run.dump_date
            )
            return store_result(client, run.partition, outcome, result)

        @task(task_id="run_level")
        def validate_run(run_context: dict[str, Any], parsed: dict[str, Any]) -> list[dict]:
            """Run-level suite (reconciliation, dead letters, counts vs dump and previous snapshot)."""
            from wikidrop.quality import validation

            run, output = RunContext.from_xcom(run_context), ParsedOutput.from_xcom(parsed)
            client = staging_client(settings)
            checked = validation.validate_run_level(
                client,
                edition=edition,
                site=validation.load_site(client, output.parsed_uri),
                stats=output.stats,
                staging_bucket=run.partition.bucket,
                dump_date=run.dump_date,
                parsed_uri=output.parsed_uri,
                dump_uri=run.partition.dump_uri,
                shard_uris=list(output.article_shards),
            )
            return [store_result(client, run.partition, outcome, result) for outcome, result in checked]

        @task(task_id="gate", trigger_rule="none_failed")
        def gate(
            run_context: dict[str, Any],
            parsed: dict[str, Any],
            shards: list[dict] | None,
            run_level: list[dict],
        ) -> dict:
            """Aggregate, publish the report and the summary, then fail the run on a critical failure."""

            run = RunContext.from_xcom(run_context)
            output = ParsedOutput.from_xcom(parsed)
            summary = publish_summary(settings, run, output, [*(shards or []), *run_level])
            return enforce_gate(summary, f"{run.dbname} {run.dump_date}")

        @task(task_id="shards")
        def article_shards(parsed: dict[str, Any]) -> list[str]:
            """The shards the articles suite checks, to map over: the parse job's per-article quality
            rows, or the articles shards of an output without them (``validation.shards_to_check``)."""
            from wikidrop.quality.validation import shards_to_check

            output = ParsedOutput.from_xcom(parsed)
            return shards_to_check(
                staging_client(settings), output.parsed_uri, output.article_shards, edition
            )

        shard_outcomes = validate_articles.partial(run_context=run_context, parsed=parsed).expand(
            shard_uri=article_shards(parsed)
        )
        return gate(run_context, parsed, shard_outcomes, validate_run(run_context, parsed))


def publish_summary(
    settings: Settings, run: RunContext, output: ParsedOutput, outcomes: list[dict]
) -> ValidationSummary:
    """Build the Data Docs site, upload it, write summary.json and the analysts' views (run summary,
    drill-down from ``output``: the parse attempt that was validated); return the ValidationSummary."""
    import tempfile

    from wikidrop.gcs import read_json_uri, write_json_uri
    from wikidrop.layout import report_prefix
    from wikidrop.quality import validation
    from wikidrop.quality.gx import build_data_docs
    from wikidrop_airflow.reports.datadocs import upload_site, vendor_site

    client = staging_client(settings)
    partition = run.partition
    run_counts = next((o.get("counts") for o in outcomes if o["suite"] == "run_level"), None) or {}
    counts = {
        **run_counts,
        "article_shards": sum(1 for o in outcomes if o["suite"] == "articles"),
        "article_rows_validated": sum(o.get("rows", 0) for o in outcomes if o["suite"] == "articles"),
    }
    summary = validation.summarize(outcomes, counts)
    summary.update(
        dbname=run.dbname,
        dump_date=run.dump_date,
        run_id=run.run_id,
        summary_uri=partition.validation_summary_uri,
    )
    prefix = report_prefix(run.dbname, run.dump_date, run.run_id)
    with tempfile.TemporaryDirectory(prefix="wikidrop-datadocs-") as site_dir:
        results = [(o["batch"], read_json_uri(client, o["result_uri"])) for o in outcomes]
        build_data_docs(results, site_dir, run_name=run.run_id)
        vendor_site(site_dir)
        summary["report_uri"] = upload_site(client, site_dir, settings.reports_bucket, prefix)
    validation.publish_run_views(
        client, settings.reports_bucket, summary, results, parsed_uri=output.parsed_uri
    )
    write_json_uri(client, partition.validation_summary_uri, summary)
    return ValidationSummary.from_xcom(summary)


def enforce_gate(summary: ValidationSummary, what: str) -> dict:
    """The gate's verdict on ``what`` (a dump, a night): fail the run on a critical failure, naming
    it and the report; log the warnings; else the summary's XCom."""
    from airflow.sdk.exceptions import AirflowFailException

    if not summary.success:
        from wikidrop.quality.validation import failure_message

        raise AirflowFailException(
            f"{what}: {failure_message(summary.to_xcom())}\nreport: {summary.report_uri}"
        )
    for warning in summary.warnings:
        log.warning("validation warning: %s", warning.message)
    return summary.to_xcom()


def store_result(client: Any, partition: Any, outcome: dict, result: dict) -> dict:
    """Keep one batch's full result in the staging area it validated (``partition``: a dump's or a
    night's, ``wikidrop.layout``); the outcome gains where."""
    from wikidrop.gcs import write_json_uri

    uri = partition.validation_result_uri(outcome["batch"])
    write_json_uri(client, uri, result)
    return {**outcome, "result_uri": uri}


def staging_client(settings: Settings) -> Any:
    from wikidrop_airflow.hooks.gcs import WikidropGCSHook

    return WikidropGCSHook(settings.staging_conn_id, "staging bucket").get_client()
