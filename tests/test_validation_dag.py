"""The validate stage under ``dag.test()``: a critical failure stops the run before delivery.

A small DAG wires the real ``add_validation`` between a task returning the parse job's
ParsedOutput (written to the GCS emulator) and a stand-in delivery task that leaves a marker
object when it runs. Real Airflow DB, real task group with mapped shard tasks, real GX and GCS.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from tests.test_validation import DUMP_DATE, FR_EDITION, good_records, stats, write_parsed_output
from wikidrop.config import Settings
from wikidrop.contracts import RunContext
from wikidrop.layout import report_prefix, run_summary_name
from wikidrop.quality.run_summary import RunSummary

pytestmark = pytest.mark.slow


def run_validate_dag(
    dag_in_own_bundle, staging: str, reports: str, parsed: dict[str, Any], gcs_connection: str
):
    """Run the real validate stage between fixed upstream XComs and a stand-in delivery task."""
    settings = Settings(staging_bucket=staging, reports_bucket=reports, staging_conn_id=gcs_connection)
    run_context = RunContext(
        dbname="frwiki",
        language="fr",
        dump_date=DUMP_DATE,
        mirror="http://127.0.0.1:1",
        partners=["acme_ai"],
        run_id="manual__validate-test",
        staging_bucket=staging,
    ).to_xcom()
    spec = {
        "edition": FR_EDITION.model_dump(mode="json"),
        "settings": settings.model_dump(mode="json"),
        "run_context": run_context,
        "parsed": parsed,
    }
    dag = dag_in_own_bundle("wikidrop_validate_test", DAG_FILE, spec)
    dag_run = dag.test()
    states = {(ti.task_id, ti.map_index): ti.state for ti in dag_run.get_task_instances()}
    return dag_run, states


DAG_FILE = """
import json
from pathlib import Path

from airflow.sdk import DAG, task
from wikidrop_airflow.stages.validate import add_validation

from wikidrop.config import EditionConfig, Settings
from wikidrop.gcs import split_gs_uri, storage_client

spec = json.loads((Path(__file__).parent / "spec.json").read_text())
settings = Settings.model_validate(spec["settings"])
with DAG("wikidrop_validate_test", schedule=None) as dag:

    @task
    def resolve_run() -> dict:
        return spec["run_context"]

    @task
    def parse_articles() -> dict:
        return spec["parsed"]

    @task
    def deliver(summary: dict) -> None:
        bucket = storage_client().bucket(settings.staging_bucket)
        bucket.blob("delivered.json").upload_from_string(json.dumps(summary))

    deliver(add_validation(EditionConfig.model_validate(spec["edition"]), settings, resolve_run(), parse_articles()))
"""


def blob_exists(gcs_client, bucket: str, name: str) -> bool:
    return gcs_client.bucket(bucket).blob(name).exists()


def test_good_output_passes_and_reaches_delivery(
    dag_in_own_bundle, gcs_client, gcs_connection, make_bucket
) -> None:
    staging, reports = make_bucket("staging"), make_bucket("reports")
    shards = [good_records(start=1), good_records(start=100)]
    # with the parse job's quality rows (one shard of them): the articles suite checks those
    parsed = write_parsed_output(gcs_client, staging, shards, stats(articles=24), quality_scripts=["Latin"])

    dag_run, states = run_validate_dag(dag_in_own_bundle, staging, reports, parsed, gcs_connection)

    assert dag_run.state == "success", states
    assert states[("validate.articles", 0)] == "success" and ("validate.articles", 1) not in states
    summary = json.loads(gcs_client.bucket(staging).blob("delivered.json").download_as_bytes())
    assert summary["success"] and summary["counts"]["articles"] == 24
    assert summary["counts"]["article_shards"] == 1 and summary["counts"]["article_rows_validated"] == 24
    # no multistream index staged: a warning, shown, not blocking; no previous snapshot: the
    # comparison with it is skipped (a first run), neither failed nor warned about
    assert [w["column"] for w in summary["warnings"]] == ["dump_count_source"]
    assert [s["column"] for s in summary["skipped"]] == ["article_drop_vs_previous"]
    stored = json.loads(
        gcs_client.bucket(staging).blob(f"frwiki/{DUMP_DATE}/validation/summary.json").download_as_bytes()
    )
    assert stored == summary
    prefix = report_prefix("frwiki", DUMP_DATE, "manual__validate-test")
    assert summary["report_uri"] == f"gs://{reports}/{prefix}/index.html"
    assert blob_exists(gcs_client, reports, f"{prefix}/index.html")
    assert blob_exists(gcs_client, reports, f"{prefix}/static/vendor/bootstrap-4.3.1/bootstrap.min.css")
    # for analysts: the run's summary in the reports index, with the metrics its trends plot
    run = RunSummary.model_validate_json(
        gcs_client.bucket(reports)
        .blob(run_summary_name("frwiki", "manual__validate-test"))
        .download_as_bytes()
    )
    assert (run.kind, run.success, run.dump_date, run.run_dir) == (
        "snapshot",
        True,
        DUMP_DATE,
        prefix.split("/")[-1],
    )
    texts = [len(r["text"]) for shard in shards for r in shard]
    assert run.metrics.articles == 24 and run.metrics.dead_letter_ratio == 0.0
    assert run.metrics.text_chars_median == pytest.approx(
        float(np.quantile(texts, 0.5, method="lower")), rel=0.005
    )
    assert run.metrics.infobox_coverage == run.metrics.table_coverage == 0.0  # measured: none has one
    assert run.thresholds["max_dead_letter_ratio"] == FR_EDITION.thresholds.max_dead_letter_ratio
    assert run.skipped and "article_drop_vs_previous" in run.skipped[0]
    details = json.loads(gcs_client.bucket(reports).blob(f"{prefix}/drilldown.json").download_as_bytes())
    assert (
        details["dead_letters"]["total"] == 0
        and details["failed_expectations"][0]["column"] == "dump_count_source"
    )


def test_critical_failure_stops_the_run_before_delivery(
    dag_in_own_bundle, gcs_client, gcs_connection, make_bucket
) -> None:
    staging, reports = make_bucket("staging"), make_bucket("reports")
    shard = good_records()
    shard[1]["identifier"] = shard[0]["identifier"]
    parsed = write_parsed_output(gcs_client, staging, [shard], stats(articles=len(shard)))

    dag_run, states = run_validate_dag(dag_in_own_bundle, staging, reports, parsed, gcs_connection)

    assert dag_run.state == "failed"
    assert states[("validate.articles", 0)] == "success"  # checking succeeded; the data did not
    assert states[("validate.gate", -1)] == "failed"
    assert states[("deliver", -1)] == "upstream_failed"
    assert not blob_exists(gcs_client, staging, "delivered.json")
    summary = json.loads(
        gcs_client.bucket(staging).blob(f"frwiki/{DUMP_DATE}/validation/summary.json").download_as_bytes()
    )
    assert not summary["success"]
    assert [(f["expectation"], f["column"]) for f in summary["critical_failures"]] == [
        ("expect_column_values_to_be_unique", "identifier"),
        ("expect_column_values_to_be_between", "duplicate_identifiers_across_shards"),
    ]
    # the analysts' report is published even (above all) when the run fails, with its drill-down
    assert blob_exists(gcs_client, reports, summary["report_uri"].split("/", 3)[3])
    prefix = report_prefix("frwiki", DUMP_DATE, "manual__validate-test")
    details = json.loads(gcs_client.bucket(reports).blob(f"{prefix}/drilldown.json").download_as_bytes())
    [unique] = [
        f for f in details["failed_expectations"] if f["expectation"] == "expect_column_values_to_be_unique"
    ]
    assert {(r["key"]["identifier"], r["key"]["name"]) for r in unique["rows"]} == {
        (shard[0]["identifier"], shard[0]["name"]),
        (shard[1]["identifier"], shard[1]["name"]),
    }
