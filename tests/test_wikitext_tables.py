"""Tables as data: extraction from wiki and HTML markup, span expansion, Markdown in place."""

from __future__ import annotations

import pytest

from tests.test_wikitext_sites import site
from wikidrop.wikitext import extract_content
from wikidrop.wikitext.tables import expand_grid, markdown_table, span, text_with_tables


def tables_of(wikitext: str, language: str = "fr") -> list[dict]:
    return extract_content(wikitext, site(language)).tables


# -- extraction ---------------------------------------------------------------------------------
def test_wikitable_caption_headers_spans_and_rendered_cells() -> None:
    wikitext = (
        "Intro.\n"
        '{| class="wikitable sortable"\n'
        "|+ Communes du [[Rhône (département)|Rhône]]\n"
        "! Commune !! Population !! Superficie\n"
        "|-\n"
        '| rowspan="2" | [[Lyon|La ville de Lyon]] || {{formatnum:522250}} || {{unité|47.87|km2}}\n'
        "|-\n"
        "| colspan=\"2\" | ''non renseigné''<ref>INSEE.</ref>\n"
        "|}\n"
        "Après."
    )
    content = extract_content(wikitext, site("fr"))
    assert content.text == "Intro.\n\nAprès."
    assert content.tables == [
        {
            "identifier": "table-1",
            "section": "",
            "caption": "Communes du Rhône",
            "headers": [["Commune", "Population", "Superficie"]],
            "rows": [
                ["La ville de Lyon", "522250", "47.87 km2"],
                ["La ville de Lyon", "non renseigné", "non renseigné"],
            ],
            "parent_identifier": None,
            "text_offset": len("Intro.\n\n"),
        }
    ]
    # links, references and templates inside cells are collected as everywhere else
    assert "Lyon" in content.links and "Rhône (département)" in content.links
    assert [ref["text"] for ref in content.references] == ["INSEE."]


def test_html_table_with_sections_of_rows_and_header_cells_in_body() -> None:
    wikitext = (
        "<table>\n<thead><tr><th colspan=2>Ville</th><th>Pays</th></tr></thead>\n"
        "<tbody><tr><th>1</th><td>Kyiv</td><td>[[Україна]]</td></tr>\n"
        "<tr><th>2</th><td>Lviv</td><td>Україна</td></tr></tbody>\n</table>"
    )
    [table] = tables_of(wikitext, "uk")
    assert table["headers"] == [["Ville", "Ville", "Pays"]]
    assert table["rows"] == [["1", "Kyiv", "Україна"], ["2", "Lviv", "Україна"]]


def test_nested_table_is_an_entry_of_its_own() -> None:
    wikitext = (
        "== Résultats ==\n"
        "{| class=wikitable\n! Tour !! Détail\n|-\n| 1\n|\n"
        "{| class=wikitable\n| Paris || 52 %\n|}\n"
        "|}\n"
        "Fin."
    )
    content = extract_content(wikitext, site("fr"))
    outer, inner = content.tables
    assert (outer["identifier"], inner["identifier"]) == ("table-1", "table-2")
    assert outer["rows"] == [["1", ""]] and outer["section"] == "Résultats"
    assert inner["rows"] == [["Paris", "52 %"]]
    assert inner["parent_identifier"] == "table-1" and inner["text_offset"] is None
    # the heading stays in the text: the table stands under it
    assert content.text == "Résultats\nFin."
    assert outer["text_offset"] == len("Résultats\n")


def test_layout_table_holding_only_tables_gives_them_its_place() -> None:
    wikitext = (
        "Texte.\n{|\n|\n{| class=wikitable\n! A\n|-\n| 1\n|}\n|\n"
        "{| class=wikitable\n! B\n|-\n| 2\n|}\n|}\nSuite."
    )
    content = extract_content(wikitext, site("fr"))
    assert [(t["identifier"], t["headers"], t["parent_identifier"]) for t in content.tables] == [
        ("table-1", [["A"]], None),
        ("table-2", [["B"]], None),
    ]
    assert [t["text_offset"] for t in content.tables] == [len("Texte.\n\n")] * 2


def test_table_after_an_indent_is_parsed() -> None:
    # bnwiki/zhwiki "ধরন" tables: ":{|" is a table to MediaWiki, not to the tokenizer
    content = extract_content("Exemple :\n:{| class=wikitable\n! A !! B\n|-\n| 1 || 2\n|}\nFin.", site("fr"))
    assert content.text == "Exemple :\n\nFin."
    assert [(t["headers"], t["rows"]) for t in content.tables] == [([["A", "B"]], [["1", "2"]])]


def test_table_inside_a_reference_is_not_placed_in_text() -> None:
    content = extract_content("Texte.<ref>Source :\n{|\n| a || b\n|}</ref>", site("fr"))
    assert content.tables[0]["rows"] == [["a", "b"]]
    assert content.tables[0]["text_offset"] is None
    assert content.text == "Texte."


def test_image_only_table_leaves_no_entry() -> None:
    wikitext = "Текст.\n{|\n| [[Файл:A.jpg|96px]] || [[Файл:B.jpg|96px]]\n|}\nДалі.\n== Галерея ==\n<table><tr><td>[[Файл:C.jpg]]</td></tr></table>"
    content = extract_content(wikitext, site("uk"))
    assert content.tables == [] and content.text == "Текст.\n\nДалі."


# -- grid ---------------------------------------------------------------------------------------
def cell(value: str, rowspan: int = 1, colspan: int = 1, header: bool = False) -> tuple:
    return (value, header, rowspan, colspan)


@pytest.mark.parametrize(
    ("rows", "expected_rows"),
    [
        # a row span takes its column in the next rows before their own cells
        ([[cell("a", 3), cell("b")], [cell("c")], [cell("d")]], [["a", "b"], ["a", "c"], ["a", "d"]]),
        # a span in a middle column
        ([[cell("a"), cell("b", 2), cell("c")], [cell("d"), cell("e")]], [["a", "b", "c"], ["d", "b", "e"]]),
        # a row span right of a shorter row's last cell (gap filled with "")
        ([[cell("a"), cell("b"), cell("c", 2)], [cell("d")]], [["a", "b", "c"], ["d", "", "c"]]),
        # rowspan=0 spans to the end; a span past the end stops there
        (
            [[cell("a", 0), cell("b", 9)], [cell("c")], [cell("d")]],
            [["a", "b"], ["a", "b", "c"], ["a", "b", "d"]],
        ),
        # colspan and rowspan together
        ([[cell("a", 2, 2)], [cell("b")]], [["a", "a"], ["a", "a", "b"]]),
        # rows left without values are dropped
        ([[cell("")], [cell("x")]], [["x"]]),
    ],
)
def test_expand_grid(rows: list, expected_rows: list) -> None:
    assert expand_grid(rows) == ([], expected_rows)


def test_leading_header_rows_only_are_headers() -> None:
    rows = [
        [cell("H", header=True), cell("I", header=True)],
        [cell("r", header=True), cell("1")],
        [cell("S", header=True)],
    ]
    assert expand_grid(rows) == ([["H", "I"]], [["r", "1"], ["S"]])


def test_huge_colspan_is_bounded() -> None:
    assert len(expand_grid([[cell("a", colspan=10**9)]])[1][0]) == 1000


@pytest.mark.parametrize(("raw", "value"), [("2", 2), ('"3"', 3), ("4;", 4), ("x", 1), ("", 1), (None, 1)])
def test_span_attribute(raw: str | None, value: int) -> None:
    assert span(raw) == value


# -- Markdown -----------------------------------------------------------------------------------
def test_markdown_table_merges_header_rows_and_escapes() -> None:
    table = {
        "caption": "Population",
        "headers": [["Ville", "Recensement", "Recensement"], ["Ville", "2010", "2020"]],
        "rows": [["Lyon | Villeurbanne", "1\n2", "3"], ["Paris"]],
    }
    assert markdown_table(table) == (
        "Population\n"
        "| Ville | Recensement 2010 | Recensement 2020 |\n"
        "|---|---|---|\n"
        "| Lyon \\| Villeurbanne | 1<br>2 | 3 |\n"
        "| Paris |  |  |"
    )


def test_markdown_table_without_header_rows_gets_an_empty_one() -> None:
    assert markdown_table({"headers": [], "rows": [["a", "b"]]}) == "|  |  |\n|---|---|\n| a | b |"


def test_text_with_tables_puts_them_back_in_place() -> None:
    wikitext = (
        "Intro.\n{|\n! A\n|-\n| 1\n|}\nMilieu.\n== Liste ==\n{|\n! B\n|-\n| 2\n|\n{|\n| imbriquée\n|}\n|}\n"
        "== Fin ==\nConclusion.<ref>{|\n| dans une note\n|}</ref>"
    )
    content = extract_content(wikitext, site("fr"))
    assert text_with_tables(content.text, content.tables) == (
        "Intro.\n\n| A |\n|---|\n| 1 |\n\nMilieu.\n\nListe\n\n| B |  |\n|---|---|\n| 2 |  |\n\n"
        "|  |\n|---|\n| imbriquée |\n\nFin\nConclusion."
    )
    assert text_with_tables(content.text, []) == content.text


def test_text_with_tables_reads_records_back_from_parquet_shape() -> None:
    # offsets at the very end, several tables at one place, an offset past the end (clamped)
    tables = [
        {"identifier": "table-1", "headers": [], "rows": [["x"]], "text_offset": 4},
        {
            "identifier": "table-2",
            "headers": [],
            "rows": [["y"]],
            "text_offset": 4,
            "parent_identifier": None,
        },
        {"identifier": "table-3", "headers": [], "rows": [["z"]], "text_offset": 99},
    ]
    assert text_with_tables("Fin.", tables) == (
        "Fin.\n\n|  |\n|---|\n| x |\n\n|  |\n|---|\n| y |\n\n|  |\n|---|\n| z |"
    )
