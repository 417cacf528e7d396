"""A partner's drop area, ``gs://<bucket>/<prefix>/``: every read and write of delivery goes through here.

Writes are create-only (``ifGenerationMatch=0``): an existing identical object is kept, a differing
one is a conflict unless the caller may replace it, and then it is deleted at its generation first,
so a concurrent writer fails instead of being overwritten. Paths are relative to the prefix and
refused when they could leave it, so no code path can write into another partner's area.
"""

from __future__ import annotations

import json
import logging
import os
import posixpath
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wikidrop.checksums import FileDigest
from wikidrop.delivery.encoding import json_document
from wikidrop.delivery.errors import DeliveryConflict, DeliveryError, OutsidePartnerPrefix

if TYPE_CHECKING:
    from wikidrop.config import PartnerConfig

log = logging.getLogger(__name__)


class PartnerBucket:
    """All reads and writes of one partner's drop area: ``gs://<bucket>/<prefix>/`` and nothing else.

    Callers pass paths relative to the prefix; absolute names, ``..``/``.`` or empty segments are
    refused, so no code path can write into another partner's area.
    """

    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.bucket_name = bucket
        self.prefix = prefix.strip("/")
        self._bucket = client.bucket(bucket)
        self._client = client

    @classmethod
    def for_partner(cls, client: Any, partner: PartnerConfig) -> PartnerBucket:
        return cls(client, partner.bucket, partner.prefix)

    def object_name(self, rel: str) -> str:
        """Full object name of ``rel``; raises ``OutsidePartnerPrefix`` for anything not inside."""
        parts = rel.split("/")
        if not rel or "\\" in rel or any(p in ("", ".", "..") for p in parts):
            raise OutsidePartnerPrefix(
                f"refusing object path {rel!r}: not a plain path inside gs://{self.bucket_name}/{self.prefix}"
            )
        name = f"{self.prefix}/{rel}" if self.prefix else rel
        if posixpath.normpath(name) != name:
            raise OutsidePartnerPrefix(f"refusing object path {rel!r}: not normalised")
        return name

    def uri(self, rel: str) -> str:
        return f"gs://{self.bucket_name}/{self.object_name(rel)}"

    def get(self, rel: str) -> Any | None:
        """The object's metadata (a Blob) or None."""
        return self._bucket.get_blob(self.object_name(rel))

    def read_bytes(self, rel: str) -> bytes | None:
        from google.api_core.exceptions import NotFound

        try:
            return self._bucket.blob(self.object_name(rel)).download_as_bytes()
        except NotFound:
            return None

    def download_to(self, rel: str, path: str | os.PathLike[str]) -> None:
        self._bucket.blob(self.object_name(rel)).download_to_filename(str(path))

    def list(self, rel_dir: str) -> list[Any]:
        """Blobs under ``rel_dir/`` (recursive)."""
        prefix = self.object_name(rel_dir) + "/"
        return list(self._client.list_blobs(self._bucket, prefix=prefix))

    def subdirs(self, rel_dir: str) -> list[str]:
        """Names of the immediate sub-directories of ``rel_dir``."""
        prefix = self.object_name(rel_dir) + "/"
        pages = self._client.list_blobs(self._bucket, prefix=prefix, delimiter="/")
        list(pages)  # prefixes are filled while iterating
        return sorted(p[len(prefix) :].rstrip("/") for p in pages.prefixes)

    def relative(self, object_name: str) -> str:
        return object_name[len(self.prefix) + 1 :] if self.prefix else object_name

    def put(self, rel: str, source: bytes | Path, digest: FileDigest, *, replace: bool = False) -> str:
        """Create ``rel`` only if absent (ifGenerationMatch=0); returns created, kept or replaced.

        An existing identical object is kept. A different one is a ``DeliveryConflict`` unless
        ``replace``: then it is deleted at its generation (a concurrent writer makes that fail) and
        created again.
        """
        from google.api_core.exceptions import PreconditionFailed

        name = self.object_name(rel)
        # Looking first spares re-sending a big identical chunk on a retry just to get a 412 (and
        # fake-gcs-server does not check preconditions on resumable uploads); the create below is
        # still conditional, so a concurrent writer is caught either way.
        existing = self._bucket.get_blob(name)
        if existing is None:
            try:
                self._upload(name, source, digest)
                return "created"
            except PreconditionFailed:
                existing = self._bucket.get_blob(name)
        if existing is not None and digest.matches_blob(existing):
            return "kept"
        if not replace:
            raise DeliveryConflict(f"gs://{self.bucket_name}/{name} exists with different content")
        if existing is not None:
            log.warning("replacing gs://%s/%s (content differs)", self.bucket_name, name)
            existing.delete(if_generation_match=existing.generation)
        self._upload(name, source, digest)
        return "replaced"

    def _upload(self, name: str, source: bytes | Path, digest: FileDigest) -> None:
        blob = self._bucket.blob(name, chunk_size=8 << 20)  # resumable, 8 MiB parts, for big chunks
        if isinstance(source, bytes):
            blob.upload_from_string(source, if_generation_match=0)
        else:
            blob.upload_from_filename(str(source), if_generation_match=0)
        if not digest.matches_blob(blob):
            raise DeliveryError(f"gs://{self.bucket_name}/{name}: stored object differs from what was sent")

    def delete(self, blob: Any) -> None:
        """Delete a listed blob at its generation, after checking it lies inside the prefix."""
        if blob.bucket.name != self.bucket_name or not blob.name.startswith(
            f"{self.prefix}/" if self.prefix else ""
        ):
            raise OutsidePartnerPrefix(f"refusing to delete gs://{blob.bucket.name}/{blob.name}")
        blob.delete(if_generation_match=blob.generation)

    def update_json(self, rel: str, change: Callable[[dict[str, Any]], dict[str, Any] | None]) -> None:
        """Read-modify-write a small JSON object under a generation precondition (retried on races).

        ``change`` returns the new document, or None to leave the object as it is.
        """
        from google.api_core.exceptions import PreconditionFailed

        name = self.object_name(rel)
        for _ in range(20):
            blob = self._bucket.get_blob(name)
            current = json.loads(blob.download_as_bytes()) if blob is not None else {}
            updated = change(current)
            if updated is None:
                return
            data = json_document(updated)
            try:
                self._bucket.blob(name).upload_from_string(
                    data,
                    content_type="application/json",
                    if_generation_match=blob.generation if blob is not None else 0,
                )
                return
            except PreconditionFailed:
                log.info("gs://%s/%s changed while updating it; retrying", self.bucket_name, name)
        raise DeliveryError(f"gs://{self.bucket_name}/{name}: too many concurrent updates")
