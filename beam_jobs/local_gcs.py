"""Beam's ``gs://`` filesystem against a local GCS emulator, without a 25-second credential hunt.

Beam looks for Application Default Credentials with four exponential-backoff retries (~25 s per
process) before it falls back to an anonymous client. An emulator needs no credentials, so when
``STORAGE_EMULATOR_HOST`` is set we record "no credentials" in Beam's credential cache up front.
Beam has no public option for this (``--no_auth`` only affects the Dataflow API client); the
private names are checked so a Beam upgrade that renames them fails loudly here, not as a slow test.
On real GCS (no emulator variable) nothing changes.
"""

from __future__ import annotations

import os


def use_anonymous_gcs_for_emulator() -> bool:
    """If an emulator is configured, make Beam's GCS client anonymous; return whether it did."""
    if not os.environ.get("STORAGE_EMULATOR_HOST"):
        return False
    from apache_beam.internal.gcp import auth

    credentials = auth._Credentials
    with credentials._credentials_lock:
        credentials._credentials = None
        credentials._credentials_init = True
    return True
