"""The task graph the factory generates: the stage order of docs/architecture.md, for every edition."""

from __future__ import annotations

import pytest

from wikidrop.config import load_config

# task id -> its direct upstream task ids (the local-runner DAG). XCom arguments add edges too:
# every stage reads the RunContext of resolve_run, delivery also reads the staged and parsed outputs.
EXPECTED_UPSTREAM: dict[str, set[str]] = {
    "resolve_run": set(),
    "wait_for_dump": {"resolve_run"},
    "stage_dump": {"resolve_run", "wait_for_dump"},
    "parse_articles": {"resolve_run", "stage_dump"},
    "validate.shards": {"parse_articles"},
    "validate.articles": {"resolve_run", "parse_articles", "validate.shards"},
    "validate.run_level": {"resolve_run", "parse_articles"},
    "validate.gate": {"resolve_run", "parse_articles", "validate.articles", "validate.run_level"},
    "publish_gate": {"resolve_run", "validate.gate"},
    "partner_drop.deliver": {"resolve_run", "stage_dump", "parse_articles", "publish_gate"},
    "partner_drop.notify": {"partner_drop.deliver"},
}


def graph(dag) -> dict[str, set[str]]:
    return {task.task_id: set(task.upstream_task_ids) for task in dag.tasks}


@pytest.mark.parametrize("edition", load_config().editions, ids=lambda e: e.dbname)
def test_generated_graph_is_the_pipeline(edition) -> None:
    from wikidrop_airflow.dag_factory import build_edition_dag

    dag = build_edition_dag(edition, load_config())
    assert graph(dag) == EXPECTED_UPSTREAM


def test_nothing_is_delivered_before_the_gate() -> None:
    """Write-audit-publish: every path from parsing to a partner passes validation and the gate."""
    from wikidrop_airflow.dag_factory import build_edition_dag

    config = load_config()
    dag = build_edition_dag(config.edition("jawiki"), config)
    for task_id in ("partner_drop.deliver", "partner_drop.notify"):
        upstream = {t.task_id for t in dag.get_task(task_id).get_flat_relatives(upstream=True)}
        assert {"validate.gate", "publish_gate"} <= upstream, task_id


def test_stage_tasks_are_shared_per_edition_not_per_partner() -> None:
    """Partners fan out only at delivery (mapped), so one parse serves every partner."""
    from wikidrop_airflow.dag_factory import build_edition_dag

    config = load_config()
    dag = build_edition_dag(config.edition("frwiki"), config)
    mapped = {t.task_id for t in dag.tasks if type(t).__name__.startswith(("Mapped", "DecoratedMapped"))}
    assert "validate.articles" in mapped
    assert not mapped & {"resolve_run", "wait_for_dump", "stage_dump", "parse_articles", "publish_gate"}


def test_dags_are_generated_in_config_order() -> None:
    import importlib.util

    from tests.conftest import PROJECT_ROOT

    spec = importlib.util.spec_from_file_location(
        "wikidrop_dags_order", PROJECT_ROOT / "dags" / "wikidrop_editions.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    generated = [
        name for name in vars(module) if name.startswith("wikidrop_") and name != "wikidrop_dags_order"
    ]
    assert generated == [e.dag_id for e in load_config().editions]
