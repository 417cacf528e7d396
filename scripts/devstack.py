"""The local stack behind `make up` / `make down` / `make demo`, everything on 127.0.0.1 under var/.

    python scripts/devstack.py up      # emulator + mirror + webhook receiver + Airflow (UI :8080)
    python scripts/devstack.py down    # stop every process `up` (or an interrupted demo) started
    python scripts/devstack.py status
    python scripts/devstack.py init    # in a running deployment (docker-compose): pool + buckets
    python scripts/devstack.py compose-env   # .env with fresh secrets for docker-compose.yaml

Processes (each in its own process group, pid file in var/run/, log in var/log/):
  gcs        gcp-storage-emulator, data in var/gcs/
  mirror     the local Wikimedia-style mirror var/mirror/ over HTTP (built from samples/)
  webhooks   scripts/webhook_receiver.py, verified notices in var/notices/notices.jsonl
  airflow-*  api-server, scheduler, dag-processor, triggerer: what `airflow standalone` runs
             (LocalExecutor, SQLite in var/airflow/), started one by one so the scheduler's and
             triggerer's log servers, which always listen on every interface, stay off; the
             api-server reads task logs from var/airflow/logs/ directly.

Ports: `make up` listens where it always does (UI 8080, GCS emulator 9023, webhook receiver 8799,
mirror on any free port), each movable with WIKIDROP_UI_PORT, WIKIDROP_GCS_PORT,
WIKIDROP_WEBHOOK_PORT, WIKIDROP_MIRROR_PORT (0 = any free port). `make demo` takes free ports for
everything, so demos in two checkouts (or beside another stack) run at once. The emulator's data in
var/gcs/ follows it to any port (the download links it stores are moved: point_media_links_at).

Connections (GCS endpoint, webhook secret) reach Airflow as AIRFLOW_CONN_* environment variables,
never through the metadata DB. The local receiver plays every partner's webhook endpoint with one
secret, generated once into var/run/webhook_secret (mode 600). The config's loopback webhook URLs
(http://127.0.0.1:8799/... in config/wikidrop.yaml) name that receiver: when it listens elsewhere,
the stack runs on a copy of the config with those URLs moved to its port (var/run/wikidrop.yaml).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"
RUN = VAR / "run"
LOGS = VAR / "log"
AIRFLOW_HOME = VAR / "airflow"
MIRROR_DIR = VAR / "mirror"
SAMPLE_INCR_DAYS = 2  # adds-changes days the mirror publishes after each sample dump
GCS_DIR = VAR / "gcs"
NOTICES_DIR = VAR / "notices"
STATE_FILE = RUN / "stack.json"
SECRET_FILE = RUN / "webhook_secret"
NOTICES_FILE = NOTICES_DIR / "notices.jsonl"
SAMPLES = ROOT / "samples"
PYTHON = sys.executable
BIN = Path(sys.executable).parent

STACK_CONFIG = RUN / "wikidrop.yaml"

HOST = "127.0.0.1"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost"})
# `make up`'s port per component: (environment variable overriding it, default; 0 = any free port).
UP_PORTS = {
    "ui": ("WIKIDROP_UI_PORT", 8080),
    "gcs": ("WIKIDROP_GCS_PORT", 9023),
    "webhooks": ("WIKIDROP_WEBHOOK_PORT", 8799),
    "mirror": ("WIKIDROP_MIRROR_PORT", 0),
}


def up_port(component: str) -> int:
    """The port `make up` uses for ``component``: its WIKIDROP_*_PORT, else the default."""
    variable, default = UP_PORTS[component]
    return int(os.environ.get(variable, default))


UI_PORT = up_port("ui")
SAMPLE_RE = re.compile(r"^(?P<dbname>[a-z][a-z0-9_]*wiki)-(?P<date>\d{8})-pages-articles\.xml\.bz2$")
AIRFLOW_COMPONENTS = {
    "airflow-api-server": ["api-server", "--host", HOST, "--port", str(UI_PORT)],
    "airflow-scheduler": ["scheduler", "--skip-serve-logs"],
    "airflow-dag-processor": ["dag-processor"],
    "airflow-triggerer": ["triggerer", "--skip-serve-logs"],
}


def shown(path: Path) -> str:
    """A path as messages show it: relative to the checkout when inside it."""
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def log(message: str) -> None:
    print(f"[wikidrop] {message}", flush=True)


# -- processes ------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def pid_file(name: str) -> Path:
    return RUN / f"{name}.pid"


def start_process(
    name: str, argv: Sequence[str], env: Mapping[str, str], cwd: Path = ROOT, log_path: Path | None = None
) -> int:
    """Start ``argv`` in a new process group (so `down` can stop its children too); record its pid."""
    RUN.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    if is_running(name):
        raise RuntimeError(f"{name} already runs (pid file {pid_file(name)}): run `make down` first")
    with open(log_path or LOGS / f"{name}.log", "ab") as out:
        proc = subprocess.Popen(
            list(argv), env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    pid_file(name).write_text(f"{proc.pid} {_start_time(proc.pid) or ''}\n")
    return proc.pid


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux), to tell our process from a later one reusing its id."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def read_pid(name: str) -> int | None:
    """The recorded pid, or None if it is gone or the id now belongs to some other process."""
    try:
        pid, _, started = pid_file(name).read_text().strip().partition(" ")
        pid_number = int(pid)
    except (FileNotFoundError, ValueError):
        return None
    if started and _start_time(pid_number) not in {started, None}:
        return None
    return pid_number


def is_running(name: str) -> bool:
    pid = read_pid(name)
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop_process(name: str, grace_seconds: float = 20) -> None:
    """SIGINT to the process group, then SIGTERM to the parent, then SIGKILL to the group."""
    pid = read_pid(name)
    if pid is None:
        pid_file(name).unlink(missing_ok=True)
        return
    for sig, target in ((signal.SIGINT, "group"), (signal.SIGTERM, "parent"), (signal.SIGKILL, "group")):
        try:
            os.killpg(pid, sig) if target == "group" else os.kill(pid, sig)
        except ProcessLookupError:
            break
        if _wait_gone(pid, grace_seconds if sig != signal.SIGKILL else 5):
            break
    _reap(pid)
    pid_file(name).unlink(missing_ok=True)
    log(f"stopped {name} (pid {pid})")


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        _reap(pid)
        try:
            os.killpg(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    return False


def _reap(pid: int) -> None:
    """Collect our own child's exit status so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def started_names() -> list[str]:
    return sorted(p.stem for p in RUN.glob("*.pid")) if RUN.is_dir() else []


def wait_http(url: str, timeout: float, what: str, accept: Sequence[int] = (200,)) -> None:
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status in accept:
                    return
                last = response.status
        except urllib.error.HTTPError as exc:
            if exc.code in accept:
                return
            last = exc.code
        except OSError as exc:
            last = exc
        time.sleep(0.5)
    raise RuntimeError(f"{what} did not answer at {url} within {timeout:.0f} s (last: {last}); see {LOGS}/")


# -- state: ports and secrets -----------------------------------------------------------------------
def webhook_secret() -> str:
    """The local receiver's signing secret (Standard Webhooks ``whsec_`` form), generated once."""
    RUN.mkdir(parents=True, exist_ok=True)
    if not SECRET_FILE.exists():
        SECRET_FILE.write_text(new_webhook_secret())
        SECRET_FILE.chmod(0o600)
    return SECRET_FILE.read_text().strip()


def new_webhook_secret() -> str:
    """A fresh signing secret in the Standard Webhooks ``whsec_<base64>`` form."""
    import base64

    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def write_compose_env(path: Path) -> Path:
    """A ``.env`` for docker-compose.yaml with fresh secrets (mode 600); an existing file is never replaced."""
    import base64

    values = {
        "AIRFLOW_JWT_SECRET": secrets.token_urlsafe(32),
        "AIRFLOW_FERNET_KEY": base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        "WIKIDROP_WEBHOOK_SECRET": new_webhook_secret(),
        "_AIRFLOW_WWW_USER_USERNAME": "airflow",
        "_AIRFLOW_WWW_USER_PASSWORD": secrets.token_urlsafe(18),
        "AIRFLOW_UID": str(os.getuid()),
    }
    text = (
        "# docker-compose.yaml secrets, written by `python scripts/devstack.py compose-env`. Never commit.\n"
    )
    text += "".join(f"{key}={value}\n" for key, value in values.items())
    with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as out:
        out.write(text)
    return path


def conn_env_name(conn_id: str) -> str:
    return "AIRFLOW_CONN_" + re.sub(r"[^A-Za-z0-9]", "_", conn_id).upper()


def stack_env(
    config, gcs_url: str, mirror_url: str, secret: str, config_file: Path | None = None
) -> dict[str, str]:
    """Environment of every Airflow process (and of the demo's in-process runs)."""
    from wikidrop.config import CONFIG_ENV_VAR

    gcs_conn = json.dumps(
        {"conn_type": "google_cloud_platform", "extra": {"endpoint": gcs_url, "project": "wikidrop-local"}}
    )
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(AIRFLOW_HOME),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(ROOT / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://{HOST}:{UI_PORT}/execution/",
            "AIRFLOW__API__HOST": HOST,
            "AIRFLOW__API__PORT": str(UI_PORT),
            "AIRFLOW__API__BASE_URL": f"http://{HOST}:{UI_PORT}",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": "admin:admin",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "plugins")]),
            "STORAGE_EMULATOR_HOST": gcs_url,
            "WIKIDROP_MIRROR": mirror_url,
            "NO_PROXY": "127.0.0.1,localhost",
            "no_proxy": "127.0.0.1,localhost",
        }
    )
    if config_file is not None:
        env[CONFIG_ENV_VAR] = str(config_file)
    gcs_conn_ids = {config.settings.staging_conn_id, *(p.gcs_conn_id for p in config.partners)}
    for conn_id in sorted(gcs_conn_ids):
        env[conn_env_name(conn_id)] = gcs_conn
    for partner in config.partners:
        if partner.notices.webhook is not None:
            env[conn_env_name(partner.notices.webhook.secret_conn_id)] = json.dumps(
                {"conn_type": "generic", "password": secret}
            )
    return env


# -- components -----------------------------------------------------------------------------------
def ensure_free(port: int, hint: str) -> None:
    """Fail before starting anything that would answer health checks on someone else's port."""
    with socket.socket() as probe:
        if probe.connect_ex((HOST, port)) == 0:
            raise RuntimeError(f"{HOST}:{port} is taken: stop what uses it ({hint})")


def take_port(component: str, port: int) -> int:
    """``port`` if it is free (0: any free port); fail naming the variable that moves it otherwise."""
    if port == 0:
        return free_port()
    ensure_free(port, f"or set {UP_PORTS[component][0]}")
    return port


def start_gcs(port: int) -> str:
    """The GCS emulator on ``port`` (0: any free one), data in var/gcs/; returns its URL."""
    port = take_port("gcs", port)
    GCS_DIR.mkdir(parents=True, exist_ok=True)
    url = f"http://{HOST}:{port}"
    point_media_links_at(GCS_DIR / "data" / ".meta", url)
    env = dict(os.environ, STORAGE_BASE=str(GCS_DIR), STORAGE_DIR="data")
    start_process(
        "gcs", [str(BIN / "gcp-storage-emulator"), "start", "--host", HOST, "--port", str(port), "-q"], env
    )
    wait_http(f"{url}/storage/v1/b", 30, "GCS emulator")
    log(f"GCS emulator at {url} (data in {shown(GCS_DIR)}/)")
    return url


def point_media_links_at(meta_file: Path, url: str) -> None:
    """Move the stored download URLs of the emulator's objects to ``url`` (run while it is stopped).

    gcp-storage-emulator keeps each object's ``mediaLink`` (http://host:port/download/...) in its
    ``.meta`` JSON, and clients that load an object's metadata first (Beam's gcsio does) download
    from that link: objects written when the emulator listened on another port would be unreadable.
    """
    if not meta_file.exists():
        return
    import urllib.parse

    meta = json.loads(meta_file.read_text())
    origin = urllib.parse.urlsplit(url)
    changed = 0
    for objects in (meta.get("objects") or {}).values():
        for entry in objects.values():
            link = urllib.parse.urlsplit(entry.get("mediaLink") or "")
            if link.netloc and link.netloc != origin.netloc:
                entry["mediaLink"] = urllib.parse.urlunsplit(
                    link._replace(scheme=origin.scheme, netloc=origin.netloc)
                )
                changed += 1
    if changed:
        staged = meta_file.with_name(f"{meta_file.name}.tmp")
        staged.write_text(json.dumps(meta))
        staged.replace(meta_file)


def create_buckets(config, gcs_url: str) -> list[str]:
    """Staging, reports and every partner's bucket (idempotent)."""
    from wikidrop.gcs import storage_client

    client = storage_client(endpoint=gcs_url)
    names = [
        config.settings.staging_bucket,
        config.settings.reports_bucket,
        *(p.bucket for p in config.partners),
    ]
    existing = {b.name for b in client.list_buckets()}
    for name in names:
        if name not in existing:
            client.create_bucket(name)
    return names


def build_mirror(exports: Sequence[tuple[Path, Path | None]]) -> list[tuple[str, str]]:
    """``python -m wikidrop_dev.mirror build`` per export; returns (dbname, dump date) of each.

    A ``<db>-<date>-page_props.sql`` beside a sample export is published with it, and so are
    ``SAMPLE_INCR_DAYS`` adds-changes days after it (``other/incr/<db>/``), for the nightly DAGs.
    """
    built = []
    MIRROR_DIR.mkdir(parents=True, exist_ok=True)
    for export, siteinfo in exports:
        argv = [PYTHON, "-m", "wikidrop_dev.mirror", "build", str(export), "--root", str(MIRROR_DIR)]
        match = SAMPLE_RE.match(export.name)
        if match:
            argv += ["--dbname", match["dbname"], "--date", match["date"]]
            page_props = export.with_name(f"{match['dbname']}-{match['date']}-page_props.sql")
            if page_props.exists():
                argv += ["--page-props", str(page_props)]
            argv += ["--incr-days", str(SAMPLE_INCR_DAYS)]
        if siteinfo is not None:
            argv += ["--siteinfo-json", str(siteinfo)]
        result = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"mirror build of {export} failed:\n{result.stdout}{result.stderr}")
        summary = result.stdout.strip().splitlines()[-1]  # "<root>/<db>/<date>: N pages, ..."
        directory = Path(summary.split(": ", 1)[0])
        built.append((directory.parent.name, directory.name))
        log(f"mirror: {summary}")
    return built


def sample_exports() -> list[tuple[Path, Path | None]]:
    """The project's sample editions: samples/<db>-<date>-pages-articles.xml.bz2 (+ siteinfo JSON)."""
    exports = []
    for export in sorted(SAMPLES.glob("*-pages-articles.xml.bz2")):
        match = SAMPLE_RE.match(export.name)
        if not match:
            continue
        siteinfo = SAMPLES / f"{match['dbname']}-{match['date']}-siteinfo.json"
        exports.append((export, siteinfo if siteinfo.exists() else None))
    if not exports:
        raise RuntimeError(f"no sample exports in {SAMPLES}/")
    return exports


def start_mirror_server(port: int) -> str:
    """var/mirror/ over HTTP on ``port`` (0: any free one); returns its base URL."""
    port = take_port("mirror", port)
    start_process(
        "mirror",
        [
            PYTHON,
            "-m",
            "wikidrop_dev.mirror",
            "serve",
            "--root",
            str(MIRROR_DIR),
            "--host",
            HOST,
            "--port",
            str(port),
        ],
        dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    url = f"http://{HOST}:{port}"
    wait_http(f"{url}/", 30, "mirror server")
    log(f"dump mirror at {url} (files in {shown(MIRROR_DIR)}/)")
    return url


def start_webhook_receiver(secret: str, port: int) -> str:
    """scripts/webhook_receiver.py plays every partner's endpoint on ``port`` (0: any free one);
    verified notices as JSON lines. Returns its URL (``stack_config`` points the config at it)."""
    NOTICES_DIR.mkdir(parents=True, exist_ok=True)
    port = take_port("webhooks", port)
    start_process(
        "webhooks",
        [PYTHON, str(ROOT / "scripts" / "webhook_receiver.py"), "--host", HOST, "--port", str(port)],
        dict(os.environ, PYTHONPATH=str(ROOT), WIKIDROP_WEBHOOK_SECRET=secret),
        log_path=NOTICES_FILE,
    )
    url = f"http://{HOST}:{port}"
    wait_http(url, 30, "webhook receiver", accept=(501,))  # it answers POSTs only
    log(f"webhook receiver at {url} (verified notices in {shown(NOTICES_FILE)})")
    return url


def point_webhooks_at(raw_config: dict, receiver_url: str) -> dict:
    """The config (as loaded from YAML) with every loopback webhook URL moved to ``receiver_url``'s
    origin; partners' real endpoints are left alone."""
    import copy
    import urllib.parse

    receiver = urllib.parse.urlsplit(receiver_url)
    moved = copy.deepcopy(raw_config)
    for partner in moved.get("partners") or []:
        webhook = (partner.get("notices") or {}).get("webhook")
        if not webhook or not webhook.get("url"):
            continue
        url = urllib.parse.urlsplit(webhook["url"])
        if url.scheme == "http" and url.hostname in LOOPBACK_HOSTS:
            webhook["url"] = urllib.parse.urlunsplit(url._replace(netloc=receiver.netloc))
    return moved


def stack_config(base: Path, receiver_url: str, target: Path | None = None, raw: dict | None = None) -> Path:
    """The config the stack runs on: ``base`` itself, or (when the webhooks or ``raw``, a changed copy
    of it, differ) that copy with its webhooks at ``receiver_url``, written to ``target``
    (default var/run/wikidrop.yaml)."""
    import yaml

    target = target or STACK_CONFIG
    original = yaml.safe_load(base.read_text(encoding="utf-8"))
    wanted = point_webhooks_at(raw if raw is not None else original, receiver_url)
    if wanted == original:
        return base
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        f"# Written by scripts/devstack.py: {base.name} for this local stack "
        f"(webhooks at {receiver_url}). Do not edit: edit {base.name}.\n"
        + yaml.safe_dump(wanted, allow_unicode=True, sort_keys=False),
        encoding="utf-8",
    )
    return target


def airflow_cli(env: Mapping[str, str], *args: str) -> str:
    airflow = BIN / "airflow"
    result = subprocess.run(
        [str(airflow) if airflow.exists() else "airflow", *args],
        env=dict(env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"airflow {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def prepare_airflow(config, env: Mapping[str, str]) -> None:
    """Migrate the SQLite DB and create the Beam pool (slots from the config)."""
    AIRFLOW_HOME.mkdir(parents=True, exist_ok=True)
    airflow_cli(env, "db", "migrate")
    beam = config.settings.beam
    airflow_cli(env, "pools", "set", beam.pool, str(beam.pool_slots), "wikidrop: Beam parse jobs at a time")
    log(f"Airflow DB migrated in {shown(AIRFLOW_HOME)}/, pool {beam.pool}={beam.pool_slots}")


def save_state(**values: str) -> None:
    RUN.mkdir(parents=True, exist_ok=True)
    STATE_FILE.write_text(json.dumps(values, indent=1))


# -- commands -------------------------------------------------------------------------------------
def up() -> int:
    from wikidrop.config import config_path, load_config

    if started_names():
        log(f"already started ({', '.join(started_names())}): run `make down` first")
        return 1
    config_file = config_path()
    config = load_config(config_file)
    ensure_free(UI_PORT, "or set WIKIDROP_UI_PORT")
    try:
        gcs_url = start_gcs(up_port("gcs"))
        create_buckets(config, gcs_url)
        build_mirror(sample_exports())
        mirror_url = start_mirror_server(up_port("mirror"))
        secret = webhook_secret()
        receiver_url = start_webhook_receiver(secret, up_port("webhooks"))
        config_file = stack_config(config_file, receiver_url)
        config = load_config(config_file)
        env = stack_env(config, gcs_url, mirror_url, secret, config_file)
        prepare_airflow(config, env)
        for name, args in AIRFLOW_COMPONENTS.items():
            start_process(name, [str(BIN / "airflow"), *args], env)
        ui = f"http://{HOST}:{UI_PORT}"
        wait_http(f"{ui}/api/v2/monitor/health", 180, "Airflow api-server")
        save_state(gcs=gcs_url, mirror=mirror_url, ui=ui)
    except BaseException:
        down()
        raise
    print_login(ui, config)
    return 0


def print_login(ui: str, config) -> None:
    passwords = AIRFLOW_HOME / "simple_auth_manager_passwords.json.generated"
    deadline = time.monotonic() + 30
    while not passwords.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    login = json.loads(passwords.read_text()) if passwords.exists() else {}
    dag_ids = ", ".join(e.dag_id for e in config.editions)
    print(
        f"""
Airflow UI:   {ui}   login: {", ".join(f"{u} / {p}" for u, p in login.items()) or f"see {passwords}"}
DAGs:         {dag_ids} (paused: unpause, or "Trigger" with the form)
Mirror:       {json.loads(STATE_FILE.read_text())["mirror"]}  (sample dumps; WIKIDROP_MIRROR default of the form)
GCS emulator: {json.loads(STATE_FILE.read_text())["gcs"]}  (STORAGE_EMULATOR_HOST=... to browse with google-cloud-storage)
Notices:      {shown(NOTICES_DIR)}/    Logs: {shown(LOGS)}/, {shown(AIRFLOW_HOME)}/logs/
Stop with:    make down
""",
        flush=True,
    )


def down() -> int:
    names = started_names()
    # Airflow first (it talks to the others), the emulator last.
    order = sorted(names, key=lambda n: (not n.startswith("airflow"), n == "gcs", n))
    for name in order:
        stop_process(name)
    STATE_FILE.unlink(missing_ok=True)
    STACK_CONFIG.unlink(missing_ok=True)
    if not names:
        log("nothing to stop")
    return 0


def status() -> int:
    for name in started_names():
        print(f"{name:24} pid {read_pid(name):>8}  {'running' if is_running(name) else 'NOT running'}")
    if STATE_FILE.exists():
        print(STATE_FILE.read_text())
    return 0


def init() -> int:
    """Inside an existing Airflow deployment (docker-compose's airflow-init): pool and buckets."""
    from wikidrop.config import load_config

    config = load_config()
    beam = config.settings.beam
    airflow_cli(
        os.environ, "pools", "set", beam.pool, str(beam.pool_slots), "wikidrop: Beam parse jobs at a time"
    )
    endpoint = os.environ.get("STORAGE_EMULATOR_HOST")
    if endpoint:
        log(f"buckets at {endpoint}: {', '.join(create_buckets(config, endpoint))}")
    else:
        log("real GCS: create the staging, reports and partner buckets with your infrastructure code")
    return 0


def compose_env() -> int:
    """Write ``.env`` beside docker-compose.yaml with fresh secrets, unless one exists."""
    path = ROOT / ".env"
    try:
        write_compose_env(path)
    except FileExistsError:
        log(f"{shown(path)} exists: kept as it is (delete it first for new secrets)")
        return 1
    log(f"wrote {shown(path)} (mode 600, git-ignored): docker-compose.yaml reads its secrets from it")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("command", choices=["up", "down", "status", "init", "compose-env"])
    args = parser.parse_args(argv)
    commands = {"up": up, "down": down, "status": status, "init": init, "compose-env": compose_env}
    return commands[args.command]()


if __name__ == "__main__":
    sys.path[:0] = [str(ROOT), str(ROOT / "plugins")]
    sys.exit(main())
