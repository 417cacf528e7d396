"""Beam job: an edition state + Wikimedia adds-changes days -> the state after those days, and what changed.

Run locally (Beam's in-process FnApiRunner)::

    python -m beam_jobs.apply_changes \\
        --base /tmp/ltgwiki-20260101 \\
        --changes /tmp/incr/ltgwiki/20260102/ltgwiki-20260102-pages-meta-hist-incr.xml.bz2 \\
        --changes /tmp/incr/ltgwiki/20260103/ltgwiki-20260103-pages-meta-hist-incr.xml.bz2 \\
        --output /tmp/ltgwiki-state-20260103

``--base`` is an edition state (``wikidrop.state``): the output root of parse_dump or of an earlier
apply_changes (its committed attempt is read), or a state folder itself. Each ``--changes`` is one day's ``<dbname>-<YYYYMMDD>-pages-meta-hist-incr.xml[.bz2]``
(history format, all namespaces), applied in the order given; the day comes from the file name.
Days must follow the base strictly, once each, with none missing (``--allow-gaps`` accepts a gap
the caller knows the next day covers); anything else is refused before a byte is written. An input
error (such a day, a base that is no state, a day cut short, found by a worker while reading: the
run's attempt is then deleted) ends the command with one ``apply_changes: input error:`` line and
exit status 2, as parse_dump's (``beam_jobs.command``).

``--output`` (local or ``gs://``, apart from the base) is an output root as parse_dump's
(``wikidrop.layout.JobOutput``): the run writes a fresh ``attempts/<id>/`` holding the new state in
parse_dump's layout (``articles/``, ``redirects/``, ``dead_letter/``, ``siteinfo.json``,
``stats.json``, ``state.json``) plus ``changes/part-*.parquet`` and ``changes/part-*.ndjson.gz``:
every article record the days created or updated, redirect re-folds included, and a tombstone for
every article that left (became a redirect, moved out of the namespaces or the wikitext model:
identifier, name, url and namespace as the state held them, every other field null), each with
Wikimedia Enterprise's ``event`` (type create, update or delete), so a partner's batch carries the
deletions too. It commits through ``CURRENT.json`` once all of it is written
(``beam_jobs.output``): a failed run commits nothing and deletes its attempt. Only the partitions
holding a page the days touch are rewritten; the others are copied.

Semantics: the highest revision id of a page wins, whatever the order of days, pages and revisions;
a revision no newer than the state's is ignored (counted); only the state's namespaces are kept (a
page moved out of them leaves); a page that becomes a redirect leaves the articles and is folded
into its target; every title a change touches gets its redirects re-folded (those articles are
updates in ``changes/``); a moved page keeps its identifier under its new name; a page whose new
revision fails to parse is dead-lettered and keeps its previous version. stats.json reconciles
every count (see ``build_change_stats``).
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
import pyarrow as pa
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.runners.runner import PipelineResult

from beam_jobs import changes as steps
from beam_jobs.command import InputErrors, UsageError, run_command
from beam_jobs.local_gcs import use_anonymous_gcs_for_emulator
from beam_jobs.options import JobOptions
from beam_jobs.output import OutputAttempt, committed_output
from beam_jobs.outputs import (
    InputNotFound,
    WriteNdjson,
    expand_inputs,
    read_json,
    write_json,
)
from beam_jobs.partitions import Dataset, QualityRows, copy_partition, partition_schema
from beam_jobs.paths import make_local_paths_absolute
from beam_jobs.runners import pipeline_runner
from beam_jobs.transforms import (
    DEAD_LETTER,
    OUTCOMES,
    REDIRECT_ROWS,
    CountOutcomesFn,
    ParseArticlesFn,
    StatsError,
    open_input,
)
from wikidrop.dumps.export import DumpError, read_siteinfo
from wikidrop.dumps.incr import parse_pages_file_name
from wikidrop.dumps.siteinfo import SiteInfo
from wikidrop.layout import JobOutput, ParseOutput
from wikidrop.records import (
    ARTICLE_SCHEMA,
    SCHEMA_VERSION,
    change_schema,
    page_props_fields,
    page_props_source,
    parser_version,
)
from wikidrop.state import (
    APPLY_CHANGES,
    REDIRECT_PARTITION_ROWS,
    REDIRECT_SCHEMA,
    EditionState,
    PartitionInfo,
    PartitionRouter,
    StateError,
    check_days,
)

log = logging.getLogger(__name__)

# Input errors: a day or the base is wrong for this run (cut short, applied twice, out of order, of
# another wiki, not a state); re-running cannot help. Workers raise the dump errors while reading a day.
INPUT_ERRORS = InputErrors(
    types=(DumpError, StateError, InputNotFound, UsageError),
    worker_names=("DumpError", "TruncatedDumpError"),
)


class ApplyChangesOptions(PipelineOptions):
    """The job's own options (``--output`` and the page bounds: ``beam_jobs.options.JobOptions``)."""

    @classmethod
    def _add_argparse_args(cls, parser: Any) -> None:
        parser.add_argument("--base", default=None, help="state folder to start from (local or gs://)")
        parser.add_argument(
            "--changes",
            action="append",
            default=[],
            help="one day's pages-meta-hist-incr file (repeatable, in order)",
        )
        parser.add_argument(
            "--allow-gaps",
            "--allow_gaps",
            dest="allow_gaps",
            action="store_true",
            help="accept missing days between the state and the days given (the next day covers them)",
        )


@dataclass(frozen=True)
class ApplyRun:
    """A finished job: its stats.json and Beam's result (state, ``metrics()``)."""

    stats: dict[str, Any]
    result: PipelineResult


def run(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the job to completion, commit its output and return its stats (the content of stats.json)."""
    return run_job(argv).stats


def run_job(argv: Sequence[str] | None = None) -> ApplyRun:
    """Run the job to completion and commit its output; see ``ApplyRun``."""
    options = PipelineOptions(argv)
    opts = options.view_as(ApplyChangesOptions)
    shared = options.view_as(JobOptions)
    if not opts.base or not opts.changes or not shared.output:
        raise UsageError(
            "apply_changes needs --base DIR, --changes FILE (repeatable, in order) and --output DIR"
        )
    make_local_paths_absolute(opts, ("base", "changes"))
    make_local_paths_absolute(shared, ("output",))
    use_anonymous_gcs_for_emulator()
    root = JobOutput(shared.output.rstrip("/"))
    base = ParseOutput(state_folder(opts.base.rstrip("/")))
    if any(a == b or a.startswith(b + "/") for a, b in ((root.root, base.uri), (base.uri, root.root))):
        raise StateError(f"--output {root.root} must be a folder of its own, apart from --base {base.uri}")
    state = load_state(base)
    site = SiteInfo.from_dict(read_json(base.siteinfo_uri))
    files = [path for pattern in opts.changes for path in expand_inputs([pattern])]
    days = [day_of(path, state.dbname) for path in files]
    check_days(state, days, allow_gaps=opts.allow_gaps)
    schema = article_schema_of(base, state)

    with OutputAttempt(root.root) as attempt:  # a failure inside deletes the attempt, commits nothing
        output = ParseOutput(attempt.uri)
        write_json(output.siteinfo_uri, site.to_dict())
        result = _run_pipeline(
            options, shared, state, site, schema, base, output, list(zip(days, files, strict=True))
        )
        stats = read_json(output.stats_uri)
        attempt.commit()
    return ApplyRun(stats, result)


def state_folder(uri: str) -> str:
    """The folder of a state: a job output root's committed attempt, or ``uri`` itself."""
    return committed_output(uri) or uri


def load_state(folder: ParseOutput) -> EditionState:
    """The state's state.json; a folder without one is no state (an old parse, or not a job output)."""
    if not FileSystems.exists(folder.state_uri):
        raise StateError(
            f"{folder.uri} is not an edition state: no state.json (not a parse_dump or apply_changes output, "
            "or one written by an older parse_dump: parse the full dump again)"
        )
    state = EditionState.from_dict(read_json(folder.state_uri), folder.state_uri)
    if state.schema_version != SCHEMA_VERSION:
        raise StateError(
            f"{folder.state_uri}: records of schema {state.schema_version}, this job writes {SCHEMA_VERSION}: "
            "parse the full dump again to re-base"
        )
    if len(state.dump_date) != 8 or not state.dump_date.isdigit():
        raise StateError(
            f"{folder.state_uri}: no full dump date ({state.dump_date!r}); parse with --dump-date"
        )
    return state


def day_of(path: str, dbname: str) -> str:
    """The day of an adds-changes file, from its Wikimedia name, checked against the wiki it is for."""
    parsed = parse_pages_file_name(path)
    if parsed is None:
        raise StateError(
            f"{path}: not named <dbname>-<YYYYMMDD>-pages-meta-hist-incr.xml[.bz2]; which day is it?"
        )
    name_db, day = parsed
    with open_input(path) as raw:
        try:
            header, _ = read_siteinfo(raw, path)
        except DumpError as exc:
            raise DumpError(f"{path}: not a readable adds-changes file: {exc}") from exc
    for what, found in (("file name", name_db), ("<siteinfo>", header.dbname if header else "")):
        if found and found != dbname:
            raise StateError(f"{path}: its {what} says {found!r}, the state is {dbname!r}")
    return day


def article_schema_of(base: ParseOutput, state: EditionState) -> pa.Schema:
    """The Arrow schema of the base's articles (new records are written with it)."""
    if not state.articles:
        return ARTICLE_SCHEMA
    return partition_schema(Dataset(base.articles_uri, ARTICLE_SCHEMA, ndjson=True), state.articles[0].name)


def _run_pipeline(
    options: PipelineOptions,
    opts: JobOptions,
    state: EditionState,
    site: SiteInfo,
    schema: pa.Schema,
    base: ParseOutput,
    output: ParseOutput,
    days: list[tuple[str, str]],
) -> PipelineResult:
    """Build the pipeline writing the new state under ``output`` and run it to the end."""
    # Adds-changes days carry no page_props: an updated article keeps the ones it had.
    kept = tuple(page_props_fields(None, site)) if page_props_source(schema) else ()
    # Quality rows (what validation checks) follow the base's: copied with an untouched partition,
    # measured for the rows a rewrite writes; a base without them gives a state without them.
    scripts = state.quality_scripts

    def quality(folder: str) -> QualityRows | None:
        return QualityRows(folder, site, scripts) if scripts is not None else None

    old = {
        steps.ARTICLES: Dataset(
            base.articles_uri, schema, ndjson=True, kept_on_update=kept, quality=quality(base.quality_uri)
        ),
        steps.REDIRECTS: Dataset(base.redirects_uri, REDIRECT_SCHEMA, ndjson=False),
    }
    new = {
        steps.ARTICLES: Dataset(
            output.articles_uri, schema, ndjson=True, quality=quality(output.quality_uri)
        ),
        steps.REDIRECTS: Dataset(output.redirects_uri, REDIRECT_SCHEMA, ndjson=False),
    }
    partitions = {steps.ARTICLES: state.articles, steps.REDIRECTS: state.redirects}
    routers = {name: PartitionRouter(parts) for name, parts in partitions.items()}
    max_rows = {steps.ARTICLES: opts.partition_rows, steps.REDIRECTS: REDIRECT_PARTITION_ROWS}
    for dataset in new.values():
        for folder in (dataset.folder, *([dataset.quality.folder] if dataset.quality else [])):
            if not FileSystems.exists(folder):  # a local folder; GCS has none to make
                FileSystems.mkdirs(folder)
    listed = [(name, p.name) for name, parts in partitions.items() for p in parts]
    base_dead_letters = [
        m.path for m in FileSystems.match([f"{base.dead_letter_uri}/*.ndjson.gz"])[0].metadata_list
    ]
    namespaces = state.namespaces
    day_names = [day for day, _ in days]
    parser = parser_version()

    with beam.Pipeline(runner=pipeline_runner(options), options=options) as pipeline:
        read = (
            pipeline
            | "ListDays" >> beam.Create(days, reshuffle=False)
            | "ReadChangedPages"
            >> beam.ParDo(steps.ReadChangedPagesFn()).with_outputs(OUTCOMES, main="pages")
        )
        newest = (
            read.pages
            | "GroupPageElements" >> beam.GroupByKey()
            | "KeepHighestRevision"
            >> beam.FlatMap(steps.keep_highest_revision).with_outputs(OUTCOMES, main="pages")
        )
        changed_ids = newest.pages | "ChangedIds" >> beam.Keys() | "AsIdSet" >> _to_set()
        # Each pass over the state's partitions starts from its own list: the passes wait on side
        # inputs computed from each other's results, so they must not be fused into one stage.
        old_entries = (
            pipeline | "ListPartitionsToFindPages" >> beam.Create(listed, reshuffle=False)
        ) | "FindChangedPagesInState" >> beam.ParDo(
            steps.ScanStateFn(old, by="id"), beam.pvalue.AsSingleton(changed_ids)
        )
        decided = (
            {"candidate": newest.pages, "old": old_entries}
            | "JoinPagesToState" >> beam.CoGroupByKey()
            | "Decide"
            >> beam.ParDo(steps.DecideFn(site, namespaces)).with_outputs(
                steps.TO_PARSE, OUTCOMES, main="resolutions"
            )
        )

        # Parse with the parse job's own DoFn, once per day (provenance names the day and its file).
        to_parse = decided[steps.TO_PARSE] | "SplitByDay" >> beam.Partition(
            lambda item, n: day_names.index(item[1][0].day), len(day_names)
        )
        records, dead_letters = [], []
        for index, day in enumerate(day_names):
            parsed = (
                to_parse[index]
                | f"PageToParse{day}"
                >> beam.Map(lambda item: (item[1][0].page, item[1][0].source, None, [], None))
                | f"ParseDay{day}"
                >> beam.ParDo(
                    ParseArticlesFn(site, namespaces, day, opts.page_timeout_s, opts.max_page_bytes)
                ).with_outputs(DEAD_LETTER, OUTCOMES, REDIRECT_ROWS, main="articles")
            )
            records.append(parsed.articles)
            dead_letters.append(parsed[DEAD_LETTER])
        new_dead_letters = dead_letters | "AllNewDeadLetters" >> beam.Flatten()
        parsed_resolutions = (
            {
                "decision": decided[steps.TO_PARSE],
                "record": records | "AllParsed" >> beam.Flatten() | "KeyRecords" >> beam.Map(_by_identifier),
                "dead_letter": new_dead_letters | "KeyDeadLetters" >> beam.Map(_by_identifier),
            }
            | "JoinParsed" >> beam.CoGroupByKey()
            | "ResolveParsed" >> beam.FlatMap(steps.resolve_parsed).with_outputs(OUTCOMES, main="resolutions")
        )
        resolutions = (
            decided.resolutions,
            parsed_resolutions.resolutions,
        ) | "AllResolutions" >> beam.Flatten()

        # Re-fold the redirects of every title the days touch.
        dirty = resolutions | "TouchedTitles" >> beam.FlatMap(steps.touched_keys) | "AsKeySet" >> _to_set()
        at_keys = (
            pipeline | "ListPartitionsToFindTitles" >> beam.Create(listed, reshuffle=False)
        ) | "FindTouchedTitlesInState" >> beam.ParDo(
            steps.ScanStateFn(old, by="key"), beam.pvalue.AsSingleton(dirty)
        )
        folds = (
            {"state": at_keys, "events": resolutions | "TitleEvents" >> beam.FlatMap(steps.key_events)}
            | "JoinByTitle" >> beam.CoGroupByKey()
            | "FoldRedirects" >> beam.FlatMap(steps.fold_at_key)
        )

        # Rewrite the partitions the days touch, copy the others.
        edits = (
            {
                "resolution": resolutions | "KeyResolutions" >> beam.Map(lambda r: (r.page_id, r)),
                "fold": folds,
            }
            | "JoinByPage" >> beam.CoGroupByKey()
            | "Assemble" >> beam.ParDo(steps.AssembleFn(routers))
            | "GroupByPartition" >> beam.GroupByKey()
        )
        existing = {name: [p.name for p in parts] for name, parts in partitions.items()}
        rewritten = edits | "RewritePartitions" >> beam.ParDo(
            steps.RewritePartitionFn(old, new, existing, routers, max_rows, state.dbname)
        ).with_outputs(steps.PARTITIONS, OUTCOMES, main="changes")
        touched = edits | "TouchedPartitions" >> beam.Keys() | "AsPartitionSet" >> _to_set()
        copied = (
            pipeline | "ListPartitionsToCopy" >> beam.Create(listed, reshuffle=False)
        ) | "CopyUntouched" >> beam.FlatMap(
            _copy_untouched, beam.pvalue.AsSingleton(touched), old=old, new=new, partitions=partitions
        )
        final_partitions = (
            (rewritten[steps.PARTITIONS], copied)
            | "AllPartitions" >> beam.Flatten()
            | "GatherPartitions" >> _to_list()
        )

        change_files = [
            rewritten.changes
            | "WriteChangesParquet"
            >> beam.io.WriteToParquet(
                f"{output.changes_uri}/part",
                change_schema(schema),
                file_name_suffix=".parquet",
                codec="zstd",
                record_batch_size=200,
                row_group_buffer_size=32 * 1024 * 1024,
            ),
            rewritten.changes | "WriteChangesNdjson" >> WriteNdjson(f"{output.changes_uri}/part"),
        ]

        # Dead letters: the base's, minus pages the days decided again, plus the days' own.
        decided_ids = (
            resolutions | "DecidedPages" >> beam.FlatMap(steps.decided_page) | "AsDecidedSet" >> _to_set()
        )
        kept_dead = (
            pipeline
            | "ListBaseDeadLetters" >> beam.Create(base_dead_letters, reshuffle=False)
            | "ReadBaseDeadLetters" >> beam.FlatMap(_read_ndjson)
            | "DropDecided"
            >> beam.Filter(
                lambda row, ids: row["identifier"] not in ids, beam.pvalue.AsSingleton(decided_ids)
            )
        )
        dead_rows = (kept_dead, new_dead_letters) | "AllDeadLetters" >> beam.Flatten()
        dead_files = dead_rows | "WriteDeadLetters" >> WriteNdjson(f"{output.dead_letter_uri}/part")
        dead_counts = (
            (kept_dead | "CountKept" >> beam.Map(lambda _: ("dead_letter_rows", None, "kept", 1))),
            (new_dead_letters | "CountNew" >> beam.Map(lambda _: ("dead_letter_rows", None, "new", 1))),
        )

        counts = (
            (
                read[OUTCOMES],
                newest[OUTCOMES],
                decided[OUTCOMES],
                parsed_resolutions[OUTCOMES],
                rewritten[OUTCOMES],
                *dead_counts,
            )
            | "MergeOutcomes" >> beam.Flatten()
            | "CountOutcomes" >> beam.CombineGlobally(CountOutcomesFn())
        )
        written = (*change_files, dead_files) | "AllWrittenFiles" >> beam.Flatten()
        stats = counts | "WriteStats" >> beam.Map(
            write_change_stats,
            beam.pvalue.AsSingleton(final_partitions),
            beam.pvalue.AsList(written),
            path=output.stats_uri,
            state=state,
            days=days,
            parser=parser,
        )
        _ = stats | "WriteState" >> beam.Map(
            write_new_state,
            beam.pvalue.AsSingleton(final_partitions),
            path=output.state_uri,
            state=state,
            days=day_names,
        )
    return pipeline.result


def _to_set() -> beam.PTransform:
    return beam.combiners.ToSet()


def _to_list() -> beam.PTransform:
    return beam.combiners.ToList()


def _by_identifier(row: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return row["identifier"], row


def _read_ndjson(path: str) -> Any:
    from isal import igzip

    with open_input(path) as raw, igzip.IGzipFile(fileobj=raw, mode="rb") as lines:
        for line in lines:
            if line.strip():
                yield json.loads(line)


def _copy_untouched(
    element: tuple[str, str],
    touched: set[tuple[str, str]],
    *,
    old: dict[str, Dataset],
    new: dict[str, Dataset],
    partitions: dict[str, Sequence[PartitionInfo]],
) -> Any:
    """Copy a partition no day touched into the new state; yield its (unchanged) description."""
    if element in touched:
        return
    dataset, name = element
    copy_partition(old[dataset], new[dataset], name)
    (info,) = (p for p in partitions[dataset] if p.name == name)
    yield dataset, info.to_dict(), "copied"


def build_change_stats(
    counts: dict[tuple[str, int | None, str], int],
    partitions: list[tuple[str, dict[str, Any], str]],
    *,
    state: EditionState,
    days: list[tuple[str, str]],
    parser: str,
) -> dict[str, Any]:
    """stats.json of apply_changes; raise StatsError unless every count reconciles.

    Per changed page (one per page id): ``pages == created + updated + redirect + skipped +
    dead_lettered + ignored_older`` and ``pages_read == pages + merged_page_elements``. Articles:
    ``articles_before + created - removed == articles``, where every created, updated and removed
    article is also counted by the partition rewrites and the two counts must agree; the same for
    redirect pages. Change records (the rows of ``changes/``) = created + updated + refolded +
    deleted, with one delete event per removed article.
    """

    def total(kind: str, reason: str | None = None) -> int:
        return sum(n for (k, _, r), n in counts.items() if k == kind and (reason is None or r == reason))

    def by_ns(kind: str, reason: str | None = None) -> dict[int, int]:
        out: dict[int, int] = {}
        for (k, ns, r), n in counts.items():
            if k == kind and ns is not None and (reason is None or r == reason):
                out[ns] = out.get(ns, 0) + n
        return out

    outcomes = {name: total("page", name) for name in steps.PAGE_OUTCOMES}
    pages = sum(outcomes.values())
    pages_read = total("pages_read")
    merged = total("merged_page_elements")
    removed = {reason: total("removed", reason) for reason in steps.REMOVAL_REASONS}
    written = {action: total("articles_written", action) for action in ("create", "update", "refold")}
    deleted = {reason: total("articles_deleted", reason) for reason in steps.REMOVAL_REASONS}
    redirect_changes = {k: total("redirect_change", k) for k in ("created", "changed", "removed")}
    redirects_written = {action: total("redirects_written", action) for action in ("create", "update")}
    redirects_deleted = total("redirects_deleted")
    delete_events = total("delete_events")
    article_parts = [PartitionInfo.from_dict(p) for name, p, _ in partitions if name == steps.ARTICLES]
    redirect_parts = [PartitionInfo.from_dict(p) for name, p, _ in partitions if name == steps.REDIRECTS]
    articles = sum(p.rows for p in article_parts)
    redirects = sum(p.rows for p in redirect_parts)
    dead_rows = {k: total("dead_letter_rows", k) for k in ("kept", "new")}

    checks = [
        (pages_read, pages + merged, "pages_read == pages + merged_page_elements"),
        (outcomes[steps.CREATED], written["create"], "articles created == created rows written"),
        (outcomes[steps.UPDATED], written["update"], "articles updated == updated rows written"),
        (removed, deleted, "articles removed == rows deleted, per reason"),
        (sum(removed.values()), delete_events, "articles removed == delete events written"),
        (
            state.article_count + outcomes[steps.CREATED] - sum(removed.values()),
            articles,
            "articles_before + created - removed == articles",
        ),
        (redirect_changes["created"], redirects_written["create"], "redirect pages created == rows written"),
        (
            redirect_changes["changed"],
            redirects_written["update"],
            "redirect pages changed == rows rewritten",
        ),
        (redirect_changes["removed"], redirects_deleted, "redirect pages removed == rows deleted"),
        (
            state.redirect_count + redirect_changes["created"] - redirect_changes["removed"],
            redirects,
            "redirects_before + created - removed == redirects",
        ),
    ]
    problems = [f"{what}: {left} != {right}" for left, right, what in checks if left != right]
    if problems:
        raise StatsError("apply_changes counts do not reconcile: " + "; ".join(problems))
    per_day = {
        day: {
            "file": path,
            "pages_read": total("pages_read", day),
            "max_revision_id": total("day_max_revision", day),
        }
        for day, path in days
    }
    namespaces = sorted({*by_ns("pages_read"), *(ns for p in article_parts for ns in p.namespaces)})
    per_namespace = {
        str(ns): {
            "pages_read": by_ns("pages_read").get(ns, 0),
            **{name: by_ns("page", name).get(ns, 0) for name in steps.PAGE_OUTCOMES},
            "articles": sum(p.namespaces.get(ns, 0) for p in article_parts),
            "redirects": sum(p.namespaces.get(ns, 0) for p in redirect_parts),
        }
        for ns in namespaces
    }
    dead_letter_reasons: dict[str, int] = {}
    for (kind, _, reason), n in sorted(counts.items(), key=lambda item: item[0][2]):
        if kind == "dead_letter_reason":
            dead_letter_reasons[reason] = dead_letter_reasons.get(reason, 0) + n
    return {
        "dbname": state.dbname,
        "dump_date": state.dump_date,
        "days": [day for day, _ in days],
        "state_days": [*state.days, *(day for day, _ in days)],
        "input_files": [path for _, path in days],
        "per_day": per_day,
        "max_revision_id_applied": max((d["max_revision_id"] for d in per_day.values()), default=None),
        "pages_read": pages_read,
        "merged_page_elements": merged,
        "pages": pages,
        **outcomes,
        "skipped_reasons": {
            r: n for r in ("namespace", steps.CONTENT_MODEL) if (n := total("skipped_reason", r))
        },
        "dead_letter_reasons": dead_letter_reasons,
        "dead_lettered_kept_previous": total("dead_lettered_kept_previous"),
        "removed": removed,
        "refolded": written["refold"],
        "refolds_unchanged": total("refold_unchanged"),
        "delete_events": delete_events,
        "change_records": written["create"] + written["update"] + written["refold"] + delete_events,
        "redirects_created": redirect_changes["created"],
        "redirects_changed": redirect_changes["changed"],
        "redirects_removed": redirect_changes["removed"],
        "articles_before": state.article_count,
        "articles": articles,
        "redirects_before": state.redirect_count,
        "redirects": redirects,
        "dead_letter_rows": dead_rows["kept"] + dead_rows["new"],
        "dead_letter_rows_kept": dead_rows["kept"],
        "per_namespace": per_namespace,
        "partitions": {
            name: {
                how: sum(1 for n, _, h in partitions if n == name and h == how)
                for how in ("rewritten", "copied")
            }
            for name in (steps.ARTICLES, steps.REDIRECTS)
        },
        "parser_version": parser,
        "schema_version": SCHEMA_VERSION,
    }


def write_change_stats(
    counts: dict, partitions: list, written_files: list[str], *, path: str, **facts: Any
) -> dict[str, Any]:
    """Reconcile and write stats.json; runs once every partition and output file is final."""
    stats = build_change_stats(counts, partitions, **facts)
    write_json(path, stats)
    log.info("wrote %s after %d output files: %s", path, len(written_files), stats)
    return stats


def write_new_state(
    stats: dict, partitions: list, *, path: str, state: EditionState, days: list[str]
) -> None:
    """state.json of the new state, written last: from then on the output is a base for the next day."""

    def listed(dataset: str) -> tuple[PartitionInfo, ...]:
        infos = [PartitionInfo.from_dict(p) for name, p, _ in partitions if name == dataset]
        return tuple(sorted(infos, key=lambda p: p.name))

    new = EditionState(
        dbname=state.dbname,
        namespaces=state.namespaces,
        dump_date=state.dump_date,
        days=(*state.days, *days),
        schema_version=stats["schema_version"],
        articles=listed(steps.ARTICLES),
        redirects=listed(steps.REDIRECTS),
        written_by=APPLY_CHANGES,
        quality_scripts=state.quality_scripts,
    )
    write_json(path, new.to_dict())


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m beam_jobs.apply_changes``: stats.json on stdout; an input error as one line on
    stderr and exit status 2 (``beam_jobs.command``)."""
    return run_command("apply_changes", run, INPUT_ERRORS, argv)


if __name__ == "__main__":
    sys.exit(main())
