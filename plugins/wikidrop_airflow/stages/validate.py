"""validate (owner: issue 4). PLACEHOLDER to be replaced by the Great Expectations stage.

The DAG factory calls ``add_validation`` and needs a ValidationSummary XComArg back.
"""

from __future__ import annotations

from typing import Any


def add_validation(edition: Any, settings: Any, run_context: Any, parsed: Any) -> Any:
    """Create the validation tasks; return the ValidationSummary XComArg."""
    from airflow.sdk import task

    @task
    def validate(run_context: dict, parsed: dict) -> dict:
        raise NotImplementedError(f"validate for {edition.dbname}: issue 4")

    return validate(run_context, parsed)
