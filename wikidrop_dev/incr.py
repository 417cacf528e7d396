"""Adds-changes days made from an export: edit an edition day by day and publish each day the way
Wikimedia does (``other/incr/<dbname>/<YYYYMMDD>/``), plus the export of the edition as it stands.

The dev mirror publishes such days so the nightly path runs locally on real text, and the tests use
them to check that a state moved forward day by day equals a parse of the final edition::

    history = EditionHistory.from_export("ltgwiki-...-pages-articles.xml.bz2")
    held = history.hold_back([12, 40])           # pages that do not exist yet: created on a later day
    history.write_export("base.xml.bz2")           # what the full dump holds
    day = history.day("20260102")
    day.edit(7, history.text(7) + "\\n\\nOne more sentence.")
    day.create(held[0])                            # a new page (new page id, new revision)
    day.move(9, "Some new title")                  # same page id, new title, redirect left behind
    day.make_redirect(11, "Target")                # an article becomes a redirect
    day.write("var/mirror")                        # other/incr/<db>/20260102/...
    history.write_export("final.xml.bz2")          # what a full dump of today would hold

Pages are written from what ``wikidrop.dumps.export`` reads (title, namespace, id, redirect,
revision fields), so the exports and the days differ from the source export only in what the day
changed. New revisions get ids above every revision so far, new pages ids above every page, and
timestamps within their day, as on a wiki. A day writes every revision it created, grouped by page,
oldest first (``reverse_revisions`` writes a page's revisions newest first, as real files may).
"""

from __future__ import annotations

import bz2
import dataclasses
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from wikidrop.checksums import FileDigest
from wikidrop.dumps.export import DEFAULT_FORMAT, DEFAULT_MODEL, Page, Revision, open_dump
from wikidrop.dumps.incr import (
    MAXREVID_FILE,
    STATUS_DONE,
    STATUS_FILE,
    day_directory,
    md5sums_file_name,
    pages_file_name,
)
from wikidrop.dumps.siteinfo import SiteInfo
from wikidrop_dev.mirror import ExportSplit, _utf8_blocks, open_export_bytes, split_export

EDITOR = ("Wikidrop dev", 1)
_BASE36 = "0123456789abcdefghijklmnopqrstuvwxyz"


def mediawiki_sha1(text: str) -> str:
    """MediaWiki's ``<sha1>``: base-36 SHA-1 of the UTF-8 text, 31 digits."""
    n = int.from_bytes(hashlib.sha1(text.encode("utf-8")).digest(), "big")
    digits = ""
    while n:
        n, r = divmod(n, 36)
        digits = _BASE36[r] + digits
    return digits.rjust(31, "0")


@dataclass
class EditionHistory:
    """An edition's pages as they stand, edited one adds-changes day at a time."""

    header: bytes
    site: SiteInfo
    pages: dict[int, Page]
    next_revision_id: int
    next_page_id: int
    days: list[str] = field(default_factory=list)

    @classmethod
    def from_export(cls, export: str | os.PathLike[str]) -> EditionHistory:
        """Every page of an export with its current revision (the export's ``<siteinfo>`` kept as is)."""
        with open_dump(str(export)) as reader:
            site = reader.siteinfo
            pages = {page.id: page for page in reader.pages()}
        split = ExportSplit()
        with open_export_bytes(export) as stream:
            next(split_export(_utf8_blocks(stream, str(export)), str(export), split), None)
        if site is None:
            raise ValueError(f"{export}: no <siteinfo>; the days need the wiki's namespaces")
        return cls(
            header=split.header,
            site=site,
            pages=pages,
            next_revision_id=max(p.revision.id for p in pages.values()) + 1,
            next_page_id=max(pages) + 1,
        )

    @property
    def dbname(self) -> str:
        return self.site.dbname

    def text(self, page_id: int) -> str:
        return self.pages[page_id].revision.text

    def playable_pages(self) -> tuple[list[int], list[int]]:
        """Ids of the main-namespace articles with wikitext, and of the main-namespace redirects whose
        target is a page of the export: what sample days edit, move and redirect."""
        pages = self.pages.values()
        articles = sorted(
            p.id
            for p in pages
            if p.ns == 0
            and not p.is_redirect
            and p.revision.model == DEFAULT_MODEL
            and p.revision.text.strip()
        )
        titles = {p.title for p in pages}
        redirects = sorted(p.id for p in pages if p.ns == 0 and p.is_redirect and p.redirect_target in titles)
        return articles, redirects

    def hold_back(self, page_ids: Iterable[int]) -> list[Page]:
        """Take pages out of the edition (before the base is written), to create them on a later day."""
        return [self.pages.pop(page_id) for page_id in page_ids]

    def find(self, title: str) -> Page | None:
        return next((p for p in self.pages.values() if p.title == title), None)

    def day(self, day: str) -> Day:
        if self.days and day <= self.days[-1]:
            raise ValueError(f"day {day} does not follow {self.days[-1]}")
        self.days.append(day)
        return Day(self, day)

    def write_export(self, path: str | os.PathLike[str]) -> Path:
        """The edition as it stands, one current revision per page, page ids ascending (.bz2 by suffix)."""
        body = b"".join(page_xml(page, [page.revision]) for _, page in sorted(self.pages.items()))
        return _write_xml(Path(path), self.header + body + b"</mediawiki>\n")


@dataclass
class Day:
    """One adds-changes day: the revisions it creates, in order, per page."""

    history: EditionHistory
    day: str
    revisions: dict[int, list[Revision]] = field(default_factory=dict)
    reversed_pages: set[int] = field(default_factory=set)
    _seconds: int = 0

    def _revision(self, page: Page | None, text: str, comment: str, minor: bool = False) -> Revision:
        history = self.history
        self._seconds += 1
        hours, rest = divmod(self._seconds, 3600)
        timestamp = (
            f"{self.day[:4]}-{self.day[4:6]}-{self.day[6:]}T{hours:02d}:{rest // 60:02d}:{rest % 60:02d}Z"
        )
        revision = Revision(
            id=history.next_revision_id,
            parent_id=page.revision.id if page is not None else None,
            timestamp=timestamp,
            contributor_name=EDITOR[0],
            contributor_id=EDITOR[1],
            is_anonymous=False,
            comment=comment,
            minor=minor,
            model=DEFAULT_MODEL,
            format=DEFAULT_FORMAT,
            text=text,
            sha1=mediawiki_sha1(text),
            text_bytes=len(text.encode("utf-8")),
        )
        history.next_revision_id += 1
        return revision

    def _save(self, page: Page, revision: Revision) -> Page:
        saved = dataclasses.replace(page, revision=revision)
        self.history.pages[page.id] = saved
        self.revisions.setdefault(page.id, []).append(revision)
        return saved

    def edit(self, page_id: int, text: str, comment: str = "edit", minor: bool = False) -> Page:
        """A new revision of a page (a redirect page whose new text is no redirect stops being one)."""
        page = self.history.pages[page_id]
        target = self.history.site.redirect_pattern.match(text)
        page = dataclasses.replace(
            page, redirect_target=target.group(1).strip() if target else None, is_redirect=bool(target)
        )
        return self._save(page, self._revision(page, text, comment, minor))

    def create(self, page: Page, title: str | None = None) -> Page:
        """A new page with ``page``'s text (e.g. a held-back page): a new page id and revision."""
        title = title or page.title
        new = Page(
            id=self.history.next_page_id,
            title=title,
            ns=self.history.site.namespace_of_title(title),
            redirect_target=page.redirect_target,
            revision=page.revision,
            is_redirect=page.is_redirect,
        )
        self.history.next_page_id += 1
        return self._save(new, self._revision(None, page.revision.text, "new page"))

    def make_redirect(self, page_id: int, target: str) -> Page:
        """Turn a page into a redirect to ``target``."""
        return self.edit(page_id, f"#REDIRECT [[{target}]]", comment=f"redirect to [[{target}]]")

    def move(self, page_id: int, new_title: str, leave_redirect: bool = True) -> Page:
        """Rename a page (same id, null revision); by default a new redirect page keeps the old title."""
        page = self.history.pages[page_id]
        old_title = page.title
        moved = dataclasses.replace(page, title=new_title, ns=self.history.site.namespace_of_title(new_title))
        comment = f"moved page [[{old_title}]] to [[{new_title}]]"
        moved = self._save(moved, self._revision(page, page.revision.text, comment, minor=True))
        if leave_redirect:
            redirect_text = f"#REDIRECT [[{new_title}]]"
            stub = Page(
                id=self.history.next_page_id,
                title=old_title,
                ns=page.ns,
                redirect_target=new_title,
                revision=page.revision,
                is_redirect=True,
            )
            self.history.next_page_id += 1
            self._save(stub, self._revision(None, redirect_text, comment))
        return moved

    def create_redirect(self, title: str, target: str) -> Page:
        """A new redirect page ``title`` -> ``target``."""
        text = f"#REDIRECT [[{target}]]"
        page = Page(
            id=self.history.next_page_id,
            title=title,
            ns=self.history.site.namespace_of_title(title),
            redirect_target=target,
            revision=self._revision(None, text, f"redirect to [[{target}]]"),
            is_redirect=True,
        )
        self.history.next_page_id += 1
        self.history.pages[page.id] = page
        self.revisions.setdefault(page.id, []).append(page.revision)
        return page

    def reverse_revisions(self, page_id: int) -> None:
        """Write this page's revisions of the day newest first."""
        self.reversed_pages.add(page_id)

    def write(self, root: str | os.PathLike[str]) -> DayFiles:
        """``<root>/other/incr/<dbname>/<day>/``: the pages file, md5sums, maxrevid.txt, status.txt."""
        dbname = self.history.dbname
        directory = Path(root) / day_directory(dbname, self.day)
        directory.mkdir(parents=True, exist_ok=True)
        body = []
        for page_id in sorted(self.revisions):
            revisions = self.revisions[page_id]
            if page_id in self.reversed_pages:
                revisions = revisions[::-1]
            body.append(page_xml(self.history.pages[page_id], revisions))
        pages = _write_xml(
            directory / pages_file_name(dbname, self.day),
            self.history.header + b"".join(body) + b"</mediawiki>\n",
        )
        md5sums = directory / md5sums_file_name(dbname, self.day)
        md5sums.write_text(f"{FileDigest.of_file(pages).md5}  {pages.name}\n")
        highest = max((r.id for revisions in self.revisions.values() for r in revisions), default=0)
        (directory / MAXREVID_FILE).write_text(f"{highest}\n")
        (directory / STATUS_FILE).write_text(f"{STATUS_DONE}\n")
        return DayFiles(self.day, directory, pages, md5sums)


@dataclass(frozen=True)
class DayFiles:
    day: str
    directory: Path
    pages: Path
    md5sums: Path


def page_xml(page: Page, revisions: Sequence[Revision]) -> bytes:
    """One ``<page>`` element in export format 0.11, with the given revisions."""
    parts = [
        "  <page>\n",
        f"    <title>{escape(page.title)}</title>\n",
        f"    <ns>{page.ns}</ns>\n",
        f"    <id>{page.id}</id>\n",
    ]
    if page.is_redirect:
        target = f" title={quoteattr(page.redirect_target)}" if page.redirect_target else ""
        parts.append(f"    <redirect{target} />\n")
    parts.extend(_revision_xml(r) for r in revisions)
    parts.append("  </page>\n")
    return "".join(parts).encode("utf-8")


def _revision_xml(rev: Revision) -> str:
    lines = ["    <revision>\n", f"      <id>{rev.id}</id>\n"]
    if rev.parent_id is not None:
        lines.append(f"      <parentid>{rev.parent_id}</parentid>\n")
    lines.append(f"      <timestamp>{rev.timestamp}</timestamp>\n")
    if rev.is_anonymous and rev.contributor_name:
        lines.append(
            f"      <contributor>\n        <ip>{escape(rev.contributor_name)}</ip>\n      </contributor>\n"
        )
    elif rev.contributor_name is None:
        lines.append('      <contributor deleted="deleted" />\n')
    else:
        contributor_id = f"\n        <id>{rev.contributor_id}</id>" if rev.contributor_id is not None else ""
        lines.append(
            f"      <contributor>\n        <username>{escape(rev.contributor_name)}</username>"
            f"{contributor_id}\n      </contributor>\n"
        )
    if rev.minor:
        lines.append("      <minor />\n")
    if rev.comment is not None:
        lines.append(f"      <comment>{escape(rev.comment)}</comment>\n")
    lines.append(f"      <model>{escape(rev.model)}</model>\n      <format>{escape(rev.format)}</format>\n")
    size = f' bytes="{rev.text_bytes}"' if rev.text_bytes is not None else ""
    lines.append(f'      <text{size} xml:space="preserve">{escape(rev.text)}</text>\n')
    if rev.sha1:
        lines.append(f"      <sha1>{rev.sha1}</sha1>\n")
    lines.append("    </revision>\n")
    return "".join(lines)


def _write_xml(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bz2.compress(data) if path.suffix == ".bz2" else data)
    return path


@dataclass
class SampleDays:
    """What ``play_sample_days`` did: the base export, each day's files, the final export, and which
    page ids played which part (the tests check the job's counts against these)."""

    base_export: Path
    days: list[DayFiles]
    final_export: Path
    roles: dict[str, list[int]]


def play_sample_days(
    export: str | os.PathLike[str], directory: str | os.PathLike[str], dump_date: str, days: Sequence[str]
) -> SampleDays:
    """Two adds-changes days of every kind of change, on the real pages of ``export``.

    Day 1: an edit (the page's text plus a paragraph), another page's real text saved over a page, a
    new page (a held-back real article), a move that leaves a redirect, an article turned into a
    redirect to another, two revisions of one page written newest first, a page moved out of the
    article namespace (to User:), and an edit in a namespace the edition does not keep. Day 2: the
    redirect turned back into an article, a redirect pointed at another article, a redirect replaced
    by an article, a new redirect page, a second new page, and the day-1 edit edited again.
    Writes ``<directory>/<db>-<dump_date>-pages-articles.xml.bz2`` (the base), the days under
    ``<directory>/mirror/other/incr/`` and ``<directory>/<db>-<last day>-pages-articles.xml.bz2``.
    """
    first, second = days
    directory = Path(directory)
    history = EditionHistory.from_export(export)
    site = history.site
    articles, redirects = history.playable_pages()
    elsewhere = sorted(p.id for p in history.pages.values() if p.ns not in (0, -1, -2) and not p.is_redirect)
    if len(articles) < 16 or len(redirects) < 2:
        raise ValueError(f"{export}: too few articles ({len(articles)}) or redirects ({len(redirects)})")
    a = articles
    held = history.hold_back(a[-2:])
    base = history.write_export(directory / f"{history.dbname}-{dump_date}-pages-articles.xml.bz2")
    mirror = directory / "mirror"

    day = history.day(first)
    day.edit(a[0], history.text(a[0]) + "\n\nOne more paragraph, added by an edit.")
    day.edit(a[1], history.text(a[2]), comment="replaced with another page's text")
    created = day.create(held[0])
    moved_from = history.pages[a[3]].title
    day.move(a[3], f"{moved_from} 2")
    day.make_redirect(a[4], history.pages[a[5]].title)
    day.edit(a[6], history.text(a[6]) + "\n\nFirst of two edits today.")
    day.edit(a[6], history.text(a[6]) + "\n\nSecond of two edits today.")
    day.reverse_revisions(a[6])
    left_from = history.pages[a[7]].title
    day.move(a[7], f"{site.namespace_name(2)}:{left_from}")
    if elsewhere:
        day.edit(elsewhere[0], history.text(elsewhere[0]) + "\n\nAn edit outside the articles.")
    stubs = [history.find(moved_from).id, history.find(left_from).id]  # type: ignore[union-attr]
    roles = {
        "day1_created": [created.id],
        "day1_updated": [a[0], a[1], a[3], a[6]],
        "day1_moved": [a[3]],
        "day1_reversed": [a[6]],
        "day1_became_redirect": [a[4]],
        "day1_redirect_target": [a[5]],
        "day1_left_namespaces": [a[7]],
        "day1_redirects_created": [*stubs, a[4]],
        "day1_other_namespace": elsewhere[:1],
    }
    files = [day.write(mirror)]

    day = history.day(second)
    day.edit(a[4], history.text(a[5]) + "\n\nBack from a redirect.")
    retargeted, replaced = redirects[0], redirects[1]
    day.make_redirect(retargeted, history.pages[a[8]].title)
    day.edit(replaced, history.text(a[9]), comment="no longer a redirect")
    new_redirect = day.create_redirect(f"{history.pages[a[10]].title} (redirect)", history.pages[a[10]].title)
    created = day.create(held[1])
    day.edit(a[0], history.text(a[0]) + "\n\nEdited again the next day.")
    roles.update(
        day2_created=[a[4], replaced, created.id],
        day2_updated=[a[0]],
        day2_redirects_created=[new_redirect.id],
        day2_redirects_changed=[retargeted],
        day2_redirects_removed=[a[4], replaced],
    )
    files.append(day.write(mirror))
    final = history.write_export(directory / f"{history.dbname}-{second}-pages-articles.xml.bz2")
    return SampleDays(base, files, final, roles)


def mirror_days(
    export: str | os.PathLike[str], root: str | os.PathLike[str], dump_date: str, count: int = 2
) -> list[DayFiles]:
    """``count`` adds-changes days after ``dump_date`` of the edition as ``export`` holds it, under
    ``<root>/other/incr/<dbname>/<day>/`` (the dev mirror: the full dump is the export itself).

    Day 1: an edit, a new page (another article's text under a new title), a move that leaves a
    redirect, an article turned into a redirect to another, a new redirect. Day 2: the first page
    edited again, the redirect turned back into an article, an existing redirect pointed elsewhere,
    another new page. Later days: one edit each. Titles and text come from the export's own pages.
    """
    import datetime as dt

    history = EditionHistory.from_export(export)
    articles, redirects = history.playable_pages()
    if len(articles) < 8:
        raise ValueError(f"{export}: {len(articles)} articles; the sample days need at least 8")
    a = articles
    start = dt.datetime.strptime(dump_date, "%Y%m%d").date()
    written = []
    for number in range(1, count + 1):
        name = (start + dt.timedelta(days=number)).strftime("%Y%m%d")
        day = history.day(name)
        title = history.pages[a[number % len(a)]].title
        if number == 1:
            day.edit(a[0], history.text(a[0]) + "\n\n" + history.text(a[1]).split("\n\n")[0])
            day.create(history.pages[a[1]], title=f"{history.pages[a[1]].title} (2)")
            day.move(a[2], f"{history.pages[a[2]].title} 2")
            day.make_redirect(a[3], history.pages[a[4]].title)
            day.create_redirect(f"{history.pages[a[5]].title} (redirect)", history.pages[a[5]].title)
        elif number == 2:
            day.edit(a[0], history.text(a[0]) + "\n\n" + history.text(a[6]).split("\n\n")[0])
            day.edit(a[3], history.text(a[5]), comment="no longer a redirect")
            if redirects:
                day.make_redirect(redirects[0], history.pages[a[6]].title)
            day.create(history.pages[a[7]], title=f"{history.pages[a[7]].title} (2)")
        else:
            page = a[number % len(a)]
            day.edit(page, history.text(page) + f"\n\n{title}.")
        written.append(day.write(root))
    return written
