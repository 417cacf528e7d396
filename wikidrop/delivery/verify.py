"""Partner-side check of a drop: is it committed, complete and uncorrupted?

    python -m wikidrop.delivery.verify gs://<bucket>/<prefix>/snapshots/20250801/enwiki_namespace_0
    python -m wikidrop.delivery.verify gs://<bucket>/<prefix>/snapshots/20250801      # every snapshot of a date
    python -m wikidrop.delivery.verify ./enwiki_namespace_0                             # a downloaded copy

For each snapshot: ``manifest.json`` and ``_SUCCESS`` present and matching each other,
``sha256sums.txt`` agreeing with the manifest, and every chunk, page-id and deletions file present
with the manifest's size, md5, sha256 and crc32c and the record count and first/last page id it
states; per format, chunks follow each other in page-id order and add up to the snapshot's record
count. ``gs://`` targets use
``STORAGE_EMULATOR_HOST`` or Application Default Credentials. Exit status 0 when everything checks
out, 1 with one line per problem otherwise.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from wikidrop.checksums import FileDigest
from wikidrop.layout import MANIFEST, PAGE_IDS, SHA256SUMS, SUCCESS


class DropSource(Protocol):
    """Read access to one directory of a drop, local or in GCS."""

    def read_bytes(self, rel: str) -> bytes | None: ...

    def local_copy(self, rel: str) -> Any: ...

    def subdirs(self) -> list[str]: ...

    def child(self, name: str) -> DropSource: ...

    def describe(self, rel: str = "") -> str: ...


class LocalSource:
    def __init__(self, root: Path) -> None:
        self.root = root

    def read_bytes(self, rel: str) -> bytes | None:
        path = self.root / rel
        return path.read_bytes() if path.is_file() else None

    @contextmanager
    def local_copy(self, rel: str) -> Iterator[Path | None]:
        path = self.root / rel
        yield path if path.is_file() else None

    def subdirs(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else []

    def child(self, name: str) -> LocalSource:
        return LocalSource(self.root / name)

    def describe(self, rel: str = "") -> str:
        return str(self.root / rel) if rel else str(self.root)


class GCSSource:
    def __init__(self, client: Any, bucket: str, prefix: str) -> None:
        self.client = client
        self.bucket = client.bucket(bucket)
        self.prefix = prefix.strip("/")

    def _name(self, rel: str) -> str:
        return f"{self.prefix}/{rel}" if self.prefix else rel

    def read_bytes(self, rel: str) -> bytes | None:
        from google.api_core.exceptions import NotFound

        try:
            return self.bucket.blob(self._name(rel)).download_as_bytes()
        except NotFound:
            return None

    @contextmanager
    def local_copy(self, rel: str) -> Iterator[Path | None]:
        from google.api_core.exceptions import NotFound

        with tempfile.TemporaryDirectory(prefix="wikidrop-verify-") as tmp:
            path = Path(tmp) / Path(rel).name
            try:
                # No client-side checksum validation: a corrupt object must reach our own report.
                self.bucket.blob(self._name(rel)).download_to_filename(str(path), checksum=None)
            except NotFound:
                path.unlink(missing_ok=True)
                yield None
                return
            yield path

    def subdirs(self) -> list[str]:
        prefix = f"{self.prefix}/" if self.prefix else ""
        pages = self.client.list_blobs(self.bucket, prefix=prefix, delimiter="/")
        list(pages)
        return sorted(p[len(prefix) :].rstrip("/") for p in pages.prefixes)

    def child(self, name: str) -> GCSSource:
        return GCSSource(self.client, self.bucket.name, self._name(name))

    def describe(self, rel: str = "") -> str:
        name = self._name(rel) if rel else self.prefix
        return f"gs://{self.bucket.name}/{name}"


def open_source(target: str) -> DropSource:
    """A local directory or a ``gs://bucket/prefix`` target."""
    if target.startswith("gs://"):
        from wikidrop.gcs import split_gs_uri, storage_client

        bucket, prefix = split_gs_uri(target)
        return GCSSource(storage_client(), bucket, prefix)
    return LocalSource(Path(target))


# -- checks ----------------------------------------------------------------------------------------------


def verify_snapshot(source: DropSource) -> list[str]:
    """Problems found in one snapshot directory (empty list: the snapshot is intact)."""
    problems: list[str] = []
    manifest_bytes = source.read_bytes(MANIFEST)
    success = source.read_bytes(SUCCESS)
    if success is None:
        problems.append(f"{source.describe(SUCCESS)}: missing (the snapshot is not committed)")
    if manifest_bytes is None:
        problems.append(f"{source.describe(MANIFEST)}: missing")
        return problems
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError as exc:
        return [*problems, f"{source.describe(MANIFEST)}: not JSON ({exc})"]
    manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
    if success is not None:
        problems += _check_success(source, success, manifest, manifest_sha256)
    problems += _check_sha256sums(source, manifest, manifest_sha256)
    per_format: dict[str, int] = {}
    last_id: dict[str, int] = {}
    for chunk in manifest.get("chunks", []):
        problems += _check_file(source, chunk)
        fmt = chunk["format"]
        per_format[fmt] = per_format.get(fmt, 0) + chunk["records"]
        if fmt in last_id and chunk["first_identifier"] <= last_id[fmt]:
            problems.append(
                f"{source.describe(chunk['path'])}: starts at page id {chunk['first_identifier']}, "
                f"not after the previous {fmt} chunk's {last_id[fmt]} (overlap or wrong order)"
            )
        last_id[fmt] = chunk["last_identifier"]
    for fmt in manifest.get("formats", []):
        if per_format.get(fmt, 0) != manifest["record_count"]:
            problems.append(
                f"{source.describe(MANIFEST)}: {fmt} chunks hold {per_format.get(fmt, 0)} records, "
                f"manifest says {manifest['record_count']}"
            )
    for key in ("page_ids", "deletions"):
        if key not in manifest:
            problems.append(f"{source.describe(MANIFEST)}: no {key} entry")
        elif manifest[key] is not None:  # a batch has no tombstones: deletions is null
            problems += _check_file(source, manifest[key])
    return problems


def _check_success(source: DropSource, success: bytes, manifest: dict, manifest_sha256: str) -> list[str]:
    try:
        facts = json.loads(success)
    except ValueError:
        return [f"{source.describe(SUCCESS)}: not JSON"]
    problems = []
    if facts.get("manifest_sha256") != manifest_sha256:
        problems.append(f"{source.describe(MANIFEST)}: sha256 {manifest_sha256} differs from {SUCCESS}'s")
    if facts.get("record_count") != manifest.get("record_count"):
        problems.append(f"{source.describe(SUCCESS)}: record count differs from the manifest's")
    return problems


def _check_sha256sums(source: DropSource, manifest: dict, manifest_sha256: str) -> list[str]:
    data = source.read_bytes(SHA256SUMS)
    if data is None:
        return [f"{source.describe(SHA256SUMS)}: missing"]
    listed = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        digest, _, path = line.partition("  ")
        listed[path] = digest
    expected = {c["path"]: c["sha256"] for c in manifest.get("chunks", [])}
    for key in ("page_ids", "deletions"):
        if manifest.get(key):
            expected[manifest[key]["path"]] = manifest[key]["sha256"]
    expected[MANIFEST] = manifest_sha256
    if listed != expected:
        differing = sorted(p for p in set(listed) | set(expected) if listed.get(p) != expected.get(p))
        return [f"{source.describe(SHA256SUMS)}: disagrees with the manifest on {', '.join(differing)}"]
    return []


def _check_file(source: DropSource, entry: dict) -> list[str]:
    where = source.describe(entry["path"])
    with source.local_copy(entry["path"]) as path:
        if path is None:
            return [f"{where}: missing"]
        actual = FileDigest.of_file(path)
        wrong = [k for k in ("bytes", "md5", "sha256", "crc32c") if getattr(actual, k) != entry[k]]
        if wrong:
            return [f"{where}: {', '.join(wrong)} differ from the manifest (corrupt or incomplete download)"]
        try:
            records, first, last = _count_records(path, entry["path"])
        except Exception as exc:  # a file that matches its checksums but cannot be read
            return [f"{where}: unreadable ({exc})"]
    problems = []
    if records != entry["records"]:
        problems.append(f"{where}: holds {records} records, manifest says {entry['records']}")
    if "first_identifier" in entry and (first, last) != (entry["first_identifier"], entry["last_identifier"]):
        problems.append(
            f"{where}: page ids {first}..{last}, manifest says "
            f"{entry['first_identifier']}..{entry['last_identifier']}"
        )
    return problems


def _count_records(path: Path, name: str) -> tuple[int, int | None, int | None]:
    """Record count and first/last page id of a chunk, page-id list or deletions file."""
    if name.endswith(".parquet"):
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        n = pf.metadata.num_rows
        if n == 0 or "identifier" not in pf.schema_arrow.names:
            return n, None, None
        ids = pq.read_table(path, columns=["identifier"]).column("identifier")
        return n, ids[0].as_py(), ids[n - 1].as_py()
    count, first, last = 0, None, None
    with gzip.open(path, "rb") as f:
        for line in f:
            count += 1
            last = line
            if first is None:
                first = line
    return count, _identifier(first, name), _identifier(last, name)


def _identifier(line: bytes | None, name: str) -> int | None:
    if line is None:
        return None
    if name == PAGE_IDS:
        return int(line)
    return json.loads(line).get("identifier")


def verify(target: str) -> tuple[list[str], list[str]]:
    """Verify a snapshot directory, or every snapshot directly below ``target``.

    Returns (snapshots checked, problems).
    """
    source = open_source(target)
    if source.read_bytes(MANIFEST) is not None or source.read_bytes(SUCCESS) is not None:
        return [source.describe()], verify_snapshot(source)
    children = [source.child(name) for name in source.subdirs()]
    snapshots = [
        c for c in children if c.read_bytes(MANIFEST) is not None or c.read_bytes(SUCCESS) is not None
    ]
    if not snapshots:
        return [], [f"{source.describe()}: no {MANIFEST} here or in its sub-directories"]
    problems = []
    for snapshot in snapshots:
        problems += verify_snapshot(snapshot)
    return [s.describe() for s in snapshots], problems


def main(argv: list[str] | None = None, prog: str = "python -m wikidrop.delivery.verify") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument(
        "target", help="gs://bucket/prefix/snapshots/<date>[/<snapshot>] or a local directory"
    )
    args = parser.parse_args(argv)
    checked, problems = verify(args.target)
    for snapshot in checked:
        print(f"checked {snapshot}")
    for problem in problems:
        print(f"FAIL {problem}")
    if problems:
        print(f"{len(problems)} problem(s): do not use this drop", file=sys.stderr)
        return 1
    print(f"OK: {len(checked)} snapshot(s) intact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
