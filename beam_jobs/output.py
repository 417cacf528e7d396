"""A job's output committed all at once (``wikidrop.layout.JobOutput``), over Beam FileSystems.

The parse job (and any job re-run into the same output root, such as the nightly state) writes into
a fresh attempt directory and commits only when everything is written::

    with OutputAttempt(root) as attempt:          # a failure inside deletes the attempt
        run_the_pipeline(writing under attempt.uri)
        attempt.commit()                          # CURRENT.json -> this attempt, older ones deleted

Readers call ``committed_output(root)`` (here, or ``wikidrop.gcs.committed_output_uri`` with a GCS
client) once and read only that attempt. The last good output therefore survives any failed or
killed run, and no reader ever sees files of two runs together. A run killed before it could clean
up leaves its attempt behind, invisible to readers; the next commit deletes it. Costs: one small
object per commit, and for a moment after it, two attempts' worth of storage.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from types import TracebackType

from apache_beam.io.filesystems import FileSystems

from wikidrop.layout import JobOutput, new_attempt_id

log = logging.getLogger(__name__)


class OutputSuperseded(RuntimeError):
    """A run that started later has already committed this output; this run's result is older."""


class OutputAttempt:
    """One run's attempt directory under a job output root: commit it, or it is deleted."""

    def __init__(self, root: str, now: datetime | None = None):
        self.output = JobOutput(root.rstrip("/"))
        self.attempt_id = new_attempt_id(now or datetime.now(UTC))
        self.uri = self.output.attempt_uri(self.attempt_id)
        self.committed = False

    def __enter__(self) -> OutputAttempt:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if not self.committed:
            self.abort()

    def commit(self) -> None:
        """Point CURRENT.json at this attempt, then delete the attempts that started before it."""
        current = _committed_attempt_id(self.output)
        if current is not None and current > self.attempt_id:
            raise OutputSuperseded(
                f"{self.output.root}: attempt {current} started after this one ({self.attempt_id}) and is "
                "already committed; keeping it"
            )
        # Write beside, then rename: the rename replaces the pointer in one step on every filesystem.
        staged = f"{self.output.pointer_uri}.{self.attempt_id}"
        with FileSystems.create(staged, mime_type="application/json") as f:
            f.write(JobOutput.pointer_payload(self.attempt_id, datetime.now(UTC)))
        FileSystems.rename([staged], [self.output.pointer_uri])
        self.committed = True
        older = sorted(a for a in _attempt_ids(self.output) if a < self.attempt_id)
        for attempt_id in older:
            _delete_tree(self.output.attempt_uri(attempt_id))
        log.info("committed %s (replaced %d older attempt(s))", self.uri, len(older))

    def abort(self) -> None:
        """Delete this attempt's files (best effort: a leftover is invisible and the next commit removes it)."""
        try:
            if FileSystems.match([f"{self.uri}/**"])[0].metadata_list:
                _delete_tree(self.uri)
        except Exception as exc:  # the run's own error matters more than its cleanup's
            log.warning("could not delete the failed attempt %s: %s", self.uri, exc)


def committed_output(root: str) -> str | None:
    """The committed attempt's directory under ``root``; None when nothing was ever committed."""
    output = JobOutput(root.rstrip("/"))
    attempt_id = _committed_attempt_id(output)
    return output.attempt_uri(attempt_id) if attempt_id else None


def _committed_attempt_id(output: JobOutput) -> str | None:
    if not FileSystems.exists(output.pointer_uri):
        return None
    with FileSystems.open(output.pointer_uri) as f:
        return output.committed_attempt_id(f.read())


def _attempt_ids(output: JobOutput) -> set[str]:
    """Every attempt with at least one file (committed, failed or in progress)."""
    files = FileSystems.match([f"{output.attempts_uri}/**"])[0].metadata_list
    return {a for a in (output.attempt_id_of(m.path) for m in files) if a is not None}


def _delete_tree(uri: str) -> None:
    """Delete a directory and everything under it (a directory locally, an object prefix on GCS)."""
    if FileSystems.get_filesystem(uri).has_dirs():
        FileSystems.delete([uri])
    else:
        FileSystems.delete([f"{uri}/"])
