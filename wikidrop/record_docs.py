"""What every field of the article and dead-letter records means: the one home of their descriptions.

``docs/record-schema.md`` is generated from this table and the schemas in ``wikidrop.records``
(types come from the Arrow schemas, never from prose), so the document cannot drift from the code:
``python -m wikidrop.record_fields --write`` regenerates it with the config's field table, and
tests/test_record_docs.py fails when it is stale or when a schema field has no description here.

Each entry is keyed by the field's dotted path (``version.editor.name``; a list of structs is
described by its name, its items' fields as ``sections.name``) and says what the field is, where it
comes from in the dump (``<page><title>`` is an element of the XML export), and Wikimedia
Enterprise's name for it (``SAME``: the same path; ``""``: Enterprise has no such field). Enterprise
names are those of its open schema, https://github.com/wikimedia-enterprise/wikimedia-enterprise
(``general/schema/*.go``): ``Article`` (snapshots and the On-demand API) and ``Structured``
(Structured Contents: ``description``, ``sections``, ``infoboxes``, ``references``, ``tables``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

REGENERATE = "python -m wikidrop.record_fields --write"
DOC_PATH = Path(__file__).resolve().parent.parent / "docs" / "record-schema.md"
DOC_NAME = "docs/record-schema.md"
ENTERPRISE_SCHEMA_URL = (
    "https://github.com/wikimedia-enterprise/wikimedia-enterprise/tree/main/general/schema"
)
SAME = "same"  # Enterprise names the field exactly as we do


class FieldDoc(NamedTuple):
    """One field: what it is, where in the dump it comes from, Wikimedia Enterprise's name for it."""

    description: str
    source: str
    enterprise: str = ""


_TEXT = "rendered by wikidrop from `<revision><text>` (wikitext; templates rendered per language)"

# -- the article record (ARTICLE_SCHEMA) ---------------------------------------------------------------

ARTICLE_FIELD_DOCS: dict[str, FieldDoc] = {
    "name": FieldDoc(
        "Page title as readers see it, with its namespace prefix outside the main namespace.",
        "`<page><title>`",
        SAME,
    ),
    "identifier": FieldDoc(
        "Page id: stable across renames, unique within the edition. Drops are sorted by it.",
        "`<page><id>`",
        SAME,
    ),
    "url": FieldDoc(
        "Canonical URL of the page (`/wiki/` + title, spaces as underscores, percent-encoded).",
        "`<title>` and the wiki's server (siteinfo `<base>`)",
        SAME,
    ),
    "namespace": FieldDoc("The page's namespace.", "`<page><ns>` and siteinfo `<namespaces>`", SAME),
    "namespace.identifier": FieldDoc("Namespace number (0: articles).", "`<page><ns>`", SAME),
    "namespace.name": FieldDoc(
        'Localized namespace name (`""` for the main namespace).', "siteinfo `<namespaces>`", SAME
    ),
    "in_language": FieldDoc("Language of the edition.", "the edition's language, siteinfo", SAME),
    "in_language.identifier": FieldDoc(
        "Language code of the wiki (`fr`, `zh-yue`).",
        "siteinfo: the export's `xml:lang` or the siteinfo JSON's `lang`, else the wiki's host name",
        SAME,
    ),
    "in_language.direction": FieldDoc(
        "Script direction, `ltr` or `rtl`.", "siteinfo `rtl`, else the language's known direction", SAME
    ),
    "is_part_of": FieldDoc("The wiki (edition) the page belongs to.", "siteinfo", SAME),
    "is_part_of.identifier": FieldDoc("Database name of the wiki (`frwiki`).", "siteinfo `<dbname>`", SAME),
    "is_part_of.url": FieldDoc(
        "Server of the wiki (`https://fr.wikipedia.org`).", "siteinfo `<base>` (scheme and host)", SAME
    ),
    "date_modified": FieldDoc(
        "When the page's latest revision was saved (UTC). Before 2023-06-29: the revision was "
        "contributed under CC BY-SA 3.0 (each drop's LICENSE.txt).",
        "`<revision><timestamp>` of the latest revision",
        SAME,
    ),
    "main_entity": FieldDoc(
        "The page's Wikidata item. Null when the page has none, or when the run read no page_props "
        "table (the manifest's `page_props.source_file` is then null).",
        "page_props table dump (`<dbname>-<date>-page_props.sql.gz`), prop `wikibase_item`",
        SAME,
    ),
    "main_entity.identifier": FieldDoc("Wikidata item id (`Q90`).", "page_props `wikibase_item`", SAME),
    "main_entity.url": FieldDoc(
        "Wikidata concept URI of the item (`https://www.wikidata.org/entity/Q90`).",
        "built from `wikibase_item`",
        SAME,
    ),
    "is_disambiguation": FieldDoc(
        "True on disambiguation pages, false on others; null when the run read no page_props table "
        "(unknown, not false). Partners' `exclude_disambiguation` filter acts on it.",
        "page_props prop `disambiguation` (set by the wiki's disambiguation templates)",
    ),
    "description": FieldDoc(
        "Short description of the page; null when it has none or no page_props table was read.",
        "page_props prop `wikibase-shortdesc`",
        SAME,
    ),
    "image": FieldDoc(
        "The page's lead image, when it is freely licensed; null when none or no page_props table "
        "was read. The file itself is not in the drop.",
        "page_props prop `page_image_free`",
        "`image` (Enterprise describes the file itself: `content_url`, `width`, `height`; see below)",
    ),
    "image.name": FieldDoc("File name, without the File namespace prefix.", "page_props `page_image_free`"),
    "image.url": FieldDoc(
        "URL of the file's description page on this wiki (its licence and authors are there).",
        "built from the file name and the wiki's localized File namespace",
    ),
    "version": FieldDoc(
        "The latest revision of the page, the one the record's text comes from.", "`<revision>`", SAME
    ),
    "version.identifier": FieldDoc("Revision id.", "`<revision><id>`", SAME),
    "version.parent_identifier": FieldDoc(
        "Id of the revision before it; null for a page's first revision.",
        "`<revision><parentid>`",
        "`previous_version.identifier`",
    ),
    "version.comment": FieldDoc(
        "Edit summary; null when hidden by revision deletion.", "`<revision><comment>`", SAME
    ),
    "version.is_minor_edit": FieldDoc(
        "Whether the editor marked the edit minor.", "`<revision><minor/>`", SAME
    ),
    "version.editor": FieldDoc("Who saved the revision.", "`<revision><contributor>`", SAME),
    "version.editor.identifier": FieldDoc(
        "User id; null for anonymous (IP) editors and hidden contributors.", "`<contributor><id>`", SAME
    ),
    "version.editor.name": FieldDoc(
        "User name, or the IP address of an anonymous editor; null when hidden by revision deletion.",
        "`<contributor><username>` or `<contributor><ip>`",
        SAME,
    ),
    "version.editor.is_anonymous": FieldDoc(
        "True for IP editors and hidden contributors.", "`<contributor><ip>` or `deleted=` attribute", SAME
    ),
    "version.number_of_characters": FieldDoc(
        "Length of the wikitext in Unicode code points.", "computed from `<revision><text>`", SAME
    ),
    "version.size": FieldDoc("Size of the wikitext.", "computed from `<revision><text>`", SAME),
    "version.size.value": FieldDoc(
        "UTF-8 bytes of the wikitext (an integer; Enterprise's schema has a float).",
        "computed from `<revision><text>`",
        SAME,
    ),
    "version.size.unit_text": FieldDoc('Unit of `value`: always `"B"`.', "constant", SAME),
    "version.sha1": FieldDoc(
        "SHA-1 of the wikitext as MediaWiki records it (base 36), to check the text against the wiki.",
        "`<revision><sha1>`",
    ),
    "license": FieldDoc(
        "Licence of the text, as Wikimedia Enterprise labels every article (CC BY-SA 4.0). Revisions "
        "saved before 2023-06-29 were contributed under CC BY-SA 3.0, and most text is also under the "
        "GFDL: each drop's LICENSE.txt says what that means and how to credit the authors.",
        "not in the dump: set by wikidrop (Wikimedia's Terms of Use)",
        SAME,
    ),
    "license.name": FieldDoc("Licence name.", "constant", SAME),
    "license.identifier": FieldDoc("SPDX identifier (`CC-BY-SA-4.0`).", "constant", SAME),
    "license.url": FieldDoc("Licence deed URL.", "constant", SAME),
    "article_body": FieldDoc("The page's source.", "`<revision><text>`", SAME),
    "article_body.wikitext": FieldDoc(
        "The revision's wikitext, unchanged.",
        "`<revision><text>`",
        SAME,
    ),
    "redirects": FieldDoc(
        "Redirect pages that point to this page, sorted by name.",
        "other pages of the dump whose `<redirect title>` (or redirect magic word) names this page",
        SAME,
    ),
    "redirects.name": FieldDoc("Title of the redirect page.", "its `<title>`", SAME),
    "redirects.url": FieldDoc("URL of the redirect page.", "its `<title>`", SAME),
    "categories": FieldDoc(
        "Categories the wikitext puts the page in, in order. Categories that templates add are "
        "missing: they need the templates expanded (the categorylinks table dump has them; wikidrop "
        "does not read it).",
        "`[[Category:...]]` links in `<revision><text>`, localized prefixes from siteinfo",
        SAME,
    ),
    "categories.name": FieldDoc("Category title with the wiki's category prefix.", "the link target", SAME),
    "categories.url": FieldDoc("URL of the category page.", "the link target", SAME),
    "templates": FieldDoc(
        "Templates the wikitext transcludes directly, in order of first use. MediaWiki's own list "
        "of a page's templates also holds the templates those templates use; this one does not.",
        "`{{...}}` in `<revision><text>`",
        SAME,
    ),
    "templates.name": FieldDoc("Template title with the wiki's template prefix.", "the template call", SAME),
    "templates.url": FieldDoc("URL of the template page.", "the template call", SAME),
    "text": FieldDoc(
        "Clean plain text of the article: section headings on their own lines, paragraphs separated "
        "by blank lines, list items as `- item` / `1. item`; no markup, tables, references, "
        "categories, file captions or navboxes.",
        _TEXT,
    ),
    "abstract": FieldDoc("The lead: text before the first heading, as in `text`.", _TEXT, SAME),
    "sections": FieldDoc(
        'The article\'s sections in order: the lead (name `""`, level 0) when it has text, then '
        "every heading with its own text (subsections are entries of their own).",
        _TEXT,
        "`sections` (Structured Contents: nested `has_parts` of paragraphs and lists; flat here)",
    ),
    "sections.name": FieldDoc("Heading text, clean.", "`== heading ==` lines", SAME),
    "sections.level": FieldDoc(
        "Heading level: 2 for `==`, 3 for `===`..., 0 for the lead.", "heading markup"
    ),
    "sections.text": FieldDoc(
        "The section's own text, as in `text`.", _TEXT, "`sections.has_parts` (paragraph values)"
    ),
    "tables": FieldDoc(
        "Every table of the page (wiki `{| |}` and HTML `<table>`), in page order, an outer table "
        "before the tables it holds; tables are not in `text`. Tables without any cell text (image "
        "layouts) are left out. `wikidrop.wikitext.tables.text_with_tables(text, tables)` puts them "
        "back into `text` as Markdown.",
        "table markup in `<revision><text>`",
        "`tables` (Structured Contents)",
    ),
    "tables.identifier": FieldDoc(
        "`table-1`, `table-2`... in page order, unique within the record.", "the table's position", SAME
    ),
    "tables.section": FieldDoc(
        'Name of the section the table is in (`""`: the lead), as in `sections.name`.', "headings"
    ),
    "tables.caption": FieldDoc("The table's caption as clean text, if any.", "`|+` or `<caption>`"),
    "tables.headers": FieldDoc(
        "The leading rows made only of header cells, as lists of clean cell values; row and column "
        "spans are expanded (a value spanning two columns is in both).",
        "`!` / `<th>` cells, rendered like `text`",
        "`tables.headers` (cells `{value}`)",
    ),
    "tables.rows": FieldDoc(
        "The other rows, as lists of clean cell values, spans expanded; header cells further down "
        "(row labels, sub-headings) are values of these rows.",
        "`|` / `<td>` cells, rendered like `text`",
        "`tables.rows` (cells `{value}`)",
    ),
    "tables.parent_identifier": FieldDoc(
        "For a table inside another table's cell: the identifier of that table; else null.",
        "table nesting",
        "`tables.rows.nested_table` (a nested table inside the cell)",
    ),
    "tables.text_offset": FieldDoc(
        "Where the table stood in `text`: a code point offset at the start of a line (or the length "
        "of `text`); several tables may share one. Null for tables outside the text flow: nested "
        "ones, and those inside references or infobox values.",
        "the table's position among the page's prose",
    ),
    "infoboxes": FieldDoc(
        "Infoboxes of the page, in order, recognised in every language by their structure: a "
        "template call of the lead before the prose with at least three named parameters each on a "
        "line of its own (or six on any layout), a call whose name says infobox, or a table of class "
        "`infobox`. Infoboxes filled only from Wikidata (a call without parameters) are found only "
        "by such a name.",
        "infobox template calls and `infobox` tables in `<revision><text>`",
        "`infoboxes` (Structured Contents)",
    ),
    "infoboxes.name": FieldDoc(
        "Template name without the template prefix; for an `infobox` table, its title.",
        "the template call or the table's caption",
        SAME,
    ),
    "infoboxes.params": FieldDoc(
        "The parameters that have a value, in order (a repeated parameter is kept).",
        "the template call's parameters, or the table's label/value rows",
        "`infoboxes.has_parts` (fields, flat here)",
    ),
    "infoboxes.params.name": FieldDoc(
        "Parameter name (positional ones numbered from 1), or the row's label.",
        "the parameter",
        "`has_parts.name`",
    ),
    "infoboxes.params.value": FieldDoc(
        "The value as clean text: links and templates rendered as in `text`, no markup; empty when "
        "the value is only an image (see `images`) or an image size.",
        "the parameter, rendered",
        "`has_parts.value`",
    ),
    "infoboxes.params.links": FieldDoc(
        "Links in the value: wiki links (to any namespace) and external links.",
        "`[[...]]` and `[http...]` in the value",
        "`has_parts.links`",
    ),
    "infoboxes.params.links.text": FieldDoc("The link's text as shown.", "the link", SAME),
    "infoboxes.params.links.url": FieldDoc(
        "URL of the linked page, or the external URL.", "the link target", SAME
    ),
    "infoboxes.params.images": FieldDoc(
        "Files the value shows: file links, or a bare file name (`image = Paris.jpg`).",
        "the value",
        "`has_parts.images`",
    ),
    "infoboxes.params.images.name": FieldDoc("File name without the namespace prefix.", "the value"),
    "infoboxes.params.images.url": FieldDoc(
        "The file's description page on this wiki, under its localized File namespace (as `image.url`).",
        "the file name",
    ),
    "infoboxes.params.value_wikitext": FieldDoc(
        "The value as written (comments removed, entities decoded).", "the parameter"
    ),
    "references": FieldDoc(
        "References of the page, in order: every `<ref>` with content and footnote templates "
        "(`{{efn}}`...); reuses and repeated definitions of a named reference are not repeated.",
        "`<ref>` tags and footnote templates in `<revision><text>`",
        "`references` (Structured Contents)",
    ),
    "references.identifier": FieldDoc(
        "MediaWiki's anchor form `cite_note-<name>-<n>` (`cite_note-<n>` without a name), numbered in "
        "page order; references that templates add are not counted, so a number can differ from the "
        "rendered page's.",
        '`<ref name="...">` and the reference\'s position',
        SAME,
    ),
    "references.group": FieldDoc("The reference's `group` attribute, if any.", '`<ref group="...">`', SAME),
    "references.type": FieldDoc(
        "`note` for footnote templates and grouped references that cite nothing (no citation "
        "template, no URL), else `citation`.",
        "the reference's markup",
        "`references.type` (Enterprise: the citation's kind)",
    ),
    "references.text": FieldDoc(
        "The citation or note as clean text.", "the reference's content, rendered", "`references.text.value`"
    ),
    "references.source": FieldDoc(
        "The URL the reference cites: a `url`-like parameter of its citation template (archive "
        "copies skipped), else its first external link; null when it cites none.",
        "the reference's content",
        "`references.source` (a `{value, links}` struct there)",
    ),
    "references.links": FieldDoc(
        "Links in the reference's text (wiki and external).",
        "the reference's content",
        "`references.text.links`",
    ),
    "references.links.text": FieldDoc("The link's text as shown.", "the link", SAME),
    "references.links.url": FieldDoc("URL of the linked page, or the external URL.", "the link", SAME),
    "references.template": FieldDoc(
        "Name of the template the reference uses first (`cite web`), if any.", "the reference's content"
    ),
    "references.metadata": FieldDoc(
        "That template's parameters, in order.", "the citation template call", "`references.metadata`"
    ),
    "references.metadata.key": FieldDoc("Parameter name.", "the parameter"),
    "references.metadata.value": FieldDoc("Parameter value as wikitext.", "the parameter"),
    "links": FieldDoc(
        "Articles the page links to (main namespace), normalized titles in order of first appearance.",
        "`[[...]]` links in `<revision><text>`",
    ),
    "links.name": FieldDoc(
        "Linked title, normalized as MediaWiki does (first letter case, spaces).", "the link"
    ),
    "links.url": FieldDoc("URL of the linked page (it may not exist).", "the link"),
    "provenance": FieldDoc("Where in which dump the record came from, and which code made it.", "the run"),
    "provenance.dump_date": FieldDoc("Date of the dump (`YYYYMMDD`).", "the dump's directory on the mirror"),
    "provenance.source_file": FieldDoc(
        "Name of the dump file the page was read from (listed with its checksums in the manifest).",
        "the dump file",
    ),
    "provenance.stream_offset": FieldDoc(
        "Byte offset of the bz2 stream holding the page in a multistream dump; null otherwise.",
        "the multistream index (`offset:page_id:title`)",
    ),
    "provenance.parser_version": FieldDoc(
        "wikidrop and mwparserfromhell versions that made the record.", "the parse job"
    ),
    "provenance.schema_version": FieldDoc(
        "Version of this record schema (`wikidrop.records.SCHEMA_VERSION`).", "the parse job"
    ),
}

# -- the dead-letter record (DEAD_LETTER_SCHEMA) --------------------------------------------------------

DEAD_LETTER_FIELD_DOCS: dict[str, FieldDoc] = {
    "identifier": FieldDoc("Page id of the page that could not be parsed.", "`<page><id>`"),
    "name": FieldDoc("Its title.", "`<page><title>`"),
    "namespace": FieldDoc("Its namespace number.", "`<page><ns>`"),
    "reason": FieldDoc(
        "Why: `too_large` (wikitext over the size limit), `parse_timeout` (parsing took too long), "
        "`parse_error: <exception>`.",
        "the parse job's page guard",
    ),
    "detail": FieldDoc("The limit or the error message.", "the parse job's page guard"),
    "size": FieldDoc("UTF-8 bytes of the page's wikitext.", "computed from `<revision><text>`"),
    "source_file": FieldDoc("The dump file the page was read from.", "the dump file"),
    "stream_offset": FieldDoc(
        "Byte offset of its bz2 stream in a multistream dump; null otherwise.", "the multistream index"
    ),
}

# -- Wikimedia Enterprise fields the records do not have ------------------------------------------------------

ENTERPRISE_FIELDS_NOT_FROM_DUMPS: dict[tuple[str, ...], str] = {
    ("article_body.html",): "The page rendered to HTML (Parsoid). Rendering needs the live wiki's "
    "templates, modules and extensions; an XML dump holds wikitext only.",
    ("date_created",): "Time of the page's first revision: pages-articles dumps hold only the latest "
    "revision (the full-history dump has it, at many times the size).",
    ("date_previously_modified", "previous_version.number_of_characters"): "Facts of the previous "
    "revision: the dump gives only its id (`version.parent_identifier`).",
    (
        "version.editor.edit_count",
        "version.editor.groups",
        "version.editor.is_bot",
        "version.editor.is_admin",
        "version.editor.is_patroller",
        "version.editor.has_advanced_rights",
        "version.editor.date_started",
    ): "Account facts from the wiki's user tables; the XML export names the editor only.",
    ("version.tags", "version.is_flagged_stable"): "Change tags and FlaggedRevs review state live in "
    "database tables of their own, not in the XML export.",
    (
        "version.scores",
        "version.diff",
        "version.is_breaking_news",
        "version.maintenance_tags",
        "version.has_tag_needs_citation",
    ): "Computed by Wikimedia Enterprise's own services (machine-learning models such as revert "
    "risk, diffs against the previous revision, per-language template lists); not in any dump.",
    ("version.noindex",): "MediaWiki records `__NOINDEX__` as a page_props `noindex` row, which "
    "wikidrop does not read yet.",
    ("protection",): "Page protection is the page_restrictions table, not the XML export; wikidrop does "
    "not read that table.",
    ("additional_entities",): "The Wikidata entities a page uses are the wbc_entity_usage table, not "
    "the XML export; wikidrop does not read that table.",
    ("watchers_count",): "Watchlists are private: never dumped.",
    ("visibility",): "Revision deletion: the export leaves hidden text, editor or comment out "
    '(`deleted="deleted"`); the records show that as an empty wikitext, an anonymous editor '
    "without a name or a null `version.comment`, not as flags.",
    (
        "image.content_url",
        "image.width",
        "image.height",
        "image.thumbnail",
        "image.alternative_text",
        "image.caption",
    ): "page_props names the lead image's file only: where the file is stored (the wiki or "
    "Wikimedia Commons) and its size are in another wiki's image table, its caption and alt text "
    "in the rendered page.",
    ("in_language.name", "in_language.alternate_name", "namespace.description"): "Display names and "
    "descriptions from Wikimedia Enterprise's own project metadata, not in the dump's siteinfo.",
    ("attribution.editors_count",): "Counting a page's distinct editors needs every revision (the "
    "full-history dump).",
    ("tables.confidence_score", "tables.footers", "sections.has_parts"): "Structured Contents are "
    "parsed from the rendered HTML, where templates are expanded; from wikitext, wikidrop gives "
    "each section's text instead of its parts (paragraphs, lists, their links and citations).",
}

# -- the document --------------------------------------------------------------------------------------


class SchemaDocError(ValueError):
    """The descriptions do not cover the schemas (the message says what to add or remove)."""


@dataclass(frozen=True)
class DocumentedSchema:
    """A record schema the document covers, with its descriptions (``table``: their name here)."""

    title: str
    code_name: str
    schema: Any
    table: str
    docs: Mapping[str, FieldDoc]
    delivered: bool  # partners receive it: show the delivered types and Enterprise's names


def documented_schemas() -> list[DocumentedSchema]:
    """Every record the document covers."""
    from wikidrop.records import ARTICLE_SCHEMA, DEAD_LETTER_SCHEMA

    return [
        DocumentedSchema(
            "Article record",
            "wikidrop.records.ARTICLE_SCHEMA",
            ARTICLE_SCHEMA,
            "ARTICLE_FIELD_DOCS",
            ARTICLE_FIELD_DOCS,
            delivered=True,
        ),
        DocumentedSchema(
            "Dead-letter record",
            "wikidrop.records.DEAD_LETTER_SCHEMA",
            DEAD_LETTER_SCHEMA,
            "DEAD_LETTER_FIELD_DOCS",
            DEAD_LETTER_FIELD_DOCS,
            delivered=False,
        ),
    ]


def field_types(schema: Any) -> Iterator[tuple[str, Any]]:
    """Every field of ``schema`` as ``(dotted path, Arrow type)``, parents before their sub-fields."""
    import pyarrow as pa

    def walk(prefix: str, fields: Any) -> Iterator[tuple[str, Any]]:
        for field in fields:
            path = f"{prefix}{field.name}"
            yield path, field.type
            item = field.type
            while pa.types.is_list(item):
                item = item.value_type
            if pa.types.is_struct(item):
                yield from walk(f"{path}.", item.fields)

    return walk("", schema)


def coverage_problems(schemas: Iterable[DocumentedSchema] | None = None) -> list[str]:
    """What keeps the descriptions from covering the schemas exactly (empty: they do)."""
    problems = []
    for documented in documented_schemas() if schemas is None else schemas:
        paths = [path for path, _ in field_types(documented.schema)]
        docs, table = documented.docs, documented.table
        missing = [p for p in paths if p not in docs]
        if missing:
            problems.append(
                f"{documented.code_name} fields without a description: {', '.join(missing)}. Add each to "
                f"{table} in wikidrop/record_docs.py: what it is, where it comes from in the dump, and "
                'Wikimedia Enterprise\'s name for it (SAME, their path, or "" when they have none).'
            )
        gone = [p for p in docs if p not in paths]
        if gone:
            problems.append(
                f"{table} in wikidrop/record_docs.py describes fields {documented.code_name} does not "
                f"have: {', '.join(gone)}. Remove or rename those entries."
            )
        empty = [
            p for p, d in docs.items() if p in paths and not (d.description.strip() and d.source.strip())
        ]
        if empty:
            problems.append(
                f"{table} in wikidrop/record_docs.py: no description or source for {', '.join(empty)}."
            )
    return problems


def render() -> str:
    """The text of docs/record-schema.md for the current schemas (raises SchemaDocError if uncovered)."""
    from wikidrop.delivery.formats import TIMESTAMP_FIELDS, delivered_schema
    from wikidrop.records import SCHEMA_VERSION

    problems = coverage_problems()
    if problems:
        raise SchemaDocError("\n".join([*problems, f"Then run `{REGENERATE}`."]))
    lines = [
        "# Record schema",
        "",
        f"<!-- Generated by `{REGENERATE}` from wikidrop/records.py and wikidrop/record_docs.py."
        " Do not edit: change the descriptions in wikidrop/record_docs.py. -->",
        "",
        f"Schema version **{SCHEMA_VERSION}** (`wikidrop.records.SCHEMA_VERSION`): every record carries "
        "it in `provenance.schema_version`, every drop's `manifest.json` in `schema_version`, with "
        "`schema_document` pointing here.",
        "",
        "One article record per article page of a Wikipedia dump, named as Wikimedia Enterprise names "
        f"its fields wherever it has one ([its schema]({ENTERPRISE_SCHEMA_URL})). The parse job writes "
        "the records as Parquet and gzip NDJSON; partners receive the fields their contract selects, "
        "in this order, every field present (null written out, never left out).",
        "",
        "Types are Arrow types as delivered: in NDJSON a `struct` is an object, a `list` an array, "
        "`int64` a number, a timestamp an RFC 3339 string in UTC (`2025-07-30T12:00:00Z`). Where the "
        "staged parse output differs, its type follows in parentheses. The items of a `list<struct>` "
        "have the sub-fields listed under it (`sections.name` is the `name` of each section). "
        "Elements such as `<page><title>` are those of the MediaWiki XML export.",
        "",
    ]
    for documented in documented_schemas():
        staged = documented.schema
        delivered = dict(field_types(delivered_schema(staged))) if documented.delivered else {}
        lines += [f"## {documented.title}", "", f"`{documented.code_name}`", ""]
        header = ["field", "type", "description", "from the dump"]
        if documented.delivered:
            header.append("Wikimedia Enterprise")
        lines += [_row(header), _row(["---"] * len(header))]
        for path, staged_type in field_types(staged):
            doc = documented.docs[path]
            shown = _type_name(delivered.get(path, staged_type))
            if _type_name(staged_type) != shown:
                shown += f" (staged: {_type_name(staged_type)})"
            cells = [f"`{path}`", shown, doc.description, doc.source]
            if documented.delivered:
                cells.append(doc.enterprise or "—")
            lines.append(_row(cells))
        lines.append("")
        if documented.delivered:
            lines += [
                f"Wikimedia Enterprise: `{SAME}` when it has the field under the same path, — when it "
                f"has no such field. {', '.join(f'`{f}`' for f in TIMESTAMP_FIELDS)}: staged as the "
                "dump writes it, delivered as a timestamp.",
                "",
            ]
    lines += [
        "## Wikimedia Enterprise fields the records do not have",
        "",
        "Enterprise builds its records from the live wikis and its own services. A wikidrop run reads "
        "the dump's XML export, siteinfo and page_props table; what these cannot give, the records "
        "leave out rather than fake. Most of the fields below are in no public dump; the few that are "
        "in another dump table say so.",
        "",
        _row(["Enterprise field", "why the records do not have it"]),
        _row(["---", "---"]),
        *(
            _row([", ".join(f"`{name}`" for name in names), why])
            for names, why in ENTERPRISE_FIELDS_NOT_FROM_DUMPS.items()
        ),
        "",
    ]
    return "\n".join(lines)


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(" ".join(c.split()).replace("|", "\\|") for c in cells) + " |"


def _type_name(arrow_type: Any) -> str:
    """``list<struct>``, ``timestamp[ms, UTC]``, ``int64``: short Arrow type names."""
    import pyarrow as pa

    if pa.types.is_list(arrow_type):
        return f"list<{_type_name(arrow_type.value_type)}>"
    if pa.types.is_struct(arrow_type):
        return "struct"
    if pa.types.is_timestamp(arrow_type):
        return (
            f"timestamp[{arrow_type.unit}, {arrow_type.tz}]"
            if arrow_type.tz
            else f"timestamp[{arrow_type.unit}]"
        )
    return str(arrow_type)
