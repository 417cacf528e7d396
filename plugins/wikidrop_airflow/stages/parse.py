"""parse_articles: the Beam parse job over the staged dump, in the task or on Dataflow.

``settings.beam.runner`` picks where it runs:

- ``local``: ``python -m beam_jobs.parse_dump`` on Beam's local runner (multi-threaded), run by
  the task itself as a child process; right for the demo, tests and small editions.
- ``dataflow``: Airflow's ``BeamRunPythonPipelineOperator`` submits the same job to Dataflow. It
  needs the optional extra ``wikidrop[dataflow]`` (apache-airflow-providers-apache-beam[google]),
  imported only on this branch so the base install stays light.

Both serialise Beam jobs through the pool ``settings.beam.pool`` and end in a task that returns the
ParsedOutput contract and emits the edition's parsed-output Asset, so other DAGs can schedule on it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import Asset, XComArg

    from wikidrop.config import EditionConfig, Settings

DATAFLOW_RUNNER = "DataflowRunner"
DATAFLOW_EXTRA_HINT = (
    "settings.beam.runner is 'dataflow' but the Apache Beam provider is not installed: "
    "pip install 'wikidrop[dataflow]' (apache-airflow-providers-apache-beam[google])"
)


def parsed_asset(edition: EditionConfig, settings: Settings) -> Asset:
    """The edition-level Asset updated by every successful parse (event extra names the dump date)."""
    from airflow.sdk import Asset

    from wikidrop.layout import parsed_asset_uri

    return Asset(
        name=f"wikidrop_{edition.dbname}_parsed",
        uri=parsed_asset_uri(settings.staging_bucket, edition.dbname),
        group="wikidrop",
        extra={"dbname": edition.dbname, "language": edition.language},
    )


def add_parse_stage(
    edition: EditionConfig, settings: Settings, run_context: XComArg, staged: XComArg
) -> XComArg:
    """Create the parse tasks for the configured runner; return the ParsedOutput XComArg."""
    if settings.beam.runner == "dataflow":
        return _add_dataflow_parse(edition, settings, run_context, staged)
    return _add_local_parse(edition, settings, run_context, staged)


def beam_job_options(edition: EditionConfig, run_context: dict[str, Any], staged: dict[str, Any]) -> dict:
    """The parse job's own CLI options (``python -m beam_jobs.parse_dump --help``), runner-neutral."""
    from wikidrop.contracts import RunContext, StagedDump

    context, dump = RunContext.from_xcom(run_context), StagedDump.from_xcom(staged)
    options = {
        "input": list(dump.pages_articles),
        "index": list(dump.index),
        "siteinfo": dump.siteinfo_json,
        "output": context.partition.parsed_uri,
        "dbname": edition.dbname,
        "namespaces": ",".join(str(ns) for ns in edition.namespaces),
        "scripts": ",".join(edition.scripts),
        "dump-date": context.dump_date,
    }
    if dump.page_props:
        options["page-props"] = dump.page_props
    return options


def dataflow_pipeline_options(
    edition: EditionConfig, settings: Settings, run_context: dict[str, Any], staged: dict[str, Any]
) -> dict[str, Any]:
    """What the Dataflow branch submits the job with, besides ``--runner`` (the operator adds
    ``job_name`` and labels): the job's own options, project, region, temp location and
    ``dataflow_extra_options`` (e.g. ``extra_package``). tests/test_dataflow_job.py builds the
    Dataflow job request from exactly this, with ``--dry_run``."""
    beam = settings.beam
    platform = {
        "project": beam.dataflow_project,
        "region": beam.dataflow_region,
        "temp_location": beam.dataflow_temp_location,
    }
    return (
        beam_job_options(edition, run_context, staged)
        | {key: value for key, value in platform.items() if value is not None}
        | dict(beam.dataflow_extra_options)
    )


def dataflow_job_name(edition: EditionConfig) -> str:
    """The Dataflow job name of an edition's parse (the operator appends a unique suffix per run)."""
    return f"wikidrop-{edition.dbname.replace('_', '-')}"


def options_to_argv(options: dict[str, Any]) -> list[str]:
    """``{"input": [a, b], "dbname": x}`` -> ``["--input", a, "--input", b, "--dbname", x]``."""
    argv: list[str] = []
    for key, value in options.items():
        for item in value if isinstance(value, list) else [value]:
            argv += [f"--{key}", str(item)]
    return argv


def _add_local_parse(
    edition: EditionConfig, settings: Settings, run_context: XComArg, staged: XComArg
) -> XComArg:
    from airflow.sdk import task

    asset = parsed_asset(edition, settings)

    @task(task_id="parse_articles", pool=settings.beam.pool, outlets=[asset])
    def parse_articles(run_context: dict[str, Any], staged: dict[str, Any]) -> dict[str, Any]:
        """Run the Beam job on the local runner, as a child of this task; its log lines stream here."""
        local_runner = {
            "runner": "DirectRunner",
            "direct_running_mode": "multi_threading",
            "direct_num_workers": settings.beam.direct_num_workers,
        }
        argv = options_to_argv(beam_job_options(edition, run_context, staged) | local_runner)
        run_parse_job(argv, gcs_endpoint=_staging_hook(settings).emulator_endpoint())
        return _finish(asset, settings, run_context)

    return parse_articles(run_context, staged)


def _add_dataflow_parse(
    edition: EditionConfig, settings: Settings, run_context: XComArg, staged: XComArg
) -> XComArg:
    try:
        from airflow.providers.apache.beam.operators.beam import BeamRunPythonPipelineOperator
        from airflow.providers.google.cloud.operators.dataflow import DataflowConfiguration
    except ImportError as exc:
        raise ImportError(DATAFLOW_EXTRA_HINT) from exc
    from airflow.sdk import task

    asset = parsed_asset(edition, settings)
    beam = settings.beam

    @task(task_id="dataflow_options")
    def dataflow_options(run_context: dict[str, Any], staged: dict[str, Any]) -> dict[str, Any]:
        """Job options from the staged files (XCom), rendered into the operator at run time."""
        return dataflow_pipeline_options(edition, settings, run_context, staged)

    options = dataflow_options(run_context, staged)
    submit = BeamRunPythonPipelineOperator(
        task_id="parse_articles",
        runner=DATAFLOW_RUNNER,
        py_file="beam_jobs.parse_dump",
        py_options=["-m"],
        pipeline_options=options,
        pool=beam.pool,
        dataflow_config=DataflowConfiguration(
            job_name=dataflow_job_name(edition),
            project_id=beam.dataflow_project,
            location=beam.dataflow_region,
            wait_until_finished=True,
        ),
    )

    @task(task_id="parse_output", outlets=[asset])
    def parse_output(run_context: dict[str, Any]) -> dict[str, Any]:
        """Read the job's stats.json and list its shards: the same contract as the local branch."""
        return _finish(asset, settings, run_context)

    parsed = parse_output(run_context)
    options >> submit >> parsed
    return parsed


def run_parse_job(argv: list[str], gcs_endpoint: str | None = None) -> None:
    """``python -m beam_jobs.parse_dump ARGV`` on the local runner, a child of the task
    (``wikidrop_airflow.local_beam``); an input error fails the task without retries."""
    from wikidrop_airflow.local_beam import run_local_beam_job

    run_local_beam_job("beam_jobs.parse_dump", argv, gcs_endpoint=gcs_endpoint)


def _staging_hook(settings: Settings):
    from wikidrop_airflow.hooks.gcs import WikidropGCSHook

    return WikidropGCSHook(settings.staging_conn_id, "staging bucket")


def _committed_output(settings: Settings, run_context: dict[str, Any]) -> tuple[Any, Any]:
    """(GCS client, ParseOutput) of the parse attempt the job committed last in this partition."""
    from wikidrop.contracts import RunContext
    from wikidrop.gcs import committed_output_uri
    from wikidrop.layout import ParseOutput

    client = _staging_hook(settings).get_client()
    root = RunContext.from_xcom(run_context).partition.parsed_uri
    committed = committed_output_uri(client, root)
    if committed is None:
        raise RuntimeError(f"the parse job committed no output under {root}/")
    return client, ParseOutput(committed)


def _finish(asset: Asset, settings: Settings, run_context: dict[str, Any]) -> dict[str, Any]:
    """ParsedOutput for XCom + the Asset event, from the committed attempt (read once, used throughout)."""
    from airflow.sdk import get_current_context

    from wikidrop.contracts import ParsedOutput, RunContext
    from wikidrop.gcs import read_json_uri, split_gs_uri

    run = RunContext.from_xcom(run_context)
    client, output = _committed_output(settings, run_context)
    stats = read_json_uri(client, output.stats_uri)
    bucket, prefix = split_gs_uri(output.articles_uri)
    # Only the job's final shards: never Beam's beam-temp-* working directories.
    shards = sorted(
        f"gs://{bucket}/{blob.name}"
        for blob in client.list_blobs(bucket, prefix=f"{prefix}/", delimiter="/")
        if blob.name.rsplit("/", 1)[-1].startswith("part-") and blob.name.endswith(".parquet")
    )
    if not shards:
        raise RuntimeError(f"parse job wrote no Parquet shards under {output.articles_uri}/")
    context = get_current_context()
    context["outlet_events"][asset].extra = {
        "dump_date": run.dump_date,
        "parsed_uri": output.uri,
        "articles": stats.get("articles"),
        "run_id": run.run_id,
    }
    return ParsedOutput(parsed_uri=output.uri, stats=stats, article_shards=shards).to_xcom()
