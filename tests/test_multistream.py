"""Multistream index and byte ranges: pure functions in tables, then range reads on the real samples."""

from __future__ import annotations

import bz2
import io
import os
from pathlib import Path

import pytest

from tests.conftest import SHARED_DUMPS
from wikidrop.dumps.export import DumpError, Page, open_dump
from wikidrop.dumps.multistream import (
    IndexEntry,
    StreamRange,
    decompress_stream,
    group_ranges,
    open_index,
    read_header,
    read_index,
    read_range_pages,
    stream_ranges,
)

DERIVED = SHARED_DUMPS / "derived"
MULTISTREAM = [
    ("jawiki-20250801-head-100k-lines", 234),
    ("ltgwiki-2017-COMPLETE-pages-articles", 2004),
]


# -- index lines ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "entry"),
    [
        ("597:10:Anarchism", IndexEntry(597, 10, "Anarchism")),
        ("597:12:Talk:Anarchism\n", IndexEntry(597, 12, "Talk:Anarchism")),
        (
            "6402:1534:Wikipedia:削除依頼/ログ:2005年",
            IndexEntry(6402, 1534, "Wikipedia:削除依頼/ログ:2005年"),
        ),
        ("1:2:Title with trailing colon:", IndexEntry(1, 2, "Title with trailing colon:")),
        (b"597:13:\xc3\x9cber:Bahn\r\n", IndexEntry(597, 13, "Über:Bahn")),
    ],
)
def test_index_line_splits_on_the_first_two_colons(line: str | bytes, entry: IndexEntry) -> None:
    assert list(read_index([line])) == [entry]


def test_blank_index_lines_are_skipped() -> None:
    assert list(read_index(["1:2:A\n", "\n", "1:3:B\n"])) == [IndexEntry(1, 2, "A"), IndexEntry(1, 3, "B")]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["1:2:A", "garbage"], r"idx.txt: line 2: expected 'offset:page_id:title'"),
        (["x:2:A"], r"idx.txt: line 1: offset and page id must be integers"),
        (["1:y:A"], r"idx.txt: line 1: offset and page id must be integers"),
    ],
)
def test_bad_index_lines_name_the_line(lines: list[str], message: str) -> None:
    with pytest.raises(DumpError, match=message):
        list(read_index(lines, source="idx.txt"))


def test_open_index_reads_compressed_and_plain_files() -> None:
    text = "10:1:A\n10:2:B:C\n50:3:D\n"
    expected = [IndexEntry(10, 1, "A"), IndexEntry(10, 2, "B:C"), IndexEntry(50, 3, "D")]
    assert list(open_index(io.BytesIO(bz2.compress(text.encode())))) == expected
    assert list(open_index(io.BytesIO(text.encode()))) == expected


# -- ranges -----------------------------------------------------------------------------------------


def entries(*pairs: tuple[int, int]) -> list[IndexEntry]:
    return [IndexEntry(offset, page_id, f"P{page_id}") for offset, page_id in pairs]


@pytest.mark.parametrize(
    ("index", "size", "expected"),
    [
        ([], 100, []),
        (entries((10, 1)), 100, [StreamRange(10, 100, 1, 1)]),
        (
            entries((10, 1), (10, 2), (10, 5), (40, 7), (40, 8), (90, 9)),
            120,
            [StreamRange(10, 40, 1, 3), StreamRange(40, 90, 7, 2), StreamRange(90, 120, 9, 1)],
        ),
    ],
)
def test_stream_ranges(index: list[IndexEntry], size: int, expected: list[StreamRange]) -> None:
    assert stream_ranges(index, size) == expected


@pytest.mark.parametrize(
    ("index", "size", "message"),
    [
        (entries((10, 1), (40, 2), (30, 3)), 100, "offsets go backwards at page id 3"),
    ],
)
def test_index_that_does_not_fit_the_dump_is_an_error(
    index: list[IndexEntry], size: int, message: str
) -> None:
    with pytest.raises(DumpError, match=message):
        stream_ranges(index, size)


@pytest.mark.parametrize("size", [40, 12])
def test_dump_shorter_than_its_index_says_so(size: int) -> None:
    """A cut download, not a foreign index: say how short the file is and what the index expects."""
    with pytest.raises(DumpError) as failure:
        stream_ranges(entries((10, 1), (40, 2)), size, "x-index.txt.bz2", dump="x.xml.bz2")
    message = str(failure.value)
    assert message.startswith(
        f"x.xml.bz2: the file is shorter than its index says ({size} bytes, x-index.txt.bz2 expects >= 41"
    ), message
    assert "is this the index" not in message


RANGES = [StreamRange(10, 40, 1, 100), StreamRange(40, 60, 101, 100), StreamRange(60, 130, 201, 100)]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        (1, RANGES),
        (50, [StreamRange(10, 60, 1, 200), StreamRange(60, 130, 201, 100)]),
        (10_000, [StreamRange(10, 130, 1, 300)]),
    ],
)
def test_group_ranges_merges_adjacent_streams(target: int, expected: list[StreamRange]) -> None:
    assert group_ranges(RANGES, target) == expected


def test_group_ranges_never_merges_across_a_gap() -> None:
    gapped = [StreamRange(0, 10, 1, 1), StreamRange(20, 30, 2, 1)]
    assert group_ranges(gapped, 1000) == gapped


def test_decompress_stream_reads_concatenated_streams() -> None:
    assert decompress_stream(bz2.compress(b"<page>a</page>") + bz2.compress(b"</mediawiki>")) == (
        b"<page>a</page></mediawiki>"
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (bz2.compress(b"x" * 1000)[:-10], "r1: bz2 stream ends early"),
        (bz2.compress(b"x") + b"junk", "r1: not a bz2 stream"),
        (b"<page/>", "r1: not a bz2 stream"),
    ],
)
def test_decompress_stream_errors(data: bytes, message: str) -> None:
    with pytest.raises(DumpError, match=message):
        decompress_stream(data, "r1")


# -- the real multistream samples -------------------------------------------------------------------


def paths(stem: str) -> tuple[Path, Path]:
    return DERIVED / f"{stem}-multistream.xml.bz2", DERIVED / f"{stem}-multistream-index.txt.bz2"


def sequential(dump: Path) -> tuple[list[Page], object]:
    with open_dump(str(dump)) as reader:
        return list(reader.pages()), reader.siteinfo


@pytest.mark.realdata
@pytest.mark.parametrize(("stem", "pages"), MULTISTREAM)
def test_reading_every_range_equals_a_sequential_read(stem: str, pages: int) -> None:
    dump, index_path = paths(stem)
    with index_path.open("rb") as f:
        index = list(open_index(f, str(index_path)))
    ranges = stream_ranges(index, os.path.getsize(dump))
    expected, siteinfo = sequential(dump)
    assert len(expected) == len(index) == pages
    assert [(e.page_id, e.title) for e in index] == [(p.id, p.title) for p in expected]
    assert len(ranges) == -(-pages // 100)  # 100 pages per stream
    with dump.open("rb") as f:
        assert read_header(f, ranges[0].start, str(dump)) == siteinfo
        # Workers finish in any order: read the ranges backwards, put them back in range order.
        by_range = {rng.start: read_range_pages(f, rng, str(dump)) for rng in reversed(ranges)}
        assert [p for start in sorted(by_range) for p in by_range[start]] == expected
        # Grouped work units read the same pages.
        units = group_ranges(ranges, target_bytes=3 * max(r.size for r in ranges))
        assert len(units) < len(ranges)
        assert [p for unit in units for p in read_range_pages(f, unit, str(dump))] == expected


@pytest.mark.realdata
def test_range_that_disagrees_with_the_index_is_an_error() -> None:
    dump, index_path = paths("ltgwiki-2017-COMPLETE-pages-articles")
    with index_path.open("rb") as f:
        ranges = stream_ranges(open_index(f), os.path.getsize(dump))
    wrong_count = StreamRange(ranges[1].start, ranges[1].end, ranges[1].first_page_id, 99)
    wrong_start = StreamRange(ranges[1].start + 1, ranges[1].end, ranges[1].first_page_id, 100)
    with dump.open("rb") as f:
        with pytest.raises(DumpError, match=r"index lists 99 pages .* the stream holds 100"):
            read_range_pages(f, wrong_count, "ltg")
        with pytest.raises(DumpError, match=r"ltg \[\d+, \d+\): not a bz2 stream"):
            read_range_pages(f, wrong_start, "ltg")
        beyond = StreamRange(ranges[-1].start, ranges[-1].end + 50, ranges[-1].first_page_id, 4)
        with pytest.raises(DumpError, match="file shorter than the index says"):
            read_range_pages(f, beyond, "ltg")
