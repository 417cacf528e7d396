"""The small pandas frames the suites check, built from parse output.

``article_frame`` flattens article records into one row of derived columns per article (lengths,
rates, flags), ``run_level_frame`` is the one row of stats.json in its context, and
``dead_letter_frame`` holds the checked columns of a dead-letter file. Memory stays bounded: a
shard is read one record batch at a time and only the derived columns are kept, never the wikitext
or text themselves. pandas and pyarrow are imported inside functions.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from wikidrop.config import EditionConfig
from wikidrop.dumps.siteinfo import SiteInfo
from wikidrop.quality.measures import leftover_markup, prose_wikitext_bytes, residue_per_10k, script_share

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

READ_BATCH_ROWS = 1_000
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
# Record list fields whose presence on an article the frame flags (coverage metrics), when records have them.
COVERAGE_COLUMNS = {"infoboxes": "has_infobox", "tables": "has_table", "references": "has_reference"}
DEAD_LETTER_COLUMNS = ("identifier", "name", "namespace", "reason", "size", "source_file", "stream_offset")


# -- articles -----------------------------------------------------------------------------------------


def article_frame(batch: pa.RecordBatch | pa.Table, site: SiteInfo, edition: EditionConfig) -> pd.DataFrame:
    """Flatten one batch of article records into the small frame the articles suite checks.

    Coverage flags (``has_infobox``, ...) are columns only when the batch has the record field.
    """
    import pandas as pd
    import pyarrow.compute as pc

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
    for record in batch.select([c for c in ARTICLE_COLUMNS if c in batch.schema.names]).to_pylist():
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
    for field, column in COVERAGE_COLUMNS.items():
        if field in batch.schema.names:  # list lengths in Arrow: the lists themselves stay unread
            lengths = pc.fill_null(pc.list_value_length(batch.column(field)), 0)
            frame[column] = pc.greater(lengths, 0).to_numpy(zero_copy_only=False)
    return frame


def article_shard_frame(source: Any, site: SiteInfo, edition: EditionConfig) -> pd.DataFrame:
    """The articles frame of one Parquet shard (path or file object), read batch by batch."""
    import pandas as pd
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(source)
    missing = [c for c in ARTICLE_COLUMNS if c not in parquet.schema_arrow.names]
    if missing:
        raise ValueError(f"Parquet shard lacks article columns {missing} (has {parquet.schema_arrow.names})")
    columns = [*ARTICLE_COLUMNS, *(f for f in COVERAGE_COLUMNS if f in parquet.schema_arrow.names)]
    frames = [
        article_frame(batch, site, edition)
        for batch in parquet.iter_batches(batch_size=READ_BATCH_ROWS, columns=columns)
    ]
    if not frames:
        return article_frame(parquet.schema_arrow.empty_table(), site, edition)
    return pd.concat(frames, ignore_index=True)


# -- run level ----------------------------------------------------------------------------------------


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


# -- dead letters -------------------------------------------------------------------------------------


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
