"""The runner a job's options name, with Beam's in-process FnApiRunner for every local name.

``DirectRunner`` would try Prism first, which downloads a binary: local runs pick FnApiRunner
explicitly (no download, no network). Remote runners (Dataflow, PortableRunner) are passed by name.
"""

from __future__ import annotations

from typing import Any

from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions

LOCAL_RUNNERS = frozenset({"DirectRunner", "FnApiRunner", "direct"})


def pipeline_runner(options: PipelineOptions) -> Any:
    """A runner object for local runs, else the runner's name as given."""
    name = options.view_as(StandardOptions).runner
    if name is None or name in LOCAL_RUNNERS:
        from apache_beam.runners.portability.fn_api_runner import FnApiRunner

        return FnApiRunner()
    return name
