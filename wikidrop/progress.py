"""Progress of a long loop in the log, every ~30 s: how much of the total, how fast, how long to go.

Long runs (an enwiki drop takes hours on one worker) otherwise say nothing between their first and
last line. One line per interval, e.g.::

    acme_ai frwiki_namespace_0: written 1,200,000 of 6,912,345 records (17%), 4,210 records/s, ETA 0:22:37

``advance`` costs one clock read per call, so it can be called per record.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

INTERVAL_SECONDS = 30.0


class Progress:
    """Counts work done towards ``total`` (None: unknown) and logs it every ``interval`` seconds."""

    def __init__(
        self,
        log: logging.Logger,
        what: str,
        total: int | None,
        unit: str = "records",
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.log = log
        self.what = what
        self.total = total
        self.unit = unit
        self.interval = INTERVAL_SECONDS if interval is None else interval
        self.clock = clock
        self.done = 0
        self._start = clock()
        self._next = self._start + self.interval

    def advance(self, amount: int = 1) -> None:
        self.done += amount
        now = self.clock()
        if now >= self._next:
            self._next = now + self.interval
            self.log.info("%s", self.line(now))

    def line(self, now: float | None = None) -> str:
        """``<what> <done> of <total> <unit> (<pct>), <rate> <unit>/s, ETA h:mm:ss``."""
        elapsed = (self.clock() if now is None else now) - self._start
        rate = self.done / elapsed if elapsed > 0 else 0.0
        text = f"{self.what} {self.done:,}"
        if self.total is not None:
            share = f" ({self.done / self.total:.0%})" if self.total else ""
            text += f" of {self.total:,} {self.unit}{share}"
        else:
            text += f" {self.unit}"
        text += f", {rate:,.0f} {self.unit}/s"
        if self.total is not None and rate > 0 and self.done < self.total:
            text += f", ETA {timedelta(seconds=round((self.total - self.done) / rate))}"
        return text
