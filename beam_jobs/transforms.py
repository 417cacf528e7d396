"""Composite transforms and DoFns of the parse job (beam_jobs/parse_dump.py wires them to I/O).

Data flow: ``ReadTask`` (a whole file, or a run of multistream bz2 streams) -> ``ReadPagesFn`` ->
``Page`` -> ``ParseArticlesFn`` -> article record | dead-letter row | outcome counts. Redirect pages
are not articles: ``CollectRedirects`` reads the same tasks a second time keeping only redirect
pages (XML only, no wikitext parse), and ``FoldRedirects`` adds them to their target's record
through a multimap side input keyed by the normalised title. Joining this way (instead of a
CoGroupByKey of whole records) keeps the articles streaming from reader to writer: only redirect
titles are ever materialised, so worker memory does not grow with the dump.
"""

from __future__ import annotations

import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystem import CompressionTypes
from apache_beam.io.filesystems import FileSystems
from apache_beam.metrics import Metrics

from wikidrop.dumpxml import DEFAULT_MODEL, DumpReader, Page
from wikidrop.multistream import StreamRange, read_range_pages
from wikidrop.page_guard import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_S, PageGuard
from wikidrop.records import build_article_record, dead_letter_record, parser_version, provenance
from wikidrop.siteinfo import SiteInfo
from wikidrop.titles import normalize_title
from wikidrop.wikitext import extract_content

# Tags of ParseArticlesFn's outputs.
DEAD_LETTER = "dead_letter"
OUTCOMES = "outcomes"

# MediaWiki's canonical redirect magic word is valid on every wiki (software, like canonical
# namespace names); the wiki's localized aliases come from siteinfo.
_CANONICAL_REDIRECT = "#REDIRECT"


@dataclass(frozen=True)
class ReadTask:
    """One unit of reading: a whole file (``ranges`` empty) or adjacent multistream stream ranges."""

    path: str
    ranges: tuple[StreamRange, ...] = ()

    @property
    def size(self) -> int:
        return sum(r.size for r in self.ranges)


# An outcome is (kind, namespace, reason, count); kinds: read, article, redirect, skipped,
# dead_lettered, folded, truncated (reason = JSON of the truncation).
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


class ReadPagesFn(beam.DoFn):
    """Yield ``(page, source_file, stream_offset)`` for every page of a ``ReadTask``.

    With ``count_pages`` it also emits ``("read", ns, "", n)`` outcomes (tagged ``OUTCOMES``) and
    a truncation note, so the job can prove that every page read got exactly one outcome.
    A truncated file raises (message names the file and last complete page) unless
    ``allow_truncated``.
    """

    def __init__(self, site: SiteInfo, allow_truncated: bool = False, count_pages: bool = False):
        self.site = site
        self.allow_truncated = allow_truncated
        self.count_pages = count_pages

    def setup(self) -> None:
        from beam_jobs.local_gcs import use_anonymous_gcs_for_emulator

        use_anonymous_gcs_for_emulator()

    def process(self, task: ReadTask) -> Iterator[Any]:
        read = Counter()
        for page, offset in self._pages(task):
            read[page.ns] += 1
            yield page, task.path, offset
        if self.count_pages:
            for ns, n in sorted(read.items()):
                yield beam.pvalue.TaggedOutput(OUTCOMES, ("read", ns, "", n))
            if self._truncated is not None:
                note = json.dumps(self._truncated, sort_keys=True, ensure_ascii=False)
                yield beam.pvalue.TaggedOutput(OUTCOMES, ("truncated", None, note, 1))

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


def redirect_target(page: Page, site: SiteInfo) -> str | None:
    """The target title of a redirect page: ``<redirect title>``, else the wikitext's first link.

    Old exports write ``<redirect/>`` without a title; the text then starts with a redirect magic
    word (the wiki's aliases from siteinfo, or MediaWiki's canonical ``#REDIRECT``).
    """
    if page.redirect_target:
        return page.redirect_target
    words = "|".join(re.escape(w) for w in (*site.redirect_magic_words, _CANONICAL_REDIRECT))
    match = re.match(rf"\s*(?:{words})\s*:?\s*\[\[([^\]|]+)", page.revision.text, re.IGNORECASE)
    return match.group(1) if match else None


def title_key(ns: int, title: str) -> str:
    """Join key of a normalised title (a string: deterministic to encode on every runner)."""
    return f"{ns}\t{title}"


def redirect_pair(
    element: tuple[Page, str, int | None], site: SiteInfo, namespaces: frozenset[int]
) -> list[tuple[str, dict[str, str]]]:
    """``[(target key, {name, url})]`` for a redirect page in the requested namespaces, else ``[]``.

    A redirect whose target cannot be read or normalised yields nothing: it is counted as
    unresolved (redirects - folded) like one whose target is absent.
    """
    page = element[0]
    if not page.is_redirect or page.ns not in namespaces:
        return []
    target = redirect_target(page, site)
    normalized = normalize_title(target, site) if target else None
    if normalized is None:
        return []
    return [(title_key(*normalized), {"name": page.title, "url": site.article_url(page.title)})]


class ParseArticlesFn(beam.DoFn):
    """Classify each page; extract articles under the page guard; dead-letter what fails.

    Main output: article records (``redirects`` still empty). Tagged outputs: ``DEAD_LETTER``
    rows and ``OUTCOMES`` ``(kind, ns, reason, 1)``, one per page.
    """

    def __init__(
        self,
        site: SiteInfo,
        namespaces: Iterable[int],
        dump_date: str,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ):
        self.site = site
        self.namespaces = frozenset(namespaces)
        self.dump_date = dump_date
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
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
        metric_scope = f"wikidrop.{self.site.dbname or 'unknown'}"
        self._counters = {
            kind: (Metrics.counter("wikidrop", kind), Metrics.counter(metric_scope, kind))
            for kind in ("article", "redirect", "skipped", "dead_lettered")
        }

    def teardown(self) -> None:
        if self._guard is not None:
            self._guard.close()

    def _outcome(self, kind: str, ns: int, reason: str = "") -> beam.pvalue.TaggedOutput:
        for counter in self._counters[kind]:
            counter.inc()
        return beam.pvalue.TaggedOutput(OUTCOMES, (kind, ns, reason, 1))

    def process(self, element: tuple[Page, str, int | None]) -> Iterator[Any]:
        page, source, offset = element
        if page.ns not in self.namespaces:
            yield self._outcome("skipped", page.ns, "namespace")
            return
        if page.is_redirect:
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
        yield build_article_record(page, result.content, self.site, prov)
        yield self._outcome("article", page.ns)


def fold_redirects(record: dict[str, Any], redirects_by_target: Any) -> Iterator[Any]:
    """Put the redirects that point at this article into its ``redirects`` (sorted, deduplicated)."""
    found = redirects_by_target[title_key(record["namespace"]["identifier"], record["name"])]
    if found:
        unique = {r["name"]: r for r in found}
        record = {**record, "redirects": [unique[name] for name in sorted(unique)]}
        yield beam.pvalue.TaggedOutput(
            OUTCOMES, ("folded", record["namespace"]["identifier"], "", len(unique))
        )
    yield record


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
) -> dict[str, Any]:
    """stats.json (docs/architecture.md) from outcome counts; raise StatsError unless reconciled."""
    per_ns: dict[int, Counter] = {}
    skipped_reasons: Counter = Counter()
    dead_reasons: Counter = Counter()
    folded = 0
    truncated = []
    for (kind, ns, reason), n in counts.items():
        if kind == "truncated":
            truncated.append(json.loads(reason))
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
        "parser_version": parser,
        "schema_version": schema_version,
    }


class ParseArticles(beam.PTransform):
    """Read tasks -> articles with folded redirects, dead letters and outcome counts.

    Returns a dict of PCollections: ``articles``, ``dead_letter``, ``counts`` (one dict).
    """

    def __init__(
        self,
        site: SiteInfo,
        namespaces: Iterable[int],
        dump_date: str,
        allow_truncated: bool = False,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ):
        super().__init__()
        self.site = site
        self.namespaces = frozenset(namespaces)
        self.dump_date = dump_date
        self.allow_truncated = allow_truncated
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes

    def expand(self, tasks: beam.PCollection[ReadTask]) -> dict[str, beam.PCollection]:
        site, namespaces = self.site, self.namespaces
        # Two reshuffles, not one shared: if both reads hung off one PCollection the runner would
        # fuse them into one stage, and the fold (which needs every redirect first) could then not
        # be fused with the parse: all article records would be materialised between the two.
        redirects = (
            tasks
            | "SpreadRedirectReads" >> beam.Reshuffle()
            | "ReadPagesForRedirects" >> beam.ParDo(ReadPagesFn(site, self.allow_truncated))
            | "PairRedirectsWithTargets" >> beam.FlatMap(redirect_pair, site, namespaces)
        )
        read = (
            tasks
            | "SpreadArticleReads" >> beam.Reshuffle()
            | "ReadPages"
            >> beam.ParDo(ReadPagesFn(site, self.allow_truncated, count_pages=True)).with_outputs(
                OUTCOMES, main="pages"
            )
        )
        parsed = read.pages | "ParseArticles" >> beam.ParDo(
            ParseArticlesFn(site, namespaces, self.dump_date, self.timeout_s, self.max_bytes)
        ).with_outputs(DEAD_LETTER, OUTCOMES, main="articles")
        folded = parsed.articles | "FoldRedirects" >> beam.ParDo(
            fold_redirects, beam.pvalue.AsMultiMap(redirects)
        ).with_outputs(OUTCOMES, main="articles")
        counts = (
            (read[OUTCOMES], parsed[OUTCOMES], folded[OUTCOMES])
            | "MergeOutcomes" >> beam.Flatten()
            | "CountOutcomes" >> beam.CombineGlobally(CountOutcomesFn())
        )
        return {"articles": folded.articles, "dead_letter": parsed[DEAD_LETTER], "counts": counts}
