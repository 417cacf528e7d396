"""``DumpStatusTrigger``: polls a mirror's dumpstatus.json in the triggerer until our jobs are done;
``IncrDayTrigger`` does the same for adds-changes days' status.txt.

The fetch is the same synchronous code the rest of the project uses (``wikidrop.dumps.dumpstatus``: one
opener for http(s), gs:// and local mirrors), run in a thread so the triggerer's event loop never
blocks. The deadline is absolute (epoch seconds), so a trigger re-created after a triggerer restart
keeps the sensor's original timeout.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent


def check_dumpstatus(
    mirror: str, dbname: str, dump_date: str, required_jobs: Sequence[str]
) -> dict[str, Any]:
    """One poll: ``{"done": bool, "url": ..., "not_done": {job: status}, "error": str | None}``.

    A missing dumpstatus.json (the run has not started) or a transient fetch error is "not done yet",
    recorded in ``error`` so the timeout message can say what was last seen.
    """
    from wikidrop.dumps.dumpstatus import (
        DumpStatusError,
        dumpstatus_location,
        fetch_dumpstatus,
        jobs_not_done,
    )

    url = dumpstatus_location(mirror, dbname, dump_date)
    try:
        status = fetch_dumpstatus(mirror, dbname, dump_date)
    except (OSError, DumpStatusError) as exc:  # HTTP/URL errors and missing files are OSErrors
        return {
            "done": False,
            "url": url,
            "not_done": dict.fromkeys(required_jobs, "unknown"),
            "error": str(exc),
        }
    pending = jobs_not_done(status, required_jobs)
    return {"done": not pending, "url": url, "not_done": pending, "error": None}


class DumpStatusTrigger(BaseTrigger):
    """Fires ``{"status": "done", ...}`` once the jobs are done, or ``{"status": "timeout", ...}``."""

    def __init__(
        self,
        mirror: str,
        dbname: str,
        dump_date: str,
        required_jobs: Sequence[str],
        poke_interval: float,
        deadline: float | None = None,
    ) -> None:
        super().__init__()
        self.mirror = mirror
        self.dbname = dbname
        self.dump_date = dump_date
        self.required_jobs = list(required_jobs)
        self.poke_interval = poke_interval
        self.deadline = deadline

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "mirror": self.mirror,
                "dbname": self.dbname,
                "dump_date": self.dump_date,
                "required_jobs": self.required_jobs,
                "poke_interval": self.poke_interval,
                "deadline": self.deadline,
            },
        )

    def check(self) -> dict[str, Any]:
        """One poll (blocking; run in a thread): ``{"done", "url", "not_done", "error"}``."""
        return check_dumpstatus(self.mirror, self.dbname, self.dump_date, self.required_jobs)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        polls = 0
        while True:
            result = await asyncio.to_thread(self.check)
            polls += 1
            if result["done"]:
                yield TriggerEvent({"status": "done", "polls": polls, **result})
                return
            now = time.time()
            if self.deadline is not None and now >= self.deadline:
                yield TriggerEvent({"status": "timeout", "polls": polls, **result})
                return
            self.log.info(
                "%s: not done yet %s%s",
                result["url"],
                result["not_done"],
                f" ({result['error']})" if result["error"] else "",
            )
            wait = (
                self.poke_interval if self.deadline is None else min(self.poke_interval, self.deadline - now)
            )
            await asyncio.sleep(max(wait, 0))


def check_incr_days(mirror: str, dbname: str, days: Sequence[str]) -> dict[str, Any]:
    """One poll of adds-changes days: done when every day's status.txt says ``done``.

    Same shape as ``check_dumpstatus`` (``not_done`` maps each day not done to what its status.txt
    says, or ``missing``), so the sensor and trigger loop are shared.
    """
    from wikidrop.dumps.incr import fetch_day_status

    statuses = [fetch_day_status(mirror, dbname, day) for day in days]
    pending = {s.day: s.status or "missing" for s in statuses if not s.done}
    errors = [s.error for s in statuses if s.error]
    return {
        "done": not pending,
        "url": statuses[-1].url if statuses else mirror,
        "not_done": pending,
        "error": errors[-1] if errors else None,
    }


class IncrDayTrigger(DumpStatusTrigger):
    """Fires once every day's ``other/incr/<dbname>/<day>/status.txt`` says done (or on the deadline)."""

    def __init__(
        self,
        mirror: str,
        dbname: str,
        days: Sequence[str],
        poke_interval: float,
        deadline: float | None = None,
    ) -> None:
        super().__init__(mirror, dbname, days[-1], [], poke_interval, deadline)
        self.days = list(days)

    def check(self) -> dict[str, Any]:
        return check_incr_days(self.mirror, self.dbname, self.days)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "mirror": self.mirror,
                "dbname": self.dbname,
                "days": self.days,
                "poke_interval": self.poke_interval,
                "deadline": self.deadline,
            },
        )
