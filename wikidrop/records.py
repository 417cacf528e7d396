"""The article and dead-letter records (Wikimedia Enterprise names) and their Arrow schemas.

One record per article page of a dump. The same dicts are written as gzip NDJSON and as Parquet, so
every nested field has one JSON-friendly shape: lists of structs (never Arrow maps, which read back
as lists of tuples). Reference template parameters are therefore an ordered ``[{"key", "value"}]``
list, which also keeps repeated parameters that a dict would lose. Enterprise nests tables in
tables and parts in parts; Parquet needs a fixed schema, so a nested table is an entry of
``tables`` of its own that names its ``parent_identifier``.

Enterprise's names where they exist: ``tables[]`` (``identifier``, ``headers``, ``rows`` of cell
values), infobox parts (``name``, ``value``, ``links[{text, url}]``, ``images``),
references (``identifier``, ``group``, ``type``, ``text``, ``source``, ``metadata``). Ours beside
them: a table's ``section``, ``caption``, ``parent_identifier`` and ``text_offset`` (where it stood in
``text``, see :mod:`wikidrop.wikitext.tables`), a parameter's ``value_wikitext``, a reference's
``links`` and ``template``. Enterprise's ``text``/``source`` of a reference are ``{value, links}``
structs; here ``text`` is the clean string and ``source`` the cited URL, flat for Parquet. Images
are ``{name, url}`` (the file description page) like the record's ``image``, not Enterprise's
``content_url`` of the file itself, whose Commons-or-local location a dump does not tell.

``main_entity`` (Wikidata item), ``is_disambiguation``, ``description`` (short description) and
``image`` (the page's free lead image) come from the wiki's page_props table dump, not from the
pages: with it (``parse_dump --page-props``) they are filled for every article (``False`` when a
page is not a disambiguation page, ``None`` when it has no item, description or image); without it
all four are ``None`` and stats.json's ``page_props`` says so (omitted, never faked).

Every field is described in ``docs/record-schema.md``, generated from these schemas and the
descriptions in ``wikidrop/record_docs.py``: a new field needs a description there, then
``python -m wikidrop.record_fields --write`` (tests fail until both are done).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa

from wikidrop.dumps import page_props
from wikidrop.dumps.siteinfo import SiteInfo

# 1.1.0: page_props fields. 2.0.0: tables added; infobox params and references reshaped
# (breaking for readers of 1.x).
SCHEMA_VERSION = "2.0.0"

# Dumps since 2023-06-29 carry text under CC BY-SA 4.0 (older revisions: 3.0); Wikimedia Enterprise
# labels every current article with the 4.0 licence, and so do we.
LICENSE = {
    "name": "Creative Commons Attribution Share Alike 4.0 International",
    "identifier": "CC-BY-SA-4.0",
    "url": "https://creativecommons.org/licenses/by-sa/4.0/",
}

_NAME_URL = pa.struct([("name", pa.string()), ("url", pa.string())])
_KEY_VALUE = pa.struct([("key", pa.string()), ("value", pa.string())])
_LINK = pa.struct([("text", pa.string()), ("url", pa.string())])
_CELL_ROWS = pa.list_(pa.list_(pa.string()))

ARTICLE_SCHEMA = pa.schema(
    [
        ("name", pa.string()),
        ("identifier", pa.int64()),
        ("url", pa.string()),
        ("namespace", pa.struct([("identifier", pa.int64()), ("name", pa.string())])),
        ("in_language", pa.struct([("identifier", pa.string()), ("direction", pa.string())])),
        ("is_part_of", pa.struct([("identifier", pa.string()), ("url", pa.string())])),
        ("date_modified", pa.string()),
        ("main_entity", pa.struct([("identifier", pa.string()), ("url", pa.string())])),
        ("is_disambiguation", pa.bool_()),
        ("description", pa.string()),
        ("image", _NAME_URL),
        (
            "version",
            pa.struct(
                [
                    ("identifier", pa.int64()),
                    ("parent_identifier", pa.int64()),
                    ("comment", pa.string()),
                    ("is_minor_edit", pa.bool_()),
                    (
                        "editor",
                        pa.struct(
                            [
                                ("identifier", pa.int64()),
                                ("name", pa.string()),
                                ("is_anonymous", pa.bool_()),
                            ]
                        ),
                    ),
                    ("number_of_characters", pa.int64()),
                    ("size", pa.struct([("value", pa.int64()), ("unit_text", pa.string())])),
                    ("sha1", pa.string()),
                ]
            ),
        ),
        (
            "license",
            pa.list_(pa.struct([("name", pa.string()), ("identifier", pa.string()), ("url", pa.string())])),
        ),
        ("article_body", pa.struct([("wikitext", pa.string())])),
        ("redirects", pa.list_(_NAME_URL)),
        ("categories", pa.list_(_NAME_URL)),
        ("templates", pa.list_(_NAME_URL)),
        ("text", pa.string()),
        ("abstract", pa.string()),
        (
            "sections",
            pa.list_(pa.struct([("name", pa.string()), ("level", pa.int32()), ("text", pa.string())])),
        ),
        (
            "tables",
            pa.list_(
                pa.struct(
                    [
                        ("identifier", pa.string()),
                        ("section", pa.string()),
                        ("caption", pa.string()),
                        ("headers", _CELL_ROWS),
                        ("rows", _CELL_ROWS),
                        ("parent_identifier", pa.string()),
                        ("text_offset", pa.int64()),
                    ]
                )
            ),
        ),
        (
            "infoboxes",
            pa.list_(
                pa.struct(
                    [
                        ("name", pa.string()),
                        (
                            "params",
                            pa.list_(
                                pa.struct(
                                    [
                                        ("name", pa.string()),
                                        ("value", pa.string()),
                                        ("links", pa.list_(_LINK)),
                                        ("images", pa.list_(_NAME_URL)),
                                        ("value_wikitext", pa.string()),
                                    ]
                                )
                            ),
                        ),
                    ]
                )
            ),
        ),
        (
            "references",
            pa.list_(
                pa.struct(
                    [
                        ("identifier", pa.string()),
                        ("group", pa.string()),
                        ("type", pa.string()),
                        ("text", pa.string()),
                        ("source", pa.string()),
                        ("links", pa.list_(_LINK)),
                        ("template", pa.string()),
                        ("metadata", pa.list_(_KEY_VALUE)),
                    ]
                )
            ),
        ),
        ("links", pa.list_(_NAME_URL)),
        (
            "provenance",
            pa.struct(
                [
                    ("dump_date", pa.string()),
                    ("source_file", pa.string()),
                    ("stream_offset", pa.int64()),
                    ("parser_version", pa.string()),
                    ("schema_version", pa.string()),
                ]
            ),
        ),
    ],
    metadata={"wikidrop.schema_version": SCHEMA_VERSION},
)

# Parquet metadata key: the file name of the page_props table a run read ("" when none). Without
# it the records' page_props fields are null for every page, and a filter on them cannot act.
PAGE_PROPS_METADATA = b"wikidrop.page_props"


def article_schema(page_props_file: str | None) -> pa.Schema:
    """ARTICLE_SCHEMA stamped with the page_props file a run read (``None``: it read none)."""
    name = page_props_file.rsplit("/", 1)[-1] if page_props_file else ""
    return ARTICLE_SCHEMA.with_metadata({**ARTICLE_SCHEMA.metadata, PAGE_PROPS_METADATA: name.encode()})


def page_props_source(schema: pa.Schema) -> str | None:
    """The page_props file (name) behind records written under ``schema``, ``None`` if none."""
    return (schema.metadata or {}).get(PAGE_PROPS_METADATA, b"").decode() or None


def records_schema_version(schema: pa.Schema) -> str | None:
    """The record schema version records written under ``schema`` follow (its Parquet metadata)."""
    return (schema.metadata or {}).get(b"wikidrop.schema_version", b"").decode() or None


DEAD_LETTER_SCHEMA = pa.schema(
    [
        ("identifier", pa.int64()),
        ("name", pa.string()),
        ("namespace", pa.int64()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("size", pa.int64()),
        ("source_file", pa.string()),
        ("stream_offset", pa.int64()),
    ],
    metadata={"wikidrop.schema_version": SCHEMA_VERSION},
)

# Nightly change records are article records plus Wikimedia Enterprise's ``event``
# (general/schema/event.go: identifier, type "create"/"update"/"delete", date_created, date_published).
# A delete is a tombstone: the page's identity and event, every other field null
# (``wikidrop.delivery.batches.TOMBSTONE_FIELDS``).
EVENT_CREATE = "create"
EVENT_UPDATE = "update"
EVENT_DELETE = "delete"
EVENT_TYPE = pa.struct(
    [
        ("identifier", pa.string()),
        ("type", pa.string()),
        ("date_created", pa.string()),
        ("date_published", pa.string()),
    ]
)


def change_schema(article_schema: pa.Schema) -> pa.Schema:
    """The schema of change records: the articles' schema plus ``event``."""
    return article_schema.append(pa.field("event", EVENT_TYPE))


def change_event(
    dbname: str, page_id: int, revision_id: int, event_type: str, day: str, date_created: str
) -> dict:
    """The ``event`` of a change record.

    The identifier is a UUID derived from what the event is (same page, revision, type and day: same
    identifier), so a re-run publishes the same events. ``date_created`` is when the change was made
    on the wiki (the timestamp of the revision that caused it); ``date_published`` the adds-changes
    day that brought it (YYYYMMDD, as ISO 8601 midnight UTC).
    """
    import uuid

    key = f"wikidrop:{dbname}:{page_id}:{revision_id}:{event_type}:{day}"
    return {
        "identifier": str(uuid.uuid5(uuid.NAMESPACE_URL, key)),
        "type": event_type,
        "date_created": date_created,
        "date_published": f"{day[:4]}-{day[4:6]}-{day[6:8]}T00:00:00Z",
    }


def parser_version() -> str:
    """Version string stamped into provenance: our package plus the wikitext parser it drives."""
    from importlib.metadata import PackageNotFoundError, version

    def _v(dist: str) -> str:
        try:
            return version(dist)
        except PackageNotFoundError:
            return "unknown"

    return f"wikidrop-{_v('wikidrop')}+mwparserfromhell-{_v('mwparserfromhell')}"


def provenance(
    dump_date: str, source_file: str, stream_offset: int | None, parser: str | None = None
) -> dict[str, Any]:
    """The ``provenance`` struct of a record (where in which dump it came from, which code made it)."""
    return {
        "dump_date": dump_date,
        "source_file": source_file,
        "stream_offset": stream_offset,
        "parser_version": parser or parser_version(),
        "schema_version": SCHEMA_VERSION,
    }


def build_article_record(
    page: Any,
    content: Any,
    site: SiteInfo,
    provenance: Mapping[str, Any],
    page_props: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Assemble the record of one article page from the dump page, its extracted content and the wiki.

    ``page`` is a ``wikidrop.dumps.export.Page`` (its latest revision), ``content`` a
    ``wikidrop.wikitext.PageContent``, ``page_props`` the page's props when the job read the
    page_props table (``{}`` for a page with none), ``None`` when it did not. Redirects are filled
    later by the job, when folded.
    """
    rev = _get(page, "revision")
    wikitext = _get(rev, "text") or ""
    editor = _editor(rev)
    parent = _get(rev, "parent_id")
    return {
        "name": _get(page, "title"),
        "identifier": int(_get(page, "id")),
        "url": site.article_url(_get(page, "title")),
        "namespace": {
            "identifier": int(_get(page, "ns")),
            "name": site.namespace_name(int(_get(page, "ns"))),
        },
        "in_language": {"identifier": site.language, "direction": site.direction},
        "is_part_of": {"identifier": site.dbname, "url": site.server},
        "date_modified": _get(rev, "timestamp"),
        **page_props_fields(page_props, site),
        "version": {
            "identifier": _int_or_none(_get(rev, "id")),
            "parent_identifier": _int_or_none(parent),
            "comment": _get(rev, "comment"),
            "is_minor_edit": bool(_get(rev, "minor")),
            "editor": editor,
            "number_of_characters": len(wikitext),
            "size": {"value": len(wikitext.encode("utf-8")), "unit_text": "B"},
            "sha1": _get(rev, "sha1") or None,
        },
        "license": [dict(LICENSE)],
        "article_body": {"wikitext": wikitext},
        "redirects": [],
        "categories": _name_urls(_get(content, "categories"), site, default_ns=14),
        "templates": _name_urls(_get(content, "templates"), site, default_ns=10),
        "text": _get(content, "text") or "",
        "abstract": _get(content, "abstract") or "",
        "sections": [_section(s) for s in _get(content, "sections") or ()],
        "tables": list(_get(content, "tables") or ()),
        "infoboxes": list(_get(content, "infoboxes") or ()),
        "references": [_reference(r) for r in _get(content, "references") or ()],
        "links": _name_urls(_get(content, "links"), site, default_ns=0),
        "provenance": dict(provenance),
    }


# Wikidata's concept URI of an item, as Wikimedia Enterprise writes main_entity.url.
WIKIDATA_ENTITY_URL = "https://www.wikidata.org/entity/"
_FILE_NAMESPACE = 6


def page_props_fields(props: Mapping[str, str] | None, site: SiteInfo) -> dict[str, Any]:
    """``main_entity``, ``is_disambiguation``, ``description`` and ``image`` from a page's props.

    ``props=None`` (the page_props table was not read): all four ``None``, unknown rather than
    false. The image is the file description page on this wiki, under its localized File namespace.
    """
    if props is None:
        return {"main_entity": None, "is_disambiguation": None, "description": None, "image": None}
    item = props.get(page_props.WIKIBASE_ITEM)
    image = props.get(page_props.FREE_IMAGE)
    image_name = image.replace("_", " ") if image else None
    file_prefix = site.namespace_name(_FILE_NAMESPACE) or "File"
    return {
        "main_entity": {"identifier": item, "url": WIKIDATA_ENTITY_URL + item} if item else None,
        "is_disambiguation": page_props.DISAMBIGUATION in props,
        "description": props.get(page_props.SHORT_DESCRIPTION) or None,
        "image": {"name": image_name, "url": site.article_url(f"{file_prefix}:{image_name}")}
        if image_name
        else None,
    }


def dead_letter_record(
    page: Any, reason: str, detail: str = "", source_file: str = "", stream_offset: int | None = None
) -> dict[str, Any]:
    """One dead-letter row (DEAD_LETTER_SCHEMA): which page, why, how big its wikitext was."""
    rev = _get(page, "revision")
    text = _get(rev, "text") or ""
    return {
        "identifier": _int_or_none(_get(page, "id")),
        "name": _get(page, "title"),
        "namespace": _int_or_none(_get(page, "ns")),
        "reason": reason,
        "detail": detail,
        "size": len(text.encode("utf-8")),
        "source_file": source_file,
        "stream_offset": stream_offset,
    }


def key_values(params: Mapping[str, Any] | Iterable[Any] | None) -> list[dict[str, str]]:
    """Template parameters as an ordered ``[{"key", "value"}]`` list (repeated keys survive)."""
    if not params:
        return []
    items = params.items() if isinstance(params, Mapping) else params
    out = []
    for item in items:
        # The tuple check first: a Mapping check is an ABC lookup per item.
        if not isinstance(item, tuple) and isinstance(item, Mapping):
            key, value = item.get("key"), item.get("value")
        else:
            key, value = item
        out.append({"key": str(key), "value": "" if value is None else str(value)})
    return out


def record_fingerprint(record: Mapping[str, Any]) -> str:
    """Stable sha1 of a record's JSON (for comparing two runs without holding both in memory)."""
    import json

    return hashlib.sha1(json.dumps(record, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


# -- helpers ----------------------------------------------------------------------------------------


def _get(obj: Any, name: str) -> Any:
    """Attribute or key lookup, so content may be a dataclass or a plain dict."""
    if obj is None:
        return None
    if isinstance(obj, Mapping):
        return obj.get(name)
    return getattr(obj, name, None)


def _int_or_none(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _editor(rev: Any) -> dict[str, Any]:
    """``editor{identifier,name,is_anonymous}``: IP editors have a name (the IP) and no id."""
    return {
        "identifier": _int_or_none(_get(rev, "contributor_id")),
        "name": _get(rev, "contributor_name"),
        "is_anonymous": bool(_get(rev, "is_anonymous")),
    }


def _name_urls(items: Iterable[Any] | None, site: SiteInfo, default_ns: int) -> list[dict[str, str]]:
    """``[{name, url}]`` for categories/templates/links given as titles or ``{name, url}`` items.

    A bare title without namespace prefix gets the localized prefix of ``default_ns`` in its URL
    (``Kategorie:X`` on dewiki), from siteinfo.
    """
    out = []
    prefix = site.namespace_name(default_ns)
    for item in items or ():
        if isinstance(item, str):
            name, url = item, None
        else:
            name, url = _get(item, "name") or _get(item, "title"), _get(item, "url")
        if url is None:
            full = name if (not prefix or site.namespace_of_title(name) != 0) else f"{prefix}:{name}"
            url = site.article_url(full)
        out.append({"name": name, "url": url})
    return out


def _section(section: Any) -> dict[str, Any]:
    if isinstance(section, tuple) and not dataclasses.is_dataclass(section):
        name, level, text = section
    else:
        name, level, text = _get(section, "name"), _get(section, "level"), _get(section, "text")
    return {"name": name, "level": int(level), "text": text or ""}


def _reference(ref: Mapping[str, Any]) -> dict[str, Any]:
    return {**ref, "metadata": key_values(ref["metadata"])}
