"""The config file: the shipped one is valid; every invalid fixture fails naming file and key."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from wikidrop.config import DEFAULT_CONFIG_PATH, ConfigError, load_config

INVALID_DIR = Path(__file__).parent / "data" / "invalid_configs"

# fixture file -> substrings its error message must contain (the key path, then what is wrong)
EXPECTED_ERRORS: dict[str, list[str]] = {
    "unknown_key.yaml": ["editions.0.shedule", "Extra inputs are not permitted"],
    "bad_dbname.yaml": ["editions.0.dbname", "should match pattern"],
    "bad_bucket.yaml": ["settings.staging_bucket", "should match pattern"],
    "partner_unknown_edition.yaml": ["partners.0.editions", "unknown editions ['dewiki']"],
    "duplicate_edition.yaml": ["editions.*.dbname", "duplicate values ['enwiki']"],
    "bad_cron.yaml": ["editions.0.schedule", "not a valid cron expression"],
    "dataflow_without_project.yaml": ["settings.beam", "needs dataflow_project and dataflow_region"],
    "not_yaml.yaml": ["not valid YAML", "line 4"],
    "partner_prefix_traversal.yaml": ["partners.0.prefix", "'..' segment"],
    "unknown_format.yaml": ["partners.0.formats.0", "'ndjson'"],
    "no_editions.yaml": ["editions", "Field required"],
    "bad_webhook_url.yaml": ["partners.0.notices.webhook.url", "valid URL"],
    "exclude_disambiguation_without_page_props.yaml": [
        "partners.0.filters.exclude_disambiguation",
        "editions ['ltgwiki'] have page_props: false",
    ],
    "partner_unknown_field.yaml": ["partners.0.fields", "'title' is not a field of the article record"],
    "partner_unknown_subfield.yaml": [
        "partners.0.fields",
        "'version.editor.email' is not a field of the article record",
        "version.editor has identifier, name, is_anonymous",
    ],
    "plaintext_without_text.yaml": ["partners.0.fields", "plaintext", "'text'"],
    "partner_nightly_unknown_drop.yaml": ["partners.0.nightly.0", "'batches' or 'snapshot'"],
    "partner_nightly_twice.yaml": ["partners.0.nightly", "name each of batches and snapshot at most once"],
    "nightly_unknown_key.yaml": ["editions.0.nightly.max_days", "Extra inputs are not permitted"],
    "nightly_schedule_without_first_day.yaml": ["editions.0.nightly", "needs first_day"],
    "nightly_bad_first_day.yaml": ["editions.0.nightly.first_day", "'20261341' is not a YYYYMMDD date"],
    "nightly_bad_threshold.yaml": [
        "editions.0.nightly.thresholds.max_change_ratio_vs_recent",
        "greater than 1",
    ],
}


def test_every_invalid_fixture_has_an_expected_error() -> None:
    """A new fixture without an expectation (or a stale expectation) is a test bug, not a pass."""
    assert sorted(p.name for p in INVALID_DIR.glob("*.yaml")) == sorted(EXPECTED_ERRORS)


@pytest.mark.parametrize("name", sorted(EXPECTED_ERRORS))
def test_invalid_config_names_file_and_key(name: str) -> None:
    path = INVALID_DIR / name
    with pytest.raises(ConfigError) as excinfo:
        load_config(path)
    message = str(excinfo.value)
    assert message.startswith(f"{path}: "), message
    for expected in EXPECTED_ERRORS[name]:
        assert expected in message, f"{name}: {expected!r} not in {message!r}"


def test_shipped_config_is_valid() -> None:
    config = load_config(DEFAULT_CONFIG_PATH)
    dbnames = [e.dbname for e in config.editions]
    assert len(dbnames) == len(set(dbnames)) >= 3
    for partner in config.partners:
        assert set(partner.editions) <= set(dbnames)


def test_partners_get_nightly_batches_unless_they_choose_otherwise(tmp_path: Path) -> None:
    """A partner configured before nightly drops existed stays valid and gets that day's batches."""
    path = tmp_path / "partners.yaml"
    path.write_text(
        "editions:\n  - {dbname: dewiki, language: de, scripts: [Latin]}\n"
        "partners:\n"
        "  - {id: old, editions: [dewiki], bucket: old-bucket, gcs_conn_id: c, formats: [ndjson]}\n"
        "  - {id: both, editions: [dewiki], bucket: both-bucket, gcs_conn_id: c, formats: [ndjson],\n"
        "     nightly: [snapshot, batches]}\n"
        "  - {id: none, editions: [dewiki], bucket: none-bucket, gcs_conn_id: c, formats: [ndjson], nightly: []}\n"
    )
    old, both, none = load_config(path).partners
    assert old.nightly == ["batches"] and old.takes_nightly("batch") and not old.takes_nightly("snapshot")
    assert both.takes_nightly("batch") and both.takes_nightly("snapshot")
    assert not none.takes_nightly("batch") and not none.takes_nightly("snapshot")


def test_nightly_block_defaults_and_opt_in(tmp_path: Path) -> None:
    """Only an edition with a ``nightly`` block gets a nightly DAG; its defaults are the documented ones."""
    path = tmp_path / "nightly.yaml"
    path.write_text(
        "editions:\n"
        "  - {dbname: dewiki, language: de, scripts: [Latin], nightly: {first_day: '20261102'}}\n"
        "  - {dbname: nlwiki, language: nl, scripts: [Latin]}\n"
    )
    dewiki, nlwiki = load_config(path).editions
    assert nlwiki.nightly is None
    nightly = dewiki.nightly
    assert dewiki.nightly_dag_id == "wikidrop_dewiki_nightly"
    assert (nightly.schedule, nightly.lag_days, nightly.first_day) == ("0 5 * * *", 1, "20261102")
    assert nightly.max_days_per_run == 7 and nightly.catchup is True
    assert nightly.thresholds.max_change_ratio_vs_recent == 10.0


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read config"):
        load_config(missing)


def test_env_var_selects_the_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "one.yaml"
    path.write_text("editions:\n  - {dbname: dewiki, language: de, scripts: [Latin], schedule: '@daily'}\n")
    monkeypatch.setenv("WIKIDROP_CONFIG", str(path))
    config = load_config()
    assert [e.dag_id for e in config.editions] == ["wikidrop_dewiki"]
    assert config.partners_for("dewiki") == []


def test_field_table_matches_the_record_schema() -> None:
    """ARTICLE_FIELDS is generated from ARTICLE_SCHEMA; after a schema change, regenerate it."""
    from wikidrop.delivery.projection import field_children
    from wikidrop.record_fields import ARTICLE_FIELDS
    from wikidrop.records import ARTICLE_SCHEMA

    assert field_children(ARTICLE_SCHEMA) == ARTICLE_FIELDS, (
        "wikidrop/record_fields.py is stale: run `python -m wikidrop.record_fields --write`"
    )


def test_loading_the_config_imports_no_pyarrow() -> None:
    """The DAG file loads the config at every parse: it checks partner fields without pyarrow."""
    code = (
        "import sys; from wikidrop.config import load_config; load_config(sys.argv[1]); "
        "print(sorted(m for m in ('pyarrow', 'wikidrop.records') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(DEFAULT_CONFIG_PATH)],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(PROJECT_ROOT)},
    )
    assert done.stdout.strip() == "[]"
