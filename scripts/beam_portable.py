"""Beam's portable job API on this machine: a job service that honours ``--direct_num_workers``, and
an SDK worker pool, for tests and benchmarks.

    python scripts/beam_portable.py --port 8099                                   # job service
    python -m apache_beam.runners.worker.worker_pool_main --service_port 50000    # SDK worker pool
    python -m beam_jobs.parse_dump --input ... --output ... --runner PortableRunner \\
        --job_endpoint localhost:8099 --environment_type EXTERNAL \\
        --environment_config localhost:50000 --direct_num_workers 2

This is the path Flink, Spark and Dataflow runners take (job API, pickled pipeline, SDK workers in
their own processes), run here without a cluster.

Why a job service of our own: Beam's ``local_job_service_main`` runs each job on an FnApiRunner built
without the job's options, so ``--direct_num_workers`` is ignored and every job gets one SDK worker.
This one is the same servicer with one change: its runner takes the job's ``--direct_num_workers``
(0 = one per CPU), so it asks the pool for that many SDK worker processes and splits each stage's
input between them, as Beam's local multi-processing runner does.

The pool starts each SDK worker as a bare ``python`` in the pool's working directory: the
interpreter with Beam and the project must come first on ``PATH`` and the project must be on
``PYTHONPATH`` (``PortableBeam`` sets both), and jobs must not pass relative paths (the parse job
makes its paths absolute). Beam binds the pool, and the runner's control/data servers, on every
interface: use them on a host whose firewall keeps those ports private.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
log = logging.getLogger(__name__)


def sdk_worker_count(options: Any) -> int:
    """The SDK workers a job asks for: ``--direct_num_workers`` (0 = one per CPU; default 1)."""
    from apache_beam.options.pipeline_options import DirectOptions

    requested = options.view_as(DirectOptions).direct_num_workers
    if requested is None:
        return 1
    # Options travel to the service as a protobuf Struct, whose numbers are floats.
    return int(requested) or os.cpu_count() or 1


def job_type_honouring_worker_count() -> type:
    """Beam's local ``BeamJob`` whose runner gets the job's SDK worker count.

    Uses two private names of Beam's local job service (``BeamJob._invoke_runner`` and
    ``FnApiRunner._num_workers``, what ``FnApiRunner.run_pipeline`` sets from the same option);
    they are checked here so a Beam upgrade that renames them fails at start-up, not as one worker.
    """
    from apache_beam.portability.api import beam_job_api_pb2
    from apache_beam.runners.portability import local_job_service
    from apache_beam.runners.portability.fn_api_runner import fn_runner

    if not hasattr(local_job_service.BeamJob, "_invoke_runner") or not hasattr(
        fn_runner.FnApiRunner(), "_num_workers"
    ):
        raise RuntimeError("this Beam version's local job service changed: review scripts/beam_portable.py")

    class BeamJobWithWorkerCount(local_job_service.BeamJob):
        def _invoke_runner(self) -> Any:
            self.set_state(beam_job_api_pb2.JobState.RUNNING)
            options = self.pipeline_options()
            runner = fn_runner.FnApiRunner(provision_info=self._provision_info)
            runner._num_workers = sdk_worker_count(options)
            log.info("job %s: %d SDK worker(s)", self._job_id, runner._num_workers)
            return runner.run_via_runner_api(self._pipeline_proto, options)

    return BeamJobWithWorkerCount


def serve_job_service(port: int) -> None:
    """Serve the job API on localhost:``port`` until SIGTERM or SIGINT."""
    from apache_beam.runners.portability import local_job_service

    servicer = local_job_service.LocalJobServicer(beam_job_type=job_type_honouring_worker_count())
    bound = servicer.start_grpc_server(port)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    log.info("job service listening on localhost:%d", bound)
    try:
        stop.wait()
    finally:
        servicer.stop()


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


class PortableBeam:
    """The job service and one SDK worker pool on free ports, started in ``workdir`` (context manager).

    Each runs in its own process group (the pool's SDK workers and their children inherit it), logs
    to ``workdir/<name>.log`` and is stopped with SIGTERM to its group, SIGKILL after ``grace_s``.
    """

    def __init__(self, workdir: Path, startup_timeout_s: float = 120, grace_s: float = 10):
        self.workdir = Path(workdir)
        self.startup_timeout_s = startup_timeout_s
        self.grace_s = grace_s
        self.job_port = 0
        self.pool_port = 0
        self.processes: dict[str, subprocess.Popen] = {}

    @property
    def job_endpoint(self) -> str:
        return f"localhost:{self.job_port}"

    @property
    def worker_pool(self) -> str:
        return f"localhost:{self.pool_port}"

    def pipeline_args(self, sdk_workers: int) -> list[str]:
        """Options that send a job here, asking for ``sdk_workers`` SDK worker processes."""
        return [
            *("--runner", "PortableRunner", "--job_endpoint", self.job_endpoint),
            *("--environment_type", "EXTERNAL", "--environment_config", self.worker_pool),
            *("--direct_num_workers", str(sdk_workers)),
        ]

    def environment(self) -> dict[str, str]:
        """The services' environment: this interpreter's bin first on PATH, the project on PYTHONPATH."""
        env = dict(os.environ)
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def start(self) -> PortableBeam:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.job_port, self.pool_port = free_port(), free_port()
        python = sys.executable
        try:
            self._start("job-service", [python, str(Path(__file__).resolve()), "--port", str(self.job_port)])
            self._start(
                "worker-pool",
                [
                    python,
                    "-m",
                    "apache_beam.runners.worker.worker_pool_main",
                    "--service_port",
                    str(self.pool_port),
                ],
            )
            self._wait_listening("job-service", self.job_port)
            self._wait_listening("worker-pool", self.pool_port)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, name: str, argv: Sequence[str]) -> None:
        with open(self.workdir / f"{name}.log", "ab") as out:
            self.processes[name] = subprocess.Popen(
                list(argv),
                cwd=self.workdir,
                env=self.environment(),
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def _wait_listening(self, name: str, port: int) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        while time.monotonic() < deadline:
            if self.processes[name].poll() is not None:
                raise RuntimeError(f"{name} exited at start-up:\n{self.log(name)[-3000:]}")
            with socket.socket() as probe:
                probe.settimeout(1)
                if probe.connect_ex((HOST, port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError(f"{name} did not listen on {HOST}:{port} within {self.startup_timeout_s:.0f} s")

    def log(self, name: str) -> str:
        path = self.workdir / f"{name}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def sdk_worker_pids(self) -> list[int]:
        """Live SDK worker processes the pool started (its children running Beam's SdkHarness)."""
        import psutil

        pool = self.processes.get("worker-pool")
        if pool is None or pool.poll() is not None:
            return []
        workers = []
        for child in psutil.Process(pool.pid).children():
            try:
                if child.status() != psutil.STATUS_ZOMBIE and "SdkHarness" in " ".join(child.cmdline()):
                    workers.append(child.pid)
            except psutil.NoSuchProcess:
                continue
        return workers

    def stop(self) -> None:
        """SIGTERM to each process group, SIGKILL to what is left after ``grace_s``."""
        for proc in self.processes.values():
            _signal_group(proc, signal.SIGTERM)
        for proc in self.processes.values():
            try:
                proc.wait(timeout=self.grace_s)
            except subprocess.TimeoutExpired:
                _signal_group(proc, signal.SIGKILL)
                proc.wait(timeout=self.grace_s)
            # SDK workers outlive a pool killed by a signal only until the group signal reaches them.
            _signal_group(proc, signal.SIGKILL)
        self.processes.clear()

    def __enter__(self) -> PortableBeam:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _signal_group(proc: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=8099, help="job API port on localhost (0: any free port)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    serve_job_service(args.port)


if __name__ == "__main__":
    main()
