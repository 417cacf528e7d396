"""Pure wikitext layer: one page's wikitext -> clean text and structured fields (no Beam/Airflow)."""

from __future__ import annotations

from wikidrop.wikitext.extract import PageContent, extract_content

__all__ = ["PageContent", "extract_content"]
