"""Airflow plugin: Great Expectations Data Docs of every wikidrop run, inside the Airflow UI.

- a FastAPI app at ``/wikidrop-reports`` (``wikidrop_airflow.reports.app``), behind Airflow's login;
- a nav entry "Data quality reports" listing editions and their runs;
- a "Data quality report" tab on every DAG run, opening that run's report.
"""

from __future__ import annotations

import functools
from typing import Any, ClassVar

from airflow.plugins_manager import AirflowPlugin

URL_PREFIX = "/wikidrop-reports"


@functools.cache
def _reports_app():
    from wikidrop_airflow.reports.app import create_app

    return create_app()


class _BuiltOnFirstUse:
    """``fastapi_apps`` built when the API server asks for them: every Airflow process loads
    plugins, but only the API server needs FastAPI and Airflow's API security modules."""

    def __get__(self, instance: Any, owner: type) -> list[dict[str, Any]]:
        return [{"name": "wikidrop_reports", "app": _reports_app(), "url_prefix": URL_PREFIX}]


class WikidropReportsPlugin(AirflowPlugin):
    name = "wikidrop_reports"
    fastapi_apps = _BuiltOnFirstUse()
    external_views: ClassVar[list[dict[str, str]]] = [
        {
            "name": "Data quality reports",
            "href": f"{URL_PREFIX}/",
            "destination": "nav",
            "category": "browse",
            "url_route": "wikidrop-reports",
        },
        {
            "name": "Data quality report",
            "href": f"{URL_PREFIX}/runs/{{DAG_ID}}/{{RUN_ID}}",
            "destination": "dag_run",
            "url_route": "wikidrop-run-report",
        },
    ]
