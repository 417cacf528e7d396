"""GCS access shared by staging, validation reports and delivery (real GCS or a local emulator).

The emulator is chosen the way google-cloud-storage itself does: ``STORAGE_EMULATOR_HOST``, or an
explicit ``endpoint`` (from an Airflow connection). Either way the same client code runs. The
helpers below take any such client and ``gs://`` URIs, so callers never split paths themselves.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from collections.abc import Iterator
from typing import IO, Any

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


def read_json_uri(client: Any, uri: str, *, missing_ok: bool = False) -> Any:
    """The JSON document stored at ``uri`` (None if it does not exist and ``missing_ok``).

    A clear error naming the object if it is not JSON.
    """
    from google.api_core.exceptions import NotFound

    bucket, path = split_gs_uri(uri)
    try:
        return json.loads(client.bucket(bucket).blob(path).download_as_bytes())
    except NotFound:
        if missing_ok:
            return None
        raise
    except ValueError as exc:
        raise ValueError(f"{uri}: not JSON: {exc}") from None


def write_json_uri(client: Any, uri: str, payload: Any) -> None:
    """Store ``payload`` as UTF-8 JSON at ``uri`` (overwriting: callers own their paths)."""
    bucket, path = split_gs_uri(uri)
    client.bucket(bucket).blob(path).upload_from_string(
        json.dumps(payload, ensure_ascii=False, indent=1, default=str), content_type="application/json"
    )


def list_uris(client: Any, prefix_uri: str, pattern: re.Pattern[str] | None = None) -> list[str]:
    """Sorted ``gs://`` URIs under a prefix (optionally whose name matches ``pattern``)."""
    bucket, prefix = split_gs_uri(prefix_uri.rstrip("/") + "/")
    return sorted(
        f"gs://{bucket}/{blob.name}"
        for blob in client.list_blobs(bucket, prefix=prefix)
        if pattern is None or pattern.search(blob.name)
    )


def open_uri(client: Any, uri: str) -> IO[bytes]:
    """A seekable binary reader of a ``gs://`` object (ranged reads: Parquet reads only its columns)."""
    bucket, path = split_gs_uri(uri)
    return client.bucket(bucket).blob(path).open("rb")


@contextlib.contextmanager
def spooled_copy(client: Any, uri: str) -> Iterator[IO[bytes]]:
    """A local temporary copy of one object: Parquet and gzip readers get a real, seekable file."""
    bucket, path = split_gs_uri(uri)
    with tempfile.TemporaryFile() as spool:
        client.bucket(bucket).blob(path).download_to_file(spool)
        spool.seek(0)
        yield spool


def committed_output_uri(client: Any, root_uri: str) -> str | None:
    """The committed attempt of a job output root (``wikidrop.layout.JobOutput``) in GCS; None if none yet.

    Read the pointer once and use the URI it gives for every file of that output.
    """
    from wikidrop.layout import JobOutput

    output = JobOutput(root_uri.rstrip("/"))
    bucket, path = split_gs_uri(output.pointer_uri)
    blob = client.bucket(bucket).get_blob(path)
    if blob is None:
        return None
    return output.attempt_uri(output.committed_attempt_id(blob.download_as_bytes()))
