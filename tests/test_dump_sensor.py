"""wait_for_dump: the deferrable sensor and its trigger against the HTTP mirror on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, TaskDeferred
from wikidrop_airflow.sensors.dumpstatus import DumpStatusSensor
from wikidrop_airflow.triggers.dumpstatus import DumpStatusTrigger

from tests.fixtures.dump_mirror import SAMPLE_DUMP_DATE, ServedMirror
from wikidrop.dumpstatus import REQUIRED_JOBS
from wikidrop.mirror import with_jobs_in_progress

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
