"""GCS access shared by staging, validation reports and delivery (real GCS or a local emulator).

The emulator is chosen the way google-cloud-storage itself does: ``STORAGE_EMULATOR_HOST``, or an
explicit ``endpoint`` (from an Airflow connection). Either way the same client code runs.
"""

from __future__ import annotations

import os
from typing import Any

GS_SCHEME = "gs://"


def storage_client(
    endpoint: str | None = None, project: str | None = None, credentials_info: dict[str, Any] | None = None
):
    """A ``google.cloud.storage.Client`` for real GCS (service account / ADC) or an emulator endpoint."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    endpoint = endpoint or os.environ.get("STORAGE_EMULATOR_HOST")
    if endpoint:
        return storage.Client(
            project=project or "wikidrop-local",
            credentials=AnonymousCredentials(),
            client_options={"api_endpoint": endpoint},
        )
    if credentials_info:
        from google.oauth2 import service_account

        creds = service_account.Credentials.from_service_account_info(credentials_info)
        return storage.Client(project=project or creds.project_id, credentials=creds)
    return storage.Client(project=project)


def split_gs_uri(uri: str) -> tuple[str, str]:
    """``gs://bucket/a/b`` -> ``("bucket", "a/b")``; anything else is an error, not a guess."""
    if not uri.startswith(GS_SCHEME):
        raise ValueError(f"not a gs:// URI: {uri!r}")
    bucket, _, path = uri[len(GS_SCHEME) :].partition("/")
    if not bucket:
        raise ValueError(f"gs:// URI without a bucket: {uri!r}")
    return bucket, path
