"""Great Expectations at arm's length: run a suite on a frame, digest its result, build Data Docs.

Everything that knows GX's APIs and result JSON lives here; callers pass pandas frames and plain
dicts. The context is ephemeral and in memory (no analytics, no progress bars, no project folder):
GX 1.24 has no GCS store, so results and Data Docs are written to buckets by the callers. GX is
imported inside functions: DAG files import the stage modules at parse time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wikidrop.quality.suites import SUITE_NAMES, load_suite

if TYPE_CHECKING:
    import pandas as pd

RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 10}
# Observed value of an expectation that could not apply (see ``run_suite``), as Data Docs show it.
SKIPPED_PREFIX = "skipped: "


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
    suite_name: str,
    frame: pd.DataFrame,
    parameters: Mapping[str, Any],
    batch_name: str,
    cannot_apply: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Validate one frame against one suite; return the GX result as JSON (``to_json_dict``).

    ``cannot_apply`` maps a precondition an expectation names in ``meta.requires`` (e.g.
    ``previous_snapshot``) to why it does not hold for this batch: such expectations are not run
    but recorded as skipped (``meta.skipped``), so a first run does not read as a failed check.
    Failing rows are identified by the suite's ``meta.row_key`` columns (for the drill-down).
    """
    context = gx_context()
    suite = load_suite(suite_name)
    skipped = [e for e in suite.expectations if (e.meta or {}).get("requires") in (cannot_apply or {})]
    suite.expectations = [e for e in suite.expectations if e not in skipped]
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
    row_key = list((suite.meta or {}).get("row_key") or ())
    result = batch.validate(
        suite,
        expectation_parameters={k: parameters[k] for k in wanted},
        result_format={**RESULT_FORMAT, **({"unexpected_index_column_names": row_key} if row_key else {})},
    ).to_json_dict()
    result["results"].extend(
        _skipped_result(e, cannot_apply[e.meta["requires"]], parameters) for e in skipped
    )
    return result


def _skipped_result(expectation: Any, reason: str, parameters: Mapping[str, Any]) -> dict[str, Any]:
    """A result entry for an expectation that was not run: success (nothing failed), marked skipped.

    Its ``$PARAMETER`` values are filled in as GX does for the expectations it runs, so the report
    shows the threshold that would have applied.
    """
    from great_expectations.core.expectation_validation_result import ExpectationValidationResult

    config = expectation.configuration
    config.kwargs = {
        key: parameters.get(value["$PARAMETER"], value)
        if isinstance(value, dict) and "$PARAMETER" in value
        else value
        for key, value in config.kwargs.items()
    }
    return ExpectationValidationResult(
        success=True,
        expectation_config=config,
        result={"observed_value": f"{SKIPPED_PREFIX}{reason}"},
        meta={"skipped": reason},
    ).to_json_dict()


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


def _column_of(kwargs: Mapping[str, Any]) -> str:
    """The column(s) an expectation checks, as one readable string."""
    return kwargs.get("column") or ", ".join(
        str(kwargs[k]) for k in ("column_A", "column_B", "column_list") if k in kwargs
    )


def failing_rows(batch_name: str, result: Mapping[str, Any], limit: int) -> list[dict[str, Any]]:
    """Each failed expectation of one GX result with (up to ``limit`` of) the rows that failed it.

    Rows are identified by the suite's ``meta.row_key`` columns (``run_suite``) and carry the
    values that failed; expectations over a whole column (a mean) or a one-row run level have no
    rows of their own, only their observed value.
    """
    failed = []
    for item in result["results"]:
        if item["success"] or (item.get("meta") or {}).get("skipped"):
            continue
        config = item["expectation_config"]
        kwargs = config.get("kwargs", {})
        details = item.get("result") or {}
        row_key = details.get("unexpected_index_column_names") or []
        exception = (item.get("exception_info") or {}).get("exception_message")
        checked = {kwargs.get(k) for k in ("column", "column_A", "column_B")} | set(
            kwargs.get("column_list") or ()
        )
        failed.append(
            {
                "suite": result.get("suite_name"),
                "batch": batch_name,
                "expectation": config["type"],
                "column": _column_of(kwargs),
                "severity": config.get("severity", "critical"),
                "threshold": _threshold(kwargs),
                "observed": f"error: {exception}" if exception else _observed(details),
                "unexpected_count": details.get("unexpected_count"),
                "rows": [
                    {
                        "key": {k: row.get(k) for k in row_key},
                        "values": {k: v for k, v in row.items() if k not in row_key or k in checked},
                    }
                    # without a row key GX lists bare frame positions, which identify nothing
                    for row in (details.get("partial_unexpected_index_list") if row_key else None) or ()
                    if isinstance(row, Mapping)
                ][:limit],
            }
        )
    return failed


def outcome_of(suite_name: str, batch_name: str, result: Mapping[str, Any]) -> dict[str, Any]:
    """The small, XCom-sized digest of one GX result: failures by severity, with readable messages."""
    failures: dict[str, list[dict[str, Any]]] = {"critical": [], "warning": []}
    skipped: list[dict[str, Any]] = []
    for item in result["results"]:
        config = item["expectation_config"]
        severity = config.get("severity", "critical")
        kwargs = config.get("kwargs", {})
        column = _column_of(kwargs)
        reason = (item.get("meta") or {}).get("skipped")
        if reason:
            skipped.append(
                {
                    "suite": suite_name,
                    "batch": batch_name,
                    "expectation": config["type"],
                    "column": column,
                    "severity": severity,
                    "reason": reason,
                }
            )
            continue
        exception = (item.get("exception_info") or {}).get("exception_message")
        if item["success"] and not exception:
            continue
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
        "skipped": skipped,
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
    expected_skips = sum(
        1 for _, result in results for item in result["results"] if (item.get("meta") or {}).get("skipped")
    )
    marked = sum(_mark_skipped_rows(page) for page in sorted(Path(site_dir).glob("validations/**/*.html")))
    if marked != expected_skips:
        raise RuntimeError(
            f"Data Docs: {expected_skips} skipped expectation(s) but {marked} row(s) found to mark as skipped:"
            " the Great Expectations page layout changed"
        )
    return index


# A result row of a validation page, and GX's success icon in it (GX 1.24's table template).
_RESULT_ROW_RE = re.compile(r"<tr>(?:(?!</tr>).)*</tr>", re.DOTALL)
_SUCCESS_ICON = '<i class="fas fa-check-circle text-success" ></i>'
SKIPPED_ICON = '<i class="fas fa-minus-circle text-secondary" title="skipped: could not apply" ></i>'


def _mark_skipped_rows(page: Path) -> int:
    """Give skipped expectations their own icon instead of GX's success tick; return rows marked.

    GX knows only success and failure; a skipped expectation is stored as a success whose observed
    value starts with ``SKIPPED_PREFIX``, and shown here as neither passed nor failed.
    """
    marked = 0

    def mark(row: re.Match[str]) -> str:
        nonlocal marked
        text = row.group(0)
        if f">{SKIPPED_PREFIX}" not in text or _SUCCESS_ICON not in text:
            return text
        marked += 1
        return text.replace(_SUCCESS_ICON, SKIPPED_ICON, 1)

    html = page.read_text(encoding="utf-8")
    rewritten = _RESULT_ROW_RE.sub(mark, html)
    if marked:
        page.write_text(rewritten, encoding="utf-8")
    return marked
