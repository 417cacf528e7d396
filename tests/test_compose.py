"""docker-compose.yaml and Dockerfile: valid compose, the production-shaped services, no typos.

No Docker engine runs here, so the file is checked two ways: against the Compose Specification JSON
schema (``tests/data/compose_spec.json``, vendored from Debian's docker-compose 1.29.2 package,
``compose/config/compose_spec.json``, Apache-2.0) and, where installed, by ``docker-compose config``
(`.ci/run` installs Debian's docker-compose).
"""

from __future__ import annotations

import copy
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import PROJECT_ROOT, require_tool

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
import devstack  # scripts/ is not a package

COMPOSE = PROJECT_ROOT / "docker-compose.yaml"
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
SCHEMA = Path(__file__).parent / "data" / "compose_spec.json"
# Variables docker-compose.yaml requires (``${VAR:?...}``): no default secret ever reaches a deployment.
REQUIRED_SECRETS = ("AIRFLOW_JWT_SECRET", "WIKIDROP_WEBHOOK_SECRET", "_AIRFLOW_WWW_USER_PASSWORD")
AIRFLOW_SERVICES = {
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
    "airflow-init",
    "airflow-worker",
}
# The CeleryExecutor variant: its services' profile, and the variable that switches the executor.
CELERY_VARIANT = {"COMPOSE_PROFILES": "celery", "AIRFLOW_EXECUTOR": "CeleryExecutor"}


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def schema_errors(document: dict) -> list[str]:
    from jsonschema import Draft201909Validator

    validator = Draft201909Validator(json.loads(SCHEMA.read_text()))
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def test_compose_matches_the_compose_spec(compose: dict) -> None:
    assert schema_errors(compose) == []


@pytest.mark.parametrize(
    ("where", "typo"),
    [
        (("services", "airflow-scheduler"), ("healthcheck", "healtcheck")),
        (("services", "postgres"), ("image", "imgae")),
        ((), ("volumes", "volume")),
        (("services", "airflow-apiserver", "healthcheck"), ("interval", "intervall")),
    ],
)
def test_a_typo_fails_the_schema_check(compose: dict, where: tuple[str, ...], typo: tuple[str, str]) -> None:
    broken = copy.deepcopy(compose)
    node = broken
    for key in where:
        node = node[key]
    node[typo[1]] = node.pop(typo[0])
    assert schema_errors(broken), f"{'.'.join(where)}.{typo[1]} was accepted"


def compose_config(
    compose_file: Path, env_file: Path, *args: str, variables: dict[str, str] | None = None
) -> subprocess.CompletedProcess:
    """``docker-compose config`` with only ``env_file`` (and ``variables``) as the source of variables."""
    binary = require_tool("docker-compose")
    environ = {k: v for k, v in os.environ.items() if k not in REQUIRED_SECRETS and k not in CELERY_VARIANT}
    environ |= variables or {}
    return subprocess.run(
        [binary, "-f", str(compose_file), "--env-file", str(env_file), "config", *args],
        capture_output=True,
        text=True,
        env=environ,
        check=False,
    )


@pytest.fixture
def env_file(tmp_path: Path) -> Path:
    """A ``.env`` as ``python scripts/devstack.py compose-env`` writes it."""
    path = tmp_path / ".env"
    devstack.write_compose_env(path)
    return path


def test_docker_compose_config_accepts_the_file(tmp_path: Path, env_file: Path) -> None:
    ok = compose_config(COMPOSE, env_file, "-q")
    assert ok.returncode == 0, ok.stderr
    typo = tmp_path / "docker-compose.yaml"
    typo.write_text(COMPOSE.read_text().replace("    command: scheduler\n", "    comand: scheduler\n"))
    bad = compose_config(typo, env_file, "-q")
    assert bad.returncode != 0 and "comand" in bad.stderr


@pytest.mark.parametrize("missing", REQUIRED_SECRETS)
def test_compose_refuses_to_start_without_each_secret(tmp_path: Path, env_file: Path, missing: str) -> None:
    partial = tmp_path / "partial.env"
    partial.write_text("".join(line for line in env_file.open() if not line.startswith(f"{missing}=")))
    refused = compose_config(COMPOSE, partial, "-q")
    assert refused.returncode != 0
    assert f"set {missing} in .env" in refused.stderr, refused.stderr[-500:]


def test_secrets_reach_the_services_and_no_default_is_left(env_file: Path) -> None:
    assert "change-me" not in COMPOSE.read_text()
    secrets = dict(line.strip().split("=", 1) for line in env_file.open() if "=" in line)
    rendered = compose_config(COMPOSE, env_file)
    assert rendered.returncode == 0, rendered.stderr
    services = yaml.safe_load(rendered.stdout)["services"]
    env = services["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__API_AUTH__JWT_SECRET"] == secrets["AIRFLOW_JWT_SECRET"]
    assert env["AIRFLOW__CORE__FERNET_KEY"] == secrets["AIRFLOW_FERNET_KEY"]
    webhook = json.loads(env["AIRFLOW_CONN_WIKIDROP_WEBHOOK_ACME_AI"])
    assert webhook["password"] == secrets["WIKIDROP_WEBHOOK_SECRET"]
    init_env = services["airflow-init"]["environment"]
    assert init_env["_AIRFLOW_WWW_USER_PASSWORD"] == secrets["_AIRFLOW_WWW_USER_PASSWORD"]


def test_compose_env_is_private_fresh_and_never_overwritten(tmp_path: Path) -> None:
    first, second = tmp_path / "a.env", tmp_path / "b.env"
    devstack.write_compose_env(first)
    devstack.write_compose_env(second)
    assert stat.S_IMODE(first.stat().st_mode) == 0o600
    values = [
        dict(line.split("=", 1) for line in p.read_text().splitlines() if "=" in line)
        for p in (first, second)
    ]
    assert set(REQUIRED_SECRETS) <= set(values[0])
    for name in REQUIRED_SECRETS:
        assert values[0][name] != values[1][name] and len(values[0][name]) >= 20, name
    assert values[0]["WIKIDROP_WEBHOOK_SECRET"].startswith("whsec_")
    before = first.read_text()
    with pytest.raises(FileExistsError):
        devstack.write_compose_env(first)
    assert first.read_text() == before


def test_production_shaped_services(compose: dict) -> None:
    services = compose["services"]
    assert set(services) == AIRFLOW_SERVICES | {"postgres", "fake-gcs-server", "redis"}
    assert services["fake-gcs-server"]["image"].startswith("fsouza/fake-gcs-server")
    for name in AIRFLOW_SERVICES:
        service = services[name]
        assert service["build"] == ".", name
        env = service["environment"]
        assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql"), name
        mounts = {v.split(":")[1] for v in service["volumes"]}
        assert {"/opt/wikidrop/dags", "/opt/wikidrop/plugins", "/opt/wikidrop/config"} <= mounts, name
        assert env["AIRFLOW__CORE__DAGS_FOLDER"] == "/opt/wikidrop/dags"
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    # Everything published binds to loopback only.
    for service in services.values():
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), port


def test_celery_variant_is_one_profile_and_one_variable(compose: dict, env_file: Path) -> None:
    """Redis and airflow-worker start only in the ``celery`` profile; AIRFLOW_EXECUTOR switches every
    Airflow service to the CeleryExecutor on that Redis, as in Airflow's official compose file."""
    services = compose["services"]
    assert {name for name, s in services.items() if "celery" in s.get("profiles", [])} == {
        "redis",
        "airflow-worker",
    }
    assert all(s.get("profiles") in (None, ["celery"]) for s in services.values())

    def rendered(variables: dict[str, str] | None) -> dict:
        done = compose_config(COMPOSE, env_file, variables=variables)
        assert done.returncode == 0, done.stderr
        return yaml.safe_load(done.stdout)["services"]

    local, celery = rendered(None), rendered(CELERY_VARIANT)
    assert {local[name]["environment"]["AIRFLOW__CORE__EXECUTOR"] for name in AIRFLOW_SERVICES} == {
        "LocalExecutor"
    }
    for name in AIRFLOW_SERVICES:
        env = celery[name]["environment"]
        assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor", name
        assert env["AIRFLOW__CELERY__BROKER_URL"] == "redis://:@redis:6379/0", name
        assert env["AIRFLOW__CELERY__RESULT_BACKEND"].startswith("db+postgresql://"), name
    worker = celery["airflow-worker"]
    assert worker["command"] == ["celery", "worker"] or worker["command"] == "celery worker"
    assert worker["depends_on"]["redis"]["condition"] == "service_healthy"
    assert worker["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"
    assert "inspect ping" in " ".join(worker["healthcheck"]["test"])
    assert celery["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert "ports" not in celery["redis"]  # reachable by the services only


def test_connections_cover_the_config(compose: dict) -> None:
    from wikidrop.config import load_config

    config = load_config()
    env = compose["services"]["airflow-scheduler"]["environment"]
    conn_ids = {config.settings.staging_conn_id, *(p.gcs_conn_id for p in config.partners)}
    conn_ids |= {p.notices.webhook.secret_conn_id for p in config.partners if p.notices.webhook}
    for conn_id in conn_ids:
        assert f"AIRFLOW_CONN_{conn_id.upper()}" in env, conn_id


def test_dockerfile_builds_from_the_pinned_requirements() -> None:
    text = DOCKERFILE.read_text()
    pinned = re.search(r"^apache-airflow==(\S+)$", (PROJECT_ROOT / "requirements.txt").read_text(), re.M)
    assert pinned is not None
    assert re.search(rf"^FROM apache/airflow:{re.escape(pinned[1])}-python3\.11$", text, re.M)
    assert "-r /opt/wikidrop/requirements.txt" in text
    assert f'"apache-airflow=={pinned[1]}"' in text
