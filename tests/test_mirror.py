"""The local mirror builder: byte-exact multistream, correct index, dumpstatus checksums, siteinfo JSON.

The multistream is checked with independent code: raw bz2 stream boundaries, and the project's
export reader (wikidrop.dumps.export) and multistream range reader (wikidrop.dumps.multistream) for pages.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import json
from pathlib import Path

import pytest

from tests.conftest import SHARED_DUMPS
from tests.fixtures.dump_mirror import SAMPLE_DUMP_DATE, SAMPLE_EDITIONS, SAMPLES
from wikidrop.dumps.export import open_binary, open_dump
from wikidrop.dumps.multistream import open_index, read_range_pages, stream_ranges
from wikidrop.dumps.siteinfo import SiteInfo
from wikidrop_dev.mirror import ExportSplit, MirrorBuildError, build_mirror, main, split_export


def bz2_streams(data: bytes) -> list[tuple[int, bytes]]:
    """Every bz2 stream of a file as (offset, decompressed bytes)."""
    streams, offset = [], 0
    while offset < len(data):
        decompressor = bz2.BZ2Decompressor()
        out = decompressor.decompress(data[offset:])
        assert decompressor.eof, f"stream at {offset} is incomplete"
        streams.append((offset, out))
        offset = len(data) - len(decompressor.unused_data)
    return streams


def source_bytes(path: Path) -> bytes:
    with open(path, "rb") as raw:
        return open_binary(raw, str(path)).read()


def sample(db: str) -> Path:
    return SAMPLES / f"{db}-{SAMPLE_DUMP_DATE}-pages-articles.xml.bz2"


REAL_DUMPS = [
    SHARED_DUMPS / "ltg" / "ltgwiki-2017-COMPLETE-pages-articles-dumpster-dive.xml.bz2",
    SHARED_DUMPS / "ja" / "jawiki-20250801-head-100k-lines-nlp4j.xml.bz2",
]


@pytest.mark.realdata
@pytest.mark.parametrize(
    "export", [sample(db) for db in SAMPLE_EDITIONS] + REAL_DUMPS[:1], ids=lambda p: p.name
)
def test_multistream_is_byte_identical_with_header_and_footer_in_own_streams(export: Path, tmp_path: Path):
    build = build_mirror(export, tmp_path, dump_date="20261101")
    data = build.multistream[0].read_bytes()
    streams = bz2_streams(data)
    source = source_bytes(export)

    assert b"".join(out for _, out in streams) == source
    header, footer = streams[0][1], streams[-1][1]
    assert b"<siteinfo>" in header and b"<page>" not in header
    assert footer.strip() == b"</mediawiki>"
    page_streams = streams[1:-1]
    assert all(0 < out.count(b"<page>") <= 100 for _, out in page_streams)
    assert all(out.count(b"<page>") == 100 for _, out in page_streams[:-1])

    with open_dump(str(export)) as reader:
        pages = [(p.id, p.title) for p in reader.pages()]
    assert build.pages == len(pages)
    with bz2.open(build.index[0], "rb") as index_file:
        entries = list(open_index(index_file, "index"))
    assert [(e.page_id, e.title) for e in entries] == pages
    offsets = {offset for offset, _ in page_streams}
    assert {e.offset for e in entries} == offsets

    with open(build.multistream[0], "rb") as dump:
        for rng in stream_ranges(entries, len(data)):
            parsed = read_range_pages(dump, rng, "mirror")
            assert [p.id for p in parsed][:1] == [rng.first_page_id]


def test_dumpstatus_lists_every_file_with_matching_checksums(tmp_path: Path):
    build = build_mirror(
        sample("ukwiki"), tmp_path, siteinfo_json=SAMPLES / f"ukwiki-{SAMPLE_DUMP_DATE}-siteinfo.json"
    )
    status = json.loads(build.dumpstatus.read_text())
    assert status["jobs"]["articlesmultistreamdump"]["status"] == "done"
    assert status["jobs"]["namespaces"]["status"] == "done"
    listed = {name: info for job in status["jobs"].values() for name, info in job["files"].items()}
    assert set(listed) == {
        "ukwiki-20261101-pages-articles-multistream.xml.bz2",
        "ukwiki-20261101-pages-articles-multistream-index.txt.bz2",
        "ukwiki-20261101-siteinfo-namespaces.json.gz",
    }
    md5sums = dict(
        reversed(line.split("  "))
        for line in (build.directory / "ukwiki-20261101-md5sums.txt").read_text().splitlines()
    )
    sha1sums = dict(
        reversed(line.split("  "))
        for line in (build.directory / "ukwiki-20261101-sha1sums.txt").read_text().splitlines()
    )
    for name, info in listed.items():
        content = (build.directory / name).read_bytes()
        assert info["size"] == len(content)
        assert info["md5"] == hashlib.md5(content).hexdigest() == md5sums[name]
        assert info["sha1"] == hashlib.sha1(content).hexdigest() == sha1sums[name]
        assert info["url"] == f"/ukwiki/20261101/{name}"


def test_page_props_are_published_as_the_pagepropstable_job(tmp_path: Path):
    props = SAMPLES / f"frwiki-{SAMPLE_DUMP_DATE}-page_props.sql"
    build = build_mirror(sample("frwiki"), tmp_path, page_props=props)
    name = "frwiki-20261101-page_props.sql.gz"
    assert build.page_props == build.directory / name
    assert gzip.decompress(build.page_props.read_bytes()) == props.read_bytes()
    status = json.loads(build.dumpstatus.read_text())
    job = status["jobs"]["pagepropstable"]
    assert job["status"] == "done"
    assert job["files"][name]["md5"] == hashlib.md5(build.page_props.read_bytes()).hexdigest()
    # Rebuilt the same way: the same bytes (no clock in the gzip header).
    first = build.page_props.read_bytes()
    assert build_mirror(sample("frwiki"), tmp_path, page_props=props).page_props.read_bytes() == first

    bad = tmp_path / "bad.sql"
    bad.write_text("INSERT INTO `page_props` VALUES (1,'wikibase_item');\n")
    with pytest.raises(MirrorBuildError, match=r"--page-props: .*bad\.sql"):
        build_mirror(sample("frwiki"), tmp_path, page_props=bad)


LOCAL_ALIASES = {"frwiki": (4, "WP"), "ukwiki": (6, "Зображення"), "jawiki": (6, "画像")}


@pytest.mark.parametrize("db", SAMPLE_EDITIONS)
def test_sample_siteinfo_json_is_published_and_agrees_with_the_export_header(db: str, tmp_path: Path):
    given = SAMPLES / f"{db}-{SAMPLE_DUMP_DATE}-siteinfo.json"
    build = build_mirror(sample(db), tmp_path, siteinfo_json=given)
    assert gzip.decompress(build.siteinfo_json.read_bytes()) == given.read_bytes()
    from_json = SiteInfo.from_siteinfo_json(given.read_bytes())
    with open_dump(str(sample(db))) as reader:
        from_xml = reader.siteinfo
    assert from_xml.dbname == from_json.dbname == db
    assert {i: n.name for i, n in from_xml.namespaces.items()} == {
        i: n.name for i, n in from_json.namespaces.items()
    }
    # aliases (and redirect magic words) are what only the JSON can tell
    ns_id, alias = LOCAL_ALIASES[db]
    assert alias in from_json.names_for(ns_id) and alias not in from_xml.names_for(ns_id)
    assert from_json.redirect_magic_words and not from_xml.redirect_magic_words


@pytest.mark.realdata
def test_siteinfo_json_derived_from_header_when_none_given(tmp_path: Path):
    export = REAL_DUMPS[1]
    build = build_mirror(export, tmp_path)
    derived = SiteInfo.from_siteinfo_json(gzip.decompress(build.siteinfo_json.read_bytes()))
    with open_dump(str(export)) as reader:
        header = reader.siteinfo
    assert (build.dbname, build.dump_date) == ("jawiki", "20250801")
    assert derived.dbname == "jawiki" and derived.language == "ja"
    assert derived.namespace_name(6) == header.namespace_name(6) == "ファイル"
    assert derived.namespace_name(14) == "Category"


def test_siteinfo_json_of_another_wiki_is_refused(tmp_path: Path):
    with pytest.raises(MirrorBuildError, match="siteinfo is for 'jawiki'"):
        build_mirror(
            sample("frwiki"), tmp_path, siteinfo_json=SAMPLES / f"jawiki-{SAMPLE_DUMP_DATE}-siteinfo.json"
        )


@pytest.mark.realdata
def test_partial_files_are_named_like_wikimedia_and_hold_all_pages(tmp_path: Path):
    export = REAL_DUMPS[0]
    build = build_mirror(export, tmp_path, dump_date="20170901", pages_per_part=800)
    names = [p.name for p in build.multistream]
    assert len(names) == 3
    assert names[0].startswith("ltgwiki-20170901-pages-articles-multistream1.xml-p1p")
    assert all(
        p.name.startswith(f"ltgwiki-20170901-pages-articles-multistream-index{i}.txt-p")
        for i, p in enumerate(build.index, 1)
    )
    pages: list[int] = []
    for part, index in zip(build.multistream, build.index, strict=True):
        with open_dump(str(part)) as reader:  # every part is a complete export document
            ids = [p.id for p in reader.pages()]
        assert f"-p{ids[0]}p{ids[-1]}.bz2" in part.name
        with bz2.open(index, "rb") as index_file:
            assert [e.page_id for e in open_index(index_file)] == ids
        pages += ids
    with open_dump(str(export)) as reader:
        assert pages == [p.id for p in reader.pages()]


@pytest.mark.realdata
def test_truncated_export_fails_unless_allowed(tmp_path: Path):
    export = SHARED_DUMPS / "ru" / "ruwiki-2019-2pages-TRUNCATED-corus.xml.bz2"
    with pytest.raises(MirrorBuildError, match=r"truncated after page 2 \('Литва'\)"):
        build_mirror(export, tmp_path, dump_date="20190101")
    assert not (tmp_path / "ruwiki").exists()
    build = build_mirror(export, tmp_path, dump_date="20190101", allow_truncated=True)
    assert build.truncated_input
    out = bz2.decompress(build.multistream[0].read_bytes())
    assert out == source_bytes(export) + b"</mediawiki>\n"
    with open_dump(str(build.multistream[0])) as reader:
        assert [p.title for p in reader.pages()] == ["Базовая статья", "Литва"]


@pytest.mark.realdata
def test_utf16_export_is_transcoded_to_utf8(tmp_path: Path):
    export = SHARED_DUMPS / "edge-cases" / "enwiki-Pyrus-6revs-schema0.3-UTF16-pywikibot.xml"
    build = build_mirror(export, tmp_path, dbname="enwiki", dump_date="20200101")
    out = bz2.decompress(build.multistream[0].read_bytes())
    expected = export.read_bytes().decode("utf-16-be").replace('encoding="UTF-16"', 'encoding="utf-8"')
    assert out.decode("utf-8") == expected


@pytest.mark.realdata
def test_dbname_flag_overrides_a_copied_header(tmp_path: Path):
    export = SHARED_DUMPS / "dbpedia-minidumps" / "ukwiki-minidump-dbpedia.xml.bz2"
    build = build_mirror(export, tmp_path, dbname="ukwiki", dump_date="20200101")
    assert build.directory == tmp_path / "ukwiki" / "20200101"


def test_in_progress_job_has_no_checksums_and_does_not_move_latest(tmp_path: Path):
    build_mirror(sample("jawiki"), tmp_path)
    build = build_mirror(
        sample("jawiki"), tmp_path, dump_date="20261120", in_progress=["articlesmultistreamdump"]
    )
    job = json.loads(build.dumpstatus.read_text())["jobs"]["articlesmultistreamdump"]
    assert job["status"] == "in-progress"
    assert all(set(f) == {"url"} for f in job["files"].values())
    rss = (
        tmp_path / "jawiki" / "latest" / "jawiki-latest-pages-articles-multistream.xml.bz2-rss.xml"
    ).read_text()
    assert "<link>../20261101/</link>" in rss


def test_cli_build_and_error_exit(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["build", str(sample("frwiki")), "--root", str(tmp_path)]) == 0
    assert (tmp_path / "frwiki" / "20261101" / "dumpstatus.json").exists()
    bad = tmp_path / "notes.xml"
    bad.write_text("<html><body>not an export</body></html>")
    assert main(["build", str(bad), "--root", str(tmp_path), "--date", "20260101"]) == 2
    assert "no <page> found" in capsys.readouterr().err


@pytest.mark.realdata
def test_dump_date_defaults_to_the_newest_revision_day(tmp_path: Path):
    export = REAL_DUMPS[0]  # ltgwiki-2017-...: no YYYYMMDD in the name
    build = build_mirror(export, tmp_path)
    with open_dump(str(export)) as reader:
        newest = max(p.revision.timestamp for p in reader.pages())
    assert build.dump_date == newest[:10].replace("-", "")
    assert build.directory == tmp_path / "ltgwiki" / build.dump_date


def test_rebuild_replaces_the_previous_files_of_that_date(tmp_path: Path):
    build_mirror(sample("frwiki"), tmp_path)
    rebuilt = build_mirror(sample("frwiki"), tmp_path, pages_per_part=20)
    listed = {
        name for job in json.loads(rebuilt.dumpstatus.read_text())["jobs"].values() for name in job["files"]
    }
    on_disk = {p.name for p in rebuilt.directory.iterdir()} - {"dumpstatus.json"}
    assert on_disk == listed | {"frwiki-20261101-md5sums.txt", "frwiki-20261101-sha1sums.txt"}
    assert "frwiki-20261101-pages-articles-multistream.xml.bz2" not in on_disk


def test_export_without_line_breaks_is_split_per_page(tmp_path: Path):
    export = tmp_path / "frwiki-20261101-one-line.xml"
    export.write_bytes(
        b'<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="fr">'
        b"<siteinfo><sitename>Wikip\xc3\xa9dia</sitename><dbname>frwiki</dbname>"
        b"<base>https://fr.wikipedia.org/wiki/Accueil</base><case>first-letter</case><namespaces>"
        b'<namespace key="0" case="first-letter" /></namespaces></siteinfo>'
        b"<page><title>Pierre &amp; Marie</title><ns>0</ns><id>1</id><revision><id>5</id>"
        b"<text>un</text></revision></page><page><title>Caf\xc3\xa9</title><ns>0</ns><id>2</id>"
        b"<revision><id>6</id><text>deux</text></revision></page></mediawiki>"
    )
    build = build_mirror(export, tmp_path / "mirror", pages_per_stream=1)
    streams = bz2_streams(build.multistream[0].read_bytes())
    assert b"".join(out for _, out in streams) == export.read_bytes()
    assert [out[:6] for _, out in streams[1:-1]] == [b"<page>", b"<page>"]
    assert streams[-1][1] == b"</mediawiki>"
    with bz2.open(build.index[0], "rb") as index_file:
        assert [(e.page_id, e.title) for e in open_index(index_file)] == [(1, "Pierre & Marie"), (2, "Café")]


@pytest.mark.parametrize("block_size", [1, 7, 4096])
def test_split_is_exact_whatever_the_read_block_boundaries(block_size: int):
    data = source_bytes(sample("jawiki"))
    blocks = (data[i : i + block_size] for i in range(0, len(data), block_size))
    split = ExportSplit()
    pages = list(split_export(blocks, "jawiki sample", split))
    assert split.header + b"".join(p.raw for p in pages) + split.footer == data
    assert all(p.raw.lstrip().startswith(b"<page>") and p.raw.endswith(b"</page>\n") for p in pages)
    assert len(pages) == 27 and split.footer == b"</mediawiki>\n"


def base36_sha1(text: str) -> str:
    """MediaWiki's revision sha1, computed independently of samples/build_samples.py."""
    import numpy

    return numpy.base_repr(int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16), 36).lower().rjust(31, "0")


# The template that marks a disambiguation page on each sample wiki (its __DISAMBIG__ switch).
DISAMBIGUATION_TEMPLATES = {"frwiki": "{{Homonymie}}", "ukwiki": "{{Неоднозначність}}", "jawiki": "{{Aimai}}"}


@pytest.mark.parametrize("db", SAMPLE_EDITIONS)
def test_sample_page_props_belong_to_the_sample_pages(db: str):
    """Props only for pages of the export (no redirect carries an item); the disambiguation prop
    exactly on the pages using the wiki's disambiguation template; an item for every article."""
    from wikidrop.dumps.page_props import read_page_props

    with open_dump(str(sample(db))) as reader:
        pages = {p.id: p for p in reader.pages()}
    with open(SAMPLES / f"{db}-{SAMPLE_DUMP_DATE}-page_props.sql", "rb") as f:
        props = dict(read_page_props(f, names={"wikibase_item", "disambiguation", "page_image_free"}))
    assert set(props) <= set(pages) and not [i for i in props if pages[i].is_redirect]
    marked = {i for i, p in props.items() if "disambiguation" in p}
    uses_template = {i for i, p in pages.items() if DISAMBIGUATION_TEMPLATES[db] in p.revision.text}
    assert marked == uses_template and len(marked) == 1
    articles = {i for i, p in pages.items() if p.ns == 0 and not p.is_redirect}
    assert {i for i, p in props.items() if "wikibase_item" in p} >= articles


@pytest.mark.parametrize("db", SAMPLE_EDITIONS)
def test_sample_export_is_consistent_and_covers_the_page_kinds(db: str):
    from wikidrop.config import load_config

    edition = load_config().edition(db)
    info = SiteInfo.from_siteinfo_json((SAMPLES / f"{db}-{SAMPLE_DUMP_DATE}-siteinfo.json").read_bytes())
    with open_dump(str(sample(db))) as reader:
        header = reader.siteinfo
        pages = list(reader.pages())
    assert header.dbname == info.dbname == db and header.language == info.language == edition.language
    assert 25 <= len(pages) <= 40
    for page in pages:
        assert page.revision.sha1 == base36_sha1(page.revision.text), page.title
        assert page.revision.text_bytes == len(page.revision.text.encode("utf-8")), page.title
        prefix = info.namespace_name(page.ns)
        assert page.title.startswith(f"{prefix}:") if prefix else ":" not in page.title.split(" ")[0]
    by_ns = {ns: [p for p in pages if p.ns == ns] for ns in (0, 1, 6, 10, 14, 828)}
    assert all(by_ns.values()), {ns: len(p) for ns, p in by_ns.items()}
    assert all(p.revision.model == "scribunto" for p in by_ns[828])
    redirects = [p for p in pages if p.is_redirect]
    titles = {p.title for p in pages}
    assert len(redirects) >= 3 and all(p.redirect_target in titles for p in redirects)
    articles = [p.revision.text for p in by_ns[0] if not p.is_redirect]
    file_names = info.names_for(6)
    assert sum("<ref" in t for t in articles) >= 5
    assert sum("\n{|" in t for t in articles) >= 3  # tables
    assert sum("\n* " in t or "\n# " in t for t in articles) >= 3  # lists
    assert sum(any(f"[[{name}:" in t for name in file_names) for t in articles) >= 3
    assert any(f"[[{info.namespace_name(6)}:" in t for t in articles)  # the local name, not only aliases
    categorised = sum(f"[[{info.namespace_name(14)}:" in t for t in articles)
    assert categorised >= len(articles) - 1  # a disambiguation page may get its category from a template
