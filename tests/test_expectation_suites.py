"""Every suite of expectations/ loads whole: GX 1.x would log and skip an invalid expectation."""

from __future__ import annotations

import json
import logging

import pytest

from wikidrop.config import load_config
from wikidrop.dumps.siteinfo import SiteInfo
from wikidrop.quality import suites


@pytest.mark.parametrize("name", suites.SUITE_NAMES)
def test_suite_loads_every_expectation_of_its_json(name: str, caplog: pytest.LogCaptureFixture) -> None:
    raw = suites.read_suite_json(name)
    with caplog.at_level(logging.ERROR, logger="great_expectations"):
        suite = suites.load_suite(name)
    assert suite.name == name
    assert len(suite.expectations) == len(raw["expectations"]) > 0
    assert [e.expectation_type for e in suite.expectations] == [e["type"] for e in raw["expectations"]]
    assert not [r for r in caplog.records if "Could not add expectation" in r.getMessage()]


def test_suite_directory_holds_exactly_the_known_suites() -> None:
    assert sorted(p.stem for p in suites.EXPECTATIONS_DIR.glob("*.json")) == sorted(suites.SUITE_NAMES)


@pytest.mark.parametrize("name", suites.SUITE_NAMES)
def test_every_expectation_states_its_severity_and_why(name: str) -> None:
    raw = suites.read_suite_json(name)
    suite = suites.load_suite(name)
    for spec, loaded in zip(raw["expectations"], suite.expectations, strict=True):
        assert spec.get("severity") in {"critical", "warning"}, spec
        assert loaded.severity.value == spec["severity"]
        assert spec.get("notes"), f"{name}: {spec['type']} has no notes saying why"


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        # an unknown type: GX logs it and leaves it out of the suite
        ({"type": "expect_column_values_to_be_uniqe", "kwargs": {"column": "reason"}}, "dropped 1"),
        # a misspelt argument: GX raises its own validation error
        ({"type": "expect_column_values_to_be_unique", "kwargs": {"colum": "reason"}}, "not a valid"),
    ],
)
def test_an_invalid_expectation_is_an_error_naming_the_file(monkeypatch, tmp_path, bad, error) -> None:
    raw = suites.read_suite_json("dead_letter")
    raw["expectations"].append({**bad, "severity": "warning"})
    (tmp_path / "dead_letter.json").write_text(json.dumps(raw))
    monkeypatch.setattr(suites, "EXPECTATIONS_DIR", tmp_path)
    with pytest.raises(suites.SuiteLoadError, match=rf"dead_letter.json: .*{error}"):
        suites.load_suite("dead_letter")


def test_parameters_come_from_each_configured_edition() -> None:
    """Every $PARAMETER of every suite gets a value for every edition: one suite, no copies."""
    config = load_config()
    wanted = {p for name in suites.SUITE_NAMES for p in suites.load_suite(name).suite_parameter_options}
    assert wanted, "suites are expected to be parameterised"
    for edition in config.editions:
        site = SiteInfo(dbname=edition.dbname, base_url=f"https://{edition.language}.wikipedia.org/wiki/X")
        params = suites.suite_parameters(edition, site, "20250801")
        assert wanted <= set(params), sorted(wanted - set(params))
        assert params["min_script_share"] == edition.thresholds.min_script_share
        assert params["requested_namespaces"] == sorted(edition.namespaces)
        assert params["edition_hosts"] == [f"{edition.language}.wikipedia.org"]
    ja = config.edition("jawiki")
    assert suites.suite_parameters(ja, SiteInfo("jawiki", base_url="https://ja.wikipedia.org/"), "20250801")[
        "min_script_share"
    ] == pytest.approx(0.4)
