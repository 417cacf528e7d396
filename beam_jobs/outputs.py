"""What the parse and apply jobs share around their pipelines: input globs, gzip NDJSON shards, JSON
files (the runner: ``beam_jobs.runners``; committing an output: ``beam_jobs.output``)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import apache_beam as beam
from apache_beam.io.filebasedsink import FileBasedSink
from apache_beam.io.filesystem import BeamIOError, CompressionTypes
from apache_beam.io.filesystems import FileSystems

from wikidrop.delivery.encoding import json_line
from wikidrop.gzip_files import ReproducibleGzip

# NDJSON shards are gzip written by ISA-L (``isal.igzip``: the same format, any gunzip reads it) at
# level 1: on article records it compresses ~5x faster than zlib at level 1 and ~17x faster than
# zlib's default 6, for files ~20% larger than level 6; these are staging files, CPU is what scales.
NDJSON_GZIP_LEVEL = 1


class InputNotFound(FileNotFoundError):
    """An input path or glob (a dump, an index, siteinfo, page_props, an adds-changes day) matches no file."""


def expand_inputs(patterns: Sequence[str]) -> list[str]:
    """Every file matching the paths/globs, sorted; a pattern matching nothing is an error."""
    files: list[str] = []
    for pattern in patterns:
        matched = sorted(m.path for m in FileSystems.match([pattern])[0].metadata_list)
        if not matched:
            raise InputNotFound(f"no file matches {pattern!r}")
        files += [f for f in matched if f not in files]
    return files


class _NdjsonSink(FileBasedSink):
    """One JSON record per line, gzip-compressed at ``level``."""

    def __init__(self, prefix: str, level: int):
        super().__init__(
            prefix,
            coder=None,
            file_name_suffix=".ndjson.gz",
            mime_type="application/gzip",
            compression_type=CompressionTypes.UNCOMPRESSED,
        )
        self.level = level

    def open(self, temp_path: str) -> ReproducibleGzip:
        return ReproducibleGzip(super().open(temp_path), self.level, engine="isal")

    def write_record(self, file_handle: ReproducibleGzip, value: dict[str, Any]) -> None:
        file_handle.write(json_line(value))

    def close(self, file_handle: ReproducibleGzip) -> None:
        file_handle.close()


class WriteNdjson(beam.PTransform):
    """Records -> gzip NDJSON shards ``<prefix>-SSSSS-of-NNNNN.ndjson.gz``."""

    def __init__(self, prefix: str, level: int = NDJSON_GZIP_LEVEL):
        super().__init__()
        self.prefix = prefix
        self.level = level

    def expand(self, records: beam.PCollection) -> beam.PCollection:
        return records | "WriteGzipLines" >> beam.io.Write(_NdjsonSink(self.prefix, self.level))


def write_json(path: str, payload: Mapping[str, Any]) -> None:
    with FileSystems.create(path, mime_type="application/json") as f:
        f.write(json.dumps(payload, ensure_ascii=False, indent=2).encode("utf-8"))


def read_json(path: str) -> Any:
    with FileSystems.open(path, compression_type=CompressionTypes.UNCOMPRESSED) as f:
        return json.loads(f.read())


def delete_folder(folder: str) -> None:
    """Delete a folder and everything under it, local or gs:// (nothing there is fine)."""
    folder = folder.rstrip("/")
    # A local folder is deleted as itself (rmtree); an object store deletes a trailing-slash prefix.
    local = FileSystems.get_scheme(folder) in (None, "file")
    with contextlib.suppress(BeamIOError):
        FileSystems.delete([folder if local else folder + "/"])
