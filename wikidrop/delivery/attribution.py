"""A drop's licence and how to credit its authors: LICENSE.txt, the manifest's license and attribution.

Every drop, whatever its format and fields (plaintext too), carries ``LICENSE.txt``, listed in the
manifest and in ``sha256sums.txt`` like every other file. The facts, from Wikimedia's own terms:

- Wikipedia text is CC BY-SA 4.0 since 2023-06-29; revisions saved before were contributed under
  CC BY-SA 3.0 Unported, which lets adaptations be shared under a later version with the same
  licence elements (its section 4(b)); Wikimedia's FAQ on the upgrade says a page edited since can be
  reused under 4.0 (https://meta.wikimedia.org/wiki/Terms_of_use/Creative_Commons_4.0/FAQ).
- Text is also licensed under the GFDL (Terms of Use, section 7), except text imported under
  CC BY-SA only, allowed since the 2009 licensing update
  (https://meta.wikimedia.org/wiki/Licensing_update); a dump does not mark that text, so the GFDL
  cannot be relied on for whole articles.
- Re-users credit the authors by a link to the page, to a stable copy crediting them, or a list of
  all authors (https://foundation.wikimedia.org/wiki/Policy:Terms_of_Use, section 7;
  https://dumps.wikimedia.org/legal.html for the dumps).

The history link is by page id (``index.php?curid=<identifier>&action=history``), which every
delivered record carries and which survives page moves, so records need no URL of their own for it.
Everything here is derived from the edition and the dump date: the same drop gets the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wikidrop.dumps.siteinfo import SiteInfo
from wikidrop.records import LICENSE

LICENSE_CHANGE_DATE = "2023-06-29"  # Wikimedia's text licence: CC BY-SA 3.0 before, 4.0 since
EARLIER_LICENSE = {
    "name": "Creative Commons Attribution Share Alike 3.0 Unported",
    "identifier": "CC-BY-SA-3.0",
    "url": "https://creativecommons.org/licenses/by-sa/3.0/",
}
TERMS_OF_USE = "https://foundation.wikimedia.org/wiki/Policy:Terms_of_Use"
SOURCES = (
    ("Wikimedia Terms of Use, section 7 (Licensing of content)", TERMS_OF_USE),
    ("Licensing of Wikimedia's dumps", "https://dumps.wikimedia.org/legal.html"),
    (
        "The upgrade to CC BY-SA 4.0 (FAQ)",
        "https://meta.wikimedia.org/wiki/Terms_of_use/Creative_Commons_4.0/FAQ",
    ),
    (
        "The 2009 licensing update (CC BY-SA beside the GFDL)",
        "https://meta.wikimedia.org/wiki/Licensing_update",
    ),
    ("Reusing Wikipedia content", "https://en.wikipedia.org/wiki/Wikipedia:Reusing_Wikipedia_content"),
    ("CC BY-SA 4.0 legal code", "https://creativecommons.org/licenses/by-sa/4.0/legalcode"),
    ("CC BY-SA 3.0 legal code", "https://creativecommons.org/licenses/by-sa/3.0/legalcode"),
    ("GNU Free Documentation License", "https://www.gnu.org/licenses/fdl-1.3.html"),
)
GFDL_NOTE = (
    "Wikipedia text is also licensed under the GNU Free Documentation License (GFDL), except text "
    "imported under CC BY-SA only (allowed since 2009), which a dump does not mark: reuse whole "
    "articles under CC BY-SA, not under the GFDL alone."
)
MEDIA_NOTE = (
    "Images and other media files the records name are not in the drop: each has its own licence and "
    "authors on its file description page."
)


def history_url_template(site: SiteInfo) -> str:
    """A page's history (its list of authors) by page id: ``{identifier}`` is the record's."""
    return f"{site.server}/w/index.php?curid={{identifier}}&action=history"


def license_section(file_entry: Mapping[str, Any]) -> dict[str, Any]:
    """The manifest's ``license``: the licence, its exceptions, and the LICENSE.txt that explains them."""
    return {
        **LICENSE,
        "earlier_revisions": {"saved_before": LICENSE_CHANGE_DATE, **EARLIER_LICENSE},
        "gfdl": GFDL_NOTE,
        "media": MEDIA_NOTE,
        "terms": TERMS_OF_USE,
        "file": dict(file_entry),
    }


def attribution_section(site: SiteInfo, dump_date: str) -> dict[str, Any]:
    """The manifest's ``attribution``: where the text is from and how to credit each article."""
    return {
        "statement": (
            f"Text from {_source(site, dump_date)}, written by its contributors, under "
            f"CC BY-SA 4.0 ({LICENSE['url']}); see LICENSE.txt."
        ),
        "credit": (
            "With each article you reuse, give its name and a link to it (url) or to its list of "
            "authors (history_url), the licence, and whether you changed it."
        ),
        "edition": {
            "dbname": site.dbname,
            "name": site.sitename,
            "language": site.language,
            "url": site.server,
        },
        "history_url": history_url_template(site),
    }


def license_text(site: SiteInfo, dump_date: str) -> bytes:
    """LICENSE.txt of a drop of this edition and dump (plain UTF-8 text, the same bytes every time)."""
    history = history_url_template(site).replace("{identifier}", "<identifier>")
    dump_dir = f"https://dumps.wikimedia.org/{site.dbname}/{dump_date}/"
    title = f"Licence and attribution: {_source(site, dump_date)}"
    lines = [
        title,
        "=" * len(title),
        "",
        f"The records in this drop come from the articles of {site.sitename} ({site.server}), as",
        f"published in Wikimedia's dump of {_date(dump_date)} ({dump_dir}).",
        "They were written by its contributors.",
        "",
        "LICENCE",
        "",
        "The text is licensed under the Creative Commons Attribution-ShareAlike 4.0 International",
        "licence (CC BY-SA 4.0):",
        f"    {LICENSE['url']}",
        "    https://creativecommons.org/licenses/by-sa/4.0/legalcode",
        "",
        f"Revisions saved before {LICENSE_CHANGE_DATE}. Wikimedia moved the text of its projects from",
        "CC BY-SA 3.0 Unported to CC BY-SA 4.0 on that day. A record whose revision (date_modified,",
        "version.identifier) is older was contributed under CC BY-SA 3.0, which lets adaptations be",
        "shared under a later version with the same licence elements (its section 4(b)); per",
        "Wikimedia, revisions from before the upgrade remain available under CC BY-SA 3.0, and a page",
        "edited since can be reused under CC BY-SA 4.0. Each record's `license` names CC BY-SA 4.0, as",
        "Wikimedia Enterprise labels every article.",
        f"    {EARLIER_LICENSE['url']}",
        "    https://meta.wikimedia.org/wiki/Terms_of_use/Creative_Commons_4.0/FAQ",
        "",
        "GFDL. Text contributed to Wikipedia is also licensed under the GNU Free Documentation License",
        "(unversioned, with no invariant sections, front-cover or back-cover texts; text from before",
        "the 2009 licensing update under GFDL 1.2 or any later version). Text imported from sources",
        "under CC BY-SA only, allowed since 2009, is not, and a dump does not mark it: reuse whole",
        "articles under CC BY-SA, not under the GFDL alone.",
        "    https://www.gnu.org/licenses/fdl-1.3.html",
        "    https://meta.wikimedia.org/wiki/Licensing_update",
        "",
        "Media files. Images and other files the records name (image, files in infoboxes) are not in",
        "this drop; each has its own licence and authors on its file description page (image.url).",
        "",
        "Wikidata identifiers (main_entity) come from Wikidata, whose structured data is dedicated to",
        "the public domain under CC0 (https://creativecommons.org/publicdomain/zero/1.0/).",
        "",
        "Changes. Except article_body.wikitext, which is the revision's wikitext unchanged, the fields",
        "are derived from the wikitext by wikidrop: markup removed, templates rendered, structure",
        "extracted. Say so when you redistribute them.",
        "",
        "ATTRIBUTION",
        "",
        "Wikimedia's Terms of Use (section 7) ask re-users to credit the authors of a page by a link",
        "or URL to the page, by a link to a stable, freely accessible copy that credits them in the",
        "same way, or by a list of all authors. With each article you reuse, give:",
        "  - its name and a link to it (the record's name and url), or to its list of authors, its",
        "    history:",
        f"        {history}",
        "    (<identifier> is the record's page id; the link survives renames of the page);",
        "  - the licence and a link to it: CC BY-SA 4.0, " + LICENSE["url"] + ";",
        "  - that you changed the text, if you did.",
        "",
        "For example:",
        f'    "<name>", {site.sitename}, <url>, by its authors',
        f"    ({history}),",
        f"    CC BY-SA 4.0 ({LICENSE['url']}).",
        "",
        "SOURCES",
        "",
        *(line for name, url in SOURCES for line in (f"  {name}:", f"    {url}")),
        "",
    ]
    return "\n".join(lines).encode("utf-8")


def _date(dump_date: str) -> str:
    return f"{dump_date[:4]}-{dump_date[4:6]}-{dump_date[6:]}"


def _source(site: SiteInfo, dump_date: str) -> str:
    """``Wikipédia (https://fr.wikipedia.org, frwiki, language fr), Wikimedia dump of 2025-08-01``."""
    language = f", language {site.language}" if site.language else ""
    return f"{site.sitename} ({site.server}, {site.dbname}{language}), Wikimedia dump of {_date(dump_date)}"
