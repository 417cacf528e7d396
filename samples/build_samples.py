"""Build the project's sample exports from their human-editable sources.

    python samples/build_samples.py          # rewrites samples/<db>-<date>-pages-articles.xml.bz2

Sources, per edition: ``samples/src/<db>.pages`` (pages separated by ``%%% <id> | <ns> | <title>``
lines, each optionally followed by ``| redirect=<target>`` / ``| model=<content model>`` lines) and
``samples/<db>-<date>-siteinfo.json`` (API ``meta=siteinfo`` output: the export's ``<siteinfo>``
header is generated from it, so the two never disagree). Each revision gets the ``bytes``
attribute and the base-36 ``<sha1>`` MediaWiki computes; the pages are the project's own prose.
"""

from __future__ import annotations

import bz2
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent
DUMP_DATE = "20261101"
EDITIONS = ("frwiki", "ukwiki", "jawiki")
SCHEMA = "http://www.mediawiki.org/xml/export-0.11/"
FORMATS = {
    "wikitext": "text/x-wiki",
    "scribunto": "text/plain",
    "css": "text/css",
    "json": "application/json",
}
COMMENTS = {"fr": "relecture", "uk": "вичитка", "ja": "校正"}
EDITORS = ("Aster Marchal", "Ivo Kalden", "Nadia Oru", "Bellrock", "Tamsin Vey", "Oskar Lind")


@dataclass(frozen=True)
class SourcePage:
    page_id: int
    ns: int
    title: str
    text: str
    redirect: str | None = None
    model: str = "wikitext"


def mediawiki_sha1(text: str) -> str:
    """Base-36 sha1 of the UTF-8 text, zero-padded to 31 characters (``Wikimedia\\base_convert``)."""
    number = int(hashlib.sha1(text.encode("utf-8")).hexdigest(), 16)
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out.rjust(31, "0")


def escape(text: str) -> str:
    """XML escaping as MediaWiki's exporter does it (apostrophes stay literal)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def read_pages(path: Path) -> list[SourcePage]:
    pages: list[SourcePage] = []
    header: list[str] | None = None
    lines: list[str] = []

    def flush() -> None:
        if header is None:
            return
        page_id, ns, title, *options = (part.strip() for part in header)
        extra = dict(option.split("=", 1) for option in options)
        text = "\n".join(lines).strip("\n")
        pages.append(
            SourcePage(
                int(page_id), int(ns), title, text, extra.get("redirect"), extra.get("model", "wikitext")
            )
        )

    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("%%% "):
            flush()
            header, lines = line[4:].split(" | "), []
        elif header is not None and not lines and line.startswith("| "):
            header.append(line[2:])
        elif header is not None:
            lines.append(line)
    flush()
    ids = [p.page_id for p in pages]
    if len(set(ids)) != len(ids):
        raise SystemExit(f"{path}: duplicate page ids")
    return sorted(pages, key=lambda p: p.page_id)


def siteinfo_header(siteinfo: dict) -> str:
    general = siteinfo["query"]["general"]
    lines = [
        "  <siteinfo>",
        f"    <sitename>{escape(general['sitename'])}</sitename>",
        f"    <dbname>{general['wikiid']}</dbname>",
        f"    <base>{escape(general['base'])}</base>",
        f"    <generator>{escape(general['generator'])}</generator>",
        f"    <case>{general['case']}</case>",
        "    <namespaces>",
    ]
    for ns in sorted(siteinfo["query"]["namespaces"].values(), key=lambda n: n["id"]):
        name = ns["*"]
        attrs = f'key="{ns["id"]}" case="{ns["case"]}"'
        lines.append(
            f"      <namespace {attrs}>{escape(name)}</namespace>" if name else f"      <namespace {attrs} />"
        )
    lines += ["    </namespaces>", "  </siteinfo>"]
    return "\n".join(lines) + "\n"


def page_xml(page: SourcePage, title: str, lang: str) -> str:
    revision = 80_000_000 + page.page_id * 37
    editor = EDITORS[page.page_id % len(EDITORS)]
    day = 1 + page.page_id % 28
    model = page.model
    lines = [
        "  <page>",
        f"    <title>{escape(title)}</title>",
        f"    <ns>{page.ns}</ns>",
        f"    <id>{page.page_id}</id>",
    ]
    if page.redirect:
        lines.append(f'    <redirect title="{escape(page.redirect)}" />')
    lines += [
        "    <revision>",
        f"      <id>{revision}</id>",
        f"      <parentid>{revision - 11}</parentid>",
        f"      <timestamp>2026-10-{day:02d}T{(page.page_id * 7) % 24:02d}:{(page.page_id * 13) % 60:02d}:05Z</timestamp>",
        "      <contributor>",
        f"        <username>{escape(editor)}</username>",
        f"        <id>{1000 + EDITORS.index(editor) * 7919}</id>",
        "      </contributor>",
        f"      <comment>{COMMENTS[lang]}</comment>" if page.page_id % 3 else "      <minor />",
        f"      <origin>{revision}</origin>",
        f"      <model>{model}</model>",
        f"      <format>{FORMATS[model]}</format>",
        f'      <text bytes="{len(page.text.encode("utf-8"))}" sha1="{mediawiki_sha1(page.text)}" '
        f'xml:space="preserve">{escape(page.text)}</text>',
        f"      <sha1>{mediawiki_sha1(page.text)}</sha1>",
        "    </revision>",
        "  </page>",
    ]
    return "\n".join(lines) + "\n"


def full_title(page: SourcePage, siteinfo: dict) -> str:
    prefix = siteinfo["query"]["namespaces"][str(page.ns)]["*"]
    if page.title.startswith(f"{prefix}:") or not prefix:
        return page.title
    raise SystemExit(f"page {page.page_id}: title {page.title!r} does not start with namespace {prefix!r}")


def build(dbname: str) -> Path:
    siteinfo = json.loads((SAMPLES / f"{dbname}-{DUMP_DATE}-siteinfo.json").read_text(encoding="utf-8"))
    lang = siteinfo["query"]["general"]["lang"]
    pages = read_pages(SAMPLES / "src" / f"{dbname}.pages")
    xml = (
        f'<mediawiki xmlns="{SCHEMA}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'xsi:schemaLocation="{SCHEMA} http://www.mediawiki.org/xml/export-0.11.xsd" version="0.11" '
        f'xml:lang="{lang}">\n'
        + siteinfo_header(siteinfo)
        + "".join(page_xml(p, full_title(p, siteinfo), lang) for p in pages)
        + "</mediawiki>\n"
    )
    target = SAMPLES / f"{dbname}-{DUMP_DATE}-pages-articles.xml.bz2"
    target.write_bytes(bz2.compress(xml.encode("utf-8"), 9))
    print(f"{target.relative_to(SAMPLES.parent)}: {len(pages)} pages", file=sys.stderr)
    return target


if __name__ == "__main__":
    for edition in sys.argv[1:] or EDITIONS:
        build(edition)
