"""wait_for_dump: the deferrable sensor and its trigger against the HTTP mirror on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
import threading
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, TaskDeferred
from wikidrop_airflow.sensors.dumpstatus import DumpStatusSensor
from wikidrop_airflow.triggers.dumpstatus import DumpStatusTrigger

from tests.fixtures.dump_mirror import SAMPLE_DUMP_DATE, ServedMirror
from wikidrop.contracts import RunContext, StagedDump
from wikidrop.dumps.dumpstatus import REQUIRED_JOBS
from wikidrop_dev.mirror import with_jobs_in_progress

STATUS_PATH = f"/frwiki/{SAMPLE_DUMP_DATE}/dumpstatus.json"


def write_atomically(path: Path, payload: dict) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(payload))
    os.replace(tmp, path)


def mark_in_progress(served: ServedMirror, job: str = "articlesmultistreamdump") -> tuple[Path, dict]:
    """Make frwiki's dump look running; return its path and the finished dumpstatus to restore."""
    path = served.root / "frwiki" / SAMPLE_DUMP_DATE / "dumpstatus.json"
    done = json.loads(path.read_text())
    write_atomically(path, with_jobs_in_progress(done, [job]))
    return path, done


async def first_event(trigger: DumpStatusTrigger):
    async for event in trigger.run():
        return event
    raise AssertionError("trigger ended without an event")


def test_trigger_fires_only_after_dumpstatus_flips_to_done(mirror_server: ServedMirror):
    path, done = mark_in_progress(mirror_server)
    trigger = DumpStatusTrigger(
        mirror_server.url, "frwiki", SAMPLE_DUMP_DATE, REQUIRED_JOBS, poke_interval=0.01
    )

    async def scenario():
        waiting = asyncio.create_task(first_event(trigger))
        while mirror_server.requests[STATUS_PATH] < 3:  # it has seen "in-progress" three times
            assert not waiting.done(), f"fired while in progress: {waiting.result()}"
            await asyncio.sleep(0.01)
        assert not waiting.done()
        seen_in_progress = mirror_server.requests[STATUS_PATH]
        write_atomically(path, done)
        event = await waiting
        return event, seen_in_progress

    event, seen_in_progress = asyncio.run(scenario())
    assert event.payload["status"] == "done"
    assert event.payload["url"] == f"{mirror_server.url}{STATUS_PATH}"
    assert event.payload["polls"] > seen_in_progress >= 3


def test_trigger_serializes_to_its_classpath_and_arguments():
    trigger = DumpStatusTrigger(
        "https://dumps.wikimedia.org", "ukwiki", "20261101", REQUIRED_JOBS, 600, 1.8e9
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "wikidrop_airflow.triggers.dumpstatus.DumpStatusTrigger"
    assert DumpStatusTrigger(**kwargs).serialize() == (classpath, kwargs)


def test_sensor_defers_while_in_progress_and_times_out_naming_url_and_jobs(mirror_server: ServedMirror):
    mark_in_progress(mirror_server)
    sensor = DumpStatusSensor(
        task_id="wait_for_dump",
        mirror=mirror_server.url,
        dbname="frwiki",
        dump_date=SAMPLE_DUMP_DATE,
        poke_interval=0.01,
        timeout=0.2,
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    trigger = deferred.value.trigger
    assert isinstance(trigger, DumpStatusTrigger)
    assert deferred.value.method_name == "execute_complete"

    event = asyncio.run(first_event(trigger))
    assert event.payload["status"] == "timeout"
    with pytest.raises(AirflowSensorTimeout) as timeout:
        sensor.execute_complete({}, event.payload)
    message = str(timeout.value)
    assert f"{mirror_server.url}{STATUS_PATH}" in message
    assert "'articlesmultistreamdump': 'in-progress'" in message
    assert "namespaces':" not in message.split("not done:")[1]  # only the job that was not done


def test_sensor_timeout_on_a_missing_dump_reports_the_fetch_error(dump_mirror: str):
    sensor = DumpStatusSensor(
        task_id="wait_for_dump",
        mirror=dump_mirror,
        dbname="frwiki",
        dump_date="20990101",
        poke_interval=0.01,
        timeout=0,
    )
    with pytest.raises(TaskDeferred) as deferred:
        sensor.execute({})
    event = asyncio.run(first_event(deferred.value.trigger))
    with pytest.raises(
        AirflowSensorTimeout, match=r"frwiki/20990101/dumpstatus.json.*last fetch error: .*HTTP 404"
    ):
        sensor.execute_complete({}, event.payload)


def test_sensor_passes_straight_through_when_the_dump_is_done(dump_mirror: str):
    sensor = DumpStatusSensor(
        task_id="wait_for_dump", mirror=dump_mirror, dbname="jawiki", dump_date=SAMPLE_DUMP_DATE
    )
    assert sensor.execute({}) is None
    sensor.execute_complete({}, {"status": "done", "url": "u", "not_done": {}, "error": None})


def test_sensor_refuses_an_unresolved_date(dump_mirror: str):
    sensor = DumpStatusSensor(
        task_id="wait_for_dump", mirror=dump_mirror, dbname="jawiki", dump_date="latest"
    )
    with pytest.raises(AirflowFailException, match="YYYYMMDD"):
        sensor.execute({})


def test_dump_stages_in_the_edition_dag():
    from wikidrop_airflow.dag_factory import build_edition_dag

    from wikidrop.config import load_config

    config = load_config()
    dag = build_edition_dag(config.edition("ukwiki"), config)
    sensor = dag.get_task("wait_for_dump")
    assert isinstance(sensor, DumpStatusSensor)
    assert set(sensor.template_fields) == {"mirror", "dbname", "dump_date"}
    assert sensor.upstream_task_ids == {"resolve_run"}
    assert "wait_for_dump" in dag.get_task("stage_dump").upstream_task_ids
    assert sensor.poke_interval == config.settings.sensor.poke_interval_seconds
    assert sensor.timeout == config.settings.sensor.timeout_hours * 3600
    assert "xcom_pull(task_ids='resolve_run')['dump_date']" in sensor.dump_date


DAG_FILE = """
import json
from pathlib import Path

from airflow.sdk import DAG, task
from wikidrop_airflow.stages.dump import add_dump_stages

from wikidrop.config import EditionConfig, Settings
from wikidrop.gcs import storage_client

spec = json.loads((Path(__file__).parent / "spec.json").read_text())
settings = Settings.model_validate(spec["settings"])
with DAG("wikidrop_dump_stages_test", schedule=None) as dag:

    @task(task_id="resolve_run")
    def resolve_run() -> dict:
        return spec["run_context"]

    @task
    def record(staged: dict) -> None:
        storage_client().bucket(settings.staging_bucket).blob("staged.json").upload_from_string(json.dumps(staged))

    record(add_dump_stages(EditionConfig.model_validate(spec["edition"]), settings, resolve_run()))
"""


def run_dump_stages_dag(
    dag_in_own_bundle, mirror: str, staging: str, timeout_hours: float, gcs_connection: str
):
    """dag.test() of resolve_run -> wait_for_dump -> stage_dump -> record, in a bundle of its own."""
    from wikidrop.config import load_config

    config = load_config()
    settings = config.settings.model_copy(
        update={
            "staging_bucket": staging,
            "staging_conn_id": gcs_connection,
            "sensor": config.settings.sensor.model_copy(
                update={"poke_interval_seconds": 1, "timeout_hours": timeout_hours}
            ),
        }
    )
    spec = {
        "edition": config.edition("frwiki").model_dump(mode="json"),
        "settings": settings.model_dump(mode="json"),
        "run_context": RunContext(
            dbname="frwiki",
            language="fr",
            dump_date=SAMPLE_DUMP_DATE,
            mirror=mirror,
            partners=[],
            run_id="manual__dump-stages-test",
            staging_bucket=staging,
        ).to_xcom(),
    }
    dag_run = dag_in_own_bundle("wikidrop_dump_stages_test", DAG_FILE, spec).test()
    return dag_run, {ti.task_id: ti.state for ti in dag_run.get_task_instances()}


@pytest.mark.slow
def test_dag_waits_while_in_progress_then_stages(
    dag_in_own_bundle, mirror_server: ServedMirror, gcs_client, gcs_connection, make_bucket
):
    path, done = mark_in_progress(mirror_server, "namespaces")
    staging = make_bucket("staging")
    stop = threading.Event()

    def finish_the_dump_after_two_polls() -> None:
        while not stop.is_set():
            if mirror_server.requests[STATUS_PATH] >= 2:  # the worker's check + one trigger poll
                write_atomically(path, done)
                return
            stop.wait(0.05)

    flipper = threading.Thread(target=finish_the_dump_after_two_polls, daemon=True)
    flipper.start()
    try:
        dag_run, states = run_dump_stages_dag(
            dag_in_own_bundle, mirror_server.url, staging, 0.05, gcs_connection
        )
    finally:
        stop.set()
        flipper.join()

    assert dag_run.state == "success", states
    assert states["wait_for_dump"] == states["stage_dump"] == "success"
    assert mirror_server.requests[STATUS_PATH] >= 3  # polled again after the flip
    staged = StagedDump.from_xcom(
        json.loads(gcs_client.bucket(staging).blob("staged.json").download_as_bytes())
    )
    assert staged.dumpstatus_uri == f"gs://{staging}/frwiki/{SAMPLE_DUMP_DATE}/dump/dumpstatus.json"
    assert len(staged.files) == 4 and len(staged.pages_articles) == 1  # with page_props
    assert staged.page_props.endswith("frwiki-20261101-page_props.sql.gz")


@pytest.mark.slow
def test_dag_times_out_and_stages_nothing(
    dag_in_own_bundle, mirror_server: ServedMirror, gcs_client, gcs_connection, make_bucket
):
    mark_in_progress(mirror_server)
    staging = make_bucket("staging")
    dag_run, states = run_dump_stages_dag(
        dag_in_own_bundle, mirror_server.url, staging, 0.0005, gcs_connection
    )
    assert dag_run.state == "failed"
    assert states["wait_for_dump"] == "failed"
    assert states["stage_dump"] == "upstream_failed"
    assert list(gcs_client.list_blobs(staging)) == []
