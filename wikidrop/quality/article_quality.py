"""Per-article quality rows: every measure the articles suite checks, computed once per article.

The parse job writes one row per article (``QUALITY_SCHEMA``) to ``parsed/quality/`` beside the
articles, from the record it has just built: sizes, text length, prose bytes (stubs), whether the
wikitext is a redirect, markup residue, script share, and whether the record has infoboxes,
tables, references. Validation then checks these small columns instead of reading every shard's
wikitext and text back and recomputing the measures in Python (which cost almost half a parse).
The rows are staging-internal: delivery reads the articles, never this dataset.

``article_quality`` is also how validation measures an articles shard written without quality
rows (an older parse output), so both paths check the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from wikidrop.dumps.siteinfo import SiteInfo
from wikidrop.quality.measures import leftover_markup, prose_wikitext_bytes, residue_per_10k, script_share

QUALITY_VERSION = "1"
# Parquet metadata: what the rows are, and the edition scripts their script_share counted.
QUALITY_VERSION_KEY = b"wikidrop.quality_version"
SCRIPTS_KEY = b"wikidrop.quality_scripts"
# Record list fields whose presence on an article is a coverage flag (null: the record has no such field).
COVERAGE_FIELDS = {"infoboxes": "has_infobox", "tables": "has_table", "references": "has_reference"}

QUALITY_SCHEMA = pa.schema(
    [
        ("identifier", pa.int64()),
        ("name", pa.string()),
        ("namespace", pa.int64()),
        ("url_host", pa.string()),
        ("date_modified", pa.string()),
        ("size_value", pa.int64()),  # version.size.value as the record says
        ("number_of_characters", pa.int64()),  # version.number_of_characters as the record says
        ("wikitext_bytes", pa.int64()),  # measured: UTF-8 bytes of article_body.wikitext
        ("prose_wikitext_bytes", pa.int64()),  # measures.prose_wikitext_bytes
        ("is_redirect_wikitext", pa.bool_()),  # the wikitext starts with a redirect magic word
        ("text_chars", pa.int64()),
        ("residue_per_10k", pa.float64()),
        ("script_share", pa.float64()),
        *((column, pa.bool_()) for column in COVERAGE_FIELDS.values()),
    ]
)


def quality_schema(scripts: Sequence[str]) -> pa.Schema:
    """QUALITY_SCHEMA stamped with the scripts its ``script_share`` counted."""
    return QUALITY_SCHEMA.with_metadata(
        {QUALITY_VERSION_KEY: QUALITY_VERSION.encode(), SCRIPTS_KEY: ",".join(scripts).encode()}
    )


def is_quality_schema(schema: pa.Schema) -> bool:
    return bool((schema.metadata or {}).get(QUALITY_VERSION_KEY))


def measured_scripts(schema: pa.Schema) -> list[str]:
    """The scripts the rows' ``script_share`` counted (from the Parquet metadata)."""
    value = (schema.metadata or {}).get(SCRIPTS_KEY, b"").decode()
    return [s for s in value.split(",") if s]


def article_quality(record: Mapping[str, Any], site: SiteInfo, scripts: Sequence[str]) -> dict[str, Any]:
    """The quality row of one article record (``wikidrop.records.build_article_record``)."""
    version = record.get("version") or {}
    wikitext = (record.get("article_body") or {}).get("wikitext") or ""
    text = record.get("text") or ""
    return {
        "identifier": record.get("identifier"),
        "name": record.get("name"),
        "namespace": (record.get("namespace") or {}).get("identifier"),
        "url_host": urlsplit(record.get("url") or "").netloc or None,
        "date_modified": record.get("date_modified"),
        "size_value": (version.get("size") or {}).get("value"),
        "number_of_characters": version.get("number_of_characters"),
        "wikitext_bytes": len(wikitext.encode("utf-8")),
        "prose_wikitext_bytes": prose_wikitext_bytes(wikitext, site),
        "is_redirect_wikitext": bool(site.redirect_pattern.match(wikitext)),
        "text_chars": len(text),
        "residue_per_10k": residue_per_10k(leftover_markup(text, site), text) if text else None,
        "script_share": script_share(text, scripts) if scripts else None,
        **{
            column: bool(record[field]) if field in record else None
            for field, column in COVERAGE_FIELDS.items()
        },
    }
