"""Progress lines: one per interval, with the share of the total, the rate and the time left."""

from __future__ import annotations

import logging

import pytest

from wikidrop.progress import BYTES, Progress, format_bytes


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_one_line_per_interval_with_share_rate_and_eta(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    log = logging.getLogger("test.progress")
    progress = Progress(log, "acme_ai frwiki: written", 10_000, clock=clock)
    with caplog.at_level(logging.INFO, logger="test.progress"):
        clock.now += 10
        progress.advance(1_000)  # before the first 30 s: quiet
        clock.now += 20
        progress.advance(500)  # 30 s in: 1,500 done, 50/s, 8,500 to go
        clock.now += 5
        progress.advance(500)  # quiet again until 60 s
    assert caplog.messages == [
        "acme_ai frwiki: written 1,500 of 10,000 records (15%), 50 records/s, ETA 0:02:50"
    ]


def test_unknown_total_reports_count_and_rate() -> None:
    clock = Clock()
    progress = Progress(logging.getLogger("test.progress"), "read", None, unit="pages", clock=clock)
    clock.now += 4
    progress.advance(20)
    assert progress.line() == "read 20 pages, 5 pages/s"


def test_bytes_read_as_sizes_and_the_rate_counts_from_when_the_work_began() -> None:
    clock = Clock()
    staging = Progress(
        logging.getLogger("test.progress"), "staging x.bz2:", 21 * 2**30, unit=BYTES, clock=clock
    )
    clock.now += 30
    staging.done = 1300 * 2**20
    assert staging.line() == "staging x.bz2: 1.3 GiB of 21.0 GiB (6%), 43.3 MiB/s, ETA 0:07:46"
    late = Progress(
        logging.getLogger("test.progress"), "parsed", 100, unit="pages", clock=clock, started=clock.now - 10
    )
    late.done = 50
    assert late.line() == "parsed 50 of 100 pages (50%), 5 pages/s, ETA 0:00:10"
    assert (format_bytes(512), format_bytes(1536)) == ("512 B", "1.5 KiB")
