"""Value templates are rendered (not holed) by the per-language tables of render_rules."""

from __future__ import annotations

import pytest

from tests.test_wikitext_sites import site
from wikidrop.wikitext import extract_content
from wikidrop.wikitext.render_rules import RENDER_RULES, rules_for


@pytest.mark.parametrize(
    ("language", "wikitext", "expected"),
    [
        # convert / cvt, with conversions, ranges and unknown units
        ("en", "It is {{convert|10|km|mi}} long.", "It is 10 km (6.2 mi) long."),
        ("en", "A {{cvt|5|ft|m}} wall.", "A 5 ft (1.5 m) wall."),
        ("en", "From {{convert|1|to|2|km}} away.", "From 1 to 2 km (0.62 to 1.2 mi) away."),
        ("en", "Area {{convert|52,419|sqmi|km2}}.", "Area 52,419 sq mi (135,760 km2)."),
        ("en", "At {{convert|20|C|F}}.", "At 20 °C (68 °F)."),
        ("en", "A total of {{convert|1500|mi|km}} of waterways.", "A total of 1500 mi (2,400 km) of waterways."),
        ("en", "It is {{convert|3.50|m|ft}} tall.", "It is 3.50 m (11.5 ft) tall."),
        ("en", "Some {{convert|3|furlong}}.", "Some 3 furlong."),
        # lang and its variants
        ("fr", "Le mot {{lang|de|Bahnhof}} désigne une gare.", "Le mot Bahnhof désigne une gare."),
        ("en", "Berlin ({{lang-de|Berlin}}) is a city.", "Berlin (Berlin) is a city."),
        ("en", "Paris ({{langx|fr|Paris}}) is big.", "Paris (Paris) is big."),
        ("uk", "Текст {{lang-cu2|Слово}} далі.", "Текст Слово далі."),
        ("en", "{{nowrap|New York}} City", "New York City"),
        ("en", "{{transl|ru|Moskva}} is", "Moskva is"),
        # numbers and dates
        ("fr", "Population : {{formatnum:98659}} habitants.", "Population : 98659 habitants."),
        ("en", "Born {{birth date|1993|2|4}}.", "Born February 4, 1993."),
        ("en", "Born {{birth date|1993|2|4|df=y}}.", "Born 4 February 1993."),
        ("en", "Died {{death date and age|2000|5|6|1920|8|1}}.", "Died May 6, 2000 (aged 79)."),
        ("en", "Opened {{start date|2010|5}}.", "Opened May 2010."),
        ("ja", "{{生年月日と年齢|1950|1|2}}生まれ。", "1950年1月2日生まれ。"),
        # French centuries, ordinals, units
        ("fr", "Au {{s-|XV}}, la ville grandit.", "Au XVe siècle, la ville grandit."),
        ("fr", "Au {{s-|I}} et au {{-s-|III}}.", "Au Ier siècle et au IIIe siècle av. J.-C.."),
        ("fr", "Du {{sp-|XV|au|XVI}}.", "Du XVe au XVIe siècles."),
        ("fr", "Le {{1er}} mai du {{XXe siècle}}.", "Le 1er mai du XXe siècle."),
        ("fr", "Une superficie de {{unité|105.4|km|2}}.", "Une superficie de 105.4 km 2."),
        ("fr", "Soit {{nombre|3|habitants}}.", "Soit 3 habitants."),
        ("fr", "Né le {{date|17|mars|1912}}.", "Né le 17 mars 1912."),
        ("pt", "Documentada pela primeira vez no {{séc|XIII}}, Berlim.", "Documentada pela primeira vez no século XIII, Berlim."),
        # pronunciation dropped with its parentheses and separators
        ("en", "'''Alabama''' ({{IPAc-en|ˌ|æ|l|ə|ˈ|b|æ|m|ə}}) is a state.", "Alabama is a state."),
        ("fr", "Paris ({{prononciation|pa.ʁi}}) est la capitale.", "Paris est la capitale."),
        ("de", "Berlin ({{IPA-de|bɛɐ̯ˈliːn}}; {{lang-en|Berlin}}) ist groß.", "Berlin (Berlin) ist groß."),
        ("en", "Helius ({{IPAc-en|ˈ|h|iː|l|i|ə|s}} {{respell|HEE|lee|əs}}; {{lang|grc|Ἥλιος}}) is", "Helius (Ἥλιος) is"),
        # names across scripts and interlanguage links
        ("en", "{{nihongo|Tokyo|東京|Tōkyō}} is", "Tokyo (東京, Tōkyō) is"),
        ("ja", "{{仮リンク|カール・マルクス|en|Karl Marx}}は", "カール・マルクスは"),
        ("ja", "[[蘚類]] {{sname||Bryophyta}}", "蘚類 Bryophyta"),
        ("uk", "Див. {{нп|Прага (місто)|Прагу|en|Prague}}.", "Див. Прагу."),
        ("ru", "Живёт {{число|5|человек}}.", "Живёт 5 человек."),
        ("de", "Der Ort liegt auf {{Höhe|34|DE-NN}}.", "Der Ort liegt auf 34 m ü. NN."),
        # rules added from what the sample dumps actually use
        ("uk", "Народився {{ДН|14|3|1854}}, помер {{дата|1912|2|20}}.", "Народився 14 березня 1854, помер 20 лютого 1912."),
        ("ltg", "Auguoji ({{Vol-la|Plantae}}, {{Vol-en|plants}}) irā", "Auguoji (Plantae, plants) irā"),
        ("ja", "{{inline-block|本部がある。}}{{sup|2}}", "本部がある。2"),
        ("fr", "Il fait {{tmp|2|°C}} en janvier.", "Il fait 2 °C en janvier."),
        ("ja", "{{読み仮名|\'\'\'言語\'\'\'|げんご|{{lang-en-short|language}}}}は、記号。", "言語（げんご、language）は、記号。"),
        ("ja", "小文字の {{el|[[ε]]}}（エプシロン）{{en icon}}{{en}}。", "小文字の ε（エプシロン）。"),
        ("ja", "{{see|Category:岡山県のケーブルテレビ局}}\n本文。", "本文。"),  # a hatnote, not a language
        ("en", "The sound {{IPAslink|ʃ}} is written sh.", "The sound ʃ is written sh."),
        ("en", "{{blockquote|text=We dare defend our rights.}}", "We dare defend our rights."),
        # unknown inline templates are dropped without leaving " ," or "()"
        ("en", "At {{Unknown value|x}}, Alabama has ({{Some icon}}) many towns.", "At, Alabama has many towns."),
    ],
)  # fmt: skip
def test_rendered_templates(language: str, wikitext: str, expected: str) -> None:
    assert extract_content(wikitext, site(language)).text == expected


def test_citation_outside_ref_renders_one_line() -> None:
    wikitext = "== Bibliographie ==\n* {{Ouvrage|auteur=Antoine Meillet|titre=Introduction|éditeur=Hachette|année=1903}}"
    assert extract_content(wikitext, site("fr")).text == (
        "Bibliographie\n- Antoine Meillet. Introduction. Hachette. 1903"
    )


@pytest.mark.parametrize("language", ["en", "fr", "de", "ja", "uk", "ru"])
def test_every_language_table_is_keyed_in_lower_case(language: str) -> None:
    table = RENDER_RULES[language]
    assert table, language
    assert all(key == key.lower() and "_" not in key for key in table)


def test_language_table_wins_over_shared_and_unknown_language_gets_shared() -> None:
    assert rules_for("fr").renderer("citation") is RENDER_RULES["fr"]["citation"]
    assert rules_for("xx").renderer("convert") is RENDER_RULES["*"]["convert"]
    assert rules_for("xx").renderer("no such template") is None
