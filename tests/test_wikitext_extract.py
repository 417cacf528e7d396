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


def test_infobox_params_clean_value_links_images_and_wikitext() -> None:
    wikitext = (
        "{{Infobox Commune de France\n| nom = Lyon\n| image = Lyon montage.jpg\n| taille image = 250px\n"
        "| blason = [[Fichier:Blason Lyon.svg|80px]]\n| maire = [[Grégory Doucet]]<ref>{{Lien web|titre=Mairie"
        "|url=https://www.lyon.fr}}</ref>\n| population = {{formatnum:522250}} hab.<br>(2020)\n| site = [https://www.lyon.fr lyon.fr]\n"
        "| gentilé = ''Lyonnais''<!-- commentaire -->\n| vide =\n| commons = Category:Lyon\n"
        "| photo = Vieux Lyon<br>Fichier:Lyon 5e.jpg\n}}\n'''Lyon''' est une commune."
    )
    content = extract_content(wikitext, site("fr"))
    [box] = content.infoboxes
    assert box["name"] == "Infobox Commune de France"
    params = {p["name"]: p for p in box["params"]}
    assert list(params) == [
        "nom",
        "image",
        "taille image",
        "blason",
        "maire",
        "population",
        "site",
        "gentilé",
        "commons",
        "photo",
    ]
    assert {name: p["value"] for name, p in params.items()} == {
        "nom": "Lyon",
        "image": "",  # a file name: in images
        "taille image": "",  # a size is an instruction to MediaWiki, kept in value_wikitext
        "blason": "",
        "maire": "Grégory Doucet",
        "population": "522250 hab.\n(2020)",
        "site": "lyon.fr",
        "gentilé": "Lyonnais",
        "commons": "Lyon",  # a bare title reads as its link [[:Category:Lyon]] would
        "photo": "Vieux Lyon",
    }
    assert params["photo"]["images"] == [
        {"name": "Lyon 5e.jpg", "url": "https://fr.wikipedia.org/wiki/Fichier:Lyon_5e.jpg"}
    ]
    assert params["image"]["images"] == [
        {"name": "Lyon montage.jpg", "url": "https://fr.wikipedia.org/wiki/Fichier:Lyon_montage.jpg"}
    ]
    assert params["blason"]["images"] == [
        {"name": "Blason Lyon.svg", "url": "https://fr.wikipedia.org/wiki/Fichier:Blason_Lyon.svg"}
    ]
    assert params["maire"]["links"] == [
        {"text": "Grégory Doucet", "url": "https://fr.wikipedia.org/wiki/Gr%C3%A9gory_Doucet"}
    ]
    assert params["site"]["links"] == [{"text": "lyon.fr", "url": "https://www.lyon.fr"}]
    assert params["gentilé"]["value_wikitext"] == "''Lyonnais''"
    assert params["taille image"]["value_wikitext"] == "250px"
    # the reference inside a value is a reference of the page; its URL is not a link of the value
    assert [r["source"] for r in content.references] == ["https://www.lyon.fr"]
    assert content.text == "Lyon est une commune."
    assert "Grégory Doucet" in content.links


@pytest.mark.parametrize(
    ("language", "wikitext", "name"),
    [
        # names the render_rules hint lists
        ("ja", "{{基礎情報 国\n|略名 = 日本\n|首都 = [[東京]]\n}}\n日本国は東アジアの国。", "基礎情報 国"),
        ("uk", "{{Картка:Країна\n|назва = Україна\n}}\nУкраїна — держава.", "Картка:Країна"),
        # names no list holds: recognised by their layout (ukwiki's sample articles, mrwiki, bnwiki)
        ("uk", "{{Особа\n | ім'я = Тарас Шевченко\n | дата_народження = 9 березня 1814\n"
               " | місце_народження = [[Моринці]]\n}}\n'''Тарас Шевченко''' — поет.", "Особа"),
        ("uk", "{{Річка\n | назва = Дніпро\n | довжина = 2201\n | басейн = 504000\n}}\nДніпро — річка.", "Річка"),
        ("fr", "{{Voir homonymes|Lyon}}\n{{Infobox Fromage\n| nom = Camembert\n| pays = France\n"
               "| lait = vache\n}}\nLe '''camembert''' est un fromage.", "Infobox Fromage"),
        ("ja", "{{Otheruses}}\n{{東京都の特別区\n|画像 = Taito.jpg\n|区旗 = 台東区旗\n|自治体名 = 台東区\n}}\n台東区は東京都の区。",
         "東京都の特別区"),
        # one line, many parameters (mrwiki "ऊर्मिला")
        ("fr", "{{Personnage|nom=Urmila|image=U.jpg|naissance=Mithila|père=[[Janaka]]|mère=Sunayana|conjoint=[[Lakshmana]]}}\n"
               "'''Urmila''' est un personnage.", "Personnage"),
    ],
)  # fmt: skip
def test_infoboxes_recognised_in_every_language(language: str, wikitext: str, name: str) -> None:
    content = extract_content(wikitext, site(language))
    assert [box["name"] for box in content.infoboxes] == [name]
    values = [p["value"] for p in content.infoboxes[0]["params"]]
    assert values and all("[[" not in v and "{{" not in v for v in values)
    assert "{{" not in content.text and "=" not in content.text


@pytest.mark.parametrize(
    "wikitext",
    [
        # a citation at the start of the page is one line of few parameters
        "{{Lien web|titre=Source|url=https://example.org|date=2020}}\nTexte.",
        # a data-box-like call after the prose has started: a navigation box at the end of a stub
        "Lyon est une commune de France. " * 12 + "\n{{Palette\n| titre = Villes\n| liste1 = [[Lyon]]\n"
        "| liste2 = [[Paris]]\n| liste3 = [[Nice]]\n}}",
        # in a section, not near the start of the page
        "Texte.\n== Climat ==\n{{Climat\n| ville = Lyon\n| jan = 3\n| fév = 5\n| mar = 9\n}}",
        # image and quote boxes of the lead, which the render rules name
        "{{Multiple image\n| align = right\n| image1 = A.jpg\n| image2 = B.jpg\n| caption1 = A\n}}\nTexte.",
        "{{Quote box\n| quote = Une citation.\n| source = Quelqu'un\n| width = 30%\n}}\nTexte.",
        # a template with positional parameters only
        "{{Coord|45|45|N|4|50|E}}\nTexte.",
    ],
)
def test_templates_that_are_not_infoboxes(wikitext: str) -> None:
    assert extract_content(wikitext, site("fr")).infoboxes == []


def test_infobox_table_by_its_class() -> None:
    wikitext = (
        '{| class="infobox" style="width:22em"\n|+ Lyon\n|-\n! Pays\n| [[France]]\n|-\n! Population\n'
        "| 522 250 hab.\n|-\n| colspan=2 | [[Fichier:Lyon.jpg|200px]]\n|}\nLyon est une ville."
    )
    content = extract_content(wikitext, site("fr"))
    assert content.tables == []
    [box] = content.infoboxes
    assert box["name"] == "Lyon"
    assert [(p["name"], p["value"]) for p in box["params"]] == [
        ("Pays", "France"),
        ("Population", "522 250 hab."),
    ]
    assert box["params"][0]["links"] == [{"text": "France", "url": "https://fr.wikipedia.org/wiki/France"}]


def test_infobox_value_holding_an_escaped_table() -> None:
    # jawiki 岩手県: a table written with {{(!}} {{!}} {{!-}} {{!!}} {{!)}} inside a parameter
    wikitext = (
        '{{基礎情報 都道府県\n|画像の説明 = {{(!}} style="width:280px"\n{{!}} [[中尊寺金色堂]]覆堂{{!!}}[[浄土ヶ浜]]\n'
        "{{!-}}\n{{!}}[[八幡平]]{{!!}}岩手山\n{{!)}}\n|都道府県名 = 岩手県\n}}\n岩手県は東北地方の県。"
    )
    content = extract_content(wikitext, site("ja"))
    params = {p["name"]: p["value"] for p in content.infoboxes[0]["params"]}
    assert params == {"画像の説明": "", "都道府県名": "岩手県"}
    assert content.tables[0]["rows"] == [["中尊寺金色堂覆堂", "浄土ヶ浜"], ["八幡平", "岩手山"]]
    assert content.tables[0]["text_offset"] is None  # inside a value, not in the text


def test_references_citations_notes_and_sources() -> None:
    wikitext = (
        'Paris<ref name="insee">{{Lien web|auteur=INSEE|titre=Populations légales|année=2020'
        "|url=https://www.insee.fr/fr/statistiques|archive-url=https://web.archive.org/x}}</ref> "
        'est grande.<ref name="insee"/><ref>Le Monde, 2019, [https://lemonde.fr/a article].</ref>'
        '<ref group="n">Paris intra-muros seulement, voir [[Grand Paris]].</ref>{{efn|Une note.}}'
        "<ref>[[Fichier:X.jpg]]</ref>"
        '<references><ref name="livre">{{Ouvrage|auteur=Hugo|titre=Notre-Dame de Paris}}</ref></references>'
    )
    content = extract_content(wikitext, site("fr"))
    assert content.text == "Paris est grande."
    assert [
        (r["identifier"], r["group"], r["type"], r["text"], r["source"], r["template"]) for r in content.references
    ] == [
        ("cite_note-insee-1", None, "citation", "INSEE. Populations légales. 2020", "https://www.insee.fr/fr/statistiques", "Lien web"),
        ("cite_note-2", None, "citation", "Le Monde, 2019, article.", "https://lemonde.fr/a", None),
        ("cite_note-3", "n", "note", "Paris intra-muros seulement, voir Grand Paris.", None, None),
        ("cite_note-4", None, "note", "Une note.", None, "efn"),
        ("cite_note-livre-5", None, "citation", "Hugo. Notre-Dame de Paris", None, "Ouvrage"),
    ]  # fmt: skip
    assert content.references[0]["metadata"]["auteur"] == "INSEE"
    assert content.references[1]["links"] == [{"text": "article", "url": "https://lemonde.fr/a"}]
    assert content.references[2]["links"] == [
        {"text": "Grand Paris", "url": "https://fr.wikipedia.org/wiki/Grand_Paris"}
    ]


def test_named_reference_defined_twice_is_one_reference() -> None:
    content = extract_content("A.<ref name=x>Source.</ref> B.<ref name=x>Source.</ref>", site("fr"))
    assert [r["identifier"] for r in content.references] == ["cite_note-x-1"]


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
