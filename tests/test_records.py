"""The article record: its dict shape matches ARTICLE_SCHEMA and round-trips through Parquet and JSON."""

from __future__ import annotations

import dataclasses
import json
from types import SimpleNamespace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from wikidrop.dumps.export import Page, Revision
from wikidrop.dumps.siteinfo import Namespace, SiteInfo
from wikidrop.records import (
    ARTICLE_SCHEMA,
    DEAD_LETTER_SCHEMA,
    SCHEMA_VERSION,
    build_article_record,
    dead_letter_record,
    key_values,
    provenance,
)
from wikidrop.wikitext import extract_content

DEWIKI = SiteInfo(
    dbname="dewiki",
    base_url="https://de.wikipedia.org/wiki/Wikipedia:Hauptseite",
    language="de",
    namespaces={
        0: Namespace(0, ""),
        6: Namespace(6, "Datei", canonical="File"),
        10: Namespace(10, "Vorlage", canonical="Template"),
        14: Namespace(14, "Kategorie", canonical="Category"),
    },
)
ARWIKI = SiteInfo(
    dbname="arwiki",
    base_url="https://ar.wikipedia.org/wiki/",
    language="ar",
    namespaces={0: Namespace(0, "")},
)


def _page(text: str = "Birne ist eine Frucht.", **rev_fields) -> Page:
    rev = {
        "id": 42,
        "parent_id": 41,
        "timestamp": "2023-05-01T12:00:00Z",
        "contributor_name": "Muster",
        "contributor_id": 7,
        "is_anonymous": False,
        "comment": "Tippfehler",
        "minor": True,
        "model": "wikitext",
        "format": "text/x-wiki",
        "text": text,
        "sha1": "abc",
        "text_bytes": None,
    }
    rev.update(rev_fields)
    return Page(id=123, title="Birne", ns=0, redirect_target=None, revision=Revision(**rev))


def _content():
    content = extract_content(
        "{{Infobox Frucht\n| Farbe = grün\n| Form = [[Kugel|rund]]\n| Bild = Birne.jpg\n}}\n"
        "Birne ist eine Frucht.<ref name=a>{{Literatur|Autor=X|Titel=Buch|Online=https://example.org/b}}</ref>\n"
        "== Sorten ==\n{| class=wikitable\n! Sorte !! Farbe\n|-\n| Williams || gelb\n|}\n",
        DEWIKI,
        "Birne",
    )
    return {
        **dataclasses.asdict(content),
        "sections": [SimpleNamespace(name="Herkunft", level=2, text="Aus Asien.")],
        "categories": ["Obst"],
        "links": ["Frucht", "Kategorie:Obst"],
    }


def test_record_fields_and_parquet_round_trip(tmp_path):
    prov = provenance("20230501", "dewiki.xml.bz2", 1234, parser="test")
    text = "'''Birne''' ist eine Frucht – süß."
    record = build_article_record(_page(text), _content(), DEWIKI, prov)

    assert record["url"] == "https://de.wikipedia.org/wiki/Birne"
    assert record["version"]["number_of_characters"] == len(text)
    assert record["version"]["size"] == {"value": len(text.encode()), "unit_text": "B"}
    assert record["version"]["editor"] == {"identifier": 7, "name": "Muster", "is_anonymous": False}
    # Category URLs get the wiki's own localized prefix, not an English one.
    assert record["categories"] == [{"name": "Obst", "url": "https://de.wikipedia.org/wiki/Kategorie:Obst"}]
    assert record["templates"][0]["url"] == "https://de.wikipedia.org/wiki/Vorlage:Infobox_Frucht"
    assert record["links"][1]["url"] == "https://de.wikipedia.org/wiki/Kategorie:Obst"
    assert [(p["name"], p["value"]) for p in record["infoboxes"][0]["params"]] == [
        ("Farbe", "grün"),
        ("Form", "rund"),
        ("Bild", ""),
    ]
    assert record["infoboxes"][0]["params"][1]["links"] == [
        {"text": "rund", "url": "https://de.wikipedia.org/wiki/Kugel"}
    ]
    assert record["infoboxes"][0]["params"][2]["images"] == [
        {"name": "Birne.jpg", "url": "https://de.wikipedia.org/wiki/Datei:Birne.jpg"}
    ]
    assert (
        record["tables"][0]["headers"] == [["Sorte", "Farbe"]] and record["tables"][0]["section"] == "Sorten"
    )
    assert record["references"][0]["identifier"] == "cite_note-a-1"
    assert record["references"][0]["source"] == "https://example.org/b"
    assert {"key": "Autor", "value": "X"} in record["references"][0]["metadata"]
    assert record["provenance"]["schema_version"] == SCHEMA_VERSION

    table = pa.Table.from_pylist([record], schema=ARTICLE_SCHEMA)
    pq.write_table(table, tmp_path / "a.parquet")
    back = pq.read_table(tmp_path / "a.parquet").to_pylist()[0]
    assert back == record
    assert json.loads(json.dumps(record, ensure_ascii=False)) == back


def test_anonymous_editor_and_rtl_language():
    page = _page(contributor_id=None, contributor_name="192.0.2.1", is_anonymous=True, parent_id=None)
    record = build_article_record(page, {}, ARWIKI, provenance("20230501", "f", None, parser="t"))
    assert record["version"]["editor"] == {"identifier": None, "name": "192.0.2.1", "is_anonymous": True}
    assert record["version"]["parent_identifier"] is None
    assert record["in_language"] == {"identifier": "ar", "direction": "rtl"}
    # Empty content still yields a schema-valid record.
    pa.Table.from_pylist([record], schema=ARTICLE_SCHEMA)


def test_record_has_every_schema_field():
    record = build_article_record(_page(), _content(), DEWIKI, provenance("20230501", "f", 0, parser="t"))
    assert list(record) == ARTICLE_SCHEMA.names


def test_dead_letter_record_matches_schema():
    row = dead_letter_record(_page("{{a|" * 10), "parse_timeout", "20s", "f.xml.bz2", 99)
    assert row["size"] == 40 and row["identifier"] == 123
    assert list(row) == DEAD_LETTER_SCHEMA.names
    pa.Table.from_pylist([row], schema=DEAD_LETTER_SCHEMA)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"a": "1"}, [{"key": "a", "value": "1"}]),
        ([("a", "1"), ("a", "2")], [{"key": "a", "value": "1"}, {"key": "a", "value": "2"}]),
        ([{"key": "1", "value": None}], [{"key": "1", "value": ""}]),
        (None, []),
    ],
)
def test_key_values(params, expected):
    assert key_values(params) == expected
