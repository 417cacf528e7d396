"""SiteInfo: namespace facts come from the dump (XML header or siteinfo JSON), never an English list."""

from __future__ import annotations

import bz2
import pickle
import xml.etree.ElementTree as ET

import pytest

from tests.conftest import SHARED_DUMPS
from wikidrop.dumps.siteinfo import CATEGORY_NS, FILE_NS, SiteInfo
from wikidrop.layout import StagingPartition, report_prefix


def header_siteinfo(path) -> SiteInfo:
    """Parse the <siteinfo> of a real dump (first few KB are enough)."""
    with bz2.open(path, "rt", encoding="utf-8") as fh:
        head = fh.read(20_000)
    root_open, _, rest = head.partition("<siteinfo>")
    xml = "<siteinfo>" + rest.split("</siteinfo>", 1)[0] + "</siteinfo>"
    lang = root_open.split('xml:lang="', 1)[1].split('"', 1)[0] if 'xml:lang="' in root_open else ""
    return SiteInfo.from_xml_element(ET.fromstring(xml), language=lang)


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("dump", "dbname", "language", "file_ns", "category_ns"),
    [
        (
            "derived/ukwiki-20230501-head-100k-lines-CLOSED-xztextfilter.xml.bz2",
            "ukwiki",
            "uk",
            "Файл",
            "Категорія",
        ),
        (
            "derived/mrwiki-20230501-head-100k-lines-CLOSED-xztextfilter.xml.bz2",
            "mrwiki",
            "mr",
            "चित्र",
            "वर्ग",
        ),
        ("ja/jawiki-20250801-head-100k-lines-nlp4j.xml.bz2", "jawiki", "ja", "ファイル", "Category"),
    ],
)
def test_localized_names_from_real_headers(dump, dbname, language, file_ns, category_ns):
    site = header_siteinfo(SHARED_DUMPS / dump)
    assert (site.dbname, site.language) == (dbname, language)
    assert site.namespace_name(FILE_NS) == file_ns
    assert site.namespace_name(CATEGORY_NS) == category_ns
    # MediaWiki core canonical names are accepted by every wiki, whatever its language.
    assert site.namespace_by_prefix("file").id == FILE_NS
    assert site.namespace_by_prefix("Image").id == FILE_NS
    assert (
        site.namespace_by_prefix(category_ns.lower() if category_ns.isascii() else category_ns).id
        == CATEGORY_NS
    )
    assert site.server == f"https://{language}.wikipedia.org"


SITEINFO_JSON = {
    "batchcomplete": "",
    "query": {
        "general": {
            "wikiid": "arwiki",
            "sitename": "ويكيبيديا",
            "base": "https://ar.wikipedia.org/wiki/الصفحة_الرئيسة",
            "lang": "ar",
            "case": "first-letter",
            "rtl": "",
        },
        "namespaces": {
            "0": {"id": 0, "case": "first-letter", "name": "", "content": ""},
            "6": {"id": 6, "case": "first-letter", "name": "ملف", "canonical": "File"},
            "14": {"id": 14, "case": "first-letter", "name": "تصنيف", "canonical": "Category"},
        },
        "namespacealiases": [{"id": 6, "alias": "صورة"}, {"id": 14, "alias": "Kategorie"}],
        "magicwords": [{"name": "redirect", "aliases": ["#تحويل", "#REDIRECT"], "case-sensitive": ""}],
    },
}


def test_siteinfo_json_aliases_magic_words_and_direction():
    site = SiteInfo.from_siteinfo_json(SITEINFO_JSON)
    assert site.dbname == "arwiki"
    assert site.direction == "rtl"
    assert site.namespace_by_prefix("صورة").id == FILE_NS
    assert site.names_for(FILE_NS) == ("ملف", "File", "صورة", "Image")
    assert site.redirect_magic_words == ("#تحويل", "#REDIRECT")


def test_namespace_of_title_and_redirect_target_by_the_wikis_own_words():
    site = SiteInfo.from_siteinfo_json(SITEINFO_JSON)
    assert site.namespace_of_title("صورة:مثال.png") == FILE_NS
    assert site.namespace_of_title("kategorie:X") == CATEGORY_NS
    assert site.namespace_of_title("القاهرة") == 0 and site.namespace_of_title("Nope:X") == 0
    assert site.redirect_pattern.match(" #تحويل [[القاهرة|x]]").group(1) == "القاهرة"
    assert site.redirect_pattern.match("#redirect: [[Cairo]]").group(1) == "Cairo"
    assert site.redirect_pattern.match("القاهرة #تحويل [[ليست]]") is None


def test_xml_header_merged_with_richer_json_keeps_local_names_and_gains_aliases():
    xml = ET.fromstring(
        "<siteinfo><dbname>arwiki</dbname><base>https://ar.wikipedia.org/wiki/x</base>"
        '<namespaces><namespace key="6" case="first-letter">ملف</namespace></namespaces></siteinfo>'
    )
    merged = SiteInfo.from_xml_element(xml).merged_with(SiteInfo.from_siteinfo_json(SITEINFO_JSON))
    assert merged.namespace_name(FILE_NS) == "ملف"
    assert merged.namespace_by_prefix("صورة").id == FILE_NS
    assert merged.direction == "rtl"
    assert merged.namespace_by_prefix("تصنيف").id == CATEGORY_NS


def test_round_trip_and_pickle_for_beam_workers():
    site = SiteInfo.from_siteinfo_json(SITEINFO_JSON)
    site.namespace_by_prefix("ملف")  # fills the lookup cache, which must not travel
    assert SiteInfo.from_dict(site.to_dict()) == site
    clone = pickle.loads(pickle.dumps(site))
    assert clone == site and clone.namespace_by_prefix("صورة").id == FILE_NS


def test_article_url_is_mediawiki_style():
    site = SiteInfo(dbname="frwiki", base_url="https://fr.wikipedia.org/wiki/Accueil", language="fr")
    assert site.article_url("Île de Ré") == "https://fr.wikipedia.org/wiki/%C3%8Ele_de_R%C3%A9"
    assert site.article_url("AC/DC (groupe)") == "https://fr.wikipedia.org/wiki/AC/DC_(groupe)"
    assert site.direction == "ltr"


@pytest.mark.realdata
def test_article_url_encodes_exactly_like_urllib_quote():
    # Every title of the real dumps (many scripts) plus the characters at the edge of the safe set.
    from urllib.parse import quote

    from wikidrop.dumps.export import open_dump

    titles = ["a-b.c~d_e", "%20 +&=?#[]{}<>|\\^`\"'", "Ω ≈ ç 🙂 \u00a0 \t", "100% (x), y; z! @*$:/"]
    for dump in [
        "ja/jawiki-20250801-head-100k-lines-nlp4j.xml.bz2",
        "derived/bnwiki-20230501-head-100k-lines-CLOSED-xztextfilter.xml.bz2",
    ]:
        with open_dump(str(SHARED_DUMPS / dump)) as reader:
            titles += [page.title for page in reader.pages()]
    site = SiteInfo(dbname="xwiki", base_url="https://x.wikipedia.org/wiki/Main")
    for title in titles:
        expected = "https://x.wikipedia.org/wiki/" + quote(title.replace(" ", "_"), safe=":/(),!*@$;~")
        assert site.article_url(title) == expected, title


def test_staging_partition_paths_and_date_check():
    part = StagingPartition("wikidrop-staging", "jawiki", "20250801")
    assert part.parsed.pointer_uri == "gs://wikidrop-staging/jawiki/20250801/parsed/CURRENT.json"
    assert part.validation_summary_uri.endswith("/jawiki/20250801/validation/summary.json")
    with pytest.raises(ValueError, match="YYYYMMDD"):
        StagingPartition("wikidrop-staging", "jawiki", "latest")
    assert report_prefix("jawiki", "20250801", "manual__2026-11-23T10:00:00+00:00") == (
        "jawiki/20250801/manual__2026-11-23T10_00_00_00_00"
    )
