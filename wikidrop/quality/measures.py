"""Text quality measures shared by the quality report and validation (Great Expectations).

Questions about an article's clean ``text``: is markup left in it (``leftover_markup``, and its
rate ``residue_per_10k``), did removed templates leave holes ("At , Alabama has", "()")
(``holes``), did the list items of the source survive (``list_items_kept``), how much of the page's
wikitext is its own prose (``prose_wikitext_bytes``, which tells a stub) and is it written in the
edition's scripts (``script_share``), and how many of the words a reader sees a record keeps
(``content_words``/``words_kept``). Pure functions, cheap enough to run on every record.
"""

from __future__ import annotations

import html
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from functools import lru_cache

from wikidrop.dumps.siteinfo import BEHAVIOR_SWITCH, CATEGORY_NS, FILE_NS, MEDIA_NS, SiteInfo

# -- leftover markup ------------------------------------------------------------------------------
_LINK_BRACKETS = re.compile(r"\[\[|\]\]")
_TEMPLATE_BRACKETS = re.compile(r"\{\{|\}\}")
_TABLE_SYNTAX = re.compile(r"(?m)^[ \t]*(?:\{\||\|\}|\|-|\|\+)|\|\|")
# Image options as they leak from [[File:x.jpg|thumb|200px|caption]]; the size form is universal,
# the keywords are MediaWiki's English ones plus their common translations. (Two patterns: their
# matches cannot overlap, and each is skipped when the text lacks what it needs.)
_IMAGE_SIZE = re.compile(r"\b\d+(?:x\d+)?px\b", re.IGNORECASE)
_IMAGE_KEYWORD = re.compile(
    r"(?:^|\|)\s*(?:thumb|thumbnail|frameless|framed|frame|upright|miniatur|"
    r"mini|vignette|miniatura|мини|міні|サムネイル|縮略圖|缩略图)\s*(?=\|)",
    re.IGNORECASE | re.MULTILINE,
)
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>\n]{0,200})?/?>")
# An HTML attribute is found from its '="' (a pattern that starts with a literal is fast to
# search), then its name is looked for right before it.
_ATTRIBUTE_VALUE = re.compile(r"=\s*[\"']")
_ATTRIBUTE_NAME = re.compile(
    r"\b(?:style|class|align|valign|colspan|rowspan|bgcolor|cellpadding|cellspacing|width)\Z"
)
_ATTRIBUTE_NAME_CHARS = len("cellpadding")
_COLON = re.compile(":")  # where a namespace prefix ("File:", "Catégorie:") is looked for
_ENTITY = re.compile(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")

LEFTOVER_CATEGORIES = (
    "link_brackets",
    "template_brackets",
    "table_syntax",
    "image_params",
    "ns_prefixes",
    "html_tags",
    "magic_words",
    "entities",
)


@lru_cache(maxsize=64)
def _prefix_pattern(names: tuple[str, ...]) -> tuple[re.Pattern[str], int] | None:
    """A regex for one of ``names`` (any case, spaces or underscores) ending where a search ends,
    and the longest such name, in characters."""
    if not names:
        return None
    alternatives = "|".join(sorted((re.escape(n).replace(" ", "[ _]") for n in names), key=len, reverse=True))
    # not after "/": ".../wiki/File:X.svg" is a URL path, not a link left in the text
    return re.compile(rf"(?<![\w/])(?:{alternatives})\Z", re.IGNORECASE), max(map(len, names))


def _count_ending_before(
    text: str, anchors: re.Pattern[str], name: re.Pattern[str], name_chars: int, *, text_after: bool = False
) -> int:
    """How many ``anchors`` matches have a ``name`` match right before them (whitespace between
    allowed); with ``text_after``, only those followed by a non-space character.

    What ``name\\s*anchor`` counts, searched from the anchor: most characters of a text cannot
    start a name, and a regex that starts with an alternation of names tries each at every one.
    """
    count = 0
    for anchor in anchors.finditer(text):
        start, end = anchor.span()
        if text_after and (end >= len(text) or text[end].isspace()):
            continue
        while start and text[start - 1].isspace():
            start -= 1
        count += name.search(text, max(0, start - name_chars), start) is not None
    return count


def _count_magic_words(text: str) -> int:
    if "__" not in text:
        return 0
    return sum(1 for m in BEHAVIOR_SWITCH.finditer(text) if m.group(1).upper() == m.group(1))


def leftover_markup(text: str, site: SiteInfo) -> dict[str, int]:
    """Hits of wiki/HTML markup left in clean text, per category of ``LEFTOVER_CATEGORIES``."""
    # File:/Category:/Media: in every name the wiki accepts (from its siteinfo, never a list here)
    prefixes = _prefix_pattern(
        tuple(n for ns in (FILE_NS, CATEGORY_NS, MEDIA_NS) for n in site.names_for(ns))
    )
    return {
        "link_brackets": len(_LINK_BRACKETS.findall(text)) if "[" in text else 0,
        "template_brackets": len(_TEMPLATE_BRACKETS.findall(text)) if "{" in text or "}" in text else 0,
        "table_syntax": len(_TABLE_SYNTAX.findall(text)) if "|" in text else 0,
        "image_params": (len(_IMAGE_SIZE.findall(text)) if "px" in text.lower() else 0)
        + (len(_IMAGE_KEYWORD.findall(text)) if "|" in text else 0),
        "ns_prefixes": _count_ending_before(text, _COLON, *prefixes, text_after=True)
        if prefixes is not None and ":" in text
        else 0,
        "html_tags": (len(_HTML_TAG.findall(text)) if "<" in text else 0)
        + (
            _count_ending_before(text, _ATTRIBUTE_VALUE, _ATTRIBUTE_NAME, _ATTRIBUTE_NAME_CHARS)
            if "=" in text
            else 0
        ),
        "magic_words": _count_magic_words(text),
        "entities": len(_ENTITY.findall(text)) if "&" in text else 0,
    }


# -- holes ----------------------------------------------------------------------------------------
# Function words that never end a clause: followed by punctuation they mark a removed value
# ("at , Alabama", "der , "). Only languages whose words we are sure of; others count parentheses.
FUNCTION_WORDS: dict[str, tuple[str, ...]] = {
    "en": ("the", "an", "of", "at", "from", "between", "near", "with", "in", "by"),
    "simple": ("the", "an", "of", "at", "from", "between", "near", "with", "in", "by"),
    "fr": ("le", "la", "les", "des", "du", "au", "aux", "à", "un", "une", "de"),
    # German: no separable particles (ein, aus, bei) nor relative pronouns (das, die, der)
    "de": ("dem", "des", "einem", "einer", "eines", "vom", "zum", "zur", "im"),
    "es": ("el", "los", "las", "del", "al", "un", "una", "de"),
    "it": ("il", "lo", "gli", "di", "del", "della", "dei", "nel", "nella", "un", "una"),
    "pt": ("os", "do", "da", "dos", "das", "em", "no", "na", "um", "uma", "de"),
    "nl": ("het", "een", "de"),  # not "van": Dutch strands it legitimately ("(de erfenis van)")
    "ru": ("в", "на", "с", "к", "из", "от", "до", "для", "при", "со"),
    "uk": ("в", "у", "на", "з", "із", "до", "від", "для", "при"),
    "pl": ("na", "do", "od", "dla", "przez"),  # not "w": "V w." abbreviates "wiek"
}  # fmt: skip
_EMPTY_BRACKETS = re.compile(
    r"[(（\[]\s*(?:[,;:、，；/–—-]\s*)*[)）\]]|[(（]\s*[,;、，；]|[,;、，；]\s*[)）]"
)


@lru_cache(maxsize=64)
def _function_word_pattern(language: str) -> re.Pattern[str] | None:
    words = FUNCTION_WORDS.get(language.split("-")[0].lower())
    if not words:
        return None
    # Case-sensitive so that initials ("В. І. Вернадський") are not prepositions; a capital is
    # allowed for longer words ("At , Alabama"). "18 cm (7.1 in)" is a unit, not a word.
    forms = [*words, *(w.capitalize() for w in words if len(w) > 1)]
    return re.compile(rf"(?<!\d )(?<!\w)(?:{'|'.join(map(re.escape, forms))})[ \t]*[,.;:)]")


def holes(text: str, language: str) -> int:
    """Places where removed content left a gap: function word + punctuation, empty brackets."""
    count = len(_EMPTY_BRACKETS.findall(text))
    pattern = _function_word_pattern(language)
    if pattern is not None:
        count += len(pattern.findall(text))
    return count


# -- list items -----------------------------------------------------------------------------------
_REF = re.compile(r"<ref[^>/]*/>|<ref[^>]*>.*?</ref>", re.IGNORECASE | re.DOTALL)
_INNER_TEMPLATE = re.compile(r"\{\{[^{}]*\}\}")
_FILE_OR_CATEGORY = re.compile(r"\[\[[^\[\]|:]+:[^\[\]]*\]\]")
_COLON_LINK = re.compile(r"\[\[:[^\[\]|:]+:([^\[\]|]*)\]\]")
_EXTERNAL_LINK = re.compile(r"\[(?:https?:)?//[^\s\]]*\s*([^\]]*)\]")
_URL = re.compile(r"https?://\S+")
_PIPED_LINK = re.compile(r"\[\[(?:[^\[\]|]*\|)?([^\[\]]*)\]\]")
_TAGS = re.compile(r"<[^<>]{0,200}>")
_WORD = re.compile(r"\w+")
_ITEM_WINDOW = 30  # tokens within which an item's first words must be found


def _without_comments(wikitext: str) -> str:
    """Drop ``<!-- -->`` comments with a linear scan (no backtracking on unclosed ones)."""
    parts = []
    position = 0
    while True:
        start = wikitext.find("<!--", position)
        if start < 0:
            parts.append(wikitext[position:])
            return "".join(parts)
        parts.append(wikitext[position:start])
        end = wikitext.find("-->", start + 4)
        if end < 0:
            return "".join(parts)
        position = end + 3


def _item_words(line: str) -> list[str]:
    """The first words a reader sees in a list item's wikitext (templates and files ignored)."""
    line = _REF.sub("", line.lstrip("*#:; "))
    for _ in range(4):
        if "{{" not in line:
            break
        line = _INNER_TEMPLATE.sub("", line)
    line = _COLON_LINK.sub(r"\1", line)
    line = _FILE_OR_CATEGORY.sub("", line)
    line = _EXTERNAL_LINK.sub(r"\1", line)
    line = _URL.sub("", line)
    line = _PIPED_LINK.sub(r"\1", line)
    line = html.unescape(_TAGS.sub("", line).replace("'''", "").replace("''", ""))
    return _WORD.findall(line.lower())[:4]


def list_items_kept(wikitext: str, text: str) -> tuple[int, int]:
    """(list items in the page body, how many of them appear in ``text``).

    Counts ``*``/``#`` lines outside templates and tables (navbox and table content is not
    body text) that show at least one word; an item is found when its first words appear in
    order in ``text``.
    """
    template_depth = table_depth = 0
    items: list[list[str]] = []
    item: list[str] = []  # lines of the current item while a template it opened is still open
    for line in _without_comments(wikitext).split("\n"):
        stripped = line.lstrip()
        if item:
            item.append(line)
        elif stripped.startswith("{|"):
            table_depth += 1
        elif stripped.startswith("|}") and table_depth:
            table_depth -= 1
        elif not template_depth and not table_depth and line[:1] in ("*", "#"):
            item = [line]
        if "{{" in line or "}}" in line:
            template_depth = max(0, template_depth + line.count("{{") - line.count("}}"))
        if item and not template_depth:
            words = _item_words(" ".join(item))
            if words:
                items.append(words)
            item = []
    if not items:
        return 0, 0
    tokens = _WORD.findall(text.lower())
    positions: dict[str, list[int]] = {}
    for index, token in enumerate(tokens):
        positions.setdefault(token, []).append(index)
    found = sum(1 for words in items if _appears_in_order(words, tokens, positions))
    return len(items), found


def _appears_in_order(words: list[str], tokens: list[str], positions: dict[str, list[int]]) -> bool:
    """Whether ``words`` occur in order within a short window of ``tokens`` (rendered templates
    may add words between them, e.g. a transliteration)."""
    for start in positions.get(words[0], ()):
        index = start
        for word in words[1:]:
            window = tokens[index + 1 : start + _ITEM_WINDOW]
            if word not in window:
                break
            index += 1 + window.index(word)
        else:
            return True
    return False


# -- prose-bearing wikitext -----------------------------------------------------------------------
# What is not the page's own prose: tables (wiki "{| |}", which "</table>" also closes, and HTML),
# gallery-like blocks, comments, file, category and interlanguage links, and template calls.
# Every token starts with one of "\n<[]{}", so the regex engine skips to those characters: a line
# start is matched as the newline before it (the scan puts one before the text's first line).
_NON_PROSE_SCAN = re.compile(
    r"\n[ \t:]*\{\||\n[ \t]*\|\}(?!\})|<table\b[^<>]*>|</table\s*>|<(?:gallery|imagemap|timeline)\b"
    r"|\[\[|\]\]|\{\{|\}\}",
    re.IGNORECASE,
)
# Most of a page's markup is links and template calls with nothing nested in them (no brackets,
# braces or tags inside, no namespace colon in a link target). Before the scan, such a link's
# brackets become NULs (same bytes, no token: a plain link is prose) and such a call becomes one
# SOH (not prose, counted as no byte), so the scan's loop sees a tenth of the tokens. Export XML
# cannot hold either control character, so neither can be in the wikitext.
_PLAIN_LINK = re.compile(r"\[\[([^\[\]{}<|\n:]*(?:\|[^\[\]{}<\n]*)?)\]\]")
_PLAIN_TEMPLATE = re.compile(r"(?<!\{)\{\{[^\[\]{}<]*\}\}")
_TEMPLATE_MARK = "\x01"
_LINK_TARGET = re.compile(r"[^\[\]|\n]*")
_MEDIA_FILE_NAME = re.compile(
    r"\.(?:jpe?g|png|gif|svg|tiff?|webp|xcf|ogg|oga|ogv|webm|mp3|wav|flac|mid|pdf|djvu|stl)\s*$",
    re.IGNORECASE,
)
_INTERLANGUAGE_PREFIX = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})*$")


def is_non_prose_link(target: str, site: SiteInfo) -> bool:
    """``[[File:..]]``, ``[[Category:..]]`` (any local name or alias) or ``[[en:..]]``: not prose."""
    target = target.strip()
    prefix, colon, rest = target.partition(":")
    if not colon or not prefix:
        return False
    namespace = site.namespace_by_prefix(prefix)
    if namespace is not None:
        return namespace.id in (FILE_NS, MEDIA_NS, CATEGORY_NS)
    return bool(_MEDIA_FILE_NAME.search(rest) or _INTERLANGUAGE_PREFIX.match(prefix))


def prose_wikitext_bytes(wikitext: str, site: SiteInfo) -> int:
    """UTF-8 bytes of the page's own prose source: wikitext outside tables, galleries, comments,
    file/category/interlanguage links and template calls.

    A page that is only a table (a list of cities, a main page laid out in tables), an infobox,
    hatnotes and navboxes, or a template that generates the whole page (mrwiki's calendar days)
    legitimately has no ``text``: unknown templates are dropped by design (no template expansion)
    and tables and infoboxes are data, not prose. Validation expects text from a page whose own
    prose source is larger than a stub's, so it still catches extraction losing real prose.
    """
    text = _without_comments(wikitext)
    # split() alternates text between links and links' insides: joining them with NUL pairs is the
    # substitution, done in C (a group reference in sub()'s replacement is expanded in Python)
    text = "\n" + _PLAIN_TEMPLATE.sub(_TEMPLATE_MARK, "\0\0".join(_PLAIN_LINK.split(text)))
    kept = position = tables = templates = hidden_links = 0
    links: list[bool] = []  # per open "[[": whether that link is hidden
    while match := _NON_PROSE_SCAN.search(text, position):
        visible = not (tables or templates or hidden_links)
        token = match.group(0).lower()
        if visible:  # a line-start token's newline is the text before it
            kept += _prose_bytes(text[position : match.start() + (token[0] == "\n")])
        position = match.end()
        if token == "{{":
            templates += 1
        elif token == "}}":
            templates = max(0, templates - 1)
        elif token == "[[":
            hidden = is_non_prose_link(_LINK_TARGET.match(text, position).group(0), site)
            links.append(hidden)
            hidden_links += hidden
            kept += 2 if visible and not hidden else 0
        elif token == "]]":
            hidden = links.pop() if links else False
            hidden_links -= hidden
            kept += 2 if visible else 0
        elif token.startswith(("<gallery", "<imagemap", "<timeline")):
            end = text.lower().find(f"</{token[1:]}", position)
            close = text.find(">", end) if end >= 0 else -1
            position = close + 1 if close >= 0 else len(text)
        elif token.endswith("{|") or token.startswith("<table"):
            tables += 1
        else:  # "|}" or "</table>"
            tables = max(0, tables - 1)
    if not (tables or templates or hidden_links):
        kept += _prose_bytes(text[position:])
    return kept - 1  # the newline put before the first line, always in the first visible segment


def _prose_bytes(segment: str) -> int:
    """UTF-8 bytes of a visible segment, without the marks of the plain template calls removed."""
    return len(segment.encode("utf-8")) - segment.count(_TEMPLATE_MARK)


# -- language sanity and residue rate ---------------------------------------------------------------
# Unicode character-name prefixes of scripts whose letters are not named after the script itself.
SCRIPT_NAME_PREFIXES = {
    "Han": ("CJK UNIFIED IDEOGRAPH", "CJK COMPATIBILITY IDEOGRAPH"),
    "Hangul": ("HANGUL",),
    "Katakana": ("KATAKANA", "HALFWIDTH KATAKANA"),
}
_LETTER_RUNS = re.compile(r"[^\W\d_]+")


@lru_cache(maxsize=1)
def _letters() -> str:
    """Every character that ``_LETTER_RUNS`` matches, in code point order (found by the regex
    engine, not by a Python loop over every code point)."""
    return "".join(_LETTER_RUNS.findall("".join(map(chr, range(sys.maxunicode + 1)))))


@lru_cache(maxsize=16)
def script_letters_pattern(scripts: tuple[str, ...]) -> re.Pattern[str]:
    """Runs of letters of the given Unicode scripts (e.g. ``("Han", "Hiragana")``).

    Built once from ``unicodedata`` character names (``LATIN SMALL LETTER A``, ``CJK UNIFIED
    IDEOGRAPH-4E00``); it matches runs of such letters, so counting stays in C.
    """
    prefixes = tuple(p for s in scripts for p in SCRIPT_NAME_PREFIXES.get(s, (s.upper(),)))
    ranges: list[tuple[int, int]] = []
    for char in _letters():
        if not unicodedata.category(char).startswith("L") or not unicodedata.name(char, "").startswith(
            prefixes
        ):
            continue
        code = ord(char)
        if ranges and ranges[-1][1] == code - 1:
            ranges[-1] = (ranges[-1][0], code)
        else:
            ranges.append((code, code))
    if not ranges:
        raise ValueError(f"no Unicode letters belong to scripts {list(scripts)}: check config scripts")
    parts = "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges
    )
    return re.compile(f"[{parts}]+")


def _run_length(pattern: re.Pattern[str], text: str) -> int:
    """Characters of ``text`` inside matches of a runs pattern (3x faster than counting one by one)."""
    return sum(map(len, pattern.findall(text)))


def script_share(text: str, scripts: Sequence[str]) -> float | None:
    """Share of the letters of ``text`` that belong to ``scripts``; None when it has no letters."""
    letters = _run_length(_LETTER_RUNS, text)
    if not letters:
        return None
    in_script = _run_length(script_letters_pattern(tuple(scripts)), text)
    return min(in_script / letters, 1.0)


def residue_per_10k(counts: Mapping[str, int], text: str) -> float | None:
    """Leftover-markup occurrences (``leftover_markup``) per 10,000 characters of text; None for empty text."""
    return 10_000 * sum(counts.values()) / len(text) if text else None


# -- words kept -----------------------------------------------------------------------------------
# Scripts written without spaces between words (Thai, Lao, Myanmar, kana, CJK ideographs) count one
# character per word; elsewhere a word is a run of letters or digits.
_UNSPACED = "\u0e00-\u0eff\u1000-\u109f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CONTENT_WORD = re.compile(f"[{_UNSPACED}]|[^\\W_{_UNSPACED}]+")


def content_words(*texts: str) -> Counter[str]:
    """Case-folded words of ``texts`` as a multiset (one character per word in unspaced scripts)."""
    words: Counter[str] = Counter()
    for text in texts:
        if text:
            words.update(_CONTENT_WORD.findall(text.casefold()))
    return words


def words_kept(reference: Counter[str], kept: Counter[str]) -> tuple[int, int]:
    """(words of ``reference``, how many of them ``kept`` has): a multiset intersection."""
    return sum(reference.values()), sum(min(count, kept[word]) for word, count in reference.items())
