"""Content-Security-Policy of the reports view: nothing loads or runs unless it comes from here.

The view's own pages (listing, trends, drill-down) carry no inline script at all: their scripts are
files of this plugin and their data travels in non-executable ``application/json`` blocks, so
``APP_POLICY`` allows scripts from this origin only. Vega compiles chart expressions with
``new Function`` unless told otherwise; the trends page asks vega-embed for its CSP-safe
interpreter (``ast: true``), so no ``'unsafe-eval'`` either.

Great Expectations' Data Docs pages are generated, and carry a few inline scripts and
``onclick`` handlers. Rather than allow inline script wholesale, ``data_docs_policy`` allows exactly
those of the page being served, by their SHA-256 (``'unsafe-hashes'`` extends hashes to event
handler attributes, and only to the ones hashed). A page whose inline code changes gets a policy
that matches it; injected script matches no hash and does not run. Inline styles stay allowed on
Data Docs pages: GX styles hundreds of elements with ``style`` attributes.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re

_COMMON = (
    "default-src 'none'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'self'",
    "object-src 'none'",
)
APP_POLICY = "; ".join(("script-src 'self'", "style-src 'self'", *_COMMON))

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc\s*=)([^>]*)>(.*?)</script\s*>", re.IGNORECASE | re.DOTALL)
_DATA_BLOCK_TYPE = re.compile(
    r"""\btype\s*=\s*["']?(?!(?:text|application)/(?:java|ecma)script|module)""", re.I
)
_EVENT_HANDLER = re.compile(r"""\son[a-z]+\s*=\s*(?:"([^"]*)"|'([^']*)')""", re.IGNORECASE)


def _sha256(source: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode() + "'"


def data_docs_policy(page: str) -> str:
    """The policy for one Data Docs HTML page: this origin's files plus the page's own inline code."""
    hashes = {
        _sha256(body)
        for attributes, body in _INLINE_SCRIPT.findall(page)
        if body.strip() and not _DATA_BLOCK_TYPE.search(attributes)
    }
    handlers = {_sha256(html.unescape(double or single)) for double, single in _EVENT_HANDLER.findall(page)}
    script_src = ["script-src 'self'", *sorted(hashes)]
    if handlers:
        script_src += ["'unsafe-hashes'", *sorted(handlers)]
    return "; ".join((" ".join(script_src), "style-src 'self' 'unsafe-inline'", *_COMMON))
