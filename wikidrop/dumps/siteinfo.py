"""Facts about one wiki (namespaces, aliases, title case, base URL, language) taken from its dump.

Every language-dependent rule in the project (localized File:/Category: prefixes, title
normalisation, article URLs, text direction) reads these facts instead of an English list. Sources,
in order of richness: the wiki's siteinfo JSON (the dump's ``siteinfo-namespaces.json.gz``, the API's
``meta=siteinfo`` output: names, canonical names, aliases, magic words) and the ``<siteinfo>`` header
of the export XML (local names only). MediaWiki core also accepts its canonical namespace names on
every wiki whatever its language; those are part of the software, so they are added to each
namespace (they are what an XML-only dump cannot tell us).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element

# MediaWiki core's canonical namespace names and core aliases: valid on every wiki (software, not language).
MEDIAWIKI_CANONICAL_NAMESPACES: Mapping[int, str] = {
    -2: "Media",
    -1: "Special",
    0: "",
    1: "Talk",
    2: "User",
    3: "User talk",
    4: "Project",
    5: "Project talk",
    6: "File",
    7: "File talk",
    8: "MediaWiki",
    9: "MediaWiki talk",
    10: "Template",
    11: "Template talk",
    12: "Help",
    13: "Help talk",
    14: "Category",
    15: "Category talk",
}
MEDIAWIKI_CORE_ALIASES: Mapping[int, tuple[str, ...]] = {6: ("Image",), 7: ("Image talk",)}
# MediaWiki's own redirect keyword: every wiki accepts it whatever its language (software, like the
# canonical namespace names), so it counts even when siteinfo lists no localized magic words.
CORE_REDIRECT_MAGIC_WORD = "#REDIRECT"
# Behaviour switches (``__NOTOC__``, ``__БЕЗ_ОГЛАВЛЕНИЯ__``): a double-underscored word in any script;
# group 1 is the word. Its localized aliases need no list: the shape is the same in every language.
BEHAVIOR_SWITCH = re.compile(r"__([^\W_]+(?:_[^\W_]+)*)__")

# Languages MediaWiki renders right-to-left (languages/data/Names + $rtl in each MessagesXx.php).
RTL_LANGUAGES = frozenset(
    [
        "ar",
        "arc",
        "arz",
        "azb",
        "bcc",
        "bgn",
        "bqi",
        "ckb",
        "dv",
        "fa",
        "glk",
        "he",
        "khw",
        "kk-arab",
        "kk-cn",
        "ks",
        "ks-arab",
        "lki",
        "lrc",
        "luz",
        "mzn",
        "nqo",
        "pnb",
        "ps",
        "sd",
        "sdh",
        "skr",
        "skr-arab",
        "ug",
        "ug-arab",
        "ur",
        "yi",
    ]
)

FILE_NS = 6
CATEGORY_NS = 14
TEMPLATE_NS = 10
MEDIA_NS = -2


def _local(tag: str) -> str:
    """Element tag without its XML namespace URI (export schemas 0.3..0.11 differ only there)."""
    return tag.rsplit("}", 1)[-1]


def normalize_key(name: str) -> str:
    """Case-folded, underscore-free form used to look namespace names up (MediaWiki is lenient)."""
    return re.sub(r"[ _]+", " ", name).strip().casefold()


@dataclass(frozen=True)
class Namespace:
    """One namespace: its id, local name, canonical name, aliases and title case rule."""

    id: int
    name: str
    canonical: str = ""
    case: str = "first-letter"
    aliases: tuple[str, ...] = ()

    @property
    def all_names(self) -> tuple[str, ...]:
        """Every name a link may use for this namespace (local, canonical, aliases), without dups."""
        seen: dict[str, str] = {}
        for n in (self.name, self.canonical, *self.aliases):
            if n and normalize_key(n) not in seen:
                seen[normalize_key(n)] = n
        return tuple(seen.values())


# A page URL keeps letters, digits, "_.-~" and the characters below as they are (what urllib's
# quote(title, safe=":/(),!*@$;~") keeps) and percent-encodes the UTF-8 bytes of everything else.
# Done per run of such characters with C-level calls: records build a URL for every link, and
# quote() loops over bytes in Python for every non-Latin title.
_URL_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-~:/(),!*@$;]+")


def _percent_encode(match: re.Match[str]) -> str:
    return "%" + match.group().encode("utf-8").hex("%").upper()


@dataclass(frozen=True)
class SiteInfo:
    """What the parser needs to know about a wiki; picklable so Beam ships it to workers."""

    dbname: str
    sitename: str = "Wikipedia"
    base_url: str = ""
    language: str = ""
    case: str = "first-letter"
    namespaces: Mapping[int, Namespace] = field(default_factory=dict)
    redirect_magic_words: tuple[str, ...] = ()
    rtl: bool | None = None

    # -- derived facts -------------------------------------------------------------------------
    @cached_property  # article_url needs it for every link of every page
    def server(self) -> str:
        """``https://xx.wikipedia.org`` (scheme + host of ``base_url``)."""
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""

    @property
    def direction(self) -> str:
        """``rtl`` or ``ltr`` for ``in_language.direction``."""
        if self.rtl is not None:
            return "rtl" if self.rtl else "ltr"
        return "rtl" if self.language.lower() in RTL_LANGUAGES else "ltr"

    def article_url(self, title: str) -> str:
        """Canonical page URL as MediaWiki writes it (spaces -> underscores, percent-encoded)."""
        return f"{self.server}/wiki/{_URL_UNSAFE.sub(_percent_encode, title.replace(' ', '_'))}"

    def namespace_name(self, ns_id: int) -> str:
        ns = self.namespaces.get(ns_id)
        return ns.name if ns else ""

    def names_for(self, ns_id: int) -> tuple[str, ...]:
        """All accepted prefixes of namespace ``ns_id`` (e.g. Catégorie, Category for frwiki)."""
        ns = self.namespaces.get(ns_id)
        return ns.all_names if ns else ()

    def namespace_by_prefix(self, prefix: str) -> Namespace | None:
        """The namespace a link prefix like ``Fichier`` or ``category`` names, if any."""
        return self._prefix_index().get(normalize_key(prefix))

    def namespace_of_title(self, title: str) -> int:
        """Namespace id of a full page title (``Talk:Foo`` -> 1) by the wiki's local names and aliases."""
        prefix, sep, _ = title.partition(":")
        if not sep:
            return 0
        namespace = self.namespace_by_prefix(prefix)
        return namespace.id if namespace is not None else 0

    @cached_property  # checked for every page of a dump
    def redirect_pattern(self) -> re.Pattern[str]:
        """Wikitext that is a redirect on this wiki: a redirect magic word (the wiki's aliases or
        MediaWiki's ``#REDIRECT``), then a link; ``match`` it at the start, group 1 is the target."""
        words = dict.fromkeys((*self.redirect_magic_words, CORE_REDIRECT_MAGIC_WORD))
        alternatives = "|".join(re.escape(w) for w in words if w)
        return re.compile(rf"\s*(?:{alternatives})\s*:?\s*\[\[([^\]|]+)", re.IGNORECASE)

    def _prefix_index(self) -> dict[str, Namespace]:
        cached = self.__dict__.get("_prefix_cache")
        if cached is None:
            cached = {}
            for ns in self.namespaces.values():
                for n in ns.all_names:
                    cached.setdefault(normalize_key(n), ns)
            object.__setattr__(self, "_prefix_cache", cached)
        return cached

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state.pop("_prefix_cache", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def with_core_canonical_names(self) -> SiteInfo:
        """Add MediaWiki core canonical names and aliases (accepted by every wiki) where missing."""
        merged = dict(self.namespaces)
        for ns_id, canonical in MEDIAWIKI_CANONICAL_NAMESPACES.items():
            ns = merged.get(ns_id)
            if ns is None:
                continue
            core_aliases = tuple(a for a in MEDIAWIKI_CORE_ALIASES.get(ns_id, ()) if a not in ns.aliases)
            merged[ns_id] = replace(
                ns, canonical=ns.canonical or canonical, aliases=ns.aliases + core_aliases
            )
        return replace(self, namespaces=merged)

    def merged_with(self, richer: SiteInfo) -> SiteInfo:
        """Combine with a richer source (siteinfo JSON): its aliases/magic words win, names union."""
        merged = dict(self.namespaces)
        for ns_id, ns in richer.namespaces.items():
            old = merged.get(ns_id)
            if old is None:
                merged[ns_id] = ns
                continue
            aliases = tuple(dict.fromkeys((*old.aliases, *ns.aliases)))
            merged[ns_id] = replace(old, canonical=ns.canonical or old.canonical, aliases=aliases)
        return replace(
            self,
            namespaces=merged,
            language=self.language or richer.language,
            base_url=self.base_url or richer.base_url,
            redirect_magic_words=richer.redirect_magic_words or self.redirect_magic_words,
            rtl=richer.rtl if richer.rtl is not None else self.rtl,
        )

    # -- (de)serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "dbname": self.dbname,
            "sitename": self.sitename,
            "base_url": self.base_url,
            "language": self.language,
            "case": self.case,
            "redirect_magic_words": list(self.redirect_magic_words),
            "rtl": self.rtl,
            "namespaces": [
                {
                    "id": n.id,
                    "name": n.name,
                    "canonical": n.canonical,
                    "case": n.case,
                    "aliases": list(n.aliases),
                }
                for n in sorted(self.namespaces.values(), key=lambda n: n.id)
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SiteInfo:
        namespaces = {
            int(n["id"]): Namespace(
                id=int(n["id"]),
                name=n["name"],
                canonical=n.get("canonical", ""),
                case=n.get("case", "first-letter"),
                aliases=tuple(n.get("aliases", ())),
            )
            for n in data.get("namespaces", ())
        }
        return cls(
            dbname=data["dbname"],
            sitename=data.get("sitename", "Wikipedia"),
            base_url=data.get("base_url", ""),
            language=data.get("language", ""),
            case=data.get("case", "first-letter"),
            namespaces=namespaces,
            redirect_magic_words=tuple(data.get("redirect_magic_words", ())),
            rtl=data.get("rtl"),
        )

    @classmethod
    def from_xml_element(cls, siteinfo: Element, language: str = "") -> SiteInfo:
        """Parse an export ``<siteinfo>`` element (any schema version; unknown children ignored).

        ``language`` is the root element's ``xml:lang`` when the dump has one.
        """
        values: dict[str, str] = {}
        namespaces: dict[int, Namespace] = {}
        for child in siteinfo:
            tag = _local(child.tag)
            if tag == "namespaces":
                for ns in child:
                    if _local(ns.tag) != "namespace" or ns.get("key") is None:
                        continue
                    ns_id = int(ns.get("key"))
                    namespaces[ns_id] = Namespace(
                        id=ns_id, name=(ns.text or "").strip(), case=ns.get("case", "first-letter")
                    )
            else:
                values[tag] = (child.text or "").strip()
        dbname = values.get("dbname", "")
        return cls(
            dbname=dbname,
            sitename=values.get("sitename", "Wikipedia"),
            base_url=values.get("base", ""),
            language=language or _language_from_host(values.get("base", "")),
            case=values.get("case", "first-letter"),
            namespaces=namespaces,
        ).with_core_canonical_names()

    @classmethod
    def from_siteinfo_json(cls, payload: Mapping[str, Any] | str | bytes) -> SiteInfo:
        """Parse the API ``meta=siteinfo`` JSON (``siteinfo-namespaces.json`` in the dumps)."""
        data = json.loads(payload) if isinstance(payload, (str, bytes)) else payload
        query = data.get("query", data)
        general = query.get("general", {})
        namespaces: dict[int, Namespace] = {}
        for key, ns in query.get("namespaces", {}).items():
            ns_id = int(ns.get("id", key))
            namespaces[ns_id] = Namespace(
                id=ns_id,
                name=ns.get("name", ns.get("*", "")),
                canonical=ns.get("canonical", ""),
                case=ns.get("case", "first-letter"),
            )
        aliases: dict[int, list[str]] = {}
        for alias in query.get("namespacealiases", ()):
            aliases.setdefault(int(alias["id"]), []).append(alias.get("alias", alias.get("*", "")))
        for ns_id, names in aliases.items():
            if ns_id in namespaces:
                namespaces[ns_id] = replace(namespaces[ns_id], aliases=tuple(names))
        redirect_words: tuple[str, ...] = ()
        for magic in query.get("magicwords", ()):
            if magic.get("name") == "redirect":
                redirect_words = tuple(magic.get("aliases", ()))
        rtl = general.get("rtl")
        return cls(
            dbname=general.get("wikiid", ""),
            sitename=general.get("sitename", "Wikipedia"),
            base_url=general.get("base", ""),
            language=general.get("lang", ""),
            case=general.get("case", "first-letter"),
            namespaces=namespaces,
            redirect_magic_words=redirect_words,
            rtl=None if rtl is None else rtl not in (False, "false"),
        ).with_core_canonical_names()


def _language_from_host(base_url: str) -> str:
    """``ja`` from ``https://ja.wikipedia.org/...`` (dumps before schema 0.11 lack ``xml:lang``)."""
    host = urlsplit(base_url).netloc
    return host.split(".", 1)[0] if host.count(".") >= 2 else ""
