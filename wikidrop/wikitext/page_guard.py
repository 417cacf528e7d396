"""Per-page size and time bounds for wikitext extraction that hold even when the parser never returns.

mwparserfromhell's C tokenizer is quadratic on some malformed wikitext (16,000 unclosed ``{{a|``
take minutes) and does not check for signals while it runs, so an alarm or a thread timeout
cannot stop it. The only reliable bound is a separate process: :class:`PageGuard` keeps one
long-lived child per owner (one per Beam DoFn instance), sends it one page at a time over a pipe,
waits with a timeout, and on timeout kills the child and starts a fresh one. A child that dies
(segfault, out-of-memory kill) or raises is reported the same way, so the caller dead-letters that
page and carries on. The child also gets an address-space limit, so a runaway parse ends in a
``MemoryError`` in the child instead of the machine's OOM killer picking a victim.

The IPC cost is one pickle of the wikitext out and of the extracted content back (tens of
microseconds for a typical page, see benchmarks/parse_benchmark.py), small next to parsing it.
"""

from __future__ import annotations

import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

# MediaWiki refuses to save pages over $wgMaxArticleSize (2048 KiB); twice that leaves headroom
# for old or imported pages while keeping one page's parse tree well under a worker's memory.
DEFAULT_MAX_BYTES = 4 * 1024 * 1024
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_MEMORY_LIMIT_MB = 2048

Extractor = Callable[[str, Any, str], Any]


@dataclass(frozen=True)
class GuardResult:
    """Outcome of one page: ``content`` when it worked, else a dead-letter ``reason`` and ``detail``."""

    content: Any = None
    reason: str | None = None
    detail: str = ""

    @property
    def ok(self) -> bool:
        return self.reason is None


def _child_main(conn: Connection, extract: Extractor, context: Any, memory_limit_mb: int) -> None:
    """Child loop: receive ``(title, wikitext)``, answer ``("ok", content)`` or ``("error", text)``."""
    if memory_limit_mb > 0:
        import resource

        limit = memory_limit_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            title, wikitext = conn.recv()
        except (EOFError, OSError):  # the owner closed the pipe or died: nothing left to do
            return
        try:
            conn.send(("ok", extract(wikitext, context, title)))
        except MemoryError:
            conn.send(("error", "MemoryError"))
            return  # the heap may be fragmented beyond use: let the owner start a fresh child
        except Exception as exc:
            conn.send(("error", f"{type(exc).__name__}: {exc}"[:500]))


class PageGuard:
    """Run ``extract(wikitext, context, title)`` in a watchdog child with size/time/memory bounds.

    ``extract`` must be a module-level function (it is pickled by reference into the child) and
    ``context`` (e.g. the wiki's SiteInfo) is sent once, when the child starts; keep ``extract``
    in a light module (no Beam import) and name its modules in ``preload``. Not thread-safe: one
    guard per DoFn instance.
    """

    def __init__(
        self,
        extract: Extractor,
        context: Any = None,
        *,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_bytes: int = DEFAULT_MAX_BYTES,
        memory_limit_mb: int = DEFAULT_MEMORY_LIMIT_MB,
        start_method: str | None = None,
        preload: tuple[str, ...] = (),
    ):
        self.extract = extract
        self.context = context
        self.timeout_s = timeout_s
        self.max_bytes = max_bytes
        self.memory_limit_mb = memory_limit_mb
        methods = multiprocessing.get_all_start_methods()
        # Never plain fork: the owner may be a multi-threaded Beam worker.
        self._mp = multiprocessing.get_context(
            start_method or ("forkserver" if "forkserver" in methods else "spawn")
        )
        if preload and self._mp.get_start_method() == "forkserver":
            # Import the extractor's modules once in the fork server: a restarted child is then
            # a fork away instead of a fresh interpreter re-importing the parser.
            self._mp.set_forkserver_preload(list(preload))
        self._process: Any = None
        self._conn: Connection | None = None
        self.restarts = 0

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the child now (otherwise it starts on the first page)."""
        if self._process is not None and self._process.is_alive():
            return
        parent_conn, child_conn = self._mp.Pipe(duplex=True)
        process = self._mp.Process(
            target=_child_main,
            args=(child_conn, self.extract, self.context, self.memory_limit_mb),
            name="wikidrop-page-guard",
            daemon=True,
        )
        process.start()
        child_conn.close()
        self._process, self._conn = process, parent_conn

    def close(self) -> None:
        """Stop the child (closing the pipe ends its loop; kill it if it is busy)."""
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            self._process.join(timeout=2)
            if self._process.is_alive():
                self._process.kill()
                self._process.join()
        self._process, self._conn = None, None

    def _restart(self) -> None:
        if self._process is not None and self._process.is_alive():
            self._process.kill()
        self.close()
        self.restarts += 1

    @property
    def child_pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def __enter__(self) -> PageGuard:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- work ------------------------------------------------------------------------------------
    def run(self, wikitext: str, title: str = "") -> GuardResult:
        """Extract one page, or say why not: ``too_large``, ``parse_timeout``, ``parse_error: ...``."""
        size = len(wikitext)
        if size * 4 > self.max_bytes:  # a code point is at most 4 UTF-8 bytes: encode only if needed
            size = len(wikitext.encode("utf-8"))
            if size > self.max_bytes:
                return GuardResult(reason="too_large", detail=f"{size} bytes > limit {self.max_bytes}")
        self.start()
        assert self._conn is not None
        started = time.monotonic()
        try:
            self._conn.send((title, wikitext))
            if not self._conn.poll(self.timeout_s):
                self._restart()
                return GuardResult(
                    reason="parse_timeout", detail=f"no result after {time.monotonic() - started:.1f} s"
                )
            status, payload = self._conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            exitcode = self._process.exitcode if self._process is not None else None
            if self._process is not None and exitcode is None:
                self._process.join(timeout=2)
                exitcode = self._process.exitcode
            self._restart()
            return GuardResult(reason="parse_error: extraction process died", detail=_describe_exit(exitcode))
        if status == "ok":
            return GuardResult(content=payload)
        if payload == "MemoryError":
            self._restart()
        return GuardResult(reason=f"parse_error: {payload.split(':', 1)[0]}", detail=payload)


def _describe_exit(exitcode: int | None) -> str:
    """Readable cause of a child's death (negative exit codes are signals)."""
    if exitcode is not None and exitcode < 0:
        import signal

        try:
            return f"killed by {signal.Signals(-exitcode).name}"
        except ValueError:
            pass
    return f"exit code {exitcode}"
