"""Composite transforms and DoFns of the parse job (beam_jobs/parse_dump.py wires them to I/O).

Data flow: ``ReadTask`` (a whole file, or a run of multistream bz2 streams) -> ``ReadPagesFn`` ->
``Page`` -> ``ParseArticlesFn`` -> article record | dead-letter row | outcome counts. Redirect pages
are not articles: each is folded into its target's ``redirects``. The join happens before the
articles exist, so they stream from reader to writer and are never shuffled or held in memory:
a first read (``ScanTitlesFn``, XML only, no wikitext parse) emits ``(target key, redirect)`` for
every redirect page and ``(title key, task key)`` for every other page; joining the two by title
gives each read task the redirects of its own pages, and the second read carries that small map
with its task, so folding is a dict lookup per article. (A per-article side-input lookup cost a
state request each, which measured at ~4 ms per article locally.)

The page_props table (``--page-props``: Wikidata item, disambiguation, short description, image)
joins the same way, by page id instead of title: one worker streams the SQL dump
(``wikidrop.dumps.page_props``, a gzip file cannot be split) and emits ``(page id, props)`` for the
pages having any of the record's four props; the title scan also emits ``(page id, task key)`` for
every candidate article; joining the two routes each page's props to the read task holding the page,
and the second read carries them in the same per-task map. No worker holds the table; the join's
cost is one small element per article and one per page with props (benchmarks/README.md).
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems

from beam_jobs.progress import PARSED_KINDS, SCANNED, WorkCounters
from wikidrop.dumps.export import DEFAULT_MODEL, DumpReader, Page
from wikidrop.dumps.multistream import StreamRange, read_range_pages
from wikidrop.dumps.page_props import merge_props, read_page_props
from wikidrop.dumps.siteinfo import SiteInfo
from wikidrop.dumps.titles import normalize_title
from wikidrop.records import build_article_record, dead_letter_record, parser_version, provenance
from wikidrop.state import redirect_row
from wikidrop.wikitext import extract_content
from wikidrop.wikitext.page_guard import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_S, PageGuard

# Tags of the DoFns' extra outputs.
DEAD_LETTER = "dead_letter"
OUTCOMES = "outcomes"
REDIRECT_PAIRS = "redirect_pairs"
PAGE_IDS = "page_ids"
REDIRECT_ROWS = "redirect_rows"


@dataclass(frozen=True)
class ReadTask:
    """One unit of reading: a whole file (``ranges`` empty) or adjacent multistream stream ranges."""

    path: str
    ranges: tuple[StreamRange, ...] = ()

    @property
    def size(self) -> int:
        return sum(r.size for r in self.ranges)

    @property
    def key(self) -> str:
        """Join key of the task: its file and first stream offset (unique within a job)."""
        return f"{self.path}@{self.ranges[0].start if self.ranges else 0}"


# An outcome is (kind, namespace, reason, count); kinds: read, article, redirect, skipped,
# dead_lettered, folded, truncated (reason = JSON of the truncation), page_props (reason: pages
# = pages of the table with a record prop, matched = of them, pages read as candidate articles,
# articles = articles that carry props).
Outcome = tuple[str, int | None, str, int]


def open_input(path: str) -> Any:
    """Open a local or gs:// file as raw bytes: our reader detects compression from magic bytes."""
    return FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED)


class _OffsetView(io.RawIOBase):
    """Seekable read view of bytes that start at ``base`` in a file (one read per work unit)."""

    def __init__(self, data: bytes, base: int):
        self._data, self._base, self._pos = data, base, base

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def seek(self, pos: int, whence: int = io.SEEK_SET) -> int:
        self._pos = pos if whence == io.SEEK_SET else self._pos + pos
        return self._pos

    def read(self, size: int = -1) -> bytes:
        start = self._pos - self._base
        end = len(self._data) if size < 0 else start + size
        chunk = self._data[start:end]
        self._pos += len(chunk)
        return chunk


class _PageReaderFn(beam.DoFn):
    """Pages of a ``ReadTask`` with their multistream offset; a truncated file raises (message names
    the file and the last complete page) unless ``allow_truncated``."""

    def __init__(self, site: SiteInfo, allow_truncated: bool = False):
        self.site = site
        self.allow_truncated = allow_truncated

    def setup(self) -> None:
        from beam_jobs.local_gcs import use_anonymous_gcs_for_emulator

        use_anonymous_gcs_for_emulator()

    def _pages(self, task: ReadTask) -> Iterator[tuple[Page, int | None]]:
        self._truncated = None
        if not task.ranges:
            with open_input(task.path) as raw:
                reader = DumpReader(raw, task.path, allow_truncated=self.allow_truncated)
                for page in reader.pages():
                    yield page, None
                self._truncated = reader.truncated
            return
        base, end = task.ranges[0].start, task.ranges[-1].end
        with open_input(task.path) as raw:
            raw.seek(base)
            data = raw.read(end - base)
        view = _OffsetView(data, base)
        for rng in task.ranges:
            for page in read_range_pages(view, rng, task.path, self.site):
                yield page, rng.start


class ScanTitlesFn(_PageReaderFn):
    """First read, for the redirect join: keys only, no wikitext parse.

    Main output ``(title key, task key)`` for every non-redirect page of ``namespaces``; tagged
    ``REDIRECT_PAIRS`` output ``(target key, {name, url})`` for every redirect page (see
    ``redirect_pair``); with ``page_ids``, tagged ``PAGE_IDS`` output ``(page id, task key)`` for
    every non-redirect page of ``namespaces`` (the page_props join).
    """

    def __init__(
        self,
        site: SiteInfo,
        namespaces: Iterable[int],
        allow_truncated: bool = False,
        page_ids: bool = False,
        progress_dir: str | None = None,
    ):
        super().__init__(site, allow_truncated)
        self.namespaces = frozenset(namespaces)
        self.page_ids = page_ids
        self.progress_dir = progress_dir

    def setup(self) -> None:
        super().setup()
        self._counters = WorkCounters(self.site.dbname, (SCANNED,), self.progress_dir)

    def finish_bundle(self) -> None:
        self._counters.flush()

    def process(self, task: ReadTask) -> Iterator[Any]:
        task_key = task.key
        for page, _ in self._pages(task):
            self._counters.inc(SCANNED)
            if page.ns not in self.namespaces:
                continue
            if page.is_redirect:
                for pair in redirect_pair(page, self.site):
                    yield beam.pvalue.TaggedOutput(REDIRECT_PAIRS, pair)
            else:
                yield title_key(page.ns, page.title), task_key
                if self.page_ids:
                    yield beam.pvalue.TaggedOutput(PAGE_IDS, (page.id, task_key))


class ReadPagesFn(_PageReaderFn):
    """``(task, redirects by title key, props by page id or None)`` ->
    ``(page, source_file, stream_offset, redirects, props)``.

    ``props`` is the page's page_props (``{}`` when it has none), or ``None`` for every page when
    the job reads no page_props table. Also emits ``("read", ns, "", n)`` outcomes (tagged
    ``OUTCOMES``) and a truncation note, so the job can prove that every page read got exactly one
    outcome.
    """

    def process(self, element: tuple[ReadTask, dict[str, list], dict[int, dict] | None]) -> Iterator[Any]:
        task, redirects_by_title, props_by_page = element
        read = Counter()
        for page, offset in self._pages(task):
            read[page.ns] += 1
            redirects = redirects_by_title.get(title_key(page.ns, page.title), [])
            props = None if props_by_page is None else props_by_page.get(page.id, {})
            yield page, task.path, offset, redirects, props
        for ns, n in sorted(read.items()):
            yield beam.pvalue.TaggedOutput(OUTCOMES, ("read", ns, "", n))
        if self._truncated is not None:
            note = json.dumps(self._truncated, sort_keys=True, ensure_ascii=False)
            yield beam.pvalue.TaggedOutput(OUTCOMES, ("truncated", None, note, 1))


def redirect_target(page: Page, site: SiteInfo) -> str | None:
    """The target title of a redirect page: ``<redirect title>``, else the wikitext's first link.

    Old exports write ``<redirect/>`` without a title; the text then starts with a redirect magic
    word (the wiki's aliases from siteinfo, or MediaWiki's canonical ``#REDIRECT``).
    """
    if page.redirect_target:
        return page.redirect_target
    match = site.redirect_pattern.match(page.revision.text)
    return match.group(1) if match else None


def title_key(ns: int, title: str) -> str:
    """Join key of a normalised title (a string: deterministic to encode on every runner)."""
    return f"{ns}\t{title}"


def normalized_redirect_target(page: Page, site: SiteInfo) -> tuple[int, str] | None:
    """``(namespace, title)`` a redirect page points at; None when it cannot be read or normalised."""
    target = redirect_target(page, site)
    return normalize_title(target, site) if target else None


def redirect_pair(page: Page, site: SiteInfo) -> list[tuple[str, dict[str, str]]]:
    """``[(target key, {name, url})]`` for a redirect page.

    A redirect whose target cannot be read or normalised yields nothing: it is counted as
    unresolved (redirects - folded) like one whose target is absent.
    """
    normalized = normalized_redirect_target(page, site)
    if normalized is None:
        return []
    return [(title_key(*normalized), {"name": page.title, "url": site.article_url(page.title)})]


def redirect_row_of(page: Page, site: SiteInfo) -> dict[str, Any]:
    """The row a state keeps for a redirect page (``wikidrop.state.REDIRECT_SCHEMA``)."""
    return redirect_row(page, normalized_redirect_target(page, site), site.article_url(page.title))


class ParseArticlesFn(beam.DoFn):
    """Classify each page; extract articles under the page guard; dead-letter what fails.

    Input: ``(page, source_file, stream_offset, redirects, props)`` from ``ReadPagesFn``. Main
    output: article records with their redirects folded in and their page_props fields. Tagged
    outputs: ``DEAD_LETTER`` rows, ``REDIRECT_ROWS`` (one per redirect page, for the state) and
    ``OUTCOMES``: ``(kind, ns, reason, 1)``, one per page, plus ``("folded", ns, "", n)`` and
    ``("page_props", None, "articles", 1)`` per article with props.
    """

    def __init__(
        self,
        site: SiteInfo,
        namespaces: Iterable[int],
        dump_date: str,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
        progress_dir: str | None = None,
    ):
        self.site = site
        self.namespaces = frozenset(namespaces)
        self.dump_date = dump_date
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.progress_dir = progress_dir
        self._guard: PageGuard | None = None

    def setup(self) -> None:
        self._parser_version = parser_version()
        self._guard = PageGuard(
            extract_content,
            self.site,
            timeout_s=self.timeout_s,
            max_bytes=self.max_bytes,
            preload=("wikidrop.wikitext",),
        )
        self._guard.start()
        self._counters = WorkCounters(self.site.dbname, PARSED_KINDS, self.progress_dir)

    def finish_bundle(self) -> None:
        self._counters.flush()

    def teardown(self) -> None:
        if self._guard is not None:
            self._guard.close()

    def _outcome(self, kind: str, ns: int, reason: str = "") -> beam.pvalue.TaggedOutput:
        self._counters.inc(kind)
        return beam.pvalue.TaggedOutput(OUTCOMES, (kind, ns, reason, 1))

    def process(
        self, element: tuple[Page, str, int | None, list[dict[str, str]], dict | None]
    ) -> Iterator[Any]:
        page, source, offset, redirects, props = element
        if page.ns not in self.namespaces:
            yield self._outcome("skipped", page.ns, "namespace")
            return
        if page.is_redirect:
            yield beam.pvalue.TaggedOutput(REDIRECT_ROWS, redirect_row_of(page, self.site))
            yield self._outcome("redirect", page.ns)
            return
        if page.revision.model != DEFAULT_MODEL:
            yield self._outcome("skipped", page.ns, "content_model")
            return
        assert self._guard is not None
        result = self._guard.run(page.revision.text, page.title)
        if not result.ok:
            row = dead_letter_record(page, result.reason or "", result.detail, source, offset)
            yield beam.pvalue.TaggedOutput(DEAD_LETTER, row)
            yield self._outcome("dead_lettered", page.ns, result.reason or "")
            return
        prov = provenance(self.dump_date, source, offset, self._parser_version)
        record = build_article_record(page, result.content, self.site, prov, props)
        if props:
            yield beam.pvalue.TaggedOutput(OUTCOMES, ("page_props", None, "articles", 1))
        if redirects:
            record["redirects"] = fold_redirects(redirects)
            yield beam.pvalue.TaggedOutput(OUTCOMES, ("folded", page.ns, "", len(record["redirects"])))
        yield record
        yield self._outcome("article", page.ns)


def fold_redirects(redirects: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    """An article's ``redirects``: one entry per redirect page name, sorted by name."""
    unique = {r["name"]: r for r in redirects}
    return [unique[name] for name in sorted(unique)]


def route_redirects(joined: tuple[str, dict[str, Iterable[Any]]]) -> Iterator[tuple[str, tuple[str, list]]]:
    """``(title key, {tasks, redirects})`` -> ``(task key, (title key, redirects))`` per task holding the title.

    Redirects whose target is in no task yield nothing (counted as unresolved).
    """
    key, groups = joined
    redirects = list(groups["redirects"])
    if redirects:
        for task_key in sorted(set(groups["tasks"])):
            yield task_key, (key, redirects)


def read_page_props_file(path: str) -> Iterator[tuple[int, dict[str, str]]]:
    """``(page id, props)`` of a page_props SQL dump (local or gs://), streamed."""
    from beam_jobs.local_gcs import use_anonymous_gcs_for_emulator

    use_anonymous_gcs_for_emulator()
    with open_input(path) as raw:
        yield from read_page_props(raw, path)


class RoutePagePropsFn(beam.DoFn):
    """``(page id, {tasks, props})`` -> ``(task key, (page id, props))`` per task holding the page.

    Tagged ``OUTCOMES``: ``("page_props", None, "pages", 1)`` per page of the table with props and
    ``("page_props", None, "matched", 1)`` when that page is a candidate article being read.
    """

    def process(self, joined: tuple[int, dict[str, Iterable[Any]]]) -> Iterator[Any]:
        page_id, groups = joined
        parts = list(groups["props"])
        if not parts:
            return
        yield beam.pvalue.TaggedOutput(OUTCOMES, ("page_props", None, "pages", 1))
        tasks = sorted(set(groups["tasks"]))
        if tasks:
            yield beam.pvalue.TaggedOutput(OUTCOMES, ("page_props", None, "matched", 1))
        props = merge_props(parts)
        for task_key in tasks:
            yield task_key, (page_id, props)


def task_with_maps(
    joined: tuple[str, dict[str, Iterable[Any]]], with_props: bool = False
) -> tuple[ReadTask, dict[str, list], dict[int, dict[str, str]] | None]:
    """``(task key, {task: [task], redirects: [(title key, redirects)], props: [(page id, props)]})``
    -> ``(task, {title key: redirects}, {page id: props} or None without page_props)``."""
    _, groups = joined
    (task,) = groups["task"]
    props = dict(groups["props"]) if with_props else None
    return task, dict(groups["redirects"]), props


class CountOutcomesFn(beam.CombineFn):
    """Sum ``(kind, ns, reason, n)`` outcomes into a Counter (lifted: partial sums per worker)."""

    def create_accumulator(self) -> Counter:
        return Counter()

    def add_input(self, acc: Counter, outcome: Outcome) -> Counter:
        kind, ns, reason, n = outcome
        acc[(kind, ns, reason)] += n
        return acc

    def merge_accumulators(self, accumulators: Iterable[Counter]) -> Counter:
        total: Counter = Counter()
        for acc in accumulators:
            total.update(acc)
        return total

    def extract_output(self, acc: Counter) -> dict[tuple[str, int | None, str], int]:
        return dict(acc)


class StatsError(RuntimeError):
    """The outcome counts do not add up: some page was lost or counted twice."""


def build_stats(
    counts: dict[tuple[str, int | None, str], int],
    *,
    dbname: str,
    dump_date: str,
    input_files: list[str],
    parser: str,
    schema_version: str,
    page_props_file: str | None = None,
) -> dict[str, Any]:
    """stats.json (docs/architecture.md) from outcome counts; raise StatsError unless reconciled.

    ``page_props`` is ``null`` when the job read no page_props table (the record's main_entity,
    is_disambiguation, description and image are then null), else where it came from and how many
    of its pages matched the pages read.
    """
    per_ns: dict[int, Counter] = {}
    skipped_reasons: Counter = Counter()
    dead_reasons: Counter = Counter()
    folded = 0
    truncated = []
    props: Counter = Counter()
    for (kind, ns, reason), n in counts.items():
        if kind == "truncated":
            truncated.append(json.loads(reason))
            continue
        if kind == "page_props":
            props[reason] += n
            continue
        if kind == "folded":
            folded += n
            continue
        key = {"read": "pages_read", "article": "articles", "redirect": "redirects"}.get(kind, kind)
        per_ns.setdefault(ns, Counter())[key] += n
        if kind == "skipped":
            skipped_reasons[reason] += n
        elif kind == "dead_lettered":
            dead_reasons[reason] += n
    fields = ("pages_read", "articles", "redirects", "skipped", "dead_lettered")
    per_namespace = {str(ns): {f: c[f] for f in fields} for ns, c in sorted(per_ns.items())}
    totals = {f: sum(c[f] for c in per_ns.values()) for f in fields}
    problems = [
        f"namespace {ns}: pages_read {c['pages_read']} != "
        f"{c['articles']} + {c['redirects']} + {c['skipped']} + {c['dead_lettered']}"
        for ns, c in per_namespace.items()
        if c["pages_read"] != c["articles"] + c["redirects"] + c["skipped"] + c["dead_lettered"]
    ]
    if folded > totals["redirects"]:
        problems.append(f"{folded} redirects folded but only {totals['redirects']} redirect pages read")
    if not props["articles"] <= props["matched"] <= props["pages"]:
        problems.append(f"page_props counts do not nest: {dict(props)}")
    if problems:
        raise StatsError(f"parse outcomes do not reconcile for {input_files}: " + "; ".join(problems))
    return {
        "dbname": dbname,
        "dump_date": dump_date,
        "input_files": input_files,
        **totals,
        "skipped_reasons": dict(sorted(skipped_reasons.items())),
        "dead_letter_reasons": dict(sorted(dead_reasons.items())),
        "per_namespace": per_namespace,
        "redirects_folded": folded,
        "redirects_unresolved": totals["redirects"] - folded,
        "truncated": sorted(truncated, key=lambda t: t["source"]) or None,
        "page_props": None
        if page_props_file is None
        else {
            "source_file": page_props_file,
            "pages": props["pages"],
            "matched": props["matched"],
            "articles": props["articles"],
        },
        "parser_version": parser,
        "schema_version": schema_version,
    }


class ParseArticles(beam.PTransform):
    """Read tasks -> articles with folded redirects, dead letters and outcome counts.

    ``page_props``: optional PCollection of ``(page id, props)`` (``read_page_props_file``); the
    records' page_props fields are null without it. ``progress_dir``: where the DoFns also tally
    their counters for a local launcher (``beam_jobs.progress``). Returns a dict of PCollections:
    ``articles``, ``redirects`` (rows of the redirect pages, ``wikidrop.state.REDIRECT_SCHEMA``),
    ``dead_letter``, ``counts`` (one dict).
    """

    def __init__(
        self,
        site: SiteInfo,
        namespaces: Iterable[int],
        dump_date: str,
        allow_truncated: bool = False,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
        page_props: beam.PCollection | None = None,
        progress_dir: str | None = None,
    ):
        super().__init__()
        self.progress_dir = progress_dir
        self.site = site
        self.namespaces = frozenset(namespaces)
        self.dump_date = dump_date
        self.page_props = page_props
        self.allow_truncated = allow_truncated
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes

    def expand(self, tasks: beam.PCollection[ReadTask]) -> dict[str, beam.PCollection]:
        site, namespaces = self.site, self.namespaces
        keyed_tasks = tasks | "KeyTasks" >> beam.Map(lambda task: (task.key, task))
        with_props = self.page_props is not None
        scanned = (
            tasks
            | "SpreadTitleScans" >> beam.Reshuffle()
            | "ScanTitles"
            >> beam.ParDo(
                ScanTitlesFn(
                    site,
                    namespaces,
                    self.allow_truncated,
                    page_ids=with_props,
                    progress_dir=self.progress_dir,
                )
            ).with_outputs(REDIRECT_PAIRS, PAGE_IDS, main="titles")
        )
        redirects_per_task = (
            {"tasks": scanned.titles, "redirects": scanned[REDIRECT_PAIRS]}
            | "JoinRedirectsToTitles" >> beam.CoGroupByKey()
            | "RouteRedirectsToTasks" >> beam.FlatMap(route_redirects)
        )
        per_task = {"task": keyed_tasks, "redirects": redirects_per_task}
        outcomes = []
        if with_props:
            routed = (
                {"tasks": scanned[PAGE_IDS], "props": self.page_props}
                | "JoinPagePropsToPages" >> beam.CoGroupByKey()
                | "RoutePagePropsToTasks"
                >> beam.ParDo(RoutePagePropsFn()).with_outputs(OUTCOMES, main="props")
            )
            per_task["props"] = routed.props
            outcomes.append(routed[OUTCOMES])
        read = (
            per_task
            | "GiveTasksTheirRedirects" >> beam.CoGroupByKey()
            | "PairTasksWithMaps" >> beam.Map(task_with_maps, with_props=with_props)
            | "ReadPages"
            >> beam.ParDo(ReadPagesFn(site, self.allow_truncated)).with_outputs(OUTCOMES, main="pages")
        )
        parsed = read.pages | "ParseArticles" >> beam.ParDo(
            ParseArticlesFn(
                site,
                namespaces,
                self.dump_date,
                self.timeout_s,
                self.max_bytes,
                progress_dir=self.progress_dir,
            )
        ).with_outputs(DEAD_LETTER, OUTCOMES, REDIRECT_ROWS, main="articles")
        counts = (
            (read[OUTCOMES], parsed[OUTCOMES], *outcomes)
            | "MergeOutcomes" >> beam.Flatten()
            | "CountOutcomes" >> beam.CombineGlobally(CountOutcomesFn())
        )
        return {
            "articles": parsed.articles,
            "redirects": parsed[REDIRECT_ROWS],
            "dead_letter": parsed[DEAD_LETTER],
            "counts": counts,
        }
