"""wait_for_dump + stage_dump (owner: issue 3, mirror/staging part). PLACEHOLDER to be replaced.

The DAG factory calls ``add_dump_stages`` and needs a StagedDump XComArg back; the owner replaces
this module with the deferrable sensor and checksum-verified staging.
"""

from __future__ import annotations

from typing import Any


def add_dump_stages(edition: Any, settings: Any, run_context: Any) -> Any:
    """Create wait_for_dump -> stage_dump; return stage_dump's StagedDump XComArg."""
    from airflow.sdk import task

    @task
    def stage_dump(run_context: dict) -> dict:
        raise NotImplementedError(f"stage_dump for {edition.dbname}: issue 3 (mirror/staging part)")

    return stage_dump(run_context)
