"""Local path options made absolute where a job is launched, before anything is submitted.

A Beam job's paths are read in two places: by the launcher (planning, ``siteinfo.json``, reading
``stats.json`` back) and by the workers (reading inputs, writing shards and ``stats.json``).
Workers do not share the launcher's working directory: a portable worker pool runs its SDK
workers in the pool's own directory, Dataflow/Flink/Spark workers on other machines. A relative
``--output`` then splits one job's output over two folders and the launcher fails reading back
what the workers wrote. Every job calls ``make_local_paths_absolute`` on its path options first;
URIs (``gs://``, ``s3://``, ``file://``...) are left as they are.
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions


def absolute_path(path: str) -> str:
    """A local path (or glob) made absolute against this process's working directory, ``~`` expanded;
    anything with a URI scheme unchanged."""
    if FileSystems.get_scheme(path) is not None:
        return path
    return os.path.abspath(os.path.expanduser(path))


def make_local_paths_absolute(options: PipelineOptions, names: Iterable[str]) -> None:
    """Rewrite the named options of ``options`` (a view such as ``ParseDumpOptions``) in place.

    Each option holds one path, a list of paths (``action="append"``) or None (not given).
    """
    for name in names:
        value = getattr(options, name)
        if isinstance(value, str):
            setattr(options, name, absolute_path(value))
        elif isinstance(value, list):
            setattr(options, name, [absolute_path(v) for v in value])
        elif value is not None:
            raise TypeError(f"--{name}: expected a path or a list of paths, got {value!r}")
