"""Progress of a running parse job, logged by the process that launched it (the Airflow task's log).

The DoFns count their work in Beam counters (``wikidrop`` namespace: ``titles_scanned`` in the
first read, ``article``/``redirect``/``skipped``/``dead_lettered`` per parsed page). A thread of
the launcher reads them every ``interval`` seconds and logs pages done of the total the multistream
index gives, pages/s, ETA and dead letters so far (``wikidrop.progress.Progress``).

Where the counters come from depends on the runner:

- Runners whose ``run()`` returns while the job runs (Dataflow, where the launcher polls the
  service, and other remote runners): ``PipelineResult.metrics()``, attempted values.
- Beam's local FnApiRunner: ``run()`` returns only when the job is done and its metrics exist
  only then, so the DoFns also add their counts to a small file per DoFn instance in a directory
  on this machine (``ProgressTally``), which the thread sums. Cost: one file rewrite a second per
  DoFn instance.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

from wikidrop.progress import Progress

log = logging.getLogger(__name__)

METRICS_NAMESPACE = "wikidrop"
SCANNED = "titles_scanned"
PARSED_KINDS = ("article", "redirect", "skipped", "dead_lettered")
DEAD_LETTERED = "dead_lettered"
TALLY_FLUSH_SECONDS = 1.0

Counts = Callable[[], Counter | None]


class ProgressTally:
    """One DoFn instance's counts, rewritten to ``<directory>/<unique>.json`` at most once a second."""

    def __init__(self, directory: str):
        self.path = os.path.join(directory, f"{os.getpid()}-{uuid.uuid4().hex}.json")
        self.counts: Counter[str] = Counter()
        self._flushed = 0.0

    def add(self, kind: str, n: int = 1) -> None:
        self.counts[kind] += n
        if time.monotonic() - self._flushed >= TALLY_FLUSH_SECONDS:
            self.flush()

    def flush(self) -> None:
        staged = f"{self.path}.tmp"
        with open(staged, "w") as f:
            json.dump(self.counts, f)
        os.replace(staged, self.path)  # the reader never sees half a file
        self._flushed = time.monotonic()


class WorkCounters:
    """A DoFn instance's Beam counters (``wikidrop`` and ``wikidrop.<dbname>`` namespaces), also
    added to a ``ProgressTally`` in ``tally_dir`` when the job runs on the local runner."""

    def __init__(self, dbname: str, kinds: tuple[str, ...], tally_dir: str | None):
        from apache_beam.metrics import Metrics

        scope = f"{METRICS_NAMESPACE}.{dbname or 'unknown'}"
        self._counters = {
            kind: (Metrics.counter(METRICS_NAMESPACE, kind), Metrics.counter(scope, kind)) for kind in kinds
        }
        self._tally = ProgressTally(tally_dir) if tally_dir else None

    def inc(self, kind: str, n: int = 1) -> None:
        for counter in self._counters[kind]:
            counter.inc(n)
        if self._tally is not None:
            self._tally.add(kind, n)

    def flush(self) -> None:
        """Write the tally now (end of a bundle), so the launcher's next line is current."""
        if self._tally is not None:
            self._tally.flush()


def read_tallies(directory: str) -> Counter:
    """The sum of every ``ProgressTally`` file in ``directory``."""
    total: Counter[str] = Counter()
    for name in os.listdir(directory):
        if name.endswith(".json"):
            with contextlib.suppress(OSError, ValueError), open(os.path.join(directory, name)) as f:
                total.update(json.load(f))
    return total


def metrics_counts(pipeline: Any) -> Counter | None:
    """The job's counters from ``pipeline.result.metrics()`` (None until ``run()`` has returned)."""
    from apache_beam.metrics.metric import MetricsFilter

    result = getattr(pipeline, "result", None)
    if result is None:
        return None
    query = result.metrics().query(MetricsFilter().with_namespace(METRICS_NAMESPACE))
    _forget_portable_metrics(result)
    counts: Counter[str] = Counter()
    for counter in query["counters"]:
        counts[counter.key.metric.name] += counter.attempted or 0
    return counts


def _forget_portable_metrics(result: Any) -> None:
    """Beam's portable ``PipelineResult`` keeps its first ``metrics()`` answer for good: one read while
    the job runs (Beam's local job service answers nothing before the end) would be what the job's
    caller reads at the end too, without a counter. Dropping it after each read (a private attribute,
    checked, so a Beam upgrade that renames it fails here) makes every read ask the job service."""
    from apache_beam.runners.portability.portable_runner import PipelineResult as PortablePipelineResult

    if isinstance(result, PortablePipelineResult):
        if not hasattr(result, "_metrics"):
            raise RuntimeError("Beam's portable PipelineResult changed: review beam_jobs.progress")
        result._metrics = None


class ParseProgress:
    """Logs the parse job's progress from a launcher thread while the pipeline runs."""

    def __init__(self, total_pages: int | None, interval: float, logger: logging.Logger = log):
        self.total_pages = total_pages
        self.interval = interval
        self.log = logger
        self._scan = Progress(logger, "parse progress: first read (titles)", total_pages, unit="pages")
        self._parse: Progress | None = None
        self._parse_not_started = time.monotonic()  # last time no page was parsed yet: the parse began after
        self._stop = threading.Event()

    @contextlib.contextmanager
    def local_tallies(self) -> Iterator[str]:
        """A directory for the DoFns' ``ProgressTally`` files, watched until the block ends."""
        with (
            tempfile.TemporaryDirectory(prefix="wikidrop-progress-") as directory,
            self.watching(lambda: read_tallies(directory)),
        ):
            yield directory

    @contextlib.contextmanager
    def watching(self, counts: Counts) -> Iterator[None]:
        """Log a line every ``interval`` seconds from ``counts()`` until the block ends, then a last one
        if the block ended normally (the job's final counts)."""
        thread = threading.Thread(target=self._run, args=(counts,), name="wikidrop-progress", daemon=True)
        self._stop.clear()
        thread.start()
        try:
            yield
        finally:
            self._stop.set()
            thread.join()
        self._tick(counts)

    def _run(self, counts: Counts) -> None:
        while not self._stop.wait(self.interval):
            self._tick(counts)

    def _tick(self, counts: Counts) -> None:
        try:
            current = counts()
        except Exception as exc:  # progress is a courtesy: never let it end the job
            self.log.warning("parse progress unavailable: %s", exc)
            return
        if current:  # nothing counted yet (workers starting, or metrics only at the end): no line
            self.report(current)

    def report(self, counts: Counter) -> str:
        """Log and return the line for ``counts``: the first read until pages are parsed, then the parse."""
        parsed = sum(counts[kind] for kind in PARSED_KINDS)
        if not parsed:
            self._parse_not_started = time.monotonic()
            self._scan.done = counts[SCANNED]
            line = self._scan.line()
        else:
            if self._parse is None:
                self._parse = Progress(
                    self.log,
                    "parse progress: parsed",
                    self.total_pages,
                    unit="pages",
                    started=self._parse_not_started,
                )
            self._parse.done = parsed
            line = f"{self._parse.line()}, {counts[DEAD_LETTERED]:,} dead letters"
        self.log.info("%s", line)
        return line
