"""Great Expectations at arm's length: run a suite on a frame, digest its result, build Data Docs.

Everything that knows GX's APIs and result JSON lives here; callers pass pandas frames and plain
dicts. The context is ephemeral and in memory (no analytics, no progress bars, no project folder):
GX 1.24 has no GCS store, so results and Data Docs are written to buckets by the callers. GX is
imported inside functions: DAG files import the stage modules at parse time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wikidrop.quality.suites import SUITE_NAMES, load_suite

if TYPE_CHECKING:
    import pandas as pd

RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 10}


def gx_context(data_docs_dir: str | Path | None = None):
    """An in-memory GX context (no analytics, no progress bars), optionally with a local Data Docs site."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    sites = {}
    if data_docs_dir is not None:
        sites["wikidrop"] = {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(data_docs_dir),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(init_temp_docs_sites=False),
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
        data_docs_sites=sites,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def run_suite(
    suite_name: str, frame: pd.DataFrame, parameters: Mapping[str, Any], batch_name: str
) -> dict[str, Any]:
    """Validate one frame against one suite; return the GX result as JSON (``to_json_dict``)."""
    context = gx_context()
    suite = load_suite(suite_name)
    batch = (
        context.data_sources.add_pandas("wikidrop")
        .add_dataframe_asset(name=batch_name)
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    wanted = set(suite.suite_parameter_options)
    missing = sorted(wanted - set(parameters))
    if missing:
        raise ValueError(f"suite {suite_name}: no value for parameters {missing}")
    result = batch.validate(
        suite, expectation_parameters={k: parameters[k] for k in wanted}, result_format=RESULT_FORMAT
    )
    return result.to_json_dict()


_DOMAIN_KWARGS = {
    "column",
    "column_A",
    "column_B",
    "column_list",
    "batch_id",
    "row_condition",
    "condition_parser",
}


def _observed(result: Mapping[str, Any]) -> str:
    if "observed_value" in result:
        return json.dumps(result["observed_value"], default=str, ensure_ascii=False)
    if "unexpected_count" in result:
        examples = result.get("partial_unexpected_list") or []
        return (
            f"{result['unexpected_count']} of {result.get('element_count')} rows"
            f" ({result.get('unexpected_percent') or 0:.3g}%) unexpected, e.g."
            f" {json.dumps(examples[:5], default=str, ensure_ascii=False)}"
        )
    return json.dumps(result, default=str, ensure_ascii=False)[:300]


def _threshold(kwargs: Mapping[str, Any]) -> str:
    rest = {k: v for k, v in kwargs.items() if k not in _DOMAIN_KWARGS and v is not None}
    if "column_A" in kwargs:
        op = ">=" if kwargs.get("or_equal") else ">" if "or_equal" in kwargs else "=="
        rest.pop("or_equal", None)
        rest = {f"{kwargs['column_A']} {op} {kwargs['column_B']}": True, **rest}
    if "row_condition" in kwargs:
        cond = kwargs["row_condition"]
        rest["where"] = cond.get("pass_through_filter", cond) if isinstance(cond, Mapping) else cond
    return ", ".join(f"{k}={json.dumps(v, default=str, ensure_ascii=False)}" for k, v in rest.items())


def outcome_of(suite_name: str, batch_name: str, result: Mapping[str, Any]) -> dict[str, Any]:
    """The small, XCom-sized digest of one GX result: failures by severity, with readable messages."""
    failures: dict[str, list[dict[str, Any]]] = {"critical": [], "warning": []}
    for item in result["results"]:
        config = item["expectation_config"]
        severity = config.get("severity", "critical")
        exception = (item.get("exception_info") or {}).get("exception_message")
        if item["success"] and not exception:
            continue
        kwargs = config.get("kwargs", {})
        column = kwargs.get("column") or ", ".join(
            str(kwargs[k]) for k in ("column_A", "column_B", "column_list") if k in kwargs
        )
        observed = f"error: {exception}" if exception else _observed(item.get("result") or {})
        threshold = _threshold(kwargs)
        failures.setdefault(severity, []).append(
            {
                "suite": suite_name,
                "batch": batch_name,
                "expectation": config["type"],
                "column": column,
                "severity": severity,
                "observed": observed,
                "threshold": threshold,
                "message": f"{suite_name}[{batch_name}] {config['type']}({column}): observed {observed};"
                f" threshold {threshold}",
            }
        )
    stats = result.get("statistics", {})
    return {
        "suite": suite_name,
        "batch": batch_name,
        "success": not failures["critical"],
        "evaluated_expectations": stats.get("evaluated_expectations", 0),
        "critical_failures": failures["critical"],
        "warnings": failures["warning"] + failures.get("info", []),
    }


# -- Data Docs ---------------------------------------------------------------------------------------


def build_data_docs(
    results: Iterable[tuple[str, Mapping[str, Any]]], site_dir: str | Path, run_name: str
) -> Path:
    """Render ``(batch name, GX result JSON)`` pairs as one static Data Docs site; return index.html."""
    from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
        ValidationResultIdentifier,
    )

    context = gx_context(site_dir)
    for name in SUITE_NAMES:
        context.suites.add(load_suite(name))
    run_id = RunIdentifier(run_name=run_name, run_time=datetime.now(UTC))
    schema = ExpectationSuiteValidationResultSchema()
    for batch_name, result in results:
        loaded = schema.load(json.loads(json.dumps(result)))
        # Page titles and breadcrumbs read the run and the asset from the result's meta.
        loaded.meta["run_id"] = run_id.to_json_dict()
        loaded.meta.setdefault("batch_spec", {})["data_asset_name"] = batch_name
        key = ValidationResultIdentifier(
            expectation_suite_identifier=ExpectationSuiteIdentifier(name=loaded.suite_name),
            run_id=run_id,
            batch_identifier=batch_name,
        )
        context.validation_results_store.set(key, loaded)
    context.build_data_docs(site_names=["wikidrop"])
    index = Path(site_dir) / "index.html"
    if not index.exists():
        raise RuntimeError(f"Great Expectations wrote no Data Docs index in {site_dir}")
    return index
