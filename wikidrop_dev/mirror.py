"""Build and serve a Wikimedia-style dump mirror from any export XML, so demos and tests use the
same code path (dumpstatus.json, checksums, multistream + index over HTTP) as dumps.wikimedia.org.

Layout written under ``<root>``, as on https://dumps.wikimedia.org::

    <root>/<db>/<date>/<db>-<date>-pages-articles-multistream.xml.bz2     header, 100 pages a
                                                                          stream, footer: each its
                                                                          own bz2 stream
    <root>/<db>/<date>/<db>-<date>-pages-articles-multistream-index.txt.bz2  offset:page_id:title
    <root>/<db>/<date>/<db>-<date>-siteinfo-namespaces.json.gz           API meta=siteinfo JSON
    <root>/<db>/<date>/<db>-<date>-page_props.sql.gz                     page_props table dump
                                                                          (with --page-props)
    <root>/<db>/<date>/<db>-<date>-md5sums.txt, <db>-<date>-sha1sums.txt
    <root>/<db>/<date>/dumpstatus.json                                   jobs + per-file checksums
    <root>/<db>/latest/<db>-latest-pages-articles-multistream.xml.bz2-rss.xml  latest pointer

With ``--pages-per-part N`` the pages are split into Wikimedia's partial files instead
(``<db>-<date>-pages-articles-multistream1.xml-p1p41242.bz2`` + ``...-index1.txt-p1p41242.bz2``),
each a complete export document, as the big wikis publish them.

Page bytes are copied, never re-serialised: the multistream decompresses byte-for-byte to the
input (a UTF-16 input is transcoded to UTF-8 first, the only change).

Command line::

    python -m wikidrop_dev.mirror build EXPORT.xml[.bz2|.gz|.xz] --root var/mirror \\
        [--dbname frwiki] [--date 20261101] [--siteinfo-json frwiki-siteinfo.json] \\
        [--page-props frwiki-page_props.sql] [--pages-per-stream 100] [--pages-per-part N] \\
        [--in-progress articlesmultistreamdump] [--allow-truncated]
    python -m wikidrop_dev.mirror serve --root var/mirror [--host 127.0.0.1] [--port 8765]

``dbname`` defaults to the export's ``<dbname>`` (else the ``<db>wiki`` in the file name) and
``date`` to the ``<db>-<YYYYMMDD>`` in the file name, else the day of the newest revision (a dump
is taken after its newest edit); flags win (useful for exports carrying a copied header). ``--in-progress JOB``
writes that job as ``in-progress`` in dumpstatus.json, the way a dump looks while it is running.
``--page-props`` publishes a page_props table dump (plain or gzip SQL, checked to be one) as the
``pagepropstable`` job.
"""

from __future__ import annotations

import argparse
import bz2
import codecs
import contextlib
import gzip
import html
import io
import json
import logging
import lzma
import os
import re
import shutil
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from xml.etree import ElementTree

from wikidrop.checksums import FileDigest
from wikidrop.dumps.dumpstatus import MULTISTREAM_JOB, NAMESPACES_JOB, PAGE_PROPS_JOB
from wikidrop.dumps.page_props import SqlDumpError, read_page_props
from wikidrop.dumps.siteinfo import SiteInfo
from wikidrop.gzip_files import ReproducibleGzip

log = logging.getLogger(__name__)

PAGES_PER_STREAM = 100
READ_BLOCK = 1 << 20
DUMPSTATUS_VERSION = "0.8"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

_PAGE_OPEN = re.compile(rb"<page[\s>]")
_PAGE_CLOSE = b"</page>"
_LINE_TAIL = re.compile(rb"[ \t\r]*\n")
_NON_BLANK = re.compile(rb"[^ \t\r\n]")
_TITLE = re.compile(rb"<title>([^<]*)</title>")
_FIRST_ID = re.compile(rb"<id>\s*(\d+)\s*</id>")
_REVISION_DAY = re.compile(rb"<timestamp>(\d{4})-(\d{2})-(\d{2})T")
_FILE_NAME_DB_DATE = re.compile(r"(?P<db>[a-z][a-z0-9_]*wiki)-(?P<date>\d{8})")


class MirrorBuildError(ValueError):
    """The input export cannot be turned into a mirror (message names the file and the place)."""


# -- reading the export as bytes ---------------------------------------------------------------
def open_export_bytes(path: str | os.PathLike[str]) -> IO[bytes]:
    """Decompressed byte stream of an export; compression detected from magic bytes, not the suffix."""
    with open(path, "rb") as probe:
        magic = probe.read(6)
    if magic.startswith(b"BZh"):
        return bz2.open(path, "rb")
    if magic.startswith(b"\x1f\x8b"):
        return gzip.open(path, "rb")
    if magic.startswith(b"\xfd7zXZ\x00"):
        return lzma.open(path, "rb")
    if magic.startswith(b"7z\xbc\xaf"):
        raise MirrorBuildError(f"{path}: 7z archives are not supported; extract the XML first")
    return open(path, "rb")


def _utf16_codec(first: bytes) -> str | None:
    """``utf-16`` when the export starts with a UTF-16 BOM or ``<`` as UTF-16 (XML 1.0 appendix F)."""
    if first.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if first.startswith(b"\x00<\x00"):
        return "utf-16-be"
    if first.startswith(b"<\x00"):
        return "utf-16-le"
    return None


def _utf8_blocks(stream: IO[bytes], source: str) -> Iterator[bytes]:
    """Blocks of the export as UTF-8 (UTF-16 exports are transcoded, the XML declaration fixed)."""
    first = stream.read(READ_BLOCK)
    if first.startswith(codecs.BOM_UTF8):
        first = first[len(codecs.BOM_UTF8) :]
    codec = _utf16_codec(first)
    if codec is None:
        yield first
        while block := stream.read(READ_BLOCK):
            yield block
        return
    log.warning("%s: UTF-16 export, transcoding to UTF-8", source)
    decoder = codecs.getincrementaldecoder(codec)()
    text = decoder.decode(first)
    text = re.sub(r'(<\?xml[^>]*encoding=["\'])utf-16(["\'])', r"\1utf-8\2", text, count=1, flags=re.I)
    yield text.encode("utf-8")
    while block := stream.read(READ_BLOCK):
        yield decoder.decode(block).encode("utf-8")
    yield decoder.decode(b"", final=True).encode("utf-8")


@dataclass(frozen=True)
class PageBytes:
    """One ``<page>`` element exactly as it appears in the export (plus any whitespace before it)."""

    page_id: int
    title: str
    raw: bytes


@dataclass
class ExportSplit:
    """An export cut into header, pages and footer; concatenated they are the input bytes."""

    header: bytes = b""
    footer: bytes = b""
    pages_seen: int = 0
    truncated: bool = False
    last_page_title: str = ""


def split_export(
    blocks: Iterable[bytes], source: str, split: ExportSplit, allow_truncated: bool = False
) -> Iterator[PageBytes]:
    """Yield the pages of an export as raw bytes, filling ``split.header``/``split.footer``.

    Text content is XML-escaped in exports, so ``<page`` and ``</page>`` only ever occur as tags.
    A page runs from the end of the previous one to the end of its ``</page>`` line (or right after
    ``</page>`` in an export without line breaks), so header + pages + footer is the input, byte for
    byte. Memory stays bounded by the largest page.
    """
    blocks = iter(blocks)
    buffer = b""
    while (first_open := _PAGE_OPEN.search(buffer)) is None:
        block = next(blocks, None)
        if block is None:
            raise MirrorBuildError(f"{source}: no <page> found; is this a MediaWiki export XML?")
        buffer += block
    # Pretty-printed exports: the header ends at the start of the first <page> line.
    line_start = buffer.rfind(b"\n", 0, first_open.start()) + 1
    pos = first_open.start() if _NON_BLANK.search(buffer, line_start, first_open.start()) else line_start
    split.header = buffer[:pos]
    eof = False
    while True:
        close = buffer.find(_PAGE_CLOSE, pos)
        if close >= 0:
            end = close + len(_PAGE_CLOSE)
            tail = _LINE_TAIL.match(buffer, end)
            # A page ends after its </page> line; in a single-line export, right after </page>.
            if tail or eof or _NON_BLANK.search(buffer, end):
                end = tail.end() if tail else end
                page = _page_from_raw(buffer[pos:end], source, split.pages_seen)
                pos = end
                split.pages_seen += 1
                split.last_page_title = page.title
                yield page
                continue
        if eof:
            break
        block = next(blocks, None)
        if block is None:
            eof = True
            continue
        buffer = buffer[pos:] + block
        pos = 0
    rest = buffer[pos:]
    if _PAGE_OPEN.search(rest) or b"</mediawiki>" not in rest:
        where = f"after page {split.pages_seen} ({split.last_page_title!r})"
        if not allow_truncated:
            raise MirrorBuildError(
                f"{source}: export is truncated {where} (no closing </mediawiki>); "
                "pass --allow-truncated to keep the complete pages and close the document"
            )
        log.warning("%s: truncated %s; keeping %d complete pages", source, where, split.pages_seen)
        split.truncated = True
        rest = b"</mediawiki>\n"
    split.footer = rest


def _page_from_raw(raw: bytes, source: str, index: int) -> PageBytes:
    title = _TITLE.search(raw)
    page_id = _FIRST_ID.search(raw)
    if title is None or page_id is None:
        raise MirrorBuildError(f"{source}: page #{index + 1} has no <title> or <id>")
    return PageBytes(
        page_id=int(page_id.group(1)), title=html.unescape(title.group(1).decode("utf-8")), raw=raw
    )


# -- siteinfo ------------------------------------------------------------------------------------
def siteinfo_from_header(header: bytes, source: str) -> SiteInfo:
    """SiteInfo of the export's ``<siteinfo>`` header (local namespace names only)."""
    try:
        root = ElementTree.fromstring(header + b"</mediawiki>")
    except ElementTree.ParseError as exc:
        raise MirrorBuildError(f"{source}: cannot parse the export header: {exc}") from exc
    for child in root:
        if child.tag.rsplit("}", 1)[-1] == "siteinfo":
            return SiteInfo.from_xml_element(child, language=root.get(XML_LANG, ""))
    raise MirrorBuildError(f"{source}: export has no <siteinfo> header; pass --siteinfo-json")


def siteinfo_api_json(info: SiteInfo, dbname: str, generator: str = "") -> dict[str, Any]:
    """``meta=siteinfo&siprop=general|namespaces|namespacealiases`` JSON (formatversion 1, as dumped)."""
    namespaces = {}
    aliases = []
    for ns in sorted(info.namespaces.values(), key=lambda n: n.id):
        entry: dict[str, Any] = {"id": ns.id, "case": ns.case, "*": ns.name}
        if ns.canonical:
            entry["canonical"] = ns.canonical
        if ns.id == 0:
            entry["content"] = ""
        namespaces[str(ns.id)] = entry
        aliases.extend({"id": ns.id, "*": alias} for alias in ns.aliases)
    general = {
        "wikiid": dbname,
        "sitename": info.sitename,
        "base": info.base_url,
        "lang": info.language,
        "case": info.case,
    }
    if generator:
        general["generator"] = generator
    return {
        "batchcomplete": "",
        "query": {"general": general, "namespaces": namespaces, "namespacealiases": aliases},
    }


def _generator(header: bytes) -> str:
    match = re.search(rb"<generator>([^<]*)</generator>", header)
    return html.unescape(match.group(1).decode("utf-8")) if match else ""


# -- checksums and file names --------------------------------------------------------------------
def multistream_name(db: str, date: str, part: int | None = None, first: int = 0, last: int = 0) -> str:
    if part is None:
        return f"{db}-{date}-pages-articles-multistream.xml.bz2"
    return f"{db}-{date}-pages-articles-multistream{part}.xml-p{first}p{last}.bz2"


def index_name(db: str, date: str, part: int | None = None, first: int = 0, last: int = 0) -> str:
    if part is None:
        return f"{db}-{date}-pages-articles-multistream-index.txt.bz2"
    return f"{db}-{date}-pages-articles-multistream-index{part}.txt-p{first}p{last}.bz2"


def siteinfo_name(db: str, date: str) -> str:
    return f"{db}-{date}-siteinfo-namespaces.json.gz"


# -- writing the multistream ---------------------------------------------------------------------
class _MultistreamPart:
    """One multistream file + its index being written (temporary names until ``close``)."""

    def __init__(self, directory: Path, header: bytes, pages_per_stream: int) -> None:
        self.directory = directory
        self.pages_per_stream = pages_per_stream
        self.data_tmp = directory / f".part-{id(self)}.xml.bz2.tmp"
        self.index_tmp = directory / f".part-{id(self)}.index.bz2.tmp"
        self.data = open(self.data_tmp, "wb")  # noqa: SIM115 (closed in close()/discard())
        self.index = bz2.BZ2File(self.index_tmp, "wb")
        self.pending: list[PageBytes] = []
        self.first_id: int | None = None
        self.last_id = 0
        self.pages = 0
        self.data.write(bz2.compress(header))

    def add(self, page: PageBytes) -> None:
        if self.first_id is None:
            self.first_id = page.page_id
        self.last_id = page.page_id
        self.pages += 1
        self.pending.append(page)
        if len(self.pending) >= self.pages_per_stream:
            self._flush()

    def _flush(self) -> None:
        if not self.pending:
            return
        offset = self.data.tell()
        self.data.write(bz2.compress(b"".join(p.raw for p in self.pending)))
        for p in self.pending:
            self.index.write(f"{offset}:{p.page_id}:{p.title}\n".encode())
        self.pending = []

    def close(self, footer: bytes, data_name: str, index_name_: str) -> tuple[Path, Path]:
        self._flush()
        self.data.write(bz2.compress(footer))
        self.data.close()
        self.index.close()
        data_path, index_path = self.directory / data_name, self.directory / index_name_
        os.replace(self.data_tmp, data_path)
        os.replace(self.index_tmp, index_path)
        return data_path, index_path

    def discard(self) -> None:
        for f in (self.data, self.index):
            f.close()
        for p in (self.data_tmp, self.index_tmp):
            p.unlink(missing_ok=True)


@dataclass(frozen=True)
class MirrorBuild:
    """What ``build_mirror`` wrote (paths are inside ``<root>/<db>/<date>/``)."""

    directory: Path
    dbname: str
    dump_date: str
    pages: int
    multistream: tuple[Path, ...]
    index: tuple[Path, ...]
    siteinfo_json: Path
    dumpstatus: Path
    truncated_input: bool = False
    page_props: Path | None = None


def build_mirror(
    export: str | os.PathLike[str],
    root: str | os.PathLike[str],
    *,
    dbname: str | None = None,
    dump_date: str | None = None,
    siteinfo_json: str | os.PathLike[str] | None = None,
    pages_per_stream: int = PAGES_PER_STREAM,
    pages_per_part: int | None = None,
    in_progress: Sequence[str] = (),
    allow_truncated: bool = False,
    page_props: str | os.PathLike[str] | None = None,
    incr_days: int = 0,
) -> MirrorBuild:
    """Write ``<root>/<db>/<date>/`` (multistream, index, siteinfo JSON, checksums, dumpstatus), and
    ``incr_days`` adds-changes days after it under ``<root>/other/incr/<db>/`` (``wikidrop_dev.incr``)."""
    source = str(export)
    if pages_per_stream < 1 or (pages_per_part is not None and pages_per_part < 1):
        raise MirrorBuildError("--pages-per-stream and --pages-per-part must be positive")
    name_match = _FILE_NAME_DB_DATE.search(Path(source).name)
    dump_date = dump_date or (name_match.group("date") if name_match else None)
    if dump_date is not None and not re.fullmatch(r"\d{8}", dump_date):
        raise MirrorBuildError(f"{source}: dump date must be YYYYMMDD, got {dump_date!r}")
    newest_revision_day = ""

    staging = Path(root) / f".build-{os.getpid()}-{threading.get_ident()}"
    staging.mkdir(parents=True, exist_ok=True)
    parts: list[_MultistreamPart] = []
    split = ExportSplit()
    try:
        with open_export_bytes(source) as stream:
            for page in split_export(_utf8_blocks(stream, source), source, split, allow_truncated):
                if not parts:  # the header is complete: check it before compressing anything
                    header_info = siteinfo_from_header(split.header, source)
                days = _REVISION_DAY.findall(page.raw)
                if days:
                    newest_revision_day = max(newest_revision_day, b"".join(max(days)).decode())
                if not parts or (pages_per_part and parts[-1].pages >= pages_per_part):
                    parts.append(_MultistreamPart(staging, split.header, pages_per_stream))
                parts[-1].add(page)
        if not parts:
            raise MirrorBuildError(f"{source}: export holds no complete page")
        dbname = _choose_dbname(dbname, header_info.dbname, name_match, source)
        if dump_date is None:
            if not newest_revision_day:
                raise MirrorBuildError(
                    f"{source}: no YYYYMMDD in the file name, no revision timestamps; pass --date"
                )
            dump_date = newest_revision_day
            log.info("%s: no date in the file name; dump date %s = newest revision", source, dump_date)
        directory = Path(root) / dbname / dump_date
        directory.mkdir(parents=True, exist_ok=True)
        _remove_previous_build(directory, dbname, dump_date)
        data_paths, index_paths = [], []
        for number, part in enumerate(parts, start=1):
            numbering = (number, part.first_id or 0, part.last_id) if pages_per_part else (None,)
            data, index = part.close(
                split.footer,
                multistream_name(dbname, dump_date, *numbering),
                index_name(dbname, dump_date, *numbering),
            )
            data_paths.append(shutil.move(data, directory / data.name))
            index_paths.append(shutil.move(index, directory / index.name))
    except BaseException:
        for part in parts:
            part.discard()
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    siteinfo_path = directory / siteinfo_name(dbname, dump_date)
    _write_siteinfo(siteinfo_path, siteinfo_json, header_info, dbname, _generator(split.header), source)
    page_props_path = _write_page_props(directory, dbname, dump_date, page_props) if page_props else None
    status = write_checksums_and_status(
        directory,
        dbname,
        dump_date,
        [Path(p) for p in data_paths + index_paths],
        siteinfo_path,
        in_progress,
        page_props_path,
    )
    if not in_progress:
        write_latest_pointer(Path(root), dbname, dump_date)
    log.info("mirror %s/%s: %d pages in %d file(s)", dbname, dump_date, split.pages_seen, len(data_paths))
    if incr_days:
        from wikidrop_dev.incr import mirror_days

        for day in mirror_days(source, root, dump_date, incr_days):
            log.info("mirror %s: adds-changes day %s", day.directory.relative_to(root), day.day)
    return MirrorBuild(
        directory=directory,
        dbname=dbname,
        dump_date=dump_date,
        pages=split.pages_seen,
        multistream=tuple(Path(p) for p in data_paths),
        index=tuple(Path(p) for p in index_paths),
        siteinfo_json=siteinfo_path,
        dumpstatus=status,
        truncated_input=split.truncated,
        page_props=page_props_path,
    )


def _write_page_props(directory: Path, dbname: str, dump_date: str, source: str | os.PathLike[str]) -> Path:
    """Publish a page_props SQL dump as ``<db>-<date>-page_props.sql.gz`` (gzip without a clock)."""
    data = Path(source).read_bytes()
    try:
        sum(1 for _ in read_page_props(io.BytesIO(data), str(source)))
    except SqlDumpError as exc:
        raise MirrorBuildError(f"--page-props: {exc}") from exc
    target = directory / f"{dbname}-{dump_date}-page_props.sql.gz"
    if data[:2] == b"\x1f\x8b":
        target.write_bytes(data)
    else:
        with ReproducibleGzip(target) as compressed:
            compressed.write(data)
    return target


def _remove_previous_build(directory: Path, dbname: str, dump_date: str) -> None:
    """A rebuild replaces the date's files (e.g. single file -> partial files), leaving no stale ones."""
    for path in directory.iterdir():
        if path.is_file() and (
            path.name.startswith(f"{dbname}-{dump_date}-") or path.name == "dumpstatus.json"
        ):
            path.unlink()


def _choose_dbname(flag: str | None, header: str, name_match: re.Match[str] | None, source: str) -> str:
    if flag:
        if header and header != flag:
            log.warning("%s: header says dbname %r, using %r as asked", source, header, flag)
        return flag
    if header:
        return header
    if name_match:
        return name_match.group("db")
    raise MirrorBuildError(f"{source}: no <dbname> in the header nor in the file name; pass --dbname")


def _write_siteinfo(
    target: Path,
    given: str | os.PathLike[str] | None,
    header_info: SiteInfo,
    dbname: str,
    generator: str,
    source: str,
) -> None:
    if given is not None:
        payload = Path(given).read_bytes()
        try:
            parsed = SiteInfo.from_siteinfo_json(payload)
        except (ValueError, KeyError, TypeError) as exc:
            raise MirrorBuildError(f"{given}: not a meta=siteinfo JSON: {exc}") from exc
        if parsed.dbname and parsed.dbname != dbname:
            raise MirrorBuildError(f"{given}: siteinfo is for {parsed.dbname!r}, the mirror for {dbname!r}")
    else:
        payload = json.dumps(
            siteinfo_api_json(header_info, dbname, generator), ensure_ascii=False, sort_keys=True
        ).encode("utf-8")
        log.info("%s: siteinfo JSON derived from the export header", source)
    # The same input gives the same bytes, hence the same checksums.
    with ReproducibleGzip(target, level=9) as gz:
        gz.write(payload)


# -- dumpstatus, checksum lists, latest pointer ---------------------------------------------------
def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


def write_checksums_and_status(
    directory: Path,
    dbname: str,
    dump_date: str,
    multistream_files: Sequence[Path],
    siteinfo_path: Path,
    in_progress: Sequence[str] = (),
    page_props_path: Path | None = None,
) -> Path:
    """Write md5sums/sha1sums and a Wikimedia-format ``dumpstatus.json`` for the files given."""
    jobs_files = {MULTISTREAM_JOB: list(multistream_files), NAMESPACES_JOB: [siteinfo_path]}
    if page_props_path is not None:
        jobs_files[PAGE_PROPS_JOB] = [page_props_path]
    unknown = set(in_progress) - set(jobs_files)
    if unknown:
        raise MirrorBuildError(
            f"--in-progress: unknown job(s) {sorted(unknown)}; known: {sorted(jobs_files)}"
        )
    digests = {p.name: FileDigest.of_file(p) for paths in jobs_files.values() for p in paths}
    (directory / f"{dbname}-{dump_date}-md5sums.txt").write_text(
        "".join(f"{d.md5}  {name}\n" for name, d in sorted(digests.items()))
    )
    (directory / f"{dbname}-{dump_date}-sha1sums.txt").write_text(
        "".join(f"{d.sha1}  {name}\n" for name, d in sorted(digests.items()))
    )
    updated = _now()
    jobs: dict[str, Any] = {}
    for job, paths in jobs_files.items():
        files = {
            p.name: {
                "size": digests[p.name].bytes,
                "url": f"/{dbname}/{dump_date}/{p.name}",
                "md5": digests[p.name].md5,
                "sha1": digests[p.name].sha1,
            }
            for p in paths
        }
        jobs[job] = {"status": "done", "updated": updated, "files": files}
    status = {"jobs": jobs, "version": DUMPSTATUS_VERSION}
    for job in in_progress:
        status = with_jobs_in_progress(status, [job])
    path = directory / "dumpstatus.json"
    path.write_text(json.dumps(status, indent=1, sort_keys=True))
    return path


def with_jobs_in_progress(status: dict[str, Any], jobs: Iterable[str]) -> dict[str, Any]:
    """A copy of ``status`` where ``jobs`` are still running: status in-progress, no checksums yet."""
    status = json.loads(json.dumps(status))
    for job in jobs:
        entry = status["jobs"][job]
        entry["status"] = "in-progress"
        entry["files"] = {name: {"url": f["url"]} for name, f in entry["files"].items()}
    return status


def write_latest_pointer(root: Path, dbname: str, dump_date: str) -> Path:
    """``<db>/latest/<db>-latest-pages-articles-multistream.xml.bz2-rss.xml``, as Wikimedia publishes.

    Informational (``wikidrop.dumps.dumpstatus.resolve_latest`` reads the directory listing and each
    date's dumpstatus.json); it never moves back to an older date.
    """
    latest = root / dbname / "latest"
    latest.mkdir(parents=True, exist_ok=True)
    path = latest / f"{dbname}-latest-pages-articles-multistream.xml.bz2-rss.xml"
    if path.exists():
        current = re.search(r"<link>\.\./(\d{8})/</link>", path.read_text(encoding="utf-8"))
        if current and current.group(1) > dump_date:
            return path  # a newer dump is already the latest
    link = f"../{dump_date}/"
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0">\n<channel>\n'
        f"<title>{dbname} dump progress on {dump_date}</title>\n<link>{link}</link>\n"
        f"<description>{dbname} dump progress</description>\n<item>\n"
        f"<title>{multistream_name(dbname, dump_date)}</title>\n<link>{link}</link>\n"
        f"<pubDate>{datetime.now(UTC).strftime('%a, %d %b %Y %H:%M:%S GMT')}</pubDate>\n"
        "</item>\n</channel>\n</rss>\n",
        encoding="utf-8",
    )
    return path


# -- serving -------------------------------------------------------------------------------------
_RANGE_RE = re.compile(r"^bytes=(\d+)-(\d*)$")


class MirrorRequestHandler(SimpleHTTPRequestHandler):
    """Static files + directory listings (the latest-date resolution reads them), logged at debug.

    Like Wikimedia's servers it answers ``Range: bytes=N-[M]`` with 206 and the byte range, which
    is how staging resumes a download whose connection closed.
    """

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("mirror http: " + format, *args)

    def send_head(self) -> Any:
        match = _RANGE_RE.match(self.headers.get("Range", "").strip())
        path = self.translate_path(self.path)
        if match is None or not os.path.isfile(path):
            return super().send_head()
        source = open(path, "rb")  # noqa: SIM115 (http.server closes what send_head returns)
        size = os.fstat(source.fileno()).st_size
        start = int(match[1])
        end = min(int(match[2]) if match[2] else size - 1, size - 1)
        if start > end:
            source.close()
            self.send_response(416)
            self.send_header("Content-Range", f"bytes */{size}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        self.send_response(206)
        self.send_header("Content-Type", self.guess_type(path))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        source.seek(start)
        if end == size - 1:
            return source
        with source:
            return io.BytesIO(source.read(end - start + 1))


@contextlib.contextmanager
def serve_mirror(
    root: str | os.PathLike[str],
    host: str = "127.0.0.1",
    port: int = 0,
    handler_class: type[MirrorRequestHandler] = MirrorRequestHandler,
) -> Iterator[str]:
    """Serve ``root`` over HTTP in a background thread; yield the base URL (port 0 = any free port)."""
    server = ThreadingHTTPServer((host, port), partial(handler_class, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, name="wikidrop-mirror-http", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# -- command line --------------------------------------------------------------------------------
def main(argv: Sequence[str] | None = None, prog: str = "python -m wikidrop_dev.mirror") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="build <root>/<db>/<date>/ from an export XML")
    build.add_argument("export", help="export XML (.xml, .xml.bz2, .xml.gz, .xml.xz)")
    build.add_argument("--root", required=True, help="mirror root directory")
    build.add_argument("--dbname")
    build.add_argument("--date", dest="dump_date", help="dump date YYYYMMDD")
    build.add_argument("--siteinfo-json", help="meta=siteinfo JSON to publish (default: from the header)")
    build.add_argument("--page-props", help="page_props table dump (.sql or .sql.gz) to publish")
    build.add_argument("--pages-per-stream", type=int, default=PAGES_PER_STREAM)
    build.add_argument("--pages-per-part", type=int, help="split into Wikimedia partial files")
    build.add_argument("--in-progress", action="append", default=[], metavar="JOB")
    build.add_argument("--allow-truncated", action="store_true")
    build.add_argument(
        "--incr-days",
        type=int,
        default=0,
        metavar="N",
        help="also write N adds-changes days after the dump under other/incr/<db>/ (edits, new pages, a move, redirects)",
    )
    serve = commands.add_parser("serve", help="serve a mirror directory over HTTP")
    serve.add_argument("--root", required=True)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8765)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

    if args.command == "build":
        try:
            result = build_mirror(
                args.export,
                args.root,
                dbname=args.dbname,
                dump_date=args.dump_date,
                siteinfo_json=args.siteinfo_json,
                pages_per_stream=args.pages_per_stream,
                pages_per_part=args.pages_per_part,
                in_progress=args.in_progress,
                allow_truncated=args.allow_truncated,
                page_props=args.page_props,
                incr_days=args.incr_days,
            )
        except (MirrorBuildError, OSError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        cut = " (truncated input: complete pages kept)" if result.truncated_input else ""
        print(f"{result.directory}: {result.pages} pages, {len(result.multistream)} multistream file(s){cut}")
        return 0

    server = ThreadingHTTPServer((args.host, args.port), partial(MirrorRequestHandler, directory=args.root))
    print(f"serving {args.root} at http://{args.host}:{server.server_address[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
