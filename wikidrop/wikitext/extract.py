"""One page's wikitext -> clean text plus structured fields, in a single parse and a single walk.

Decisions (documented for partners):

- ``text``: section headings on their own line, paragraphs separated by a blank line, list items
  one per line: ``- item`` for ``*`` lists, ``1. item`` for ``#`` lists (numbered per list),
  nested items indented by two spaces per level, ``;`` terms and ``:`` indents as plain lines.
  Headings of sections left empty after cleaning (e.g. "References") are not repeated in ``text``.
- Tables (wiki ``{| |}`` and HTML) are data, not prose: dropped from ``text``; their links,
  references and categories are still collected.
- ``sections``: the lead as ``{"name": "", "level": 0}`` when it has text, then every heading in
  order with its own text (subsections are separate entries).
- ``references``: every ``<ref>`` with content (reuses ``<ref name=x/>`` are not repeated) and
  footnote templates (``{{efn}}``...). ``text`` is the rendered citation.
- ``infoboxes``: template name + raw wikitext params (comments removed, entities decoded).
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
from dataclasses import dataclass, field
from typing import Any

from wikidrop.dumps.siteinfo import BEHAVIOR_SWITCH, CATEGORY_NS, FILE_NS, MEDIA_NS, TEMPLATE_NS, SiteInfo
from wikidrop.dumps.titles import normalize_title
from wikidrop.wikitext.render_rules import FOOTNOTE_TEMPLATES, TemplateCall, rules_for
from wikidrop.wikitext.tree import (
    ARGUMENT,
    EXTLINK,
    HEADING,
    TAG,
    TEMPLATE,
    WIKILINK,
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
    infoboxes: list[dict] = field(default_factory=list)
    references: list[dict] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)


# List markers survive the walk as private-use characters and become "- "/"1. " at the end.
_BULLET, _NUMBER, _INDENT, _TERM = "\ue000", "\ue001", "\ue002", "\ue003"
_LIST_MARKUP = {"*": _BULLET, "#": _NUMBER, ":": _INDENT, ";": _TERM}
_MARKER_CHARS = _BULLET + _NUMBER + _INDENT + _TERM

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
_VISIBLE = re.compile(r"[^\W_]")  # a line worth keeping shows at least a letter or digit
_PIPE_TRICK = re.compile(r"\s*(?:\([^()]*\)|（[^（）]*）)$")


def _plain(nodes: Nodes) -> str:
    """The literal text of a name/key (markup inside names is ignored)."""
    return "".join(node for node in nodes if type(node) is str)


def _magic_word(match: re.Match[str]) -> str:
    word = match.group(1)
    return "" if word.upper() == word else match.group(0)


class _Walker:
    """Renders nodes to raw text while collecting links, categories, templates, refs, infoboxes."""

    def __init__(self, site: SiteInfo, title: str) -> None:
        self.site = site
        self.title = title
        self.rules = rules_for(site.language)
        self.categories: dict[str, None] = {}
        self.templates: dict[str, None] = {}
        self.links: dict[str, None] = {}
        self.references: list[dict] = []
        self.infoboxes: list[dict] = []
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
                    return ""
                if namespace.id == CATEGORY_NS and not colon:
                    resolved = self.normalize(core)
                    if resolved is not None:
                        self.categories[resolved[1]] = None
                    return ""
            elif not colon and _MEDIA_FILE.search(core):
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
            return core.split(":", 1)[1] if colon and resolved and resolved[0] else core
        text = self.render(node[2])
        if not text.strip():  # pipe trick [[Paris (France)|]] -> "Paris"
            shown = core.split(":", 1)[1] if resolved and resolved[0] else core
            return _PIPE_TRICK.sub("", shown)
        return text

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
        if not node[3]:
            return _plain(node[1])
        return self.render(node[2]) if node[2] is not None else ""

    def template(self, node: tuple) -> str:
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
            return ""
        return renderer(TemplateCall(name, params, self.render, _plain))

    def infobox(self, name: str, params: list) -> None:
        values: dict[str, str] = {}
        position = 0
        for key, value in params:
            if key is None:
                position += 1
                label = str(position)
            else:
                label = _plain(key).strip()
            values[label] = to_wikitext(value).strip()
            self.render(value)  # collect references and links inside the infobox
        self.infoboxes.append({"name": name, "params": values})

    def footnote(self, name: str, params: list) -> None:
        call = TemplateCall(name, params, self.render, _plain)
        text = _clean_inline(call.arg(1))
        if text:
            self.references.append(
                {
                    "name": call.arg("name") or None,
                    "group": call.arg("group") or None,
                    "text": text,
                    "template": name,
                    "params": {k: to_wikitext(v).strip() for k, v in _raw_params(params).items()},
                }
            )

    def tag(self, node: tuple) -> str:
        _, name, attrs, contents, markup = node
        if markup is not None and contents is None:
            return _LIST_MARKUP.get(markup, "\n")
        if name == "ref":
            if contents is not None:
                self.reference(attrs, contents)
            return ""
        if name == "table" or name in _INVISIBLE_TAGS:
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
        template_name = None
        params: dict[str, str] = {}
        for child in contents:
            if type(child) is tuple and child[0] == TEMPLATE:
                template_name = _plain(child[1]).strip()
                params = {k: to_wikitext(v).strip() for k, v in _raw_params(child[2]).items()}
                break
        text = _clean_inline(self.render(contents))
        if not text and template_name is None:
            return
        self.references.append(
            {
                "name": attr.get("name") or None,
                "group": attr.get("group") or None,
                "text": text,
                "template": template_name,
                "params": params,
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
    """One-line clean text (references, headings)."""
    text = _remove_markers(_BOLD_ITALIC.sub("", text))
    return _fix_text(" ".join(text.split())).strip()


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
    nodes = parse_tree(wikitext)
    for index, node in enumerate(nodes):
        if type(node) is str:
            current.append(node)
        elif node[0] == HEADING:
            name = _clean_inline(render(node[2]))
            segments.append((name, node[1], []))
            current = segments[-1][2]
        elif node[0] == WIKILINK and walker.is_unlisted_namespace_line(nodes, index):
            continue
        else:
            current.append(render([node]))
    sections = [
        {"name": name, "level": level, "text": _clean_block("".join(parts))}
        for name, level, parts in segments
    ]
    abstract = sections[0]["text"]
    blocks = [abstract] if abstract else []
    keep = _headings_with_content(sections)
    for section, kept in zip(sections[1:], keep[1:], strict=True):
        if kept:
            blocks.append(f"{section['name']}\n{section['text']}" if section["text"] else section["name"])
    return PageContent(
        text="\n\n".join(blocks),
        abstract=abstract,
        sections=sections if abstract else sections[1:],
        infoboxes=walker.infoboxes,
        references=walker.references,
        categories=list(walker.categories),
        templates=list(walker.templates),
        links=list(walker.links),
    )


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
