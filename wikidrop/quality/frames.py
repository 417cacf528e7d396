"""The small pandas frames the suites check, built from parse output.

``article_frame`` turns per-article quality rows (``article_quality``: written by the parse job
beside the articles, or measured here from an articles shard without them) into one row of derived
columns per article (lengths, rates, flags); ``run_level_frame`` is the one row of stats.json in its
context, and ``dead_letter_frame`` holds the checked columns of a dead-letter file. Memory stays
bounded: an articles shard is read one record batch at a time and only the derived columns are
kept, never the wikitext or text themselves. pandas and pyarrow are imported inside functions.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from wikidrop.config import EditionConfig
from wikidrop.dumps.siteinfo import SiteInfo
from wikidrop.quality.article_quality import (
    COVERAGE_FIELDS,
    article_quality,
    is_quality_schema,
    measured_scripts,
    quality_schema,
)

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
DEAD_LETTER_COLUMNS = ("identifier", "name", "namespace", "reason", "size", "source_file", "stream_offset")


# -- articles -----------------------------------------------------------------------------------------


def quality_rows(batch: pa.RecordBatch | pa.Table, site: SiteInfo, scripts: Sequence[str]) -> pa.Table:
    """The quality rows (``QUALITY_SCHEMA``) of a batch of article records, as the parse job writes them.

    Coverage flags come from the list columns' lengths in Arrow: the infoboxes, tables and
    references themselves are never converted to Python.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    names = batch.schema.names
    records = batch.select([c for c in ARTICLE_COLUMNS if c in names]).to_pylist()
    table = pa.Table.from_pylist(
        [article_quality(r, site, scripts) for r in records], schema=quality_schema(scripts)
    )
    for field, column in COVERAGE_FIELDS.items():
        if field in names:
            flags = pc.greater(pc.fill_null(pc.list_value_length(batch.column(field)), 0), 0)
            table = table.set_column(table.schema.get_field_index(column), column, flags)
    return table


def article_frame(quality: pa.Table, edition: EditionConfig) -> pd.DataFrame:
    """The frame the articles suite checks, from quality rows (vectorised: no loop over articles).

    ``is_stub`` applies the edition's stub size to the measured bytes: a page that is only tables,
    media and categories may have no text, however big. A coverage column (``has_infobox``, ...)
    is in the frame only when the records had that field.
    """
    import pandas as pd

    def column(name: str) -> pd.Series:
        return quality.column(name).to_pandas()

    stub_bytes = edition.thresholds.stub_max_wikitext_bytes
    frame = pd.DataFrame(
        {
            "identifier": column("identifier").astype("Int64"),
            "name": column("name"),
            "namespace": column("namespace").astype("Int64"),
            "url_host": column("url_host"),
            "size_value": column("size_value").astype("Int64"),
            "wikitext_bytes": column("wikitext_bytes").astype("int64"),
            "number_of_characters": column("number_of_characters").astype("Int64"),
            "date_modified": pd.to_datetime(column("date_modified"), utc=True, errors="coerce"),
            "text_chars": column("text_chars").astype("int64"),
            "is_stub": (
                (column("wikitext_bytes") <= stub_bytes) | (column("prose_wikitext_bytes") <= stub_bytes)
            ).astype(bool),
            "redirect_name": column("name").where(column("is_redirect_wikitext").astype(bool), None),
            "residue_per_10k": column("residue_per_10k").astype("float64"),
            "script_share": column("script_share").astype("float64"),
        }
    )
    for name in COVERAGE_FIELDS.values():
        if quality.column(name).null_count < len(quality):
            frame[name] = column(name).astype(bool)
    return frame


def article_shard_frame(source: Any, site: SiteInfo, edition: EditionConfig) -> pd.DataFrame:
    """The articles frame of one Parquet shard (path or file object): quality rows the parse job
    wrote, or article records measured here, one batch at a time (never the whole shard's text).

    A shard of change records (apply_changes' ``changes/``) may hold tombstones (``event.type``
    delete: a page's identity, no content); they are left out, the suite judges content.
    """
    import pandas as pd
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    parquet = pq.ParquetFile(source)
    schema = parquet.schema_arrow
    if is_quality_schema(schema):
        if measured_scripts(schema) != list(edition.scripts):
            raise ValueError(
                f"quality rows counted scripts {measured_scripts(schema)}, the edition's are {list(edition.scripts)}:"
                " validate the articles shards instead (validation.shards_to_check does)"
            )
        return article_frame(parquet.read(), edition)
    missing = [c for c in ARTICLE_COLUMNS if c not in schema.names]
    if missing:
        raise ValueError(f"Parquet shard lacks article columns {missing} (has {schema.names})")
    columns = [*ARTICLE_COLUMNS, *(f for f in COVERAGE_FIELDS if f in schema.names)]
    events = "event" in schema.names
    frames = []
    for batch in parquet.iter_batches(
        batch_size=READ_BATCH_ROWS, columns=[*columns, "event"] if events else columns
    ):
        if events:
            is_content = pc.fill_null(
                pc.not_equal(pc.struct_field(batch.column("event"), "type"), "delete"), True
            )
            batch = batch.filter(is_content).select(columns)
        frames.append(article_frame(quality_rows(batch, site, edition.scripts), edition))
    if not frames:
        return article_frame(quality_schema(edition.scripts).empty_table(), edition)
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
    measured_rows: int,
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
        "measured_rows_minus_articles": measured_rows - articles,
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
