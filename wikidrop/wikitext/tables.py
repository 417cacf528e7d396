"""Tables as data: the cell grid of one table, and a record's text with its tables put back as Markdown.

A table in the record (``tables[]``, Wikimedia Enterprise's ``headers``/``rows`` names) is a grid of
clean-text cell values: ``rowspan``/``colspan`` are expanded, so a value spanning two columns
appears in both, and every row of a rectangular source table has the same length. ``headers`` are
the leading rows made only of header cells (``!`` / ``<th>``); header cells further down (row
labels, sub-headings) stay in ``rows``. A nested table is an entry of its own whose
``parent_identifier`` names the table holding it.

``text_offset`` is where a table stood in the record's ``text`` (a code point offset, at the start
of a line, or ``len(text)``); tables outside the text flow (nested ones, tables inside references or
infobox values) have none. :func:`text_with_tables` rebuilds "text with tables in place" from
those offsets alone, so a partner can do the same from any delivered record.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# HTML's own limits (colspan <= 1000, rowspan <= 65534): beyond them a browser clamps as well.
MAX_COLUMNS = 1000
MAX_ROWSPAN = 65534

Cell = tuple[str, bool, int, int]  # value, is a header cell, rowspan, colspan


def span(value: str | None) -> int:
    """A ``rowspan``/``colspan`` attribute as MediaWiki reads it: leading digits, else 1."""
    if not value:
        return 1
    value = value.strip().strip("\"'")
    digits = 0
    for char in value:
        if not "0" <= char <= "9":
            break
        digits += 1
    return int(value[:digits]) if digits else 1


def expand_grid(rows: Sequence[Sequence[Cell]]) -> tuple[list[list[str]], list[list[str]]]:
    """Source rows of cells -> ``(headers, rows)`` of values with row and column spans expanded.

    Follows the HTML table model: a cell goes to the first column its row has free, cells spanning
    rows from above take their columns first. ``rowspan=0`` spans to the last row. Rows that end up
    without any non-empty value (image-only rows, separators) are dropped.
    """
    grid: list[list[tuple[str, bool]]] = []
    carried: dict[int, list[Any]] = {}  # column -> [value, is_header, rows still to fill]
    remaining = len(rows)
    for row in rows:
        out: list[tuple[str, bool]] = []
        column = 0
        for value, header, rowspan, colspan in row:
            column = _fill_carried(out, carried, column)
            if column >= MAX_COLUMNS:
                break
            rows_down = remaining if rowspan <= 0 else min(rowspan, remaining, MAX_ROWSPAN)
            for _ in range(max(1, min(colspan, MAX_COLUMNS - column))):
                out.append((value, header))
                if rows_down > 1:
                    carried[column] = [value, header, rows_down - 1]
                else:
                    carried.pop(column, None)
                column += 1
        # cells spanning down into this row to the right of its last own cell
        for target in sorted(c for c in carried if c >= column):
            out.extend([("", False)] * (target - column))
            column = _fill_carried(out, carried, target)
        remaining -= 1
        if any(value for value, _ in out):
            grid.append(out)
    split = 0
    while split < len(grid) and all(header for _, header in grid[split]):
        split += 1
    values = [[value for value, _ in row] for row in grid]
    return values[:split], values[split:]


def _fill_carried(out: list[tuple[str, bool]], carried: dict[int, list[Any]], column: int) -> int:
    while column in carried:
        entry = carried[column]
        out.append((entry[0], entry[1]))
        entry[2] -= 1
        if entry[2] <= 0:
            del carried[column]
        column += 1
    return column


# -- Markdown -----------------------------------------------------------------------------------
def markdown_table(table: Mapping[str, Any]) -> str:
    """One table entry as a GitHub-flavoured Markdown table (its caption on the line above).

    Markdown has a single header row: several header rows are merged per column ("Population
    2010"); a table without header rows gets an empty one, as GFM requires. Line breaks inside a
    cell become ``<br>``, pipes are escaped.
    """
    headers = [list(row) for row in table.get("headers") or ()]
    rows = [list(row) for row in table.get("rows") or ()]
    width = max((len(row) for row in (*headers, *rows)), default=0)
    lines = []
    caption = (table.get("caption") or "").strip()
    if caption:
        lines.append(caption)
    if width:
        lines.append(_markdown_row(_merged_header(headers, width), width))
        lines.append("|" + "|".join(["---"] * width) + "|")
        lines.extend(_markdown_row(row, width) for row in rows)
    return "\n".join(lines)


def _merged_header(headers: list[list[str]], width: int) -> list[str]:
    merged = []
    for column in range(width):
        parts: list[str] = []
        for row in headers:
            value = row[column] if column < len(row) else ""
            if value and (not parts or parts[-1] != value):
                parts.append(value)
        merged.append(" ".join(parts))
    return merged


def _markdown_row(values: Sequence[str], width: int) -> str:
    cells = [_markdown_cell(v) for v in values] + [""] * (width - len(values))
    return "| " + " | ".join(cells) + " |"


def _markdown_cell(value: str) -> str:
    value = value.replace("\\", "\\\\").replace("|", "\\|")
    return "<br>".join(line.strip() for line in value.split("\n") if line.strip())


def text_with_tables(text: str, tables: Iterable[Mapping[str, Any]] | None) -> str:
    """A record's ``text`` with each table placed as Markdown where it stood on the page.

    Tables are put at their ``text_offset`` (several at one place keep their order), each as its
    own paragraph; a nested table follows the table holding it. Tables without an offset that are
    not nested (those inside references or infobox values) are left out, as they are out of ``text``.
    """
    entries = list(tables or ())
    children: dict[str, list[Mapping[str, Any]]] = {}
    for entry in entries:
        parent = entry.get("parent_identifier")
        if parent:
            children.setdefault(parent, []).append(entry)
    placed = [(i, entry) for i, entry in enumerate(entries) if entry.get("text_offset") is not None]
    placed.sort(key=lambda item: (int(item[1]["text_offset"]), item[0]))
    blocks: list[str] = []
    cursor = 0
    for _, entry in placed:
        offset = min(max(int(entry["text_offset"]), cursor), len(text))
        blocks.append(text[cursor:offset])
        blocks.extend(_table_blocks(entry, children, set()))
        cursor = offset
    blocks.append(text[cursor:])
    return "\n\n".join(block.strip("\n") for block in blocks if block.strip())


def _table_blocks(
    entry: Mapping[str, Any], children: Mapping[str, list[Mapping[str, Any]]], seen: set[str]
) -> list[str]:
    identifier = entry.get("identifier") or ""
    if identifier in seen:  # a malformed record naming itself as an ancestor
        return []
    seen.add(identifier)
    blocks = [markdown_table(entry)]
    for child in children.get(identifier, ()):
        blocks.extend(_table_blocks(child, children, seen))
    return blocks
