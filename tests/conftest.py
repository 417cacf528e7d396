"""Test session setup: an isolated Airflow home and the shared fixtures of tests/fixtures/."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DUMPS = PROJECT_ROOT.parent / "shared" / "data" / "dumps"

# Airflow reads its configuration at import time: isolate it before any test imports airflow.
_airflow_home = tempfile.mkdtemp(prefix="wikidrop-airflow-test-")
os.environ.setdefault("AIRFLOW_HOME", _airflow_home)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(PROJECT_ROOT / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(PROJECT_ROOT / "plugins"))
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
os.environ.setdefault("WIKIDROP_CONFIG", str(PROJECT_ROOT / "config" / "wikidrop.yaml"))

# Fixture modules, one per real component (emulators, mirror, Airflow DB, ...).
pytest_plugins = [
    "tests.fixtures.gcs_emulator",
    "tests.fixtures.dump_mirror",
    "tests.fixtures.airflow_db",
    "tests.fixtures.fake_gcs",
    "tests.fixtures.webhook_receiver",
]
