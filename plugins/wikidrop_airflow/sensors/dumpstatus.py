"""``DumpStatusSensor`` (task ``wait_for_dump``): wait until the mirror's dumpstatus.json says the
jobs we need are ``done``, without holding a worker slot.

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

    def poke(self, context: Any) -> bool:
        from wikidrop_airflow.triggers.dumpstatus import check_dumpstatus

        result = check_dumpstatus(self.mirror, self.dbname, self.dump_date, self.required_jobs)
        if not result["done"]:
            self.log.info("%s: jobs not done yet: %s", result["url"], result["not_done"])
        return result["done"]

    def execute(self, context: Any) -> None:
        from wikidrop.layout import DUMP_DATE_RE
        from wikidrop_airflow.triggers.dumpstatus import DumpStatusTrigger

        if not DUMP_DATE_RE.match(str(self.dump_date)):
            from airflow.sdk.exceptions import AirflowFailException

            raise AirflowFailException(f"wait_for_dump needs a YYYYMMDD dump date, got {self.dump_date!r}")
        if self.poke(context):
            return
        self.defer(
            trigger=DumpStatusTrigger(
                mirror=self.mirror,
                dbname=self.dbname,
                dump_date=self.dump_date,
                required_jobs=self.required_jobs,
                poke_interval=self.poke_interval,
                deadline=time.time() + self.timeout,
            ),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout) + DEFERRAL_GRACE,
        )

    def execute_complete(self, context: Any, event: dict[str, Any]) -> None:
        """Resume after the trigger fired: succeed when done, fail with the evidence on timeout."""
        if event.get("status") == "done":
            self.log.info("%s: jobs %s done", event["url"], list(self.required_jobs))
            return
        from airflow.sdk.exceptions import AirflowSensorTimeout

        last_error = f"; last fetch error: {event['error']}" if event.get("error") else ""
        raise AirflowSensorTimeout(
            f"wait_for_dump timed out after {timedelta(seconds=int(self.timeout))} ({event.get('polls')} polls): "
            f"{event['url']} does not say jobs {list(self.required_jobs)} are done; "
            f"not done: {event['not_done']}{last_error}"
        )
