"""One edition's DAG to its end on Airflow's CeleryExecutor: Redis broker, ``airflow celery worker``.

Everything on 127.0.0.1 (``celery_airflow``, tests/fixtures/airflow_celery.py): Debian's
redis-server, an api-server (the Execution API), a Celery worker, and the same emulators as the
``dag.test()`` end-to-end runs (sample mirror over HTTP, GCS emulator, webhook receiver). Each task
is sent to Celery and run by the worker; the metadata DB and Celery's result store must both say so.
"""

from __future__ import annotations

import json
import os
import re
import time

import pytest

from tests.fixtures.airflow_celery import QUEUE, WORKER_NAME
from tests.fixtures.dump_mirror import SAMPLE_DUMP_DATE

# The worker's line for each task it runs: "[<celery task id>] Executing workload ... ti=...(id=UUID('<ti id>')".
EXECUTING = re.compile(r"\[([0-9a-f-]{36})\] Executing workload in Celery: .*?\(id=UUID\('([0-9a-f-]{36})'\)")
DBNAME = "ukwiki"  # one partner subscribes: the whole chain with the fewest mapped tasks


@pytest.mark.slow
@pytest.mark.timeout(1200)  # ~4 min with the machine's 2 cores shared; 600 s is pytest's default here
def test_edition_dag_runs_to_the_end_on_the_celery_worker(
    celery_airflow, dump_mirror: str, e2e_config, gcs_client
) -> None:
    import redis
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.net import get_hostname
    from airflow.utils.session import create_session
    from sqlalchemy import select

    config, receiver = e2e_config
    edition = config.edition(DBNAME)
    run = celery_airflow.run_dag(
        edition.dag_id, {"mirror": dump_mirror, "dump_date": SAMPLE_DUMP_DATE}, timeout_s=900
    )

    with create_session() as session:
        tis = session.scalars(
            select(TaskInstance).where(
                TaskInstance.dag_id == edition.dag_id, TaskInstance.run_id == run["run_id"]
            )
        ).all()
        session.expunge_all()
    states = {f"{ti.task_id}[{ti.map_index}]": str(ti.state) for ti in tis}
    assert run["state"] == "success", (states, celery_airflow.log("celery-worker")[-4000:])
    assert set(states.values()) == {"success"}, states
    stages = {"stage_dump", "parse_articles", "validate.gate", "partner_drop.deliver", "partner_drop.notify"}
    assert stages <= {ti.task_id for ti in tis}

    # Executed by the Celery worker: the worker's log names, for each task instance, the Celery task
    # that ran it and its final state; the worker stored each Celery task's result in Redis; the
    # metadata DB says each ran on Celery's queue, on this host, in a process other than this one.
    results = redis.Redis.from_url(celery_airflow.results)
    worker_log = _worker_log_once_it_names(celery_airflow, [f"workload_id={ti.id}" for ti in tis])
    celery_task_of = {ti_id: celery_id for celery_id, ti_id in EXECUTING.findall(worker_log)}
    for ti in tis:
        where = f"{ti.task_id}[{ti.map_index}]"
        assert ti.queue == QUEUE, where
        assert ti.hostname == get_hostname(), where
        assert ti.pid not in (None, os.getpid()), where
        celery_id = celery_task_of.get(str(ti.id))
        assert celery_id, f"{where} ({ti.id}) not in the worker's log"
        assert re.search(rf"final_state=success .*workload_id={ti.id}", worker_log), where
        meta = results.get(f"celery-task-meta-{celery_id}")
        assert meta is not None and json.loads(meta)["status"] == "SUCCESS", where
    assert f"{WORKER_NAME}@" in worker_log
    assert len(set(celery_task_of.values())) == len(celery_task_of) == len(tis)
    results.close()

    # And the run did its work: a committed drop per subscriber, a verified notice each.
    subscribers = config.partners_for(DBNAME)
    for partner in subscribers:
        drop = f"{partner.prefix}/snapshots/{SAMPLE_DUMP_DATE}/{DBNAME}_namespace_0".lstrip("/")
        manifest = json.loads(
            gcs_client.bucket(partner.bucket).blob(f"{drop}/manifest.json").download_as_bytes()
        )
        assert manifest["record_count"] > 0
        assert gcs_client.bucket(partner.bucket).blob(f"{drop}/_SUCCESS").exists()
    notified = {e["data"]["partner"] for e in receiver.accepted.values() if e["data"]["edition"] == DBNAME}
    assert notified == {p.id for p in subscribers if p.notices.webhook}


def _worker_log_once_it_names(celery_airflow, needles: list[str], timeout_s: float = 120) -> str:
    """The Celery worker's log once it has a final-state line for every needle: the worker writes
    the last task's line after the scheduler already saw the run succeed."""
    deadline = time.monotonic() + timeout_s
    while True:
        worker_log = celery_airflow.log("celery-worker")
        finals = re.findall(r"final_state=\S+ .*", worker_log)
        if all(any(n in line for line in finals) for n in needles) or time.monotonic() > deadline:
            return worker_log
        time.sleep(1)
