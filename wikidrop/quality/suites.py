"""The Great Expectations suites of ``expectations/`` and the values of their parameters.

One JSON suite per dataset shape (``articles``, ``run_level``, ``dead_letter``, and ``nightly`` for
an adds-changes night); per-edition
thresholds are suite parameters filled from the config (``suite_parameters``), never a copy of a
suite per edition. Each expectation's GX ``severity`` says whether its failure stops the run
(critical) or is only shown (warning). Great Expectations is imported inside ``load_suite``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wikidrop.config import PROJECT_ROOT, EditionConfig, NightlyThresholds
from wikidrop.dumps.siteinfo import SiteInfo

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
SUITE_NAMES = ("articles", "run_level", "dead_letter", "nightly")


class SuiteLoadError(RuntimeError):
    """A suite file is unreadable, or Great Expectations dropped one of its expectations."""


def suite_path(name: str) -> Path:
    return EXPECTATIONS_DIR / f"{name}.json"


def read_suite_json(name: str) -> dict[str, Any]:
    path = suite_path(name)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SuiteLoadError(f"{path}: cannot read suite: {exc}") from exc


def load_suite(name: str):
    """The suite as a GX ``ExpectationSuite``; raises if GX skipped any expectation of the JSON.

    GX 1.x logs an invalid expectation and leaves it out of the suite instead of failing, which
    would silently weaken the gate: every expectation of the file must survive.
    """
    import great_expectations as gx

    raw = read_suite_json(name)
    try:
        suite = gx.ExpectationSuite(
            name=raw["name"], expectations=raw["expectations"], meta=raw.get("meta"), notes=raw.get("notes")
        )
    except Exception as exc:  # GX raises pydantic/marshmallow/KeyError alike for a malformed suite
        raise SuiteLoadError(f"{suite_path(name)}: not a valid Great Expectations suite: {exc}") from exc
    if len(suite.expectations) != len(raw["expectations"]):
        loaded = {
            (e.expectation_type, json.dumps(e.configuration.kwargs, sort_keys=True, default=str))
            for e in suite.expectations
        }
        dropped = [
            e["type"]
            for e in raw["expectations"]
            if (e["type"], json.dumps(e["kwargs"], sort_keys=True, default=str)) not in loaded
        ]
        raise SuiteLoadError(
            f"{suite_path(name)}: Great Expectations dropped {len(raw['expectations']) - len(suite.expectations)}"
            f" expectation(s) as invalid: {dropped or 'see the GX log above'}"
        )
    return suite


def edition_hosts(site: SiteInfo) -> list[str]:
    """Hosts article URLs may use: the wiki's own host from siteinfo (``fr.wikipedia.org``)."""
    host = urlsplit(site.base_url).netloc
    if not host:
        raise ValueError(f"siteinfo of {site.dbname or '?'} has no base URL: cannot check article URLs")
    return [host]


def suite_parameters(
    edition: EditionConfig, site: SiteInfo, dump_date: str, dead_letter_reasons: Iterable[str] = ()
) -> dict[str, Any]:
    """Values of every ``$PARAMETER`` of the suites, from the edition's config and its wiki."""
    thresholds = edition.thresholds
    day = datetime.strptime(dump_date, "%Y%m%d").replace(tzinfo=UTC)
    return {
        "requested_namespaces": sorted(edition.namespaces),
        "edition_hosts": edition_hosts(site),
        "latest_date_modified": (day + timedelta(days=1) - timedelta(seconds=1)).isoformat(),
        "min_nonstub_text_share": thresholds.min_nonstub_text_share,
        "max_markup_residue_per_10k": thresholds.max_markup_residue_per_10k,
        "min_script_share": thresholds.min_script_share,
        "max_dead_letter_ratio": thresholds.max_dead_letter_ratio,
        "max_row_drop_vs_previous": thresholds.max_row_drop_vs_previous,
        "max_row_deviation_vs_dump": thresholds.max_row_deviation_vs_dump,
        "dead_letter_reasons": sorted(dead_letter_reasons),
        **nightly_parameters(edition),
    }


def nightly_parameters(edition: EditionConfig) -> dict[str, Any]:
    """The nightly suite's parameters (the defaults for an edition without a nightly block)."""
    nightly = edition.nightly.thresholds if edition.nightly else NightlyThresholds()
    return {
        "nightly_max_dead_letter_ratio": nightly.max_dead_letter_ratio,
        "nightly_min_change_ratio_vs_recent": nightly.min_change_ratio_vs_recent,
        "nightly_max_change_ratio_vs_recent": nightly.max_change_ratio_vs_recent,
    }
