"""What a committed drop says about itself: ``manifest.json``, ``sha256sums.txt`` and ``_SUCCESS``.

The manifest lists every file of the drop with its size and md5/sha256/crc32c (hex), the record
count per format, the fields and filters applied, the record schema's version and document, the
licence and how to credit the authors (``attribution``, with LICENSE.txt), and the public facts of
the source dump and of its validation (never staging URIs). A nightly batch's manifest says so
(``kind``) and adds ``batch``: its events per type, the updates its filters turned into deletions,
that adds-changes dumps carry no deletions, and how to apply it (``wikidrop.delivery.batches``). ``_SUCCESS`` holds the manifest's
sha256, so a reader can tell a committed drop from one being written and from a manifest swapped
afterwards.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from wikidrop.checksums import FileDigest
from wikidrop.delivery.attribution import attribution_section, license_section
from wikidrop.delivery.batches import batch_section, withdrawn_counts
from wikidrop.delivery.encoding import json_document
from wikidrop.delivery.formats import FORMATS
from wikidrop.dumps.dumpstatus import WIKIMEDIA_DUMPS, public_dump_url
from wikidrop.layout import BATCH, MANIFEST
from wikidrop.record_docs import DOC_NAME

if TYPE_CHECKING:
    from wikidrop.delivery.drops import DeliveryRequest
    from wikidrop.delivery.projection import RecordShape

# 1.1: license (with LICENSE.txt listed), attribution, schema_document; 1.2: kind, batch
MANIFEST_VERSION = "1.2"
# ``<dbname>-<YYYYMMDD>-pages-meta-hist-incr.xml.bz2``: a file of Wikimedia's adds-changes dumps
_INCR_FILE = re.compile(r"^[a-z][a-z0-9_]*-(?P<day>\d{8})-[a-z-]+-incr\.")
# The digests a manifest lists per file (sha1 is Wikimedia's, not the partners').
MANIFEST_DIGESTS = ("bytes", "md5", "sha256", "crc32c")


def file_entry(path: str, records: int, digest: FileDigest, **facts: Any) -> dict[str, Any]:
    """A manifest entry for one file of the drop (path relative to the drop directory)."""
    return {"path": path, **facts, "records": records, **digest.as_dict(MANIFEST_DIGESTS)}


def document_entry(path: str, digest: FileDigest) -> dict[str, Any]:
    """A manifest entry for a file of the drop that holds no records (LICENSE.txt)."""
    return {"path": path, **digest.as_dict(MANIFEST_DIGESTS)}


def build_manifest(
    request: DeliveryRequest,
    namespace: int,
    shape: RecordShape,
    chunks: Sequence[Mapping[str, Any]],
    record_count: int,
    excluded: Mapping[str, int],
    page_ids: Mapping[str, Any],
    deletions: Mapping[str, Any] | None,
    license_file: Mapping[str, Any],
) -> dict[str, Any]:
    partner = request.partner
    counts = {fmt: sum(c["records"] for c in chunks if c["format"] == fmt) for fmt in partner.formats}
    left_out, withdrawn = withdrawn_counts(excluded)
    return {
        "manifest_version": MANIFEST_VERSION,
        "kind": request.kind.name,
        "identifier": request.paths(namespace).identifier,
        "dbname": request.dbname,
        "namespace": namespace,
        "dump_date": request.dump_date,
        "schema_version": request.schema_version,
        # every field of the records described, in the wikidrop repository
        "schema_document": DOC_NAME,
        "record_count": record_count,
        "records_per_format": counts,
        "partner": partner.id,
        "formats": list(partner.formats),
        "fields": shape.field_paths(),
        "plaintext_fields": (
            list(FORMATS["plaintext"].carried_fields(shape)) if "plaintext" in partner.formats else None
        ),
        "filters": partner.filters.model_dump(mode="json"),
        "excluded_by_filters": left_out,
        "chunk_records": partner.chunk_records,
        "chunks": list(chunks),
        "page_ids": dict(page_ids),
        "deletions": None if deletions is None else dict(deletions),
        "batch": batch_section(chunks, partner.formats, withdrawn) if request.kind == BATCH else None,
        "source_dump": {
            "files": [public_file(f, request.dbname, request.dump_date) for f in request.source_files]
        },
        "license": license_section(license_file),
        "attribution": attribution_section(request.site, request.dump_date),
        # main_entity, is_disambiguation, description and image come from this table; null: the
        # parse read none (the dump had no pagepropstable job done, or the edition declares none)
        # and those fields are null in every record
        "page_props": {"source_file": shape.page_props_source},
        "validation": public_validation(request.validation),
        "pipeline": {"run_id": request.run_id},
    }


def listed_files(manifest: Mapping[str, Any], manifest_sha256: str) -> list[tuple[str, str]]:
    """``(sha256, path)`` of every file of the drop: chunks, page ids, deletions, licence, manifest."""
    files = [(c["sha256"], c["path"]) for c in manifest["chunks"]]
    files += [(manifest[k]["sha256"], manifest[k]["path"]) for k in ("page_ids", "deletions") if manifest[k]]
    license_file = manifest["license"]["file"]
    files.append((license_file["sha256"], license_file["path"]))
    files.append((manifest_sha256, MANIFEST))
    return files


def sha256sums(files: Sequence[tuple[str, str]]) -> bytes:
    """``sha256sum -c`` input for ``listed_files``."""
    return "".join(f"{digest}  {path}\n" for digest, path in files).encode()


def success_document(manifest_sha256: str, record_count: int, committed_at: str) -> bytes:
    """``_SUCCESS``: the manifest's sha256, the record count and the commit time (RFC 3339 UTC)."""
    return json_document(
        {"committed_at": committed_at, "manifest_sha256": manifest_sha256, "record_count": record_count}
    )


def public_file(staged: Mapping[str, Any], dbname: str, dump_date: str) -> dict[str, Any]:
    """Dump file facts a partner can check against Wikimedia's own (no internal URIs): name, job,
    size, md5, sha1 and where Wikimedia publishes it, whichever mirror it was staged from (an
    adds-changes file under ``other/incr/<dbname>/<its day>/``)."""
    facts = {k: staged[k] for k in ("name", "job", "size", "md5", "sha1") if k in staged}
    incr = _INCR_FILE.match(staged["name"])
    if incr:
        return {**facts, "url": f"{WIKIMEDIA_DUMPS}/other/incr/{dbname}/{incr['day']}/{staged['name']}"}
    return {**facts, "url": public_dump_url(dbname, dump_date, staged["name"])}


def public_validation(validation: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: validation[k] for k in ("success", "critical_failures", "warnings", "counts") if k in validation
    }
