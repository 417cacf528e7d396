"""The DAG folder imports cleanly and every generated DAG follows the house policies."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from wikidrop.config import load_config

DAGS_FOLDER = PROJECT_ROOT / "dags"
FORM_FIELDS = {"dump_date", "mirror", "partners", "dry_run", "force_delivery"}


@pytest.fixture(scope="module")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    started = time.perf_counter()
    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    elapsed = time.perf_counter() - started
    print(f"\nDagBag import of {DAGS_FOLDER}: {elapsed:.2f} s for {len(bag.dag_ids)} DAGs")
    return bag


def test_no_import_errors(dagbag) -> None:
    assert dagbag.import_errors == {}


def _all_dag_ids() -> list[str]:
    """One DAG per edition, and a nightly one per edition with a nightly block."""
    return [
        dag_id
        for e in load_config().editions
        for dag_id in (e.dag_id, *([e.nightly_dag_id] if e.nightly else []))
    ]


def test_one_dag_per_edition_in_config_order(dagbag) -> None:
    assert sorted(dagbag.dag_ids) == sorted(_all_dag_ids())


def test_dag_file_reports_a_broken_config_as_import_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bad config must show up in the UI's import errors, naming the config file and key."""
    from airflow.dag_processing.dagbag import DagBag

    broken = PROJECT_ROOT / "tests" / "data" / "invalid_configs" / "unknown_key.yaml"
    monkeypatch.setenv("WIKIDROP_CONFIG", str(broken))
    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.dag_ids == []
    (message,) = bag.import_errors.values()
    assert "unknown_key.yaml" in message and "editions.0.shedule" in message


def test_running_task_builds_only_its_own_dag(monkeypatch: pytest.MonkeyPatch) -> None:
    """With a parsing context (set by Airflow for a running task) the file builds one DAG."""
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "wikidrop_jawiki")
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_TASK_ID", "parse_articles")
    bag = DagBag(dag_folder=str(DAGS_FOLDER))
    assert bag.dag_ids == ["wikidrop_jawiki"]
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_DAG_ID", "wikidrop_frwiki_nightly")
    monkeypatch.setenv("_AIRFLOW_PARSING_CONTEXT_TASK_ID", "apply_changes")
    assert DagBag(dag_folder=str(DAGS_FOLDER)).dag_ids == ["wikidrop_frwiki_nightly"]


@pytest.mark.parametrize("edition", [e for e in load_config().editions if e.nightly], ids=lambda e: e.dbname)
def test_nightly_dag_policies(dagbag, edition) -> None:
    config = load_config()
    dag = dagbag.dags[edition.nightly_dag_id]
    assert {"wikidrop", "nightly", edition.language, edition.dbname} <= set(dag.tags)
    assert dag.max_active_runs == 1
    assert dag.timetable.expression == edition.nightly.schedule
    assert "strictly in order" in dag.doc_md
    assert dag.params["partners"] == [p.id for p in config.partners_for(edition.dbname)]
    for task in dag.tasks:
        assert task.owner == config.settings.owner, task.task_id


@pytest.mark.parametrize("edition", load_config().editions, ids=lambda e: e.dbname)
def test_dag_policies(dagbag, edition) -> None:
    config = load_config()
    settings = config.settings
    dag = dagbag.dags[edition.dag_id]
    assert dag is not None
    assert {"wikidrop", edition.language, edition.dbname} <= set(dag.tags)
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert edition.dbname in dag.doc_md and "Trigger with config" in dag.doc_md
    for partner in config.partners_for(edition.dbname):
        assert partner.id in dag.doc_md
    assert set(dag.params.keys()) >= FORM_FIELDS
    assert dag.params["partners"] == [p.id for p in config.partners_for(edition.dbname)]
    for task in dag.tasks:
        assert task.owner == settings.owner, task.task_id
        assert task.owner != "airflow", task.task_id
        assert task.retries == settings.retries, task.task_id


@pytest.mark.parametrize("edition", load_config().editions, ids=lambda e: e.dbname)
def test_schedule_follows_config(dagbag, edition) -> None:
    from airflow.sdk import CronTriggerTimetable

    dag = dagbag.dags[edition.dag_id]
    if edition.schedule is None:
        assert not dag.timetable.can_be_scheduled
    else:
        assert isinstance(dag.timetable, CronTriggerTimetable)
        assert dag.timetable.expression == edition.schedule


HEAVY_MODULES = (
    "apache_beam",
    "great_expectations",
    "google.cloud.storage",
    "pandas",
    "pyarrow",
    "mwparserfromhell",
)


def test_dag_file_imports_nothing_heavy(tmp_path: Path) -> None:
    """Parsing the DAG file (what the dag-processor does every 30 s) loads no Beam/GX/GCS/pandas."""
    import json
    import os
    import subprocess
    import sys

    probe = (
        "import json, sys, time\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "started = time.perf_counter()\n"
        f"bag = DagBag({str(DAGS_FOLDER)!r})\n"
        "print(json.dumps({'seconds': time.perf_counter() - started, 'dags': len(bag.dag_ids),\n"
        "  'errors': bag.import_errors, 'heavy': [m for m in %r if m in sys.modules]}))\n" % (HEAVY_MODULES,)
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(PROJECT_ROOT), str(PROJECT_ROOT / "plugins")]))
    result = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    print(
        f"\ncold DagBag parse: {report['seconds']:.2f} s for {report['dags']} DAGs (Airflow already imported)"
    )
    assert report["errors"] == {} and report["dags"] == len(_all_dag_ids())
    assert report["heavy"] == []
