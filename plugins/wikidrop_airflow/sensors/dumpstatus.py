"""``DumpStatusSensor`` (task ``wait_for_dump``): wait until the mirror's dumpstatus.json says the
jobs we need are ``done``, without holding a worker slot; ``IncrDaySensor`` (task ``wait_for_day``
of the nightly DAG): the same for adds-changes days' status.txt.

The sensor checks once on the worker (a finished dump passes straight through), then defers to
``DumpStatusTrigger`` in the triggerer, which polls every ``poke_interval`` seconds until the jobs
are done or ``timeout`` seconds have passed since the task started. On timeout the task fails with
``AirflowSensorTimeout`` naming the dumpstatus URL and the jobs that were not done.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from airflow.sdk import BaseSensorOperator

from wikidrop.dumps.dumpstatus import REQUIRED_JOBS

# The trigger enforces the deadline itself and reports what it saw; the deferral timeout is only
# a backstop for a triggerer that died, so it fires a little later.
DEFERRAL_GRACE = timedelta(minutes=10)


class DumpStatusSensor(BaseSensorOperator):
    """Wait for ``<mirror>/<dbname>/<dump_date>/dumpstatus.json`` to report ``required_jobs`` done."""

    template_fields: Sequence[str] = ("mirror", "dbname", "dump_date")
    ui_color = "#e8f4fb"

    def __init__(
        self,
        *,
        mirror: str,
        dbname: str,
        dump_date: str,
        required_jobs: Sequence[str] = REQUIRED_JOBS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.mirror = mirror
        self.dbname = dbname
        self.dump_date = dump_date
        self.required_jobs = tuple(required_jobs)

    def make_trigger(self, deadline: float) -> Any:
        """The trigger that polls in the triggerer until ``deadline`` (epoch seconds)."""
        from wikidrop_airflow.triggers.dumpstatus import DumpStatusTrigger

        return DumpStatusTrigger(
            mirror=self.mirror,
            dbname=self.dbname,
            dump_date=self.dump_date,
            required_jobs=self.required_jobs,
            poke_interval=self.poke_interval,
            deadline=deadline,
        )

    def waited_for(self) -> str:
        return f"jobs {list(self.required_jobs)}"

    def poke(self, context: Any) -> bool:
        result = self.make_trigger(time.time()).check()
        if not result["done"]:
            self.log.info("%s: not done yet: %s", result["url"], result["not_done"])
        return result["done"]

    def execute(self, context: Any) -> None:
        from wikidrop.layout import DUMP_DATE_RE

        if not DUMP_DATE_RE.match(str(self.dump_date)):
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(f"{self.task_id} needs a YYYYMMDD date, got {self.dump_date!r}")
        if self.poke(context):
            return
        self.defer(
            trigger=self.make_trigger(time.time() + self.timeout),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) + DEFERRAL_GRACE,
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> None:
        """Resume after the trigger fired: succeed when done, fail with the evidence on timeout."""
        if event.get("status") == "done":
            self.log.info("%s: %s done", event["url"], self.waited_for())
            return
        from airflow.sdk.exceptions import AirflowSensorTimeout

        last_error = f"; last fetch error: {event['error']}" if event.get("error") else ""
        raise AirflowSensorTimeout(
            f"{self.task_id} timed out after {timedelta(seconds=int(self.timeout))} ({event.get('polls')} polls): "
            f"{event['url']} does not say {self.waited_for()} are done; "
            f"not done: {event['not_done']}{last_error}"
        )


class IncrDaySensor(DumpStatusSensor):
    """Wait for ``<mirror>/other/incr/<dbname>/<day>/status.txt`` to say ``done`` for every day of a night.

    A day that never comes (Wikimedia skipped it) fails the task on the timeout with the days not
    done: the nights after it stop there, never skip it.
    """

    template_fields: Sequence[str] = ("mirror", "dbname", "days")

    def __init__(self, *, mirror: str, dbname: str, days: str, **kwargs: Any) -> None:
        super().__init__(mirror=mirror, dbname=dbname, dump_date="", required_jobs=(), **kwargs)
        self.days = days  # comma-separated YYYYMMDD days (templated), in order

    @property
    def day_list(self) -> list[str]:
        return [day for day in str(self.days).split(",") if day.strip()]

    def make_trigger(self, deadline: float) -> Any:
        from wikidrop_airflow.triggers.dumpstatus import IncrDayTrigger

        return IncrDayTrigger(
            mirror=self.mirror,
            dbname=self.dbname,
            days=self.day_list,
            poke_interval=self.poke_interval,
            deadline=deadline,
        )

    def waited_for(self) -> str:
        return f"days {self.day_list}"

    def execute(self, context: Any) -> None:
        if not self.day_list:  # an applied day: nothing to wait for
            return
        self.dump_date = self.day_list[-1]
        super().execute(context)
