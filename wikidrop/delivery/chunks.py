"""Chunk N of a drop, in every format the partner takes: written locally, digested, put into the bucket.

A chunk is a run of consecutive records in page-id order, the same records in every format. Each
chunk is written on its own, so chunks can be written in any order or on different workers; the
commit (``wikidrop.delivery.commit``) lists them once every chunk is in. Chunk objects are put
create-only; one left by an earlier attempt is kept when identical and replaced when not (the drop
is not committed yet, so nobody reads it).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wikidrop.checksums import FileDigest
from wikidrop.delivery.batches import EVENT_TYPES, event_type
from wikidrop.delivery.bucket import PartnerBucket
from wikidrop.delivery.formats import FORMATS
from wikidrop.delivery.manifest import file_entry
from wikidrop.delivery.projection import RecordShape
from wikidrop.layout import BATCH, DropPaths, chunk_name


@dataclass
class WrittenChunks:
    """What the chunk writers of one drop produced: manifest entries, the page-id file, object outcomes."""

    page_ids: Path
    chunks: list[dict[str, Any]] = field(default_factory=list)
    record_count: int = 0
    objects: Counter[str] = field(default_factory=Counter)


class ChunkWriter:
    """Writes chunks of one drop in the partner's formats into its bucket."""

    def __init__(
        self,
        bucket: PartnerBucket,
        paths: DropPaths,
        shape: RecordShape,
        schemas: Mapping[str, Any],
        workdir: Path,
    ) -> None:
        self.bucket = bucket
        self.paths = paths
        self.shape = shape
        self.formats: Sequence[str] = shape.partner.formats
        self.schemas = schemas  # Arrow schema of each format's records (Format.record_schema)
        self.workdir = workdir

    def write(
        self, index: int, records: Iterable[Mapping[str, Any]]
    ) -> tuple[list[dict[str, Any]], Counter[str]]:
        """Write chunk ``index`` from records in page-id order: its manifest entries (one per format)
        and the put outcomes (created/kept/replaced). No records, no chunk."""
        files: dict[str, tuple[Path, Any]] = {}
        count, first, last = 0, None, None
        events: Counter[str] = Counter()  # a batch's records per event type
        for record in records:
            if not files:
                for fmt in self.formats:
                    local = self.workdir / chunk_name(index, FORMATS[fmt].extension)
                    files[fmt] = (local, FORMATS[fmt].open_chunk(local, self.shape, self.schemas[fmt]))
            for _, out in files.values():
                out.write(record)
            count += 1
            if self.shape.kind == BATCH:
                events[event_type(record)] += 1
            if first is None:
                first = record["identifier"]
            last = record["identifier"]
        entries, outcomes = [], Counter()
        facts = (
            {"events": {k: events[k] for k in EVENT_TYPES if events[k]}} if self.shape.kind == BATCH else {}
        )
        for fmt, (local, out) in files.items():
            out.close()
            digest = FileDigest.of_file(local)
            outcomes[self.bucket.put(self.paths.file(local.name), local, digest, replace=True)] += 1
            local.unlink()
            entries.append(
                file_entry(
                    local.name,
                    count,
                    digest,
                    format=fmt,
                    first_identifier=first,
                    last_identifier=last,
                    **facts,
                )
            )
        return entries, outcomes
