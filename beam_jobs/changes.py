"""The steps of apply_changes (beam_jobs/apply_changes.py wires them): from adds-changes pages to
rewritten partitions.

1. ``ReadChangedPagesFn`` reads each day's history-format file; ``keep_highest_revision`` keeps,
   per page id, the page element holding the highest revision id over all days.
2. ``ScanStateFn`` finds what the state holds for those page ids (key columns of every partition,
   filtered against the changed ids: the state is scanned, never shuffled), and ``DecideFn``
   classifies each page: an older revision is ignored, a page leaving the namespaces or the wikitext
   model is removed, a redirect goes to the redirects dataset, anything else is parsed by the parse
   job's own ``ParseArticlesFn`` (page guard, record building). ``resolve_parsed`` then keeps the
   previous version of a page whose new revision was dead-lettered.
3. Redirects are re-folded for every title a change touches: the old and new title of each changed
   article, the old and new target of each changed redirect. ``ScanStateFn`` finds the articles at
   those titles and the redirects pointing at them; ``fold_at_key`` applies the day's arrivals and
   departures and gives every article there its new ``redirects``.
4. ``assemble`` turns each page's resolution and fold into partition edits; ``RewritePartitionFn``
   rewrites each touched partition (``beam_jobs.partitions.rewrite_partition``) and emits the change
   records with their ``event``: the records created, updated or re-folded, and a tombstone (event
   type delete) for each article that left.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import pyarrow as pa
import pyarrow.compute as pc

from beam_jobs.partitions import (
    CREATE,
    DELETE,
    REFOLD,
    UPDATE,
    Dataset,
    PartitionEdits,
    read_partition,
    rewrite_partition,
)
from beam_jobs.transforms import OUTCOMES, fold_redirects, open_input, redirect_row_of, title_key
from wikidrop.delivery.batches import as_tombstone
from wikidrop.dumps.export import DEFAULT_MODEL, DumpReader, Page
from wikidrop.dumps.siteinfo import SiteInfo
from wikidrop.records import EVENT_CREATE, EVENT_DELETE, EVENT_UPDATE, change_event
from wikidrop.state import PartitionRouter

ARTICLES = "articles"
REDIRECTS = "redirects"

# Outcomes of a changed page (one per page id, whatever the number of its page elements).
CREATED = "created"
UPDATED = "updated"
REDIRECT = "redirect"
SKIPPED = "skipped"
DEAD_LETTERED = "dead_lettered"
IGNORED_OLDER = "ignored_older"
PAGE_OUTCOMES = (CREATED, UPDATED, REDIRECT, SKIPPED, DEAD_LETTERED, IGNORED_OLDER)

# Why an article leaves the state.
BECAME_REDIRECT = "became_redirect"
LEFT_NAMESPACES = "left_namespaces"
CONTENT_MODEL = "content_model"
REMOVAL_REASONS = (BECAME_REDIRECT, LEFT_NAMESPACES, CONTENT_MODEL)

TO_PARSE = "to_parse"
PARTITIONS = "partitions"


def outcome(kind: str, ns: int | None = None, reason: str = "", n: int = 1) -> beam.pvalue.TaggedOutput:
    """An ``(kind, ns, reason, n)`` count for stats.json (``transforms.CountOutcomesFn`` sums them)."""
    return beam.pvalue.TaggedOutput(OUTCOMES, (kind, ns, reason, n))


@dataclass(frozen=True)
class Candidate:
    """A page element of an adds-changes day: the page, its highest revision, where it came from."""

    page: Page
    day: str
    source: str

    @property
    def order(self) -> tuple[int, str]:
        return self.page.revision.id, self.day


@dataclass(frozen=True)
class StateEntry:
    """What a state holds for one page id: an article or a redirect, in which partition."""

    kind: str  # ARTICLES | REDIRECTS
    page_id: int
    ns: int
    title: str
    revision_id: int
    partition: str  # "" until a new entry is routed
    target: str | None = None  # redirects: the title key of their target (None: unresolvable)
    row: Mapping[str, Any] | None = None  # redirects: the full row of the redirects dataset

    @property
    def key(self) -> str | None:
        """The title key this entry occupies (article) or points at (redirect)."""
        return title_key(self.ns, self.title) if self.kind == ARTICLES else self.target


@dataclass(frozen=True)
class Resolution:
    """What the days do to one page id: its outcome, and the state's entry before and after."""

    page_id: int
    ns: int
    outcome: str
    old: StateEntry | None
    new: StateEntry | None  # == old when the state keeps what it had
    day: str
    date_created: str  # timestamp of the revision that decided it
    changed: bool = True  # False: the state keeps what it had (older revision, dead letter)
    reason: str = ""  # skipped / dead-letter reason
    removed: str = ""  # why an old article leaves the articles (REMOVAL_REASONS)
    record: Mapping[str, Any] | None = None  # the new article record (redirects folded later)


@dataclass(frozen=True)
class Fold:
    """An article's ``redirects`` after the day, for an article at a title the day touched."""

    redirects: list[dict[str, str]]
    partition: str  # where the article is ("" for one created today: routed by assemble)
    day: str
    date_created: str


@dataclass(frozen=True)
class Edit:
    """One row edit of one partition (see ``beam_jobs.partitions.PartitionEdits``)."""

    action: str  # CREATE | UPDATE | REFOLD | DELETE
    page_id: int
    payload: Any = None  # record or redirect row (create/update), redirects (refold), reason (delete)
    day: str = ""
    date_created: str = ""


# -- 1. reading the days ---------------------------------------------------------------------------


class ReadChangedPagesFn(beam.DoFn):
    """``(day, path)`` -> ``(page id, Candidate)`` per page element; a truncated day fails the job.

    Counts ``pages_read`` per day and namespace and the day's highest revision id (tagged outcomes).
    """

    def setup(self) -> None:
        from beam_jobs.local_gcs import use_anonymous_gcs_for_emulator

        use_anonymous_gcs_for_emulator()

    def process(self, element: tuple[str, str]) -> Iterator[Any]:
        day, path = element
        read: Counter = Counter()
        highest = 0
        with open_input(path) as raw:
            for page in DumpReader(raw, path).pages():
                read[page.ns] += 1
                highest = max(highest, page.revision.id)
                yield page.id, Candidate(page, day, path)
        for ns, n in sorted(read.items()):
            yield outcome("pages_read", ns, day, n)
        yield outcome("day_max_revision", None, day, highest)


def keep_highest_revision(grouped: tuple[int, Iterable[Candidate]]) -> Iterator[Any]:
    """The page element with the highest revision id wins, whatever the order of days and pages."""
    page_id, candidates = grouped
    candidates = list(candidates)
    best = max(candidates, key=lambda c: c.order)
    if len(candidates) > 1:
        yield outcome("merged_page_elements", best.page.ns, "", len(candidates) - 1)
    yield page_id, best


# -- 2. what the state holds, and what the days decide ---------------------------------------------


class ScanStateFn(beam.DoFn):
    """``(dataset, partition)`` -> state entries of the pages a day touches.

    ``by="id"``: ``(page id, StateEntry)`` for every page id in the side input. ``by="key"``:
    ``(title key, ("article", page id, partition))`` for every article at a title key in the side
    input, ``(title key, ("redirect", StateEntry))`` for every redirect pointing at one. Only the
    key columns are read, filtered with Arrow.
    """

    def __init__(self, datasets: Mapping[str, Dataset], by: str):
        self.datasets = dict(datasets)
        self.by = by

    def setup(self) -> None:
        from beam_jobs.local_gcs import use_anonymous_gcs_for_emulator

        use_anonymous_gcs_for_emulator()
        self._wanted_for: int | None = None

    def _wanted(self, values: Any) -> pa.Array:
        # The side input is the same object for a whole bundle: convert it once.
        if self._wanted_for != id(values):
            self._wanted_array = pa.array(sorted(values), type=pa.int64() if self.by == "id" else pa.string())
            self._wanted_for = id(values)
        return self._wanted_array

    def process(self, element: tuple[str, str], values: Any) -> Iterator[Any]:
        dataset_name, partition = element
        if not values:
            return
        wanted = self._wanted(values)
        # Articles: the key columns only. Redirects: the whole (small) row, re-folded as it is.
        columns = ["identifier", "name", "namespace", "version"] if dataset_name == ARTICLES else None
        for batch, _ in read_partition(self.datasets[dataset_name], partition, columns):
            if self.by == "id":
                mask = pc.is_in(batch.column("identifier"), value_set=wanted)
            elif dataset_name == ARTICLES:
                mask = pc.is_in(_title_keys(batch, "namespace", "name"), value_set=wanted)
            else:
                target = batch.column("target")
                keys = _title_keys_of(pc.struct_field(target, "namespace"), pc.struct_field(target, "name"))
                mask = pc.is_in(keys, value_set=wanted)
            for row in batch.filter(mask).to_pylist():
                entry = _entry(dataset_name, partition, row)
                if self.by == "id":
                    yield entry.page_id, entry
                elif dataset_name == ARTICLES:
                    yield entry.key, ("article", entry.page_id, partition)
                else:
                    yield entry.key, ("redirect", entry)


def _title_keys(batch: pa.RecordBatch, ns_column: str, name_column: str) -> pa.Array:
    return _title_keys_of(pc.struct_field(batch.column(ns_column), "identifier"), batch.column(name_column))


def _title_keys_of(ns: pa.Array, name: pa.Array) -> pa.Array:
    """``transforms.title_key`` over Arrow columns (null where either part is null)."""
    return pc.binary_join_element_wise(pc.cast(ns, pa.string()), name, "\t")


def _entry(dataset_name: str, partition: str, row: Mapping[str, Any]) -> StateEntry:
    if dataset_name == ARTICLES:
        return StateEntry(
            ARTICLES,
            row["identifier"],
            row["namespace"]["identifier"],
            row["name"],
            row["version"]["identifier"],
            partition,
        )
    target = row["target"]
    return StateEntry(
        REDIRECTS,
        row["identifier"],
        row["namespace"]["identifier"],
        row["name"],
        row["version"]["identifier"],
        partition,
        target=title_key(target["namespace"], target["name"]) if target else None,
        row=dict(row),
    )


def redirect_entry(row: Mapping[str, Any], partition: str = "") -> StateEntry:
    """The state entry of a redirects-dataset row (``wikidrop.state.redirect_row``)."""
    return _entry(REDIRECTS, partition, row)


class DecideFn(beam.DoFn):
    """``(page id, {candidate, old})`` -> a ``Resolution``, or (tagged ``TO_PARSE``) the page to parse.

    Also counts each page's outcome (tagged outcomes) once it is decided here.
    """

    def __init__(self, site: SiteInfo, namespaces: Iterable[int]):
        self.site = site
        self.namespaces = frozenset(namespaces)

    def process(self, joined: tuple[int, Mapping[str, Iterable[Any]]]) -> Iterator[Any]:
        page_id, groups = joined
        (candidate,) = groups["candidate"]
        old = _single_entry(page_id, groups["old"])
        page = candidate.page
        decided = dict(
            page_id=page_id, ns=page.ns, old=old, day=candidate.day, date_created=page.revision.timestamp
        )
        was_article = old is not None and old.kind == ARTICLES
        if old is not None and page.revision.id <= old.revision_id:
            resolution = Resolution(outcome=IGNORED_OLDER, new=old, changed=False, **decided)
        elif page.ns not in self.namespaces:
            resolution = Resolution(
                outcome=SKIPPED,
                reason="namespace",
                new=None,
                removed=LEFT_NAMESPACES if was_article else "",
                **decided,
            )
        elif page.is_redirect:
            row = redirect_row_of(page, self.site)
            partition = old.partition if old is not None and old.kind == REDIRECTS else ""
            new = redirect_entry(row, partition)
            resolution = Resolution(
                outcome=REDIRECT, new=new, removed=BECAME_REDIRECT if was_article else "", **decided
            )
        elif page.revision.model != DEFAULT_MODEL:
            resolution = Resolution(
                outcome=SKIPPED,
                reason=CONTENT_MODEL,
                new=None,
                removed=CONTENT_MODEL if was_article else "",
                **decided,
            )
        else:
            yield beam.pvalue.TaggedOutput(TO_PARSE, (page_id, (candidate, old)))
            return
        yield from resolution_outcomes(resolution)
        yield resolution


def _single_entry(page_id: int, entries: Iterable[StateEntry]) -> StateEntry | None:
    entries = list(entries)
    if len(entries) > 1:
        raise ValueError(f"the state holds page {page_id} more than once: {entries}")
    return entries[0] if entries else None


def resolve_parsed(joined: tuple[int, Mapping[str, Iterable[Any]]]) -> Iterator[Any]:
    """``(page id, {decision, record, dead_letter})`` after the parse -> a ``Resolution``.

    A page whose new revision was dead-lettered keeps what the state had (its previous version, or
    nothing for a new page); its dead-letter row says why.
    """
    page_id, groups = joined
    ((candidate, old),) = groups["decision"]
    records = list(groups["record"])
    dead = list(groups["dead_letter"])
    page = candidate.page
    decided = dict(
        page_id=page_id, ns=page.ns, old=old, day=candidate.day, date_created=page.revision.timestamp
    )
    if records:
        (record,) = records
        kept = old.partition if old is not None and old.kind == ARTICLES else ""
        new = StateEntry(ARTICLES, page_id, page.ns, page.title, page.revision.id, kept)
        kind = UPDATED if old is not None and old.kind == ARTICLES else CREATED
        resolution = Resolution(outcome=kind, new=new, record=record, **decided)
    elif dead:
        (row,) = dead
        resolution = Resolution(
            outcome=DEAD_LETTERED, new=old, changed=False, reason=row["reason"], **decided
        )
    else:
        raise ValueError(
            f"page {page_id} was sent to the parser and came back neither parsed nor dead-lettered"
        )
    yield from resolution_outcomes(resolution)
    yield resolution


def resolution_outcomes(resolution: Resolution) -> Iterator[beam.pvalue.TaggedOutput]:
    """The counts stats.json reconciles for one decided page."""
    ns = resolution.ns
    yield outcome("page", ns, resolution.outcome)
    if resolution.reason and resolution.outcome == SKIPPED:
        yield outcome("skipped_reason", ns, resolution.reason)
    if resolution.outcome == DEAD_LETTERED:
        yield outcome("dead_letter_reason", ns, resolution.reason)
        if resolution.old is not None:
            yield outcome("dead_lettered_kept_previous", ns)
    if resolution.removed:
        yield outcome("removed", resolution.old.ns if resolution.old else ns, resolution.removed)
    if resolution.changed:
        old_redirect = resolution.old is not None and resolution.old.kind == REDIRECTS
        new_redirect = resolution.new is not None and resolution.new.kind == REDIRECTS
        if new_redirect:
            yield outcome("redirect_change", ns, "changed" if old_redirect else "created")
        elif old_redirect:
            yield outcome("redirect_change", resolution.old.ns, "removed")


# -- 3. re-folding redirects -----------------------------------------------------------------------


def touched_keys(resolution: Resolution) -> Iterator[str]:
    """The title keys whose redirects fold may differ after this page's change."""
    if resolution.changed:
        for entry in (resolution.old, resolution.new):
            if entry is not None and entry.key is not None:
                yield entry.key


def key_events(resolution: Resolution) -> Iterator[tuple[str, tuple]]:
    """``(title key, ("leave", page id, day, ts))`` for the old entry, ``("enter", entry, day, ts)``
    for the new one, of a changed page."""
    if not resolution.changed:
        return
    when = (resolution.day, resolution.date_created)
    if resolution.old is not None and resolution.old.key is not None:
        yield resolution.old.key, ("leave", resolution.page_id, *when)
    if resolution.new is not None and resolution.new.key is not None:
        yield resolution.new.key, ("enter", resolution.new, *when)


def fold_at_key(joined: tuple[str, Mapping[str, Iterable[Any]]]) -> Iterator[tuple[int, Fold]]:
    """``(title key, {state, events})`` -> ``(page id, Fold)`` for each article at that key afterwards.

    ``state``: what the state held at the key (articles there, redirects pointing at it), from
    ``ScanStateFn(by="key")``; ``events``: the day's departures and arrivals (``key_events``).
    """
    _, groups = joined
    events = list(groups["events"])
    leaving = {e[1] for e in events if e[0] == "leave"}
    articles: dict[int, str] = {}
    redirects: list[Mapping[str, Any]] = []
    for item in groups["state"]:
        if item[0] == "article" and item[1] not in leaving:
            articles[item[1]] = item[2]
        elif item[0] == "redirect" and item[1].page_id not in leaving:
            redirects.append(item[1].row)
    for event in events:
        if event[0] == "enter":
            entry = event[1]
            if entry.kind == ARTICLES:
                articles[entry.page_id] = entry.partition
            else:
                redirects.append(entry.row)
    if not articles:
        return
    day, date_created = max((e[2], e[3]) for e in events) if events else ("", "")
    folded = fold_redirects({"name": r["name"], "url": r["url"]} for r in redirects)
    for page_id, partition in sorted(articles.items()):
        yield page_id, Fold(folded, partition, day, date_created)


# -- 4. partition edits ----------------------------------------------------------------------------


class AssembleFn(beam.DoFn):
    """``(page id, {resolution, fold})`` -> ``((dataset, partition), Edit)`` for every row it changes."""

    def __init__(self, routers: Mapping[str, PartitionRouter]):
        self.routers = dict(routers)

    def process(
        self, joined: tuple[int, Mapping[str, Iterable[Any]]]
    ) -> Iterator[tuple[tuple[str, str], Edit]]:
        page_id, groups = joined
        resolutions = list(groups["resolution"])
        folds = list(groups["fold"])
        if len(folds) > 1:
            raise ValueError(f"page {page_id} is at more than one title: {folds}")
        fold = folds[0] if folds else None
        resolution = resolutions[0] if resolutions else None
        if resolution is None or not resolution.changed:
            if fold is not None:
                yield (
                    (ARTICLES, fold.partition),
                    Edit(REFOLD, page_id, fold.redirects, fold.day, fold.date_created),
                )
            return
        old, new, when = resolution.old, resolution.new, (resolution.day, resolution.date_created)
        if old is not None and (new is None or new.kind != old.kind):
            payload = resolution.removed if old.kind == ARTICLES else "removed"
            yield (old.kind, old.partition), Edit(DELETE, page_id, payload, *when)
        if new is None:
            return
        same_kind = old is not None and old.kind == new.kind
        partition = old.partition if same_kind else self.routers[new.kind].route(page_id)
        if new.kind == ARTICLES:
            if fold is None:
                raise ValueError(f"article {page_id} ({new.title!r}) has no redirect fold")
            payload = {**resolution.record, "redirects": fold.redirects}
        else:
            payload = dict(new.row or {})
        yield (new.kind, partition), Edit(UPDATE if same_kind else CREATE, page_id, payload, *when)


class RewritePartitionFn(beam.DoFn):
    """``((dataset, partition), [Edit])`` -> the partition rewritten into the new state.

    Main output: the change records, each with its ``event``: articles created, updated or re-folded,
    and a tombstone (event type delete, ``wikidrop.delivery.batches.as_tombstone``) for each article
    that left, named as the state held it. Tagged: ``PARTITIONS`` (``(dataset, PartitionInfo dict,
    "rewritten")``) and the counts stats.json reconciles against the decisions.
    """

    def __init__(
        self,
        old: Mapping[str, Dataset],
        new: Mapping[str, Dataset],
        existing: Mapping[str, Sequence[str]],
        routers: Mapping[str, PartitionRouter],
        max_rows: Mapping[str, int],
        dbname: str,
    ):
        self.old = dict(old)
        self.new = dict(new)
        self.existing = {name: frozenset(parts) for name, parts in existing.items()}
        self.routers = dict(routers)
        self.max_rows = dict(max_rows)
        self.dbname = dbname

    def setup(self) -> None:
        from beam_jobs.local_gcs import use_anonymous_gcs_for_emulator

        use_anonymous_gcs_for_emulator()

    def process(self, grouped: tuple[tuple[str, str], Iterable[Edit]]) -> Iterator[Any]:
        (dataset_name, partition), edits = grouped
        partition_edits = PartitionEdits()
        when: dict[int, tuple[str, str]] = {}
        targets = {
            CREATE: partition_edits.creates,
            UPDATE: partition_edits.updates,
            REFOLD: partition_edits.refolds,
            DELETE: partition_edits.deletes,
        }
        for edit in edits:
            if any(edit.page_id in edited for edited in targets.values()):
                raise ValueError(f"{dataset_name}/{partition}: page {edit.page_id} edited twice")
            targets[edit.action][edit.page_id] = edit.payload
            when[edit.page_id] = (edit.day, edit.date_created)
        router = self.routers[dataset_name]
        split = []
        if partition == router.tail:
            creates = len(partition_edits.creates)
            split = router.split_names(creates // self.max_rows[dataset_name] + 1)
        result = rewrite_partition(
            self.old[dataset_name],
            self.new[dataset_name],
            partition,
            partition_edits,
            exists=partition in self.existing[dataset_name],
            split_names=split,
            max_rows=self.max_rows[dataset_name],
        )
        for info in result.partitions:
            yield beam.pvalue.TaggedOutput(PARTITIONS, (dataset_name, info.to_dict(), "rewritten"))
        counts = Counter(action for action, _ in result.written)
        for action, n in sorted(counts.items()):
            yield outcome(f"{dataset_name}_written", None, action, n)
        for row in result.removed:
            yield outcome(f"{dataset_name}_deleted", row["namespace"]["identifier"], row["reason"])
        if result.unchanged_refolds:
            yield outcome("refold_unchanged", None, "", result.unchanged_refolds)
        if dataset_name != ARTICLES:
            return
        fields = self.new[dataset_name].schema.names
        for row in result.removed:
            yield self._tombstone(fields, row, *when[row["identifier"]])
        if result.removed:
            yield outcome("delete_events", None, "", len(result.removed))
        for action, record in result.written:
            day, date_created = when[record["identifier"]]
            kind = EVENT_CREATE if action == CREATE else EVENT_UPDATE
            revision = record["version"]["identifier"]
            event = change_event(self.dbname, record["identifier"], revision, kind, day, date_created)
            yield {**record, "event": event}

    def _tombstone(
        self, fields: Sequence[str], removed: Mapping[str, Any], day: str, date_created: str
    ) -> dict[str, Any]:
        """The change record of an article that left: its identity as the state held it (what a
        partner holds), every other field null; the event dated by the revision that removed it."""
        page_id = removed["identifier"]
        event = change_event(self.dbname, page_id, removed["revision"], EVENT_DELETE, day, date_created)
        return as_tombstone({**{name: removed.get(name) for name in fields}, "event": event})


def decided_page(resolution: Resolution) -> Iterator[int]:
    """Page ids whose earlier dead-letter row no longer stands (a newer revision was decided)."""
    if resolution.outcome != IGNORED_OLDER:
        yield resolution.page_id
