"""The nightly gate's run-level check: the ``nightly`` suite on one row describing a night.

A night is checked on what it changed, not on the whole edition: its ``changes/`` records (the
``articles`` suite, one task per shard, as a snapshot's shards) and this row, built from
apply_changes' stats.json in context: the base state's maximum revision id, the days'
``maxrevid.txt``, the identifiers of the changes and of the new state (one column read per
partition), and the change volume of the recent validated nights of the edition.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from typing import Any

from wikidrop.config import EditionConfig, NightlyThresholds
from wikidrop.dumps.siteinfo import SiteInfo
from wikidrop.gcs import open_uri, read_json_uri
from wikidrop.layout import DUMP_DATE_RE, NightlyPartition, ParseOutput, nightly_prefix
from wikidrop.quality.frames import duplicate_count
from wikidrop.quality.gx import outcome_of, run_suite
from wikidrop.quality.suites import suite_parameters
from wikidrop.state import EditionState

NIGHT_COUNT_KEYS = (
    "pages",
    "created",
    "updated",
    "removed",
    "change_records",
    "dead_lettered",
    "articles",
    "articles_before",
    "dead_letter_ratio",
    "recent_change_records_median",
    "change_volume_vs_recent",
    "tombstones",
)


def recent_change_records(client: Any, bucket: str, dbname: str, day: str, nights: int) -> list[int]:
    """``change_records`` of the newest ``nights`` validated nights before ``day``, newest first."""
    prefix = nightly_prefix(dbname)
    listing = client.list_blobs(bucket, prefix=prefix, delimiter="/")
    for _ in listing.pages:
        pass
    days = sorted((p[len(prefix) :].strip("/") for p in listing.prefixes), reverse=True)
    found: list[int] = []
    for earlier in days:
        if len(found) >= nights:
            break
        if not DUMP_DATE_RE.match(earlier) or earlier >= day:
            continue
        summary = read_json_uri(
            client, NightlyPartition(bucket, dbname, earlier).validation_summary_uri, missing_ok=True
        )
        records = ((summary or {}).get("counts") or {}).get("change_records")
        if summary and summary.get("success") and records is not None:
            found.append(int(records))
    return found


def _column(client: Any, uris: Sequence[str], path: Sequence[str]) -> list[Any]:
    """One (possibly nested) column of Parquet files: ``("version", "identifier")``."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    values: list[Any] = []
    for uri in uris:
        with open_uri(client, uri) as fileobj:
            table = pq.ParquetFile(fileobj).read(columns=[path[0]])
        column = table.column(path[0])
        for name in path[1:]:
            column = pc.struct_field(column, name)
        values.append(column.to_numpy(zero_copy_only=False))
    return values


def night_row(
    client: Any,
    *,
    stats: Mapping[str, Any],
    state_folder: str,
    change_shards: Sequence[str],
    base_max_revision_id: int | None,
    days_max_revision_id: int | None,
    recent: Sequence[int],
    tombstones: int,
) -> dict[str, Any]:
    """The nightly suite's one row (every column the suite names, plus the counts shown to people)."""
    import numpy as np

    output = ParseOutput(state_folder)
    state = EditionState.from_dict(read_json_uri(client, output.state_uri), output.state_uri)
    removed = sum((stats.get("removed") or {}).values())
    partitions = [f"{output.articles_uri}/{p.name}.parquet" for p in state.articles]
    change_ids = _column(client, change_shards, ("identifier",))
    change_revisions = np.concatenate(
        _column(client, change_shards, ("version", "identifier")) or [np.array([])]
    )
    at_or_below_base = (
        int((change_revisions <= base_max_revision_id).sum()) if base_max_revision_id is not None else 0
    )
    decided = stats["created"] + stats["updated"] + stats["dead_lettered"]
    applied_max = stats.get("max_revision_id_applied")
    median = statistics.median(recent) if recent else None
    return {
        "pages": stats["pages"],
        "created": stats["created"],
        "updated": stats["updated"],
        "removed": removed,
        "change_records": stats["change_records"],
        "dead_lettered": stats["dead_lettered"],
        "articles": stats["articles"],
        "articles_before": stats["articles_before"],
        "tombstones": tombstones,
        "reconciliation_gap": stats["pages"]
        - sum(
            stats[k] for k in ("created", "updated", "redirect", "skipped", "dead_lettered", "ignored_older")
        ),
        "article_count_gap": abs(stats["articles"] - (stats["articles_before"] + stats["created"] - removed))
        + abs(state.article_count - stats["articles"]),
        "duplicate_change_identifiers": duplicate_count(change_ids),
        "duplicate_state_identifiers": duplicate_count(_column(client, partitions, ("identifier",))),
        "stale_change_records": max(0, at_or_below_base - stats.get("refolded", 0)),
        "revisions_beyond_maxrevid": max(0, (applied_max or 0) - days_max_revision_id)
        if days_max_revision_id is not None
        else 0,
        "state_revision_regression": max(0, (base_max_revision_id or 0) - (state.max_revision_id or 0)),
        "dead_letter_ratio": stats["dead_lettered"] / decided if decided else 0.0,
        "recent_change_records_median": median,
        "change_volume_vs_recent": stats["change_records"] / median if median else None,
    }


def validate_night(
    client: Any,
    *,
    edition: EditionConfig,
    site: SiteInfo,
    day: str,
    row: Mapping[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run the nightly suite on ``night_row``'s row: ``(outcome digest, full GX result JSON)``."""
    import pandas as pd

    thresholds = edition.nightly.thresholds if edition.nightly else NightlyThresholds()
    cannot_apply = {}
    if row["change_volume_vs_recent"] is None:
        cannot_apply["recent_nights"] = "no earlier validated night with changes to compare the volume with"
    frame = pd.DataFrame([dict(row)])
    result = run_suite("nightly", frame, suite_parameters(edition, site, day), "nightly", cannot_apply)
    outcome = outcome_of("nightly", "nightly", result)
    outcome["counts"] = {key: row.get(key) for key in NIGHT_COUNT_KEYS}
    outcome["dead_letter_reasons"] = {}
    outcome["thresholds"] = thresholds.model_dump(mode="json")
    return outcome, result
