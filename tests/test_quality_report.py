"""The quality report command on real sample dumps (small ones: this runs in the unit suite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT, SHARED_DUMPS
from wikidrop.dumps.export import open_dump
from wikidrop_dev.quality_report import STRUCTURE_HEADER, main, measure_dump, site_for


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


def test_report_prints_table_infobox_and_reference_coverage_per_language(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status = main([str(PROJECT_ROOT / "samples")])
    out = capsys.readouterr().out
    rows = {
        line.split()[0]: line for line in out.splitlines()[out.splitlines().index(STRUCTURE_HEADER) + 1 :]
    }
    assert {"fr", "ja", "uk", "ALL"} <= set(rows)
    # every sample article with an infobox template gets an entry: 6 fr, 3 ja, 3 uk
    assert "6,     6 (100.0%)" in rows["fr"] and "3,     3 (100.0%)" in rows["uk"]
    # the uk ones ({{Особа}}, {{Річка}}...) are recognised by their layout, no name list holds them
    assert "Особа" in out.split("found by layout alone")[1]
    assert status == 0 and rows["ALL"].endswith("PASS")


def test_infobox_calls_without_named_parameters_are_counted_apart(tmp_path: Path) -> None:
    """A box Wikidata fills at render time has no data in the dump: not a miss, but reported."""
    pages = {
        "Berlin": "{{Wikidata Infobox}}\n'''Berlin''' is a city in [[Germany]].",
        "Paris": "{{Infobox settlement\n| name = Paris\n| country = France\n}}\n'''Paris''' is a city.",
    }
    dump = tmp_path / "enwiki-20260101-pages-articles.xml"
    dump.write_text(
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/"><siteinfo><dbname>enwiki</dbname>'
        "<base>https://en.wikipedia.org/wiki/Main_Page</base><namespaces>"
        '<namespace key="0" case="first-letter" /><namespace key="10" case="first-letter">Template</namespace>'
        "</namespaces></siteinfo>"
        + "".join(
            f"<page><title>{title}</title><ns>0</ns><id>{i}</id><revision><id>{i}</id>"
            f"<timestamp>2026-01-01T00:00:00Z</timestamp><model>wikitext</model><format>text/x-wiki</format>"
            f'<text xml:space="preserve">{text}</text></revision></page>'
            for i, (title, text) in enumerate(pages.items(), start=1)
        )
        + "</mediawiki>",
        encoding="utf-8",
    )
    quality = measure_dump(dump)
    assert (quality.infobox_users, quality.infobox_users_with_entry) == (1, 1)  # Paris only
    assert quality.infobox_calls_without_data == 1
    assert dict(quality.without_data_names) == {"Wikidata Infobox": 1}
