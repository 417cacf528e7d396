"""Command-line options the Beam jobs share (parse_dump, apply_changes, deliver_drop).

Beam parses the flags of every ``PipelineOptions`` subclass in the process together, so a flag may
be declared by one class only: the ones the jobs share live here, each job declares its own.
"""

from __future__ import annotations

from typing import Any

from apache_beam.options.pipeline_options import PipelineOptions

from wikidrop.progress import INTERVAL_SECONDS
from wikidrop.state import ARTICLE_PARTITION_ROWS
from wikidrop.wikitext.page_guard import DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT_S


class JobOptions(PipelineOptions):
    """Options of both jobs; unknown flags (Airflow's Beam operator adds some) are ignored."""

    @classmethod
    def _add_argparse_args(cls, parser: Any) -> None:
        # Nothing is argparse-required: Beam parses every registered options class for every
        # pipeline in the process; each job's run() checks what it needs itself.
        parser.add_argument("--output", default=None, help="output folder, an edition state (local or gs://)")
        parser.add_argument("--page_timeout_s", type=float, default=DEFAULT_TIMEOUT_S)
        parser.add_argument("--max_page_bytes", type=int, default=DEFAULT_MAX_BYTES)
        parser.add_argument(
            "--partition_rows",
            type=int,
            default=ARTICLE_PARTITION_ROWS,
            help="articles per partition of a new state (the unit a later day rewrites)",
        )


class ProgressOptions(PipelineOptions):
    """How often a job's launcher logs its progress (parse_dump, deliver_drop: ``beam_jobs.progress``)."""

    @classmethod
    def _add_argparse_args(cls, parser: Any) -> None:
        parser.add_argument(
            "--progress_seconds",
            type=float,
            default=INTERVAL_SECONDS,
            help="log work done of the total, rate and ETA this often (0: never)",
        )
