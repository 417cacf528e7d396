"""The Data Docs browser mounted in the Airflow API server (``wikidrop_reports_plugin``).

Every route sits behind Airflow's own login: the user comes from Airflow's ``get_user`` dependency
(the UI's JWT cookie or a Bearer token; none -> 401), and each edition is shown only to users the
auth manager lets read the runs of its DAG ``wikidrop_<dbname>``. Report files are streamed from
the reports bucket by a route (a static mount would skip that check), and only paths made of the
characters ``report_prefix`` and GX write are served: anything like ``..`` is a 404.

    /                               editions and their validated runs (newest first)
    /runs/{dag_id}/{run_id}          the report of one DAG run (the per-run link in the Airflow UI)
    /{db}/{date}/{run}/{path}        a file of one run's Data Docs site
"""

# No ``from __future__ import annotations`` here: FastAPI reads the route signatures' annotations at
# runtime, and the routes are defined inside ``create_app`` (heavy imports stay out of module import,
# which every Airflow component does when it loads plugins), where postponed names would not resolve.

import html
import json
import mimetypes
import re
from typing import Any
from urllib.parse import quote

from wikidrop.layout import report_site_prefix, run_pointer_name, runs_index_prefix

DBNAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,30}wiki$")
DUMP_DATE_RE = re.compile(r"^\d{8}$")
RUN_DIR_RE = re.compile(r"^[A-Za-z0-9._-]+$")
PATH_PART_RE = re.compile(r"^[A-Za-z0-9._@%+=-]+$")

PAGE_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem;color:#1d2125}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}
table{border-collapse:collapse;min-width:40rem}th,td{padding:.35rem .7rem;border-bottom:1px solid #dde1e5;text-align:left}
.ok{color:#1a7f37;font-weight:600}.failed{color:#cf222e;font-weight:600}.muted{color:#6a737d}
@media (prefers-color-scheme: dark){body{background:#161b22;color:#e6edf3}a{color:#58a6ff}th,td{border-color:#30363d}}
"""


def create_app():
    """The FastAPI app; configuration and GCS are read per request, so the app is cheap to build."""
    from typing import Annotated

    from airflow.api_fastapi.core_api.security import GetUserDep
    from fastapi import Depends, FastAPI, HTTPException
    from fastapi.responses import HTMLResponse, RedirectResponse, Response

    app = FastAPI(title="wikidrop data quality reports", docs_url=None, redoc_url=None, openapi_url=None)

    def readable_editions(user: GetUserDep) -> list[str]:
        """Editions of the config whose DAG runs this Airflow user may read."""
        from wikidrop.config import load_config

        return [e.dbname for e in load_config().editions if _may_read(user, e.dag_id)]

    Editions = Annotated[list[str], Depends(readable_editions)]

    @app.get("/", response_class=HTMLResponse)
    def index(editions: Editions) -> HTMLResponse:
        store = ReportStore.from_config()
        sections = []
        for dbname in editions:
            runs = store.runs(dbname)
            rows = "".join(_run_row(run) for run in runs) or (
                '<tr><td colspan="5" class="muted">no validated run yet</td></tr>'
            )
            sections.append(
                f"<h2>{html.escape(dbname)}</h2><table><tr><th>dump date</th><th>run</th><th>result</th>"
                f"<th>articles</th><th>failed / warnings</th></tr>{rows}</table>"
            )
        body = "".join(sections) or '<p class="muted">No edition you may read.</p>'
        return HTMLResponse(_page("Data quality reports", body))

    @app.get("/runs/{dag_id}/{run_id}", response_model=None)
    def run_report(dag_id: str, run_id: str, editions: Editions) -> Response:
        dbname = dag_id.removeprefix("wikidrop_")
        if not dag_id.startswith("wikidrop_") or dbname not in editions:
            return HTMLResponse(
                _page("Data quality report", "<p>This DAG does not publish wikidrop reports.</p>")
            )
        pointer = ReportStore.from_config().run_pointer(dbname, run_id)
        if pointer is None:
            return HTMLResponse(
                _page(
                    "Data quality report",
                    f"<p>No report for run <code>{html.escape(run_id)}</code> yet: the validate stage has"
                    " not finished (or did not run).</p>",
                )
            )
        # Relative, so it stays right behind any proxy, scheme or base URL: /runs/<dag>/<run> -> /
        target = f"../../{_report_path(dbname, pointer['dump_date'], pointer['run_dir'])}/index.html"
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
        return Response(data, media_type=media_type, headers={"Cache-Control": "private, max-age=300"})

    return app


class ReportStore:
    """Read access to the reports bucket (Data Docs sites and the per-run index written by the gate)."""

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

    def run_pointer(self, dbname: str, run_id: str) -> dict[str, Any] | None:
        data = self.read(run_pointer_name(dbname, run_id))
        return json.loads(data) if data is not None else None

    def runs(self, dbname: str) -> list[dict[str, Any]]:
        """Validated runs of an edition, newest dump date first (one small index object per run)."""
        pointers = [
            json.loads(blob.download_as_bytes())
            for blob in self.client.list_blobs(self.bucket, prefix=runs_index_prefix(dbname))
        ]
        return sorted(pointers, key=lambda p: (p["dump_date"], p.get("built_at", "")), reverse=True)


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


def _run_row(run: dict[str, Any]) -> str:
    link = f"{_report_path(run['dbname'], run['dump_date'], run['run_dir'])}/index.html"  # relative to /
    counts = run.get("counts") or {}
    result = '<span class="ok">passed</span>' if run.get("success") else '<span class="failed">failed</span>'
    return (
        f"<tr><td>{html.escape(run['dump_date'])}</td>"
        f'<td><a href="{html.escape(str(link))}">{html.escape(run["run_id"])}</a></td><td>{result}</td>'
        f"<td>{html.escape(str(counts.get('articles', '')))}</td>"
        f"<td>{int(counts.get('critical_failures', 0))} / {int(counts.get('warnings', 0))}</td></tr>"
    )


def _page(title: str, body: str) -> str:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{PAGE_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
