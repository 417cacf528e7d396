"""Data Docs render styled with no internet: headless Chromium, every host but loopback unreachable.

A real site is built from real GX results, vendored, and served over HTTP on 127.0.0.1. Chromium
(Debian's ``chromium``) resolves every other host to NOTFOUND, so a CDN reference would load
nothing. Styling is read from the screenshot: the Data Docs breadcrumb bar gets its grey background
and text gets Bootstrap's body colour (#212529) only when the stylesheets load; the same page
before vendoring is the control, and has neither.
Scripts are checked in the DOM after they ran: bootstrap-table (on jQuery) wraps the results table.
Skipped when Chromium is absent.
"""

from __future__ import annotations

import functools
import http.server
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from wikidrop_airflow.reports.datadocs import vendor_site

from tests.conftest import require_tool
from tests.test_validation import FR_EDITION, FR_SITE, stats
from wikidrop.quality import frames, gx, suites

BREADCRUMB_GREY = (226, 227, 229)  # the styled Data Docs breadcrumb bar
BOOTSTRAP_BODY_TEXT = (33, 37, 41)  # Bootstrap 4 $body-color #212529


class _LoggingHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        self.server.requests.append(
            (self.path, int(args[1]) if len(args) > 1 and str(args[1]).isdigit() else 0)
        )


@pytest.fixture(scope="module")
def sites(tmp_path_factory) -> dict[str, Path]:
    """The same Data Docs site twice: as GX writes it (CDN links) and vendored."""
    run_stats = stats(articles=95, dead=5)
    params = suites.suite_parameters(FR_EDITION, FR_SITE, "20250801", run_stats["dead_letter_reasons"])
    frame = frames.run_level_frame(
        run_stats,
        FR_EDITION,
        parquet_rows=95,
        measured_rows=95,
        duplicate_identifiers=0,
        dead_letter_rows=5,
        previous_articles=None,
        index_pages=None,
    )
    result = gx.run_suite("run_level", frame, params, "run_level")
    assert not result["success"]  # the page shows a failure, not only green ticks
    built = {}
    for name in ("cdn", "vendored"):
        site = tmp_path_factory.mktemp(name)
        gx.build_data_docs([("run_level", result)], site, run_name="manual__render-test")
        built[name] = site
    vendor_site(built["vendored"])
    return built


@pytest.fixture(scope="module")
def served(sites) -> Iterator[tuple[str, list[tuple[str, int]]]]:
    """Both sites over HTTP on 127.0.0.1 (fonts and scripts load as they would from the plugin)."""
    root = Path(next(iter(sites.values()))).parent
    handler = functools.partial(_LoggingHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.requests = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.requests
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True, scope="module")
def _chromium_installed() -> None:
    require_tool("chromium")


def chromium(url: str, *args: str) -> subprocess.CompletedProcess:
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
                f"--user-data-dir={profile}",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--window-size=1280,900",
                "--virtual-time-budget=5000",
                *args,
                url,
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )


def pixel_counts(png: Path) -> dict[bytes, int]:
    """How many pixels of the screenshot have each RGB colour (keys: 3-byte colours)."""
    from collections import Counter

    from PIL import Image

    with Image.open(png) as image:
        rgb = image.convert("RGB").tobytes()
    return Counter(rgb[i : i + 3] for i in range(0, len(rgb), 3))


def test_vendored_data_docs_render_styled_offline(sites, served, tmp_path) -> None:
    base, requests = served
    shots = {}
    for name, site in sites.items():
        shots[name] = tmp_path / f"{name}.png"
        chromium(f"{base}/{site.name}/index.html", f"--screenshot={shots[name]}")
    vendored, control = pixel_counts(shots["vendored"]), pixel_counts(shots["cdn"])
    for colour, least in ((BREADCRUMB_GREY, 10_000), (BOOTSTRAP_BODY_TEXT, 500)):
        key = bytes(colour)
        assert control[key] < 50, f"unvendored page styled offline ({colour}): the check would prove nothing"
        assert vendored[key] >= least, f"styling missing: {vendored[key]} pixels of {colour}"

    served_ok = {path for path, status in requests if status == 200}
    for asset in ("bootstrap-4.3.1/bootstrap.min.css", "jquery-3.7.1/jquery.min.js", "fa-solid-900.woff2"):
        assert any(asset in path for path in served_ok), f"{asset} was not loaded from the site"
    failed = [(path, status) for path, status in requests if status >= 400 and "/vendored" in path]
    assert not failed


def test_vendored_scripts_run_offline(sites, served) -> None:
    base, _ = served
    page = next(sites["vendored"].glob("validations/**/*.html"))
    dom = chromium(
        f"{base}/{sites['vendored'].name}/{page.relative_to(sites['vendored'])}", "--dump-dom"
    ).stdout
    assert 'class="bootstrap-table' in dom, "jQuery + bootstrap-table did not run"
    assert "dead_letter_ratio" in dom
