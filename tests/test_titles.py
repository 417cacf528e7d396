"""Title normalisation against real namespace names (fr, uk, ja, de, ar, en headers)."""

from __future__ import annotations

import pytest

from tests.test_wikitext_sites import site
from wikidrop.dumps.siteinfo import SiteInfo
from wikidrop.dumps.titles import normalize_title


@pytest.mark.parametrize(
    ("language", "raw", "default_ns", "expected"),
    [
        ("fr", "catégorie:Physique_quantique#Histoire", 0, (14, "Catégorie:Physique quantique")),
        ("fr", "Category:Physique", 0, (14, "Catégorie:Physique")),  # canonical name -> local
        ("fr", "  paris  ", 0, (0, "Paris")),
        ("fr", ":Catégorie:Linguiste", 0, (14, "Catégorie:Linguiste")),
        ("fr", "Infobox Pays", 10, (10, "Modèle:Infobox Pays")),
        ("fr", "modèle:Infobox_Pays", 10, (10, "Modèle:Infobox Pays")),
        ("fr", ":Paris", 10, (0, "Paris")),  # {{:Paris}} transcludes an article
        ("uk", "файл:Київ.jpg", 0, (6, "Файл:Київ.jpg")),
        ("uk", "Image:Київ.jpg", 0, (6, "Файл:Київ.jpg")),  # MediaWiki core alias
        ("ja", "カテゴリ:日本の都市", 0, (14, "Category:日本の都市")),  # jawiki alias
        ("de", "bild:Berlin.jpg", 0, (6, "Datei:Berlin.jpg")),
        ("ar", "تصنيف:عواصم", 0, (14, "تصنيف:عواصم")),
        ("en", "Caf%C3%A9_society", 0, (0, "Café society")),
        ("en", "AT&amp;T", 0, (0, "AT&T")),
        ("en", "iPod", 0, (0, "IPod")),
        ("en", "Foo:bar", 0, (0, "Foo:bar")),  # not a namespace: part of the title
        ("de", "ßtraße", 0, (0, "ßtraße")),  # "ß".upper() grows: MediaWiki keeps it
        ("en", "Paris\u200e", 0, (0, "Paris")),
    ],
)
def test_normalize_title(language: str, raw: str, default_ns: int, expected: tuple[int, str]) -> None:
    assert normalize_title(raw, site(language), default_ns) == expected


@pytest.mark.parametrize("raw", ["", "   ", "#Section", "Category:", "Foo[bar]", "a{{b}}", "x|y"])
def test_invalid_titles_are_none(raw: str) -> None:
    assert normalize_title(raw, site("en")) is None


def test_case_sensitive_namespace_keeps_first_letter() -> None:
    wiktionary = SiteInfo.from_dict(
        {
            "dbname": "frwiktionary",
            "case": "case-sensitive",
            "namespaces": [{"id": 0, "name": "", "case": "case-sensitive"}],
        }
    )
    assert normalize_title("chat", wiktionary) == (0, "chat")
