"""SiteInfo objects for the wikitext/title/quality tests: real siteinfo, never an English guess.

fr, uk and ja come from the project's own samples (``samples/<db>-20261101-siteinfo.json``, the
wikis' real ``meta=siteinfo`` namespaces and aliases); en, ru and ltg from the ``<siteinfo>`` of
the real dumps in SHARED_DUMPS (tests using them skip without ../shared); de and ar (and pt) have
no trustworthy header among the samples, so their real namespace names are given inline.
"""

from __future__ import annotations

from functools import cache

import pytest

from tests.conftest import PROJECT_ROOT, SHARED_DUMPS, require_shared_dumps
from wikidrop.dumps.export import open_dump
from wikidrop.dumps.siteinfo import SiteInfo

_SAMPLES = {"fr": "frwiki", "uk": "ukwiki", "ja": "jawiki"}
_HEADERS = {
    "en": "derived/enwiki-2022-head-10MB-CLOSED-wp2txt.xml.bz2",
    "ru": "ru/ruwiki-2019-2pages-TRUNCATED-corus.xml.bz2",
    "ltg": "ltg/ltgwiki-2017-COMPLETE-pages-articles-dumpster-dive.xml.bz2",
}
# Real namespace names and aliases (dewiki / ptwiki / arwiki siteinfo-namespaces.json).
_INLINE = {
    "de": {
        -2: ("Medium", []), 6: ("Datei", ["Bild"]), 10: ("Vorlage", []), 14: ("Kategorie", []),
    },
    "pt": {
        -2: ("Multimédia", []), 6: ("Ficheiro", ["Arquivo", "Imagem"]), 10: ("Predefinição", []),
        14: ("Categoria", []),
    },
    "ar": {-2: ("ميديا", []), 6: ("ملف", ["صورة"]), 10: ("قالب", []), 14: ("تصنيف", [])},
}  # fmt: skip
_CANONICAL = {-2: "Media", 0: "", 6: "File", 10: "Template", 14: "Category"}


@cache
def site(language: str) -> SiteInfo:
    """The SiteInfo of ``language``'s wiki as the tests use it."""
    if language in _SAMPLES:
        path = PROJECT_ROOT / "samples" / f"{_SAMPLES[language]}-20261101-siteinfo.json"
        return SiteInfo.from_siteinfo_json(path.read_bytes())
    if language in _HEADERS:
        require_shared_dumps()
        with open_dump(str(SHARED_DUMPS / _HEADERS[language]), allow_truncated=True) as reader:
            header = reader.siteinfo
        assert header is not None
        return header
    names = _INLINE[language]
    namespaces = [{"id": 0, "name": "", "canonical": ""}] + [
        {"id": i, "name": name, "canonical": _CANONICAL[i], "aliases": aliases}
        for i, (name, aliases) in names.items()
    ]
    return SiteInfo.from_dict({"dbname": f"{language}wiki", "language": language, "namespaces": namespaces})


@pytest.mark.parametrize(
    ("language", "ns_id", "local"),
    [
        ("fr", 14, "Catégorie"),
        ("uk", 6, "Файл"),
        ("ja", 6, "ファイル"),
        ("ru", 10, "Шаблон"),
        ("de", 14, "Kategorie"),
    ],
)
def test_test_sites_carry_local_namespace_names(language: str, ns_id: int, local: str) -> None:
    assert site(language).namespace_name(ns_id) == local
    assert site(language).language == language
