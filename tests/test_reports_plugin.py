"""The Data Docs browser inside the real Airflow API server app, behind Airflow's real login.

The app is Airflow's own ``create_app()`` (plugins loaded from the project's plugins folder, the
simple auth manager issuing real JWTs from a passwords file), driven with FastAPI's TestClient;
report files come from the GCS emulator.
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import io
import json
import re
import uuid
from collections.abc import Iterator
from urllib.parse import urljoin

import pytest
from wikidrop_airflow.reports.csp import APP_POLICY, data_docs_policy

from wikidrop.config import DEFAULT_CONFIG_PATH, ValidationThresholds, load_config
from wikidrop.gcs import write_json_uri
from wikidrop.layout import drilldown_name, report_prefix, run_dir_name
from wikidrop.quality.drilldown import drilldown
from wikidrop.quality.gx import run_suite
from wikidrop.quality.run_summary import QualityMetrics, RunSummary, write_run_summary
from wikidrop.quality.suites import suite_parameters

RUN_ID = "manual__2026-11-23T10:00:00+00:00"
REPORT_HTML = b"<html><body>frwiki report</body></html>"
THRESHOLDS = ValidationThresholds().model_dump(mode="json")
# frwiki's history as its RunSummaries tell it: four snapshots (the first one, a failed one, one
# whose records have tables) and two nightly runs; numbers as validation writes them.
SAMPLE_RUNS = [
    RunSummary(
        dbname="frwiki",
        dump_date=date,
        run_id=run_id,
        run_dir=run_dir_name(run_id),
        built_at=f"2026-11-{day}T10:00:00+00:00",
        kind=kind,
        success=success,
        counts={"articles": metrics["articles"], "critical_failures": int(not success), "warnings": 1},
        metrics=QualityMetrics(**metrics),
        thresholds=THRESHOLDS,
        skipped=skipped,
    )
    for date, run_id, day, kind, success, skipped, metrics in [
        (
            "20250501",
            "scheduled__2025-05-02T00:00:00+00:00",
            "01",
            "snapshot",
            True,
            ["run_level expect_column_values_to_be_between(article_drop_vs_previous): no earlier snapshot"],
            {
                "articles": 1180, "redirects": 402, "pages_read": 1700, "dead_lettered": 2,
                "dead_letter_ratio": 2 / 1182, "dead_letter_ratio_by_reason": {"parse_timeout": 2 / 1182},
                "text_chars_median": 1834.2, "text_chars_p10": 211.7, "residue_per_10k_mean": 0.121,
                "stub_share": 0.081, "script_share_mean": 0.962, "infobox_coverage": 0.41,
                "reference_coverage": 0.77,
            },
        ),
        (
            "20250601",
            "scheduled__2025-06-02T00:00:00+00:00",
            "02",
            "snapshot",
            True,
            [],
            {
                "articles": 1203, "redirects": 410, "pages_read": 1731, "dead_lettered": 5,
                "dead_letter_ratio": 5 / 1208,
                "dead_letter_ratio_by_reason": {"parse_timeout": 3 / 1208, "too_large": 2 / 1208},
                "text_chars_median": 1851.9, "text_chars_p10": 208.3, "residue_per_10k_mean": 0.135,
                "stub_share": 0.079, "script_share_mean": 0.958, "infobox_coverage": 0.42,
                "reference_coverage": 0.78,
            },
        ),
        (
            "20250701",
            "manual__2025-07-03T08:30:00+00:00",
            "03",
            "snapshot",
            False,
            [],
            {
                "articles": 1190, "redirects": 415, "pages_read": 1752, "dead_lettered": 16,
                "dead_letter_ratio": 16 / 1206,
                "dead_letter_ratio_by_reason": {"parse_timeout": 4 / 1206, "too_large": 12 / 1206},
                "text_chars_median": 1790.4, "text_chars_p10": 150.2, "residue_per_10k_mean": 0.92,
                "stub_share": 0.085, "script_share_mean": 0.955, "infobox_coverage": 0.4,
                "reference_coverage": 0.76,
            },
        ),
        (
            "20250801",
            RUN_ID,
            "23",
            "snapshot",
            True,
            [],
            {
                "articles": 1234, "redirects": 421, "pages_read": 1770, "dead_lettered": 3,
                "dead_letter_ratio": 3 / 1237, "dead_letter_ratio_by_reason": {"too_large": 3 / 1237},
                "text_chars_median": 1877.0, "text_chars_p10": 219.9, "residue_per_10k_mean": 0.118,
                "stub_share": 0.077, "script_share_mean": 0.963, "infobox_coverage": 0.43,
                "table_coverage": 0.22, "reference_coverage": 0.79,
            },
        ),
        (
            "20250802",
            "nightly__2025-08-03T02:00:00+00:00",
            "24",
            "nightly",
            True,
            [],
            {
                "articles": 1236, "redirects": 421, "pages_read": 1772, "dead_lettered": 3,
                "dead_letter_ratio": 3 / 1239, "dead_letter_ratio_by_reason": {"too_large": 3 / 1239},
                "text_chars_median": 1876.4, "text_chars_p10": 220.3, "residue_per_10k_mean": 0.119,
                "stub_share": 0.077, "script_share_mean": 0.963, "infobox_coverage": 0.431,
                "table_coverage": 0.221, "reference_coverage": 0.791,
            },
        ),
        (
            "20250803",
            "nightly__2025-08-04T02:00:00+00:00",
            "25",
            "nightly",
            True,
            [],
            {
                "articles": 1239, "redirects": 422, "pages_read": 1776, "dead_lettered": 4,
                "dead_letter_ratio": 4 / 1243,
                "dead_letter_ratio_by_reason": {"parse_timeout": 1 / 1243, "too_large": 3 / 1243},
                "text_chars_median": 1878.1, "text_chars_p10": 221.0, "residue_per_10k_mean": 0.117,
                "stub_share": 0.076, "script_share_mean": 0.964, "infobox_coverage": 0.432,
                "table_coverage": 0.223, "reference_coverage": 0.792,
            },
        ),
    ]
]  # fmt: skip


def sample_drilldown() -> dict:
    """The drill-down of frwiki's failed 20250701 run, built by validation's own code from real checks."""
    from tests.test_validation import (
        DUMP_DATE,
        FR_EDITION,
        FR_SITE,
        dead_letter,
        frame_of,
        good_records,
        record,
    )

    dirty = "Paris {{Infobox Commune}} est [[Catégorie:Ville]] la capitale de la France."
    records = [*good_records(), record(77, "Sale <script>x</script>", dirty), record(78, "Sale 2", dirty)]
    result = run_suite(
        "articles", frame_of(records), suite_parameters(FR_EDITION, FR_SITE, DUMP_DATE), "part-00000"
    )
    dead_letters = [dead_letter(500), {**dead_letter(501, "too_large"), "name": "Grand Palais & <Co>"}]
    lines = "".join(json.dumps(d) + "\n" for d in dead_letters).encode()
    run = SAMPLE_RUNS[2]
    summary = {
        "dbname": "frwiki",
        "dump_date": run.dump_date,
        "run_id": run.run_id,
        "success": False,
        "skipped": [],
    }
    return drilldown(
        summary, [("part-00000", result)], [("dl.ndjson.gz", io.BytesIO(gzip.compress(lines)))], FR_SITE
    )


@pytest.fixture(scope="module")
def reports_bucket(gcs_emulator, tmp_path_factory) -> Iterator[str]:
    """A reports bucket holding frwiki's published runs, and a config pointing at it."""
    from wikidrop.gcs import storage_client

    client = storage_client(endpoint=gcs_emulator)
    bucket = f"reports-{uuid.uuid4().hex[:10]}"
    target = client.create_bucket(bucket)
    prefix = report_prefix("frwiki", "20250801", RUN_ID)
    target.blob(f"{prefix}/index.html").upload_from_string(REPORT_HTML, content_type="text/html")
    target.blob(f"{prefix}/static/vendor/x.css").upload_from_string(b"body{}")
    target.blob("secret.txt").upload_from_string(b"not a report")
    target.blob("jawiki/20250801/other/index.html").upload_from_string(b"jawiki report")
    for run in SAMPLE_RUNS:
        write_run_summary(client, bucket, run)
    write_json_uri(
        client,
        f"gs://{bucket}/{drilldown_name('frwiki', '20250701', SAMPLE_RUNS[2].run_dir)}",
        sample_drilldown(),
    )
    # an entry the view cannot read is left out (and logged), not a broken page
    target.blob("frwiki/_runs/garbage.json").upload_from_string(b'{"not": "a run summary"}')

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
        "/wikidrop-reports/trends/frwiki",
        "/wikidrop-reports/trends/frwiki/series.csv",
        "/wikidrop-reports/trends/frwiki/series.json",
        f"/wikidrop-reports/details/{prefix}",
        "/wikidrop-reports/static/reports.css",
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


def test_listing_marks_nightly_runs_and_links_trends_exports_and_details(api_client, reports_bucket) -> None:
    login(api_client)
    listing = api_client.get("/wikidrop-reports/")
    assert listing.headers["content-security-policy"] == APP_POLICY
    assert 'class="kind kind-nightly"' in listing.text and listing.text.count("kind-nightly") == 2
    for link in ("trends/frwiki", "trends/frwiki/series.csv", "trends/frwiki/series.json"):
        assert f'href="{link}"' in listing.text
    assert f'href="details/{report_prefix("frwiki", "20250701", SAMPLE_RUNS[2].run_id)}"' in listing.text
    assert "garbage" not in listing.text


def trend_specs(page: str) -> dict:
    block = re.search(r'<script type="application/json" id="trend-specs">(.*?)</script>', page, re.DOTALL)
    assert block, "no chart specs on the page"
    return json.loads(block.group(1))


def test_trends_page_charts_each_metric_from_the_run_summaries(api_client, reports_bucket) -> None:
    login(api_client)
    page = api_client.get("/wikidrop-reports/trends/frwiki")
    assert page.status_code == 200 and page.headers["content-security-policy"] == APP_POLICY
    assert "<script>" not in page.text  # no inline script: CSP would refuse it
    for script in ("vega-5.33.1/vega.min.js", "vega-lite-5.23.0/vega-lite.min.js", "trends.js"):
        assert f'src="../static/{"vendor/" if "vega" in script else ""}{script}"' in page.text
    specs = trend_specs(page.text)
    oldest_first = sorted(SAMPLE_RUNS, key=lambda r: r.dump_date)

    def points(chart: str, series: str) -> list[tuple[str, str, float]]:
        return [
            (r["day"], r["kind"], r["value"]) for r in specs[chart]["data"]["values"] if r["series"] == series
        ]

    day = lambda run: f"{run.dump_date[:4]}-{run.dump_date[4:6]}-{run.dump_date[6:]}"  # noqa: E731
    assert points("articles", "articles") == [(day(r), r.kind, r.metrics.articles) for r in oldest_first]
    assert points("text_length", "10th percentile") == [
        (day(r), r.kind, r.metrics.text_chars_p10) for r in oldest_first
    ]
    # a reason absent from a run's dead letters is a ratio of 0 for that run, not a gap
    assert points("dead_letter_ratio", "reason: too_large") == [
        (day(r), r.kind, r.metrics.dead_letter_ratio_by_reason.get("too_large", 0.0)) for r in oldest_first
    ]
    assert points("dead_letter_ratio", "reason: too_large")[0][2] == 0.0
    # tables appear once the records have them: no point for runs that could not measure it
    assert [d for d, _, _ in points("coverage", "tables")] == ["2025-08-01", "2025-08-02", "2025-08-03"]
    thresholds = {
        r["threshold"] for r in specs["dead_letter_ratio"]["data"]["values"] if r["threshold"] is not None
    }
    assert thresholds == {THRESHOLDS["max_dead_letter_ratio"]}
    assert not any("threshold" in str(layer) for layer in specs["articles"]["layer"])  # no threshold to draw
    # each point opens its run's Data Docs (relative to the trends page)
    [latest] = [r for r in specs["articles"]["data"]["values"] if r["run"] == RUN_ID]
    assert urljoin("http://localhost/wikidrop-reports/trends/frwiki", latest["href"]) == (
        f"http://localhost/wikidrop-reports/{report_prefix('frwiki', '20250801', RUN_ID)}/index.html"
    )
    assert latest["result"] == "passed"
    empty = api_client.get("/wikidrop-reports/trends/jawiki")
    assert empty.status_code == 200 and "No validated run yet" in empty.text and "vega" not in empty.text
    assert api_client.get("/wikidrop-reports/trends/dewiki").status_code == 404  # not a configured edition


def test_exports_hold_every_run_and_metric(api_client, reports_bucket) -> None:
    login(api_client)
    oldest_first = sorted(SAMPLE_RUNS, key=lambda r: r.dump_date)
    response = api_client.get("/wikidrop-reports/trends/frwiki/series.csv")
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="frwiki-quality.csv"' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [(r["dump_date"], r["kind"], r["run_id"]) for r in rows] == [
        (r.dump_date, r.kind, r.run_id) for r in oldest_first
    ]
    for row, run in zip(rows, oldest_first, strict=True):
        assert float(row["text_chars_median"]) == run.metrics.text_chars_median
        assert row["success"] == str(run.success)
        assert row["table_coverage"] == (
            "" if run.metrics.table_coverage is None else str(run.metrics.table_coverage)
        )
        for reason, ratio in run.metrics.dead_letter_ratio_by_reason.items():
            assert float(row[f"dead_letter_ratio.{reason}"]) == ratio
        assert float(row["threshold.min_script_share"]) == THRESHOLDS["min_script_share"]
    exported = api_client.get("/wikidrop-reports/trends/frwiki/series.json").json()
    assert exported["dbname"] == "frwiki" and len(exported["runs"]) == len(SAMPLE_RUNS)
    assert [r["script_share_mean"] for r in exported["runs"]] == [
        r.metrics.script_share_mean for r in oldest_first
    ]
    assert exported["columns"] == list(rows[0].keys())


def test_drilldown_lists_dead_letters_and_failing_rows_with_wiki_links(api_client, reports_bucket) -> None:
    login(api_client)
    run = SAMPLE_RUNS[2]
    page = api_client.get(f"/wikidrop-reports/details/{report_prefix('frwiki', run.dump_date, run.run_id)}")
    assert page.status_code == 200 and page.headers["content-security-policy"] == APP_POLICY
    text = page.text
    assert "Dead-lettered pages: 2" in text and "parse_timeout: 1, too_large: 1" in text
    assert 'href="https://fr.wikipedia.org/wiki/Page_500"' in text
    assert "Grand Palais &amp; &lt;Co&gt;" in text  # titles are text, never markup
    # the residue warning names the dirty article, with its failing value and a link to it
    assert "residue_per_10k" in text and "<script>x</script>" not in text
    assert "Sale &lt;script&gt;x&lt;/script&gt;" in text and ">77<" in text
    assert re.search(r"residue_per_10k = [0-9.]+", text)
    missing = report_prefix("frwiki", "20250801", RUN_ID)
    assert api_client.get(f"/wikidrop-reports/details/{missing}").status_code == 404
    assert api_client.get("/wikidrop-reports/details/frwiki/20250701/..").status_code == 404


def test_data_docs_pages_get_a_policy_allowing_only_their_own_inline_scripts(
    api_client, reports_bucket
) -> None:
    """Each Data Docs page is allowed exactly its own inline code, by hash; other files get the strict policy."""
    login(api_client)
    prefix = report_prefix("frwiki", "20250801", RUN_ID)
    page = api_client.get(f"/wikidrop-reports/{prefix}/index.html")
    assert page.headers["content-security-policy"] == data_docs_policy(REPORT_HTML.decode())
    assert "'unsafe-inline'" not in page.headers["content-security-policy"].split("; ")[0]
    css = api_client.get(f"/wikidrop-reports/{prefix}/static/vendor/x.css")
    assert css.headers["content-security-policy"] == APP_POLICY
    assert css.headers["x-content-type-options"] == "nosniff"
    script = "function show() { return 1 }"
    policy = data_docs_policy(
        f'<script>{script}</script><script src="x.js"></script><script type="application/json">{{}}</script>'
        '<label onclick="show()">'
    )
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    handler = base64.b64encode(hashlib.sha256(b"show()").digest()).decode()
    assert policy.split("; ")[0] == f"script-src 'self' 'sha256-{digest}' 'unsafe-hashes' 'sha256-{handler}'"


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
