"""Progress of a long loop in the log, every ~30 s: how much of the total, how fast, how long to go.

Long runs (an enwiki drop takes hours on one worker) otherwise say nothing between their first and
last line. One line per interval, e.g.::

    acme_ai frwiki_namespace_0: written 1,200,000 of 6,912,345 records (17%), 4,210 records/s, ETA 0:22:37
    staging enwiki-20250801-pages-articles-multistream.xml.bz2: 1.3 GiB of 21.0 GiB (6%), 43.3 MiB/s, ETA 0:07:46

``advance`` costs one clock read per call, so it can be called per record. A loop that learns its
count from elsewhere (the parse job's launcher polls its workers' counters) sets ``done`` and logs
``line()`` itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import timedelta

INTERVAL_SECONDS = 30.0
BYTES = "bytes"  # the unit whose amounts are shown as 1.5 KiB, 2.0 GiB
_BINARY_PREFIXES = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def format_bytes(n: float) -> str:
    """``512`` -> ``512 B``, ``1536`` -> ``1.5 KiB`` (binary prefixes, as ``ls -h`` shows sizes)."""
    for prefix in _BINARY_PREFIXES:
        if abs(n) < 1024 or prefix == _BINARY_PREFIXES[-1]:
            return f"{n:.0f} {prefix}" if prefix == "B" else f"{n:.1f} {prefix}"
        n /= 1024
    raise AssertionError("unreachable")


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
        started: float | None = None,
    ) -> None:
        """``started``: the clock reading when the counted work began (default: now), for the rate."""
        self.log = log
        self.what = what
        self.total = total
        self.unit = unit
        self.interval = INTERVAL_SECONDS if interval is None else interval
        self.clock = clock
        self.done = 0
        self._start = clock() if started is None else started
        self._next = clock() + self.interval

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
        text = f"{self.what} {self._amount(self.done)}"
        if self.total is not None:
            share = f" ({self.done / self.total:.0%})" if self.total else ""
            text += f" of {self._amount(self.total)}{self._unit}{share}"
        else:
            text += self._unit
        text += f", {format_bytes(rate)}/s" if self.unit == BYTES else f", {rate:,.0f} {self.unit}/s"
        if self.total is not None and rate > 0 and self.done < self.total:
            text += f", ETA {timedelta(seconds=round((self.total - self.done) / rate))}"
        return text

    def _amount(self, n: int) -> str:
        return format_bytes(n) if self.unit == BYTES else f"{n:,}"

    @property
    def _unit(self) -> str:
        """The unit after an amount; byte amounts carry theirs (``1.5 KiB``)."""
        return "" if self.unit == BYTES else f" {self.unit}"
