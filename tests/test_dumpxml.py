"""The export XML reader on every real sample and on small inline documents that pin one behaviour each."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import ipaddress
import lzma
import pickle
import random
import re
import string
import tracemalloc
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import pytest

from tests.conftest import SHARED_DUMPS
from wikidrop.dumps.export import (
    DEFAULT_FORMAT,
    DEFAULT_MODEL,
    DumpError,
    DumpReader,
    Page,
    TruncatedDumpError,
    open_binary,
    open_dump,
    parse_page_fragment,
    read_siteinfo,
)


def _readme_rows() -> list[tuple[str, int, int]]:
    """(file, pages, redirects) of every dump the shared data README counts (one placeholder row
    without ../shared, so the realdata tests are collected and reported as skipped)."""
    if not SHARED_DUMPS.is_dir():
        return [("no-shared-dumps", 0, 0)]
    rows = []
    for line in (SHARED_DUMPS.parent / "README.md").read_text(encoding="utf-8").splitlines():
        m = re.match(r"\|\s*`([^`]+)`\s*\|[^|]*\|\s*(\d+)\s*\|\s*(\d+)\s*\|", line)
        if m:
            rows.append((m.group(1), int(m.group(2)), int(m.group(3))))
    return rows


README_ROWS = _readme_rows()


_READ_CACHE: dict[tuple[Path, bool], tuple[DumpReader, list[Page]]] = {}


@pytest.fixture(autouse=True, scope="module")
def _forget_read_dumps() -> Iterator[None]:
    yield
    _READ_CACHE.clear()


def read_all(path: Path, allow_truncated: bool = False) -> tuple[DumpReader, list[Page]]:
    """Every page of a sample, read once per module: several tests look at the same pages."""
    key = (path, allow_truncated)
    if key not in _READ_CACHE:
        with open_dump(str(path), allow_truncated=allow_truncated) as reader:
            _READ_CACHE[key] = (reader, list(reader.pages()))
    return _READ_CACHE[key]


def read_bytes(data: bytes, source: str = "inline.xml", allow_truncated: bool = False) -> list[Page]:
    return list(DumpReader(io.BytesIO(data), source, allow_truncated=allow_truncated).pages())


def mediawiki_sha1(text: str) -> str:
    """MediaWiki's <sha1>: base-36 SHA-1 of the UTF-8 text, 31 digits."""
    n = int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest(), "big")
    digits = ""
    while n:
        n, r = divmod(n, 36)
        digits = "0123456789abcdefghijklmnopqrstuvwxyz"[r] + digits
    return digits.rjust(31, "0")


# -- every real sample against the README table ---------------------------------------------------


@pytest.mark.realdata
def test_readme_table_was_found() -> None:
    assert len(README_ROWS) > 100


@pytest.mark.realdata
@pytest.mark.parametrize(("name", "pages", "redirects"), README_ROWS, ids=[r[0] for r in README_ROWS])
def test_page_and_redirect_counts_match_readme(name: str, pages: int, redirects: int) -> None:
    path = SHARED_DUMPS / name
    if name.endswith(".7z"):
        with pytest.raises(DumpError, match="recompress"):
            open_dump(str(path))
        return
    reader, got = read_all(path, allow_truncated="TRUNCATED" in name)
    assert (len(got), sum(p.is_redirect for p in got)) == (pages, redirects)
    assert len({p.id for p in got}) == pages, "page ids are unique"
    assert (reader.truncated is not None) == ("TRUNCATED" in name)


# -- headers and schema versions ------------------------------------------------------------------

HEADERS = [
    # file, schema, dbname, xml:lang, localized name of namespace 14
    ("ja/jawiki-20250801-head-100k-lines-nlp4j.xml.bz2", "0.11", "jawiki", "ja", "Category"),
    ("aa/aawiki-20260101-pages-meta-current-COMPLETE-official.xml.bz2", "0.11", "aawiki", "aa", "Category"),
    (
        "ltg/ltgwiki-2017-COMPLETE-pages-articles-dumpster-dive.xml.bz2",
        "0.10",
        "ltgwiki",
        "ltg",
        "Kategoreja",
    ),
    (
        "derived/ukwiki-20230501-head-100k-lines-CLOSED-xztextfilter.xml.bz2",
        "0.10",
        "ukwiki",
        "uk",
        "Категорія",
    ),
    (
        "derived/bnwiki-20230501-head-100k-lines-CLOSED-xztextfilter.xml.bz2",
        "0.10",
        "bnwiki",
        "bn",
        "বিষয়শ্রেণী",
    ),
    ("derived/mrwiki-20230501-head-100k-lines-CLOSED-xztextfilter.xml.bz2", "0.10", "mrwiki", "mr", "वर्ग"),
    ("sk/skwiki-2015-42pages-paulnoth.xml", "0.9", "skwiki", "sk", "Kategória"),
    ("fr/frwiki-20121230-1page-wikiclean.xml", "0.8", "", "fr", "Catégorie"),
    ("edge-cases/enwiki-2009-Pear-4revs-schema0.3-pywikibot.xml", "0.3", "", "en", "Category"),
]


@pytest.mark.realdata
@pytest.mark.parametrize(("name", "schema", "dbname", "lang", "category"), HEADERS)
def test_siteinfo_is_available_before_the_first_page(
    name: str, schema: str, dbname: str, lang: str, category: str
) -> None:
    with open_dump(str(SHARED_DUMPS / name)) as reader:
        assert reader.schema_version == schema
        assert reader.siteinfo is not None
        assert (reader.siteinfo.dbname, reader.siteinfo.language) == (dbname, lang)
        assert reader.siteinfo.namespace_name(14) == category


@pytest.mark.realdata
def test_jawiki_uses_localized_namespace_names_from_its_header() -> None:
    reader, pages = read_all(SHARED_DUMPS / "ja/jawiki-20250801-head-100k-lines-nlp4j.xml.bz2")
    assert reader.siteinfo is not None
    assert reader.siteinfo.namespace_name(10) == "Template"
    assert reader.siteinfo.namespace_name(4) == "Wikipedia"
    assert {p.ns for p in pages} == {0, 4, 12}
    assert all(p.title.startswith("Wikipedia:") for p in pages if p.ns == 4)
    assert all(p.title.startswith(reader.siteinfo.namespace_name(12) + ":") for p in pages if p.ns == 12)


@pytest.mark.realdata
def test_dump_without_siteinfo_reads_pages() -> None:
    reader, pages = read_all(SHARED_DUMPS / "en/enwiki-20250201-tiny-70pages-zulko.xml.bz2")
    assert reader.siteinfo is None
    assert len(pages) == 70


# -- text fidelity: the dump's own checksums --------------------------------------------------------


@pytest.mark.realdata
@pytest.mark.parametrize(
    "name",
    [
        "ltg/ltgwiki-2017-COMPLETE-pages-articles-dumpster-dive.xml.bz2",
        "ja/jawiki-20250801-head-100k-lines-nlp4j.xml.bz2",
        "aa/aawiki-20260101-pages-meta-current-COMPLETE-official.xml.bz2",
        "derived/enwiki-2022-head-10MB-CLOSED-wp2txt.xml.bz2",
    ],
)
def test_text_matches_the_dumps_sha1(name: str) -> None:
    """Every text, entity-decoded and byte for byte, hashes to the dump's <sha1>."""
    _, pages = read_all(SHARED_DUMPS / name)
    assert all(p.revision.sha1 for p in pages)
    mismatches = [p.title for p in pages if mediawiki_sha1(p.revision.text) != p.revision.sha1]
    assert mismatches == []


@pytest.mark.realdata
def test_text_bytes_attribute_is_read() -> None:
    _, pages = read_all(SHARED_DUMPS / "ja/jawiki-20250801-head-100k-lines-nlp4j.xml.bz2")
    assert all(p.revision.text_bytes == len(p.revision.text.encode("utf-8")) for p in pages)


# -- fields on real pages -------------------------------------------------------------------------


@pytest.mark.realdata
def test_redirect_target_comes_from_the_redirect_element() -> None:
    _, pages = read_all(SHARED_DUMPS / "ltg/ltgwiki-2017-COMPLETE-pages-articles-dumpster-dive.xml.bz2")
    redirects = [p for p in pages if p.is_redirect]
    assert len(redirects) == 195
    for page in redirects:
        assert page.redirect_target, page.title
        # The link in the text names the same page (modulo namespace alias, underscores, first letter).
        link = re.search(r"\[\[([^\]|#]+)", page.revision.text)
        assert link is not None, page.title
        linked = link.group(1).strip().replace("_", " ").rsplit(":", 1)[-1]
        assert linked[1:] == page.redirect_target.rsplit(":", 1)[-1][1:], page.title
    assert all(p.redirect_target is None for p in pages if not p.is_redirect)


@pytest.mark.realdata
def test_ip_contributors_are_anonymous() -> None:
    _, pages = read_all(SHARED_DUMPS / "derived/enwiki-2022-head-10MB-CLOSED-wp2txt.xml.bz2")
    anonymous = [p.revision for p in pages if p.revision.is_anonymous]
    named = [p.revision for p in pages if not p.revision.is_anonymous]
    assert anonymous and named
    for rev in anonymous:
        ipaddress.ip_address(rev.contributor_name)  # raises if not an IP
        assert rev.contributor_id is None
    assert all(rev.contributor_name and rev.contributor_id for rev in named)


@pytest.mark.realdata
def test_content_models_and_formats() -> None:
    _, pages = read_all(SHARED_DUMPS / "aa/aawiki-20260101-pages-meta-current-COMPLETE-official.xml.bz2")
    models = {(p.revision.model, p.revision.format) for p in pages}
    assert models == {
        ("wikitext", "text/x-wiki"),
        ("javascript", "text/javascript"),
        ("json", "application/json"),
    }
    assert all(p.title.endswith(".js") for p in pages if p.revision.model == "javascript")


@pytest.mark.realdata
def test_scribunto_modules_of_ltgwiki() -> None:
    _, pages = read_all(SHARED_DUMPS / "ltg/ltgwiki-2017-COMPLETE-pages-articles-dumpster-dive.xml.bz2")
    modules = [p for p in pages if p.ns == 828]
    assert modules
    assert {p.revision.model for p in modules} == {"Scribunto"}


@pytest.mark.realdata
def test_schema_03_keeps_the_highest_of_several_revisions() -> None:
    _, pages = read_all(SHARED_DUMPS / "edge-cases/enwiki-2009-Pear-4revs-schema0.3-pywikibot.xml")
    (page,) = pages
    raw = (SHARED_DUMPS / "edge-cases/enwiki-2009-Pear-4revs-schema0.3-pywikibot.xml").read_text()
    revision_ids = [int(i) for i in re.findall(r"<revision>\s*<id>(\d+)</id>", raw)]
    timestamps = re.findall(r"<timestamp>([^<]+)</timestamp>", raw)
    assert len(revision_ids) == 4
    assert page.revision.id == max(revision_ids) == revision_ids[timestamps.index(max(timestamps))]
    assert page.revision.timestamp == max(timestamps)
    assert page.revision.text.endswith("[[Fruit tree propagation]]")
    assert (page.id, page.title, page.ns) == (24278, "Pear", 0)
    # Schema 0.3 has no <model>/<format>/<ns>/<sha1>/<parentid>.
    assert (page.revision.model, page.revision.format) == (DEFAULT_MODEL, DEFAULT_FORMAT)
    assert page.revision.sha1 is None and page.revision.parent_id is None


PYRUS = [
    "edge-cases/enwiki-Pyrus-6revs-schema0.3-pywikibot.xml.bz2",
    "edge-cases/enwiki-Pyrus-6revs-schema0.3-pywikibot.xml.gz",
    "edge-cases/enwiki-Pyrus-6revs-schema0.3-pywikibot.xml.xz",
    "edge-cases/enwiki-Pyrus-6revs-schema0.3-UTF16-pywikibot.xml",
]


@pytest.mark.realdata
def test_same_pages_from_every_compression_and_encoding() -> None:
    results = {name: read_all(SHARED_DUMPS / name)[1] for name in PYRUS}
    first = results[PYRUS[0]]
    assert all(pages == first for pages in results.values())
    (page,) = first
    assert page.is_redirect and page.redirect_target is None  # schema 0.3: <redirect /> has no title
    assert page.revision.id == 238392911 and page.revision.minor
    assert page.revision.text == "#REDIRECT [[Pear]]"
    assert page.revision.contributor_name == "Rkitko" and page.revision.contributor_id == 536375


@pytest.mark.realdata
def test_utf16_little_endian_with_bom_and_utf8_with_bom() -> None:
    plain = bz2.decompress((SHARED_DUMPS / PYRUS[0]).read_bytes()).decode("utf-8")
    expected = read_bytes(plain.encode("utf-8"))
    assert read_bytes(plain.encode("utf-16")) == expected  # BOM + little-endian on this platform
    assert read_bytes(plain.encode("utf-16-le")[:0] + b"\xff\xfe" + plain.encode("utf-16-le")) == expected
    assert read_bytes(b"\xef\xbb\xbf" + plain.encode("utf-8")) == expected


@pytest.mark.realdata
def test_compression_is_detected_by_magic_bytes_not_name() -> None:
    plain = (SHARED_DUMPS / "edge-cases/enwiki-2015-Cullu-Agdam-page+talk-pywikibot.xml").read_bytes()
    expected = read_bytes(plain)
    assert [p.ns for p in expected] == [0, 1]
    for packed in (bz2.compress(plain), gzip.compress(plain), lzma.compress(plain), plain):
        assert read_bytes(packed, source="misnamed.xml") == expected
    # Multi-stream bz2 and multi-member gzip are read to the end.
    half = plain.index(b"<page>", plain.index(b"</page>"))
    assert read_bytes(bz2.compress(plain[:half]) + bz2.compress(plain[half:])) == expected
    assert read_bytes(gzip.compress(plain[:half]) + gzip.compress(plain[half:])) == expected


def test_open_binary_refuses_7z_with_a_fix() -> None:
    with pytest.raises(DumpError, match=r"\.7z: 7z archives cannot be streamed; recompress"):
        open_binary(io.BytesIO(b"7z\xbc\xaf\x27\x1c\x00\x04"), name="x.xml.7z")


# -- truncated input ------------------------------------------------------------------------------

TRUNCATED = [
    ("en/enwiki-2022-head-10MB-TRUNCATED-wp2txt.xml.bz2", 251, (852, "Alexander Graham Bell")),
    ("bn/bnwiki-20230501-head-100k-lines-TRUNCATED-xztextfilter.xml.xz", 722, (2387, "টেমপ্লেট:অডিও")),
    ("ru/ruwiki-2019-2pages-TRUNCATED-corus.xml.bz2", 2, (7, "Литва")),
]


@pytest.mark.realdata
@pytest.mark.parametrize(("name", "pages", "last"), TRUNCATED)
def test_truncated_dump_names_file_and_last_complete_page(
    name: str, pages: int, last: tuple[int, str]
) -> None:
    path = str(SHARED_DUMPS / name)
    seen: list[Page] = []
    with open_dump(path) as reader, pytest.raises(TruncatedDumpError) as info:
        seen.extend(reader.pages())
    error = info.value
    assert (error.source, error.last_complete_page, error.pages_read) == (path, last, pages)
    assert path in str(error) and f"page id {last[0]} {last[1]!r}" in str(error)
    assert len(seen) == pages and (seen[-1].id, seen[-1].title) == last
    restored = pickle.loads(pickle.dumps(error))
    assert str(restored) == str(error) and restored.last_complete_page == last


@pytest.mark.realdata
@pytest.mark.parametrize(("name", "pages", "last"), TRUNCATED)
def test_allow_truncated_yields_every_complete_page(name: str, pages: int, last: tuple[int, str]) -> None:
    reader, got = read_all(SHARED_DUMPS / name, allow_truncated=True)
    assert len(got) == pages
    assert reader.truncated is not None
    assert reader.truncated["source"] == str(SHARED_DUMPS / name)
    assert reader.truncated["last_complete_page"] == {"id": last[0], "title": last[1]}


@pytest.mark.realdata
def test_truncated_pages_equal_the_closed_copy() -> None:
    _, cut = read_all(
        SHARED_DUMPS / "en/enwiki-2022-head-10MB-TRUNCATED-wp2txt.xml.bz2", allow_truncated=True
    )
    _, closed = read_all(SHARED_DUMPS / "derived/enwiki-2022-head-10MB-CLOSED-wp2txt.xml.bz2")
    assert cut == closed


@pytest.fixture(scope="module")
def ltg_xml() -> bytes:
    return bz2.decompress(
        (SHARED_DUMPS / "ltg/ltgwiki-2017-COMPLETE-pages-articles-dumpster-dive.xml.bz2").read_bytes()
    )


@pytest.fixture(scope="module")
def ltg_pages(ltg_xml: bytes) -> list[Page]:
    return read_bytes(ltg_xml)


@pytest.mark.realdata
@pytest.mark.parametrize(
    "compress",
    [
        partial(bz2.compress, compresslevel=1),
        partial(gzip.compress, compresslevel=1),
        partial(lzma.compress, preset=0),
    ],
    ids=["bz2", "gzip", "xz"],
)
def test_compressed_stream_cut_midway_is_truncation(compress, ltg_xml: bytes, ltg_pages: list[Page]) -> None:
    packed = compress(ltg_xml)
    cut = packed[: len(packed) * 2 // 3]
    with pytest.raises(TruncatedDumpError, match=r"cut\.bz2: dump is truncated \(compressed data ends early"):
        read_bytes(cut, source="cut.bz2")
    got = read_bytes(cut, source="cut.bz2", allow_truncated=True)
    assert 0 < len(got) < len(ltg_pages)
    assert got == ltg_pages[: len(got)]


@pytest.mark.realdata
def test_cut_multistream_file_is_truncation() -> None:
    data = (SHARED_DUMPS / "derived/jawiki-20250801-head-100k-lines-multistream.xml.bz2").read_bytes()
    reader = DumpReader(io.BytesIO(data[: len(data) // 2]), "ja-cut", allow_truncated=True)
    pages = list(reader.pages())
    assert reader.truncated is not None and "compressed data ends early" in reader.truncated["reason"]
    assert reader.truncated["last_complete_page"]["id"] == pages[-1].id


def test_file_ending_after_a_page_without_closing_root_is_truncated() -> None:
    doc = HEADER + page_xml(1, "A") + page_xml(2, "B")
    with pytest.raises(TruncatedDumpError, match=r"no closing </mediawiki>\) after page id 2 'B'"):
        read_bytes(doc.encode())


def test_truncated_inside_the_header() -> None:
    with pytest.raises(TruncatedDumpError, match="before any complete page"):
        read_bytes(HEADER[:-40].encode())


# -- inline documents: one behaviour each ---------------------------------------------------------

HEADER = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="de">
  <siteinfo>
    <sitename>Wikipedia</sitename>
    <dbname>dewiki</dbname>
    <base>https://de.wikipedia.org/wiki/Wikipedia:Hauptseite</base>
    <case>first-letter</case>
    <namespaces>
      <namespace key="0" case="first-letter" />
      <namespace key="1" case="first-letter">Diskussion</namespace>
      <namespace key="14" case="first-letter">Kategorie</namespace>
    </namespaces>
  </siteinfo>
"""


def page_xml(page_id: int, title: str, text: str = "Text", extra: str = "", revision_extra: str = "") -> str:
    return f"""  <page>
    <title>{title}</title>
    <ns>0</ns>
    <id>{page_id}</id>{extra}
    <revision>
      <id>{page_id * 10}</id>
      <timestamp>2024-01-0{page_id % 9 + 1}T00:00:00Z</timestamp>
      <contributor><username>U</username><id>5</id></contributor>{revision_extra}
      <text bytes="{len(text.encode())}" xml:space="preserve">{text}</text>
    </revision>
  </page>
"""


def test_all_revision_fields() -> None:
    doc = (
        HEADER
        + """  <page>
    <title>Berlin</title>
    <ns>0</ns>
    <id>7</id>
    <revision>
      <id>70</id>
      <parentid>69</parentid>
      <timestamp>2024-02-03T04:05:06Z</timestamp>
      <contributor><ip>2001:db8::1</ip></contributor>
      <minor />
      <comment>kleine &amp; feine Änderung</comment>
      <origin>70</origin>
      <model>wikitext</model>
      <format>text/x-wiki</format>
      <text bytes="27" sha1="x" xml:space="preserve">'''Berlin''' &lt;ref&gt;x&lt;/ref&gt;</text>
      <sha1>abc</sha1>
    </revision>
  </page>
</mediawiki>"""
    )
    (page,) = read_bytes(doc.encode())
    rev = page.revision
    assert (page.id, page.title, page.ns, page.redirect_target, page.is_redirect) == (
        7,
        "Berlin",
        0,
        None,
        False,
    )
    assert (rev.id, rev.parent_id, rev.timestamp) == (70, 69, "2024-02-03T04:05:06Z")
    assert (rev.contributor_name, rev.contributor_id, rev.is_anonymous) == ("2001:db8::1", None, True)
    assert (rev.minor, rev.comment) == (True, "kleine & feine Änderung")
    assert (rev.model, rev.format, rev.sha1, rev.text_bytes) == ("wikitext", "text/x-wiki", "abc", 27)
    assert rev.text == "'''Berlin''' <ref>x</ref>"


def test_history_page_keeps_the_highest_revision_id_in_any_order() -> None:
    """Revisions in reverse order, and an imported revision with a higher id but an older timestamp."""

    def revision(rev_id: int, day: int, text: str) -> str:
        return (
            f"<revision><id>{rev_id}</id><timestamp>2024-01-0{day}T00:00:00Z</timestamp>"
            f'<contributor><username>U</username><id>5</id></contributor><text xml:space="preserve">{text}</text>'
            "</revision>"
        )

    doc = (
        HEADER
        + "<page><title>A</title><ns>0</ns><id>1</id>"
        + revision(12, 3, "twelve")
        + revision(11, 2, "eleven")
        + revision(10, 1, "ten")
        + "</page><page><title>B</title><ns>0</ns><id>2</id>"
        + revision(20, 5, "twenty")
        + revision(21, 4, "imported later, older timestamp")
        + "</page></mediawiki>"
    )
    first, second = read_bytes(doc.encode())
    assert (first.revision.id, first.revision.text) == (12, "twelve")
    assert (second.revision.id, second.revision.timestamp) == (21, "2024-01-04T00:00:00Z")


def test_redirect_title_attribute() -> None:
    doc = HEADER + page_xml(
        3, "Bärlin", "#WEITERLEITUNG [[Berlin]]", extra='\n    <redirect title="Berlin" />'
    )
    (page,) = read_bytes((doc + "</mediawiki>").encode())
    assert (page.is_redirect, page.redirect_target) == (True, "Berlin")


def test_redirect_is_never_guessed_from_text() -> None:
    (page,) = read_bytes((HEADER + page_xml(3, "X", "#REDIRECT [[Y]]") + "</mediawiki>").encode())
    assert (page.is_redirect, page.redirect_target) == (False, None)


def test_deleted_contributor_comment_and_text() -> None:
    doc = HEADER + page_xml(4, "Z").replace(
        "<contributor><username>U</username><id>5</id></contributor>", '<contributor deleted="deleted" />'
    ).replace(
        '<text bytes="4" xml:space="preserve">Text</text>',
        '<comment deleted="deleted" /><text deleted="deleted" />',
    )
    (page,) = read_bytes((doc + "</mediawiki>").encode())
    rev = page.revision
    assert (rev.contributor_name, rev.contributor_id, rev.is_anonymous) == (None, None, True)
    assert (rev.text, rev.text_bytes, rev.comment) == ("", None, None)


def test_unknown_elements_prefixes_and_namespace_uri_are_tolerated() -> None:
    doc = (
        HEADER.replace("http://www.mediawiki.org/xml/export-0.11/", "https://example.org/export-0.99/")
        + "  <future-element><page><title>not a page</title></page></future-element>\n"
        + page_xml(
            5,
            "A",
            extra="\n    <restrictions>edit=sysop</restrictions>\n    <discussionthreadinginfo><x/></discussionthreadinginfo>",
            revision_extra="\n      <newfield attr='1'><nested>v</nested></newfield>",
        )
        + '  <mw:page xmlns:mw="urn:x"><mw:title>B</mw:title><mw:ns>0</mw:ns><mw:id>6</mw:id>'
        + "<mw:revision><mw:id>60</mw:id><mw:timestamp>2024-01-01T00:00:00Z</mw:timestamp>"
        + "<mw:text>b</mw:text></mw:revision></mw:page>\n"
        + "</mediawiki>"
    )
    pages = read_bytes(doc.encode())
    assert [(p.id, p.title, p.revision.text) for p in pages] == [(5, "A", "Text"), (6, "B", "b")]


def test_missing_ns_is_derived_from_the_localized_title_prefix() -> None:
    doc = HEADER + "".join(
        page_xml(i, t).replace("<ns>0</ns>", "")
        for i, t in [(1, "Kategorie:Stadt"), (2, "Diskussion:Ort"), (3, "Re: Ort")]
    )
    pages = read_bytes((doc + "</mediawiki>").encode())
    assert [p.ns for p in pages] == [14, 1, 0]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (b"", "inline.xml: empty input"),
        (b"   \n", "no <mediawiki> element"),
        (b"<html><body/></html>", "root element is <html>"),
        (
            (HEADER + "<page><title>A</title></pag>").encode(),
            r"malformed XML at line 13, column \d+ \(mismatched tag\)",
        ),
        (
            (HEADER + page_xml(1, "A") + "<page>&nbsp;</page></mediawiki>").encode(),
            "undefined entity.*after page id 1 'A'",
        ),
        (
            (HEADER + page_xml(1, "A").replace("<id>1</id>", "<id>x1</id>") + "</mediawiki>").encode(),
            "page id 'x1' is not an integer",
        ),
        (
            (HEADER + "<page><title>A</title><id>1</id></page></mediawiki>").encode(),
            "page id 1 'A': page has no <revision>",
        ),
        ((HEADER + page_xml(1, "A") + "</mediawiki><mediawiki/>").encode(), "junk after document element"),
    ],
)
def test_bad_input_raises_a_clear_error(doc: bytes, message: str) -> None:
    with pytest.raises(DumpError, match=message) as info:
        read_bytes(doc)
    assert not isinstance(info.value, TruncatedDumpError)
    assert str(info.value).startswith("inline.xml")


# -- security: no DTD, no entity expansion, no external entities ------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE mediawiki [\n <!ENTITY lol "lol">\n'
    + "".join(
        f' <!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">\n'
        for i in range(1, 10)
    )
    + "]>\n<mediawiki><page><title>&lol9;</title><ns>0</ns><id>1</id><revision><id>1</id>"
    "<timestamp>2024-01-01T00:00:00Z</timestamp><text>&lol9;</text></revision></page></mediawiki>"
)


def test_entity_bomb_is_refused_without_expansion() -> None:
    tracemalloc.start()
    try:
        with pytest.raises(
            DumpError, match=r"bomb\.xml: DOCTYPE declaration <!DOCTYPE mediawiki \.\.\.> refused"
        ):
            read_bytes(BILLION_LAUGHS.encode(), source="bomb.xml")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000  # fully expanded, &lol9; alone is 3 GB


def test_entity_bomb_in_a_multistream_fragment_is_refused() -> None:
    fragment = BILLION_LAUGHS.split("<mediawiki>", 1)[0].encode() + b"<page/>"
    with pytest.raises(DumpError, match="bomb-stream"):
        list(parse_page_fragment(fragment, "bomb-stream"))


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE mediawiki [<!ENTITY xxe SYSTEM "file://{secret}">]>',
        '<!DOCTYPE mediawiki [<!ENTITY % p SYSTEM "file://{secret}"> %p;]>',
        '<!DOCTYPE mediawiki SYSTEM "file://{secret}">',
    ],
)
def test_external_entities_are_never_resolved(tmp_path: Path, doctype: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    doc = (
        '<?xml version="1.0"?>'
        + doctype.format(secret=secret)
        + "<mediawiki><page><title>&xxe;</title><ns>0</ns>"
        "<id>1</id><revision><id>1</id><timestamp>2024-01-01T00:00:00Z</timestamp><text>&xxe;</text>"
        "</revision></page></mediawiki>"
    )
    got: list[Page] = []
    with pytest.raises(DumpError, match="refused") as info:
        got.extend(DumpReader(io.BytesIO(doc.encode()), "xxe.xml").pages())
    assert got == []
    assert "TOP-SECRET-VALUE" not in str(info.value)


# -- streaming and memory ---------------------------------------------------------------------------


class _GeneratedDump(io.RawIOBase):
    """A large export produced on the fly, so the input itself never sits in memory."""

    def __init__(self, pages: int, text: str):
        self._parts: Iterator[bytes] = self._generate(pages, text)
        self._pending = b""

    def _generate(self, pages: int, text: str) -> Iterator[bytes]:
        yield HEADER.encode()
        for i in range(1, pages + 1):
            yield page_xml(i, f"Seite {i}", text).encode()
        yield b"</mediawiki>\n"

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._pending:
            self._pending = next(self._parts, b"")
            if not self._pending:
                return 0
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


def test_memory_stays_flat_while_streaming() -> None:
    """Peak traced memory does not grow with the input: 4x more pages, about the same peak."""
    text = "Wörter &amp; Sätze. " * 1000  # 20 KB of text per page

    def peak_for(pages: int) -> int:
        tracemalloc.start()
        try:
            reader = DumpReader(io.BufferedReader(_GeneratedDump(pages, text)), "generated.xml")
            count = sum(1 for _ in reader.pages())
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert count == pages
        return peak

    small, large = peak_for(250), peak_for(1000)  # ~5 MB and ~20 MB of XML
    assert large < small * 1.5
    assert large < 8_000_000


def test_pages_are_yielded_before_the_input_ends() -> None:
    stream = _GeneratedDump(10_000, "x" * 1000)
    reader = DumpReader(io.BufferedReader(stream), "generated.xml")
    first = next(iter(reader.pages()))
    assert first.title == "Seite 1"
    assert next(stream._parts, None) is not None, "the generator was not drained to produce page 1"


def test_pages_can_only_be_iterated_once() -> None:
    reader = DumpReader(io.BytesIO((HEADER + page_xml(1, "A") + "</mediawiki>").encode()), "once.xml")
    assert len(list(reader.pages())) == 1
    with pytest.raises(RuntimeError, match="once"):
        list(reader.pages())


def test_read_siteinfo_stops_at_the_header() -> None:
    siteinfo, schema = read_siteinfo(io.BytesIO(HEADER.encode()), "header.xml")
    assert siteinfo is not None and schema == "0.11"
    assert (siteinfo.dbname, siteinfo.language, siteinfo.namespace_name(14)) == ("dewiki", "de", "Kategorie")


def test_parse_page_fragment_accepts_bare_pages_and_the_footer() -> None:
    pages_xml = page_xml(1, "A") + page_xml(2, "B")
    expected = read_bytes((HEADER + pages_xml + "</mediawiki>").encode())
    assert list(parse_page_fragment(pages_xml.encode(), "s")) == expected
    assert list(parse_page_fragment((pages_xml + "\n</mediawiki>\n").encode(), "s")) == expected
    with pytest.raises(DumpError, match=r"stream-7: malformed XML"):
        list(parse_page_fragment((pages_xml + "</mediawiki><page>").encode(), "stream-7"))


@pytest.mark.parametrize("chunk", [1, 7, 4097])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16", "utf-16-be"])
def test_any_chunk_boundary_gives_the_same_pages(monkeypatch, chunk: int, encoding: str) -> None:
    """Reads split multi-byte characters, tags and entities anywhere; the pages do not change."""
    doc = HEADER + page_xml(1, "Ärger", "日本語 &amp; 𝄞 &lt;b&gt;" * 50) + page_xml(2, "B") + "</mediawiki>"
    expected = read_bytes(doc.encode("utf-8"))
    monkeypatch.setattr("wikidrop.dumps.export.READ_CHUNK_BYTES", chunk)
    assert read_bytes(doc.encode(encoding)) == expected
    assert expected[0].revision.text.startswith("日本語 & 𝄞 <b>")


def test_pages_pickle_and_derive_is_redirect() -> None:
    (page,) = read_bytes((HEADER + page_xml(1, "A") + "</mediawiki>").encode())
    assert pickle.loads(pickle.dumps(page)) == page
    assert Page(2, "B", 0, "A", page.revision).is_redirect


def test_close_leaves_a_callers_file_open(tmp_path: Path) -> None:
    path = tmp_path / "d.xml.gz"
    path.write_bytes(gzip.compress((HEADER + page_xml(1, "A") + "</mediawiki>").encode()))
    with path.open("rb") as f:
        with DumpReader(f, str(path)) as reader:
            assert len(list(reader.pages())) == 1
        assert not f.closed
    with open_dump(str(path)) as reader:
        raw = reader._raw
    assert raw.closed


def test_read_siteinfo_leaves_the_file_open_and_reports_a_cut_header() -> None:
    packed = io.BytesIO(bz2.compress((HEADER + page_xml(1, "A")).encode()))
    siteinfo, _ = read_siteinfo(packed, "h.bz2")
    assert siteinfo is not None and not packed.closed
    big_header = HEADER.replace(
        "</namespaces>",
        "<x>" + "".join(random.Random(0).choices(string.ascii_letters, k=300_000)) + "</x></namespaces>",
    )
    cut = bz2.compress(big_header.encode())[:20_000]
    with pytest.raises(
        TruncatedDumpError, match=r"cut\.bz2: dump is truncated \(compressed data ends in the header"
    ):
        read_siteinfo(io.BytesIO(cut), "cut.bz2")


class _TrickleReader(io.RawIOBase):
    """A network-like stream that returns at most 2 bytes per read."""

    def __init__(self, data: bytes):
        self._data = data

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        n = min(2, len(buffer), len(self._data))
        buffer[:n] = self._data[:n]
        self._data = self._data[n:]
        return n


def test_magic_bytes_survive_short_reads() -> None:
    doc = (HEADER + page_xml(1, "A") + "</mediawiki>").encode()
    reader = DumpReader(_TrickleReader(lzma.compress(doc)), "trickle.xz")  # type: ignore[arg-type]
    assert [p.title for p in reader.pages()] == ["A"]
