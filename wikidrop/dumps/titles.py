"""Title normalisation: the one place that turns a link or redirect target into a page title.

MediaWiki resolves ``[[catégorie:foo_bar#Histoire]]`` to the page ``Catégorie:Foo bar``; redirects,
links, categories and templates must all be resolved the same way so they can be joined later.
Namespace names, aliases and case rules come from the wiki's :class:`~wikidrop.dumps.siteinfo.SiteInfo`.
"""

from __future__ import annotations

import html
import re
from urllib.parse import unquote

from wikidrop.dumps.siteinfo import MEDIAWIKI_CANONICAL_NAMESPACES, SiteInfo

# Characters MediaWiki never allows in a title ($wgLegalTitleChars complement, plus controls).
_ILLEGAL = re.compile(r"[<>\[\]{}|\x00-\x1f\x7f\ufffd]")
# Every kind of space MediaWiki folds into one ordinary space in titles.
_SPACES = re.compile(r"[\s_\u00a0\u1680\u180e\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")
# Invisible direction marks editors paste into links; MediaWiki strips them from titles.
_DIRECTION_MARKS = re.compile(r"[\u200e\u200f\u202a-\u202e]")


def _upper_first(text: str) -> str:
    """Uppercase the first character the way MediaWiki does (keep it if it would grow, like ß)."""
    first = text[0].upper()
    return (first if len(first) == 1 else text[0]) + text[1:]


def normalize_title(raw: str, site: SiteInfo, default_ns: int = 0) -> tuple[int, str] | None:
    """Resolve a link/redirect target to ``(namespace id, full title with the local prefix)``.

    Strips the fragment and a leading ``:``, decodes HTML entities and percent-escapes, folds
    underscores and runs of spaces, resolves a namespace prefix (local name, canonical name or
    alias, any case) and applies the namespace's first-letter case rule. ``default_ns`` is the
    namespace of an unprefixed title (10 for transclusions); a leading ``:`` forces the main
    namespace. Returns None for an empty or invalid title.
    """
    title = raw
    if "&" in title:
        title = html.unescape(title)
    if "%" in title:
        title = unquote(title)
    title = title.split("#", 1)[0]
    title = _DIRECTION_MARKS.sub("", title)
    title = _SPACES.sub(" ", title).strip()
    ns_id = default_ns
    if title.startswith(":"):
        title = title[1:].lstrip()
        ns_id = 0
    if ":" in title:
        prefix, rest = title.split(":", 1)
        namespace = site.namespace_by_prefix(prefix)
        if namespace is not None:
            ns_id, title = namespace.id, rest.strip()
    if not title or _ILLEGAL.search(title):
        return None
    namespace = site.namespaces.get(ns_id)
    case = namespace.case if namespace is not None else site.case
    if case == "first-letter":
        title = _upper_first(title)
    if ns_id == 0:
        return 0, title
    local = site.namespace_name(ns_id) or MEDIAWIKI_CANONICAL_NAMESPACES.get(ns_id, "")
    return ns_id, f"{local}:{title}" if local else title
