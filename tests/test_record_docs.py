"""docs/record-schema.md is generated from the record schemas and their descriptions, and stays so."""

from __future__ import annotations

import dataclasses

import pyarrow as pa

from wikidrop import record_docs, record_fields
from wikidrop.records import ARTICLE_SCHEMA, DEAD_LETTER_SCHEMA


def test_every_schema_field_has_a_description() -> None:
    problems = record_docs.coverage_problems()
    assert not problems, "\n".join(problems)


def test_schema_document_is_current() -> None:
    assert record_docs.DOC_PATH.read_text(encoding="utf-8") == record_docs.render(), (
        f"{record_docs.DOC_NAME} is stale: run `{record_docs.REGENERATE}`"
    )
    assert record_fields.main(["--check"]) == 0


def test_document_lists_every_field_with_its_type_and_enterprise_name() -> None:
    doc = record_docs.render()
    for schema in (ARTICLE_SCHEMA, DEAD_LETTER_SCHEMA):
        for path, _ in record_docs.field_types(schema):
            assert f"| `{path}` |" in doc, path
    assert "| `version.editor.name` | string |" in doc
    assert "| `date_modified` | timestamp[ms, UTC] (staged: string) |" in doc  # as partners receive it
    assert "| `version.parent_identifier` | int64 |" in doc and "`previous_version.identifier` |" in doc
    assert "| `article_body.html` |" in doc  # Enterprise fields a dump cannot give, with why


def test_a_new_field_without_a_description_is_named_with_what_to_do() -> None:
    """What an engineer adding a field sees: the fields, where to describe them, the command."""
    article = record_docs.documented_schemas()[0]
    grown = ARTICLE_SCHEMA.append(
        pa.field("quotes", pa.list_(pa.struct([("identifier", pa.string()), ("text", pa.string())])))
    ).remove(ARTICLE_SCHEMA.get_field_index("links"))
    problems = record_docs.coverage_problems([dataclasses.replace(article, schema=grown)])
    message = "\n".join(problems)
    assert "ARTICLE_SCHEMA fields without a description: quotes, quotes.identifier, quotes.text." in message
    assert "ARTICLE_FIELD_DOCS in wikidrop/record_docs.py" in message
    assert "describes fields wikidrop.records.ARTICLE_SCHEMA does not have: links, links.name, links.url" in (
        message
    )


def test_generator_refuses_to_write_a_document_with_holes(monkeypatch, capsys) -> None:
    article = record_docs.documented_schemas()[0]
    undescribed = dataclasses.replace(article, docs={k: v for k, v in article.docs.items() if k != "text"})
    monkeypatch.setattr(record_docs, "documented_schemas", lambda: [undescribed])
    before = record_docs.DOC_PATH.read_bytes()
    assert record_fields.main(["--write"]) == 1
    err = capsys.readouterr().err
    assert "fields without a description: text." in err
    assert f"Then run `{record_docs.REGENERATE}`." in err
    assert record_docs.DOC_PATH.read_bytes() == before
