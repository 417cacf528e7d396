"""Sizes and checksums of files, computed in one pass while the bytes go by.

One home for every digest the pipeline compares: md5 and sha1 (what Wikimedia's dumpstatus.json and
md5sums.txt publish), sha256 (partners' ``sha256sums.txt``) and crc32c (what GCS keeps per object).
All hex encoded, as ``md5sum``/``sha256sum``/``gsutil hash -h`` print them.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from dataclasses import dataclass
from typing import Any

READ_BLOCK = 1 << 20


class Digester:
    """Feed blocks with ``update``; ``digest()`` gives the FileDigest of everything fed so far."""

    def __init__(self) -> None:
        import google_crc32c

        self.size = 0
        self._md5, self._sha1, self._sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
        self._crc32c = google_crc32c.Checksum()

    def update(self, block: bytes) -> None:
        self.size += len(block)
        self._md5.update(block)
        self._sha1.update(block)
        self._sha256.update(block)
        self._crc32c.update(block)

    def digest(self) -> FileDigest:
        return FileDigest(
            self.size,
            self._md5.hexdigest(),
            self._sha1.hexdigest(),
            self._sha256.hexdigest(),
            self._crc32c.digest().hex(),
        )


@dataclass(frozen=True)
class FileDigest:
    """Size and checksums of one file."""

    bytes: int
    md5: str
    sha1: str
    sha256: str
    crc32c: str

    @classmethod
    def of_stream(cls, stream: Any) -> FileDigest:
        digester = Digester()
        while block := stream.read(READ_BLOCK):
            digester.update(block)
        return digester.digest()

    @classmethod
    def of_file(cls, path: str | os.PathLike[str]) -> FileDigest:
        with open(path, "rb") as f:
            return cls.of_stream(f)

    @classmethod
    def of_bytes(cls, data: bytes) -> FileDigest:
        return cls.of_stream(io.BytesIO(data))

    def matches_blob(self, blob: Any) -> bool:
        """Compare with the server's view of a GCS object (base64 md5/crc32c in its metadata)."""
        return (
            blob.size == self.bytes
            and blob.md5_hash == base64.b64encode(bytes.fromhex(self.md5)).decode()
            and blob.crc32c == base64.b64encode(bytes.fromhex(self.crc32c)).decode()
        )

    def as_dict(
        self, fields: tuple[str, ...] = ("bytes", "md5", "sha1", "sha256", "crc32c")
    ) -> dict[str, Any]:
        return {name: getattr(self, name) for name in fields}
