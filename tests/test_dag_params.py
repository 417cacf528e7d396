"""The run form: bad values are rejected before a DAG run exists; the parse runner is a config choice."""

from __future__ import annotations

import pytest

from wikidrop.config import load_config


@pytest.fixture(scope="module")
def config():
    return load_config()


@pytest.fixture(scope="module")
def jawiki_dag(config):
    from wikidrop_airflow.dag_factory import build_edition_dag

    return build_edition_dag(config.edition("jawiki"), config)


@pytest.fixture(scope="module")
def scheduler_params(jawiki_dag):
    """The form as the scheduler/API sees it: the serialized DAG's params."""
    from airflow.serialization.serialized_objects import DagSerialization

    return DagSerialization.deserialize_dag(DagSerialization.serialize_dag(jawiki_dag)).params


GOOD_CONFS = [
    {},
    {"dump_date": "20250801"},
    {"dump_date": "latest", "dry_run": True},
    {"mirror": "http://127.0.0.1:8765"},
    {"mirror": "gs://my-mirror/dumps"},
    {"mirror": "/srv/mirror"},
    {"partners": ["globex_llm"]},
    {"partners": []},
]

BAD_CONFS = [
    {"dump_date": "2025-08-01"},
    {"dump_date": "20250801x"},
    {"dump_date": ""},
    {"dump_date": "yesterday"},
    {"mirror": "ftp://dumps.example.org"},
    {"mirror": "dumps.wikimedia.org"},
    {"partners": ["evil_corp"]},
    {"partners": ["acme_ai", "acme_ai"]},
    {"partners": "acme_ai"},
    {"dry_run": "yes"},
]


@pytest.mark.parametrize("conf", GOOD_CONFS, ids=repr)
def test_form_accepts(scheduler_params, conf: dict) -> None:
    # What create_dagrun does with a trigger's conf before the run row is written.
    scheduler_params.deep_merge(conf).validate()


@pytest.mark.parametrize("conf", BAD_CONFS, ids=repr)
def test_form_rejects(scheduler_params, conf: dict) -> None:
    from airflow.exceptions import ParamValidationError

    with pytest.raises(ParamValidationError):
        scheduler_params.deep_merge(conf).validate()


def test_partner_choices_are_the_editions_subscribers(config) -> None:
    from wikidrop_airflow.dag_factory import build_edition_dag

    for edition in config.editions:
        dag = build_edition_dag(edition, config)
        schema = dag.params.get_param("partners").schema
        subscribed = [p.id for p in config.partners_for(edition.dbname)]
        assert schema["items"]["enum"] == subscribed
        assert schema["examples"] == subscribed  # what makes the trigger form a multi-select
        assert dag.params["partners"] == subscribed


def test_mirror_default_comes_from_environment(config, monkeypatch: pytest.MonkeyPatch) -> None:
    from wikidrop_airflow.dag_factory import build_edition_dag

    monkeypatch.setenv("WIKIDROP_MIRROR", "http://127.0.0.1:9999")
    dag = build_edition_dag(config.edition("enwiki"), config)
    assert dag.params["mirror"] == "http://127.0.0.1:9999"
    monkeypatch.delenv("WIKIDROP_MIRROR")
    assert build_edition_dag(config.edition("enwiki"), config).params["mirror"] == config.settings.mirror


@pytest.mark.slow
def test_bad_trigger_creates_no_run(jawiki_dag, airflow_db) -> None:
    """Through dag.test(), as through the UI/API: the form is checked before any task runs."""
    from airflow.models.dagrun import DagRun
    from airflow.sdk.exceptions import ParamValidationError
    from airflow.utils.session import create_session

    def run_count() -> int:  # the session DB also holds other tests' runs of this DAG
        with create_session() as session:
            return session.query(DagRun).filter(DagRun.dag_id == jawiki_dag.dag_id).count()

    runs_before = run_count()
    with pytest.raises(ParamValidationError, match="dump_date"):
        jawiki_dag.test(run_conf={"dump_date": "2025-08-01"})
    assert run_count() == runs_before


def test_local_runner_parses_in_the_pool_and_emits_the_asset(config, jawiki_dag) -> None:
    task = jawiki_dag.get_task("parse_articles")
    assert task.pool == config.settings.beam.pool
    assert [a.name for a in task.outlets] == ["wikidrop_jawiki_parsed"]
    assert task.outlets[0].uri == f"gs://{config.settings.staging_bucket}/jawiki/parsed"


def test_dataflow_runner_uses_the_beam_operator_or_names_the_extra(config) -> None:
    """The Dataflow branch needs the optional provider: used when installed, named when not."""
    from wikidrop_airflow.dag_factory import build_edition_dag
    from wikidrop_airflow.stages.parse import DATAFLOW_EXTRA_HINT

    beam = config.settings.beam.model_copy(
        update={
            "runner": "dataflow",
            "dataflow_project": "my-project",
            "dataflow_region": "europe-west1",
            "dataflow_temp_location": "gs://my-temp/beam",
        }
    )
    dataflow_config = config.model_copy(
        update={"settings": config.settings.model_copy(update={"beam": beam})}
    )
    try:
        from airflow.providers.apache.beam.operators.beam import BeamRunPythonPipelineOperator
    except ImportError:
        with pytest.raises(ImportError, match=r"wikidrop\[dataflow\]") as excinfo:
            build_edition_dag(config.edition("jawiki"), dataflow_config)
        assert str(excinfo.value) == DATAFLOW_EXTRA_HINT
        return
    dag = build_edition_dag(config.edition("jawiki"), dataflow_config)
    task = dag.get_task("parse_articles")
    assert isinstance(task, BeamRunPythonPipelineOperator)
    assert task.runner == "DataflowRunner" and task.pool == beam.pool


def test_parse_job_command_line(config) -> None:
    """What parse_articles hands to ``python -m beam_jobs.parse_dump``: every staged part, in order."""
    from wikidrop_airflow.stages.parse import beam_job_options, options_to_argv

    from wikidrop.contracts import RunContext

    staging = f"gs://{config.settings.staging_bucket}/ukwiki/20261101"
    staged = {
        "dumpstatus_uri": f"{staging}/dump/dumpstatus.json",
        "files": [],
        "pages_articles": [f"{staging}/dump/p1.xml.bz2", f"{staging}/dump/p2.xml.bz2"],
        "index": [f"{staging}/dump/i1.txt.bz2", f"{staging}/dump/i2.txt.bz2"],
        "siteinfo_json": f"{staging}/dump/siteinfo.json.gz",
    }
    run_context = RunContext(
        dbname="ukwiki",
        language="uk",
        dump_date="20261101",
        mirror="https://dumps.wikimedia.org",
        partners=[],
        run_id="manual__test",
        staging_bucket=config.settings.staging_bucket,
    ).to_xcom()
    argv = options_to_argv(beam_job_options(config.edition("ukwiki"), run_context, staged))
    assert argv == [
        *("--input", staged["pages_articles"][0], "--input", staged["pages_articles"][1]),
        *("--index", staged["index"][0], "--index", staged["index"][1]),
        *("--siteinfo", staged["siteinfo_json"]),
        *("--output", f"{staging}/parsed"),
        *("--dbname", "ukwiki", "--namespaces", "0", "--scripts", "Cyrillic", "--dump-date", "20261101"),
    ]
    # A staged page_props table is read too; a StagedDump without one parses without it.
    staged["page_props"] = f"{staging}/dump/ukwiki-20261101-page_props.sql.gz"
    argv = options_to_argv(beam_job_options(config.edition("ukwiki"), run_context, staged))
    assert argv[-2:] == ["--page-props", staged["page_props"]]
