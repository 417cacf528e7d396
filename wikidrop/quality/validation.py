"""Write-audit-publish checks: the Great Expectations suites of ``expectations/`` run on parse output.

Three suites, one per dataset shape: ``articles`` (each Parquet shard, flattened by
``article_frame``), ``run_level`` (one row built from stats.json and its context by
``run_level_frame``) and ``dead_letter`` (each dead-letter file). Thresholds are suite parameters
filled from the edition's config (``suite_parameters``), never a copy of a suite per edition; each
expectation's GX ``severity`` says whether its failure stops the run (critical) or is only shown
(warning).

Memory stays bounded: a shard is read one record batch at a time and only small derived columns
(lengths, rates, flags) are kept, never the wikitext or text themselves; the run level reads only
the identifier column of each shard. Great Expectations is imported inside functions: DAG files
import the stage module at parse time.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import io
import json
import logging
import re
import sys
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from wikidrop.config import PROJECT_ROOT, EditionConfig
from wikidrop.dumps.siteinfo import SiteInfo
from wikidrop.gcs import split_gs_uri
from wikidrop.quality.measures import prose_wikitext_bytes

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

log = logging.getLogger(__name__)

EXPECTATIONS_DIR = PROJECT_ROOT / "expectations"
SUITE_NAMES = ("articles", "run_level", "dead_letter")
RESULT_FORMAT = {"result_format": "SUMMARY", "partial_unexpected_count": 10}
READ_BATCH_ROWS = 1_000
# Run-level numbers carried into the ValidationSummary counts (and so into partner manifests).
RUN_COUNT_KEYS = (
    "pages_read",
    "articles",
    "redirects",
    "skipped",
    "dead_lettered",
    "parquet_rows",
    "dump_pages_in_namespaces",
    "previous_articles",
    "dead_letter_ratio",
)

# Columns of ARTICLE_SCHEMA the articles suite needs (dotted paths into the nested structs).
ARTICLE_COLUMNS = (
    "identifier",
    "name",
    "url",
    "namespace",
    "date_modified",
    "version",
    "article_body",
    "text",
)
DEAD_LETTER_COLUMNS = ("identifier", "name", "namespace", "reason", "size", "source_file", "stream_offset")
INDEX_NAME_RE = re.compile(r"multistream\d*-index[^/]*\.txt\.bz2$")
# Unicode character-name prefixes of scripts whose letters are not named after the script itself.
SCRIPT_NAME_PREFIXES = {
    "Han": ("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"),
    "Hangul": ("HANGUL",),
    "Katakana": ("KATAKANA", "HALFWIDTH KATAKANA"),
}


class SuiteLoadError(RuntimeError):
    """A suite file is unreadable, or Great Expectations dropped one of its expectations."""


# -- suites and parameters --------------------------------------------------------------------------


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
    }


# -- measures ------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=16)
def script_letters_pattern(scripts: tuple[str, ...]) -> re.Pattern[str]:
    """Runs of letters of the given Unicode scripts (e.g. ``("Han", "Hiragana")``).

    Built once from ``unicodedata`` character names (``LATIN SMALL LETTER A``, ``CJK UNIFIED
    IDEOGRAPH-4E00``); it matches runs of such letters, so counting stays in C.
    """
    prefixes = tuple(p for s in scripts for p in SCRIPT_NAME_PREFIXES.get(s, (s.upper(),)))
    ranges: list[tuple[int, int]] = []
    for code in range(sys.maxunicode + 1):
        char = chr(code)
        if not unicodedata.category(char).startswith("L"):
            continue
        if unicodedata.name(char, "").startswith(prefixes):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    if not ranges:
        raise ValueError(f"no Unicode letters belong to scripts {list(scripts)}: check config scripts")
    parts = "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges
    )
    return re.compile(f"[{parts}]+")


_LETTER_RUNS = re.compile(r"[^\W\d_]+")


def _run_length(pattern: re.Pattern[str], text: str) -> int:
    """Characters of ``text`` inside matches of a runs pattern (3x faster than counting one by one)."""
    return sum(map(len, pattern.findall(text)))


def script_share(text: str, scripts: Sequence[str]) -> float | None:
    """Share of the letters of ``text`` that belong to ``scripts``; None when it has no letters."""
    letters = _run_length(_LETTER_RUNS, text)
    if not letters:
        return None
    in_script = _run_length(script_letters_pattern(tuple(scripts)), text)
    return min(in_script / letters, 1.0)


def _leftover_markup_measure() -> Callable[[str, SiteInfo], Mapping[str, int]]:
    """The parse job's own residue measure (``wikidrop.quality.measures``), so both report the same number."""
    from wikidrop.quality.measures import leftover_markup

    return leftover_markup


def residue_per_10k(counts: Mapping[str, int], text: str) -> float | None:
    """Leftover-markup occurrences per 10,000 characters of text; None for empty text."""
    return 10_000 * sum(counts.values()) / len(text) if text else None


# -- the articles frame -------------------------------------------------------------------------------


def article_frame(batch: pa.RecordBatch | pa.Table, site: SiteInfo, edition: EditionConfig) -> pd.DataFrame:
    """Flatten one batch of article records into the small frame the articles suite checks."""
    import pandas as pd

    leftover_markup = _leftover_markup_measure()
    redirect = site.redirect_pattern
    stub_bytes = edition.thresholds.stub_max_wikitext_bytes
    rows: dict[str, list[Any]] = {
        key: []
        for key in (
            "identifier",
            "name",
            "namespace",
            "url_host",
            "size_value",
            "wikitext_bytes",
            "number_of_characters",
            "date_modified",
            "text_chars",
            "is_stub",
            "redirect_name",
            "residue_per_10k",
            "script_share",
        )
    }
    for record in batch.to_pylist():
        version = record.get("version") or {}
        wikitext = (record.get("article_body") or {}).get("wikitext") or ""
        text = record.get("text") or ""
        wikitext_bytes = len(wikitext.encode("utf-8"))
        rows["identifier"].append(record.get("identifier"))
        rows["name"].append(record.get("name"))
        rows["namespace"].append((record.get("namespace") or {}).get("identifier"))
        rows["url_host"].append(urlsplit(record.get("url") or "").netloc or None)
        rows["size_value"].append((version.get("size") or {}).get("value"))
        rows["wikitext_bytes"].append(wikitext_bytes)
        rows["number_of_characters"].append(version.get("number_of_characters"))
        rows["date_modified"].append(record.get("date_modified"))
        rows["text_chars"].append(len(text))
        # a page that is only tables, media and categories may have no text, however big
        rows["is_stub"].append(
            wikitext_bytes <= stub_bytes or prose_wikitext_bytes(wikitext, site) <= stub_bytes
        )
        rows["redirect_name"].append(record.get("name") if redirect.match(wikitext) else None)
        rows["residue_per_10k"].append(residue_per_10k(leftover_markup(text, site), text) if text else None)
        rows["script_share"].append(script_share(text, edition.scripts))
    frame = pd.DataFrame(rows)
    for column in ("identifier", "namespace", "size_value", "number_of_characters"):
        frame[column] = frame[column].astype("Int64")
    for column in ("residue_per_10k", "script_share"):
        frame[column] = frame[column].astype("float64")
    frame["date_modified"] = pd.to_datetime(frame["date_modified"], utc=True, errors="coerce")
    frame["is_stub"] = frame["is_stub"].astype(bool)
    return frame


def article_shard_frame(source: Any, site: SiteInfo, edition: EditionConfig) -> pd.DataFrame:
    """The articles frame of one Parquet shard (path or file object), read batch by batch."""
    import pandas as pd
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(source)
    missing = [c for c in ARTICLE_COLUMNS if c not in parquet.schema_arrow.names]
    if missing:
        raise ValueError(f"Parquet shard lacks article columns {missing} (has {parquet.schema_arrow.names})")
    frames = [
        article_frame(batch, site, edition)
        for batch in parquet.iter_batches(batch_size=READ_BATCH_ROWS, columns=list(ARTICLE_COLUMNS))
    ]
    if not frames:
        return article_frame(parquet.schema_arrow.empty_table(), site, edition)
    return pd.concat(frames, ignore_index=True)


# -- the run-level frame ------------------------------------------------------------------------------


def count_index_pages(index_files: Iterable[tuple[str, Any]], site: SiteInfo) -> dict[int, int]:
    """Pages per namespace listed in the dump's multistream index files ``(name, binary file)``."""
    from wikidrop.dumps.multistream import open_index

    counts: dict[int, int] = {}
    for name, fileobj in index_files:
        for entry in open_index(fileobj, source=name):
            ns = site.namespace_of_title(entry.title)
            counts[ns] = counts.get(ns, 0) + 1
    return counts


def duplicate_count(identifier_arrays: Iterable[Any]) -> int:
    """How many identifiers occur more than once over all arrays (one int64 array per shard)."""
    import numpy as np

    arrays = [np.asarray(a, dtype="int64") for a in identifier_arrays]
    if not arrays:
        return 0
    ids = np.concatenate(arrays)
    return int(ids.size - np.unique(ids).size)


def run_level_frame(
    stats: Mapping[str, Any],
    edition: EditionConfig,
    *,
    parquet_rows: int,
    duplicate_identifiers: int,
    dead_letter_rows: int,
    previous_articles: int | None,
    index_pages: Mapping[int, int] | None,
) -> pd.DataFrame:
    """The one-row frame of the run-level suite: stats.json and what it must agree with."""
    import pandas as pd

    def count(key: str, source: Mapping[str, Any] = stats) -> int:
        try:
            return int(source.get(key) or 0)
        except (TypeError, ValueError):
            raise ValueError(f"stats.json: {key} is not a count: {source.get(key)!r}") from None

    parts = ("articles", "redirects", "skipped", "dead_lettered")
    per_ns = stats.get("per_namespace") or {}
    ns_gap = max(
        (abs(count("pages_read", n) - sum(count(p, n) for p in parts)) for n in per_ns.values()), default=0
    )
    articles = count("articles")
    dead = count("dead_lettered")
    requested = {str(ns) for ns in edition.namespaces}
    redirects_requested = sum(count("redirects", v) for k, v in per_ns.items() if k in requested)
    if index_pages is not None:
        dump_pages = sum(index_pages.get(int(ns), 0) for ns in requested)
        source = "multistream_index"
    else:
        dump_pages = sum(count("pages_read", v) for k, v in per_ns.items() if k in requested)
        source = "stats_pages_read"
    expected = dump_pages - redirects_requested
    deviation = abs(articles - expected) / expected if expected > 0 else (0.0 if articles == 0 else 1.0)
    drop = None
    if previous_articles:
        drop = max(0.0, 1 - articles / previous_articles)
    row = {
        "pages_read": count("pages_read"),
        "articles": articles,
        "redirects": count("redirects"),
        "skipped": count("skipped"),
        "dead_lettered": dead,
        "reconciliation_gap": count("pages_read") - sum(count(p) for p in parts),
        "namespace_reconciliation_gap": ns_gap,
        "input_truncated": bool(stats.get("truncated")),
        "dead_letter_ratio": dead / (articles + dead) if articles + dead else 0.0,
        "parquet_rows": parquet_rows,
        "parquet_rows_minus_articles": parquet_rows - articles,
        "duplicate_identifiers_across_shards": duplicate_identifiers,
        "dead_letter_rows_minus_stats": dead_letter_rows - dead,
        "dump_pages_in_namespaces": dump_pages,
        "dump_count_source": source,
        "expected_articles": expected,
        "article_deviation_vs_dump": deviation,
        "previous_articles": previous_articles,
        "article_drop_vs_previous": drop,
    }
    frame = pd.DataFrame([row])
    frame["previous_articles"] = frame["previous_articles"].astype("Int64")
    frame["article_drop_vs_previous"] = frame["article_drop_vs_previous"].astype("float64")
    return frame


def dead_letter_frame(source: Any, name: str) -> pd.DataFrame:
    """The checked columns of one gzip NDJSON dead-letter file (``detail`` left out: it can be big)."""
    import pandas as pd

    rows = []
    with gzip.open(source, "rt", encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"{name}: line {number}: not JSON: {exc}") from None
            rows.append({c: record.get(c) for c in DEAD_LETTER_COLUMNS})
    frame = pd.DataFrame(rows, columns=list(DEAD_LETTER_COLUMNS))
    frame["identifier"] = frame["identifier"].astype("Int64")
    return frame


# -- running a suite ------------------------------------------------------------------------------


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


def summarize(outcomes: Sequence[Mapping[str, Any]], counts: Mapping[str, Any]) -> dict[str, Any]:
    """The run's ValidationSummary (without URIs): success only if no critical expectation failed."""
    critical = [f for o in outcomes for f in o["critical_failures"]]
    warnings = [f for o in outcomes for f in o["warnings"]]
    return {
        "success": not critical,
        "critical_failures": critical,
        "warnings": warnings,
        "counts": {
            **counts,
            "batches_validated": len(outcomes),
            "evaluated_expectations": sum(o["evaluated_expectations"] for o in outcomes),
            "critical_failures": len(critical),
            "warnings": len(warnings),
        },
    }


def failure_message(summary: Mapping[str, Any], limit: int = 10) -> str:
    """What the gate raises with: each failed critical expectation, observed value and threshold."""
    failures = summary["critical_failures"]
    lines = [f"{len(failures)} critical expectation(s) failed; nothing is delivered:"]
    lines += [f"- {f['message']}" for f in failures[:limit]]
    if len(failures) > limit:
        lines.append(f"- ... and {len(failures) - limit} more (see the summary and Data Docs)")
    return "\n".join(lines)


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


# -- GCS helpers used by the Airflow stage ---------------------------------------------------------


def read_json_uri(client: Any, uri: str) -> Any:
    bucket, path = split_gs_uri(uri)
    try:
        return json.loads(client.bucket(bucket).blob(path).download_as_bytes())
    except ValueError as exc:
        raise ValueError(f"{uri}: not JSON: {exc}") from None


def write_json_uri(client: Any, uri: str, payload: Any) -> None:
    bucket, path = split_gs_uri(uri)
    client.bucket(bucket).blob(path).upload_from_string(
        json.dumps(payload, ensure_ascii=False, indent=1, default=str), content_type="application/json"
    )


def list_uris(client: Any, prefix_uri: str, pattern: re.Pattern[str] | None = None) -> list[str]:
    """Sorted ``gs://`` URIs under a prefix (optionally whose name matches ``pattern``)."""
    bucket, prefix = split_gs_uri(prefix_uri.rstrip("/") + "/")
    return sorted(
        f"gs://{bucket}/{blob.name}"
        for blob in client.list_blobs(bucket, prefix=prefix)
        if pattern is None or pattern.search(blob.name)
    )


def open_uri(client: Any, uri: str):
    """A seekable binary reader of a ``gs://`` object (ranged reads: Parquet reads only its columns)."""
    bucket, path = split_gs_uri(uri)
    return client.bucket(bucket).blob(path).open("rb")


def previous_snapshot_articles(client: Any, staging_bucket: str, dbname: str, dump_date: str) -> int | None:
    """Articles of the newest earlier dump date of this edition whose validation succeeded."""
    listing = client.list_blobs(staging_bucket, prefix=f"{dbname}/", delimiter="/")
    for _ in listing.pages:
        pass
    dates = sorted(
        (p.rstrip("/").rsplit("/", 1)[-1] for p in listing.prefixes),
        reverse=True,
    )
    for date in dates:
        if not re.fullmatch(r"\d{8}", date) or date >= dump_date:
            continue
        blob = client.bucket(staging_bucket).blob(f"{dbname}/{date}/validation/summary.json")
        if not blob.exists():
            continue
        summary = json.loads(blob.download_as_bytes())
        if summary.get("success") and (summary.get("counts") or {}).get("articles") is not None:
            return int(summary["counts"]["articles"])
    return None


def shard_identifiers(client: Any, shard_uri: str):
    """The identifier column of one shard (only that column chunk is read)."""
    import pyarrow.parquet as pq

    with open_uri(client, shard_uri) as fileobj:
        return pq.ParquetFile(fileobj).read(columns=["identifier"]).column("identifier").to_numpy()


def shard_rows(client: Any, shard_uri: str) -> int:
    import pyarrow.parquet as pq

    with open_uri(client, shard_uri) as fileobj:
        return pq.ParquetFile(fileobj).metadata.num_rows


def batch_name_of(uri: str) -> str:
    """``part-00003`` from ``gs://.../articles/part-00003.parquet`` (a readable batch id)."""
    return re.sub(r"\.(parquet|ndjson\.gz|json)$", "", uri.rsplit("/", 1)[-1])


def iter_index_files(client: Any, uris: Iterable[str]) -> Iterator[tuple[str, Any]]:
    for uri in uris:
        with open_uri(client, uri) as fileobj:
            yield uri, io.BufferedReader(fileobj)


@contextlib.contextmanager
def spooled_copy(client: Any, uri: str) -> Iterator[Any]:
    """A local temporary copy of one object: Parquet and gzip readers get a real, seekable file."""
    bucket, path = split_gs_uri(uri)
    with tempfile.TemporaryFile() as spool:
        client.bucket(bucket).blob(path).download_to_file(spool)
        spool.seek(0)
        yield spool


# -- one shard, one run ----------------------------------------------------------------------------


def load_site(client: Any, parsed_uri: str) -> SiteInfo:
    """The edition's SiteInfo the parse job wrote next to its output (``parsed/siteinfo.json``)."""
    return SiteInfo.from_dict(read_json_uri(client, f"{parsed_uri.rstrip('/')}/siteinfo.json"))


def validate_article_shard(
    client: Any, shard_uri: str, edition: EditionConfig, site: SiteInfo, dump_date: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the articles suite on one Parquet shard: ``(outcome digest, full GX result JSON)``."""
    with spooled_copy(client, shard_uri) as local:
        frame = article_shard_frame(local, site, edition)
    batch = batch_name_of(shard_uri)
    result = run_suite("articles", frame, suite_parameters(edition, site, dump_date), batch)
    outcome = outcome_of("articles", batch, result)
    outcome["rows"] = len(frame)
    return outcome, result


def validate_run_level(
    client: Any,
    *,
    edition: EditionConfig,
    site: SiteInfo,
    stats: Mapping[str, Any],
    staging_bucket: str,
    dump_date: str,
    parsed_uri: str,
    dump_uri: str,
    shard_uris: Sequence[str],
) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """Run the run-level suite (stats.json in context) and the dead-letter suite on each file."""
    reasons = sorted((stats.get("dead_letter_reasons") or {}).keys())
    params = suite_parameters(edition, site, dump_date, dead_letter_reasons=reasons)
    checked: list[tuple[dict[str, Any], dict[str, Any]]] = []
    dead_letter_rows = 0
    for uri in list_uris(client, f"{parsed_uri.rstrip('/')}/dead_letter", re.compile(r"\.ndjson\.gz$")):
        with spooled_copy(client, uri) as local:
            frame = dead_letter_frame(local, uri)
        dead_letter_rows += len(frame)
        batch = f"dead_letter-{batch_name_of(uri)}"
        result = run_suite("dead_letter", frame, params, batch)
        checked.append((outcome_of("dead_letter", batch, result), result))
    index_uris = list_uris(client, dump_uri, INDEX_NAME_RE)
    index_pages = count_index_pages(iter_index_files(client, index_uris), site) if index_uris else None
    frame = run_level_frame(
        stats,
        edition,
        parquet_rows=sum(shard_rows(client, uri) for uri in shard_uris),
        duplicate_identifiers=duplicate_count(shard_identifiers(client, uri) for uri in shard_uris),
        dead_letter_rows=dead_letter_rows,
        previous_articles=previous_snapshot_articles(client, staging_bucket, edition.dbname, dump_date),
        index_pages=index_pages,
    )
    result = run_suite("run_level", frame, params, "run_level")
    outcome = outcome_of("run_level", "run_level", result)
    row = json.loads(frame.iloc[0].to_json())  # plain JSON types, NaN/NA -> None
    outcome["counts"] = {key: row[key] for key in RUN_COUNT_KEYS}
    checked.insert(0, (outcome, result))
    return checked
