"""The data quality view mounted in the Airflow API server (``wikidrop_reports_plugin``).

Every route sits behind Airflow's own login: the user comes from Airflow's ``get_user`` dependency
(the UI's JWT cookie or a Bearer token; none -> 401), and each edition is shown only to users the
auth manager lets read the runs of its DAG ``wikidrop_<dbname>``. Report files are streamed from
the reports bucket by a route (a static mount would skip that check), and only paths made of the
characters ``report_prefix`` and GX write are served: anything like ``..`` is a 404. Every
response carries a Content-Security-Policy (``reports.csp``).

    /                                   editions, their runs (newest first), trends and exports
    /trends/{db}                        charts of the edition's quality over time (vendored Vega)
    /trends/{db}/series.csv, .json      the same series, for a spreadsheet or a notebook
    /details/{db}/{date}/{run}          one run's drill-down: dead-lettered pages, failing rows
    /runs/{dag_id}/{run_id}             the report of one DAG run (the per-run link in the Airflow UI)
    /static/{path}                      this view's own stylesheet and scripts, vendored libraries
    /{db}/{date}/{run}/{path}           a file of one run's Data Docs site

Everything shown comes from the reports bucket: the runs' RunSummaries (``_runs/``), drill-downs
and Data Docs. Summaries are cached per object generation, so a page reads only new runs.
"""

# No ``from __future__ import annotations`` here: FastAPI reads the route signatures' annotations at
# runtime, and the routes are defined inside ``create_app`` (heavy imports stay out of module import,
# which every Airflow component does when it loads plugins), where postponed names would not resolve.

import html
import json
import logging
import mimetypes
import re
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from wikidrop.layout import drilldown_name, report_site_prefix, run_summary_name, runs_index_prefix
from wikidrop_airflow.reports.csp import APP_POLICY, data_docs_policy

log = logging.getLogger(__name__)

DBNAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,30}wiki$")
DUMP_DATE_RE = re.compile(r"^\d{8}$")
RUN_DIR_RE = re.compile(r"^[A-Za-z0-9._-]+$")
# GX names a validation page's folder after the run id (``manual__2026-11-23T10:00:00+00:00``).
PATH_PART_RE = re.compile(r"^[A-Za-z0-9._@%+=:-]+$")
STATIC_DIR = Path(__file__).resolve().parent / "static"
VEGA_SCRIPTS = (
    "vendor/vega-5.33.1/vega.min.js",
    "vendor/vega-lite-5.23.0/vega-lite.min.js",
    "vendor/vega-embed-6.29.0/vega-embed.min.js",
    "trends.js",
)
SECURITY_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
# RunSummaries by (bucket, object name, generation): an object's generation changes when it is
# rewritten, so a cached entry is never stale; shared by the requests of one API server process.
_SUMMARIES: dict[tuple[str, str, int], Any] = {}
_SUMMARIES_LOCK = threading.Lock()
MAX_CACHED_SUMMARIES = 50_000


def create_app():
    """The FastAPI app; configuration and GCS are read per request, so the app is cheap to build."""
    from typing import Annotated

    from airflow.api_fastapi.core_api.security import GetUserDep
    from fastapi import Depends, FastAPI, HTTPException, Request
    from fastapi.responses import HTMLResponse, RedirectResponse, Response

    from wikidrop_airflow.reports import trends

    app = FastAPI(title="wikidrop data quality reports", docs_url=None, redoc_url=None, openapi_url=None)

    @app.middleware("http")
    async def security_headers(request: Request, call_next):
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy", APP_POLICY)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    def readable_editions(user: GetUserDep) -> list[str]:
        """Editions of the config whose DAG runs this Airflow user may read."""
        from wikidrop.config import load_config

        return [e.dbname for e in load_config().editions if _may_read(user, e.dag_id)]

    Editions = Annotated[list[str], Depends(readable_editions)]

    def edition_runs(dbname: str, editions: list[str]) -> list:
        if not DBNAME_RE.match(dbname) or dbname not in editions:
            raise HTTPException(status_code=404, detail="no such edition")
        return ReportStore.from_config().runs(dbname)

    @app.get("/", response_class=HTMLResponse)
    def index(editions: Editions) -> HTMLResponse:
        store = ReportStore.from_config()
        sections = [_edition_section(dbname, store.runs(dbname)) for dbname in editions]
        body = "".join(sections) or '<p class="muted">No edition you may read.</p>'
        return HTMLResponse(_page("Data quality reports", body, root=""))

    @app.get("/static/{path:path}", response_model=None)
    def static_file(path: str, user: GetUserDep) -> Response:
        parts = path.split("/")
        file = STATIC_DIR.joinpath(*parts)
        if not all(_safe_part(p, PATH_PART_RE) for p in parts) or not file.is_file():
            raise HTTPException(status_code=404, detail="no such file")
        media_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        return Response(
            file.read_bytes(), media_type=media_type, headers={"Cache-Control": "private, max-age=3600"}
        )

    @app.get("/trends/{dbname}", response_class=HTMLResponse)
    def trends_page(dbname: str, editions: Editions) -> HTMLResponse:
        runs = edition_runs(dbname, editions)
        oldest_first = runs[::-1]
        specs = {
            chart.id: trends.chart_spec(chart, oldest_first, link_prefix="../")
            for chart in trends.TREND_CHARTS
        }
        figures = "".join(
            f'<figure class="trend"><figcaption>{html.escape(chart.title)}</figcaption>'
            f'<div class="chart" id="chart-{chart.id}" data-chart="{chart.id}"></div></figure>'
            for chart in trends.TREND_CHARTS
        )
        body = (
            f'<p><a href="../">All editions</a> · export this series: <a href="{quote(dbname)}/series.csv">CSV</a>'
            f' · <a href="{quote(dbname)}/series.json">JSON</a></p>'
            + (
                f'<p class="muted">{len(runs)} validated run(s). Each point is a run (circle: snapshot of a full'
                " dump; triangle: nightly run) and opens its Data Docs; the dashed red line is the"
                " threshold the run was checked against.</p>"
                f'<div class="trends">{figures}</div>'
                f'<script type="application/json" id="trend-specs">{_json_for_html(specs)}</script>'
                if runs
                else '<p class="muted">No validated run yet.</p>'
            )
            + _runs_table(runs, root="../")
        )
        scripts = VEGA_SCRIPTS if runs else ()
        return HTMLResponse(_page(f"{dbname}: quality over time", body, root="../", scripts=scripts))

    @app.get("/trends/{dbname}/series.json", response_model=None)
    def series_json(dbname: str, editions: Editions) -> Response:
        runs = edition_runs(dbname, editions)[::-1]
        payload = {
            "dbname": dbname,
            "columns": trends.export_columns(runs),
            "runs": trends.export_rows(runs),
        }
        return Response(
            json.dumps(payload, ensure_ascii=False, indent=1),
            media_type="application/json",
            headers={"Content-Disposition": f'attachment; filename="{dbname}-quality.json"'},
        )

    @app.get("/trends/{dbname}/series.csv", response_model=None)
    def series_csv(dbname: str, editions: Editions) -> Response:
        runs = edition_runs(dbname, editions)[::-1]
        return Response(
            trends.export_csv(runs),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{dbname}-quality.csv"'},
        )

    @app.get("/details/{dbname}/{dump_date}/{run}", response_class=HTMLResponse)
    def details_page(dbname: str, dump_date: str, run: str, editions: Editions) -> HTMLResponse:
        if not (DBNAME_RE.match(dbname) and DUMP_DATE_RE.match(dump_date) and _safe_part(run, RUN_DIR_RE)):
            raise HTTPException(status_code=404, detail="no such run")
        if dbname not in editions:
            raise HTTPException(status_code=404, detail="no such run")
        data = ReportStore.from_config().read(drilldown_name(dbname, dump_date, run))
        if data is None:
            raise HTTPException(status_code=404, detail="no drill-down for this run")
        root = "../../../../"
        body = _drilldown_body(
            json.loads(data), report=f"{root}{_report_path(dbname, dump_date, run)}/index.html"
        )
        return HTMLResponse(_page(f"{dbname} {dump_date}: what failed", body, root=root))

    @app.get("/runs/{dag_id}/{run_id}", response_model=None)
    def run_report(dag_id: str, run_id: str, editions: Editions) -> Response:
        dbname = dag_id.removeprefix("wikidrop_")
        if not dag_id.startswith("wikidrop_") or dbname not in editions:
            return HTMLResponse(
                _page(
                    "Data quality report", "<p>This DAG does not publish wikidrop reports.</p>", root="../../"
                )
            )
        run = ReportStore.from_config().run_summary(dbname, run_id)
        if run is None:
            return HTMLResponse(
                _page(
                    "Data quality report",
                    f"<p>No report for run <code>{html.escape(run_id)}</code> yet: the validate stage has"
                    " not finished (or did not run).</p>",
                    root="../../",
                )
            )
        # Relative, so it stays right behind any proxy, scheme or base URL: /runs/<dag>/<run> -> /
        target = f"../../{_report_path(dbname, run.dump_date, run.run_dir)}/index.html"
        return RedirectResponse(target, status_code=307)

    @app.get("/{dbname}/{dump_date}/{run}/{path:path}", name="report_file", response_model=None)
    def report_file(dbname: str, dump_date: str, run: str, path: str, editions: Editions) -> Response:
        parts = path.split("/")
        if not (
            DBNAME_RE.match(dbname)
            and DUMP_DATE_RE.match(dump_date)
            and _safe_part(run, RUN_DIR_RE)
            and all(_safe_part(p, PATH_PART_RE) for p in parts)
        ):
            raise HTTPException(status_code=404, detail="no such report file")
        if dbname not in editions:
            raise HTTPException(status_code=404, detail="no such report file")
        data = ReportStore.from_config().read(f"{report_site_prefix(dbname, dump_date, run)}/{path}")
        if data is None:
            raise HTTPException(status_code=404, detail="no such report file")
        media_type = mimetypes.guess_type(parts[-1])[0] or "application/octet-stream"
        headers = {"Cache-Control": "private, max-age=300"}
        if media_type == "text/html":
            headers["Content-Security-Policy"] = data_docs_policy(data.decode("utf-8", errors="replace"))
        return Response(data, media_type=media_type, headers=headers)

    return app


class ReportStore:
    """Read access to the reports bucket (Data Docs sites, drill-downs, and the RunSummaries index)."""

    def __init__(self, client: Any, bucket: str) -> None:
        self.client = client
        self.bucket = bucket

    @classmethod
    def from_config(cls) -> "ReportStore":
        from wikidrop.config import load_config
        from wikidrop_airflow.hooks.gcs import WikidropGCSHook

        settings = load_config().settings
        hook = WikidropGCSHook(settings.staging_conn_id, "reports bucket")
        return cls(hook.get_client(), settings.reports_bucket)

    def read(self, name: str) -> bytes | None:
        from google.api_core.exceptions import NotFound

        try:
            return self.client.bucket(self.bucket).blob(name).download_as_bytes()
        except NotFound:
            return None

    def run_summary(self, dbname: str, run_id: str):
        """The RunSummary of one run, or None before its validation has published one."""
        from wikidrop.quality.run_summary import RunSummary

        data = self.read(run_summary_name(dbname, run_id))
        return RunSummary.model_validate_json(data) if data is not None else None

    def runs(self, dbname: str) -> list:
        """The edition's RunSummaries, newest first (by date, then by when each was written)."""
        from concurrent.futures import ThreadPoolExecutor

        blobs = list(self.client.list_blobs(self.bucket, prefix=runs_index_prefix(dbname)))
        keys = [(self.bucket, blob.name, blob.generation) for blob in blobs]
        with _SUMMARIES_LOCK:
            missing = [(key, blob) for key, blob in zip(keys, blobs, strict=True) if key not in _SUMMARIES]
        if missing:
            with ThreadPoolExecutor(max_workers=8) as pool:
                loaded = list(pool.map(self._load_summary, (blob for _, blob in missing)))
            with _SUMMARIES_LOCK:
                if len(_SUMMARIES) + len(missing) > MAX_CACHED_SUMMARIES:
                    _SUMMARIES.clear()
                _SUMMARIES.update((key, run) for (key, _), run in zip(missing, loaded, strict=True))
        with _SUMMARIES_LOCK:
            runs = [_SUMMARIES.get(key) for key in keys]
        return sorted(
            (r for r in runs if r is not None), key=lambda r: (r.dump_date, r.built_at), reverse=True
        )

    @staticmethod
    def _load_summary(blob: Any):
        """One index entry; an unreadable one is logged and left out (it names its object)."""
        from pydantic import ValidationError

        from wikidrop.quality.run_summary import RunSummary

        try:
            return RunSummary.model_validate_json(blob.download_as_bytes())
        except (ValidationError, ValueError) as exc:
            log.warning("reports index entry %s is not a RunSummary, left out: %s", blob.name, exc)
            return None


def _may_read(user: Any, dag_id: str) -> bool:
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import DagAccessEntity, DagDetails

    return get_auth_manager().is_authorized_dag(
        method="GET", access_entity=DagAccessEntity.RUN, details=DagDetails(id=dag_id), user=user
    )


def _safe_part(part: str, pattern: re.Pattern[str]) -> bool:
    """One path segment: allowed characters only, and never ``.``/``..`` (no way out of the run)."""
    return bool(pattern.match(part)) and part not in {".", ".."} and not part.startswith("..")


def _report_path(dbname: str, dump_date: str, run_dir: str) -> str:
    return "/".join(quote(part, safe="") for part in (dbname, dump_date, run_dir))


def _json_for_html(value: Any) -> str:
    """JSON inside a ``<script type="application/json">`` block: no ``</script>`` can close it early."""
    return (
        json.dumps(value, ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
    )


def _edition_section(dbname: str, runs: Sequence[Any]) -> str:
    name = quote(dbname, safe="")
    links = (
        f'<a href="trends/{name}">trends</a> · <a href="trends/{name}/series.csv">CSV</a>'
        f' · <a href="trends/{name}/series.json">JSON</a>'
    )
    return f'<h2>{html.escape(dbname)}</h2><p class="links">{links}</p>{_runs_table(runs, root="")}'


def _runs_table(runs: Sequence[Any], root: str) -> str:
    """The runs, newest first, each with its result and links to its Data Docs and drill-down."""
    rows = "".join(_run_row(run, root) for run in runs) or (
        '<tr><td colspan="6" class="muted">no validated run yet</td></tr>'
    )
    return (
        "<table><tr><th>dump date</th><th>kind</th><th>run</th><th>result</th><th>articles</th>"
        f"<th>failed / warnings / skipped</th></tr>{rows}</table>"
    )


def _run_row(run: Any, root: str) -> str:
    report = f"{root}{_report_path(run.dbname, run.dump_date, run.run_dir)}/index.html"
    details = f"{root}details/{_report_path(run.dbname, run.dump_date, run.run_dir)}"
    counts = run.counts
    result = '<span class="ok">passed</span>' if run.success else '<span class="failed">failed</span>'
    kind = f'<span class="kind kind-{run.kind}">{html.escape(run.kind)}</span>'
    skipped = len(run.skipped)
    return (
        f"<tr><td>{html.escape(run.dump_date)}</td><td>{kind}</td>"
        f'<td><a href="{html.escape(report)}">{html.escape(run.run_id)}</a></td><td>{result}</td>'
        f"<td>{html.escape(str(counts.get('articles', '')))}</td>"
        f"<td>{int(counts.get('critical_failures', 0))} / {int(counts.get('warnings', 0))} / {skipped}"
        f' (<a href="{html.escape(details)}">details</a>)</td></tr>'
    )


def _drilldown_body(document: dict[str, Any], report: str) -> str:
    dead = document.get("dead_letters") or {}
    listed = dead.get("listed") or []
    reasons = ", ".join(f"{html.escape(r)}: {n}" for r, n in (dead.get("by_reason") or {}).items()) or "none"
    parts = [
        f'<p><a href="{html.escape(report)}">Data Docs of this run</a> · result: '
        + (
            '<span class="ok">passed</span>'
            if document.get("success")
            else '<span class="failed">failed</span>'
        )
        + "</p>",
        f"<h2>Dead-lettered pages: {int(dead.get('total', 0))}</h2><p>by reason: {reasons}"
        + (f" (the first {len(listed)} are listed)" if len(listed) < int(dead.get("total", 0)) else "")
        + "</p>",
    ]
    if listed:
        rows = "".join(
            f"<tr><td>{html.escape(str(d.get('identifier')))}</td><td>{_wiki_link(d.get('name'), d.get('url'))}</td>"
            f"<td>{html.escape(str(d.get('reason')))}</td><td>{html.escape(str(d.get('size')))}</td>"
            f"<td><code>{html.escape(d.get('detail') or '')}</code></td></tr>"
            for d in listed
        )
        parts.append(
            "<table><tr><th>page id</th><th>title</th><th>reason</th><th>bytes</th><th>detail</th></tr>"
            f"{rows}</table>"
        )
    failures = document.get("failed_expectations") or []
    parts.append(f"<h2>Failed expectations: {len(failures)}</h2>")
    for failure in failures:
        count = failure.get("unexpected_count")
        parts.append(
            f'<h3><span class="{html.escape(failure["severity"])}">{html.escape(failure["severity"])}</span> '
            f"{html.escape(failure['suite'])}: {html.escape(failure['expectation'])}"
            f"({html.escape(failure['column'])})</h3>"
            f"<p>threshold {html.escape(failure['threshold'])}"
            + (f"; {int(count)} row(s) failed" if count is not None else "")
            + f" in {html.escape(', '.join(failure['batches']))}</p>"
        )
        if failure["rows"]:
            rows = "".join(
                f"<tr><td>{html.escape(str(r['key'].get('identifier', '')))}</td>"
                f"<td>{_wiki_link(r['key'].get('name'), r.get('url'))}</td>"
                f"<td>{html.escape(', '.join(f'{k} = {v}' for k, v in r['values'].items()))}</td>"
                f"<td>{html.escape(r['batch'])}</td></tr>"
                for r in failure["rows"]
            )
            parts.append(
                "<table><tr><th>page id</th><th>title</th><th>failed value</th><th>shard</th></tr>"
                f"{rows}</table>"
            )
        else:
            parts.append(f"<p>observed: <code>{html.escape('; '.join(failure['observed']))}</code></p>")
    skipped = document.get("skipped") or []
    if skipped:
        items = "".join(
            f"<li>{html.escape(s['suite'])}: {html.escape(s['expectation'])}({html.escape(s['column'])}):"
            f" {html.escape(s['reason'])}</li>"
            for s in skipped
        )
        parts.append(f"<h2>Skipped (could not apply)</h2><ul>{items}</ul>")
    return "".join(parts)


def _wiki_link(title: Any, url: Any) -> str:
    text = html.escape(str(title or ""))
    if isinstance(url, str) and url.startswith(("https://", "http://")):
        return f'<a href="{html.escape(url)}" rel="noreferrer noopener">{text}</a>'
    return text


def _page(title: str, body: str, root: str, scripts: Sequence[str] = ()) -> str:
    """A page of this view; ``root`` is the relative path back to the app's root (``../`` per level)."""
    tags = "".join(f'<script src="{root}static/{s}" defer></script>' for s in scripts)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<link rel="stylesheet" href="{root}static/reports.css">{tags}</head>'
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
