"""The adds-changes day generator of the dev tools (``wikidrop_dev.incr``): days laid out and named
as Wikimedia publishes them, readable by the export reader, and exports faithful to their source."""

from __future__ import annotations

import bz2
import hashlib
from pathlib import Path

import pytest

from tests.conftest import SHARED_DUMPS
from wikidrop.dumps.export import DumpReader, open_dump
from wikidrop_dev.incr import EditionHistory, mediawiki_sha1

SOURCES = [
    SHARED_DUMPS / "ltg" / "ltgwiki-2017-COMPLETE-pages-articles-dumpster-dive.xml.bz2",
    SHARED_DUMPS / "derived" / "ukwiki-20230501-head-100k-lines-CLOSED-xztextfilter.xml.bz2",
    SHARED_DUMPS / "ja" / "jawiki-20250801-head-100k-lines-nlp4j.xml.bz2",
]
HEADER = """<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.11/" version="0.11" xml:lang="en">
  <siteinfo>
    <sitename>Wikipedia</sitename>
    <dbname>testwiki</dbname>
    <base>https://test.wikipedia.org/wiki/Main_Page</base>
    <case>first-letter</case>
    <namespaces>
      <namespace key="0" case="first-letter" />
      <namespace key="2" case="first-letter">User</namespace>
    </namespaces>
  </siteinfo>
"""


def page(page_id: int, title: str, text: str, revision: int) -> str:
    return (
        f"  <page>\n    <title>{title}</title>\n    <ns>0</ns>\n    <id>{page_id}</id>\n"
        f"    <revision>\n      <id>{revision}</id>\n      <timestamp>2024-01-01T00:00:00Z</timestamp>\n"
        f"      <contributor>\n        <ip>192.0.2.1</ip>\n      </contributor>\n"
        f'      <text bytes="{len(text.encode())}" xml:space="preserve">{text}</text>\n'
        f"    </revision>\n  </page>\n"
    )


@pytest.fixture
def export(tmp_path: Path) -> Path:
    path = tmp_path / "testwiki-20260101-pages-articles.xml"
    body = page(1, "Alpha", "Alpha &amp; [[Beta]].", 10) + page(2, "Beta", "Beta text.", 20)
    path.write_text(HEADER + body + "</mediawiki>\n", encoding="utf-8")
    return path


def read(path: Path) -> dict[int, object]:
    with open(path, "rb") as raw:
        return {p.id: p for p in DumpReader(raw, str(path)).pages()}


def test_a_day_is_published_as_on_dumps_wikimedia_org(export: Path, tmp_path: Path) -> None:
    history = EditionHistory.from_export(export)
    day = history.day("20260102")
    day.edit(1, "First edit.")
    day.edit(1, "Second edit.")
    day.reverse_revisions(1)
    day.move(2, "User:Beta")
    files = day.write(tmp_path / "mirror")
    folder = tmp_path / "mirror" / "other" / "incr" / "testwiki" / "20260102"
    assert files.directory == folder
    assert sorted(p.name for p in folder.iterdir()) == [
        "maxrevid.txt",
        "status.txt",
        "testwiki-20260102-md5sums.txt",
        "testwiki-20260102-pages-meta-hist-incr.xml.bz2",
    ]
    assert (folder / "status.txt").read_text() == "done\n"
    md5 = hashlib.md5(files.pages.read_bytes()).hexdigest()
    assert files.md5sums.read_text() == f"{md5}  testwiki-20260102-pages-meta-hist-incr.xml.bz2\n"
    xml = bz2.decompress(files.pages.read_bytes()).decode()
    assert xml.index("<id>22</id>") < xml.index("<id>21</id>")  # newest first, as asked
    assert (folder / "maxrevid.txt").read_text() == "24\n"  # 21, 22 edits; 23 move; 24 the redirect left
    pages = read(files.pages)
    assert (pages[1].revision.id, pages[1].revision.text) == (22, "Second edit.")
    assert pages[1].revision.sha1 == mediawiki_sha1("Second edit.")
    assert pages[1].revision.parent_id == 21 and pages[1].revision.timestamp.startswith("2026-01-02T")
    assert (pages[2].title, pages[2].ns, pages[2].revision.text) == ("User:Beta", 2, "Beta text.")
    (stub,) = [p for p in pages.values() if p.id == 3]
    assert (stub.title, stub.is_redirect, stub.redirect_target) == ("Beta", True, "User:Beta")
    assert 1 not in read(export) or read(export)[1].revision.id == 10  # the source is untouched


def test_redirects_turn_on_and_off_with_the_text(export: Path, tmp_path: Path) -> None:
    history = EditionHistory.from_export(export)
    day = history.day("20260102")
    day.make_redirect(1, "Beta")
    created = day.create_redirect("Gamma", "Beta")
    assert (history.pages[1].is_redirect, history.pages[1].redirect_target) == (True, "Beta")
    day = history.day("20260103")
    day.edit(1, "An article again.")
    assert (history.pages[1].is_redirect, history.pages[1].redirect_target) == (False, None)
    final = read(history.write_export(tmp_path / "final.xml"))
    assert final[created.id].redirect_target == "Beta" and not final[1].is_redirect
    with pytest.raises(ValueError, match="does not follow"):
        history.day("20260103")


@pytest.mark.realdata
@pytest.mark.parametrize("source", SOURCES, ids=lambda p: p.name.split("-")[0])
def test_an_export_written_back_reads_as_its_source(tmp_path: Path, source: Path) -> None:
    history = EditionHistory.from_export(source)
    written = history.write_export(tmp_path / "copy.xml.bz2")
    with open_dump(str(source)) as original, open_dump(str(written)) as copy:
        assert copy.siteinfo == original.siteinfo
        assert list(copy.pages()) == list(original.pages())
