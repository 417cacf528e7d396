"""One page's wikitext -> clean text plus structured fields, in a single parse and a single walk.

Decisions (documented for partners):

- ``text``: section headings on their own line, paragraphs separated by a blank line, list items
  one per line: ``- item`` for ``*`` lists, ``1. item`` for ``#`` lists (numbered per list),
  nested items indented by two spaces per level, ``;`` terms and ``:`` indents as plain lines.
  Headings of sections left empty after cleaning (e.g. "References") are not repeated in ``text``;
  a section holding only tables keeps its heading, the tables stand under it.
- ``tables``: every table (wiki ``{| |}``, also after a ``:`` indent or written with ``{{(!}}``
  escapes inside a parameter, and HTML ``<table>``) is an entry, out of ``text``: caption, header
  and body rows of cell values rendered like ``text`` (see :mod:`.tables` for spans, nesting and
  ``text_offset``). Tables without any cell text (image layouts) leave no entry.
- ``sections``: the lead as ``{"name": "", "level": 0}`` when it has text, then every heading in
  order with its own text (subsections are separate entries).
- ``references``: every ``<ref>`` with content (reuses ``<ref name=x/>`` and repeated definitions
  are not repeated) and footnote templates (``{{efn}}``...). ``identifier`` is MediaWiki's anchor
  form (``cite_note-<name>-<n>``, numbered in page order: templates that add references are not
  expanded, so numbers may differ from the rendered page), ``text`` the rendered citation,
  ``source`` the cited URL (a ``url``-like template parameter, else the first external link),
  ``type`` ``note`` for footnote templates and grouped references citing nothing, else
  ``citation``; ``metadata`` the citation template's parameters as written.
- ``infoboxes``: recognised by structure, in any language: a template call of the lead, before
  the prose (at most 300 characters of it), with at least three named parameters each on a line
  of its own or six on any layout, that no render rule claims (rules name image and quote boxes);
  a call whose name the render rules' infobox hints list, anywhere; or a table of class
  ``infobox`` (its title is the name, its label/value rows the params). Each param: ``value`` as
  clean text (a file name or an image size moves out of it: images go to ``images``),
  ``links`` and ``images`` met in it, and ``value_wikitext`` (comments removed, entities decoded).
  Empty params are left out. Infoboxes whose parameters all come from Wikidata (a call without
  parameters) are found only by a hinted name.
- Templates are rendered by the per-language tables of :mod:`.render_rules`; unknown templates
  are dropped, and the punctuation they leave (``()``, ``( ; )``, `` ,``) is cleaned up.
- Dropped: file/media links with their captions (also under aliases the header does not list,
  recognised by the media file extension), category links (-> ``categories``), interlanguage
  links, magic words, comments, HTML tags (inner text kept), ``<gallery>``-like extension tags.
  ``<math>`` keeps its TeX source. Markup MediaWiki itself would show raw (an unclosed ``[[``)
  is removed rather than shown.
- ``links``: main-namespace targets, normalised (:func:`wikidrop.dumps.titles.normalize_title`), in
  order of first appearance; ``categories``/``templates`` carry the wiki's local prefix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from wikidrop.dumps.siteinfo import BEHAVIOR_SWITCH, CATEGORY_NS, FILE_NS, MEDIA_NS, TEMPLATE_NS, SiteInfo
from wikidrop.dumps.titles import normalize_title
from wikidrop.wikitext.render_rules import FOOTNOTE_TEMPLATES, TemplateCall, citation, rules_for
from wikidrop.wikitext.tables import Cell, expand_grid, span
from wikidrop.wikitext.tree import (
    ARGUMENT,
    EXTLINK,
    HEADING,
    TAG,
    TEMPLATE,
    WIKILINK,
    Node,
    Nodes,
    parse_tree,
    to_wikitext,
)


@dataclass(slots=True)
class PageContent:
    """Everything the record needs from one page's wikitext (see the module docstring)."""

    text: str = ""
    abstract: str = ""
    sections: list[dict] = field(default_factory=list)
    tables: list[dict] = field(default_factory=list)
    infoboxes: list[dict] = field(default_factory=list)
    references: list[dict] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


# List markers survive the walk as private-use characters and become "- "/"1. " at the end.
_BULLET, _NUMBER, _INDENT, _TERM = "\ue000", "\ue001", "\ue002", "\ue003"
_LIST_MARKUP = {"*": _BULLET, "#": _NUMBER, ":": _INDENT, ";": _TERM}
_MARKER_CHARS = _BULLET + _NUMBER + _INDENT + _TERM
# A table leaves "\ue010<index>\ue011" on a line of its own where it stood; the markers that reach
# the final text give the tables' offsets there and are then removed (from every other field too).
_TABLE_OPEN, _TABLE_END = "\ue010", "\ue011"
_TABLE_MARK = re.compile(f"{_TABLE_OPEN}(\\d+){_TABLE_END}")
# Structural infobox: a top-level template of the lead with this many named parameters on lines of
# their own (or twice as many on any layout), and at most this much prose before it ("near the
# start of the page").
_INFOBOX_MIN_PARAMS = 3
_INFOBOX_MAX_PROSE_BEFORE = 300

# Tags whose content is never reader-visible prose in the article text.
_INVISIBLE_TAGS = frozenset(
    """gallery imagemap timeline graph mapframe maplink templatestyles score inputbox
    categorytree charinsert indicator includeonly style script hiero templatedata
    references section""".split()
)
_BLOCK_TAGS = frozenset("p div blockquote center ul ol dl poem pre h1 h2 h3 h4 h5 h6 caption figure".split())
_TEX_TAGS = frozenset(["math", "chem", "ce"])
# Magic variables that show the page's own name.
_PAGENAME_WORDS = frozenset("PAGENAME PAGENAMEE FULLPAGENAME BASEPAGENAME ROOTPAGENAME SUBPAGENAME".split())
# MediaWiki's other magic variables ({{NUMBEROFARTICLES}}): site or clock state, not a template
# and not text of the article (software-level names, the same on every wiki).
_MAGIC_VARIABLES = frozenset(
    """CURRENTYEAR CURRENTMONTH CURRENTMONTH1 CURRENTMONTH2 CURRENTMONTHNAME CURRENTMONTHNAMEGEN
    CURRENTMONTHABBREV CURRENTDAY CURRENTDAY2 CURRENTDOW CURRENTDAYNAME CURRENTTIME CURRENTHOUR
    CURRENTWEEK CURRENTTIMESTAMP LOCALYEAR LOCALMONTH LOCALMONTH1 LOCALMONTH2 LOCALMONTHNAME
    LOCALMONTHNAMEGEN LOCALMONTHABBREV LOCALDAY LOCALDAY2 LOCALDOW LOCALDAYNAME LOCALTIME LOCALHOUR
    LOCALWEEK LOCALTIMESTAMP SITENAME SERVER SERVERNAME SCRIPTPATH STYLEPATH CURRENTVERSION
    CONTENTLANGUAGE CONTENTLANG NUMBEROFPAGES NUMBEROFARTICLES NUMBEROFFILES NUMBEROFEDITS
    NUMBEROFUSERS NUMBEROFADMINS NUMBEROFACTIVEUSERS NAMESPACE NAMESPACEE NAMESPACENUMBER TALKSPACE
    TALKSPACEE SUBJECTSPACE SUBJECTSPACEE ARTICLESPACE ARTICLESPACEE REVISIONID REVISIONDAY
    REVISIONDAY2 REVISIONMONTH REVISIONMONTH1 REVISIONYEAR REVISIONTIMESTAMP REVISIONUSER
    REVISIONSIZE PAGEID DIRMARK DIRECTIONMARK""".split()
)
# Parser functions written {{name:arg}} whose output is their argument, transformed.
_PARSER_FUNCTIONS = {
    "formatnum": lambda arg: arg,
    "lc": str.lower,
    "uc": str.upper,
    "lcfirst": lambda arg: arg[:1].lower() + arg[1:],
    "ucfirst": lambda arg: arg[:1].upper() + arg[1:],
}
# Parser functions and magic words written in lower case that show nothing useful as text.
_SILENT_FUNCTIONS = frozenset(
    """int ns nse fullurl localurl canonicalurl filepath urlencode anchorencode padleft padright
    plural grammar gender tag invoke msg msgnw subst safesubst raw""".split()
)
# Interwiki prefixes of Wikimedia projects (software-level, the same on every wiki).
_PROJECT_PREFIXES = frozenset(
    """w wikipedia wikt wiktionary q wikiquote s wikisource b wikibooks n wikinews v wikiversity
    voy wikivoyage c commons d wikidata m meta mw species wikispecies foundation wmf
    phab phabricator metawikimedia incubator outreach""".split()
)
_LANGUAGE_PREFIX = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$")

_BOLD_ITALIC = re.compile(r"'{2,}")
_SPACES = re.compile(r"(?<=\S)[ \t\u200b]{2,}")  # not indentation
_TRAILING_SPACES = re.compile(r"[ \t]+$", re.MULTILINE)
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*)+\n")
_EMPTY_PARENS = re.compile(r"[(（][ \t]*(?:[,;:、，；/–—-][ \t]*)*[)）]")
_PUNCT_AFTER_OPEN = re.compile(r"([(（])(?:[ \t]*[,;:、，；])+[ \t]*")
_PUNCT_BEFORE_CLOSE = re.compile(r"(?:[ \t]*[,;:、，；])+[ \t]*([)）])")
# "(IPA: ; German: Berlin)": a label whose value (a dropped pronunciation) is gone
_DANGLING_LABEL = re.compile(r"(?<=[(（;])[ \t]*[^\W\d_][\w.]{0,20}:[ \t]*(?=[;,)）])")
_SPACE_BEFORE_PUNCT = re.compile(r"[ \t]+([,.])(?=\s|$|[)\]])")
_DOUBLED_PUNCT = re.compile(r"[,;][ \t]*([,;.])")
_PARENS_SPACES = re.compile(r"\([ \t]+|[ \t]+\)")
_STRAY_BRACKETS = re.compile(r"\[\[|\]\]|\{\{|\}\}")
# HTML the tokenizer could not pair (unclosed <table>, stray </div>) and MediaWiki would hide.
_STRAY_HTML = re.compile(
    r"</?(?:table|tbody|thead|tr|td|th|div|span|font|center|small|big|br|p|b|i|u|s|strike|sup|sub"
    r"|strong|em|ref|references|blockquote|poem|gallery|abbr|hr|ul|ol|li|dl|dt|dd"
    r"|noinclude|onlyinclude|includeonly)\b[^<>\n]{0,300}>",
    re.IGNORECASE,
)
# A link to a media file whatever its namespace is called (aliases an XML header cannot list).
_MEDIA_FILE = re.compile(
    r"\.(?:jpe?g|png|gif|svg|tiff?|webp|xcf|ogg|oga|ogv|webm|mp3|wav|flac|mid|pdf|djvu|stl)\s*$",
    re.IGNORECASE,
)
_TABLE_CLOSE = re.compile(r"\|\}|</table\s*>", re.IGNORECASE)
_INDENTED_TABLE = re.compile(r"^([ \t]*:[: \t]*)\{\|", re.MULTILINE)
_TABLE_START = re.compile(r"^[ \t]*\{\|", re.MULTILINE)
_IMAGE_SIZE = re.compile(r"(?:\d+)?(?:x\d+)?px$")
_BARE_FILE_NAME = re.compile(r"[^\s:|][^:|]*$")  # one name, no options: "Paris night.jpg"
# Characters some clean-up step of ``_clean_inline`` acts on (quotes, punctuation, brackets, markers).
_NEEDS_FIXING = re.compile(r"[',;.:()（）、，；<>\[\]{}\t\u200b\ue000-\ue011]")
_VISIBLE = re.compile(r"[^\W_]")  # a line worth keeping shows at least a letter or digit
_PIPE_TRICK = re.compile(r"\s*(?:\([^()]*\)|（[^（）]*）)$")


def _plain(nodes: Nodes) -> str:
    """The literal text of a name/key (markup inside names is ignored)."""
    return "".join(node for node in nodes if type(node) is str)


def _magic_word(match: re.Match[str]) -> str:
    word = match.group(1)
    return "" if word.upper() == word else match.group(0)


class _Sink:
    """The links, images and external URLs met while rendering one infobox value or one reference."""

    __slots__ = ("external", "images", "links")

    def __init__(self) -> None:
        self.links: list[dict[str, str]] = []
        self.images: list[dict[str, str]] = []
        self.external: list[str] = []


class _Walker:
    """Renders nodes to raw text while collecting links, categories, templates, refs, infoboxes, tables."""

    def __init__(self, site: SiteInfo, title: str) -> None:
        self.site = site
        self.title = title
        self.rules = rules_for(site.language)
        self.categories: dict[str, None] = {}
        self.templates: dict[str, None] = {}
        self.links: dict[str, None] = {}
        self.references: list[dict] = []
        self.infoboxes: list[dict] = []
        self.tables: list[dict] = []  # in document order, an outer table before the tables it holds
        self.section = ""  # name of the section being walked ("" = lead), for ``tables[].section``
        self._open_tables: list[int] = []
        self._sinks: list[_Sink] = []
        self._named_references: set[tuple[str | None, str]] = set()
        self._titles: dict[tuple[str, int], tuple[int, str] | None] = {}

    # -- helpers ------------------------------------------------------------------------------
    def normalize(self, raw: str, default_ns: int = 0) -> tuple[int, str] | None:
        key = (raw, default_ns)
        if key not in self._titles:
            self._titles[key] = normalize_title(raw, self.site, default_ns)
        return self._titles[key]

    def render(self, nodes: Nodes) -> str:
        out: list[str] = []
        append = out.append
        for node in nodes:
            if type(node) is str:
                append(node)
                continue
            kind = node[0]
            if kind == TEMPLATE:
                append(self.template(node))
            elif kind == WIKILINK:
                append(self.wikilink(node))
            elif kind == TAG:
                append(self.tag(node))
            elif kind == EXTLINK:
                append(self.external_link(node))
            elif kind == HEADING:
                append("\n" + self.render(node[2]).strip() + "\n")
            elif kind == ARGUMENT and node[2] is not None:
                append(self.render(node[2]))
        return "".join(out)

    def rendered_with_sink(self, nodes: Nodes) -> tuple[str, _Sink]:
        """Render ``nodes`` and return the links and images met in them (not in nested refs/values)."""
        sink = _Sink()
        self._sinks.append(sink)
        try:
            return self.render(nodes), sink
        finally:
            self._sinks.pop()

    # -- node kinds ---------------------------------------------------------------------------
    def wikilink(self, node: tuple) -> str:
        target = _plain(node[1]).strip()
        core = target[1:].lstrip() if target.startswith(":") else target
        colon = core is not target
        if ":" in core:
            prefix = core.split(":", 1)[0]
            namespace = self.site.namespace_by_prefix(prefix)
            if namespace is not None:
                if namespace.id in (FILE_NS, MEDIA_NS) and not colon:
                    if self._sinks:
                        self.image(core)
                    return ""
                if namespace.id == CATEGORY_NS and not colon:
                    resolved = self.normalize(core)
                    if resolved is not None:
                        self.categories[resolved[1]] = None
                    return ""
            elif not colon and _MEDIA_FILE.search(core):
                if self._sinks:
                    self.image(core)
                return ""
            elif prefix.lower() in _PROJECT_PREFIXES or _LANGUAGE_PREFIX.match(prefix):
                if not colon and _LANGUAGE_PREFIX.match(prefix):
                    return ""  # interlanguage link: a sidebar entry, not text
                return self.render(node[2]) if node[2] is not None else core.split(":", 1)[1]
        resolved = self.normalize(core)
        if resolved is not None and resolved[0] == 0:
            self.links[resolved[1]] = None
        if node[2] is None:
            # [[:Category:X]] reads as "X"; the namespace name is not part of the prose
            shown = core.split(":", 1)[1] if colon and resolved and resolved[0] else core
        else:
            shown = self.render(node[2])
            if not shown.strip():  # pipe trick [[Paris (France)|]] -> "Paris"
                shown = core.split(":", 1)[1] if resolved and resolved[0] else core
                shown = _PIPE_TRICK.sub("", shown)
        if self._sinks and resolved is not None:
            text = _clean_inline(shown)
            self._sinks[-1].links.append(
                {"text": text or resolved[1], "url": self.site.article_url(resolved[1])}
            )
        return shown

    def image(self, target: str) -> None:
        """A file shown in an infobox value (link or bare file name): its name and description page,
        as the record's ``image`` has them."""
        resolved = self.normalize(target, FILE_NS)
        if resolved is None:
            return
        name = resolved[1].split(":", 1)[1] if resolved[0] in (FILE_NS, MEDIA_NS) else resolved[1]
        if ":" in name:
            name = name.split(":", 1)[1].strip()  # an alias the header does not list ([[Attēls:X.jpg]])
        if name:
            url = self.site.article_url(f"{self.site.namespace_name(FILE_NS) or 'File'}:{name}")
            self._sinks[-1].images.append({"name": name, "url": url})

    def is_unlisted_namespace_line(self, nodes: Nodes, index: int) -> bool:
        """``[[Kategorie:X]]`` alone on its line, under a prefix the siteinfo does not know.

        A dump whose header lacks the wiki's namespace names or aliases (DBpedia's samples carry
        a copied enwiki header) would otherwise print its category and file lines as text. A
        bare one-word prefix glued to the title, on a line of its own, is never prose.
        """
        node = nodes[index]
        target = _plain(node[1]).strip()
        prefix, colon, rest = target.partition(":")
        if not colon or not rest or rest[0].isspace() or not prefix[:1].isalpha() or " " in prefix:
            return False
        if self.site.namespace_by_prefix(prefix) is not None:
            return False
        before = nodes[index - 1] if index else "\n"
        after = nodes[index + 1] if index + 1 < len(nodes) else "\n"
        starts_line = type(before) is str and before.rstrip(" \t").endswith("\n")
        starts_line = starts_line or (type(before) is tuple and before[0] == WIKILINK)
        ends_line = (type(after) is str and after.lstrip(" \t")[:1] in ("\n", "")) or (
            type(after) is tuple and after[0] == WIKILINK
        )
        return starts_line and ends_line

    def external_link(self, node: tuple) -> str:
        url = _plain(node[1]).strip()
        shown = url  # a bare URL shows itself; [url title] its title, [url] nothing
        if node[3]:
            shown = self.render(node[2]) if node[2] is not None else ""
        if self._sinks and url:
            self._sinks[-1].links.append({"text": _clean_inline(shown) or url, "url": url})
            self._sinks[-1].external.append(url)
        return shown

    def template(self, node: tuple, may_be_infobox: bool = False) -> str:
        """Render a template call; ``may_be_infobox``: a top-level call near the start of the page."""
        name = _plain(node[1]).strip()
        if not name or name.startswith("#"):
            return ""
        if ":" in name:
            prefix, rest = name.split(":", 1)
            namespace = self.site.namespace_by_prefix(prefix)
            function_name = prefix.strip().lower()
            if namespace is not None:
                if namespace.id != TEMPLATE_NS:
                    return ""
                name = rest.strip()
            elif function_name in _PARSER_FUNCTIONS:
                return _PARSER_FUNCTIONS[function_name](rest.strip())
            elif function_name in _SILENT_FUNCTIONS or prefix.upper() == prefix:
                return ""  # {{DEFAULTSORT:..}}, {{SORTIERUNG:..}}, {{int:..}}: no visible text
            # otherwise a template whose name has a colon: {{Картка:Країна}}
        if name in _PAGENAME_WORDS:
            return self.title
        if name in _MAGIC_VARIABLES:
            return ""
        resolved = self.normalize(name, TEMPLATE_NS)
        if resolved is None:
            return ""
        self.templates[resolved[1]] = None
        key = " ".join(name.replace("_", " ").split()).lower()
        params = node[2]
        if self.rules.is_infobox(key):
            self.infobox(resolved[1].split(":", 1)[-1], params)
            return "\n"
        if key in FOOTNOTE_TEMPLATES:
            self.footnote(name, params)
            return ""
        renderer = self.rules.renderer(key)
        if renderer is None:
            if may_be_infobox and _is_data_box(node):
                self.infobox(resolved[1].split(":", 1)[-1], params)
                return "\n"
            return ""
        return renderer(TemplateCall(name, params, self.render, _plain))

    # -- infoboxes ----------------------------------------------------------------------------
    def infobox(self, name: str, params: list) -> None:
        """An infobox entry: every non-empty parameter as clean text, links, images and wikitext."""
        entries = []
        position = 0
        for key, value in params:
            if key is None:
                position += 1
                label = str(position)
            else:
                label = _plain(key).strip()
            wikitext = to_wikitext(value).strip()
            if wikitext:
                entries.append(self.infobox_param(label, value, wikitext))
        self.infoboxes.append({"name": name, "params": entries})

    def infobox_param(self, name: str, value: Nodes, wikitext: str) -> dict[str, Any]:
        raw, sink = self.rendered_with_sink(value)
        if "{|" in raw and _TABLE_START.search(raw):
            # a table written with {{(!}}/{{!}}/{{!)}}: markup once the templates are rendered
            raw = self.render(parse_tree(raw))
        text = _clean_cell(raw)
        if ":" in text or _MEDIA_FILE.search(text):
            self._sinks.append(sink)
            text = "\n".join(filter(None, (self.bare_title(line) for line in text.split("\n"))))
            self._sinks.pop()
        if _IMAGE_SIZE.match(text):
            text = ""  # "image_size = 250px": an instruction to MediaWiki, kept in value_wikitext only
        return {
            "name": name,
            "value": text,
            "links": sink.links,
            "images": sink.images,
            "value_wikitext": wikitext,
        }

    def bare_title(self, line: str) -> str:
        """A value line naming a page without link brackets, as a link to it would read.

        ``Paris.jpg`` or ``File:Paris.jpg`` is an image (to ``images``, out of the value);
        ``Category:Berlin`` reads ``Berlin``, as ``[[:Category:Berlin]]`` does in ``text``.
        """
        prefix, colon, rest = line.partition(":")
        namespace = self.site.namespace_by_prefix(prefix) if colon and rest.strip() else None
        if namespace is not None and namespace.id == CATEGORY_NS:
            return rest.strip()
        is_file = namespace is not None and namespace.id in (FILE_NS, MEDIA_NS)
        if is_file or (namespace is None and _MEDIA_FILE.search(line) and _BARE_FILE_NAME.match(line)):
            before = len(self._sinks[-1].images)
            self.image(line)
            if len(self._sinks[-1].images) > before:
                return ""
        return line

    def infobox_table(self, contents: Nodes) -> None:
        """A hand-made box (a table of class ``infobox``): label/value rows become its params."""
        caption, rows = self.table_layout(contents)
        title = _clean_inline(self.render(caption)) if caption else ""
        params = []
        for cells in rows:
            if len(cells) == 2:
                label = _clean_inline(self.render(cells[0][3] or []))
                value = cells[1][3] or []
                wikitext = to_wikitext(value).strip()
                if label and wikitext:
                    params.append(self.infobox_param(label, value, wikitext))
                    continue
            texts = [_clean_cell(self.render(cell[3] or [])) for cell in cells]
            if not title and len(cells) == 1 and not params:
                title = texts[0]
        self.infoboxes.append({"name": title, "params": params})

    # -- tables -------------------------------------------------------------------------------
    def table(self, node: tuple) -> str:
        """A table entry (cells as clean text, spans expanded); leaves its marker in the text."""
        attrs, contents = node[2], node[3] or []
        if not self._open_tables and not self._sinks and _has_class(attrs, "infobox"):
            self.infobox_table(contents)
            return "\n"
        index = len(self.tables)
        parent = self._open_tables[-1] if self._open_tables else None
        entry: dict[str, Any] = {"section": self.section, "parent": parent}
        self.tables.append(entry)
        self._open_tables.append(index)
        caption, layout = self.table_layout(contents)
        rows: list[list[Cell]] = [[self.cell(cell) for cell in cells] for cells in layout]
        self._open_tables.pop()
        entry["caption"] = _clean_inline(self.render(caption)) if caption else ""
        entry["headers"], entry["rows"] = expand_grid(rows)
        # the tables added since this one began are the ones it holds
        if not any(table["rows"] or table["headers"] for table in self.tables[index:]):
            return "\n"  # no cell text (an image layout): no entry, nothing to place
        return f"\n{_TABLE_OPEN}{index}{_TABLE_END}\n"

    def table_layout(self, contents: Nodes) -> tuple[Nodes | None, list[list[tuple]]]:
        """The caption nodes and the rows of cell nodes of a table (wiki or HTML markup).

        Cells before the first row marker form a row of their own; ``<thead>``/``<tbody>``/
        ``<tfoot>`` are looked through. Anything else between rows (row templates, stray tags)
        is rendered for its links and references only, as MediaWiki would not show it in a cell.
        """
        caption: Nodes | None = None
        rows: list[list[tuple]] = []
        loose: list[tuple] | None = None
        for child in _table_children(contents):
            if type(child) is str:
                continue
            if child[0] == TAG:
                name = child[1]
                if name == "tr":
                    cells: list[tuple] = []
                    for item in child[3] or ():
                        if type(item) is str:
                            continue
                        if item[0] == TAG and item[1] in ("td", "th"):
                            if _is_caption(item):
                                caption = caption or _caption_nodes(item)
                            else:
                                cells.append(item)
                        else:
                            self.render([item])
                    rows.append(cells)
                    loose = None
                    continue
                if name in ("td", "th"):
                    if _is_caption(child):
                        caption = caption or _caption_nodes(child)
                        continue
                    if loose is None:
                        loose = []
                        rows.append(loose)
                    loose.append(child)
                    continue
                if name == "caption":
                    caption = caption or child[3] or []
                    continue
            self.render([child])
        return caption, rows

    def cell(self, node: tuple) -> Cell:
        rowspan = colspan = 1
        for key, value in node[2]:
            if key == "rowspan" and value is not None:
                rowspan = span(_plain(value))
            elif key == "colspan" and value is not None:
                colspan = span(_plain(value))
        return _clean_cell(self.render(node[3] or [])), node[1] == "th", rowspan, colspan

    # -- references ---------------------------------------------------------------------------
    def footnote(self, name: str, params: list) -> None:
        call = TemplateCall(name, params, self.render, _plain)
        sink = _Sink()
        self._sinks.append(sink)
        text = _clean_inline(call.arg(1))
        self._sinks.pop()
        if text:
            metadata = {k: to_wikitext(v).strip() for k, v in _raw_params(params).items()}
            source = sink.external[0] if sink.external else None
            self.add_reference(
                call.arg("name"), call.arg("group"), "note", text, source, sink, name, metadata
            )

    def tag(self, node: tuple) -> str:
        _, name, attrs, contents, markup = node
        if markup is not None and contents is None:
            return _LIST_MARKUP.get(markup, "\n")
        if name == "ref":
            if contents is not None:
                self.reference(attrs, contents)
            return ""
        if name == "table":
            return self.table(node)
        if name in _INVISIBLE_TAGS:
            if contents is not None:
                self.render(contents)  # keep their links, refs and categories
            return "\n"
        if contents is None:
            return "\n" if name in ("br", "hr") else ""
        text = self.render(contents)
        if name in _TEX_TAGS:
            # TeX groups ignore spaces: keep formulas readable without "{{" that looks like markup
            return text.replace("{{", "{ {").replace("}}", "} }")
        if name in _BLOCK_TAGS:
            return f"\n{text}\n"
        if name == "li":
            return f"\n{_BULLET} {text}"
        if name in ("dt", "dd", "tr"):
            return f"\n{text}\n"
        return text

    def reference(self, attrs: list, contents: Nodes) -> None:
        attr = {key: _plain(value).strip() for key, value in attrs if value is not None}
        name, group = attr.get("name") or None, attr.get("group") or None
        if name is not None:
            if (group, name) in self._named_references:
                return  # a second definition of the same named reference shows the first one
            self._named_references.add((group, name))
        template_name = None
        metadata: dict[str, str] = {}
        for child in contents:
            if type(child) is tuple and child[0] == TEMPLATE:
                template_name = _plain(child[1]).strip()
                metadata = {k: to_wikitext(v).strip() for k, v in _raw_params(child[2]).items()}
                break
        raw, sink = self.rendered_with_sink(contents)
        text = _clean_inline(raw)
        if not text and template_name is None:
            return
        source = _cited_url(metadata) or (sink.external[0] if sink.external else None)
        is_citation = (
            template_name is not None and self.rules.renderer(_template_key(template_name)) is citation
        )
        kind = "note" if group and not (is_citation or source) else "citation"
        self.add_reference(name, group, kind, text, source, sink, template_name, metadata)

    def add_reference(
        self,
        name: str | None,
        group: str | None,
        kind: str,
        text: str,
        source: str | None,
        sink: _Sink,
        template: str | None,
        metadata: dict[str, str],
    ) -> None:
        """One ``references`` entry; ``identifier`` is MediaWiki's anchor form ``cite_note-<name>-<n>``."""
        number = len(self.references) + 1
        anchor = "_".join(name.split()) if name else ""
        self.references.append(
            {
                "identifier": f"cite_note-{anchor}-{number}" if anchor else f"cite_note-{number}",
                "group": group or None,
                "type": kind,
                "text": text,
                "source": source,
                "links": sink.links,
                "template": template,
                "metadata": metadata,
            }
        )


def _raw_params(params: list) -> dict[str, Nodes]:
    out: dict[str, Nodes] = {}
    position = 0
    for key, value in params:
        if key is None:
            position += 1
            out[str(position)] = value
        else:
            out[_plain(key).strip()] = value
    return out


def _template_key(name: str) -> str:
    return " ".join(name.replace("_", " ").split()).lower()


def _cited_url(metadata: dict[str, str]) -> str | None:
    """The URL a citation template points to: a ``url``-like parameter first, else any URL value.

    Parameter names differ per wiki (``url``, ``URL``, ``ссылка``...); archive copies are skipped.
    """
    found = None
    for key, value in metadata.items():
        if not value.startswith(("http://", "https://", "//")) or "archiv" in key.lower():
            continue
        if "url" in key.lower():
            return value.split()[0]
        found = found or value.split()[0]
    return found


def _is_data_box(node: tuple) -> bool:
    """Whether a template call is laid out as a data box: named parameters, one per line, or many.

    That is how infoboxes are written in every language (``| population = ...`` lines); a call
    with twice as many named parameters counts whatever its layout (one-line infoboxes).
    """
    named = own_line = 0
    previous: Nodes = node[1]
    for key, value in node[2]:
        if key is not None:
            label = _plain(key).strip()
            if label and not label.isdigit():
                named += 1
                if _ends_line(previous) or _plain(key).lstrip(" \t").startswith("\n"):
                    own_line += 1
        previous = value
    return own_line >= _INFOBOX_MIN_PARAMS or named >= 2 * _INFOBOX_MIN_PARAMS


def _ends_line(nodes: Nodes) -> bool:
    last = nodes[-1] if nodes else ""
    return type(last) is str and last.rstrip(" \t").endswith("\n")


def _has_class(attrs: list, name: str) -> bool:
    for key, value in attrs:
        if key == "class" and value is not None:
            return name in _plain(value).lower().split()
    return False


def _table_children(contents: Nodes) -> Iterator[Node]:
    """Children of a table with ``<thead>``/``<tbody>``/``<tfoot>`` wrappers looked through."""
    for child in contents:
        if type(child) is tuple and child[0] == TAG and child[1] in ("thead", "tbody", "tfoot"):
            yield from _table_children(child[3] or [])
        else:
            yield child


def _is_caption(cell: tuple) -> bool:
    """``|+ caption``: mwparserfromhell reads it as a ``|`` cell whose text starts with ``+``."""
    contents = cell[3]
    return (
        cell[1] == "td"
        and cell[4] == "|"
        and bool(contents)
        and type(contents[0]) is str
        and contents[0].startswith("+")
    )


def _caption_nodes(cell: tuple) -> Nodes:
    contents = cell[3]
    return [contents[0][1:], *contents[1:]]


# -- text clean-up ------------------------------------------------------------------------------
def _fix_text(text: str) -> str:
    """Remove what dropped markup leaves behind: empty (), stray commas, double spaces.

    Works on a whole block at once (no pattern crosses a line break), which is much cheaper
    than a pass per line.
    """
    text = _DOUBLED_PUNCT.sub(r"\1", text)
    if "(" in text or "（" in text:
        text = _DANGLING_LABEL.sub("", text)
        text = _EMPTY_PARENS.sub("", text)
        text = _PUNCT_AFTER_OPEN.sub(r"\1", text)
        text = _PUNCT_BEFORE_CLOSE.sub(r"\1", text)
        text = _EMPTY_PARENS.sub("", text)
        text = _PARENS_SPACES.sub(lambda m: m.group(0).strip(" \t"), text)
    if "<" in text:
        text = _STRAY_HTML.sub("", text)
    if "[[" in text or "]]" in text or "{{" in text or "}}" in text:
        # broken markup MediaWiki itself would show raw (a link split over lines, an unclosed {{)
        text = _STRAY_BRACKETS.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _DOUBLED_PUNCT.sub(r"\1", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", text)
    return _TRAILING_SPACES.sub("", text)


def _clean_inline(text: str) -> str:
    """One-line clean text (references, headings, captions, cells, link texts)."""
    if not _NEEDS_FIXING.search(text):
        return " ".join(text.split())  # most cells and link texts: nothing below would change them
    if _TABLE_OPEN in text:
        text = _TABLE_MARK.sub(" ", text)
    text = _remove_markers(_BOLD_ITALIC.sub("", text))
    return _fix_text(" ".join(text.split())).strip()


def _clean_cell(raw: str) -> str:
    """Clean text of a table cell or an infobox value: one line, or lines for lists and breaks."""
    if _TABLE_OPEN in raw:
        raw = _TABLE_MARK.sub("\n", raw)  # a nested table: an entry of its own
    raw = raw.strip()
    if "\n" not in raw:
        return _clean_inline(raw)
    return _clean_block(raw).replace("\n\n", "\n")


def _remove_markers(text: str) -> str:
    """List markers left mid-line (``;term : definition``): a colon for ``:``, nothing else."""
    if _INDENT in text:
        text = text.replace(_INDENT, ": ")
    for marker in (_BULLET, _NUMBER, _TERM):
        if marker in text:
            text = text.replace(marker, "")
    return text


def _is_table_residue(line: str) -> bool:
    """A line of table markup the tokenizer left as text (e.g. a table after a ':' indent)."""
    return line.startswith(("{|", "|", "! ", "!!"))


def _clean_block(raw: str) -> str:
    """Raw rendered text of a section -> paragraphs and list lines (see module docstring)."""
    raw = _BOLD_ITALIC.sub("", raw)
    if "__" in raw:
        raw = BEHAVIOR_SWITCH.sub(_magic_word, raw)
    out: list[str] = []
    counters: list[int] = []
    table_depth = 0
    for line in raw.split("\n"):
        stripped = line.strip()
        opens_table = stripped.lstrip(_MARKER_CHARS + " ").startswith("{|")
        if table_depth or opens_table:
            # an unparsed table runs to its own "|}" (nested tables counted), or to "</table>",
            # which closes a "{|" table in MediaWiki too: none of it is prose, what follows is
            if opens_table:
                table_depth += 1
            elif _TABLE_CLOSE.match(stripped):
                table_depth -= 1
            continue
        if not stripped or _is_table_residue(stripped):
            if out and out[-1] != "":
                out.append("")
            counters.clear()
            continue
        if stripped[0] in _MARKER_CHARS:
            depth = 0
            kinds = []
            while stripped and (stripped[0] in _MARKER_CHARS or stripped[0] in " \t"):
                if stripped[0] in _MARKER_CHARS:
                    kinds.append(stripped[0])
                    depth += 1
                stripped = stripped[1:]
            content = stripped.strip()
            if not _VISIBLE.search(content):
                continue
            kind = kinds[-1]
            del counters[depth:]
            counters.extend([0] * (depth - len(counters)))
            indent = "  " * (depth - 1)
            if kind == _NUMBER:
                counters[depth - 1] += 1
                content = f"{indent}{counters[depth - 1]}. {content}"
            elif kind == _BULLET:
                content = f"{indent}- {content}"
            else:
                content = f"{indent}{content}"
            out.append(content)
            continue
        counters.clear()
        if _VISIBLE.search(stripped):
            out.append(stripped)
        elif out and out[-1] != "":
            out.append("")
    text = _fix_text(_remove_markers("\n".join(out)))
    return _BLANK_LINES.sub("\n\n", text).strip("\n")


# -- entry point --------------------------------------------------------------------------------
def extract_content(wikitext: str, site: SiteInfo, title: str = "") -> PageContent:
    """Parse ``wikitext`` once and return its clean text and structured fields.

    ``site`` supplies namespace names/aliases (File, Category, Template prefixes in the wiki's
    language) and the language whose rendering table applies; ``title`` feeds ``{{PAGENAME}}``.
    """
    walker = _Walker(site, title)
    segments: list[tuple[str, int, list[str]]] = [("", 0, [])]
    current = segments[0][2]
    render = walker.render
    if "{|" in wikitext:
        # a table opened after a ":" indent is a table to MediaWiki, but not to the tokenizer
        wikitext = _INDENTED_TABLE.sub("\\1\n{|", wikitext)
    nodes = parse_tree(wikitext)
    prose_before = 0  # characters of lead text so far: infoboxes come before the prose
    for index, node in enumerate(nodes):
        if type(node) is str:
            current.append(node)
            if len(segments) == 1:
                prose_before += len(node.strip())
        elif node[0] == HEADING:
            name = _clean_inline(render(node[2]))
            segments.append((name, node[1], []))
            current = segments[-1][2]
            walker.section = name
        elif node[0] == TEMPLATE:
            near_start = len(segments) == 1 and prose_before <= _INFOBOX_MAX_PROSE_BEFORE
            current.append(walker.template(node, may_be_infobox=near_start))
        elif node[0] == WIKILINK and walker.is_unlisted_namespace_line(nodes, index):
            continue
        else:
            current.append(render([node]))
    sections = [
        {"name": name, "level": level, "text": _clean_block("".join(parts))}
        for name, level, parts in segments
    ]
    # A section holding only a table keeps its heading in ``text``: the table stands under it.
    keep = _headings_with_content(sections)
    blocks: list[str] = []
    offsets: dict[int, int] = {}  # table index -> offset in ``text``
    position = 0  # length of "\n\n".join(blocks)
    for index, (section, kept) in enumerate(zip(sections, keep, strict=True)):
        section["text"], local = _take_table_markers(section["text"])
        if index and not kept:
            continue
        heading = f"{section['name']}\n" if index else ""
        block = heading + section["text"] if section["text"] or not index else section["name"]
        start = position + 2 if blocks else 0
        for table, offset in local.items():
            offsets[table] = start + len(heading) + offset
        if block:
            blocks.append(block)
            position = start + len(block)
    text = "\n\n".join(blocks)
    abstract = sections[0]["text"]
    return PageContent(
        text=text,
        abstract=abstract,
        sections=sections if abstract else sections[1:],
        tables=_finish_tables(walker.tables, {t: min(o, len(text)) for t, o in offsets.items()}),
        infoboxes=walker.infoboxes,
        references=walker.references,
        categories=list(walker.categories),
        templates=list(walker.templates),
        links=list(walker.links),
    )


def _take_table_markers(text: str) -> tuple[str, dict[int, int]]:
    """Remove the tables' markers from ``text``; return it and each table's offset in it.

    A table's offset is the start of the line that follows it (or the end of the text), so
    paragraphs stay separated by one blank line once the marker lines are gone.
    """
    if _TABLE_OPEN not in text:
        return text, {}
    lines: list[str] = []
    anchors: dict[int, int] = {}  # table index -> index in ``lines`` of the line after it
    for line in text.split("\n"):
        if _TABLE_OPEN in line:
            for match in _TABLE_MARK.finditer(line):
                anchors[int(match.group(1))] = len(lines)
            line = _TABLE_MARK.sub("", line)
            if not line.strip():
                continue
        lines.append(line)
    kept: list[str] = []
    starts: list[int] = []  # per line of ``lines``: offset of the first kept non-blank line from it
    position = 0
    for line in lines:
        if line.strip() or (kept and kept[-1].strip()):
            kept.append(line)
            starts.append(position)
            position += len(line) + 1
        else:
            starts.append(-1)  # a blank line next to another one (or leading): dropped
    while kept and not kept[-1].strip():
        kept.pop()
    out = "\n".join(kept)
    nearest = len(out)
    following = [0] * (len(lines) + 1)
    following[len(lines)] = len(out)
    for i in range(len(lines) - 1, -1, -1):
        if lines[i].strip() and starts[i] >= 0:
            nearest = starts[i]
        following[i] = nearest
    return out, {table: following[line] for table, line in anchors.items()}


def _finish_tables(tables: list[dict[str, Any]], offsets: dict[int, int]) -> list[dict[str, Any]]:
    """The record's ``tables``: empty ones dropped, identifiers numbered, nesting and offsets resolved.

    A table left empty (a layout table holding only other tables or images) is dropped; a table it
    held takes its place: the nearest kept table around it as parent, or its text offset.
    """
    kept = [i for i, table in enumerate(tables) if table["rows"] or table["headers"]]
    identifiers = {index: f"table-{number}" for number, index in enumerate(kept, 1)}
    out = []
    for index in kept:
        table = tables[index]
        outer = table["parent"]
        while outer is not None and outer not in identifiers:
            outer = tables[outer]["parent"]
        top = index
        while tables[top]["parent"] is not None:
            top = tables[top]["parent"]
        out.append(
            {
                "identifier": identifiers[index],
                "section": table["section"],
                "caption": table["caption"] or None,
                "headers": table["headers"],
                "rows": table["rows"],
                "parent_identifier": identifiers.get(outer) if outer is not None else None,
                "text_offset": offsets.get(top) if outer is None else None,
            }
        )
    return out


def _headings_with_content(sections: list[dict[str, Any]]) -> list[bool]:
    """Whether each section (or one of its subsections) has text: empty headings leave ``text``."""
    keep = [False] * len(sections)
    for i in range(len(sections) - 1, -1, -1):
        if sections[i]["text"]:
            keep[i] = True
            continue
        level = sections[i]["level"]
        for j in range(i + 1, len(sections)):
            if sections[j]["level"] <= level:
                break
            if keep[j]:
                keep[i] = True
                break
    return keep
