"""Progress of a running Beam job, logged by the process that launched it (the Airflow task's log).

The DoFns count their work in Beam counters (``wikidrop`` namespace). A thread of the launcher
reads them every ``interval`` seconds and logs a line (``wikidrop.progress.Progress``):

- the parse job (``ParseProgress``): ``titles_scanned`` in the first read, then
  ``article``/``redirect``/``skipped``/``dead_lettered`` per parsed page: pages done of the total
  the multistream index gives, pages/s, ETA and dead letters so far;
- the delivery job (``DeliveryProgress``): ``records_to_write`` once the page ids are listed, then
  ``records_written`` per chunk: records written of the drop's total, records/s, ETA.

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
TO_WRITE = "records_to_write"
WRITTEN = "records_written"
CHUNKS_WRITTEN = "chunks_written"
DELIVERY_KINDS = (TO_WRITE, WRITTEN, CHUNKS_WRITTEN)
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
    """A DoFn instance's Beam counters (``wikidrop`` and ``wikidrop.<scope>`` namespaces, ``scope``
    the parse's dbname or ``delivery``), also added to a ``ProgressTally`` in ``tally_dir`` when the
    job runs on the local runner."""

    def __init__(self, scope: str, kinds: tuple[str, ...], tally_dir: str | None):
        from apache_beam.metrics import Metrics

        scope = f"{METRICS_NAMESPACE}.{scope or 'unknown'}"
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


@contextlib.contextmanager
def watched_pipeline(
    runner: Any, options: Any, progress: JobProgress | None
) -> Iterator[tuple[Any, str | None]]:
    """A pipeline, run when the block ends, whose progress (if any) is logged while it runs.

    Yields the pipeline and the directory its DoFns tally their counts in on the local runner (None
    on remote runners, whose ``PipelineResult.metrics()`` is polled instead, and without progress).
    """
    import apache_beam as beam

    with contextlib.ExitStack() as watch:
        local = not isinstance(runner, str)
        tally_dir = watch.enter_context(progress.local_tallies()) if progress and local else None
        with beam.Pipeline(runner=runner, options=options) as pipeline:
            if progress and not local:
                watch.enter_context(progress.watching(lambda: metrics_counts(pipeline)))
            yield pipeline, tally_dir


class JobProgress:
    """Logs a job's progress from a launcher thread while the pipeline runs; ``report`` makes the line."""

    what = "progress"  # how a line the job cannot make is named in the warning

    def __init__(self, interval: float, logger: logging.Logger = log):
        self.interval = interval
        self.log = logger
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
            self.log.warning("%s unavailable: %s", self.what, exc)
            return
        if current:  # nothing counted yet (workers starting, or metrics only at the end): no line
            self.report(current)

    def report(self, counts: Counter) -> str:
        """Log and return the line for ``counts``."""
        raise NotImplementedError


class ParseProgress(JobProgress):
    """The parse job's pages: the first read (titles) until pages are parsed, then the parse."""

    what = "parse progress"

    def __init__(self, total_pages: int | None, interval: float, logger: logging.Logger = log):
        super().__init__(interval, logger)
        self.total_pages = total_pages
        self._scan = Progress(logger, "parse progress: first read (titles)", total_pages, unit="pages")
        self._parse: Progress | None = None
        self._parse_not_started = time.monotonic()  # last time no page was parsed yet: the parse began after

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


class DeliveryProgress(JobProgress):
    """The delivery job's records written of the drop's total, known once the job has listed the
    partner's page ids (before that, and on a runner that has not reported it yet, no "of N")."""

    what = "delivery progress"

    def __init__(self, who: str, interval: float, logger: logging.Logger = log):
        super().__init__(interval, logger)
        self.who = who
        self._not_started = time.monotonic()  # last time nothing was written yet: the writing began after
        self._last_write = (0, self._not_started)  # records written, and when that count was first seen

    def report(self, counts: Counter) -> str:
        """Log and return ``<who>: written <n> [of <total>] records, <rate> records/s[, ETA]``; once all
        are written, the rate is that of the writing (not diluted by the commit that follows)."""
        now = time.monotonic()
        written, total = counts[WRITTEN], counts.get(TO_WRITE)
        if not written:
            self._not_started = now
        if written != self._last_write[0]:
            self._last_write = (written, now)
        writing = Progress(self.log, f"{self.who}: written", total, started=self._not_started)
        writing.done = written
        line = writing.line(self._last_write[1] if written == total else now)
        self.log.info("%s", line)
        return line
