"""Beam job: one partner's drop of one edition, its chunks written by many workers, committed once.

Run locally (Beam's in-process FnApiRunner, several worker processes)::

    python -m beam_jobs.deliver_drop --request request.json --result drop.json \\
        --partner_endpoint http://127.0.0.1:9023 \\
        --direct_running_mode multi_processing --direct_num_workers 2

``--request`` is a ``wikidrop.delivery.drops.DeliveryRequest`` as JSON (``to_json``: the partner's
config, edition, dump date, kind, namespaces, staged article shards, source files, validation
summary), ``--result`` where the Drop (docs/architecture.md) is written when the job is done; both
local or ``gs://``. ``--kind batch --day YYYYMMDD`` make it a nightly batch of that day (the
request's shards then being apply_changes' ``changes/``, records with ``event``:
``wikidrop.delivery.batches``); ``--kind snapshot --day`` a nightly snapshot of the day's state. The same runner options as the parse job apply: ``--runner DataflowRunner ...``, or
``--runner PortableRunner --job_endpoint ... --environment_type EXTERNAL ...``.

The drop is the in-process ``wikidrop.delivery.drops.deliver``'s, byte for byte:

1. the launcher plans (validation passed; drops already committed are left alone, and if that is
   all of them only latest.json is brought up to date, without a pipeline; forced ones are
   withdrawn) and reads the record schema from the first shard's footer;
2. ``ListPageIds``: every shard read for its filter columns only, giving per namespace the sorted
   page ids the partner gets (8 bytes a page: enwiki's ~7 M articles are 56 MB on one worker) and
   the filters' exclusion counts; a page id met twice fails the job before anything is written;
3. the chunk boundaries are every ``chunk_records``-th of those ids, so chunk N holds the records it
   holds in the in-process delivery;
4. ``SortShard``: every shard read again, its records sorted by page id into one run (bounded
   memory) in ``--workdir``, and the byte range of each chunk in it noted; only those ranges are
   grouped by chunk (records never pass through the runner's shuffle, which the local runner holds
   in memory); ``WriteChunk``: each chunk merged from its ranges of every run, written in every
   format, digested and put create-only into the partner's bucket by the worker that has it;
5. ``Commit``: one step once every chunk is in: page-id lists, tombstones, manifest,
   sha256sums.txt, ``_SUCCESS`` last, then latest.json; the Drop is written to ``--result`` and the
   sorted runs are deleted.

A crash anywhere before ``_SUCCESS`` leaves an uncommitted drop that the next run rebuilds: chunks
already there and identical are kept, differing ones replaced, strays removed; a retried worker
rewrites the same bytes. Credentials: the staged shards are read through Beam's filesystems (the
job's identity; ``STORAGE_EMULATOR_HOST`` for an emulator, as the parse job); the partner's bucket
with ``--partner_endpoint`` (an emulator), ``--partner_credentials`` (a service account key file
the workers can read: local runs) or else the job's own identity (on Dataflow, run each partner's
job as a service account that may write that partner's bucket only).
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import GoogleCloudOptions, PipelineOptions
from apache_beam.runners.runner import PipelineResult

from beam_jobs.command import configure_logging
from beam_jobs.delivery_transforms import (
    MergePageIds,
    PartnerTarget,
    WriteChunkFn,
    chunk_boundaries,
    clear_runs,
    commit,
    open_uncompressed,
    page_ids_of_shard,
    sort_shard,
    write_json,
)
from beam_jobs.local_gcs import use_anonymous_gcs_for_emulator
from beam_jobs.options import ProgressOptions
from beam_jobs.paths import absolute_path, make_local_paths_absolute
from beam_jobs.progress import DeliveryProgress, watched_pipeline
from beam_jobs.runners import pipeline_runner
from wikidrop.delivery.drops import DeliveryRequest, finish_delivery, plan_delivery
from wikidrop.delivery.errors import DeliveryError
from wikidrop.layout import DROP_KINDS

log = logging.getLogger(__name__)

PATH_OPTIONS = ("request", "result", "partner_credentials", "workdir")


class DeliverDropOptions(PipelineOptions):
    """The job's own options (nothing argparse-required: Beam parses every options class)."""

    @classmethod
    def _add_argparse_args(cls, parser: Any) -> None:
        parser.add_argument("--request", default=None, help="DeliveryRequest JSON (local or gs://)")
        parser.add_argument("--result", default=None, help="where the Drop JSON is written (local or gs://)")
        parser.add_argument(
            "--partner_endpoint", default=None, help="GCS emulator URL for the partner bucket"
        )
        parser.add_argument(
            "--partner_credentials", default=None, help="service account key file for the partner bucket"
        )
        parser.add_argument(
            "--kind",
            default=None,
            choices=sorted(DROP_KINDS),
            help="the drop's kind (default: the request's): snapshot, or batch (the shards are change records)",
        )
        parser.add_argument(
            "--day", default=None, help="YYYYMMDD: the drop's date (default: the request's dump_date)"
        )
        parser.add_argument(
            "--workdir",
            default=None,
            help="where workers keep the shards' sorted runs, shared by every worker: a local folder "
            "for local runners, a gs:// folder for distributed ones (default: --temp_location, else "
            "the system's temporary folder)",
        )


@dataclass(frozen=True)
class DeliverRun:
    """A finished job: the Drop it committed and Beam's result (None when there was nothing to build)."""

    drop: dict[str, Any]
    result: PipelineResult | None


def run(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the job to completion and return the Drop."""
    return run_job(argv).drop


def run_job(argv: Sequence[str] | None = None) -> DeliverRun:
    options = PipelineOptions(argv)
    opts = options.view_as(DeliverDropOptions)
    if not opts.request or not opts.result:
        raise ValueError("deliver_drop needs --request REQUEST.json and --result DROP.json")
    make_local_paths_absolute(opts, PATH_OPTIONS)
    use_anonymous_gcs_for_emulator()
    doc = _read_json(opts.request)
    overrides = {"kind": opts.kind, "dump_date": opts.day}
    request = DeliveryRequest.from_json(
        {
            **doc,
            **{key: value for key, value in overrides.items() if value is not None},
            "article_shards": [absolute_path(uri) for uri in doc["article_shards"]],
        }
    )
    target = PartnerTarget(
        request.partner.bucket, request.partner.prefix, opts.partner_endpoint, opts.partner_credentials
    )
    bucket = target.open()
    plan = plan_delivery(request, bucket)
    if not plan.todo:
        drop = finish_delivery(bucket, plan, {})
        write_json(opts.result, drop)
        return DeliverRun(drop, None)
    shape, schemas = plan.shape(_shard_schema(request.article_shards[0]))
    runs_dir = _runs_dir(options, request)
    clear_runs(runs_dir)
    log.info(
        "delivering %s %s %s to %s: %d shards, namespaces %s",
        request.partner.id,
        request.dbname,
        request.dump_date,
        bucket.uri(request.kind.directory),
        len(request.article_shards),
        list(plan.todo),
    )
    who = f"{request.partner.id} {request.dbname} {request.dump_date}"
    interval = options.view_as(ProgressOptions).progress_seconds
    progress = DeliveryProgress(who, interval) if interval > 0 else None
    with watched_pipeline(pipeline_runner(options), options, progress) as (pipeline, tally_dir):
        shards = pipeline | "ListShards" >> beam.Create(request.article_shards, reshuffle=False)
        page_ids = (
            shards
            | "SpreadShards" >> beam.Reshuffle()
            | "ReadPageIds" >> beam.Map(page_ids_of_shard, shape)
            | "ListPageIds" >> beam.CombineGlobally(MergePageIds())
        )
        boundaries = page_ids | "ChunkBoundaries" >> beam.Map(
            chunk_boundaries, request.partner.chunk_records, tally_dir
        )
        chunks = (
            shards
            | "SpreadShardsAgain" >> beam.Reshuffle()
            | "SortShard" >> beam.FlatMap(sort_shard, shape, beam.pvalue.AsSingleton(boundaries), runs_dir)
            | "GroupChunkRanges" >> beam.GroupByKey()
            | "WriteChunk" >> beam.ParDo(WriteChunkFn(target, request, shape, schemas, runs_dir, tally_dir))
        )
        _ = (
            chunks
            | "AllChunks" >> beam.combiners.ToList()
            | "Commit"
            >> beam.Map(
                commit,
                beam.pvalue.AsSingleton(page_ids),
                target=target,
                plan=plan,
                shape=shape,
                result=opts.result,
                runs_dir=runs_dir,
            )
        )
    return DeliverRun(_read_json(opts.result), pipeline.result)


# -- I/O ------------------------------------------------------------------------------------------------


def _runs_dir(options: PipelineOptions, request: DeliveryRequest) -> str:
    """A folder of this drop's own for the shards' sorted runs (cleared before and after the job)."""
    opts = options.view_as(DeliverDropOptions)
    root = opts.workdir or options.view_as(GoogleCloudOptions).temp_location or tempfile.gettempdir()
    name = f"wikidrop-runs-{request.partner.id}-{request.dbname}-{request.kind.name}-{request.dump_date}"
    return FileSystems.join(root, name)


def _shard_schema(uri: str) -> Any:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with open_uncompressed(uri) as f:
            return pq.read_schema(f)
    except (OSError, pa.ArrowException) as exc:
        raise DeliveryError(f"{uri}: cannot read articles shard: {exc}") from exc


def _read_json(path: str) -> Any:
    with open_uncompressed(path) as f:
        return json.loads(f.read())


if __name__ == "__main__":
    configure_logging()
    print(json.dumps(run(), indent=2, ensure_ascii=False))
