"""Hooks read every connection; a connection the config names but Airflow lacks fails loudly."""

from __future__ import annotations

import json

import pytest
from wikidrop_airflow.hooks.gcs import ConnectionNotDefined, WikidropGCSHook


def test_missing_partner_connection_fails_instead_of_using_the_workers_identity(monkeypatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_ACME_GSC", raising=False)
    hook = WikidropGCSHook("acme_gsc", "partner acme_ai's bucket")
    with pytest.raises(ConnectionNotDefined, match=r"'acme_gsc' \(partner acme_ai's bucket\) is not defined"):
        hook.get_client()
    with pytest.raises(ConnectionNotDefined):
        hook.emulator_endpoint()


def test_connection_extras_choose_the_endpoint_and_project(monkeypatch, gcs_emulator: str) -> None:
    extra = {"endpoint": gcs_emulator, "project": "acme-project"}
    monkeypatch.setenv(
        "AIRFLOW_CONN_ACME_GCS", json.dumps({"conn_type": "google_cloud_platform", "extra": extra})
    )
    hook = WikidropGCSHook("acme_gcs")
    client = hook.get_client()
    assert client.project == "acme-project"
    api_base = client._connection.API_BASE_URL
    assert api_base == gcs_emulator
    assert hook.emulator_endpoint() == gcs_emulator
