"""Test session setup: an isolated Airflow home and the shared fixtures of tests/fixtures/."""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Real Wikipedia dump samples, beside the repository (never copied into it). Tests that read them are
# marked ``realdata``: without the folder they are skipped with one reason; CI sets
# WIKIDROP_REQUIRE_REALDATA=1 when the folder is there, and then every one of them must run.
SHARED_DUMPS = PROJECT_ROOT.parent / "shared" / "data" / "dumps"
NO_SHARED_DUMPS = f"real dump samples not found at {SHARED_DUMPS} (a clone without ../shared)"
REQUIRE_REALDATA_ENV = "WIKIDROP_REQUIRE_REALDATA"
# Set by .ci/run: a tool that CI installs must be there, its tests fail instead of skipping.
CI_ENV = "WIKIDROP_CI"


@dataclass(frozen=True)
class ExternalTool:
    """A program some tests need that pip does not install."""

    commands: tuple[str, ...]
    install: str
    installed_by_ci: bool

    def available(self) -> bool:
        return all(shutil.which(c) for c in self.commands)


EXTERNAL_TOOLS = {
    "docker-compose": ExternalTool(("docker-compose",), "apt-get install docker-compose", True),
    "chromium": ExternalTool(("chromium",), "apt-get install chromium", True),
    "redis-server": ExternalTool(("redis-server",), "apt-get install redis-server", True),
    "gcloud Pub/Sub emulator": ExternalTool(
        ("gcloud", "java"), "Google Cloud SDK with the pubsub-emulator component", False
    ),
}

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
    "tests.fixtures.beam_portable",
    "tests.fixtures.e2e_config",
    "tests.fixtures.redis_server",
    "tests.fixtures.airflow_celery",
]


def require_shared_dumps() -> None:
    """Skip the calling test (counted with the realdata skips) when the real samples are absent."""
    if not SHARED_DUMPS.is_dir():
        pytest.skip(NO_SHARED_DUMPS)


def require_tool(name: str) -> str:
    """The first command of an external tool; skip the test without it, or fail under CI if CI installs it."""
    tool = EXTERNAL_TOOLS[name]
    if tool.available():
        return str(shutil.which(tool.commands[0]))
    message = f"{name} not installed ({tool.install})"
    if tool.installed_by_ci and os.environ.get(CI_ENV) == "1":
        pytest.fail(f"{message}: .ci/run installs it, so its absence is a failure")
    pytest.skip(message)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "realdata: reads the real dump samples in ../shared/data/dumps")
    config.stash[_REALDATA_RUN] = 0


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if SHARED_DUMPS.is_dir():
        return
    skip = pytest.mark.skip(reason=NO_SHARED_DUMPS)
    for item in items:
        if "realdata" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.skipped and isinstance(report.longrepr, tuple) and report.longrepr[2].endswith(NO_SHARED_DUMPS):
        # One summary line for all of them, not one per test (no line number: pytest drops it for
        # some skips by marker, and a different one would fold them into a second line).
        report.longrepr = (str(Path(__file__)), None, report.longrepr[2])
    elif report.when == "call" and report.passed and "realdata" in item.keywords:
        item.config.stash[_REALDATA_RUN] += 1
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """With WIKIDROP_REQUIRE_REALDATA=1 (CI, ../shared present) a run without realdata tests fails."""
    if os.environ.get(REQUIRE_REALDATA_ENV) != "1" or session.config.option.collectonly:
        return
    if not SHARED_DUMPS.is_dir() or session.config.stash[_REALDATA_RUN] == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    tools = ", ".join(
        f"{name} {'present' if tool.available() else 'MISSING (its tests skipped)'}"
        for name, tool in EXTERNAL_TOOLS.items()
    )
    terminalreporter.write_line(f"external tools: {tools}")
    ran = config.stash[_REALDATA_RUN]
    if SHARED_DUMPS.is_dir():
        terminalreporter.write_line(f"realdata: {ran} tests on the real dump samples passed")
    else:
        terminalreporter.write_line(f"realdata: skipped, {NO_SHARED_DUMPS}")
    if os.environ.get(REQUIRE_REALDATA_ENV) == "1" and (not SHARED_DUMPS.is_dir() or ran == 0):
        terminalreporter.write_line(
            f"realdata: {REQUIRE_REALDATA_ENV}=1 but no realdata test ran: failing the run", red=True
        )


_REALDATA_RUN = pytest.StashKey[int]()
