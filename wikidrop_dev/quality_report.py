"""Text quality report: our extraction against bare ``mwparserfromhell ... strip_code()``.

    python -m wikidrop_dev.quality_report ../shared/data/dumps [DUMP ...] [--limit N]

For each dump (a file, or every dump file under a directory): leftover markup per 10k output
characters, share of articles with any leftover, share of source list items present in the text,
holes per 10k characters, and beside it the holes of strip_code() on the same pages, then the
targets (leftover < 1 per 10k and in < 5% of articles, >= 90% of list items, holes <= half the
baseline rate) as PASS/FAIL. Only main-namespace, non-redirect wikitext pages count. Exit status 1
when a target fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import mwparserfromhell

from wikidrop.dumps.export import DumpError, open_dump
from wikidrop.dumps.siteinfo import MEDIAWIKI_CANONICAL_NAMESPACES, SiteInfo
from wikidrop.quality.measures import holes, leftover_markup, list_items_kept
from wikidrop.wikitext import extract_content

DUMP_SUFFIXES = (".xml", ".xml.bz2", ".xml.gz", ".xml.xz")
# "<lang>wiki-..." at the start of a dump file name (the Wikimedia naming scheme).
_DB_FROM_NAME = re.compile(r"^([a-z][a-z_-]*?)wiki(?=[-_.])")

TARGET_LEFTOVER_PER_10K = 1.0
TARGET_ARTICLES_WITH_LEFTOVER = 0.05
TARGET_LIST_ITEMS_KEPT = 0.90
TARGET_HOLES_RATIO = 0.5


@dataclasses.dataclass
class DumpQuality:
    """Sums over one dump's articles; rates are derived on demand."""

    name: str
    note: str = ""
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

    def add(self, other: DumpQuality) -> None:
        for f in dataclasses.fields(self):
            if f.type == "int":
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        for kind, hits in other.leftover_by_kind.items():
            self.leftover_by_kind[kind] = self.leftover_by_kind.get(kind, 0) + hits

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
        for page in reader.pages():
            if limit is not None and result.articles >= limit:
                break
            if page.ns != 0 or page.is_redirect or page.redirect_target:
                continue
            if page.revision.model not in ("wikitext", "") or not page.revision.text:
                continue
            wikitext = page.revision.text
            text = extract_content(wikitext, site, page.title).text
            hits = leftover_markup(text, site)
            total = sum(hits.values())
            for kind, count in hits.items():
                result.leftover_by_kind[kind] = result.leftover_by_kind.get(kind, 0) + count
            source_items, found_items = list_items_kept(wikitext, text)
            baseline = mwparserfromhell.parse(wikitext).strip_code()
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


def main(argv: list[str] | None = None, prog: str = "python -m wikidrop_dev.quality_report") -> int:
    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dumps", nargs="+", help="dump files or directories holding them")
    parser.add_argument("--limit", type=int, default=None, help="articles per dump (default: all)")
    args = parser.parse_args(argv)
    total = DumpQuality(name="ALL DUMPS")
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
        failing += bool(quality.articles and quality.failures())
    print(format_row(total))
    kinds = ", ".join(f"{k}={v}" for k, v in total.leftover_by_kind.items() if v)
    print(f"leftover hits by kind: {kinds or 'none'}")
    for note, files in notes.items():
        print(f"note: {note}: {', '.join(files)}")
    return 1 if failing or total.failures() else 0


if __name__ == "__main__":
    sys.exit(main())
