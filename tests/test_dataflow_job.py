"""The parse job's Dataflow job, built offline with ``--dry_run`` from the options the DAG submits.

``settings.beam.runner: dataflow`` makes ``parse_articles`` hand ``dataflow_pipeline_options`` to
Airflow's Beam operator, which runs ``python -m beam_jobs.parse_dump --runner DataflowRunner`` plus
a job name. Here the same options (the staged dump on the GCS emulator, the project's sdist as
``extra_package`` through ``dataflow_extra_options``) go to Beam's DataflowRunner with
``--dry_run``: the job request is built, with its pipeline and staged files, and nothing is submitted,
uploaded or written. Outbound connections other than to 127.0.0.1 fail the test.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, SHARED_DUMPS

pytestmark = pytest.mark.realdata

DUMP = SHARED_DUMPS / "derived" / "jawiki-20250801-head-100k-lines-multistream.xml.bz2"
INDEX = SHARED_DUMPS / "derived" / "jawiki-20250801-head-100k-lines-multistream-index.txt.bz2"
SITEINFO = PROJECT_ROOT / "samples" / "jawiki-20261101-siteinfo.json"
DUMP_DATE = "20250801"
# The job's steps as the Dataflow service receives them (top level, then inside ParseArticles).
STEPS = {
    "ListReadTasks",
    "ParseArticles",
    "WriteArticles",
    "WriteRedirects",
    "WriteDeadLetters",
    "WriteStats",
    "WriteState",
}
PARSE_STEPS = {"ScanTitles", "JoinRedirectsToTitles", "GiveTasksTheirRedirects", "ReadPages", "ParseArticles"}
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


@pytest.fixture(scope="module")
def sdist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's sdist, built by setuptools' PEP 517 backend from a copy of what it packages
    (so the checkout gets no egg-info), as ``python -m build --sdist`` would build it."""
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())
    packages = {p.split(".")[0] for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    source = tmp_path_factory.mktemp("sdist-source")
    shutil.copy2(PROJECT_ROOT / "pyproject.toml", source)
    for package in sorted(packages):
        shutil.copytree(
            PROJECT_ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    dist = tmp_path_factory.mktemp("dist")
    build = "import sys; from setuptools import build_meta; print(build_meta.build_sdist(sys.argv[1]))"
    done = subprocess.run(
        [sys.executable, "-c", build, str(dist)],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return dist / done.stdout.strip().splitlines()[-1]


@pytest.fixture
def loopback_only(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Refuse (and record) every socket connection that is not to this machine."""
    refused: list[object] = []
    connect = socket.socket.connect

    def guarded_connect(sock: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if sock.family in (socket.AF_INET, socket.AF_INET6) and host not in LOOPBACK:
            refused.append(address)
            raise OSError(f"test forbids network access: {address}")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    return refused


def test_dry_run_builds_the_dataflow_job_from_the_dags_options(
    sdist: Path, gcs_client, make_bucket, loopback_only
) -> None:
    import apache_beam
    from apache_beam.options.pipeline_options import GoogleCloudOptions, SetupOptions
    from apache_beam.portability import common_urns
    from apache_beam.portability.api import beam_runner_api_pb2
    from google.cloud import dataflow
    from wikidrop_airflow.stages.parse import (
        DATAFLOW_RUNNER,
        dataflow_job_name,
        dataflow_pipeline_options,
        options_to_argv,
    )

    from beam_jobs.parse_dump import run_job
    from wikidrop.config import load_config
    from wikidrop.contracts import RunContext, StagedDump
    from wikidrop.layout import StagingPartition

    bucket = make_bucket("staging")
    partition = StagingPartition(bucket, "jawiki", DUMP_DATE)
    staged = StagedDump(
        dumpstatus_uri=f"{partition.dump_uri}/dumpstatus.json",
        files=[],
        pages_articles=[f"{partition.dump_uri}/{DUMP.name}"],
        index=[f"{partition.dump_uri}/{INDEX.name}"],
        siteinfo_json=f"{partition.dump_uri}/jawiki-{DUMP_DATE}-siteinfo-namespaces.json.gz",
    )
    for uri, data in zip(
        staged.pages_articles + staged.index + [staged.siteinfo_json],
        [DUMP.read_bytes(), INDEX.read_bytes(), gzip.compress(SITEINFO.read_bytes())],
        strict=True,
    ):
        gcs_client.bucket(bucket).blob(uri.removeprefix(f"gs://{bucket}/")).upload_from_string(data)
    staged_objects = {b.name for b in gcs_client.list_blobs(bucket)}

    config = load_config()
    beam_settings = config.settings.beam.model_copy(
        update={
            "runner": "dataflow",
            "dataflow_project": "wikidrop-test",
            "dataflow_region": "europe-west4",
            "dataflow_temp_location": "gs://wikidrop-dataflow-temp/beam",
            "dataflow_extra_options": {"extra_package": str(sdist)},
        }
    )
    settings = config.settings.model_copy(update={"staging_bucket": bucket, "beam": beam_settings})
    edition = config.edition("jawiki")
    run_context = RunContext(
        dbname="jawiki",
        language="ja",
        dump_date=DUMP_DATE,
        mirror="https://dumps.wikimedia.org",
        partners=[],
        run_id="manual__dataflow-test",
        staging_bucket=bucket,
    )
    options = dataflow_pipeline_options(edition, settings, run_context.to_xcom(), staged.to_xcom())
    argv = ["--runner", DATAFLOW_RUNNER, *options_to_argv(options)]
    argv += ["--job_name", dataflow_job_name(edition), "--dry_run", "True"]

    run = run_job(argv)

    assert run.stats is None
    job = run.result.job
    assert job.proto.name == dataflow_job_name(edition) == "wikidrop-jawiki"
    assert job.proto.type_ == dataflow.JobType.JOB_TYPE_BATCH
    cloud = job.options.view_as(GoogleCloudOptions)
    assert (cloud.project, cloud.region) == ("wikidrop-test", "europe-west4")
    assert cloud.temp_location.startswith("gs://wikidrop-dataflow-temp/beam/wikidrop-jawiki.")
    assert job.options.view_as(SetupOptions).extra_packages == [str(sdist)]

    transforms = job.proto_pipeline.components.transforms.values()
    names = {t.unique_name for t in transforms}
    assert {n for n in names if "/" not in n} >= STEPS, sorted(names)
    assert {f"ParseArticles/{step}" for step in PARSE_STEPS} <= names, sorted(names)

    # The workers' environment: Beam's SDK container of this Beam and Python version, with the
    # project's sdist staged for them to install (the same bytes as built here).
    (environment,) = job.proto_pipeline.components.environments.values()
    assert environment.urn == common_urns.environments.DOCKER.urn
    image = beam_runner_api_pb2.DockerPayload.FromString(environment.payload).container_image
    python = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert image.endswith(f"/beam_python{python}_sdk:{apache_beam.__version__}"), image
    staged_files = {}
    for artifact in environment.dependencies:
        if artifact.role_urn == common_urns.artifact_roles.STAGING_TO.urn:
            name = beam_runner_api_pb2.ArtifactStagingToRolePayload.FromString(artifact.role_payload)
            payload = beam_runner_api_pb2.ArtifactFilePayload.FromString(artifact.type_payload)
            staged_files[name.staged_name] = Path(payload.path)
    assert (
        hashlib.sha256(staged_files[sdist.name].read_bytes()).digest()
        == hashlib.sha256(sdist.read_bytes()).digest()
    )
    assert "extra_packages.txt" in staged_files

    # Nothing submitted, uploaded or written: no connection left the machine, the staging bucket
    # holds only the staged dump, and the temp bucket was never created.
    assert loopback_only == []
    assert {b.name for b in gcs_client.list_blobs(bucket)} == staged_objects
    assert gcs_client.lookup_bucket("wikidrop-dataflow-temp") is None
