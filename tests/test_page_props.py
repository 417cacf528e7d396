"""The page_props SQL dump reader on a real Wikimedia table dump and on hand-written edge cases."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from wikidrop.dumps.page_props import SqlDump, SqlDumpError, merge_props, read_page_props

SQL_DATA = Path(__file__).parent / "data" / "sql"
CHANGE_TAGS = SQL_DATA / "simplewiki-20210701-change_tag_def.sql"
EDGE_CASES = SQL_DATA / "testwiki-page_props-edge-cases.sql"


def rows(data: bytes, table: str = "page_props") -> list[tuple]:
    return list(SqlDump(io.BytesIO(data), table, "test.sql").rows())


def test_real_simplewiki_table_dump():
    dump = SqlDump(io.BytesIO(CHANGE_TAGS.read_bytes()), "change_tag_def", CHANGE_TAGS.name)
    table = list(dump.rows())
    assert dump.columns == ("ctd_id", "ctd_name", "ctd_user_defined", "ctd_count")
    assert len(table) == 84
    assert table[0] == (1, "mw-replace", 0, 10200)
    assert (86, "short 'X is a city in Y' article", 0, 48) in table
    assert table[-1] == (125, "discussiontools-source-enhanced", 0, 341)
    # Other tables of the same file are skipped, not misread.
    assert rows(CHANGE_TAGS.read_bytes(), "page_props") == []


def test_gzip_compressed_file_reads_the_same():
    data = CHANGE_TAGS.read_bytes()
    assert rows(gzip.compress(data), "change_tag_def") == rows(data, "change_tag_def")


def test_edge_cases_values():
    table = rows(EDGE_CASES.read_bytes())
    by_key = {(page, name): (value, sortkey) for page, name, value, sortkey in table}
    assert len(table) == len(by_key) == 16
    assert by_key[(1, "defaultsort")] == ("O'Brien, Flann", None)
    assert by_key[(1, "wikibase-shortdesc")][0] == "Irish novelist (1911\u20131966)"
    assert by_key[(3, "wikibase-shortdesc")][0] == "Path C:\\Temp\\ and a tab\there"
    assert by_key[(3, "wikibase_item")] == ("Q3", 1.5e-05)
    # A value that looks like the end of one row and the start of the next stays one value.
    assert by_key[(4, "wikibase-shortdesc")][0] == "Looks like a row: ),(5,'wikibase_item','Q999',NULL),( end"
    assert (5, "wikibase_item") not in by_key
    assert by_key[(2, "disambiguation")] == ("", None)
    # Not UTF-8: kept byte for byte; \0 and \Z are MySQL's NUL and Ctrl-Z.
    odd = by_key[(8, "wikibase-shortdesc")][0]
    assert odd.encode("utf-8", "surrogateescape") == b"bytes \xff\xfe not UTF-8 and NUL \x00 and ^Z \x1a"
    assert by_key[(8, "wikibase_item")][0] == "Q8"
    assert by_key[(9, "page_image_free")][0] == "Mercure"
    # A quoted string over two lines, with a ';' at the first line's end, and a doubled quote.
    assert by_key[(6, "wikibase-shortdesc")][0] == "two\nlines; and a quote ' doubled"
    assert by_key[(6, "wikibase_item")] == ("Q6", -2.5)
    # The second statement on the same line.
    assert by_key[(7, "kartographer_frames")] == ("1", 1)


def test_read_page_props_keeps_the_record_props_per_page():
    pages = list(read_page_props(io.BytesIO(EDGE_CASES.read_bytes()), EDGE_CASES.name))
    assert pages[0] == (
        1,
        {
            "page_image_free": "Flann_O'Brien.jpg",
            "wikibase-shortdesc": "Irish novelist (1911\u20131966)",
            "wikibase_item": "Q370880",
        },
    )
    assert pages[1] == (2, {"disambiguation": "", "wikibase_item": "Q216"})
    ids = [page for page, _ in pages]
    assert ids == [1, 2, 3, 4, 8, 9, 6]  # file order; 5 and 7 have no record prop
    assert dict(pages)[9] == {"page_image_free": "Mercure"}


def test_pages_out_of_key_order_come_in_pieces_and_merge():
    data = (
        b"INSERT INTO `page_props` VALUES (1,'wikibase_item','Q1',NULL),(2,'disambiguation','',NULL),"
        b"(1,'wikibase-shortdesc','One',NULL);\n"
    )
    pages = list(read_page_props(io.BytesIO(data)))
    assert pages == [
        (1, {"wikibase_item": "Q1"}),
        (2, {"disambiguation": ""}),
        (1, {"wikibase-shortdesc": "One"}),
    ]
    assert merge_props(p for page, p in pages if page == 1) == {
        "wikibase_item": "Q1",
        "wikibase-shortdesc": "One",
    }


def test_insert_without_create_table_and_one_row_per_line():
    data = (
        b"INSERT INTO `page_props` VALUES\n(1,'wikibase_item','Q1',NULL),\n(2,'wikibase_item','Q2',NULL);\n"
    )
    assert rows(data) == [(1, "wikibase_item", "Q1", None), (2, "wikibase_item", "Q2", None)]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"INSERT INTO `page_props` VALUES (1,'wikibase_item','Q1',NULL),(2,'x');\n", "expected a row of 4"),
        (
            b"INSERT INTO `page_props` VALUES (1,'wikibase_item','Q1',NULL) (2,'a','b',NULL);\n",
            "expected a row",
        ),
        (b"INSERT INTO `page_props` VALUES (1,'wikibase_item','Q1',NULL),(2,'wikibase_item','Q", "truncated"),
        (b"INSERT INTO `page_props` VALUES (1,'wikibase_item',Q1,NULL);\n", "expected a row"),
    ],
)
def test_malformed_statements_fail_with_the_place(data, message):
    with pytest.raises(SqlDumpError, match=message) as info:
        rows(data)
    assert "test.sql" in str(info.value)


@pytest.mark.parametrize(
    "row",
    [
        b"(1.5,'wikibase_item','Q1',NULL)",
        b"(NULL,'wikibase_item','Q1',NULL)",
        b"(1,'wikibase_item',NULL,NULL)",
    ],
)
def test_a_kept_row_without_an_integer_page_or_a_value_is_refused(row):
    with pytest.raises(SqlDumpError, match="without an integer page id or a value"):
        list(read_page_props(io.BytesIO(b"INSERT INTO `page_props` VALUES " + row + b";\n"), "x.sql"))


def test_a_table_that_is_not_page_props_is_refused():
    data = CHANGE_TAGS.read_bytes().replace(b"change_tag_def", b"page_props")
    with pytest.raises(SqlDumpError, match="not a page_props table"):
        list(read_page_props(io.BytesIO(data), "x.sql"))


def test_reading_is_a_stream():
    """Rows come before the file is read to its end: a huge table never sits in memory."""

    class Endless(io.RawIOBase):
        def __init__(self):
            self.page = 0

        def readable(self):
            return True

        def readinto(self, buffer):
            self.page += 1
            line = f"INSERT INTO `page_props` VALUES ({self.page},'wikibase_item','Q{self.page}',NULL);\n"
            data = line.encode()
            buffer[: len(data)] = data
            return len(data)

    pages = read_page_props(Endless())
    assert [next(pages) for _ in range(3)] == [
        (1, {"wikibase_item": "Q1"}),
        (2, {"wikibase_item": "Q2"}),
        (3, {"wikibase_item": "Q3"}),
    ]
