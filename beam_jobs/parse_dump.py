"""Beam job: Wikipedia export dump(s) -> article records, dead letters and reconciled stats.

Run locally (Beam's in-process FnApiRunner, chosen explicitly: no runner download, no network)::

    python -m beam_jobs.parse_dump \\
        --input ../shared/data/dumps/derived/jawiki-20250801-head-100k-lines-multistream.xml.bz2 \\
        --index ../shared/data/dumps/derived/jawiki-20250801-head-100k-lines-multistream-index.txt.bz2 \\
        --output /tmp/jawiki-parsed --namespaces 0 --scripts Han,Hiragana,Katakana \\
        --direct_running_mode multi_processing --direct_num_workers 2

``--output`` (local or ``gs://``; local paths are made absolute where the job is launched, so
workers in other directories or on other machines write to the same place) is an output root
(``wikidrop.layout.JobOutput``): every run writes a fresh ``attempts/<id>/`` directory holding an
edition *state* (``wikidrop.state``: the base ``beam_jobs.apply_changes`` moves forward one
adds-changes day at a time): ``articles/part-NNNNN.parquet`` and ``articles/part-NNNNN.ndjson.gz``
(the same records in the same order, ``wikidrop.records.ARTICLE_SCHEMA``, partitioned by page-id
range), ``redirects/part-NNNNN.parquet`` (the redirect pages, ``wikidrop.state.REDIRECT_SCHEMA``),
``quality/part-NNNNN.parquet`` (one row of quality measures per article, in the articles' order,
``wikidrop.quality.article_quality``: what validation checks; staging-internal, never delivered;
``--scripts`` names the edition's Unicode scripts for its script share),
``dead_letter/part-*.ndjson.gz``, ``siteinfo.json``, ``stats.json`` and ``state.json``
(docs/architecture.md), and only when all of it is written points ``CURRENT.json`` at it
(``beam_jobs.output``). Every input is checked (files exist, each is an export, indexes fit
their dumps) before anything is written; an input error, found then or while reading, ends the
command with one ``parse_dump: input error:`` line and exit status 2, and a failed run leaves the
last committed output untouched. ``--input`` and ``--index`` may repeat and take globs; a
multistream file is paired with the index whose name is the file's name with ``-index`` and
``.txt`` (``...-multistream-index.txt.bz2`` for ``...-multistream.xml.bz2``, and the same for the
partial ``multistream1.xml-p1p41242.bz2`` files). ``--page-props`` takes the wiki's
``<dbname>-<date>-page_props.sql.gz`` table dump: the records then carry ``main_entity`` (Wikidata
item), ``is_disambiguation``, ``description`` and ``image``; without it these are null and
stats.json's ``page_props`` is null.

On Dataflow the same module runs with ``--runner DataflowRunner --project ... --region ...
--temp_location gs://...`` plus the code as a package: build it with ``python -m build --sdist``
and pass ``--extra_package dist/wikidrop-<version>.tar.gz`` (or ``--setup_file`` pointing at a
``setup.py`` that calls ``setuptools.setup()``; pyproject.toml holds the metadata). Workers import
``wikidrop`` and ``beam_jobs`` from that package: no local paths, no pickled globals. Add
``--dry_run True`` to build the whole Dataflow job request without submitting it (nothing is
written or uploaded).

Through Beam's portable job API (the path Flink and Spark job servers take)::

    python -m beam_jobs.parse_dump --input ... --index ... --output ... \\
        --runner PortableRunner --job_endpoint localhost:8099 \\
        --environment_type EXTERNAL --environment_config localhost:50000 --direct_num_workers 2

(``scripts/beam_portable.py`` starts a local job service and worker pool for this.)
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions, TestOptions
from apache_beam.runners.runner import PipelineResult

from beam_jobs.command import InputErrors, UsageError, run_command
from beam_jobs.local_gcs import use_anonymous_gcs_for_emulator
from beam_jobs.options import JobOptions, ProgressOptions
from beam_jobs.output import OutputAttempt
from beam_jobs.outputs import InputNotFound, WriteNdjson, expand_inputs, write_json
from beam_jobs.partitions import Dataset, QualityRows, WritePartitions
from beam_jobs.paths import make_local_paths_absolute
from beam_jobs.progress import ParseProgress, watched_pipeline
from beam_jobs.runners import pipeline_runner
from beam_jobs.transforms import (
    ParseArticles,
    ReadTask,
    StatsError,
    build_stats,
    open_input,
    read_page_props_file,
)
from wikidrop.dumps.export import DumpError, read_siteinfo
from wikidrop.dumps.multistream import group_ranges, open_index, stream_ranges
from wikidrop.dumps.page_props import SqlDumpError
from wikidrop.dumps.siteinfo import MEDIAWIKI_CANONICAL_NAMESPACES, Namespace, SiteInfo
from wikidrop.layout import ParseOutput
from wikidrop.quality.measures import script_letters_pattern
from wikidrop.records import SCHEMA_VERSION, article_schema, parser_version
from wikidrop.state import PARSE_DUMP, REDIRECT_PARTITION_ROWS, REDIRECT_SCHEMA, EditionState, PartitionInfo

log = logging.getLogger(__name__)

# Compressed bytes per read task: a few hundred multistream streams, ~20-40 MB of XML.
DEFAULT_WORK_UNIT_BYTES = 4 * 1024 * 1024
# Options holding local paths or URIs (made absolute before anything is planned or submitted).
PATH_OPTIONS = ("input", "index", "siteinfo", "page_props")


class ParseDumpOptions(PipelineOptions):
    """The job's own options (``--output`` and the page bounds: ``beam_jobs.options.JobOptions``)."""

    @classmethod
    def _add_argparse_args(cls, parser: Any) -> None:
        # Nothing is argparse-required: Beam parses every registered options class for every
        # pipeline in the process; run() checks --input/--output itself.
        parser.add_argument(
            "--input", action="append", default=[], help="dump file path or glob (repeatable)"
        )
        parser.add_argument("--index", action="append", default=[], help="multistream index path or glob")
        parser.add_argument("--namespaces", default="0", help="comma-separated namespace ids to keep")
        parser.add_argument("--dbname", default=None, help="expected dbname (checked against the dump)")
        parser.add_argument("--siteinfo", default=None, help="siteinfo-namespaces.json[.gz] (API format)")
        parser.add_argument(
            "--page-props",
            "--page_props",
            dest="page_props",
            default=None,
            help="the wiki's page_props.sql[.gz] table dump (Wikidata id, disambiguation, description, image)",
        )
        parser.add_argument(
            "--scripts",
            default="",
            help="comma-separated Unicode scripts of the edition (config editions[].scripts, e.g. Han,Hiragana):"
            " the quality rows' script_share counts letters in them (empty: script_share is null)",
        )
        parser.add_argument("--dump-date", "--dump_date", dest="dump_date", default=None, help="YYYYMMDD")
        parser.add_argument(
            "--allow-truncated",
            "--allow_truncated",
            dest="allow_truncated",
            action="store_true",
            help="keep the complete pages of a truncated file (recorded in stats) instead of failing",
        )
        parser.add_argument("--work_unit_bytes", type=int, default=DEFAULT_WORK_UNIT_BYTES)


# Input errors: the dump, its index or the command line are wrong; re-running cannot help. Workers
# raise the dump errors while reading (found by class name in a runner's wrapped traceback).
INPUT_ERRORS = InputErrors(
    types=(DumpError, SqlDumpError, InputNotFound, UsageError),
    worker_names=("DumpError", "TruncatedDumpError", "SqlDumpError"),
)


@dataclass(frozen=True)
class ParseRun:
    """A finished job: its stats.json (None after a dry run) and Beam's result (state, ``metrics()``)."""

    stats: dict[str, Any] | None
    result: PipelineResult


def run(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the job to completion, commit its output and return its stats (stats.json; empty after a dry run)."""
    return run_job(argv).stats or {}


def run_job(argv: Sequence[str] | None = None) -> ParseRun:
    """Run the job to completion (or only build it, with ``--dry_run``); see ``ParseRun``."""
    options = PipelineOptions(argv)
    opts = options.view_as(ParseDumpOptions)
    shared = options.view_as(JobOptions)
    if not opts.input or not shared.output:
        raise UsageError("parse_dump needs --input PATH_OR_GLOB (repeatable) and --output DIR")
    make_local_paths_absolute(opts, PATH_OPTIONS)
    make_local_paths_absolute(shared, ("output",))
    dry_run = bool(options.view_as(TestOptions).dry_run)
    runner = pipeline_runner(options)
    if dry_run and not isinstance(runner, str):
        raise UsageError("--dry_run only builds a job for a remote runner (e.g. DataflowRunner)")
    use_anonymous_gcs_for_emulator()
    # Everything that reads the input comes first: an input error must not touch the output.
    namespaces = sorted({int(ns) for ns in str(opts.namespaces).split(",") if ns.strip()})
    scripts = [s.strip() for s in str(opts.scripts).split(",") if s.strip()]
    if scripts:
        script_letters_pattern(tuple(scripts))  # an unknown script name fails here, not on a worker
    inputs = expand_inputs(opts.input)
    # Indexes first: a file cut short is reported against its index, not as a broken header.
    tasks = read_tasks(inputs, expand_inputs(opts.index) if opts.index else [], opts.work_unit_bytes)
    site = resolve_siteinfo(inputs, opts.siteinfo, opts.dbname)
    dump_date = opts.dump_date or dump_date_from_name(inputs[0], site.dbname)
    page_props_file = expand_inputs([opts.page_props])[0] if opts.page_props else None
    job = ParseJob(site, namespaces, dump_date, inputs, tasks, page_props_file, scripts)

    attempt = OutputAttempt(shared.output)
    if dry_run:  # builds the job request only: nothing is written, so no attempt either
        return ParseRun(None, _run_pipeline(runner, options, opts, ParseOutput(attempt.uri), job, None))
    with attempt:
        output = ParseOutput(attempt.uri)
        write_json(output.siteinfo_uri, site.to_dict())
        log.info(
            "parsing %s (%s): %s pages in %d read tasks, namespaces %s, into %s",
            inputs,
            site.dbname,
            f"{job.total_pages:,}" if job.total_pages is not None else "unknown number of",
            len(tasks),
            namespaces,
            attempt.uri,
        )
        interval = options.view_as(ProgressOptions).progress_seconds
        progress = ParseProgress(job.total_pages, interval) if interval > 0 else None
        result = _run_pipeline(runner, options, opts, output, job, progress)
        with FileSystems.open(output.stats_uri) as f:
            stats = json.loads(f.read())
        attempt.commit()
    return ParseRun(stats, result)


@dataclass(frozen=True)
class ParseJob:
    """What the checks before the run found: the job's facts and its read tasks."""

    site: SiteInfo
    namespaces: list[int]
    dump_date: str
    inputs: list[str]
    tasks: list[ReadTask]
    page_props_file: str | None
    scripts: list[str]  # the edition's Unicode scripts, for the quality rows' script share

    @property
    def total_pages(self) -> int | None:
        """Pages to read, from the multistream index (None when a file has no index)."""
        if not all(task.ranges for task in self.tasks):
            return None
        return sum(r.page_count for task in self.tasks for r in task.ranges)


def _run_pipeline(
    runner: Any,
    options: PipelineOptions,
    opts: ParseDumpOptions,
    output: ParseOutput,
    job: ParseJob,
    progress: ParseProgress | None,
) -> PipelineResult:
    """Build the pipeline writing under ``output`` and run it to the end (stats.json is written last).

    With ``progress``, a launcher thread logs the job's counters while it runs: from the DoFns'
    tallies on the local runner (whose ``run()`` returns only at the end), from the runner's
    metrics everywhere else (see ``beam_jobs.progress``).
    """
    with watched_pipeline(runner, options, progress) as (pipeline, progress_dir):
        _build(pipeline, opts, output, job, progress_dir)
    return pipeline.result


def _build(
    pipeline: beam.Pipeline,
    opts: ParseDumpOptions,
    output: ParseOutput,
    job: ParseJob,
    progress_dir: str | None,
) -> None:
    """The job's transforms: read tasks -> ParseArticles -> partitions, dead letters, stats.json, state.json."""
    shared = opts.view_as(JobOptions)
    site, page_props_file = job.site, job.page_props_file
    parser = parser_version()
    page_props = None
    if page_props_file is not None:
        page_props = (
            pipeline
            | "ListPagePropsFile" >> beam.Create([page_props_file])
            | "ReadPageProps" >> beam.FlatMap(read_page_props_file)
        )
    parsed = (
        pipeline
        | "ListReadTasks" >> beam.Create(job.tasks, reshuffle=False)
        | "ParseArticles"
        >> ParseArticles(
            site,
            job.namespaces,
            job.dump_date,
            allow_truncated=opts.allow_truncated,
            timeout_s=shared.page_timeout_s,
            max_bytes=shared.max_page_bytes,
            page_props=page_props,
            progress_dir=progress_dir,
        )
    )
    # Each article partition gets its quality rows (what validation checks) in a file of its own.
    quality = QualityRows(output.quality_uri, site, tuple(job.scripts))
    articles = parsed["articles"] | "WriteArticles" >> WritePartitions(
        Dataset(output.articles_uri, article_schema(page_props_file), ndjson=True, quality=quality),
        shared.partition_rows,
    )
    redirects = parsed["redirects"] | "WriteRedirects" >> WritePartitions(
        Dataset(output.redirects_uri, REDIRECT_SCHEMA, ndjson=False), REDIRECT_PARTITION_ROWS
    )
    dead_letters = parsed["dead_letter"] | "WriteDeadLetters" >> WriteNdjson(f"{output.dead_letter_uri}/part")
    stats = parsed["counts"] | "WriteStats" >> beam.Map(
        write_stats,
        beam.pvalue.AsSingleton(articles),
        beam.pvalue.AsList(dead_letters),
        path=output.stats_uri,
        dbname=site.dbname,
        dump_date=job.dump_date,
        input_files=job.inputs,
        parser=parser,
        page_props_file=page_props_file,
    )
    _ = stats | "WriteState" >> beam.Map(
        write_state,
        beam.pvalue.AsSingleton(articles),
        beam.pvalue.AsSingleton(redirects),
        path=output.state_uri,
        namespaces=job.namespaces,
        quality_scripts=job.scripts,
    )


def write_stats(
    counts: dict, article_partitions: list[dict], dead_letter_files: list[str], *, path: str, **facts: Any
) -> dict[str, Any]:
    """Reconcile and write stats.json; runs once every article partition and dead-letter shard is final."""
    stats = build_stats(counts, schema_version=SCHEMA_VERSION, **facts)
    written = sum(p["rows"] for p in article_partitions)
    if written != stats["articles"]:
        raise StatsError(
            f"{written} article rows written in the partitions but {stats['articles']} articles parsed"
        )
    write_json(path, stats)
    log.info("wrote %s after %d dead-letter files: %s", path, len(dead_letter_files), stats)
    return stats


def write_state(
    stats: dict,
    article_partitions: list[dict],
    redirect_partitions: list[dict],
    *,
    path: str,
    namespaces: list[int],
    quality_scripts: list[str],
) -> None:
    """state.json, written last: the attempt is then a complete state (a base for apply_changes)."""
    state = EditionState(
        dbname=stats["dbname"],
        namespaces=tuple(namespaces),
        dump_date=stats["dump_date"],
        days=(),
        schema_version=stats["schema_version"],
        articles=tuple(PartitionInfo.from_dict(p) for p in article_partitions),
        redirects=tuple(PartitionInfo.from_dict(p) for p in redirect_partitions),
        written_by=PARSE_DUMP,
        quality_scripts=tuple(quality_scripts),
    )
    write_json(path, state.to_dict())


# -- planning (runs where the job is launched) ----------------------------------------------------


def index_for(dump: str, indexes: Sequence[str], single_input: bool) -> str | None:
    """The index of a multistream file: same name with ``-index`` inserted and ``.xml`` -> ``.txt``.

    One input with one index pairs whatever the names (a renamed local copy).
    """
    for index in indexes:
        name = index.rsplit("/", 1)[-1].replace("-index", "", 1).replace(".txt", ".xml", 1)
        if dump.rsplit("/", 1)[-1] == name:
            return index
    return indexes[0] if single_input and len(indexes) == 1 else None


def read_tasks(inputs: Sequence[str], indexes: Sequence[str], work_unit_bytes: int) -> list[ReadTask]:
    """Whole-file tasks, or groups of multistream stream ranges when a file has an index."""
    tasks: list[ReadTask] = []
    for path in inputs:
        index = index_for(path, indexes, single_input=len(inputs) == 1) if indexes else None
        if index is None:
            if indexes:
                raise DumpError(f"{path}: no matching index among {list(indexes)}")
            tasks.append(ReadTask(path))
            continue
        size = FileSystems.match([path])[0].metadata_list[0].size_in_bytes
        with open_input(index) as raw:
            ranges = stream_ranges(open_index(raw, index), size, index, dump=path)
        # Small files still get several tasks, so every worker has something to read.
        target = max(1, min(work_unit_bytes, size // 16))
        for group in group_ranges(ranges, target):
            tasks.append(ReadTask(path, tuple(r for r in ranges if group.start <= r.start < group.end)))
    return tasks


def resolve_siteinfo(inputs: Sequence[str], siteinfo_json: str | None, dbname: str | None) -> SiteInfo:
    """The wiki's facts: dump header, merged with the siteinfo JSON (aliases), checked against dbname."""
    header: SiteInfo | None = None
    for path in inputs:
        with open_input(path) as raw:
            this, _ = read_siteinfo(raw, path)
        if header is None:
            header = this
        elif this is not None and this.dbname and header.dbname and this.dbname != header.dbname:
            raise DumpError(f"{path}: dbname {this.dbname!r} differs from {inputs[0]}: {header.dbname!r}")
    site = header
    if siteinfo_json:
        with open_input(siteinfo_json) as f:
            richer = SiteInfo.from_siteinfo_json(_gunzip_if_needed(f.read()))
        site = site.merged_with(richer) if site is not None else richer
    if site is None:
        # No <siteinfo> and no JSON: MediaWiki core names are all that is certain.
        namespaces = {i: Namespace(i, n, canonical=n) for i, n in MEDIAWIKI_CANONICAL_NAMESPACES.items()}
        site = SiteInfo(dbname=dbname or "", namespaces=namespaces)
    if dbname:
        if site.dbname and site.dbname != dbname:
            raise DumpError(
                f"{inputs[0]}: the dump says dbname {site.dbname!r} but --dbname is {dbname!r}; wrong file?"
            )
        site = SiteInfo.from_dict({**site.to_dict(), "dbname": dbname})
    if not site.language and site.dbname.endswith("wiki"):
        site = SiteInfo.from_dict(
            {**site.to_dict(), "language": site.dbname[: -len("wiki")].replace("_", "-")}
        )
    return site


def dump_date_from_name(path: str, dbname: str) -> str:
    """``20250801`` from ``jawiki-20250801-pages-articles.xml.bz2``; ``""`` when the name has none."""
    name = path.rsplit("/", 1)[-1]
    match = re.search(rf"{re.escape(dbname)}-(\d{{8}})-" if dbname else r"-(\d{8})-", name)
    match = match or re.search(r"(?<!\d)(\d{8})(?!\d)", name)
    return match.group(1) if match else ""


def _gunzip_if_needed(data: bytes) -> bytes:
    return gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data


# -- command line -------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m beam_jobs.parse_dump``: stats.json on stdout; an input error as one line on stderr
    (``beam_jobs.command``)."""
    return run_command("parse_dump", run, INPUT_ERRORS, argv)


if __name__ == "__main__":
    sys.exit(main())
