"""The reports view in a real browser: trends draw from the run summaries, offline, under the CSP.

Airflow's own API server app (plugins loaded from the project, the simple auth manager in its
all-admins mode) is served by uvicorn on 127.0.0.1; headless Chromium logs in through Airflow's
``/auth/token/login`` (a real JWT cookie) and resolves every host but loopback to NOTFOUND, so a
CDN reference would load nothing. Chromium's console goes to stderr: a Content-Security-Policy
violation or a script error there fails the test.

The charts are checked in the DOM Vega drew (SVG): every point mark of every chart carries its
datum's exact value in its ARIA label, which is compared with the RunSummaries in the bucket. The
trends page's screenshot is compared with ``tests/data/screenshots/trends.png`` (set
``WIKIDROP_UPDATE_SCREENSHOTS=1`` to rewrite it after an intended change; the new one is kept
beside the test's temporary files otherwise).
"""

from __future__ import annotations

import html
import json
import os
import re
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.conftest import require_tool
from tests.test_data_docs_render import BREADCRUMB_GREY, pixel_counts
from tests.test_reports_plugin import RUN_ID, SAMPLE_RUNS, reports_bucket  # noqa: F401 (fixture)
from wikidrop.layout import report_prefix

SCREENSHOT = Path(__file__).parent / "data" / "screenshots" / "trends.png"
WINDOW = (1280, 1500)
# Measured on the kept screenshot: a chart's plot area blanked scores ~21, a one-pixel shift of the
# whole page ~10, the same page re-rendered 0.
MAX_AREA_DIFFERENCE = 15.0
POINT_LABEL = re.compile(
    r'aria-roledescription="point"[^>]*aria-label="([^"]*)"|aria-label="([^"]*)"[^>]*aria-roledescription="point"'
)


@pytest.fixture(autouse=True, scope="module")
def _chromium_installed() -> None:
    require_tool("chromium")


@pytest.fixture(scope="module")
def data_docs_site(reports_bucket, gcs_emulator, tmp_path_factory) -> str:  # noqa: F811
    """A real Data Docs site, vendored and uploaded as the gate does, for the latest frwiki run."""
    from wikidrop_airflow.reports.datadocs import upload_site, vendor_site

    from tests.test_validation import FR_EDITION, FR_SITE, stats
    from wikidrop.gcs import storage_client
    from wikidrop.quality import frames, gx, suites

    run_stats = stats(articles=95, dead=5)
    frame = frames.run_level_frame(
        run_stats,
        FR_EDITION,
        parquet_rows=95,
        measured_rows=95,
        duplicate_identifiers=0,
        dead_letter_rows=5,
        previous_articles=100,
        index_pages=None,
    )
    params = suites.suite_parameters(FR_EDITION, FR_SITE, "20250801", run_stats["dead_letter_reasons"])
    result = gx.run_suite("run_level", frame, params, "run_level")
    site = tmp_path_factory.mktemp("datadocs")
    gx.build_data_docs([("run_level", result)], site, run_name=RUN_ID)
    vendor_site(site)
    prefix = report_prefix("frwiki", "20250801", RUN_ID)
    upload_site(storage_client(endpoint=gcs_emulator), site, reports_bucket, prefix)
    page = next(site.glob("validations/**/*.html")).relative_to(site).as_posix()
    return f"{prefix}/{page}"


@pytest.fixture(scope="module")
def api_server(airflow_db, reports_bucket, data_docs_site) -> Iterator[str]:  # noqa: F811
    """Airflow's API server app under uvicorn on a free 127.0.0.1 port; yields its base URL."""
    import uvicorn
    from airflow.api_fastapi.app import create_app, purge_cached_app

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(
            "AIRFLOW__CORE__AUTH_MANAGER",
            "airflow.api_fastapi.auth.managers.simple.simple_auth_manager.SimpleAuthManager",
        )
        patch.setenv("AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS", "True")
        patch.setenv(
            "AIRFLOW__API_AUTH__JWT_SECRET", "wikidrop-render-test-jwt-secret-" + "0123456789abcdef" * 4
        )
        purge_cached_app()
        # the server gets the bound socket itself: a port probed then released can be taken meanwhile
        listening = socket.socket()
        listening.bind(("127.0.0.1", 0))
        port = listening.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listening]}, daemon=True)
        thread.start()
        deadline = time.monotonic() + 60
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the Airflow API server did not start")
            time.sleep(0.05)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            listening.close()
            purge_cached_app()


def browse(base: str, path: str, *args: str) -> subprocess.CompletedProcess:
    """Log in through Airflow, open ``path``; Chromium's console (and its errors) end up in stderr."""
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run(
            [
                require_tool("chromium"),
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--hide-scrollbars",
                "--force-device-scale-factor=1",
                "--enable-logging=stderr",
                "--v=0",
                f"--user-data-dir={profile}",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                f"--window-size={WINDOW[0]},{WINDOW[1]}",
                "--virtual-time-budget=15000",
                *args,
                f"{base}/auth/token/login?next={quote(path, safe='/')}",
            ],
            capture_output=True,
            text=True,
            timeout=180,
            check=True,
        )


def console_problems(stderr: str) -> list[str]:
    """Console lines that say a script failed or the CSP refused something."""
    return [
        line
        for line in stderr.splitlines()
        if "CONSOLE" in line
        and re.search(r"Content Security Policy|Refused to|Uncaught|error", line, re.IGNORECASE)
    ]


def drawn_points(dom: str) -> dict[str, list[tuple[str, str, str, float]]]:
    """Per chart, the points Vega drew: ``(series, day, kind, value)`` from each mark's ARIA label."""
    charts = {}
    for match in re.finditer(r'<div class="chart[^"]*" id="chart-([a-z_]+)"(.*?)</svg>', dom, re.DOTALL):
        labels = [html.unescape(a or b) for a, b in POINT_LABEL.findall(match.group(2))]
        charts[match.group(1)] = [
            (series, day, kind, float(value))
            for series, day, kind, value in (label.split(" | ") for label in labels)
        ]
    return charts


def expected_points() -> dict[str, set[tuple[str, str, str, float]]]:
    """What the run summaries say each chart must show."""
    from wikidrop_airflow.reports.trends import TREND_CHARTS, chart_series, iso_day

    reasons = sorted({r for run in SAMPLE_RUNS for r in run.metrics.dead_letter_ratio_by_reason})
    expected: dict[str, set] = {}
    for chart in TREND_CHARTS:
        points = expected.setdefault(chart.id, set())
        for run in SAMPLE_RUNS:
            points |= {
                (label, iso_day(run.dump_date), run.kind, value)
                for label, value in chart_series(chart, run, reasons)
                if value is not None
            }
    return expected


def test_trends_draw_every_run_with_the_summaries_numbers_offline_under_csp(api_server) -> None:
    result = browse(api_server, "/wikidrop-reports/trends/frwiki", "--dump-dom")
    dom = result.stdout
    assert not console_problems(result.stderr), console_problems(result.stderr)
    assert "chart failed to draw" not in dom
    drawn = drawn_points(dom)
    expected = expected_points()
    assert set(drawn) == set(expected), "a chart was not drawn"
    for chart, points in expected.items():
        assert len(drawn[chart]) == len(points), (
            f"{chart}: {len(drawn[chart])} points drawn, {len(points)} runs/series"
        )
        for series, day, kind, value in drawn[chart]:
            # the label prints the datum as Vega holds it: equal to the summary's number
            assert (series, day, kind, pytest.approx(value, rel=1e-12)) in [
                (s, d, k, v) for s, d, k, v in points
            ], (chart, series, day, kind, value)
    assert sum(1 for pts in drawn.values() for _, _, kind, _ in pts if kind == "nightly") >= 2 * len(drawn)
    # the threshold lines are drawn where the suites apply one (dead letters, residue, script share)
    assert dom.count('stroke="#cf222e"') >= 3


def worst_area_difference(new: Path, kept: Path) -> float:
    """The largest mean grey-level difference (0-255) over 32x32-pixel areas of two screenshots.

    Blurred first, so a pixel of antialiasing or a one-pixel glyph shift stays under the limit,
    while a chart's lines missing or moved shows up in its area (a whole-page mean would dilute it).
    """
    from PIL import Image, ImageChops, ImageFilter, ImageStat

    def prepared(path: Path):
        with Image.open(path) as image:
            grey = image.convert("L").filter(ImageFilter.GaussianBlur(2))
            return grey.resize((grey.size[0] // 4, grey.size[1] // 4), Image.Resampling.BOX)

    a, b = prepared(new), prepared(kept)
    assert a.size == b.size, f"screenshot sizes differ: {a.size} vs {b.size}"
    difference = ImageChops.difference(a, b)
    width, height = difference.size
    return max(
        ImageStat.Stat(difference.crop((x, y, min(x + 8, width), min(y + 8, height)))).mean[0]
        for x in range(0, width, 8)
        for y in range(0, height, 8)
    )


def test_trends_page_screenshot_matches_the_kept_one(api_server, tmp_path) -> None:
    shot = tmp_path / "trends.png"
    browse(api_server, "/wikidrop-reports/trends/frwiki", f"--screenshot={shot}")
    if os.environ.get("WIKIDROP_UPDATE_SCREENSHOTS") == "1":
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        SCREENSHOT.write_bytes(shot.read_bytes())
    assert SCREENSHOT.exists(), (
        f"no kept screenshot: run with WIKIDROP_UPDATE_SCREENSHOTS=1 (new one: {shot})"
    )
    worst = worst_area_difference(shot, SCREENSHOT)
    assert worst < MAX_AREA_DIFFERENCE, (
        f"the trends page looks different from {SCREENSHOT.name} (worst area differs by {worst:.1f}/255);"
        f" the new screenshot is {shot}: if the change is intended, rerun with WIKIDROP_UPDATE_SCREENSHOTS=1"
    )


def test_data_docs_render_styled_through_the_app_under_its_csp(api_server, data_docs_site, tmp_path) -> None:
    shot = tmp_path / "datadocs.png"
    result = browse(api_server, f"/wikidrop-reports/{data_docs_site}", f"--screenshot={shot}")
    assert not console_problems(result.stderr), console_problems(result.stderr)
    assert pixel_counts(shot)[bytes(BREADCRUMB_GREY)] >= 10_000, "Data Docs unstyled under the CSP"
    dom = browse(api_server, f"/wikidrop-reports/{data_docs_site}", "--dump-dom").stdout
    assert 'class="bootstrap-table' in dom, "jQuery + bootstrap-table did not run under the CSP"
    assert json.dumps("dead_letter_ratio")[1:-1] in dom
