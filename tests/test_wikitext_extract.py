"""extract_content on real snippets: what is dropped, what is kept, what is collected."""

from __future__ import annotations

import pickle

import pytest

from tests.test_wikitext_sites import site
from wikidrop.wikitext import extract_content


def text_of(wikitext: str, language: str, title: str = "") -> str:
    return extract_content(wikitext, site(language), title).text


# -- drop rules ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("language", "wikitext", "expected"),
    [
        # references: markup gone, sentence intact
        ("fr", "Paris est la capitale<ref name=\"insee\">{{Lien web|titre=Paris|url=http://insee.fr}}</ref> de la France.", "Paris est la capitale de la France."),
        ("en", "Alabama is a state.<ref>Foo</ref><ref name=a/> It is big.", "Alabama is a state. It is big."),
        # file links with their captions-as-markup, in each wiki's language and aliases
        ("fr", "[[Fichier:Paris Night.jpg|thumb|200px|La tour Eiffel]]\nParis est belle.", "Paris est belle."),
        ("de", "[[Datei:Berlin.jpg|mini|hochkant|Das [[Brandenburger Tor]]]]\nBerlin ist groß.", "Berlin ist groß."),
        ("de", "[[Bild:Berlin.jpg|links|120px]]Berlin ist groß.", "Berlin ist groß."),
        ("uk", "[[Файл:Kyiv.jpg|thumb|праворуч|Київ]]\nКиїв — столиця України.", "Київ — столиця України."),
        ("ja", "[[画像:Tokyo.jpg|サムネイル|東京]]東京は日本の首都である。", "東京は日本の首都である。"),
        # a media file under an alias the XML header cannot list (Latvian "Attēls" on ltgwiki)
        ("en", "[[Attēls:MountainLion.jpg|thumb|250px|]]\nPuma concolor irā kaķs.", "Puma concolor irā kaķs."),
        # categories (collected elsewhere) and interlanguage links
        ("fr", "Texte.\n\n[[Catégorie:Linguiste français]]\n[[Category:Naissance en 1866]]\n[[en:Antoine Meillet]]", "Texte."),
        ("ar", "القاهرة هي عاصمة مصر.\n[[تصنيف:عواصم]]", "القاهرة هي عاصمة مصر."),
        # a header without the wiki's own names (copied enwiki header): category lines still go
        ("en", "Text über [[Kant]].\n\n[[Kategorie:Philosoph]]\n[[Kategorie:Mann|Schopenhauer]]", "Text über Kant."),
        ("en", "See [[Star Wars: Episode IV]].\n[[Mission:Impossible]] is a film.", "See Star Wars: Episode IV.\nMission:Impossible is a film."),
        # magic words, behaviour switches, DEFAULTSORT in its localized forms
        ("fr", "__NOTOC__\nTexte.{{DEFAULTSORT:Meillet, Antoine}}", "Texte."),
        ("de", "Text.\n{{SORTIERUNG:Schopenhauer, Arthur}}__KEIN_INHALTSVERZEICHNIS__", "Text."),
        ("ja", "本文。__目次__", "本文。"),
        # tables: no syntax left (cell text is data, not prose)
        ("en", "Intro.\n{| class=\"wikitable\"\n|-\n! Year !! Pop.\n|-\n| 1900 || 1,828,697\n|}\nAfter.", "Intro.\n\nAfter."),
        ("uk", "Текст.\n<center>\n: {| style=\"border:1px solid #ddd\"\n| [[Файл:A.jpg|96px]] || [[Файл:B.jpg|96px]]\n|}\n</center>\nДалі.", "Текст.\n\nДалі."),
        # ltgwiki "Spanīšu volūda": "{|" tables (one nested) closed by "</table>" as MediaWiki allows;
        # the article's prose after them is kept
        ("ltg", "{| border= cellpadding=2 cellspacing=0 align=right width=290px>\n\n<tr style=background:><td align=center><font size=+1>'''Spanīšu volūda'''\n{| border=1 cellpadding=2 cellspacing=0 align=left width=290px>\n<tr><td align=left>Raksteiba:<td align=left>latiņu (spanīšu variants)\n</table>\n</table>\n'''Spanīšu volūda''' aba '''kastilīšu volūda''' — vysuvairuok runojamuo [[Romanīšu volūdys|romanīšu volūda]].\n\n[[Kategoreja:Volūdys]]", "Spanīšu volūda aba kastilīšu volūda — vysuvairuok runojamuo romanīšu volūda."),
        # a nested unparsed table: its own "|}" does not end the outer one
        ("en", "Intro.\n{| border=1\n| a\n{| border=1\n| b\n|}\ncell text\n|}\nAfter.", "Intro.\n\nAfter."),
        # an unpaired transclusion tag (mrwiki "भारतातील राजकीय पक्ष"): the tag goes, the list stays
        ("en", "Parties\n\n<noinclude>\n# Tamil Maanila Congress\n# Telugu Desam Party", "Parties\n\n1. Tamil Maanila Congress\n2. Telugu Desam Party"),
        # HTML tags and attributes: inner text kept
        ("en", "<span style=\"color:red\">Red</span> and <b>bold</b> and <small>small</small>.", "Red and bold and small."),
        ("en", "Line one<br />line two.", "Line one\nline two."),
        ("en", "Keep <!-- hidden comment --> this.", "Keep this."),
        # navboxes and maintenance templates vanish without holes
        ("en", "Text.\n{{Navbox|name=Anarchism|list1=[[A]] · [[B]]}}\n{{Authority control}}", "Text."),
        ("en", "Text.{{citation needed|date=May 2020}} More.", "Text. More."),
        # bold/italic quotes
        ("en", "'''Anarchism''' is a ''political philosophy''.", "Anarchism is a political philosophy."),
        # broken markup MediaWiki would show raw (a link split over two lines)
        ("uk", "Лігурійська, [[Італійська республіка республіки.", "Лігурійська, Італійська республіка республіки."),
    ],
)  # fmt: skip
def test_drop_rules(language: str, wikitext: str, expected: str) -> None:
    assert text_of(wikitext, language) == expected


# -- lists and sections -------------------------------------------------------------------------
def test_lists_one_item_per_line_with_markers() -> None:
    wikitext = "Voir :\n* [[Paris]]\n* Lyon\n** Villeurbanne\n# premier\n# second\n#* détail\n; Terme\n: définition\nFin."
    assert text_of(wikitext, "fr") == (
        "Voir :\n- Paris\n- Lyon\n  - Villeurbanne\n1. premier\n2. second\n  - détail\nTerme\ndéfinition\nFin."
    )


def test_html_list_items_are_kept() -> None:
    assert text_of("<ul><li>Eins</li><li>Zwei</li></ul>", "de") == "- Eins\n- Zwei"


def test_sections_lead_and_empty_headings() -> None:
    wikitext = (
        "'''Antoine Meillet''' est un linguiste.\n\n== Biographie ==\nNé à Moulins.\n"
        "=== Jeunesse ===\nÉtudes.\n== Références ==\n{{Références}}\n== Liens ==\n* [[Linguistique]]\n"
    )
    content = extract_content(wikitext, site("fr"), "Antoine Meillet")
    assert content.abstract == "Antoine Meillet est un linguiste."
    assert content.sections == [
        {"name": "", "level": 0, "text": "Antoine Meillet est un linguiste."},
        {"name": "Biographie", "level": 2, "text": "Né à Moulins."},
        {"name": "Jeunesse", "level": 3, "text": "Études."},
        {"name": "Références", "level": 2, "text": ""},
        {"name": "Liens", "level": 2, "text": "- Linguistique"},
    ]
    assert content.text == (
        "Antoine Meillet est un linguiste.\n\nBiographie\nNé à Moulins.\n\nJeunesse\nÉtudes.\n\nLiens\n- Linguistique"
    )


def test_page_without_lead_has_no_lead_section() -> None:
    content = extract_content("== 歴史 ==\n本文。", site("ja"))
    assert content.abstract == ""
    assert content.sections == [{"name": "歴史", "level": 2, "text": "本文。"}]


# -- collected fields ---------------------------------------------------------------------------
def test_links_categories_templates_with_local_prefixes() -> None:
    wikitext = (
        "{{Infobox Pays|nom=France}}[[Paris|La capitale]] et [[paris]], [[Paris#Histoire|son histoire]], "
        "[[Lyon]], [[:Catégorie:Ville de France]], [[wikt:ville|ville]], [[Fichier:X.jpg|thumb|x]].\n"
        "{{Lien web|titre=x}} {{modèle:Portail|France}}\n[[Category:Ville]][[Catégorie:Capitale]][[Catégorie:Ville]]"
    )
    content = extract_content(wikitext, site("fr"))
    assert content.links == ["Paris", "Lyon"]
    assert content.categories == ["Catégorie:Ville", "Catégorie:Capitale"]
    assert content.templates == ["Modèle:Infobox Pays", "Modèle:Lien web", "Modèle:Portail"]
    assert content.text.startswith("La capitale et paris, son histoire, Lyon, Ville de France, ville.")


def test_infobox_params_are_raw_wikitext() -> None:
    wikitext = (
        "{{Infobox U.S. state\n| name = Alabama\n| seat = [[Montgomery, Alabama|Montgomery]]\n"
        "| motto = {{lang-la|Audemus jura nostra defendere}}<!-- note -->\n}}\n'''Alabama''' is a state."
    )
    content = extract_content(wikitext, site("en"))
    assert content.infoboxes == [
        {
            "name": "Infobox U.S. state",
            "params": {
                "name": "Alabama",
                "seat": "[[Montgomery, Alabama|Montgomery]]",
                "motto": "{{lang-la|Audemus jura nostra defendere}}",
            },
        }
    ]
    assert content.text == "Alabama is a state."
    assert "Montgomery, Alabama" in content.links


@pytest.mark.parametrize(
    ("language", "wikitext", "name"),
    [
        ("ja", "{{基礎情報 国\n|略名 = 日本\n|首都 = [[東京]]\n}}\n日本国は東アジアの国。", "基礎情報 国"),
        ("uk", "{{Картка:Країна\n|назва = Україна\n}}\nУкраїна — держава.", "Картка:Країна"),
        ("ru", "{{Государство\n|Русское название = Литва\n}}\nЛитва — государство.", "Государство"),
    ],
)
def test_localized_infoboxes(language: str, wikitext: str, name: str) -> None:
    content = extract_content(wikitext, site(language))
    assert [box["name"] for box in content.infoboxes] == [name]
    assert "{{" not in content.text and "=" not in content.text


def test_references_collected_with_citation_template() -> None:
    wikitext = (
        'Paris<ref name="insee" group="n">{{Lien web|auteur=INSEE|titre=Populations légales|année=2020}}</ref> '
        'est grande.<ref name="insee"/><ref>Le Monde, 2019.</ref>{{efn|Une note.}}'
    )
    content = extract_content(wikitext, site("fr"))
    assert content.text == "Paris est grande."
    assert content.references == [
        {
            "name": "insee",
            "group": "n",
            "text": "INSEE. Populations légales. 2020",
            "template": "Lien web",
            "params": {"auteur": "INSEE", "titre": "Populations légales", "année": "2020"},
        },
        {"name": None, "group": None, "text": "Le Monde, 2019.", "template": None, "params": {}},
        {"name": None, "group": None, "text": "Une note.", "template": "efn", "params": {"1": "Une note."}},
    ]


def test_pagename_and_pipe_trick() -> None:
    assert text_of("{{PAGENAME}} est une ville. Voir [[Lyon (France)|]].", "fr", "Lyon") == (
        "Lyon est une ville. Voir Lyon."
    )


def test_magic_variables_are_not_templates() -> None:
    # ltgwiki's main page: "Niule latgaļu volūdā: {{NUMBEROFARTICLES}} rakstīni"
    content = extract_content(
        "Niule: '''{{NUMBEROFARTICLES}}''' rakstīni {{Vierteigs rakstīņs}}", site("ltg")
    )
    assert content.text == "Niule: rakstīni"
    assert content.templates == ["Taiss:Vierteigs rakstīņs"]


def test_pathological_input_returns() -> None:
    content = extract_content("{{a|" * 200 + "texte", site("en"))
    assert "{{" not in content.text


def test_page_content_survives_pickling() -> None:
    """The parse job runs extraction in a guarded child process and ships results back."""
    content = extract_content("Texte.<ref>Source.</ref>\n[[Catégorie:X]]", site("fr"))
    assert pickle.loads(pickle.dumps(content)) == content
