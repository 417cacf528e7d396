"""GCS client from an Airflow connection, without the (heavy) Google provider package.

Connection extras understood: ``endpoint`` (emulator URL), ``project``, ``keyfile_dict`` (service
account JSON, as a dict or a JSON string). A connection without a key uses the worker's own identity
(Application Default Credentials, e.g. GKE workload identity). A connection id that is not defined
is an error, never a silent fall-back to the worker's identity: partner isolation rests on each
partner's connection naming that partner's identity.
"""

from __future__ import annotations

import json
from typing import Any


class ConnectionNotDefined(LookupError):
    """An Airflow connection the config names does not exist."""


def get_connection(conn_id: str, purpose: str) -> Any:
    """The Airflow connection ``conn_id``; a clear error naming what it is for when it is missing."""
    from airflow.sdk import BaseHook
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return BaseHook.get_connection(conn_id)
    except AirflowNotFoundException:
        raise ConnectionNotDefined(
            f"Airflow connection {conn_id!r} ({purpose}) is not defined: create it (UI: Admin > "
            f"Connections, or AIRFLOW_CONN_{conn_id.upper()}) before running"
        ) from None


class WikidropGCSHook:
    """Stateless: reads the connection when asked; nothing happens in ``__init__``."""

    def __init__(self, gcs_conn_id: str, purpose: str = "GCS credentials") -> None:
        self.gcs_conn_id = gcs_conn_id
        self.purpose = purpose

    def get_client(self):
        from wikidrop.gcs import storage_client

        extra = get_connection(self.gcs_conn_id, self.purpose).extra_dejson
        return storage_client(
            endpoint=extra.get("endpoint"),
            project=extra.get("project"),
            credentials_info=self.service_account_info(),
        )

    def service_account_info(self) -> dict[str, Any] | None:
        """The connection's service account key (``keyfile_dict``), or None: the worker's identity."""
        keyfile = get_connection(self.gcs_conn_id, self.purpose).extra_dejson.get("keyfile_dict")
        return json.loads(keyfile) if isinstance(keyfile, str) else keyfile

    def emulator_endpoint(self) -> str | None:
        """The connection's emulator URL, if any (Beam's gs:// client reads it from the environment)."""
        return get_connection(self.gcs_conn_id, self.purpose).extra_dejson.get("endpoint")
