"""The quality report command on real sample dumps (small ones: this runs in the unit suite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import SHARED_DUMPS
from wikidrop.dumps.export import open_dump
from wikidrop_dev.quality_report import main, measure_dump, site_for


@pytest.mark.realdata
def test_report_prints_measures_baseline_and_verdicts(capsys: pytest.CaptureFixture[str]) -> None:
    dumps = [SHARED_DUMPS / "fr" / "frwiki-20121230-1page-wikiclean.xml", SHARED_DUMPS / "simple"]
    status = main([str(d) for d in dumps])
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "strip_code" in lines[0]
    assert any(line.startswith("frwiki-20121230-1page-wikiclean.xml") for line in lines)
    assert any(line.startswith("simplewiki-2019-7pages") for line in lines)
    total = next(line for line in lines if line.startswith("ALL DUMPS"))
    assert ("PASS" in total) == (status == 0)


@pytest.mark.realdata
def test_measure_dump_counts_main_namespace_articles_only() -> None:
    quality = measure_dump(SHARED_DUMPS / "edge-cases" / "enwiki-2015-Cullu-Agdam-page+talk-pywikibot.xml")
    assert quality.articles == 1  # the talk page of the pair is not an article
    assert quality.chars > 0 and quality.baseline_chars > 0


@pytest.mark.realdata
def test_wrong_header_language_comes_from_file_name() -> None:
    path = SHARED_DUMPS / "dbpedia-minidumps" / "frwiki-minidump-dbpedia.xml.bz2"
    with open_dump(str(path)) as reader:
        site, note = site_for(path, reader.siteinfo)
    assert (site.language, site.dbname) == ("fr", "frwiki")
    assert "header says enwiki" in note


def test_dump_without_siteinfo_gets_canonical_namespaces() -> None:
    site, note = site_for(Path("enwiki-20250201-tiny-70pages-zulko.xml.bz2"), None)
    assert site.language == "en"
    assert site.namespace_by_prefix("Category").id == 14
    assert "no <siteinfo>" in note
