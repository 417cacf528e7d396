"""Quality measures count known residue, and nothing in clean text."""

from __future__ import annotations

import pytest

from tests.test_wikitext_sites import site
from wikidrop.quality.measures import holes, leftover_markup, list_items_kept, prose_wikitext_bytes

RESIDUE_FR = (
    "Voir [[Paris]] et {{Lien web}} ici.\n"
    '{| class="wikitable"\n|-\n| a || b\n|}\n'
    "thumb|200px|La tour\n"
    "Fichier:Tour.jpg et Catégorie:Paris\n"
    "<span>x</span> __NOTOC__ AT&amp;T"
)


def test_leftover_counts_each_kind() -> None:
    assert leftover_markup(RESIDUE_FR, site("fr")) == {
        "link_brackets": 2,
        "template_brackets": 2,
        "table_syntax": 4,  # {| |- || |}
        "image_params": 2,  # thumb| 200px
        "ns_prefixes": 2,  # Fichier: Catégorie:
        "html_tags": 3,  # <span> </span> class="
        "magic_words": 1,
        "entities": 1,
    }


@pytest.mark.parametrize(
    ("language", "text", "prefix_hits"),
    [
        ("uk", "Файл:Київ.jpg і Категорія:Міста", 2),
        ("uk", "Fichier:Paris.jpg", 0),  # French names are not ukwiki's
        ("ja", "ファイル:東京.jpg と カテゴリ:日本", 2),  # local name and alias
        ("de", "Bild:Berlin.jpg", 1),
        ("en", "Star Wars: Episode IV", 0),
    ],
)
def test_namespace_prefixes_come_from_siteinfo(language: str, text: str, prefix_hits: int) -> None:
    assert leftover_markup(text, site(language))["ns_prefixes"] == prefix_hits


def test_clean_text_has_no_leftover() -> None:
    text = "Paris est la capitale de la France.\n\nHistoire\n- Lutèce\n- Paris (1900–2000)"
    assert sum(leftover_markup(text, site("fr")).values()) == 0


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "At , Alabama has () many towns.", 2),
        ("en", "It lies at the end of the road.", 0),
        ("en", "Born in (; ) the city of.", 2),
        ("fr", "Il est né à , en France, au .", 2),
        ("de", "Er wohnte im , nicht in Berlin.", 1),
        ("de", "Er setzte sich dafür ein, dass", 0),  # separable particle, not a hole
        ("ja", "東京（）は、日本の首都（、）。", 2),  # particles before 、 are not holes
        ("uk", "Він жив у , потім у Києві.", 1),
        ("uk", "Учення (В. І. Вернадський) розкрило", 0),  # initials, not prepositions
        ("en", "up to 18 cm (7.1 in) long", 0),  # inch unit
    ],
)
def test_holes(language: str, text: str, expected: int) -> None:
    assert holes(text, language) == expected


def test_list_items_kept_counts_body_items_only() -> None:
    wikitext = (
        "Intro.\n* [[Paris|La ville]] est belle\n* {{lang|fr|Lyon}}\n"
        "{{Navbox|\n* [[Marseille]] navigation\n}}\n"
        "{|\n|\n* cellule de tableau\n|}\n"
        "# second [https://example.org élément]\n"
        "* {{Ouvrage|titre=Un livre\n|année=1903}} <!-- * not an item -->\n"
    )
    assert list_items_kept(wikitext, "Intro.\n- La ville est belle\n1. second élément") == (2, 2)
    assert list_items_kept(wikitext, "Intro.\n- La ville est belle") == (2, 1)
    assert list_items_kept("Pas de liste.", "Pas de liste.") == (0, 0)


# -- prose-bearing wikitext ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("language", "wikitext", "expected"),
    [
        ("fr", "Paris est belle.", "Paris est belle."),
        # links keep their brackets; file, category and interlanguage links are not prose
        ("fr", "Voir [[Paris]].\n[[Fichier:Tour.jpg|thumb|La [[tour Eiffel]]]]\n[[Catégorie:Ville]][[en:Paris]]", "Voir [[Paris]].\n\n"),
        # ltgwiki's city lists: gallery lines under a local alias, then a table with nested cells
        ("ltg", "[[Fails:Tallinn.jpg|thumb|160px|[[Talins]]]]\n{| border=2\n|-\n| 1.\n| [[Talins]]\n|}\nMīsti.", "\n\nMīsti."),
        # "</table>" closes a "{|" table, nested tables count, "|}}" closes a template, not a table
        ("ltg", "{| a\n{| b\n| x\n</table>\n</table>\nVolūda.", "\nVolūda."),
        ("fr", "{| a\n| {{Modèle\n|x=1\n|}}\n| y\n|}\nFin.", "\nFin."),
        # templates (infoboxes, hatnotes, page-generating templates), comments and galleries
        ("fr", "{{Infobox Ville|nom=[[Paris]]}}<!-- note -->Texte<gallery>A.jpg|a</gallery>.", "Texte."),
        # an unclosed table runs to the end of the page, as in MediaWiki
        ("fr", "Début.\n{| a\n| b", "Début.\n"),
    ],
)  # fmt: skip
def test_prose_wikitext_bytes_counts_only_the_pages_own_prose(
    language: str, wikitext: str, expected: str
) -> None:
    assert prose_wikitext_bytes(wikitext, site(language)) == len(expected.encode("utf-8"))
