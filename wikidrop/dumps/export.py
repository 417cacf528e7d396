"""Streaming, memory-flat, safe reader of MediaWiki export XML (``pages-articles`` and friends).

Why a hand-written expat reader rather than ``iterparse``: the dump is read once, on the hot path,
and only ~15 fields per page matter. Driving expat directly keeps one page in memory at a time
(nothing is ever appended to a tree), lets us refuse DTDs before any entity can be declared
(no billion laughs, no XXE: MediaWiki never writes a DOCTYPE), and tells us exactly where a
truncated file stopped. Tags are matched on local names, so export schemas 0.3 to 0.11 and
non-standard namespace URIs read the same way; unknown elements are skipped, never fatal.

Compression is detected from magic bytes (bz2 single/multi-stream, gzip, xz, plain); the text
encoding (UTF-8, UTF-16 with or without BOM) is detected by expat from the XML itself.

    with open_dump("jawiki-20250801-pages-articles.xml.bz2") as reader:
        print(reader.siteinfo.dbname)
        for page in reader.pages():
            ...
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from typing import BinaryIO
from xml.etree.ElementTree import TreeBuilder
from xml.parsers import expat

from wikidrop.dumps.siteinfo import SiteInfo

DEFAULT_MODEL = "wikitext"
DEFAULT_FORMAT = "text/x-wiki"

# Bytes handed to expat per call: big enough to keep per-call overhead negligible, small enough
# that the pages completed in one chunk (the only ones buffered) stay a few MB at most.
READ_CHUNK_BYTES = 1 << 20

_MAGIC_BZ2 = b"BZh"
_MAGIC_GZIP = b"\x1f\x8b"
_MAGIC_XZ = b"\xfd7zXZ\x00"
_MAGIC_7Z = b"7z\xbc\xaf\x27\x1c"
_MAGIC_ZSTD = b"\x28\xb5\x2f\xfd"
_MAGIC_LEN = 6

# Synthetic root wrapped around a multistream fragment (a bare sequence of <page> elements).
_FRAGMENT_ROOT = "wikidrop-fragment"


@dataclass(frozen=True, slots=True)
class Revision:
    """The revision of a page we keep (its highest revision id), with the fields the record needs.

    ``contributor_name`` is the user name, or the IP address for anonymous edits
    (``is_anonymous``). A contributor hidden by revision deletion (``deleted="deleted"``) has no
    name and no id and is reported as anonymous too. ``model``/``format`` default to wikitext
    when absent (schemas before 0.5). ``text`` is ``""`` and ``comment`` None when the dump leaves
    them out (revision deletion, stub dumps); ``text_bytes`` is the ``<text bytes=..>`` attribute
    (schema 0.10+), as MediaWiki recorded it (it can differ from the text's UTF-8 length).
    """

    id: int
    parent_id: int | None
    timestamp: str
    contributor_name: str | None
    contributor_id: int | None
    is_anonymous: bool
    comment: str | None
    minor: bool
    model: str
    format: str
    text: str
    sha1: str | None
    text_bytes: int | None


@dataclass(frozen=True, slots=True)
class Page:
    """One ``<page>`` with its current revision (the highest revision id among its ``<revision>``s).

    ``redirect_target`` comes from ``<redirect title="..."/>`` only (never guessed from text).
    ``is_redirect`` is True whenever the page carries a ``<redirect>`` element: old exports write
    ``<redirect/>`` without a title, so a redirect may have ``redirect_target=None``; the
    consumer then reads the target from the wikitext with the wiki's redirect magic words.
    """

    id: int
    title: str
    ns: int
    redirect_target: str | None
    revision: Revision
    is_redirect: bool = False

    def __post_init__(self) -> None:
        if self.redirect_target is not None and not self.is_redirect:
            object.__setattr__(self, "is_redirect", True)


class DumpError(ValueError):
    """The input is not a readable MediaWiki export; the message names the file (and page)."""


class TruncatedDumpError(DumpError):
    """The export ends before ``</mediawiki>`` (interrupted download, cut compressed stream)."""

    def __init__(self, source: str, last_complete_page: tuple[int, str] | None, pages_read: int, why: str):
        self.source = source
        self.last_complete_page = last_complete_page
        self.pages_read = pages_read
        self.why = why
        if last_complete_page is None:
            after = "before any complete page"
        else:
            after = f"after page id {last_complete_page[0]} {last_complete_page[1]!r}"
        super().__init__(
            f"{source}: dump is truncated ({why}) {after}; {pages_read} complete pages read. "
            "Re-download the file, or allow truncated input to keep the complete pages."
        )

    def __reduce__(self) -> tuple:
        # Picklable with its fields (Beam and multiprocessing ship exceptions between processes).
        return (type(self), (self.source, self.last_complete_page, self.pages_read, self.why))


# -- decompression --------------------------------------------------------------------------------


class _PrefixedReader(io.RawIOBase):
    """Replays the bytes already read for magic detection, then the rest of the stream.

    Closing it leaves the underlying file open: whoever opened that file closes it.
    """

    def __init__(self, head: bytes, rest: BinaryIO):
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        if self._head:
            n = min(len(self._head), len(view))
            view[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(view))
        view[: len(data)] = data
        return len(data)


def open_binary(fileobj: BinaryIO, name: str = "") -> BinaryIO:
    """Transparently decompress ``fileobj`` by its magic bytes (the file name may lie or be absent).

    bz2 (including multistream: concatenated streams), gzip (multi-member) and xz are decoded;
    anything else is returned as plain XML. 7z and zstd are refused with a clear message because
    the standard library cannot stream them.
    """
    head = b""
    while len(head) < _MAGIC_LEN:  # network streams may return short reads
        more = fileobj.read(_MAGIC_LEN - len(head))
        if not more:
            break
        head += more
    stream: BinaryIO = io.BufferedReader(_PrefixedReader(head, fileobj), READ_CHUNK_BYTES)  # type: ignore[arg-type]
    label = name or getattr(fileobj, "name", "") or "<stream>"
    if head.startswith(_MAGIC_BZ2):
        return bz2.BZ2File(stream)  # type: ignore[return-value]
    if head.startswith(_MAGIC_GZIP):
        return gzip.GzipFile(fileobj=stream)  # type: ignore[return-value]
    if head.startswith(_MAGIC_XZ):
        return lzma.LZMAFile(stream)  # type: ignore[return-value]
    if head.startswith(_MAGIC_7Z):
        raise DumpError(
            f"{label}: 7z archives cannot be streamed; recompress it, e.g. "
            "`7z x -so FILE.7z | bzip2 > FILE.bz2` (bz2, gzip, xz and plain XML are read directly)"
        )
    if head.startswith(_MAGIC_ZSTD):
        raise DumpError(f"{label}: zstd is not supported; recompress as bz2, gzip or xz")
    return stream


# -- the expat state machine ----------------------------------------------------------------------

# Where the parser is, relative to the page being read.
_OUTSIDE, _ROOT, _SITEINFO, _PAGE, _REVISION, _CONTRIBUTOR = range(6)

_PAGE_FIELDS = frozenset({"title", "ns", "id"})
_REVISION_FIELDS = frozenset({"id", "parentid", "timestamp", "comment", "model", "format", "text", "sha1"})
_CONTRIBUTOR_FIELDS = frozenset({"username", "id", "ip"})


def _local(name: str) -> str:
    return name.rpartition(":")[2] if ":" in name else name


class _ExportHandler:
    """expat callbacks that turn export XML into ``Page`` objects, one page in memory at a time."""

    def __init__(self, source: str, fragment: bool = False, siteinfo: SiteInfo | None = None):
        self.source = source
        self.fragment = fragment
        self.siteinfo = siteinfo
        self.siteinfo_done = siteinfo is not None
        self.schema_version: str | None = None
        self.language = ""
        self.root_opened = False
        self.root_closed = False
        self.first_page_seen = False
        self.ready: deque[Page] = deque()
        self.pages_read = 0
        self.last_complete_page: tuple[int, str] | None = None

        self._depth = 0
        self._ctx = _OUTSIDE
        self._ignore_depth = 0  # depth of an unknown element whose subtree is skipped; 0 = none
        self._buf: list[str] | None = None
        self._buf_field = ""
        self._buf_depth = 0
        self._tree: TreeBuilder | None = None
        self._page: dict[str, str] = {}
        self._redirect: str | None = None
        self._is_redirect = False
        self._rev: dict[str, str] = {}
        self._rev_flags: dict[str, object] = {}
        self._best_rev: Revision | None = None

    def make_parser(self) -> expat.XMLParserType:
        parser = expat.ParserCreate()
        parser.buffer_text = True
        parser.buffer_size = 1 << 16
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._refuse_doctype
        parser.EntityDeclHandler = self._refuse_entity
        parser.ExternalEntityRefHandler = self._refuse_external_entity
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._data
        return parser

    # -- security -------------------------------------------------------------------------------
    def _refuse_doctype(self, name: str, *_: object) -> None:
        raise DumpError(
            f"{self.source}: DOCTYPE declaration <!DOCTYPE {name} ...> refused: MediaWiki exports never "
            "contain a DTD, and its entities could expand without bound or read local files"
        )

    def _refuse_entity(self, name: str, *_: object) -> None:
        raise DumpError(f"{self.source}: ENTITY declaration {name!r} refused (entities are never expanded)")

    def _refuse_external_entity(self, *_: object) -> int:
        raise DumpError(f"{self.source}: external entity reference refused (never resolved)")

    # -- callbacks ------------------------------------------------------------------------------
    def _data(self, data: str) -> None:
        if self._buf is not None:
            self._buf.append(data)
        elif self._tree is not None:
            self._tree.data(data)

    def _start(self, name: str, attrs: dict[str, str]) -> None:
        self._depth += 1
        if self._ignore_depth:
            return
        local = _local(name)
        ctx = self._ctx
        if ctx == _REVISION:
            if local in _REVISION_FIELDS:
                if attrs.get("deleted"):  # hidden by revision deletion: absent, not empty
                    self._ignore_depth = self._depth
                    return
                self._capture(local)
                if local == "text":
                    self._rev_flags["text_bytes"] = attrs.get("bytes")
            elif local == "contributor":
                self._ctx = _CONTRIBUTOR
                if attrs.get("deleted"):
                    self._rev_flags["contributor_deleted"] = True
            elif local == "minor":
                self._rev_flags["minor"] = True
                self._ignore_depth = self._depth
            else:
                self._ignore_depth = self._depth
        elif ctx == _CONTRIBUTOR:
            if local in _CONTRIBUTOR_FIELDS:
                self._capture("contributor_" + local)
            else:
                self._ignore_depth = self._depth
        elif ctx == _PAGE:
            if local == "revision":
                self._ctx = _REVISION
                self._rev = {}
                self._rev_flags = {}
            elif local in _PAGE_FIELDS:
                self._capture(local)
            elif local == "redirect":
                self._is_redirect = True
                self._redirect = attrs.get("title")
                self._ignore_depth = self._depth
            else:
                self._ignore_depth = self._depth
        elif ctx == _SITEINFO:
            assert self._tree is not None
            self._tree.start(local, {_local(k): v for k, v in attrs.items()})
        elif ctx == _ROOT:
            if local == "page":
                self._ctx = _PAGE
                self.first_page_seen = True
                self._page = {}
                self._redirect = None
                self._is_redirect = False
                self._best_rev = None
            elif local == "siteinfo" and not self.fragment:
                self._ctx = _SITEINFO
                self._tree = TreeBuilder()
                self._tree.start("siteinfo", {})
            else:
                self._ignore_depth = self._depth
        else:  # the root element
            self._ctx = _ROOT
            self.root_opened = True
            if not self.fragment:
                self._open_root(local, attrs)

    def _end(self, name: str) -> None:
        depth = self._depth
        self._depth = depth - 1
        if self._ignore_depth:
            if depth == self._ignore_depth:
                self._ignore_depth = 0
            return
        if self._buf is not None and depth == self._buf_depth:
            value = "".join(self._buf)
            self._buf = None
            field = self._buf_field
            if self._ctx == _PAGE:
                self._page[field] = value
            else:
                self._rev[field] = value
            return
        ctx = self._ctx
        if ctx == _CONTRIBUTOR:
            self._ctx = _REVISION
        elif ctx == _REVISION:
            self._ctx = _PAGE
            self._finish_revision()
        elif ctx == _PAGE:
            self._ctx = _ROOT
            self._finish_page()
        elif ctx == _SITEINFO:
            assert self._tree is not None
            if depth == 2:
                self._tree.end("siteinfo")
                self.siteinfo = SiteInfo.from_xml_element(self._tree.close(), language=self.language)
                self.siteinfo_done = True
                self._tree = None
                self._ctx = _ROOT
            else:
                self._tree.end(_local(name))
        elif ctx == _ROOT:
            self._ctx = _OUTSIDE
            self.root_closed = True

    def _capture(self, field: str) -> None:
        self._buf = []
        self._buf_field = field
        self._buf_depth = self._depth

    def _open_root(self, local: str, attrs: dict[str, str]) -> None:
        if local != "mediawiki":
            raise DumpError(f"{self.source}: root element is <{local}>, not a MediaWiki export <mediawiki>")
        self.language = attrs.get("xml:lang", "")
        version = attrs.get("version")
        if version is None:
            namespace_uri = attrs.get("xmlns", "")
            marker = "/export-"
            if marker in namespace_uri:
                version = namespace_uri.rsplit(marker, 1)[1].strip("/") or None
        self.schema_version = version

    # -- record building ------------------------------------------------------------------------
    def _where(self) -> str:
        title = self._page.get("title")
        page_id = self._page.get("id")
        return f"{self.source}: page id {page_id} {title!r}" if title is not None else f"{self.source}: page"

    def _int(self, value: str | None, what: str, required: bool = False) -> int | None:
        if value is None or not value.strip():
            if required:
                raise DumpError(f"{self._where()}: missing {what}")
            return None
        try:
            return int(value)
        except ValueError:
            raise DumpError(f"{self._where()}: {what} {value!r} is not an integer") from None

    def _finish_revision(self) -> None:
        rev, flags = self._rev, self._rev_flags
        ip = rev.get("contributor_ip")
        deleted = bool(flags.get("contributor_deleted"))
        text_bytes = flags.get("text_bytes")
        revision = Revision(
            id=self._int(rev.get("id"), "revision id", required=True),  # type: ignore[arg-type]
            parent_id=self._int(rev.get("parentid"), "revision parentid"),
            timestamp=rev.get("timestamp", "").strip(),
            contributor_name=ip if ip is not None else rev.get("contributor_username"),
            contributor_id=self._int(rev.get("contributor_id"), "contributor id"),
            is_anonymous=ip is not None or deleted,
            comment=rev.get("comment"),
            minor=bool(flags.get("minor")),
            model=rev.get("model") or DEFAULT_MODEL,
            format=rev.get("format") or DEFAULT_FORMAT,
            text=rev.get("text", ""),
            sha1=rev.get("sha1") or None,
            text_bytes=self._int(text_bytes, "text bytes") if isinstance(text_bytes, str) else None,
        )
        best = self._best_rev
        # The highest revision id is the page's current one, whatever the order of <revision>s
        # (history exports list them oldest first, but nothing guarantees it) and whatever their
        # timestamps say (imported revisions keep their original, older timestamps).
        if best is None or revision.id > best.id:
            self._best_rev = revision
        self._rev = {}

    def _finish_page(self) -> None:
        page = self._page
        title = page.get("title")
        if title is None:
            raise DumpError(f"{self.source}: page id {page.get('id')} has no <title>")
        page_id = self._int(page.get("id"), "page id", required=True)
        if self._best_rev is None:
            raise DumpError(f"{self._where()}: page has no <revision>")
        ns = self._int(page.get("ns"), "ns")
        if ns is None:
            # Schemas before 0.6 have no <ns>: the title prefix names it, in the wiki's language.
            ns = self.siteinfo.namespace_of_title(title) if self.siteinfo is not None else 0
        self.ready.append(
            Page(
                id=page_id,  # type: ignore[arg-type]
                title=title,
                ns=ns,
                redirect_target=self._redirect,
                revision=self._best_rev,
                is_redirect=self._is_redirect,
            )
        )
        self.pages_read += 1
        self.last_complete_page = (page_id, title)  # type: ignore[assignment]
        self._best_rev = None
        self._page = {}


def _expat_message(source: str, error: expat.ExpatError, handler: _ExportHandler) -> str:
    last = handler.last_complete_page
    after = f"after page id {last[0]} {last[1]!r}" if last else "before any complete page"
    return (
        f"{source}: malformed XML at line {error.lineno}, column {error.offset} "
        f"({expat.ErrorString(error.code)}) {after}"
    )


# -- public readers -------------------------------------------------------------------------------


class DumpReader:
    """Stream the pages of one export file; ``siteinfo`` is read on construction.

    ``fileobj`` may be compressed (see ``open_binary``). ``source`` names the file in every error.
    With ``allow_truncated`` a cut file yields every complete page, then ``truncated`` describes
    the cut (``{"source", "last_complete_page": {"id", "title"} | None, "pages_read", "reason"}``)
    instead of ``pages()`` raising ``TruncatedDumpError``. ``close()`` leaves ``fileobj`` open
    unless ``close_fileobj``. ``pages_read`` counts pages parsed so far, which may run up to one
    read chunk ahead of the pages yielded.
    """

    def __init__(
        self, fileobj: BinaryIO, source: str, allow_truncated: bool = False, close_fileobj: bool = False
    ):
        self.source = source
        self.allow_truncated = allow_truncated
        self._close_fileobj = close_fileobj
        self.truncated: dict | None = None
        self._raw = fileobj
        self._stream = open_binary(fileobj, source)
        self._handler = _ExportHandler(source)
        self._parser = self._handler.make_parser()
        self._eof = False
        self._cut: str | None = None  # why the input ended early, once known
        self._started = False
        self._bytes_fed = 0
        # Read ahead to the end of <siteinfo> (or the first page) so callers see it at once.
        while not (self._handler.siteinfo_done or self._handler.first_page_seen or self._eof):
            self._feed()

    @property
    def siteinfo(self) -> SiteInfo | None:
        return self._handler.siteinfo

    @property
    def schema_version(self) -> str | None:
        return self._handler.schema_version

    @property
    def language(self) -> str:
        """The root's ``xml:lang`` (schema 0.3+), ``""`` when absent."""
        return self._handler.language

    @property
    def pages_read(self) -> int:
        return self._handler.pages_read

    @property
    def last_complete_page(self) -> tuple[int, str] | None:
        return self._handler.last_complete_page

    def pages(self) -> Iterator[Page]:
        """Yield every page in file order; raise ``TruncatedDumpError`` if the file is cut."""
        if self._started:
            raise RuntimeError(f"{self.source}: pages() can only be iterated once")
        self._started = True
        ready = self._handler.ready
        while True:
            while ready:
                yield ready.popleft()
            if self._eof:
                break
            self._feed()
        if self._cut is not None:
            error = TruncatedDumpError(
                self.source, self._handler.last_complete_page, self._handler.pages_read, self._cut
            )
            if not self.allow_truncated:
                raise error
            last = error.last_complete_page
            self.truncated = {
                "source": self.source,
                "last_complete_page": {"id": last[0], "title": last[1]} if last else None,
                "pages_read": error.pages_read,
                "reason": self._cut,
            }

    def _feed(self) -> None:
        """Hand the next chunk to expat; at end of input decide between complete and truncated."""
        handler = self._handler
        try:
            chunk = self._stream.read(READ_CHUNK_BYTES)
        except EOFError as exc:
            # A compressed stream cut mid-way: the decompressor cannot finish. Pages already
            # completed stay valid; the XML is necessarily incomplete too.
            self._eof = True
            self._cut = f"compressed data ends early: {exc}"
            return
        except (OSError, lzma.LZMAError) as exc:
            raise DumpError(
                f"{self.source}: cannot decompress ({exc}) after {handler.pages_read} complete pages"
            ) from exc
        try:
            if chunk:
                self._bytes_fed += len(chunk)
                self._parser.Parse(chunk, False)
                return
            self._eof = True
            if not handler.root_opened:
                what = "empty input" if not self._bytes_fed else "no <mediawiki> element"
                raise DumpError(f"{self.source}: {what}, not a MediaWiki export")
            if not handler.root_closed:
                self._cut = "no closing </mediawiki>"
                return
            self._parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise DumpError(_expat_message(self.source, exc, handler)) from exc

    def close(self) -> None:
        """Release the decompressor; the file object too if ``close_fileobj`` (``open_dump``)."""
        self._stream.close()
        if self._close_fileobj:
            self._raw.close()

    def __enter__(self) -> DumpReader:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_dump(path: str, allow_truncated: bool = False) -> DumpReader:
    """Open a local export file (any supported compression); use as a context manager."""
    fileobj = open(path, "rb")  # noqa: SIM115 - closed by DumpReader.close()
    try:
        return DumpReader(fileobj, source=path, allow_truncated=allow_truncated, close_fileobj=True)
    except BaseException:
        fileobj.close()
        raise


def parse_page_fragment(xml: bytes, source: str, siteinfo: SiteInfo | None = None) -> Iterator[Page]:
    """Pages of one decompressed multistream bz2 stream: bare ``<page>`` elements, no root.

    The bytes are UTF-8, as in every multistream dump (a fragment has no XML declaration to say
    otherwise). The last stream range of a multistream file also holds the footer stream, so a trailing
    ``</mediawiki>`` is accepted. ``siteinfo`` (from the header stream) is only needed to derive
    namespaces for pages without ``<ns>``, which multistream dumps always have. The stream is
    parsed eagerly (about 100 pages); a malformed stream raises ``DumpError`` naming ``source``.
    """
    body = xml
    tail_start = body.rfind(b"</page>")
    if tail_start >= 0:
        tail = body[tail_start + len(b"</page>") :]
        if tail.strip() == b"</mediawiki>":
            body = body[: tail_start + len(b"</page>")]
    handler = _ExportHandler(source, fragment=True, siteinfo=siteinfo)
    parser = handler.make_parser()
    try:
        parser.Parse(f"<{_FRAGMENT_ROOT}>".encode(), False)
        parser.Parse(body, False)
        parser.Parse(f"</{_FRAGMENT_ROOT}>".encode(), True)
    except expat.ExpatError as exc:
        raise DumpError(_expat_message(source, exc, handler)) from exc
    return iter(handler.ready)


def read_siteinfo(fileobj: BinaryIO, source: str) -> tuple[SiteInfo | None, str | None]:
    """``(siteinfo, schema_version)`` from the start of an export, reading no further than needed.

    Works on a header alone (the first multistream stream, which has no closing tag). An input
    that never opens ``<mediawiki>`` (empty, or not an export) is a ``DumpError``.
    """
    handler = _ExportHandler(source)
    parser = handler.make_parser()
    stream = open_binary(fileobj, source)
    bytes_read = 0
    try:
        while not (handler.siteinfo_done or handler.first_page_seen):
            chunk = stream.read(READ_CHUNK_BYTES)
            if not chunk:
                break
            bytes_read += len(chunk)
            parser.Parse(chunk, False)
    except expat.ExpatError as exc:
        raise DumpError(_expat_message(source, exc, handler)) from exc
    except EOFError as exc:
        raise TruncatedDumpError(source, None, 0, f"compressed data ends in the header: {exc}") from exc
    finally:
        stream.close()  # the decompressor only: ``fileobj`` stays open for the caller
    if not handler.root_opened:
        what = "empty input" if not bytes_read else "no <mediawiki> element"
        raise DumpError(f"{source}: {what}, not a MediaWiki export")
    return handler.siteinfo, handler.schema_version
