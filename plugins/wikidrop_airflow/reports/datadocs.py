"""Make a Data Docs site self-contained (no CDN) and publish it to the reports bucket.

Great Expectations' Data Docs pages load Bootstrap, jQuery, Font Awesome, bootstrap-table,
bootstrap-datepicker, popper and Vega from public CDNs, so they render unstyled wherever the
internet is not reachable (the Airflow UI of a closed network, a laptop on a plane). The same
versions are vendored in ``static/vendor/`` (npm packages, licences alongside; see its README);
``vendor_site`` copies them into the site and points every page at the local copies.
"""

from __future__ import annotations

import mimetypes
import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

VENDOR_DIR = Path(__file__).resolve().parent / "static" / "vendor"
SITE_VENDOR_DIR = "static/vendor"

# CDN URL (as GX 1.24's templates write it) -> path under static/vendor/.
CDN_ASSETS: Mapping[str, str] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": "bootstrap-4.3.1/bootstrap.min.css",
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": "bootstrap-4.3.1/bootstrap.min.js",
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        "bootstrap-table-1.19.1/bootstrap-table.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        "bootstrap-table-1.19.1/bootstrap-table.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/extensions/filter-control/bootstrap-table-filter-control.min.js": (
        "bootstrap-table-1.19.1/bootstrap-table-filter-control.min.js"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.min.css": (
        "bootstrap-table-1.19.1/bootstrap-table-filter-control.min.css"
    ),
    "https://unpkg.com/bootstrap-table@1.19.0/dist/extensions/filter-control/bootstrap-table-filter-control.css": (
        "bootstrap-table-1.19.1/bootstrap-table-filter-control.min.css"
    ),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        "bootstrap-dark-1.1.0/bootstrap-prefers-dark.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        "bootstrap-datepicker-1.9.0/bootstrap-datepicker.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        "bootstrap-datepicker-1.9.0/bootstrap-datepicker.min.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": "fontawesome-free-6.6.0/css/all.min.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/jquery.min.js",
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": "popper.js-1.12.9/popper.min.js",
    "https://cdn.jsdelivr.net/npm/vega@5": "vega-5.33.1/vega.min.js",
    "https://cdn.jsdelivr.net/npm/vega-lite@5": "vega-lite-5.23.0/vega-lite.min.js",
    "https://cdn.jsdelivr.net/npm/vega-embed@6": "vega-embed-6.29.0/vega-embed.min.js",
}
# GX's logos (light, and dark for prefers-color-scheme: dark) come from S3 with a tracking query
# string; the site ships its own copy of the logo, used for both.
REMOTE_LOGO_RE = re.compile(
    r"https://great-expectations-web-assets\.s3\.[a-z0-9-]+\.amazonaws\.com/[A-Za-z0-9_-]+\.(?:png|svg)[^\"')]*"
)
LOCAL_LOGO = "static/images/logo-long.png"
# Anything the browser would fetch by itself: scripts, stylesheets, images, CSS url(...).
REMOTE_LOADS_RE = re.compile(
    r"""(?:src|href)=["'](?:https?:)?//[^"']+\.(?:js|css)(?:\?[^"']*)?["']|src=["'](?:https?:)?//|url\(["']?(?:https?:)?//"""
)


class UnvendoredAssetError(RuntimeError):
    """A page still loads a script, stylesheet or image from the internet after vendoring."""


def vendor_site(site_dir: str | os.PathLike[str]) -> list[Path]:
    """Copy the vendored assets into ``site_dir`` and rewrite its pages to them; return the pages.

    Raises ``UnvendoredAssetError`` naming the page and URL if any remote load is left, so a
    Great Expectations upgrade that adds a CDN asset fails loudly instead of rendering unstyled.
    """
    site = Path(site_dir)
    shutil.copytree(VENDOR_DIR, site / SITE_VENDOR_DIR, dirs_exist_ok=True)
    pages = sorted(site.rglob("*.html"))
    for page in pages:
        root = "../" * (len(page.relative_to(site).parts) - 1)
        html = page.read_text(encoding="utf-8")
        for url, local in CDN_ASSETS.items():
            html = html.replace(f'"{url}"', f'"{root}{SITE_VENDOR_DIR}/{local}"')
        # GX writes "./static/..." (the favicon) even in nested pages, where it would 404.
        html = html.replace('"./static/', f'"{root}static/')
        _rewrite(page, site, REMOTE_LOGO_RE.sub(root + LOCAL_LOGO, html))
    for stylesheet in sorted((site / "static" / "styles").glob("*.css")):
        css = stylesheet.read_text(encoding="utf-8")
        _rewrite(stylesheet, site, REMOTE_LOGO_RE.sub("../images/logo-long.png", css))
    return pages


def _rewrite(path: Path, site: Path, text: str) -> None:
    leftover = REMOTE_LOADS_RE.search(text)
    if leftover:
        raise UnvendoredAssetError(f"{path.relative_to(site)}: still loads {leftover.group(0)!r}")
    path.write_text(text, encoding="utf-8")


def upload_site(client: Any, site_dir: str | os.PathLike[str], bucket: str, prefix: str) -> str:
    """Upload every file of the site under ``gs://bucket/prefix/``; return the index.html URI."""
    site = Path(site_dir)
    target = client.bucket(bucket)
    for path in sorted(p for p in site.rglob("*") if p.is_file()):
        name = f"{prefix.strip('/')}/{path.relative_to(site).as_posix()}"
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        target.blob(name).upload_from_filename(str(path), content_type=content_type)
    return f"gs://{bucket}/{prefix.strip('/')}/index.html"
