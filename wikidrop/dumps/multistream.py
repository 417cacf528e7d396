"""Multistream dumps: the index, stream byte ranges, and reading one range on its own.

Wikimedia's ``pages-articles-multistream.xml.bz2`` is a concatenation of bz2 streams: the
``<mediawiki><siteinfo>`` header, then one stream per 100 pages, then the ``</mediawiki>`` footer.
The companion index has one line per page, ``offset:page_id:title``, where ``offset`` is the byte
at which the page's stream starts. The bytes between two consecutive distinct offsets decompress
independently, which is what lets N workers read N different ranges; reading every range in
order gives exactly the pages of a sequential read.

The last range runs to the end of the file and so also holds the footer stream;
``decompress_stream`` decodes every concatenated stream and ``parse_page_fragment`` accepts the
trailing ``</mediawiki>``, so no footer detection is needed.

    with open(dump, "rb") as f, open(index, "rb") as idx:
        ranges = stream_ranges(open_index(idx, index), os.path.getsize(dump), index, dump)
        siteinfo = read_header(f, ranges[0].start, dump)
        for unit in group_ranges(ranges, 8 << 20):  # one work unit per worker task
            pages = read_range_pages(f, unit, dump, siteinfo)
"""

from __future__ import annotations

import bz2
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

from wikidrop.dumps.export import DumpError, Page, open_binary, parse_page_fragment, read_siteinfo
from wikidrop.dumps.siteinfo import SiteInfo


@dataclass(frozen=True)
class IndexEntry:
    """One index line: the page's stream offset, its id and title."""

    offset: int
    page_id: int
    title: str


@dataclass(frozen=True)
class StreamRange:
    """Byte range ``[start, end)`` of one bz2 stream (or several adjacent ones, see ``group_ranges``)."""

    start: int
    end: int
    first_page_id: int
    page_count: int

    @property
    def size(self) -> int:
        return self.end - self.start


def read_index(lines: Iterable[str | bytes], source: str = "index") -> Iterator[IndexEntry]:
    """Parse index lines ``offset:page_id:title``; titles may contain colons (split twice only)."""
    for number, raw in enumerate(lines, start=1):
        line = raw.decode("utf-8") if isinstance(raw, bytes) else raw
        line = line.rstrip("\r\n")
        if not line:
            continue
        parts = line.split(":", 2)
        if len(parts) != 3:
            raise DumpError(f"{source}: line {number}: expected 'offset:page_id:title', got {line[:200]!r}")
        try:
            offset, page_id = int(parts[0]), int(parts[1])
        except ValueError:
            raise DumpError(
                f"{source}: line {number}: offset and page id must be integers, got {line[:200]!r}"
            ) from None
        yield IndexEntry(offset=offset, page_id=page_id, title=parts[2])


def open_index(fileobj: BinaryIO, source: str = "index") -> Iterator[IndexEntry]:
    """Entries of an index file object (``-index.txt.bz2`` or any compression, or plain text)."""
    text = io.TextIOWrapper(open_binary(fileobj, source), encoding="utf-8", newline="\n")
    try:
        yield from read_index(text, source)
    except EOFError as exc:
        raise DumpError(f"{source}: index file is truncated ({exc})") from exc
    finally:
        text.close()


def stream_ranges(
    entries: Iterable[IndexEntry], file_size: int, source: str = "index", dump: str = "dump"
) -> list[StreamRange]:
    """One range per distinct offset, in file order; the last one ends at ``file_size``.

    Offsets must not decrease (Wikimedia writes them in file order): a shuffled or foreign index
    is an error rather than a silently wrong split. A dump (``dump`` names it) that ends at or
    before the index's last stream is a cut copy, and the error says so with both sizes.
    """
    ranges: list[StreamRange] = []
    start: int | None = None
    first_id = 0
    count = 0
    for entry in entries:
        if start is not None and entry.offset == start:
            count += 1
            continue
        if start is not None:
            if entry.offset < start:
                raise DumpError(
                    f"{source}: offsets go backwards at page id {entry.page_id} "
                    f"({entry.offset} after {start}); is this the index of this dump?"
                )
            ranges.append(StreamRange(start, entry.offset, first_id, count))
        start, first_id, count = entry.offset, entry.page_id, 1
    if start is not None:
        if file_size <= start:
            raise DumpError(
                f"{dump}: the file is shorter than its index says ({file_size:,} bytes, {source} expects "
                f">= {start + 1:,}: its last stream starts at byte {start:,}); an incomplete download?"
            )
        ranges.append(StreamRange(start, file_size, first_id, count))
    return ranges


def group_ranges(ranges: Iterable[StreamRange], target_bytes: int) -> list[StreamRange]:
    """Merge adjacent stream ranges into work units of about ``target_bytes`` compressed bytes.

    A merged range is still a valid input of ``read_range_pages``: it is a run of whole streams.
    """
    if target_bytes <= 0:
        raise ValueError("target_bytes must be positive")
    groups: list[StreamRange] = []
    current: StreamRange | None = None
    for rng in ranges:
        if current is not None and current.end == rng.start and current.size + rng.size <= target_bytes:
            current = StreamRange(
                current.start, rng.end, current.first_page_id, current.page_count + rng.page_count
            )
            continue
        if current is not None:
            groups.append(current)
        current = rng
    if current is not None:
        groups.append(current)
    return groups


def decompress_stream(data: bytes, source: str = "range") -> bytes:
    """Decompress one or more concatenated bz2 streams; an incomplete stream is a ``DumpError``."""
    out: list[bytes] = []
    remaining = data
    while remaining:
        decompressor = bz2.BZ2Decompressor()
        try:
            out.append(decompressor.decompress(remaining))
        except OSError as exc:
            raise DumpError(
                f"{source}: not a bz2 stream ({exc}); wrong offsets or not a multistream file"
            ) from exc
        if not decompressor.eof:
            raise DumpError(f"{source}: bz2 stream ends early (cut file or wrong range end)")
        remaining = decompressor.unused_data
    return b"".join(out)


def read_range(fileobj: BinaryIO, rng: StreamRange, source: str = "dump") -> bytes:
    """The compressed bytes of ``rng`` (the file object must be seekable)."""
    fileobj.seek(rng.start)
    data = fileobj.read(rng.size)
    if len(data) != rng.size:
        raise DumpError(
            f"{source}: range [{rng.start}, {rng.end}) reads only {len(data)} bytes; file shorter than the index says"
        )
    return data


def read_range_pages(
    fileobj: BinaryIO, rng: StreamRange, source: str = "dump", siteinfo: SiteInfo | None = None
) -> list[Page]:
    """Pages of one range, checked against the index (count and first page id)."""
    label = f"{source} [{rng.start}, {rng.end})"
    pages = list(
        parse_page_fragment(decompress_stream(read_range(fileobj, rng, source), label), label, siteinfo)
    )
    if len(pages) != rng.page_count or (pages and pages[0].id != rng.first_page_id):
        first = pages[0].id if pages else None
        raise DumpError(
            f"{label}: index lists {rng.page_count} pages from id {rng.first_page_id}, "
            f"the stream holds {len(pages)} from id {first}; index and dump do not match"
        )
    return pages


def read_header(fileobj: BinaryIO, first_offset: int, source: str = "dump") -> SiteInfo | None:
    """SiteInfo from the header stream ``[0, first_offset)`` of a multistream file."""
    fileobj.seek(0)
    header = fileobj.read(first_offset)
    siteinfo, _ = read_siteinfo(io.BytesIO(decompress_stream(header, f"{source} header")), f"{source} header")
    return siteinfo
