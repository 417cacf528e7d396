"""PageGuard: a runaway or crashing parse costs one page, never the worker."""

from __future__ import annotations

import os
import signal

import mwparserfromhell
import pytest

from wikidrop.wikitext.page_guard import PageGuard


def strip_code(wikitext: str, context: object, title: str) -> str:
    """The bare mwparserfromhell extraction (module level: the child imports it by name)."""
    return mwparserfromhell.parse(wikitext).strip_code()


def crash_on_marker(wikitext: str, context: object, title: str) -> str:
    """Die like a segfaulting C extension when asked to, else echo the context."""
    if wikitext == "CRASH":
        os.kill(os.getpid(), signal.SIGSEGV)
    if wikitext == "RAISE":
        raise ValueError(f"bad template in {title}")
    if wikitext == "ALLOCATE":
        return "x" * (4 << 30)
    return f"{context}:{wikitext}"


def test_unclosed_templates_time_out_and_the_next_page_still_parses():
    # mwparserfromhell 0.7.2 needs minutes for this page; the C tokenizer ignores signals.
    with PageGuard(strip_code, timeout_s=3) as guard:
        first_child = guard.child_pid
        stuck = guard.run("{{a|" * 16000, "Stuck")
        assert stuck.reason == "parse_timeout"
        assert guard.restarts == 1
        with pytest.raises(ProcessLookupError):  # the stuck child was killed and reaped
            os.kill(first_child, 0)
        ok = guard.run("'''Pear''' is a [[fruit]].", "Pear")
        assert ok.ok and ok.content == "Pear is a fruit."


def test_eight_megabyte_page_is_refused_before_parsing():
    with PageGuard(strip_code) as guard:
        pid = guard.child_pid
        result = guard.run("Ж" * (4 * 1024 * 1024), "Huge")  # 8 MiB of UTF-8
        assert result.reason == "too_large"
        assert str(8 * 1024 * 1024) in result.detail
        assert guard.child_pid == pid and guard.restarts == 0


def test_crash_exception_and_memory_error_are_reported_and_survived():
    with PageGuard(crash_on_marker, context="ctx", memory_limit_mb=1024) as guard:
        crashed = guard.run("CRASH", "Segv")
        assert crashed.reason == "parse_error: extraction process died"
        assert "SIGSEGV" in crashed.detail
        raised = guard.run("RAISE", "Broken")
        assert raised.reason == "parse_error: ValueError"
        assert "bad template in Broken" in raised.detail
        memory = guard.run("ALLOCATE", "Greedy")
        assert memory.reason == "parse_error: MemoryError"
        assert guard.run("fine", "Fine").content == "ctx:fine"
        assert guard.restarts == 2  # after the crash and after the MemoryError
