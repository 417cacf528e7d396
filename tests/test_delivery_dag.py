"""add_delivery under dag.test(): mapped deliver -> notify per partner, real GCS emulator and webhook."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.test_delivery import DUMP_DATE, SITE, SOURCE_FILES, VALIDATION, article, partner, write_shards
from wikidrop.config import EditionConfig, PartnerConfig, Settings
from wikidrop.contracts import ParsedOutput, RunContext, StagedDump
from wikidrop.records import SCHEMA_VERSION

SECRET = "whsec_" + base64.b64encode(b"acme-dag-test-signing-key-000000").decode()


@pytest.mark.slow
def test_add_delivery_under_dag_test(
    dag_in_own_bundle,
    fake_gcs,
    fake_gcs_client,
    make_fake_gcs_bucket,
    webhook_receiver,
    tmp_path: Path,
    monkeypatch,
    capfd,
) -> None:
    from airflow.utils.state import DagRunState, TaskInstanceState
    from wikidrop_airflow.stages.deliver import drop_asset_name

    receiver = webhook_receiver(SECRET, fail_first=1)
    gcs_conn = json.dumps({"conn_type": "google_cloud_platform", "extra": {"endpoint": fake_gcs}})
    for conn_id in ("WIKIDROP_PARTNER_ACME_AI", "WIKIDROP_PARTNER_GLOBEX_LLM", "WIKIDROP_GCS_TEST"):
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id}", gcs_conn)
    monkeypatch.setenv(
        "AIRFLOW_CONN_WIKIDROP_WEBHOOK_ACME_AI", json.dumps({"conn_type": "generic", "password": SECRET})
    )

    acme_bucket, globex_bucket = make_fake_gcs_bucket("acme"), make_fake_gcs_bucket("globex")
    acme = partner(
        acme_bucket,
        gcs_conn_id="wikidrop_partner_acme_ai",
        notices={
            "webhook": {"url": receiver.url, "secret_conn_id": "wikidrop_webhook_acme_ai", "max_attempts": 3}
        },
    )
    globex = partner(
        globex_bucket, id="globex_llm", gcs_conn_id="wikidrop_partner_globex_llm", formats=["plaintext"]
    )
    left_out = PartnerConfig.model_validate({**globex.model_dump(), "id": "initech", "prefix": "initech"})
    edition = EditionConfig(dbname="frwiki", language="fr", scripts=["Latin"])
    settings = Settings(staging_conn_id="wikidrop_gcs_test")

    shards = write_shards(tmp_path / "articles", [[article(3), article(1)], [article(2), article(4)]])
    # the parse job's siteinfo.json beside its output: the drops' licence and attribution name the wiki
    parsed_uri = f"gs://{make_fake_gcs_bucket('staging')}/frwiki/{DUMP_DATE}/parsed"
    staging, parsed_prefix = parsed_uri.removeprefix("gs://").split("/", 1)
    fake_gcs_client.bucket(staging).blob(f"{parsed_prefix}/siteinfo.json").upload_from_string(
        json.dumps(SITE.to_dict())
    )
    run_context = RunContext(
        dbname="frwiki",
        language="fr",
        dump_date=DUMP_DATE,
        mirror="https://dumps.wikimedia.org",
        partners=["acme_ai", "globex_llm"],  # initech deselected in the run form
        run_id="manual__test",
        staging_bucket="staging",
    )
    staged = StagedDump(
        dumpstatus_uri="gs://staging/frwiki/20250801/dump/dumpstatus.json",
        files=SOURCE_FILES,
        pages_articles=[SOURCE_FILES[0]["uri"]],
        index=[],
        siteinfo_json="",
    )
    parsed = ParsedOutput(
        parsed_uri=parsed_uri, stats={"schema_version": SCHEMA_VERSION}, article_shards=shards
    )
    inputs = {
        "run_context": run_context.to_xcom(),
        "staged": staged.to_xcom(),
        "parsed": parsed.to_xcom(),
        "validation": VALIDATION,
    }

    spec = {
        "edition": edition.model_dump(mode="json"),
        "settings": settings.model_dump(mode="json"),
        "partners": [p.model_dump(mode="json") for p in (acme, globex, left_out)],
        "inputs": inputs,
    }
    dag = dag_in_own_bundle("wikidrop_delivery_test", DAG_FILE, spec)
    dag_run = dag.test()
    assert dag_run.state == DagRunState.SUCCESS

    states = {(ti.task_id, ti.map_index): ti.state for ti in dag_run.get_task_instances()}
    assert states[("partner_drop.deliver", 2)] == TaskInstanceState.SKIPPED
    assert states[("partner_drop.notify", 2)] == TaskInstanceState.SKIPPED
    assert (
        states[("partner_drop.notify", 0)] == states[("partner_drop.notify", 1)] == TaskInstanceState.SUCCESS
    )

    snap = f"wikipedia/snapshots/{DUMP_DATE}/frwiki_namespace_0"
    for bucket in (acme_bucket, globex_bucket):
        assert fake_gcs_client.bucket(bucket).get_blob(f"{snap}/_SUCCESS") is not None
        licence = fake_gcs_client.bucket(bucket).blob(f"{snap}/LICENSE.txt").download_as_bytes().decode()
        assert "Wikipédia (https://fr.wikipedia.org, frwiki, language fr), Wikimedia dump of 2025-08-01" in (
            licence
        )
    assert not list(
        fake_gcs_client.list_blobs(globex_bucket, prefix="initech/")
    )  # deselected: nothing written
    [event] = receiver.accepted.values()
    assert event["data"]["manifest_url"] == f"gs://{acme_bucket}/{snap}/manifest.json"
    assert [r.status for r in receiver.requests] == [503, 204]

    asset_extra = _asset_event_extra(drop_asset_name("acme_ai", "frwiki"), dag_run.run_id)
    assert asset_extra["manifests"] == {"frwiki_namespace_0": event["data"]["manifest_url"]}
    assert _asset_event_extra(drop_asset_name("globex_llm", "frwiki"), dag_run.run_id)["record_count"] == 4

    out, err = capfd.readouterr()
    xcoms = _xcom_values(dag_run.run_id)
    key = SECRET.removeprefix("whsec_")
    for text in (out, err, xcoms):
        assert SECRET not in text and key not in text


DAG_FILE = """
import json
from pathlib import Path

from airflow.sdk import DAG, task
from wikidrop_airflow.stages.deliver import add_delivery

from wikidrop.config import EditionConfig, PartnerConfig, Settings

spec = json.loads((Path(__file__).parent / "spec.json").read_text())
with DAG("wikidrop_delivery_test", schedule=None) as dag:

    @task(multiple_outputs=True)
    def upstream() -> dict:
        return spec["inputs"]

    out = upstream()
    add_delivery(
        EditionConfig.model_validate(spec["edition"]),
        Settings.model_validate(spec["settings"]),
        [PartnerConfig.model_validate(p) for p in spec["partners"]],
        out["run_context"],
        out["staged"],
        out["parsed"],
        out["validation"],
    )
"""


NIGHTLY_DAG_FILE = """
import json
from pathlib import Path

from airflow.sdk import DAG, AssetAlias, task
from wikidrop_airflow.stages.deliver import announce_drop, deliver_partner_drop, nightly_partners

from wikidrop.config import EditionConfig, PartnerConfig, Settings

spec = json.loads((Path(__file__).parent / "spec.json").read_text())
edition = EditionConfig.model_validate(spec["edition"])
settings = Settings.model_validate(spec["settings"])
partners = nightly_partners([PartnerConfig.model_validate(p) for p in spec["partners"]], "batch")
by_id = {p.id: p for p in partners}
alias = AssetAlias("wikidrop.drops.frwiki")

with DAG("wikidrop_nightly_delivery_test", schedule=None) as dag:

    @task
    def deliver(partner_id: str) -> dict:
        return deliver_partner_drop(by_id[partner_id], edition, settings, kind="batch", **spec["inputs"])

    @task(outlets=[alias])
    def notify(drop: dict) -> dict:
        return announce_drop(by_id[drop["partner"]], drop, alias)

    notify.expand(drop=deliver.expand(partner_id=list(by_id)))
"""


@pytest.mark.slow
def test_nightly_batch_through_the_stage_helpers_under_dag_test(
    dag_in_own_bundle,
    fake_gcs,
    fake_gcs_client,
    make_fake_gcs_bucket,
    webhook_receiver,
    tmp_path,
    monkeypatch,
) -> None:
    """What the nightly DAG calls: the partners taking batches get the day's batch, built by the Beam
    job from the state's changes/ in staging, and a batch notice; a partner taking only nightly
    snapshots gets no batch."""
    from airflow.utils.state import DagRunState
    from wikidrop_airflow.stages.deliver import drop_asset_name

    from tests.test_delivery_batches import DAY, DAY_CHANGES, write_changes

    receiver = webhook_receiver(SECRET)
    gcs_conn = json.dumps({"conn_type": "google_cloud_platform", "extra": {"endpoint": fake_gcs}})
    for conn_id in ("WIKIDROP_PARTNER_ACME_AI", "WIKIDROP_PARTNER_GLOBEX_LLM", "WIKIDROP_GCS_TEST"):
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id}", gcs_conn)
    monkeypatch.setenv(
        "AIRFLOW_CONN_WIKIDROP_WEBHOOK_ACME_AI", json.dumps({"conn_type": "generic", "password": SECRET})
    )
    acme_bucket, globex_bucket = make_fake_gcs_bucket("acme"), make_fake_gcs_bucket("globex")
    acme = partner(
        acme_bucket,
        gcs_conn_id="wikidrop_partner_acme_ai",
        notices={"webhook": {"url": receiver.url, "secret_conn_id": "wikidrop_webhook_acme_ai"}},
    )
    snapshots_only = partner(
        globex_bucket, id="globex_llm", gcs_conn_id="wikidrop_partner_globex_llm", nightly=["snapshot"]
    )
    state_uri = f"gs://{make_fake_gcs_bucket('staging')}/frwiki/nightly/{DAY}/state/attempts/a"
    staging, state_prefix = state_uri.removeprefix("gs://").split("/", 1)
    fake_gcs_client.bucket(staging).blob(f"{state_prefix}/siteinfo.json").upload_from_string(
        json.dumps(SITE.to_dict())
    )
    for shard in map(Path, write_changes(tmp_path / "changes", DAY_CHANGES)):
        fake_gcs_client.bucket(staging).blob(f"{state_prefix}/changes/{shard.name}").upload_from_filename(
            shard
        )
    spec = {
        "edition": EditionConfig(dbname="frwiki", language="fr", scripts=["Latin"]).model_dump(mode="json"),
        "settings": Settings(staging_conn_id="wikidrop_gcs_test").model_dump(mode="json"),
        "partners": [p.model_dump(mode="json") for p in (acme, snapshots_only)],
        "inputs": {
            "day": DAY,
            "state_uri": state_uri,
            "run_id": "scheduled__night",
            "validation": VALIDATION,
            "source_files": [
                {"name": f"frwiki-{DAY}-pages-meta-hist-incr.xml.bz2", "size": 10, "md5": "0" * 32}
            ],
        },
    }
    dag = dag_in_own_bundle("wikidrop_nightly_delivery_test", NIGHTLY_DAG_FILE, spec)
    dag_run = dag.test()
    assert dag_run.state == DagRunState.SUCCESS

    batch = f"wikipedia/batches/{DAY}/frwiki_namespace_0"
    manifest = json.loads(
        fake_gcs_client.bucket(acme_bucket).blob(f"{batch}/manifest.json").download_as_bytes()
    )
    assert manifest["kind"] == "batch" and manifest["record_count"] == 5
    assert manifest["source_dump"]["files"][0]["url"] == (
        f"https://dumps.wikimedia.org/other/incr/frwiki/{DAY}/frwiki-{DAY}-pages-meta-hist-incr.xml.bz2"
    )
    assert not list(fake_gcs_client.list_blobs(globex_bucket))
    [event] = receiver.accepted.values()
    assert event["type"] == "org.wikidrop.batch.published" and event["data"]["kind"] == "batch"
    assert event["data"]["manifest_url"] == f"gs://{acme_bucket}/{batch}/manifest.json"
    extra = _asset_event_extra(drop_asset_name("acme_ai", "frwiki"), dag_run.run_id)
    assert extra["kind"] == "batch" and extra["dump_date"] == DAY


def _asset_event_extra(asset_name: str, run_id: str) -> dict:
    """The one event this run emitted for the asset (the session DB also holds other tests' runs)."""
    from airflow.models.asset import AssetEvent, AssetModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        extra = session.scalars(
            select(AssetEvent.extra)
            .join(AssetModel, AssetEvent.asset_id == AssetModel.id)
            .where(AssetModel.name == asset_name, AssetEvent.source_run_id == run_id)
        ).one()
    return extra


def _xcom_values(run_id: str) -> str:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return json.dumps(
            [str(v) for v in session.scalars(select(XComModel.value).where(XComModel.run_id == run_id))]
        )


def test_partner_namespace_filter_is_bounded_by_the_edition(caplog) -> None:
    from wikidrop_airflow.stages.deliver import delivered_namespaces

    edition = EditionConfig(dbname="frwiki", language="fr", scripts=["Latin"], namespaces=[0, 14])
    assert delivered_namespaces(partner("acme-bucket"), edition) == [0, 14]
    assert delivered_namespaces(partner("acme-bucket", filters={"namespaces": [14, 10]}), edition) == [14]
    assert "namespaces [10] are not parsed for frwiki" in caplog.text
    with pytest.raises(ValueError, match=r"frwiki parses only \[0, 14\]"):
        delivered_namespaces(partner("acme-bucket", filters={"namespaces": [10]}), edition)
