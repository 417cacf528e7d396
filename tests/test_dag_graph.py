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
    expected = [
        dag_id
        for e in load_config().editions
        for dag_id in (e.dag_id, *([e.nightly_dag_id] if e.nightly else []))
    ]
    assert generated == expected
    assert "wikidrop_frwiki_nightly" in expected  # the shipped config opts frwiki in


# The nightly DAG: every stage reads the NightContext of resolve_day; skip_if_applied gates the rest.
NIGHTLY_UPSTREAM: dict[str, set[str]] = {
    "resolve_day": set(),
    "skip_if_applied": {"resolve_day"},
    "wait_for_day": {"skip_if_applied"},
    "stage_day": {"resolve_day", "wait_for_day"},
    "apply_changes": {"resolve_day", "stage_day"},
    "validate.shards": {"apply_changes"},
    "validate.articles": {"resolve_day", "apply_changes", "validate.shards"},
    "validate.night": {"resolve_day", "stage_day", "apply_changes"},
    "validate.gate": {"resolve_day", "apply_changes", "validate.articles", "validate.night"},
    "publish_gate": {"resolve_day", "validate.gate"},
    "partner_drop.deliver": {"resolve_day", "stage_day", "apply_changes", "publish_gate"},
    "partner_drop.notify": {"partner_drop.deliver"},
}


def test_nightly_graph_is_the_nightly_pipeline() -> None:
    from wikidrop_airflow.dag_factory import build_nightly_dag

    config = load_config()
    edition = config.edition("frwiki")
    dag = build_nightly_dag(edition, config)
    assert dag.dag_id == "wikidrop_frwiki_nightly"
    assert graph(dag) == NIGHTLY_UPSTREAM
    # one night at a time, whatever the executor; catch-up ticks run oldest first from first_day
    assert dag.max_active_runs == 1 and dag.catchup is True
    assert dag.start_date.strftime("%Y%m%d") == "20261103"  # first_day 20261102 + lag_days 1
    assert dag.get_task("resolve_day").retries == 0  # a missing day fails at once, visibly
    assert set(dag.params) == {"day", "mirror", "partners", "dry_run", "force_delivery"}


def test_nothing_of_a_night_is_delivered_before_the_gate() -> None:
    from wikidrop_airflow.dag_factory import build_nightly_dag

    config = load_config()
    dag = build_nightly_dag(config.edition("frwiki"), config)
    for task_id in ("partner_drop.deliver", "partner_drop.notify"):
        upstream = {t.task_id for t in dag.get_task(task_id).get_flat_relatives(upstream=True)}
        assert {"skip_if_applied", "validate.gate", "publish_gate"} <= upstream, task_id


def test_each_partner_gets_the_nightly_drops_it_chose() -> None:
    """``partners[].nightly``: the night maps one delivery per (partner, kind) chosen, in config order."""
    from wikidrop_airflow.stages.deliver_nightly import nightly_drops

    config = load_config()
    partners = config.partners_for("frwiki")
    expected = [f"{p.id}:{kind}" for p in partners for kind in ("batch", "snapshot") if p.takes_nightly(kind)]
    assert nightly_drops(partners) == expected
    assert "acme_ai:batch" in expected and "globex_llm:snapshot" in expected  # the shipped choices
