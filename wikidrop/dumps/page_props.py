"""Wikimedia's page_props table dump (``<dbname>-<date>-page_props.sql.gz``), read as a stream.

The file is mysqldump/mariadb-dump output: a ``CREATE TABLE `page_props``` statement, then
multi-row ``INSERT INTO `page_props` VALUES (...),(...);`` statements of ~1 MB each, one per line,
in primary-key order ``(pp_page, pp_propname)``. Values are integers, ``NULL``, floats
(``pp_sortkey``) and single-quoted strings with MySQL backslash escapes (``\\'``, ``\\\\``,
``\\n``, ``\\0``, ``\\Z``...); ``pp_value`` is a blob, so a value need not be valid UTF-8.

Why not ``mwsql`` (PyPI, the MediaWiki utilities' SQL dump reader, 1.0.4; tried on
tests/data/sql/testwiki-page_props-edge-cases.sql): it splits a statement into rows with
``re.split(r"\\),\\(")``, so a value containing ``),(`` (a short description can) loses those
characters; it unescapes with the csv module, which drops the backslash but does not decode
``\\n``, ``\\t``, ``\\0`` or ``\\Z`` (``a\\nb`` becomes ``anb``); it turns ``NULL`` into ``""``,
like an empty string; and it decodes the whole file as strict UTF-8, so one blob that is not
UTF-8 aborts the read (UnicodeDecodeError). It streams, at about the same speed (~200-240k rows/s
here against ~245k for ``SqlDump.rows`` and ~300k for ``read_page_props``, which converts only the
rows it keeps). So this module is a small tokenizer: one compiled regular expression per table
matches a whole row (the C regex engine walks the characters, Python sees one match per row), rows
must follow each other exactly, and anything else is a ``SqlDumpError`` naming the file, statement
and position.

Strings are decoded as UTF-8 with ``surrogateescape``: MediaWiki stores UTF-8, and a byte that is
not survives as a lone surrogate (``value.encode("utf-8", "surrogateescape")`` gives the exact
bytes back) instead of failing the whole table.

Reading is a stream (one statement in memory at a time), so enwiki's table (tens of millions of
rows) reads in flat memory; the Beam job routes the rows it keeps to the read tasks of their pages
(beam_jobs/transforms.py).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

# The props the article record uses (wikidrop/records.py page_props_fields).
WIKIBASE_ITEM = "wikibase_item"
DISAMBIGUATION = "disambiguation"
SHORT_DESCRIPTION = "wikibase-shortdesc"
FREE_IMAGE = "page_image_free"
RECORD_PROPS = frozenset({WIKIBASE_ITEM, DISAMBIGUATION, SHORT_DESCRIPTION, FREE_IMAGE})

# A statement larger than this is not a dump statement (Wikimedia's are ~1 MB): fail instead of
# growing memory without bound on a file with an unterminated string.
MAX_STATEMENT_BYTES = 256 * 1024 * 1024

SqlValue = int | float | str | None


class SqlDumpError(ValueError):
    """The SQL dump cannot be read as mysqldump output; the message names the file and the place."""


# One value: a quoted string (backslash escapes or a doubled quote inside; optional _binary
# introducer), a number, a 0x hex literal, or NULL (no group: all three groups None).
_STRING = r"(?:_binary\s*)?'([^'\\]*(?:(?:\\.|'')[^'\\]*)*)'"
_VALUE = rf"(?:{_STRING}|([-+]?[0-9][0-9.eE+-]*)|0x([0-9A-Fa-f]*)|NULL)"
_INSERT = re.compile(r"INSERT\s+(?:IGNORE\s+)?INTO\s+`?(\w+)`?\s*(?:\(([^)]*)\)\s*)?VALUES\s*", re.IGNORECASE)
_CREATE = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?`?(\w+)`?\s*\(", re.IGNORECASE)
_COLUMN = re.compile(r"^\s*`(\w+)`\s+\w", re.MULTILINE)
_STATEMENT_END = re.compile(r"\s*;")
_ONE_VALUE = re.compile(_VALUE, re.DOTALL)
_OPEN, _COMMA, _CLOSE = re.compile(r"\(\s*"), re.compile(r"\s*,\s*"), re.compile(r"\s*\)")
# Blank space and comments before a statement (``/*!40101 SET ... */``, MariaDB's
# ``/*M!999999\\- enable the sandbox mode */``, ``-- ...`` lines).
_LEADING = re.compile(r"(?:\s+|/\*.*?\*/|--[^\n]*(?:\n|$))*", re.DOTALL)
_ESCAPE = re.compile(r"\\(.)|''", re.DOTALL)
_ESCAPED = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}
# Outside quotes: everything up to a statement's ';' (for statements we do not parse).
_UNQUOTED = re.compile(r"[^'`\\;]*(?:(?:\\.|'[^'\\]*(?:(?:\\.|'')[^'\\]*)*'|`[^`]*`)[^'`\\;]*)*", re.DOTALL)


def _unescape(match: re.Match[str]) -> str:
    char = match.group(1)
    if char is None:
        return "'"
    return _ESCAPED.get(char, char)


def _row_pattern(columns: int) -> re.Pattern[str]:
    """A regex matching one parenthesised row of ``columns`` values."""
    values = r"\s*,\s*".join([_VALUE] * columns)
    return re.compile(rf"\(\s*{values}\s*\)(?:\s*,\s*(?=\())?", re.DOTALL)


def _text(quoted: str) -> str:
    """The value of a quoted string's inside (escapes decoded)."""
    return _ESCAPE.sub(_unescape, quoted) if ("\\" in quoted or "''" in quoted) else quoted


def _convert(groups: tuple[str | None, ...]) -> tuple[SqlValue, ...]:
    values: list[SqlValue] = []
    each = iter(groups)
    for text, number, hexa in zip(each, each, each, strict=True):
        if text is not None:
            values.append(_text(text))
        elif number is not None:
            values.append(int(number) if number.lstrip("+-").isdigit() else float(number))
        elif hexa is not None:
            values.append(bytes.fromhex(hexa).decode("utf-8", "surrogateescape"))
        else:
            values.append(None)
    return tuple(values)


class SqlDump:
    """The rows of one table in a mysqldump file, read statement by statement.

    ``columns`` is known once the table's ``CREATE TABLE`` was read (or from an ``INSERT`` that
    names its columns); a file with only ``INSERT`` statements works too, the row width then
    comes from the first row.
    """

    def __init__(self, fileobj: BinaryIO, table: str, source: str = "sql dump"):
        self.table = table
        self.source = source
        self.columns: tuple[str, ...] | None = None
        self._lines = _text_lines(fileobj)
        self._row: re.Pattern[str] | None = None
        self._statement_number = 0

    def rows(self) -> Iterator[tuple[SqlValue, ...]]:
        """Every row of ``table`` in file order, as tuples (int, float, str or None per column)."""
        for match in self.row_matches():
            yield _convert(match.groups())

    def row_matches(self) -> Iterator[re.Match[str]]:
        """The regex match of every row, unconverted: value ``i`` is groups ``3i+1`` (string,
        escaped), ``3i+2`` (number) and ``3i+3`` (hex), all ``None`` for NULL. Lets a reader that
        keeps few rows convert only those (``read_page_props``)."""
        buffer: list[str] = []
        size = 0
        for line in self._lines:
            if not buffer and (not line.strip() or line.startswith("--")):
                continue
            buffer.append(line)
            size += len(line)
            if size > MAX_STATEMENT_BYTES:
                raise SqlDumpError(f"{self.source}: a statement exceeds {MAX_STATEMENT_BYTES} bytes")
            if not line.rstrip().endswith(";"):
                continue
            text = "".join(buffer) if len(buffer) > 1 else buffer[0]
            buffer, size = [], 0
            # Usually one statement per line; a line may also hold several, or end one that a
            # quoted string spread over several lines.
            while text:
                text = text[_LEADING.match(text).end() :]  # type: ignore[union-attr]
                if not text:
                    break
                taken = self._statement(text)
                if taken is None:
                    buffer, size = [text], len(text)
                    break
                rows, end = taken
                yield from rows
                text = text[end:]
        if buffer and "".join(buffer).strip():
            raise SqlDumpError(
                f"{self.source}: the file ends inside a statement (truncated?): {''.join(buffer)[:120]!r}"
            )

    def _statement(self, text: str) -> tuple[list[re.Match[str]], int] | None:
        """The table's rows in the statement at the start of ``text`` and where the statement
        ends; ``None`` when ``text`` ends before the statement does."""
        if text[0] == ";":
            return [], 1
        insert = _INSERT.match(text)
        if insert is not None and insert.group(1) == self.table:
            self._statement_number += 1
            if insert.group(2):
                self._set_columns(tuple(c.strip().strip("`") for c in insert.group(2).split(",")))
            rows, pos = self._insert_rows(text, insert.end())
            if rows is not None:
                return rows, pos
            if _unquoted_end(text) is None:
                return None
            raise self._error(text, pos, f"expected a row of {len(self.columns or ())} values")
        end = _unquoted_end(text)
        if end is None:
            return None
        self._statement_number += 1
        create = _CREATE.match(text)
        if create is not None and create.group(1) == self.table:
            self._set_columns(tuple(_COLUMN.findall(text, 0, end)))
        return [], end

    def _set_columns(self, columns: tuple[str, ...]) -> None:
        if not columns:
            raise SqlDumpError(
                f"{self.source}: statement {self._statement_number}: no columns in {self.table}"
            )
        if self.columns is not None and len(columns) != len(self.columns):
            raise SqlDumpError(
                f"{self.source}: statement {self._statement_number}: {len(columns)} columns, "
                f"earlier statements had {len(self.columns)}"
            )
        self.columns = columns
        self._row = _row_pattern(len(columns))

    def _insert_rows(self, text: str, pos: int) -> tuple[list[re.Match[str]] | None, int]:
        """``(row matches, end of statement)``, or ``(None, position of the first bad row)``.

        Each match takes its row and the ',' after it; rows must follow each other exactly.
        """
        if self._row is None:
            width = _first_row_width(text, pos)
            if width is None:
                return None, pos
            self._set_columns(tuple(f"column_{i}" for i in range(width)))
        assert self._row is not None
        rows = []
        for match in self._row.finditer(text, pos):
            if match.start() != pos:
                break
            rows.append(match)
            pos = match.end()
        end = _STATEMENT_END.match(text, pos)
        if end is None or not rows:
            return None, pos
        return rows, end.end()

    def _error(self, text: str, pos: int, what: str) -> SqlDumpError:
        return SqlDumpError(
            f"{self.source}: statement {self._statement_number} ({self.table}), character {pos}: "
            f"{what}, got {text[pos : pos + 120]!r}"
        )


def _unquoted_end(text: str) -> int | None:
    """Index after the first ';' outside quotes, or ``None`` when ``text`` ends first."""
    end = _UNQUOTED.match(text).end()  # type: ignore[union-attr]
    return end + 1 if end < len(text) and text[end] == ";" else None


def _first_row_width(text: str, pos: int) -> int | None:
    """How many values the row at ``pos`` has (for an INSERT with no CREATE TABLE before it)."""
    start = _OPEN.match(text, pos)
    if start is None:
        return None
    pos, width = start.end(), 0
    while (value := _ONE_VALUE.match(text, pos)) is not None:
        width += 1
        pos = value.end()
        if (comma := _COMMA.match(text, pos)) is None:
            return width if _CLOSE.match(text, pos) else None
        pos = comma.end()
    return None


def _text_lines(fileobj: BinaryIO) -> Iterator[str]:
    """Lines of a plain or gzip-compressed SQL file, UTF-8 with ``surrogateescape``."""
    raw = io.BufferedReader(fileobj) if not hasattr(fileobj, "peek") else fileobj
    if raw.peek(2)[:2] == b"\x1f\x8b":
        from isal import igzip

        raw = io.BufferedReader(igzip.GzipFile(fileobj=raw, mode="rb"), buffer_size=1 << 20)
    for line in raw:
        yield line.decode("utf-8", "surrogateescape")


def read_page_props(
    fileobj: BinaryIO, source: str = "page_props", names: Iterable[str] = RECORD_PROPS
) -> Iterator[tuple[int, dict[str, str]]]:
    """``(page id, {prop name: value})`` for each page with any of ``names``, in file order.

    The dump is in primary-key order, so each page's rows are adjacent and each page comes once;
    a file out of that order yields a page more than once, each time with some of its props
    (consumers merge them, see ``merge_props``).
    """
    wanted = frozenset(names)
    dump = SqlDump(fileobj, "page_props", source)
    page_id: int | None = None
    props: dict[str, str] = {}
    checked = False
    for match in dump.row_matches():
        if not checked:
            _check_page_props_columns(dump.columns or (), source)
            checked = True
        # Only the kept rows are converted; pp_page is groups 1-3, pp_propname 4-6, pp_value 7-9.
        name = match.group(4)
        if name not in wanted:
            if name is None or "\\" not in name or _text(name) not in wanted:
                continue
            name = _text(name)
        page_number, value, hex_value = match.group(2, 7, 9)
        if page_number is None or not page_number.isdigit() or (value is None and hex_value is None):
            raise SqlDumpError(
                f"{source}: a {name!r} row without an integer page id or a value: {match.group(0)[:120]!r}"
            )
        page = int(page_number)
        value = (
            _text(value) if value is not None else bytes.fromhex(hex_value).decode("utf-8", "surrogateescape")
        )
        if page != page_id:
            if props:
                yield page_id, props  # type: ignore[misc]
            page_id, props = page, {}
        props[name] = value  # type: ignore[index]
    if props:
        yield page_id, props  # type: ignore[misc]


def _check_page_props_columns(columns: tuple[str, ...], source: str) -> None:
    """pp_page, pp_propname, pp_value first (named by CREATE TABLE, or unnamed but 3-4 wide)."""
    named = columns and not columns[0].startswith("column_")
    if (named and columns[:3] != ("pp_page", "pp_propname", "pp_value")) or len(columns) not in (3, 4):
        raise SqlDumpError(f"{source}: not a page_props table: columns {list(columns)}")


def merge_props(parts: Iterable[dict[str, str]]) -> dict[str, str]:
    """One page's props from the pieces ``read_page_props`` yielded for it."""
    merged: dict[str, str] = {}
    for part in parts:
        merged.update(part)
    return merged
