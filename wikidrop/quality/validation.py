"""Write-audit-publish checks: the Great Expectations suites of ``expectations/`` run on parse output.

The orchestration of one run's checks, as the validate stage calls them: ``validate_article_shard``
(the ``articles`` suite on one Parquet shard, one task per shard), ``validate_run_level`` (the
``run_level`` suite on stats.json in its context, and the ``dead_letter`` suite on each dead-letter
file), then ``summarize`` into the run's ValidationSummary, ``failure_message`` for the gate and
``publish_run_views`` for analysts (the run's drill-down and its RunSummary in the reports bucket).
The parts live beside it: suites and their parameters (``suites``), the frames they check
(``frames``), the per-article measures (``measures``) and Great Expectations itself (``gx``).
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from wikidrop.config import EditionConfig
from wikidrop.dumps.siteinfo import SiteInfo
from wikidrop.gcs import list_uris, open_uri, read_json_uri, spooled_copy, write_json_uri
from wikidrop.layout import (
    DUMP_DATE_RE,
    ParseOutput,
    StagingPartition,
    drilldown_name,
    edition_prefix,
    run_dir_name,
)
from wikidrop.quality.article_quality import measured_scripts
from wikidrop.quality.drilldown import drilldown
from wikidrop.quality.frames import (
    article_shard_frame,
    count_index_pages,
    dead_letter_frame,
    duplicate_count,
    run_level_frame,
)
from wikidrop.quality.gx import outcome_of, run_suite
from wikidrop.quality.run_summary import (
    RunKind,
    RunSummary,
    run_metrics,
    run_summary_of,
    shard_measures,
    write_run_summary,
)
from wikidrop.quality.suites import suite_parameters

log = logging.getLogger(__name__)

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
DEAD_LETTER_NAME_RE = re.compile(r"\.ndjson\.gz$")
# The job's final quality shards only, never Beam's beam-temp-* leftovers of a crashed attempt.
QUALITY_SHARD_RE = re.compile(r"/quality/part-[^/]*\.parquet$")
INDEX_NAME_RE = re.compile(r"multistream\d*-index[^/]*\.txt\.bz2$")


# -- one run's summary -----------------------------------------------------------------------------


def summarize(outcomes: Sequence[Mapping[str, Any]], counts: Mapping[str, Any]) -> dict[str, Any]:
    """The run's ValidationSummary (without URIs): success only if no critical expectation failed.

    Its ``metrics`` merge the articles checks' measures with the run level's counts
    (``run_summary.run_metrics``); ``thresholds`` are the edition's, as the run level applied them.
    """
    critical = [f for o in outcomes for f in o["critical_failures"]]
    warnings = [f for o in outcomes for f in o["warnings"]]
    skipped = [s for o in outcomes for s in o.get("skipped", ())]
    run_level = next((o for o in outcomes if o["suite"] == "run_level"), {})
    metrics = run_metrics(
        [o.get("measures") for o in outcomes if o["suite"] == "articles"],
        run_level.get("counts") or {},
        run_level.get("dead_letter_reasons") or {},
    )
    return {
        "success": not critical,
        "critical_failures": critical,
        "warnings": warnings,
        "skipped": skipped,
        "metrics": metrics.model_dump(mode="json"),
        "thresholds": run_level.get("thresholds") or {},
        "counts": {
            **counts,
            "batches_validated": len(outcomes),
            "evaluated_expectations": sum(o["evaluated_expectations"] for o in outcomes),
            "critical_failures": len(critical),
            "warnings": len(warnings),
            "skipped_expectations": len(skipped),
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


# -- reading parse output and earlier runs ---------------------------------------------------


def previous_snapshot_articles(client: Any, staging_bucket: str, dbname: str, dump_date: str) -> int | None:
    """Articles of the newest earlier dump date of this edition whose validation succeeded."""
    listing = client.list_blobs(staging_bucket, prefix=edition_prefix(dbname), delimiter="/")
    for _ in listing.pages:
        pass
    dates = sorted((p.rstrip("/").rsplit("/", 1)[-1] for p in listing.prefixes), reverse=True)
    for date in dates:
        if not DUMP_DATE_RE.match(date) or date >= dump_date:
            continue
        summary = read_json_uri(
            client, StagingPartition(staging_bucket, dbname, date).validation_summary_uri, missing_ok=True
        )
        if summary and summary.get("success") and (summary.get("counts") or {}).get("articles") is not None:
            return int(summary["counts"]["articles"])
    return None


def shards_to_check(
    client: Any, parsed_uri: str, article_shards: Sequence[str], edition: EditionConfig
) -> list[str]:
    """The shards the articles suite checks, one task each.

    The quality rows the parse job wrote beside the articles (small columns: nothing to measure)
    when they counted the edition's scripts; otherwise (an output parsed before quality rows, or
    with other scripts) the articles shards themselves, measured in Python as the job would.
    """
    import pyarrow.parquet as pq

    quality = list_uris(client, ParseOutput(parsed_uri.rstrip("/")).quality_uri, QUALITY_SHARD_RE)
    if not quality:
        return list(article_shards)
    with open_uri(client, quality[0]) as fileobj:
        scripts = measured_scripts(pq.ParquetFile(fileobj).schema_arrow)
    if scripts != list(edition.scripts):
        log.warning(
            "%s: quality rows counted scripts %s, the edition's are %s: checking the articles shards",
            parsed_uri,
            scripts,
            list(edition.scripts),
        )
        return list(article_shards)
    return quality


def dead_letter_uris(client: Any, parsed_uri: str) -> list[str]:
    """The dead-letter files of a parse output, in order."""
    return list_uris(client, ParseOutput(parsed_uri.rstrip("/")).dead_letter_uri, DEAD_LETTER_NAME_RE)


def iter_dead_letter_files(client: Any, parsed_uri: str) -> Iterator[tuple[str, Any]]:
    """``(uri, local copy)`` of each dead-letter file of a parse output, one at a time."""
    for uri in dead_letter_uris(client, parsed_uri):
        with spooled_copy(client, uri) as local:
            yield uri, local


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


def run_level_preconditions(previous_articles: int | None) -> dict[str, str]:
    """Preconditions of run-level expectations that do not hold (``gx.run_suite``'s ``cannot_apply``)."""
    if previous_articles:
        return {}
    return {"previous_snapshot": "no earlier successful snapshot of this edition to compare with"}


# -- one shard, one run ----------------------------------------------------------------------------


def load_site(client: Any, parsed_uri: str) -> SiteInfo:
    """The edition's SiteInfo the parse job wrote with its output (``siteinfo.json`` of the attempt)."""
    return SiteInfo.from_dict(read_json_uri(client, ParseOutput(parsed_uri.rstrip("/")).siteinfo_uri))


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
    outcome["measures"] = shard_measures(frame)
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
    for uri in dead_letter_uris(client, parsed_uri):
        with spooled_copy(client, uri) as local:
            frame = dead_letter_frame(local, uri)
        dead_letter_rows += len(frame)
        batch = f"dead_letter-{batch_name_of(uri)}"
        result = run_suite("dead_letter", frame, params, batch)
        checked.append((outcome_of("dead_letter", batch, result), result))
    index_uris = list_uris(client, dump_uri, INDEX_NAME_RE)
    index_pages = count_index_pages(iter_index_files(client, index_uris), site) if index_uris else None
    previous_articles = previous_snapshot_articles(client, staging_bucket, edition.dbname, dump_date)
    parquet_rows = sum(shard_rows(client, uri) for uri in shard_uris)
    measured = shards_to_check(client, parsed_uri, shard_uris, edition)
    frame = run_level_frame(
        stats,
        edition,
        parquet_rows=parquet_rows,
        measured_rows=parquet_rows
        if measured == list(shard_uris)
        else sum(shard_rows(client, u) for u in measured),
        duplicate_identifiers=duplicate_count(shard_identifiers(client, uri) for uri in shard_uris),
        dead_letter_rows=dead_letter_rows,
        previous_articles=previous_articles,
        index_pages=index_pages,
    )
    result = run_suite("run_level", frame, params, "run_level", run_level_preconditions(previous_articles))
    outcome = outcome_of("run_level", "run_level", result)
    row = json.loads(frame.iloc[0].to_json())  # plain JSON types, NaN/NA -> None
    outcome["counts"] = {key: row[key] for key in RUN_COUNT_KEYS}
    outcome["dead_letter_reasons"] = dict(stats.get("dead_letter_reasons") or {})
    outcome["thresholds"] = edition.thresholds.model_dump(mode="json")
    checked.insert(0, (outcome, result))
    return checked


# -- for analysts ------------------------------------------------------------------------------------


def publish_run_views(
    client: Any,
    reports_bucket: str,
    summary: Mapping[str, Any],
    results: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    parsed_uri: str,
    kind: RunKind = "snapshot",
) -> RunSummary:
    """Beside the run's Data Docs, its drill-down; then its RunSummary in the reports index.

    The summary goes last: the reports view lists a run only once what it links to exists.
    ``results`` are the run's ``(batch, GX result)`` pairs, as its Data Docs were built from.
    """
    run_dir = run_dir_name(summary["run_id"])
    document = drilldown(
        summary, results, iter_dead_letter_files(client, parsed_uri), load_site(client, parsed_uri)
    )
    write_json_uri(
        client,
        f"gs://{reports_bucket}/{drilldown_name(summary['dbname'], summary['dump_date'], run_dir)}",
        document,
    )
    run = run_summary_of(summary, run_dir, datetime.now(UTC).isoformat(), kind)
    write_run_summary(client, reports_bucket, run)
    return run
