"""scripts/devstack.py process handling behind `make up` / `make down`, on real processes."""

from __future__ import annotations

import json
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


# -- ports: `make up` keeps its defaults (each movable), `make demo` takes free ones ------------------


@pytest.fixture
def stack_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """devstack's var/ in a temporary directory; whatever a test starts is stopped afterwards."""
    var = tmp_path / "var"
    for name, path in {
        "VAR": var,
        "RUN": var / "run",
        "LOGS": var / "log",
        "GCS_DIR": var / "gcs",
        "MIRROR_DIR": var / "mirror",
        "NOTICES_DIR": var / "notices",
        "NOTICES_FILE": var / "notices" / "notices.jsonl",
        "STATE_FILE": var / "run" / "stack.json",
        "SECRET_FILE": var / "run" / "webhook_secret",
        "STACK_CONFIG": var / "run" / "wikidrop.yaml",
    }.items():
        monkeypatch.setattr(devstack, name, path)
    yield var
    devstack.down()


@pytest.fixture
def default_ports_taken() -> list[socket.socket]:
    """Something else listens on the defaults `make up` uses for GCS and webhooks (as another demo would)."""
    held = []
    for component in ("gcs", "webhooks"):
        server = socket.socket()
        try:
            server.bind((devstack.HOST, devstack.UP_PORTS[component][1]))
            server.listen()
            held.append(server)
        except OSError:  # already taken by someone else: just as good for this test
            server.close()
    yield held
    for server in held:
        server.close()


def test_up_ports_have_defaults_and_an_override_each(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("WIKIDROP_UI_PORT", "WIKIDROP_GCS_PORT", "WIKIDROP_WEBHOOK_PORT", "WIKIDROP_MIRROR_PORT"):
        monkeypatch.delenv(name, raising=False)
    assert {c: devstack.up_port(c) for c in devstack.UP_PORTS} == {
        "ui": 8080,
        "gcs": 9023,
        "webhooks": 8799,
        "mirror": 0,
    }
    monkeypatch.setenv("WIKIDROP_WEBHOOK_PORT", "9899")
    monkeypatch.setenv("WIKIDROP_MIRROR_PORT", "9898")
    assert (devstack.up_port("webhooks"), devstack.up_port("mirror")) == (9899, 9898)


def test_a_taken_port_names_the_variable_that_moves_it(stack_dirs: Path, default_ports_taken) -> None:
    with pytest.raises(RuntimeError, match=r"127\.0\.0\.1:8799 is taken: .*or set WIKIDROP_WEBHOOK_PORT"):
        devstack.start_webhook_receiver("whsec_c2VjcmV0", devstack.UP_PORTS["webhooks"][1])


def test_demo_services_take_free_ports_and_the_config_follows_the_receiver(
    stack_dirs: Path, default_ports_taken
) -> None:
    """What `make demo` starts comes up beside whatever holds the default ports, and a signed notice
    sent to the config's (moved) webhook URL reaches its receiver."""
    import urllib.request

    from wikidrop.config import DEFAULT_CONFIG_PATH, load_config
    from wikidrop.delivery.notices import sign

    secret = devstack.webhook_secret()
    gcs_url = devstack.start_gcs(port=0)
    (stack_dirs / "mirror").mkdir(parents=True)
    mirror_url = devstack.start_mirror_server(port=0)
    receiver_url = devstack.start_webhook_receiver(secret, port=0)
    ports = {int(url.rsplit(":", 1)[1]) for url in (gcs_url, mirror_url, receiver_url)}
    assert len(ports) == 3 and not ports & {9023, 8799, 8080}

    config_file = devstack.stack_config(
        DEFAULT_CONFIG_PATH, receiver_url, stack_dirs / "demo" / "wikidrop.yaml"
    )
    assert config_file == stack_dirs / "demo" / "wikidrop.yaml"
    config = load_config(config_file)
    (partner,) = [p for p in config.partners if p.notices.webhook]
    assert str(partner.notices.webhook.url) == f"{receiver_url}/hooks/acme"
    body = json.dumps({"id": "n-1", "type": "test", "data": {}}).encode()
    now = int(time.time())
    headers = {
        "webhook-id": "n-1",
        "webhook-timestamp": str(now),
        "webhook-signature": sign(secret, "n-1", now, body),
    }
    request = urllib.request.Request(
        str(partner.notices.webhook.url), data=body, headers={**headers, "content-type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 204
    deadline = time.monotonic() + 10
    while "n-1" not in devstack.NOTICES_FILE.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert '"n-1"' in devstack.NOTICES_FILE.read_text()


def test_stack_config_is_the_project_config_while_the_receiver_is_where_it_says(tmp_path: Path) -> None:
    from wikidrop.config import DEFAULT_CONFIG_PATH

    assert devstack.stack_config(DEFAULT_CONFIG_PATH, "http://127.0.0.1:8799", tmp_path / "x.yaml") == (
        DEFAULT_CONFIG_PATH
    )
    assert not (tmp_path / "x.yaml").exists()


def test_only_loopback_webhooks_move() -> None:
    raw = {
        "partners": [
            {"id": "a", "notices": {"webhook": {"url": "http://127.0.0.1:8799/hooks/a?x=1"}}},
            {"id": "b", "notices": {"webhook": {"url": "https://hooks.example.org/b"}}},
            {"id": "c", "notices": {}},
        ]
    }
    moved = devstack.point_webhooks_at(raw, "http://127.0.0.1:40123")
    urls = [(p["notices"].get("webhook") or {}).get("url") for p in moved["partners"]]
    assert urls == ["http://127.0.0.1:40123/hooks/a?x=1", "https://hooks.example.org/b", None]
    assert raw["partners"][0]["notices"]["webhook"]["url"] == "http://127.0.0.1:8799/hooks/a?x=1"


def test_emulator_data_survives_a_new_port(stack_dirs: Path) -> None:
    """gcp-storage-emulator stores each object's mediaLink (with its port) beside the data, and Beam
    downloads through that link: a demo on a new port must still read what an earlier one wrote."""
    from apache_beam.io.filesystems import FileSystems

    from beam_jobs.local_gcs import use_anonymous_gcs_for_emulator
    from wikidrop.gcs import storage_client

    first = devstack.start_gcs(port=0)
    client = storage_client(endpoint=first)
    client.create_bucket("kept")
    client.bucket("kept").blob("a/b.json").upload_from_string(b'{"kept": true}')
    devstack.stop_process("gcs")
    second = devstack.start_gcs(port=0)
    assert second != first
    client = storage_client(endpoint=second)
    assert client.bucket("kept").blob("a/b.json").download_as_bytes() == b'{"kept": true}'
    assert [b.name for b in client.list_blobs("kept")] == ["a/b.json"]
    previous = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = second
    try:
        use_anonymous_gcs_for_emulator()
        with FileSystems.open("gs://kept/a/b.json") as f:
            assert f.read() == b'{"kept": true}'
    finally:
        if previous is None:
            os.environ.pop("STORAGE_EMULATOR_HOST", None)
        else:
            os.environ["STORAGE_EMULATOR_HOST"] = previous
