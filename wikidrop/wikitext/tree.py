"""A light node tree built straight from mwparserfromhell's token stream.

mwparserfromhell's C tokenizer is fast; most of ``mwparserfromhell.parse`` time is its Python
builder creating Wikicode/SmartList/Parameter objects we never need. Building plain tuples from
the same tokens is about twice as fast and gives the extractor everything it walks: one tokenize,
one build, one walk per page.

Nodes are ``str`` (text, entities already decoded; comments are dropped) or tuples tagged by
their first item:

- ``(TEMPLATE, name_nodes, [(key_nodes | None, value_nodes), ...])``
- ``(WIKILINK, title_nodes, text_nodes | None)``
- ``(EXTLINK, url_nodes, title_nodes | None, brackets)``
- ``(HEADING, level, title_nodes)``
- ``(TAG, name, attrs, contents | None, wiki_markup | None)`` with ``attrs`` a list of
  ``(name, value_nodes | None)``
- ``(ARGUMENT, name_nodes, default_nodes | None)``
"""

from __future__ import annotations

import html

from mwparserfromhell.parser import tokens as tk
from mwparserfromhell.parser import use_c

if use_c:
    from mwparserfromhell.parser._tokenizer import CTokenizer as _Tokenizer
else:  # pragma: no cover - the wheels ship the C tokenizer
    from mwparserfromhell.parser.tokenizer import Tokenizer as _Tokenizer

TEMPLATE, WIKILINK, EXTLINK, HEADING, TAG, ARGUMENT = range(1, 7)

Node = str | tuple
Nodes = list

_T_TEXT = tk.Text
_STOP_TEMPLATE_NAME = frozenset([tk.TemplateParamSeparator, tk.TemplateClose])
_STOP_PARAM = frozenset([tk.TemplateParamEquals, tk.TemplateParamSeparator, tk.TemplateClose])
_STOP_PARAM_VALUE = _STOP_TEMPLATE_NAME
_STOP_ARG = frozenset([tk.ArgumentSeparator, tk.ArgumentClose])
_STOP_LINK = frozenset([tk.WikilinkSeparator, tk.WikilinkClose])
_STOP_EXT = frozenset([tk.ExternalLinkSeparator, tk.ExternalLinkClose])
_STOP_HEADING = frozenset([tk.HeadingEnd])
_STOP_COMMENT = frozenset([tk.CommentEnd])
_STOP_TAG_NAME = frozenset([tk.TagAttrStart, tk.TagCloseOpen, tk.TagCloseSelfclose])
_STOP_ATTR = frozenset(
    [tk.TagAttrEquals, tk.TagAttrQuote, tk.TagAttrStart, tk.TagCloseOpen, tk.TagCloseSelfclose]
)
_STOP_TAG_BODY = frozenset([tk.TagOpenClose])
_STOP_TAG_CLOSE = frozenset([tk.TagCloseClose])
_NO_STOP: frozenset = frozenset()


class _Builder:
    """Consumes a reversed token list (pop from the end is O(1)) into nested node lists."""

    __slots__ = ("tokens",)

    def __init__(self, tokens: list) -> None:
        tokens.reverse()
        self.tokens = tokens

    def seq(self, stops: frozenset) -> tuple[Nodes, object]:
        """Nodes up to the first token whose type is in ``stops``; returns them and that token."""
        nodes: Nodes = []
        pop = self.tokens.pop
        append = nodes.append
        while self.tokens:
            token = pop()
            kind = type(token)
            if kind is _T_TEXT:
                append(token["text"])
            elif kind in stops:
                return nodes, token
            elif kind is tk.TemplateOpen:
                append(self.template())
            elif kind is tk.WikilinkOpen:
                append(self.wikilink())
            elif kind is tk.TagOpenOpen:
                append(self.tag(token))
            elif kind is tk.HTMLEntityStart:
                append(self.entity())
            elif kind is tk.CommentStart:
                self.seq(_STOP_COMMENT)
            elif kind is tk.ExternalLinkOpen:
                append(self.external_link(token))
            elif kind is tk.HeadingStart:
                title, _ = self.seq(_STOP_HEADING)
                append((HEADING, token["level"], title))
            elif kind is tk.ArgumentOpen:
                append(self.argument())
            # any other token is a stray separator: the tokenizer never emits one here
        return nodes, None

    def template(self) -> tuple:
        name, stop = self.seq(_STOP_TEMPLATE_NAME)
        params = []
        while stop is not None and type(stop) is tk.TemplateParamSeparator:
            value, stop = self.seq(_STOP_PARAM)
            key = None
            if type(stop) is tk.TemplateParamEquals:
                key = value
                value, stop = self.seq(_STOP_PARAM_VALUE)
            params.append((key, value))
        return (TEMPLATE, name, params)

    def wikilink(self) -> tuple:
        title, stop = self.seq(_STOP_LINK)
        text = None
        if stop is not None and type(stop) is tk.WikilinkSeparator:
            text, _ = self.seq(_STOP_LINK)
        return (WIKILINK, title, text)

    def external_link(self, opener: object) -> tuple:
        url, stop = self.seq(_STOP_EXT)
        title = None
        if stop is not None and type(stop) is tk.ExternalLinkSeparator:
            title, _ = self.seq(_STOP_EXT)
        return (EXTLINK, url, title, bool(opener.get("brackets")))

    def argument(self) -> tuple:
        name, stop = self.seq(_STOP_ARG)
        default = None
        if stop is not None and type(stop) is tk.ArgumentSeparator:
            default, _ = self.seq(_STOP_ARG)
        return (ARGUMENT, name, default)

    def entity(self) -> str:
        pop = self.tokens.pop
        token = pop()
        if type(token) is tk.HTMLEntityNumeric:
            token = pop()
            value = int(pop()["text"], 16) if type(token) is tk.HTMLEntityHex else int(token["text"])
            pop()  # HTMLEntityEnd
            try:
                return chr(value)
            except (ValueError, OverflowError):
                return ""
        pop()  # HTMLEntityEnd
        return html.unescape(f"&{token['text']};")

    def tag(self, opener: object) -> tuple:
        name_nodes, stop = self.seq(_STOP_TAG_NAME)
        attrs = []
        while stop is not None and type(stop) is tk.TagAttrStart:
            attr_name, stop = self.seq(_STOP_ATTR)
            value = None
            if stop is not None and type(stop) is tk.TagAttrEquals:
                value, stop = self.seq(_STOP_ATTR)
                while stop is not None and type(stop) is tk.TagAttrQuote:
                    more, stop = self.seq(_STOP_ATTR)
                    value.extend(more)
            attrs.append((_plain(attr_name).strip().lower(), value))
        name = _plain(name_nodes).strip().lower()
        contents = None
        if stop is not None and type(stop) is tk.TagCloseOpen:
            contents, _ = self.seq(_STOP_TAG_BODY)
            self.seq(_STOP_TAG_CLOSE)
        return (TAG, name, attrs, contents, opener.get("wiki_markup"))


def _plain(nodes: Nodes) -> str:
    return "".join(n for n in nodes if type(n) is str)


_tokenizer = _Tokenizer()


def parse_tree(wikitext: str) -> Nodes:
    """Tokenize ``wikitext`` once (bold/italic left as text) and build the light node tree."""
    tokens = _tokenizer.tokenize(wikitext, 0, True)
    nodes, _ = _Builder(tokens).seq(_NO_STOP)
    return nodes


def to_wikitext(nodes: Nodes) -> str:
    """Serialise nodes back to wikitext (comments dropped, entities decoded): raw infobox values."""
    out: list[str] = []
    for node in nodes:
        if type(node) is str:
            out.append(node)
            continue
        kind = node[0]
        if kind == TEMPLATE:
            out.append("{{" + to_wikitext(node[1]))
            for key, value in node[2]:
                out.append("|")
                if key is not None:
                    out.append(to_wikitext(key) + "=")
                out.append(to_wikitext(value))
            out.append("}}")
        elif kind == WIKILINK:
            out.append("[[" + to_wikitext(node[1]))
            if node[2] is not None:
                out.append("|" + to_wikitext(node[2]))
            out.append("]]")
        elif kind == EXTLINK:
            url = to_wikitext(node[1])
            title = "" if node[2] is None else " " + to_wikitext(node[2])
            out.append(f"[{url}{title}]" if node[3] else url + title)
        elif kind == HEADING:
            marks = "=" * node[1]
            out.append(f"{marks}{to_wikitext(node[2])}{marks}")
        elif kind == TAG:
            out.append(_tag_wikitext(node))
        elif kind == ARGUMENT:
            default = "" if node[2] is None else "|" + to_wikitext(node[2])
            out.append("{{{" + to_wikitext(node[1]) + default + "}}}")
    return "".join(out)


def _tag_wikitext(node: tuple) -> str:
    _, name, attrs, contents, markup = node
    if markup and contents is None:
        return markup
    attr_text = "".join(
        f" {key}" if value is None else f' {key}="{to_wikitext(value)}"' for key, value in attrs
    )
    if contents is None:
        return f"<{name}{attr_text} />"
    return f"<{name}{attr_text}>{to_wikitext(contents)}</{name}>"
