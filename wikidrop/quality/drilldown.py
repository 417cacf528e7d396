"""A run's drill-down for analysts: its dead-lettered pages and samples of the rows that failed.

Written by the validate gate beside the run's Data Docs (``layout.drilldown_name``) and rendered by
the reports view, so an analyst goes from "dead-letter ratio went up" or "residue warning" to the
pages themselves (with a link to each on the wiki) without shell access. Bounded whatever the
run's size: at most ``DEAD_LETTER_LIMIT`` dead letters are listed (all are counted, per reason),
their details cut to ``DETAIL_CHARS``, and at most ``ROWS_PER_EXPECTATION`` failing rows are kept
per expectation over all shards (Great Expectations keeps ten per shard).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from typing import IO, Any

from wikidrop.dumps.siteinfo import SiteInfo
from wikidrop.quality.gx import failing_rows

DRILLDOWN_VERSION = 1
DEAD_LETTER_LIMIT = 1000
DETAIL_CHARS = 500
ROWS_PER_EXPECTATION = 25


def dead_letter_listing(
    files: Iterable[tuple[str, IO[bytes]]], site: SiteInfo, limit: int = DEAD_LETTER_LIMIT
) -> dict[str, Any]:
    """Dead letters of the run's gzip NDJSON files ``(name, binary file)``: counted, the first listed."""
    total = 0
    by_reason: dict[str, int] = {}
    listed: list[dict[str, Any]] = []
    for name, fileobj in files:
        with gzip.open(fileobj, "rt", encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise ValueError(f"{name}: line {number}: not JSON: {exc}") from None
                total += 1
                reason = str(row.get("reason"))
                by_reason[reason] = by_reason.get(reason, 0) + 1
                if len(listed) < limit:
                    title = row.get("name")
                    listed.append(
                        {
                            "identifier": row.get("identifier"),
                            "name": title,
                            "namespace": row.get("namespace"),
                            "reason": reason,
                            "detail": (row.get("detail") or "")[:DETAIL_CHARS],
                            "size": row.get("size"),
                            "url": site.article_url(title) if title else None,
                        }
                    )
    return {"total": total, "by_reason": dict(sorted(by_reason.items())), "listed": listed}


def failed_expectations(
    results: Iterable[tuple[str, Mapping[str, Any]]], limit: int = ROWS_PER_EXPECTATION
) -> list[dict[str, Any]]:
    """Every failed expectation of the run, shards merged: where it failed, and sample failing rows."""
    merged: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for batch, result in results:
        for failure in failing_rows(batch, result, limit):
            key = (failure["suite"], failure["expectation"], failure["column"], failure["threshold"])
            entry = merged.setdefault(
                key,
                {k: failure[k] for k in ("suite", "expectation", "column", "severity", "threshold")}
                | {"batches": [], "unexpected_count": None, "observed": [], "rows": []},
            )
            entry["batches"].append(batch)
            entry["observed"].append(failure["observed"])
            if failure["unexpected_count"] is not None:
                entry["unexpected_count"] = (entry["unexpected_count"] or 0) + failure["unexpected_count"]
            room = limit - len(entry["rows"])
            entry["rows"].extend({"batch": batch, **row} for row in failure["rows"][:room])
    severity_order = {"critical": 0, "warning": 1}
    return sorted(
        merged.values(), key=lambda e: (severity_order.get(e["severity"], 2), e["suite"], e["column"])
    )


def drilldown(
    summary: Mapping[str, Any],
    results: Iterable[tuple[str, Mapping[str, Any]]],
    dead_letter_files: Iterable[tuple[str, IO[bytes]]],
    site: SiteInfo,
) -> dict[str, Any]:
    """The drill-down document of one run (JSON)."""
    return {
        "version": DRILLDOWN_VERSION,
        "dbname": summary["dbname"],
        "dump_date": summary["dump_date"],
        "run_id": summary["run_id"],
        "success": summary["success"],
        "dead_letters": dead_letter_listing(dead_letter_files, site),
        "failed_expectations": [
            {**failure, "rows": [_with_url(row, site) for row in failure["rows"]]}
            for failure in failed_expectations(results)
        ],
        "skipped": list(summary.get("skipped", ())),
    }


def _with_url(row: dict[str, Any], site: SiteInfo) -> dict[str, Any]:
    """A failing row with a link to its page on the wiki (when its key has the title)."""
    title = row.get("key", {}).get("name")
    return {**row, "url": site.article_url(title) if isinstance(title, str) and title else None}
