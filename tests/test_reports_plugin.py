"""The Data Docs browser inside the real Airflow API server app, behind Airflow's real login.

The app is Airflow's own ``create_app()`` (plugins loaded from the project's plugins folder, the
simple auth manager issuing real JWTs from a passwords file), driven with FastAPI's TestClient;
report files come from the GCS emulator.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from urllib.parse import urljoin

import pytest

from wikidrop.config import DEFAULT_CONFIG_PATH, load_config
from wikidrop.layout import report_prefix

RUN_ID = "manual__2026-11-23T10:00:00+00:00"
REPORT_HTML = b"<html><body>frwiki report</body></html>"


@pytest.fixture(scope="module")
def reports_bucket(gcs_emulator, tmp_path_factory) -> Iterator[str]:
    """A reports bucket holding one published frwiki run, and a config pointing at it."""
    from wikidrop_airflow.reports.datadocs import write_run_pointer

    from wikidrop.gcs import storage_client

    client = storage_client(endpoint=gcs_emulator)
    bucket = f"reports-{uuid.uuid4().hex[:10]}"
    target = client.create_bucket(bucket)
    prefix = report_prefix("frwiki", "20250801", RUN_ID)
    target.blob(f"{prefix}/index.html").upload_from_string(REPORT_HTML, content_type="text/html")
    target.blob(f"{prefix}/static/vendor/x.css").upload_from_string(b"body{}")
    target.blob("secret.txt").upload_from_string(b"not a report")
    target.blob("jawiki/20250801/other/index.html").upload_from_string(b"jawiki report")
    summary = {
        "dbname": "frwiki",
        "dump_date": "20250801",
        "run_id": RUN_ID,
        "success": False,
        "counts": {"articles": 1234, "critical_failures": 2, "warnings": 1},
    }
    write_run_pointer(client, bucket, summary, prefix)

    config = tmp_path_factory.mktemp("config") / "wikidrop.yaml"
    config.write_text(
        DEFAULT_CONFIG_PATH.read_text().replace(
            "reports_bucket: wikidrop-reports", f"reports_bucket: {bucket}"
        )
    )
    staging_conn = "AIRFLOW_CONN_" + load_config(config).settings.staging_conn_id.upper()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WIKIDROP_CONFIG", str(config))
        # The app reads the reports bucket through the staging connection, as in production.
        patch.setenv(
            staging_conn,
            json.dumps({"conn_type": "google_cloud_platform", "extra": {"endpoint": gcs_emulator}}),
        )
        yield bucket


@pytest.fixture(scope="module")
def airflow_api(airflow_db, reports_bucket, tmp_path_factory):
    """Airflow's API server app with the simple auth manager and one viewer account."""
    from airflow.api_fastapi.app import create_app, purge_cached_app

    passwords = tmp_path_factory.mktemp("auth") / "passwords.json"
    passwords.write_text(json.dumps({"analyst": "correct horse battery"}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(
            "AIRFLOW__CORE__AUTH_MANAGER",
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        )
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS", "analyst:viewer")
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "False")
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE", str(passwords))
        patch.setenv("AIRFLOW__API_AUTH__JWT_SECRET", "wikidrop-test-jwt-secret-" + "0123456789abcdef" * 4)
        purge_cached_app()
        yield create_app()
        purge_cached_app()


@pytest.fixture
def api_client(airflow_api):
    """A fresh browser: no cookie until ``login``."""
    from fastapi.testclient import TestClient

    with TestClient(airflow_api, base_url="http://localhost") as client:
        yield client


def login(client) -> None:
    """Log in as the UI does: a JWT from the auth manager, kept in Airflow's ``_token`` cookie."""
    response = client.post("/auth/token", json={"username": "analyst", "password": "correct horse battery"})
    assert response.status_code == 201, response.text
    client.cookies.set("_token", response.json()["access_token"])


def test_plugin_registers_app_nav_entry_and_run_link(api_client, reports_bucket) -> None:
    login(api_client)
    plugins = api_client.get("/api/v2/plugins").json()["plugins"]
    [plugin] = [p for p in plugins if p["name"] == "wikidrop_reports"]
    assert plugin["fastapi_apps"][0]["url_prefix"] == "/wikidrop-reports"
    views = {v["destination"]: v for v in plugin["external_views"]}
    assert views["nav"]["name"] == "Data quality reports" and views["nav"]["href"] == "/wikidrop-reports/"
    assert views["dag_run"]["href"] == "/wikidrop-reports/runs/{DAG_ID}/{RUN_ID}"


def test_reports_need_airflow_login(api_client, reports_bucket) -> None:
    prefix = report_prefix("frwiki", "20250801", RUN_ID)
    for path in (
        "/wikidrop-reports/",
        f"/wikidrop-reports/{prefix}/index.html",
        "/wikidrop-reports/runs/x/y",
    ):
        assert api_client.get(path).status_code == 401, path
    api_client.cookies.set("_token", "not-a-jwt")
    assert api_client.get(f"/wikidrop-reports/{prefix}/index.html").status_code in (401, 403)


def test_logged_in_analyst_lists_runs_and_opens_reports(api_client, reports_bucket) -> None:
    login(api_client)
    prefix = report_prefix("frwiki", "20250801", RUN_ID)

    listing = api_client.get("/wikidrop-reports/")
    assert listing.status_code == 200
    assert "frwiki" in listing.text and "jawiki" in listing.text and RUN_ID in listing.text
    assert f'href="{prefix}/index.html"' in listing.text  # relative to /wikidrop-reports/
    assert "failed" in listing.text and "1234" in listing.text

    report = api_client.get(f"/wikidrop-reports/{prefix}/index.html")
    assert report.status_code == 200 and report.content == REPORT_HTML
    assert report.headers["content-type"].startswith("text/html")
    assert (
        api_client.get(f"/wikidrop-reports/{prefix}/static/vendor/x.css")
        .headers["content-type"]
        .startswith("text/css")
    )

    run_link = api_client.get(f"/wikidrop-reports/runs/wikidrop_frwiki/{RUN_ID}", follow_redirects=False)
    assert run_link.status_code == 307
    location = urljoin(str(run_link.url), run_link.headers["location"])
    assert location == f"http://localhost/wikidrop-reports/{prefix}/index.html"
    assert api_client.get(location).content == REPORT_HTML
    pending = api_client.get("/wikidrop-reports/runs/wikidrop_frwiki/manual__not-validated-yet")
    assert pending.status_code == 200 and "No report" in pending.text
    assert api_client.get(f"/wikidrop-reports/{prefix}/missing.html").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "frwiki/20250801/{run}/..%2F..%2F..%2Fsecret.txt",
        "frwiki/20250801/{run}/%2e%2e/%2e%2e/%2e%2e/secret.txt",
        "frwiki/20250801/%2e%2e/%2e%2e/secret.txt",
        "frwiki/20250801/{run}/static/..%2F..%2F..%2F..%2Fjawiki/20250801/other/index.html",
        "frwiki/20250801/{run}/..\\..\\..\\secret.txt",
    ],
)
def test_path_traversal_is_refused(api_client, reports_bucket, path: str) -> None:
    login(api_client)
    run = report_prefix("frwiki", "20250801", RUN_ID).rsplit("/", 1)[-1]
    response = api_client.get("/wikidrop-reports/" + path.format(run=run))
    assert response.status_code == 404, response.text
    assert b"not a report" not in response.content and b"jawiki report" not in response.content


@pytest.mark.parametrize(
    "raw_path",
    [
        "/wikidrop-reports/frwiki/../../secret.txt",
        "/wikidrop-reports/frwiki/20250801/{run}/../../../secret.txt",
        "/wikidrop-reports/frwiki/20250801/{run}/static/../../../../jawiki/20250801/other/index.html",
        "/wikidrop-reports/frwiki/20250801/{run}/./index.html",
    ],
)
def test_literal_dot_segments_are_refused(api_client, reports_bucket, raw_path: str) -> None:
    """Browsers and httpx resolve ``../`` before sending; a raw client need not (uvicorn passes it on)."""
    login(api_client)
    run = report_prefix("frwiki", "20250801", RUN_ID).rsplit("/", 1)[-1]
    assert asgi_get(api_client, f"/wikidrop-reports/frwiki/20250801/{run}/index.html")[0] == 200  # control
    status, body = asgi_get(api_client, raw_path.format(run=run))
    assert status == 404, body[:300]
    assert b"not a report" not in body and b"jawiki report" not in body


def asgi_get(client, path: str) -> tuple[int, bytes]:
    """GET ``path`` exactly as written (no dot-segment removal) through the app's ASGI interface."""
    import anyio

    cookie = "; ".join(f"{k}={v}" for k, v in client.cookies.items()).encode()
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"localhost"), (b"cookie", cookie)],
        "client": ("127.0.0.1", 50000),
        "server": ("localhost", 80),
    }
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    anyio.run(client.app, scope, receive, send)
    status = next(m["status"] for m in sent if m["type"] == "http.response.start")
    return status, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
