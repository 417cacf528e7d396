"""GCS client from an Airflow connection, without the (heavy) Google provider package.

Connection extras understood: ``endpoint`` (emulator URL), ``project``, ``keyfile_dict`` (service
account JSON, as a dict or a JSON string). A missing connection falls back to the environment
(``STORAGE_EMULATOR_HOST`` or Application Default Credentials), which is what workers on GCP use.
"""

from __future__ import annotations

import json
import logging

log = logging.getLogger(__name__)


class WikidropGCSHook:
    """Stateless: reads the connection when asked for a client; nothing happens in ``__init__``."""

    def __init__(self, gcs_conn_id: str) -> None:
        self.gcs_conn_id = gcs_conn_id

    def get_client(self):
        from airflow.sdk import BaseHook
        from airflow.sdk.exceptions import AirflowNotFoundException

        from wikidrop.gcs import storage_client

        try:
            conn = BaseHook.get_connection(self.gcs_conn_id)
        except AirflowNotFoundException:
            log.info("connection %s not defined: using the environment's GCS credentials", self.gcs_conn_id)
            return storage_client()
        extra = conn.extra_dejson
        keyfile = extra.get("keyfile_dict")
        if isinstance(keyfile, str):
            keyfile = json.loads(keyfile)
        return storage_client(
            endpoint=extra.get("endpoint"), project=extra.get("project"), credentials_info=keyfile
        )
