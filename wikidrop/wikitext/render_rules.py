"""Per-language tables: how value templates render to text, which templates are infoboxes.

A template that carries words the reader sees ({{convert|10|km|mi}}, {{lang|fr|texte}},
{{s-|XV}}) is rendered here instead of being dropped, so the text has no hole where it was.
Everything not listed is dropped (navboxes, maintenance tags, hatnotes...).

A template listed here (even as ``drop``) is never taken for an infobox by its layout (see
:mod:`.extract`), which keeps image and quote boxes of the lead out of ``infoboxes``.

Adding a rule is one line in ``RENDER_RULES[<language>]``: the key is the template name in lower
case (no namespace prefix, spaces not underscores), the value a function of a
:class:`TemplateCall` returning text. ``"*"`` holds rules every wiki shares (wikis copy templates
from each other); a language's own table wins over it. ``PATTERN_RULES`` does the same for
families of names (``lang-fr``, ``IPA-de``, ``XVe siècle``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

Renderer = Callable[["TemplateCall"], str]


class TemplateCall:
    """One template occurrence as renderers see it: rendered (clean) or raw parameter values."""

    __slots__ = ("_by_key", "_params", "_plain", "_positional", "_render", "name")

    def __init__(
        self,
        name: str,
        params: list[tuple[Any, Any]],
        render: Callable[[Any], str],
        plain: Callable[[Any], str],
    ) -> None:
        self.name = name
        self._params = params
        self._render = render
        self._plain = plain
        self._by_key: dict[str, Any] | None = None
        self._positional: list[Any] | None = None

    def _index(self) -> dict[str, Any]:
        if self._by_key is None:
            by_key: dict[str, Any] = {}
            positional: list[Any] = []
            for key, value in self._params:
                if key is None:
                    positional.append(value)
                    by_key[str(len(positional))] = value
                else:
                    by_key[self._plain(key).strip()] = value
            self._by_key, self._positional = by_key, positional
        return self._by_key

    def arg(self, key: str | int, default: str = "") -> str:
        """Rendered, stripped value of a named or 1-based positional parameter."""
        value = self._index().get(str(key))
        if value is None:
            return default
        return self._render(value).strip()

    def positional(self) -> list[str]:
        """Rendered, stripped positional values in order (explicit ``1=`` keys included)."""
        by_key = self._index()
        out = []
        i = 1
        while str(i) in by_key:
            out.append(self._render(by_key[str(i)]).strip())
            i += 1
        return out

    def has(self, key: str | int) -> bool:
        return str(key) in self._index()

    def first(self, keys: tuple[str, ...]) -> str:
        """Rendered value of the first of ``keys`` present with a value (only that one is rendered)."""
        by_key = self._index()
        for key in keys:
            value = by_key.get(key)
            if value is not None:
                text = self._render(value).strip()
                if text:
                    return text
        return ""


# -- generic renderers --------------------------------------------------------------------------
def drop(_: TemplateCall) -> str:
    return ""


def literal(text: str) -> Renderer:
    """A template that always shows the same characters ({{nbsp}}, {{•}})."""
    return lambda _call: text


def nth(index: int) -> Renderer:
    """Show the ``index``-th positional parameter ({{nowrap|x}} -> x, {{lang|fr|x}} -> x)."""
    return lambda call: call.arg(index)


def last_positional(call: TemplateCall) -> str:
    """The last non-empty positional value ({{transl|ru|text}}, {{sname||Plantae}})."""
    for value in reversed(call.positional()):
        if value:
            return value
    return ""


def first_nonempty(*keys: str | int) -> Renderer:
    """The first parameter among ``keys`` that has a value (display text before target)."""

    def render(call: TemplateCall) -> str:
        for key in keys:
            value = call.arg(key)
            if value:
                return value
        return ""

    return render


def joined(separator: str, start: int = 1) -> Renderer:
    """All positional values from ``start`` on, joined ({{nombre|3|habitants}} -> 3 habitants)."""
    return lambda call: separator.join(v for v in call.positional()[start - 1 :] if v)


def prefixed(prefix: str, index: int = 1) -> Renderer:
    return lambda call: f"{prefix}{call.arg(index)}" if call.arg(index) else ""


def wrapped(left: str, right: str, index: int = 1) -> Renderer:
    return lambda call: f"{left}{call.arg(index)}{right}" if call.arg(index) else ""


def formatnum(call: TemplateCall) -> str:
    """``{{formatnum:1234567}}`` / ``{{formatnum|1234567}}``: the number as written (no locale)."""
    return call.arg(1)


def bulleted_list(call: TemplateCall) -> str:
    """``{{Bulleted list|a|b}}`` / ``{{plainlist}}``-style lists: one item per line."""
    return "".join(f"\n\ue000 {v}" for v in call.positional() if v) + "\n"


def nihongo(call: TemplateCall) -> str:
    """``{{nihongo|Tokyo|東京|Tōkyō}}`` -> ``Tokyo (東京, Tōkyō)``."""
    english, kanji, romaji = call.arg(1), call.arg(2), call.arg(3)
    inner = ", ".join(v for v in (kanji, romaji) if v)
    if english and inner:
        return f"{english} ({inner})"
    return english or inner


def interlanguage_link(call: TemplateCall) -> str:
    """``{{ill|Title|fr|Titre}}`` / ``{{仮リンク|表示|en|Title}}``: the local display text."""
    return call.arg("lt") or call.arg(1)


def citation(call: TemplateCall) -> str:
    """Citation templates in any language: authors, title, work, publisher, date, in one line.

    Only the parameters shown are rendered, so links met in the others (``url=``) are not
    reported as links of the reference text.
    """
    return ". ".join(value for group in _CITATION_FIELDS if (value := call.first(group)))


# Citation parameter names across wikis, grouped by role; the first present key of a group wins.
_CITATION_FIELDS: tuple[tuple[str, ...], ...] = (
    ("author", "authors", "last", "last1", "auteur", "nom", "nom1", "autor", "автор", "著者", "作者"),
    ("title", "titre", "titel", "заглавие", "назва", "タイトル", "書名", "1"),
    ("work", "website", "journal", "newspaper", "periodical", "magazine", "périodique", "site",
     "werk", "sammelwerk", "издание", "видання"),
    ("publisher", "éditeur", "verlag", "издательство", "видавництво", "出版社"),
    ("date", "year", "année", "datum", "jahr", "год", "рік", "発行日", "年"),
)  # fmt: skip


# -- numbers and units --------------------------------------------------------------------------
# unit -> (shown symbol, factor to the SI unit, dimension, default target unit)
_UNITS: dict[str, tuple[str, float, str, str]] = {
    "km": ("km", 1000.0, "length", "mi"),
    "m": ("m", 1.0, "length", "ft"),
    "cm": ("cm", 0.01, "length", "in"),
    "mm": ("mm", 0.001, "length", "in"),
    "mi": ("mi", 1609.344, "length", "km"),
    "ft": ("ft", 0.3048, "length", "m"),
    "in": ("in", 0.0254, "length", "cm"),
    "yd": ("yd", 0.9144, "length", "m"),
    "nmi": ("nmi", 1852.0, "length", "km"),
    "km2": ("km2", 1e6, "area", "sqmi"),
    "m2": ("m2", 1.0, "area", "sqft"),
    "ha": ("ha", 1e4, "area", "acre"),
    "sqmi": ("sq mi", 2589988.110336, "area", "km2"),
    "sqft": ("sq ft", 0.09290304, "area", "m2"),
    "acre": ("acres", 4046.8564224, "area", "ha"),
    "kg": ("kg", 1.0, "mass", "lb"),
    "g": ("g", 0.001, "mass", "oz"),
    "t": ("t", 1000.0, "mass", "ST"),
    "lb": ("lb", 0.45359237, "mass", "kg"),
    "oz": ("oz", 0.028349523125, "mass", "g"),
    "ST": ("short tons", 907.18474, "mass", "t"),
    "LT": ("long tons", 1016.0469088, "mass", "t"),
    "km/h": ("km/h", 1 / 3.6, "speed", "mph"),
    "mph": ("mph", 0.44704, "speed", "km/h"),
    "kn": ("kn", 0.514444, "speed", "km/h"),
    "m/s": ("m/s", 1.0, "speed", "ft/s"),
    "ft/s": ("ft/s", 0.3048, "speed", "m/s"),
    "l": ("L", 0.001, "volume", "USgal"),
    "L": ("L", 0.001, "volume", "USgal"),
    "m3": ("m3", 1.0, "volume", "cuft"),
    "cuft": ("cu ft", 0.028316846592, "volume", "m3"),
    "USgal": ("US gal", 0.003785411784, "volume", "L"),
    "impgal": ("imp gal", 0.00454609, "volume", "L"),
    "kW": ("kW", 1000.0, "power", "hp"),
    "hp": ("hp", 745.69987, "power", "kW"),
}
_TEMPERATURES = {"C": "°C", "F": "°F", "K": "K"}
_RANGE_WORDS = frozenset(["-", "–", "to", "and", "or", "by", "x", "×", "+/-", "±", "to(-)"])
_UNIT_ALIASES = {
    "kilometres": "km", "kilometers": "km", "metres": "m", "meters": "m", "miles": "mi",
    "feet": "ft", "foot": "ft", "inches": "in", "sqkm": "km2", "square kilometres": "km2",
    "acres": "acre", "°C": "C", "°F": "F", "kph": "km/h", "mi2": "sqmi", "ft2": "sqft",
}  # fmt: skip
_NUMBER = re.compile(r"^[-+−]?\d[\d,]*(?:\.\d+)?$|^[-+−]?\.\d+$")


def _to_float(text: str) -> float | None:
    if not _NUMBER.match(text):
        return None
    return float(text.replace(",", "").replace("−", "-"))


def _round_like(value: float, source: str) -> str:
    """Round ``value`` to about the precision ``source`` was written with (as Convert does)."""
    whole, _, fraction = source.replace(",", "").lstrip("-+−").partition(".")
    whole = whole.lstrip("0")
    # 1500 is precise to the hundred (2 figures), 1500.0 to the tenth (5 figures)
    digits = len(whole) + len(fraction) if fraction else len(whole.rstrip("0"))
    significant = max(2, digits)
    if value == 0:
        return "0"
    decimals = significant - 1 - math.floor(math.log10(abs(value)))
    rounded = round(value, decimals)
    if decimals <= 0:
        return f"{int(rounded):,}"
    return f"{rounded:,.{decimals}f}".rstrip("0").rstrip(".")


def _convert_value(value: float, unit: str, target: str) -> float | None:
    if unit in _TEMPERATURES and target in _TEMPERATURES:
        kelvin = {"C": value + 273.15, "F": (value - 32) * 5 / 9 + 273.15, "K": value}[unit]
        return {"C": kelvin - 273.15, "F": (kelvin - 273.15) * 9 / 5 + 32, "K": kelvin}[target]
    source, dest = _UNITS.get(unit), _UNITS.get(target)
    if source is None or dest is None or source[2] != dest[2]:
        return None
    return value * source[1] / dest[1]


def _unit_symbol(unit: str) -> str:
    if unit in _TEMPERATURES:
        return _TEMPERATURES[unit]
    return _UNITS[unit][0] if unit in _UNITS else unit


def convert(call: TemplateCall) -> str:
    """``{{convert|10|km|mi}}`` -> ``10 km (6.2 mi)``; ranges ``{{convert|1|to|2|km}}`` too."""
    args = call.positional()
    if not args:
        return ""
    values = [args[0]]
    rest = args[1:]
    while len(rest) >= 2 and rest[0] in _RANGE_WORDS:
        values += [rest[0], rest[1]]
        rest = rest[2:]
    unit = _UNIT_ALIASES.get(rest[0], rest[0]) if rest else ""
    target = _UNIT_ALIASES.get(rest[1], rest[1]) if len(rest) > 1 else ""
    if not target:
        target = _UNITS[unit][3] if unit in _UNITS else {"C": "F", "F": "C"}.get(unit, "")
    shown = " ".join(values)
    text = f"{shown} {_unit_symbol(unit)}".strip() if unit else shown
    converted = []
    for i, value in enumerate(values):
        number = _to_float(value) if i % 2 == 0 else None
        if i % 2 == 1:
            converted.append(value)
        elif number is None or (result := _convert_value(number, unit, target)) is None:
            return text
        else:
            converted.append(_round_like(result, value))
    if target and (call.arg("disp") not in ("output only", "out", "number")):
        return f"{text} ({' '.join(converted)} {_unit_symbol(target)})"
    return text


def value_with_unit(call: TemplateCall) -> str:
    """``{{val|1.23|u=m}}``, ``{{unité|12|km}}``: number then its unit."""
    number = call.arg(1)
    unit = call.arg("u") or call.arg("ul") or " ".join(v for v in call.positional()[1:] if v)
    return f"{number} {unit}".strip()


# -- dates --------------------------------------------------------------------------------------
_EN_MONTHS = ("January February March April May June July August September October November December").split()


def _date_parts(values: list[str]) -> tuple[int, int | None, int | None] | None:
    numbers = []
    for value in values[:3]:
        if not value.strip().isdigit():
            break
        numbers.append(int(value))
    if not numbers or not 1 <= numbers[0] <= 9999:
        return None
    month = numbers[1] if len(numbers) > 1 and 1 <= numbers[1] <= 12 else None
    day = numbers[2] if month and len(numbers) > 2 and 1 <= numbers[2] <= 31 else None
    return numbers[0], month, day


def _format_en_date(parts: tuple[int, int | None, int | None], day_first: bool) -> str:
    year, month, day = parts
    if month is None:
        return str(year)
    name = _EN_MONTHS[month - 1]
    if day is None:
        return f"{name} {year}"
    return f"{day} {name} {year}" if day_first else f"{name} {day}, {year}"


def _age(born: tuple[int, int | None, int | None], on: tuple[int, int | None, int | None]) -> int:
    years = on[0] - born[0]
    if (on[1] or 1, on[2] or 1) < (born[1] or 1, born[2] or 1):
        years -= 1
    return years


def en_date(call: TemplateCall) -> str:
    """``{{birth date|1993|2|4}}`` -> ``February 4, 1993`` (``df=y``: ``4 February 1993``)."""
    args = [v for v in call.positional() if v]
    parts = _date_parts(args)
    if parts is None:
        return " ".join(args)
    day_first = call.arg("df").lower() in ("y", "yes", "1") or (call.has("df") and not call.arg("df"))
    return _format_en_date(parts, day_first)


def en_death_date_and_age(call: TemplateCall) -> str:
    """``{{death date and age|2000|5|6|1920|1|1}}`` -> ``May 6, 2000 (aged 80)``."""
    args = [v for v in call.positional() if v]
    death, birth = _date_parts(args), _date_parts(args[3:])
    if death is None:
        return " ".join(args)
    day_first = call.arg("df").lower() in ("y", "yes", "1")
    text = _format_en_date(death, day_first)
    return f"{text} (aged {_age(birth, death)})" if birth else text


def en_birth_date_and_age(call: TemplateCall) -> str:
    """``{{birth date and age|1950|1|1}}`` -> ``January 1, 1950 (age N)`` (age as of today)."""
    args = [v for v in call.positional() if v]
    birth = _date_parts(args)
    if birth is None:
        return " ".join(args)
    day_first = call.arg("df").lower() in ("y", "yes", "1")
    today = date.today()
    age = _age(birth, (today.year, today.month, today.day))
    return f"{_format_en_date(birth, day_first)} (age {age})"


_UK_MONTHS_GENITIVE = (
    "січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня"
).split()


def uk_date(day_first: bool) -> Renderer:
    """``{{дата|1054|2|20}}`` / ``{{ДН|14|3|1854}}`` -> ``20 лютого 1054`` / ``14 березня 1854``."""

    def render(call: TemplateCall) -> str:
        args = [v for v in call.positional() if v]
        ordered = [args[2], args[1], args[0]] if day_first and len(args) >= 3 else args
        parts = _date_parts(ordered)
        if parts is None:
            return " ".join(args)
        year, month, day = parts
        if month is None:
            return str(year)
        month_name = _UK_MONTHS_GENITIVE[month - 1]
        return f"{day} {month_name} {year}" if day else f"{month_name} {year}"

    return render


def ja_reading(call: TemplateCall) -> str:
    """``{{読み仮名|言語|げんご|英: language}}`` -> ``言語（げんご、英: language）``."""
    term, *readings = call.positional() or [""]
    readings = [r for r in readings if r]
    return f"{term}（{'、'.join(readings)}）" if readings else term


def ja_date(call: TemplateCall) -> str:
    """``{{生年月日と年齢|1950|1|1}}`` -> ``1950年1月1日``."""
    parts = _date_parts([v for v in call.positional() if v])
    if parts is None:
        return ""
    year, month, day = parts
    return f"{year}年" + (f"{month}月" if month else "") + (f"{day}日" if day else "")


# -- French centuries and ordinals ----------------------------------------------------------
def fr_century(suffix: str) -> Renderer:
    """``{{s-|XV}}`` -> ``XVe siècle``; ``{{-s-|III}}`` -> ``IIIe siècle av. J.-C.``."""

    def render(call: TemplateCall) -> str:
        numeral = call.arg(1)
        if not numeral:
            return ""
        ordinal = "Ier" if numeral == "I" else f"{numeral}e"
        return f"{ordinal}{suffix}"

    return render


def fr_centuries(call: TemplateCall) -> str:
    """``{{sp-|XV|et|XVI}}`` -> ``XVe et XVIe siècles``."""
    args = call.positional()
    words = [a if i % 2 else ("Ier" if a == "I" else f"{a}e") for i, a in enumerate(args) if a]
    return f"{' '.join(words)} siècles" if words else ""


def own_name(call: TemplateCall) -> str:
    """Templates whose name is what they display: ``{{Ier}}``, ``{{3e}}``, ``{{XXe siècle}}``."""
    return call.name


def heure(call: TemplateCall) -> str:
    """``{{heure|12|30}}`` -> ``12 h 30``."""
    hours, minutes = call.arg(1), call.arg(2)
    return f"{hours} h {minutes}".strip() if minutes else f"{hours} h"


def ru_uk_not_translated(call: TemplateCall) -> str:
    """``{{нп|Стаття|текст|en|Article}}``: the display text, else the local title."""
    return call.arg(2) or call.arg(1)


def de_hoehe(call: TemplateCall) -> str:
    """``{{Höhe|34|DE-NN}}`` -> ``34 m ü. NN``."""
    reference = call.arg(2).split("-")[-1] if call.arg(2) else ""
    datum = {"NN": "m ü. NN", "NHN": "m ü. NHN", "": "m"}.get(reference, f"m ü. {reference}")
    return f"{call.arg(1)} {datum}"


# -- the tables -----------------------------------------------------------------------------
_SHARED: dict[str, Renderer] = {
    # formatting wrappers: show their content
    "nowrap": nth(1), "nobr": nth(1), "nobreak": nth(1), "small": nth(1), "smaller": nth(1),
    "big": nth(1), "larger": nth(1), "resize": last_positional, "font": nth(1),
    "font color": last_positional, "color": last_positional, "abbr": nth(1), "sic": nth(1),
    "sname": last_positional, "snamei": last_positional, "linktext": joined(""),
    "mvar": nth(1), "math": nth(1), "var": nth(1), "em": nth(1), "strong": nth(1),
    "keypress": nth(1), "code": nth(1), "center": nth(1), "midsize": nth(1),
    "bulleted list": bulleted_list, "ubl": bulleted_list, "unbulleted list": bulleted_list,
    "plainlist": nth(1), "flatlist": nth(1), "hlist": joined(" · "),
    # languages and names
    "lang": last_positional, "langx": nth(2), "lang-x": nth(2), "transl": last_positional,
    "transliteration": last_positional, "nihongo": nihongo, "nihongo2": nth(1),
    "nihongo3": nth(1), "ill": interlanguage_link, "interlanguage link": interlanguage_link,
    "illm": interlanguage_link, "link-interwiki": first_nonempty("lt", "2", "1"),
    "ruby": nth(1), "polytonisch": nth(1), "polytonic": nth(1), "script": last_positional,
    # numbers, units, dates
    "convert": convert, "cvt": convert, "formatnum": formatnum, "val": value_with_unit,
    "nts": nth(1), "ntsh": drop, "birth date": en_date, "death date": en_date,
    "start date": en_date, "end date": en_date, "birth date and age": en_birth_date_and_age,
    "death date and age": en_death_date_and_age, "dob": en_date, "bda": en_birth_date_and_age,
    "dda": en_death_date_and_age, "film date": en_date, "circa": prefixed("c. "),
    "c.": prefixed("c. "), "isbn": prefixed("ISBN "), "issn": prefixed("ISSN "),
    "us$": prefixed("US$"), "usd": prefixed("US$"), "gbp": prefixed("£"), "£": prefixed("£"),
    "€": prefixed("€"), "eur": prefixed("€"),
    # punctuation and spacing
    "nbsp": literal(" "), "snd": literal(" – "), "spaced ndash": literal(" – "),
    "ndash": literal("–"), "mdash": literal("—"), "spaced en dash": literal(" – "),
    "·": literal(" · "), "•": literal(" • "), "dot": literal(" · "), "middot": literal(" · "),
    "bull": literal(" • "), "!": literal("|"), "=": literal("="), "'": literal("'"),
    # table syntax escaped for use inside template parameters: {{(!}} ... {{!}} ... {{!)}}
    "(!": literal("{|"), "!)": literal("|}"), "!-": literal("|-"), "!!": literal("||"),
    # boxes in the lead that are not infoboxes (images, quotes, maintenance notices)
    "multiple image": drop, "quote box": drop, "multiple issues": drop, "expand language": drop,
    "co2": literal("CO2"), "unicode": nth(1), "clear": drop, "clr": drop, "-": drop, "break": literal(" "),
    # citations outside <ref> (bibliographies) render as one readable line
    "citation": citation, "cite": citation,
    # dropped on purpose: pronunciation, footnote anchors, icons, maintenance, anchors
    "ipa": drop, "ipac-en": drop, "respell": drop,
    # IPA *symbol* links name the sound under discussion: keep the symbol
    "ipa link": nth(1), "ipalink": nth(1), "ipablink": nth(1), "ipaslink": nth(1),
    # more wrappers and inline values seen in the sample dumps
    "tt": nth(1), "sup": nth(1), "sub": nth(1), "inline-block": nth(1), "key press": nth(1),
    "annotated link": nth(1), "vanchor": nth(1), "sort": first_nonempty(2, 1),
    "legend": nth(2), "linkflag": nth(1), "nbs": literal(" "), "'s": literal("'s"),
    "angbr": wrapped("⟨", "⟩"), "extinct": literal("†"), "etc.": literal("etc."), ",": literal(","),
    "wikt-lang": nth(2), "ill2": interlanguage_link, "isbn2": prefixed("ISBN "),
    "crlf2": literal("\n"), "hlist-comma": joined(", "), "ublist": bulleted_list,
    "col-list": last_positional, "no col break": nth(1), "div col": drop, "div col end": drop,
    "blockquote": first_nonempty("text", "quote", "1"), "quote": first_nonempty("text", "quote", "1"),
    "cquote": first_nonempty("text", "quote", "1"), "sortname": joined(" "),
    "marriage": lambda c: f"{c.arg(1)} (m. {c.arg(2)})" if c.arg(2) else c.arg(1),
    "autolink": first_nonempty(2, 1), "in lang": drop, "url": first_nonempty(2, 1),
    "audio": drop, "pronunciation": drop, "sfn": drop, "sfnp": drop, "sfnm": drop,
    "harvnb": drop, "harv": drop, "rp": drop, "r": drop, "efn": drop, "refn": drop,
    "efn2": drop, "refnest": drop, "citation needed": drop, "cn": drop, "fact": drop,
    "flagicon": drop, "flag icon": drop, "increase": drop, "decrease": drop, "steady": drop,
    "anchor": drop, "coord": drop, "0": drop, "flag": last_positional, "flagcountry": nth(1),
    "flagu": nth(1),
}  # fmt: skip

RENDER_RULES: dict[str, dict[str, Renderer]] = {
    "*": _SHARED,
    "en": {"as of": lambda c: f"As of {en_date(c)}", "us$": prefixed("US$")},
    "simple": {"as of": lambda c: f"As of {en_date(c)}"},
    "fr": {
        "s-": fr_century(" siècle"), "s": fr_century(" siècle"), "-s-": fr_century(" siècle av. J.-C."),
        "-s": fr_century(" siècle av. J.-C."), "s mini-": fr_century(""), "sp-": fr_centuries,
        "unité": value_with_unit, "nombre": joined(" "), "langue": last_positional,
        "date": joined(" "), "date-": joined(" "), "date de naissance": joined(" "),
        "date de décès": joined(" "), "date sans lien": joined(" "), "citation": wrapped("« ", " »"),
        "incise": wrapped("— ", " —"), "heure": heure, "euro": lambda c: f"{c.arg(1)} €",
        "lien": first_nonempty("texte", "trad", "fr", "1"), "refnec": nth(1), "nobr": nth(1),
        "prononciation": drop, "api": drop, "référence nécessaire": nth(1), "smn": drop,
        "lien web": citation, "ouvrage": citation, "article": citation, "chapitre": citation,
        "ancre": drop, "drapeau": drop, "drapeau2": nth(1), "augmentation": drop,
        "augmentation négative": drop, "diminution": drop, "x10": lambda c: f"×10{c.arg(1)}",
        "tmp": joined(" "), "msapi": drop, "en langue": nth(2), "latin": nth(1),
        "souverain2": nth(1), "souverain": nth(1),
    },
    "de": {
        "höhe": de_hoehe, "zitat": wrapped("„", "“"), "lang": last_positional,
        "internetquelle": citation, "literatur": citation, "anker": drop,
        "formatnum": formatnum, "formatzahl": formatnum, "fldez": nth(1), "0": drop,
        "dts": last_positional, "nts": nth(1), "webarchiv": drop, "coordinate": drop,
        "zukunft": drop, "farblegende": drop, '"': wrapped("„", "“"),
    },
    "ja": {
        "複数の問題": drop,
        "仮リンク": interlanguage_link, "要出典": drop, "要出典範囲": nth(1), "ruby": nth(1),
        "display none": drop, "en": drop, "ja icon": drop, "langwithname": nth(3),
        "生年月日と年齢": ja_date, "没年月日と享年": ja_date, "language link": nth(1),
        "refnest": drop, "efn2": drop, "要ページ番号": drop, "要検証": drop, "独自研究範囲": nth(1),
        "lang-en-short": nth(1), "sname": last_positional, "snamei": last_positional,
        "語中改行": joined(""), "読み仮名": ja_reading, "読み仮名 ruby不使用": ja_reading,
        "ilq": nth(1), "ipa": nth(1), "unicode": nth(1), "nowrap": nth(1), "ウィキ座標度分秒": drop, "cite kotobank": citation,
    },
    "uk": {
        "нп": ru_uk_not_translated, "не перекладено": ru_uk_not_translated, "comment": nth(1),
        "lang-cu2": nth(1), "ref-ru": drop, "ref-en": drop, "ref-uk": drop, "прапорець": drop,
        "книга": citation, "статья": citation, "cite web 2": citation, "якір": drop,
        "к.": own_name, "м.": own_name, "зменшення": drop, "збільшення": drop,
        "недоступне посилання": drop, "•": literal(" • "), "·": literal(" · "),
        "дата": uk_date(day_first=False), "дн": uk_date(day_first=True), "дс": uk_date(day_first=True),
        "iw": ru_uk_not_translated, "s": nth(1), "градус цельсія": literal("°C"),
    },
    "it": {"ta": nth(1), "formatnum": formatnum, "sec": lambda c: f"{c.arg(1)} secolo"},
    "pt": {"séc": prefixed("século "), "sec": prefixed("século "), "lang": last_positional},
    "es": {"siglo": lambda c: f"siglo {c.arg(1)}", "bandera": drop, "web oficial": drop},
    "mr": {"*": literal(" • "), "मृत्यू दिनांक आणि वय": en_death_date_and_age, "देशध्वज": nth(1)},
    "ru": {
        "число": joined(" "), "комментарий": nth(1), "comment": nth(1), "langi": last_positional,
        "нп": ru_uk_not_translated, "нп3": ru_uk_not_translated, "iw": first_nonempty("2", "1"),
        "не переведено": ru_uk_not_translated, "книга": citation, "статья": citation,
        "якорь": drop, "рост": drop, "падение": drop, "увеличение": drop, "уменьшение": drop,
        "ref-en": drop, "ref-ru": drop, "флагификация": nth(1), "флаг": drop, "s": nth(1),
    },
}  # fmt: skip

# Families of names: (regex on the lower-case name, renderer); checked after the exact tables.
PATTERN_RULES: dict[str, list[tuple[re.Pattern[str], Renderer]]] = {
    "*": [
        (re.compile(r"^ipa(?:c)?-[a-z-]+$"), drop),
        (re.compile(r"^lang-[a-z0-9-]+$"), last_positional),
        (re.compile(r"^script/"), last_positional),
        (re.compile(r"^lang[a-z]{2,3}$"), last_positional),
        (re.compile(r"^(?:cite|citation)\b"), citation),
        (re.compile(r"^audio-[a-z]+$"), drop),
    ],
    "fr": [(re.compile(r"^(?:[0-9]+|[ivxlcdm]+)(?:er|re|e|es|ers|res)(?: siècle| millénaire)?$"), own_name)],
    "uk": [(re.compile(r"^ref-[a-z]+$"), drop)],
    "ltg": [(re.compile(r"^vol-[a-z]+$"), last_positional)],  # {{Vol-en|plants}}
    "ja": [(re.compile(r"^[a-z]{2}$"), nth(1))],  # {{el|ε}} shows ε; {{en}} alone is an icon
    "es": [(re.compile(r"^cita "), citation)],
    "ru": [(re.compile(r"^ref-[a-z]+$"), drop)],
}  # fmt: skip

# Footnote templates (lower case): their first parameter is a note that goes to ``references``.
FOOTNOTE_TEMPLATES = frozenset(
    ["efn", "efn2", "refn", "refnest", "efn-ua", "efn-lr", "efn-lg", "note", "notetag", "сноска"]
)

# Name prefixes (lower case) of templates that are infoboxes: their params go to ``infoboxes``.
INFOBOX_PREFIXES: dict[str, tuple[str, ...]] = {
    "*": ("infobox", "taxobox", "speciesbox", "automatic taxobox", "chembox", "drugbox"),
    "fr": ("infobox", "taxobox"),
    "de": ("infobox", "personendaten", "taxobox"),
    "ja": ("基礎情報", "infobox", "生物分類表", "taxobox"),
    "uk": ("картка", "infobox", "taxobox", "шаблон:картка"),
    "ru": ("карточка", "infobox", "таксон", "государство", "однозначные"),
    "es": ("ficha de", "ficha"),
    "pt": ("info/", "infobox"),
    "it": ("bio", "tassobox", "divisione amministrativa", "infobox"),
    "pl": ("infobox", "taksobox"),
    "nl": ("infobox", "taxobox"),
}


class RuleSet:
    """The rendering rules of one language (its table over the shared one), ready for lookups."""

    __slots__ = ("exact", "infobox_prefixes", "patterns")

    def __init__(self, language: str) -> None:
        base = language.split("-")[0].lower()
        self.exact: Mapping[str, Renderer] = {**RENDER_RULES["*"], **RENDER_RULES.get(base, {})}
        self.patterns = [*PATTERN_RULES.get(base, []), *PATTERN_RULES["*"]]
        self.infobox_prefixes = tuple(
            dict.fromkeys((*INFOBOX_PREFIXES["*"], *INFOBOX_PREFIXES.get(base, ())))
        )

    def renderer(self, key: str) -> Renderer | None:
        """The renderer of template ``key`` (lower-case name), or None: drop it."""
        found = self.exact.get(key)
        if found is not None:
            return found
        for pattern, render in self.patterns:
            if pattern.search(key):
                return render
        return None

    def is_infobox(self, key: str) -> bool:
        return key.startswith(self.infobox_prefixes)


_RULESETS: dict[str, RuleSet] = {}


def rules_for(language: str) -> RuleSet:
    """Cached :class:`RuleSet` for ``language`` (unknown languages get the shared table)."""
    ruleset = _RULESETS.get(language)
    if ruleset is None:
        ruleset = _RULESETS[language] = RuleSet(language)
    return ruleset
