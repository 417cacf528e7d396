"""Text quality report: our extraction against bare ``mwparserfromhell ... strip_code()``.

    python -m wikidrop_dev.quality_report ../shared/data/dumps [DUMP ...] [--limit N]

For each dump (a file, or every dump file under a directory): leftover markup per 10k output
characters, share of articles with any leftover, share of source list items present in the text,
holes per 10k characters, and beside it the holes of strip_code() on the same pages, then the
targets (leftover < 1 per 10k and in < 5% of articles, >= 90% of list items, holes <= half the
baseline rate) as PASS/FAIL. Only main-namespace, non-redirect wikitext pages count.

A second table, per dump and then per language, covers the structured fields:

- words kept: of the words strip_code() keeps (file and category links, magic words and HTML
  attributes left out: markup, not words), how many the record keeps in ``text``, table cells and
  captions, references and hand-made infobox tables (strip_code() keeps ``<ref>`` contents and
  table cells, so both sides count them); on all articles, and on table-heavy ones (at least as
  many words in ``tables`` as in ``text``). Target >= 90% on table-heavy articles.
- infoboxes: an article *uses an infobox template* when it calls a template whose name contains a
  word for "infobox" (``INFOBOX_NAME_WORDS``, a list for this measure only: the extractor itself
  recognises infoboxes by their layout) with at least one named parameter, or when the extractor
  found one (a call without named parameters has no data in the wikitext: Wikidata fills it when
  the page is rendered, or it is a maintenance note; such articles are counted and named apart);
  coverage is the share of those articles with an entry (target >= 90%). "by name" is the recall
  on the named ones alone, "layout only" counts articles whose every entry has a name outside the
  list (their names are printed, to review false positives). Values with leftover markup: target 0.
- references: how many, how many cite a URL (``source``), how many are notes.

Exit status 1 when a target fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import mwparserfromhell

from wikidrop.dumps.export import DumpError, open_dump
from wikidrop.dumps.siteinfo import MEDIAWIKI_CANONICAL_NAMESPACES, SiteInfo
from wikidrop.quality.measures import (
    content_words,
    holes,
    is_non_prose_link,
    leftover_markup,
    list_items_kept,
    words_kept,
)
from wikidrop.wikitext import PageContent, extract_content

DUMP_SUFFIXES = (".xml", ".xml.bz2", ".xml.gz", ".xml.xz")
# "<lang>wiki-..." at the start of a dump file name (the Wikimedia naming scheme).
_DB_FROM_NAME = re.compile(r"^([a-z][a-z_-]*?)wiki(?=[-_.])")

TARGET_LEFTOVER_PER_10K = 1.0
TARGET_ARTICLES_WITH_LEFTOVER = 0.05
TARGET_LIST_ITEMS_KEPT = 0.90
TARGET_HOLES_RATIO = 0.5
TARGET_WORDS_KEPT = 0.90
TARGET_INFOBOX_COVERAGE = 0.90

# Words for "infobox" in template names, for the coverage measure's denominator only.
INFOBOX_NAME_WORDS = (
    "infobox", "infoboks", "info/", "taxobox", "speciesbox", "chembox", "drugbox", "geobox",
    "ficha", "tassobox", "taksobox", "картка", "карточка", "基礎情報", "信息框", "माहितीचौकट",
    "তথ্যছক", "infoskreine", "infokaste", "bilgi kutusu", "جعبه", "صندوق معلومات",
)  # fmt: skip
_WORD_BREAK_TAGS = frozenset(["td", "th", "caption", "br", "hr", "li", "dt", "dd", "p", "div"])
_ATTRIBUTES = re.compile(
    r"\b(?:style|class|align|valign|width|height|border|cellpadding|cellspacing|bgcolor|colspan|rowspan"
    r"|scope|id)\s*=\s*(?:\"[^\"\n]*\"|'[^'\n]*'|[^\s|!]*)",
    re.IGNORECASE,
)


@dataclasses.dataclass
class DumpQuality:
    """Sums over one dump's articles; rates are derived on demand."""

    name: str
    note: str = ""
    language: str = ""
    articles: int = 0
    chars: int = 0
    leftover: int = 0
    articles_with_leftover: int = 0
    list_items: int = 0
    list_items_found: int = 0
    holes: int = 0
    baseline_chars: int = 0
    baseline_holes: int = 0
    leftover_by_kind: dict[str, int] = dataclasses.field(default_factory=dict)
    # structured fields (second table)
    tables: int = 0
    baseline_words: int = 0
    words_kept: int = 0
    table_heavy_articles: int = 0
    table_heavy_baseline_words: int = 0
    table_heavy_words_kept: int = 0
    infobox_users: int = 0
    infobox_users_with_entry: int = 0
    infobox_named_users: int = 0
    infobox_named_users_with_entry: int = 0
    infobox_layout_only: int = 0
    infobox_calls_without_data: int = 0
    infobox_values: int = 0
    infobox_values_with_leftover: int = 0
    references: int = 0
    references_with_source: int = 0
    notes: int = 0
    layout_only_names: Counter[str] = dataclasses.field(default_factory=Counter)
    without_data_names: Counter[str] = dataclasses.field(default_factory=Counter)

    def add(self, other: DumpQuality) -> None:
        for f in dataclasses.fields(self):
            if f.type == "int":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        for kind, hits in other.leftover_by_kind.items():
            self.leftover_by_kind[kind] = self.leftover_by_kind.get(kind, 0) + hits
        self.layout_only_names.update(other.layout_only_names)
        self.without_data_names.update(other.without_data_names)

    @property
    def leftover_per_10k(self) -> float:
        return 1e4 * self.leftover / self.chars if self.chars else 0.0

    @property
    def share_with_leftover(self) -> float:
        return self.articles_with_leftover / self.articles if self.articles else 0.0

    @property
    def list_kept(self) -> float | None:
        return self.list_items_found / self.list_items if self.list_items else None

    @property
    def holes_per_10k(self) -> float:
        return 1e4 * self.holes / self.chars if self.chars else 0.0

    @property
    def baseline_holes_per_10k(self) -> float:
        return 1e4 * self.baseline_holes / self.baseline_chars if self.baseline_chars else 0.0

    @property
    def words_kept_share(self) -> float | None:
        return self.words_kept / self.baseline_words if self.baseline_words else None

    @property
    def table_heavy_words_kept_share(self) -> float | None:
        if not self.table_heavy_baseline_words:
            return None
        return self.table_heavy_words_kept / self.table_heavy_baseline_words

    @property
    def infobox_coverage(self) -> float | None:
        return self.infobox_users_with_entry / self.infobox_users if self.infobox_users else None

    def structure_failures(self) -> list[str]:
        """Names of the structured-field targets this dump misses (empty: all pass)."""
        failed = []
        heavy = self.table_heavy_words_kept_share
        if heavy is not None and heavy < TARGET_WORDS_KEPT:
            failed.append("words kept (table-heavy)")
        if self.infobox_coverage is not None and self.infobox_coverage < TARGET_INFOBOX_COVERAGE:
            failed.append("infobox coverage")
        if self.infobox_values_with_leftover:
            failed.append("markup in infobox values")
        return failed

    def failures(self) -> list[str]:
        """Names of the targets this dump misses (empty: all pass)."""
        failed = []
        if self.leftover_per_10k >= TARGET_LEFTOVER_PER_10K:
            failed.append("leftover/10k")
        if self.share_with_leftover >= TARGET_ARTICLES_WITH_LEFTOVER:
            failed.append("articles with leftover")
        if self.list_kept is not None and self.list_kept < TARGET_LIST_ITEMS_KEPT:
            failed.append("list items kept")
        if self.holes_per_10k > TARGET_HOLES_RATIO * self.baseline_holes_per_10k and self.holes:
            failed.append("holes vs baseline")
        return failed


def dump_files(paths: list[str]) -> Iterator[Path]:
    """The dump files named, directories expanded (sorted) to the export files under them."""
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            yield from sorted(p for p in path.rglob("*") if p.name.endswith(DUMP_SUFFIXES))
        else:
            yield path


def site_for(path: Path, header: SiteInfo | None) -> tuple[SiteInfo, str]:
    """The dump's SiteInfo, and a note when its header cannot be trusted for the language.

    Some published samples (DBpedia's minidumps) carry a copied enwiki ``<siteinfo>``: when the
    file name says ``<lang>wiki`` and the header names another wiki, the language comes from
    the file name (namespace names stay the header's, which is all such a file can tell).
    """
    match = _DB_FROM_NAME.match(path.name)
    name_db = f"{match.group(1)}wiki" if match else ""
    language = match.group(1).replace("_", "-") if match else ""
    if header is None:
        namespaces = [{"id": i, "name": n, "canonical": n} for i, n in MEDIAWIKI_CANONICAL_NAMESPACES.items()]
        site = SiteInfo.from_dict({"dbname": name_db, "language": language, "namespaces": namespaces})
        return site, "no <siteinfo>: MediaWiki canonical namespaces, language from file name"
    if name_db and header.dbname and header.dbname != name_db:
        note = f"header says {header.dbname}: language taken from the file name"
        return dataclasses.replace(header, language=language, dbname=name_db), note
    return header, ""


def measure_dump(path: Path, limit: int | None = None) -> DumpQuality:
    """Extract every main-namespace article of ``path`` (up to ``limit``) and sum the measures."""
    result = DumpQuality(name=path.name)
    with open_dump(str(path), allow_truncated=True) as reader:
        site, result.note = site_for(path, reader.siteinfo)
        result.language = site.language
        for page in reader.pages():
            if limit is not None and result.articles >= limit:
                break
            if page.ns != 0 or page.is_redirect or page.redirect_target:
                continue
            if page.revision.model not in ("wikitext", "") or not page.revision.text:
                continue
            wikitext = page.revision.text
            content = extract_content(wikitext, site, page.title)
            text = content.text
            hits = leftover_markup(text, site)
            total = sum(hits.values())
            for kind, count in hits.items():
                result.leftover_by_kind[kind] = result.leftover_by_kind.get(kind, 0) + count
            source_items, found_items = list_items_kept(wikitext, text)
            parsed = mwparserfromhell.parse(wikitext)
            measure_structure(result, content, parsed, site)
            baseline = parsed.strip_code()
            result.articles += 1
            result.chars += len(text)
            result.leftover += total
            result.articles_with_leftover += total > 0
            result.list_items += source_items
            result.list_items_found += found_items
            result.holes += holes(text, site.language)
            result.baseline_chars += len(baseline)
            result.baseline_holes += holes(baseline, site.language)
        if reader.truncated:
            result.note = "; ".join(filter(None, [result.note, "truncated file: complete pages only"]))
    return result


def strip_code_words(parsed: Any, site: SiteInfo) -> Counter[str]:
    """The words strip_code() keeps, without what is markup rather than words: file, category and
    interlanguage links (their options and captions, ``Category:X``), magic words, HTML attributes
    of tables the tokenizer did not parse. strip_code() glues the text of neighbouring table cells
    and of lines split by ``<br>`` ("BES||BQ" -> "BESBQ"); a space there keeps the reader's two
    words two words. ``parsed`` is modified."""
    _drop_links_and_break_words(parsed, site)
    text = _ATTRIBUTES.sub(" ", parsed.strip_code())
    if "__" in text:
        text = re.sub(r"__[A-Z_]+__", " ", text)
    return content_words(text)


def _drop_links_and_break_words(code: Any, site: SiteInfo) -> None:
    """At every depth: drop file, category and interlanguage links; a space after the contents of
    each word-breaking tag, or in place of an empty one. One walk with each node's list at hand
    (``Wikicode.remove``/``replace`` search the whole tree for every node: minutes on a long page)."""
    from mwparserfromhell.nodes import Tag, Text, Wikilink

    for index, node in enumerate(code.nodes):
        if isinstance(node, Wikilink) and is_non_prose_link(str(node.title), site):
            code.nodes[index] = Text("")
            continue
        if isinstance(node, Tag) and str(node.tag).strip().lower() in _WORD_BREAK_TAGS:
            if node.contents is None or node.self_closing:
                code.nodes[index] = Text(" ")
                continue
            node.contents.append(" ")
        for child in node.__children__():  # mwparserfromhell's own way to a node's inner Wikicode
            _drop_links_and_break_words(child, site)


def _is_infobox_name(name: str) -> bool:
    name = name.split(":", 1)[-1].casefold()
    return any(word in name for word in INFOBOX_NAME_WORDS)


def measure_structure(result: DumpQuality, content: PageContent, parsed: Any, site: SiteInfo) -> None:
    """Add one article's tables, words kept, infoboxes and references to ``result``."""
    # Read before strip_code_words changes ``parsed`` (it drops file and category links).
    # An infobox-named call without a named parameter has no data in the wikitext: the box is filled
    # from Wikidata when the page is rendered ({{Wikidata Infobox}}, arwiki's bare city box), or it is
    # a maintenance note ({{Preklad infoboxu|en|...}}). Nothing to extract: counted apart.
    calls = []
    for template in parsed.filter_templates():
        name = str(template.name).strip()
        if "{" not in name and _is_infobox_name(name):  # not a parser function holding a call
            calls.append(template)
    table_words = content_words(
        *(t["caption"] or "" for t in content.tables),
        *(value for t in content.tables for row in (*t["headers"], *t["rows"]) for value in row),
    )
    # a heading of an empty section is not in ``text`` but is the record's ``sections[].name``
    kept = content_words(
        content.text, *(s["name"] for s in content.sections), *(r["text"] for r in content.references)
    )
    kept.update(table_words)
    # a hand-made infobox table (its name is its title, not a template called) is cells to strip_code()
    called = {name.split(":", 1)[-1] for name in content.templates}
    kept.update(
        content_words(
            *(p["value"] for box in content.infoboxes if box["name"] not in called for p in box["params"])
        )
    )
    reference, found = words_kept(strip_code_words(parsed, site), kept)
    result.tables += len(content.tables)
    result.baseline_words += reference
    result.words_kept += found
    if table_words and sum(table_words.values()) >= sum(content_words(content.text).values()):
        result.table_heavy_articles += 1
        result.table_heavy_baseline_words += reference
        result.table_heavy_words_kept += found
    named = any(param.showkey for call in calls for param in call.params)
    has_entry = bool(content.infoboxes)
    if calls and not named and not has_entry:
        result.infobox_calls_without_data += 1
        result.without_data_names.update(str(call.name).strip() for call in calls)
    result.infobox_named_users += named
    result.infobox_named_users_with_entry += named and has_entry
    result.infobox_users += named or has_entry
    result.infobox_users_with_entry += has_entry
    if has_entry and not any(_is_infobox_name(box["name"]) for box in content.infoboxes):
        result.infobox_layout_only += 1
        result.layout_only_names.update(box["name"] for box in content.infoboxes)
    for box in content.infoboxes:
        for param in box["params"]:
            if param["value"]:
                result.infobox_values += 1
                result.infobox_values_with_leftover += any(leftover_markup(param["value"], site).values())
    result.references += len(content.references)
    result.references_with_source += sum(1 for r in content.references if r["source"])
    result.notes += sum(1 for r in content.references if r["type"] == "note")


def format_row(q: DumpQuality) -> str:
    kept = f"{100 * q.list_kept:5.1f}%" if q.list_kept is not None else "   n/a"
    verdict = "PASS" if not q.failures() else "FAIL: " + ", ".join(q.failures())
    if not q.articles:
        verdict = "n/a (no articles)"
    return (
        f"{q.name[:58]:58} {q.articles:5d} {q.leftover_per_10k:7.2f} {100 * q.share_with_leftover:6.1f}% "
        f"{kept} ({q.list_items_found}/{q.list_items}) {q.holes_per_10k:6.2f} {q.baseline_holes_per_10k:9.2f}"
        f"  {verdict}"
    )


HEADER = (
    f"{'dump':58} {'arts':>5} {'left/10k':>7} {'w/left':>7} {'lists kept':>6} "
    f"{'holes/10k':>6} {'strip_code':>9}  targets"
)

STRUCTURE_HEADER = (
    f"{'language':10} {'arts':>5} {'tables':>6} {'words kept':>10} {'table-heavy: arts, kept':>23}  "
    f"{'infobox: uses, with entry':>25} {'by name':>12} {'layout only':>11} {'values w/ markup':>16}  "
    f"{'refs':>5} {'w/ URL':>6} {'notes':>5}  targets"
)


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f}%" if whole else "   n/a"


def format_structure_row(label: str, q: DumpQuality) -> str:
    failures = q.structure_failures()
    verdict = "PASS" if not failures else "FAIL: " + ", ".join(failures)
    if not q.articles:
        verdict = "n/a (no articles)"
    heavy = f"{q.table_heavy_articles:5d}, {_share(q.table_heavy_words_kept, q.table_heavy_baseline_words)}"
    boxes = f"{q.infobox_users:5d}, {q.infobox_users_with_entry:5d} ({_share(q.infobox_users_with_entry, q.infobox_users)})"
    named = f"{q.infobox_named_users_with_entry}/{q.infobox_named_users}"
    values = f"{q.infobox_values_with_leftover}/{q.infobox_values}"
    return (
        f"{label[:10]:10} {q.articles:5d} {q.tables:6d} {_share(q.words_kept, q.baseline_words):>10} {heavy:>23}  "
        f"{boxes:>25} {named:>12} {q.infobox_layout_only:11d} {values:>16}  "
        f"{q.references:5d} {q.references_with_source:6d} {q.notes:5d}  {verdict}"
    )


def main(argv: list[str] | None = None, prog: str = "python -m wikidrop_dev.quality_report") -> int:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dumps", nargs="+", help="dump files or directories holding them")
    parser.add_argument("--limit", type=int, default=None, help="articles per dump (default: all)")
    args = parser.parse_args(argv)
    total = DumpQuality(name="ALL DUMPS")
    by_language: dict[str, DumpQuality] = {}
    notes: dict[str, list[str]] = {}  # note -> files it applies to
    failing = 0
    print(HEADER)
    for path in dump_files(args.dumps):
        try:
            quality = measure_dump(path, args.limit)
        except DumpError as exc:
            notes.setdefault(f"skipped, unreadable ({exc})", []).append(path.name)
            continue
        print(format_row(quality), flush=True)
        if quality.note:
            notes.setdefault(quality.note, []).append(path.name)
        total.add(quality)
        by_language.setdefault(quality.language or "?", DumpQuality(name=quality.language)).add(quality)
        failing += bool(quality.articles and quality.failures())
    print(format_row(total))
    kinds = ", ".join(f"{k}={v}" for k, v in total.leftover_by_kind.items() if v)
    print(f"leftover hits by kind: {kinds or 'none'}")
    print()
    print(STRUCTURE_HEADER)
    for language, quality in sorted(by_language.items()):
        print(format_structure_row(language, quality))
        failing += bool(quality.articles and quality.structure_failures())
    print(format_structure_row("ALL", total))
    if total.layout_only_names:
        names = ", ".join(
            f"{name or '(untitled table)'} ({n})" for name, n in total.layout_only_names.most_common(40)
        )
        print(f"infoboxes found by layout alone (names outside INFOBOX_NAME_WORDS): {names}")
    if total.without_data_names:
        names = ", ".join(f"{name} ({n})" for name, n in total.without_data_names.most_common(40))
        print(
            f"{total.infobox_calls_without_data} articles call an infobox-named template without named"
            f" parameters (filled from Wikidata when rendered, or not an infobox), left out of coverage: {names}"
        )
    for note, files in notes.items():
        print(f"note: {note}: {', '.join(files)}")
    return 1 if failing or total.failures() or total.structure_failures() else 0


if __name__ == "__main__":
    sys.exit(main())
