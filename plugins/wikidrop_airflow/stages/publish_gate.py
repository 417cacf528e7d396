"""publish_gate: the last step before partners see anything; it ends dry runs after validation.

Validation has already passed when it runs (the validate gate raises on a critical failure), so it
only decides whether this run delivers: a dry run short-circuits every delivery and notice task.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk import XComArg

log = logging.getLogger(__name__)


def add_publish_gate(run_context: XComArg, validation: XComArg, nightly: bool = False) -> XComArg:
    """Create ``publish_gate``; it passes the ValidationSummary through unless this is a dry run.

    ``run_context`` is a RunContext, or with ``nightly`` a NightContext.
    """
    from airflow.sdk import task

    @task.short_circuit(task_id="publish_gate")
    def publish_gate(run_context: dict[str, Any], validation: dict[str, Any]) -> dict[str, Any] | bool:
        """Deliver unless this is a dry run (validation passed, or this task would not run)."""
        from wikidrop.contracts import NightContext, RunContext

        context = (NightContext if nightly else RunContext).from_xcom(run_context)
        if context.dry_run:
            log.info("dry run of %s (%s): validated, nothing is delivered", context.dbname, context.run_id)
            return False
        return validation

    return publish_gate(run_context, validation)
