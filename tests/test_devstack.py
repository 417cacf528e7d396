"""scripts/devstack.py process handling behind `make up` / `make down`, on real processes."""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT

sys.path.insert(0, str(PROJECT_ROOT / "scripts"))
import devstack

# A parent that ignores SIGINT (as a stuck component might) with a child that does not.
STUBBORN_PARENT = """
import signal, subprocess, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, lambda *_: (print("TERM", flush=True), sys.exit(0)))
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print(child.pid, flush=True)
time.sleep(600)
"""


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(devstack, "RUN", tmp_path / "run")
    monkeypatch.setattr(devstack, "LOGS", tmp_path / "log")
    return tmp_path


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie is gone for our purposes
        return stat.read().split(")")[-1].split()[0] != "Z"


def test_down_stops_the_whole_process_group(run_dir: Path) -> None:
    pid = devstack.start_process("stubborn", [sys.executable, "-c", STUBBORN_PARENT], os.environ)
    log = run_dir / "log" / "stubborn.log"
    deadline = time.monotonic() + 30
    while not log.read_text().strip() and time.monotonic() < deadline:
        time.sleep(0.1)
    child = int(log.read_text().split()[0])
    assert devstack.started_names() == ["stubborn"] and devstack.is_running("stubborn")

    devstack.stop_process("stubborn", grace_seconds=2)

    assert not _alive(child), "SIGINT to the group must reach the child"
    assert not _alive(pid)
    assert log.read_text().split()[1:] == ["TERM"], "SIGTERM (not SIGKILL) must end the parent"
    assert devstack.started_names() == []


def test_refuses_to_start_twice(run_dir: Path) -> None:
    devstack.start_process("sleeper", [sys.executable, "-c", "import time; time.sleep(600)"], os.environ)
    try:
        with pytest.raises(RuntimeError, match="already runs"):
            devstack.start_process("sleeper", [sys.executable, "-c", "pass"], os.environ)
    finally:
        devstack.stop_process("sleeper", grace_seconds=2)
    assert not devstack.is_running("sleeper")


def test_taken_port_is_reported_before_anything_starts() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        with pytest.raises(RuntimeError, match=f"127.0.0.1:{port} is taken"):
            devstack.ensure_free(port, "test")


def test_connections_reach_airflow_as_environment(tmp_path: Path) -> None:
    """Every GCS and webhook connection the config names is defined for the stack's processes."""
    import json

    from wikidrop.config import load_config

    config = load_config()
    env = devstack.stack_env(config, "http://127.0.0.1:9023", "http://127.0.0.1:8765", "whsec_c2VjcmV0")
    for conn_id in {config.settings.staging_conn_id, *(p.gcs_conn_id for p in config.partners)}:
        conn = json.loads(env[devstack.conn_env_name(conn_id)])
        assert conn["extra"]["endpoint"] == "http://127.0.0.1:9023"
    for partner in config.partners:
        if partner.notices.webhook:
            conn = json.loads(env[devstack.conn_env_name(partner.notices.webhook.secret_conn_id)])
            assert conn["password"] == "whsec_c2VjcmV0"
    assert env["AIRFLOW__API__HOST"] == "127.0.0.1"
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == f"http://127.0.0.1:{devstack.UI_PORT}/execution/"
    assert env["WIKIDROP_MIRROR"] == "http://127.0.0.1:8765"


def test_stale_pid_file_of_a_reused_id_is_not_signalled(run_dir: Path) -> None:
    """A pid file whose process is gone must never lead to signalling whoever got that id since."""
    devstack.RUN.mkdir(parents=True)
    # Our own pid, but recorded with a start time that is not ours: as if the id had been reused.
    devstack.pid_file("ghost").write_text(f"{os.getpid()} 1\n")
    assert devstack.read_pid("ghost") is None and not devstack.is_running("ghost")
    devstack.stop_process("ghost", grace_seconds=1)  # must not signal this test process
    assert devstack.started_names() == []
