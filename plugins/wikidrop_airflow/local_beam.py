"""Beam jobs on the local runner, each in a child process of the Airflow task that launches it.

A child, not the task process: the parse job's page guard starts fork-server children, which
re-import the parent's ``__main__``; in an Airflow task that is the Airflow CLI, whose import needs
the metadata DB the task runner deliberately withholds. A child also returns Beam's memory when
done, and its log lines stream into the task log as they come.
"""

from __future__ import annotations

import collections
import logging
import os
import subprocess
import sys

log = logging.getLogger(__name__)


def run_local_beam_job(module: str, argv: list[str], gcs_endpoint: str | None = None) -> None:
    """``python -m MODULE ARGV`` in a child process; raise with its last lines on failure.

    ``gcs_endpoint``: a GCS emulator for Beam's ``gs://`` filesystem (it honours only
    ``STORAGE_EMULATOR_HOST``). A failure whose last line is the job's one-line input error
    (``beam_jobs.command``: ``<job>: input error: ...``) fails the task without retries: the same
    input would fail the same way.
    """
    import beam_jobs
    from beam_jobs.command import input_error_prefix

    project_root = os.path.dirname(os.path.dirname(os.path.abspath(beam_jobs.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [project_root, env.get("PYTHONPATH")]))
    if gcs_endpoint:
        env["STORAGE_EMULATOR_HOST"] = gcs_endpoint
    command = [sys.executable, "-m", module, *argv]
    log.info("running %s", " ".join(command))
    tail: collections.deque[str] = collections.deque(maxlen=30)
    with subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
    ) as process:
        for line in process.stdout or ():
            tail.append(line.rstrip())
            log.info("beam: %s", line.rstrip())
    if process.returncode == 0:
        return
    if tail and tail[-1].startswith(input_error_prefix(module.rsplit(".", 1)[-1])):
        from airflow.sdk.exceptions import AirflowFailException

        raise AirflowFailException(tail[-1])
    raise RuntimeError(f"{module} exited with status {process.returncode}; last lines:\n" + "\n".join(tail))
