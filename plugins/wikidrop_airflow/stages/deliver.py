"""deliver[partner] + notify[partner] (owner: issue 5). PLACEHOLDER to be replaced.

The DAG factory calls ``add_delivery`` after validation; it creates the mapped tasks and returns None.
"""

from __future__ import annotations

from typing import Any


def add_delivery(
    edition: Any, settings: Any, partners: Any, run_context: Any, staged: Any, parsed: Any, validation: Any
) -> None:
    """Create deliver[partner] -> notify[partner] (mapped over the run's partners)."""
    from airflow.sdk import task

    @task
    def deliver(run_context: dict, staged: dict, parsed: dict, validation: dict) -> None:
        raise NotImplementedError(f"deliver for {edition.dbname}: issue 5")

    deliver(run_context, staged, parsed, validation)
