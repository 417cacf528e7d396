"""Partner-side check of a drop: is it committed, complete and uncorrupted?

    python -m wikidrop.verify gs://<bucket>/<prefix>/snapshots/20250801/enwiki_namespace_0
    python -m wikidrop.verify gs://<bucket>/<prefix>/snapshots/20250801      # every snapshot of a date
    python -m wikidrop.verify gs://<bucket>/<prefix>/batches/20250802        # every batch of a night
    python -m wikidrop.verify ./enwiki_namespace_0                             # a downloaded copy

For each drop (a snapshot or a nightly batch): ``_SUCCESS`` present (else the drop is not
committed: incomplete or still being written), ``manifest.json`` well formed and matching
``_SUCCESS``, ``sha256sums.txt`` agreeing with the manifest, every chunk, page-id and deletions
file present with the manifest's size, md5, sha256 and crc32c and the record count and first/last
page id it states, and the licence (``LICENSE.txt``) listed and intact; per format, chunks follow
each other in page-id order and add up to the drop's record count; a batch's events per type add
up to it too. Files are only ever looked for inside the drop's directory: a manifest naming any
other path is refused. ``gs://`` targets use ``STORAGE_EMULATOR_HOST`` or Application Default
Credentials. Exit status 0 when everything checks out, 1 with one ``FAIL`` line per problem
otherwise; nothing a drop contains makes it crash.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import re
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from wikidrop.checksums import FileDigest
from wikidrop.layout import LICENSE_FILE, MANIFEST, PAGE_IDS, SHA256SUMS, SUCCESS


class DropSource(Protocol):
    """Read access to one directory of a drop, local or in GCS."""

    def read_bytes(self, rel: str) -> bytes | None: ...

    def local_copy(self, rel: str) -> Any: ...

    def subdirs(self) -> list[str]: ...

    def has_files(self) -> bool: ...

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

    def has_files(self) -> bool:
        return self.root.is_dir() and any(p.is_file() for p in self.root.iterdir())

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

    def has_files(self) -> bool:
        prefix = f"{self.prefix}/" if self.prefix else ""
        return any(self.client.list_blobs(self.bucket, prefix=prefix, delimiter="/", max_results=1))

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


# -- what a manifest must hold ---------------------------------------------------------------------------

_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def _inside_drop(path: str) -> str:
    if not _FILE_NAME.match(path):
        raise ValueError(f"{path!r} is not a file name inside the snapshot (refused)")
    return path


class _Document(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class ListedDocument(_Document):
    """A file of the drop as the manifest lists it (a plain name: nothing outside the drop is read)."""

    path: Annotated[str, AfterValidator(_inside_drop)]
    bytes: int = Field(ge=0)
    md5: Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    crc32c: Annotated[str, Field(pattern=r"^[0-9a-f]{8}$")]


class ListedFile(ListedDocument):
    """A file of records (chunk, page ids, deletions): its record count too."""

    records: int = Field(ge=0)


class LicenseSection(_Document):
    file: ListedDocument


class ListedChunk(ListedFile):
    format: str
    first_identifier: int | None
    last_identifier: int | None


class BatchSection(_Document):
    events: dict[str, Annotated[int, Field(ge=0)]]


class Manifest(_Document):
    kind: str = "snapshot"  # absent before manifest 1.2: only snapshots existed
    batch: BatchSection | None = None  # a batch's events per type
    record_count: int = Field(ge=0)
    formats: list[str]
    chunks: list[ListedChunk]
    page_ids: ListedFile
    deletions: ListedFile | None  # null in a batch: adds-changes dumps carry no deletions
    license: LicenseSection | None = None  # absent from manifests before 1.1: reported, not malformed


class SuccessMarker(_Document):
    manifest_sha256: str
    record_count: int


_PYDANTIC_MESSAGES = {
    "missing": "missing",
    "int_type": "not an integer",
    "string_type": "not a string",
    "list_type": "not a list",
    "model_type": "not a JSON object",
    "model_attributes_type": "not a JSON object",
    "dict_type": "not a JSON object",
}


def _parse(source: DropSource, name: str, data: bytes, model: type[_Document]) -> tuple[Any, list[str]]:
    """The document as ``model``, or None and one ``malformed`` line per problem."""
    try:
        return model.model_validate(json.loads(data)), []
    except ValueError as exc:
        if not isinstance(exc, ValidationError):
            return None, [f"{source.describe(name)}: malformed: not JSON ({exc})"]
        lines = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error["loc"])
            message = _PYDANTIC_MESSAGES.get(error["type"]) or error["msg"].removeprefix("Value error, ")
            lines.append(f"{source.describe(name)}: malformed: {where + ': ' if where else ''}{message}")
        return None, lines


# -- checks ----------------------------------------------------------------------------------------------


def verify_snapshot(source: DropSource) -> list[str]:
    """Problems found in one drop directory (empty list: the drop is intact)."""
    problems: list[str] = []
    success_bytes = source.read_bytes(SUCCESS)
    manifest_bytes = source.read_bytes(MANIFEST)
    if success_bytes is None:
        problems.append(
            f"{source.describe()}: not committed (no {SUCCESS}): incomplete or still being written"
        )
    if manifest_bytes is None:
        if success_bytes is not None:
            problems.append(f"{source.describe(MANIFEST)}: missing")
        return problems
    manifest, malformed = _parse(source, MANIFEST, manifest_bytes, Manifest)
    if manifest is None:
        return problems + malformed
    manifest_sha256 = hashlib.sha256(manifest_bytes).hexdigest()
    if success_bytes is not None:
        problems += _check_success(source, success_bytes, manifest, manifest_sha256)
    problems += _check_sha256sums(source, manifest, manifest_sha256)
    per_format: dict[str, int] = {}
    last_id: dict[str, int | None] = {}
    for chunk in manifest.chunks:
        problems += _check_file(source, chunk)
        fmt = chunk.format
        per_format[fmt] = per_format.get(fmt, 0) + chunk.records
        previous = last_id.get(fmt)
        if previous is not None and chunk.first_identifier is not None and chunk.first_identifier <= previous:
            problems.append(
                f"{source.describe(chunk.path)}: starts at page id {chunk.first_identifier}, "
                f"not after the previous {fmt} chunk's {previous} (overlap or wrong order)"
            )
        last_id[fmt] = chunk.last_identifier
    for fmt in manifest.formats:
        if per_format.get(fmt, 0) != manifest.record_count:
            problems.append(
                f"{source.describe(MANIFEST)}: {fmt} chunks hold {per_format.get(fmt, 0)} records, "
                f"manifest says {manifest.record_count}"
            )
    if manifest.kind == "batch":
        events = sum(manifest.batch.events.values()) if manifest.batch else None
        if events != manifest.record_count:
            problems.append(
                f"{source.describe(MANIFEST)}: a batch whose events add up to {events}, "
                f"not its record count {manifest.record_count}"
            )
    problems += _check_file(source, manifest.page_ids)
    if manifest.deletions is not None:
        problems += _check_file(source, manifest.deletions)
    if manifest.license is None:
        problems.append(
            f"{source.describe(MANIFEST)}: lists no {LICENSE_FILE}: the drop carries no licence "
            "(manifests before version 1.1 did not)"
        )
    else:
        problems += _check_document(source, manifest.license.file)
    return problems


def _check_success(source: DropSource, success: bytes, manifest: Manifest, manifest_sha256: str) -> list[str]:
    facts, malformed = _parse(source, SUCCESS, success, SuccessMarker)
    if facts is None:
        return malformed
    problems = []
    if facts.manifest_sha256 != manifest_sha256:
        problems.append(f"{source.describe(MANIFEST)}: sha256 {manifest_sha256} differs from {SUCCESS}'s")
    if facts.record_count != manifest.record_count:
        problems.append(f"{source.describe(SUCCESS)}: record count differs from the manifest's")
    return problems


def _check_sha256sums(source: DropSource, manifest: Manifest, manifest_sha256: str) -> list[str]:
    data = source.read_bytes(SHA256SUMS)
    if data is None:
        return [f"{source.describe(SHA256SUMS)}: missing"]
    problems = []
    listed = {}
    for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), start=1):
        digest, separator, path = line.partition("  ")
        if not separator or not re.fullmatch(r"[0-9a-f]{64}", digest) or not path:
            problems.append(f"{source.describe(SHA256SUMS)}: line {number} is not '<sha256>  <file name>'")
            continue
        listed[path] = digest
    expected = {c.path: c.sha256 for c in manifest.chunks}
    license_file = manifest.license.file if manifest.license else None
    for entry in (manifest.page_ids, manifest.deletions, license_file):
        if entry is not None:
            expected[entry.path] = entry.sha256
    expected[MANIFEST] = manifest_sha256
    if listed != expected:
        differing = sorted(p for p in set(listed) | set(expected) if listed.get(p) != expected.get(p))
        problems.append(
            f"{source.describe(SHA256SUMS)}: disagrees with the manifest on {', '.join(differing)}"
        )
    return problems


def _digest_problems(where: str, path: Path, entry: ListedDocument) -> list[str]:
    actual = FileDigest.of_file(path)
    wrong = [k for k in ("bytes", "md5", "sha256", "crc32c") if getattr(actual, k) != getattr(entry, k)]
    if wrong:
        return [f"{where}: {', '.join(wrong)} differ from the manifest (corrupt or incomplete download)"]
    return []


def _check_document(source: DropSource, entry: ListedDocument) -> list[str]:
    """A listed file without records: present, with the manifest's size and digests."""
    with source.local_copy(entry.path) as path:
        if path is None:
            return [f"{source.describe(entry.path)}: missing"]
        return _digest_problems(source.describe(entry.path), path, entry)


def _check_file(source: DropSource, entry: ListedFile) -> list[str]:
    where = source.describe(entry.path)
    with source.local_copy(entry.path) as path:
        if path is None:
            return [f"{where}: missing"]
        wrong = _digest_problems(where, path, entry)
        if wrong:
            return wrong
        try:
            records, first, last = _count_records(path, entry.path)
        except Exception as exc:  # a file that matches its checksums but cannot be read
            return [f"{where}: unreadable ({exc})"]
    problems = []
    if records != entry.records:
        problems.append(f"{where}: holds {records} records, manifest says {entry.records}")
    if isinstance(entry, ListedChunk) and (first, last) != (entry.first_identifier, entry.last_identifier):
        problems.append(
            f"{where}: page ids {first}..{last}, manifest says {entry.first_identifier}..{entry.last_identifier}"
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
    """Verify a drop directory, or every drop directly below ``target``.

    A directory holding files is a drop (committed or not); otherwise each sub-directory is.
    Returns (drops checked, problems).
    """
    source = open_source(target)
    if source.has_files():
        return [source.describe()], verify_snapshot(source)
    drops = [child for child in map(source.child, source.subdirs()) if child.has_files()]
    if not drops:
        return [], [f"{source.describe()}: no drop here or in its sub-directories"]
    problems = []
    for drop in drops:
        problems += verify_snapshot(drop)
    return [d.describe() for d in drops], problems


def main(argv: list[str] | None = None, prog: str = "python -m wikidrop.verify") -> int:
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__,
        formatter_class=argparse.RawTextHelpFormatter,
    )
    parser.add_argument(
        "target",
        help="gs://bucket/prefix/{snapshots,batches}/<date>[/<dbname>_namespace_<ns>] or a local directory",
    )
    args = parser.parse_args(argv)
    try:
        checked, problems = verify(args.target)
    except Exception as exc:  # the drop's storage, not its content: say what failed, in one line
        checked, problems = [], [f"{args.target}: cannot read ({type(exc).__name__}: {exc})"]
    for snapshot in checked:
        print(f"checked {snapshot}")
    for problem in problems:
        print(f"FAIL {problem}")
    if problems:
        print(f"{len(problems)} problem(s): do not use this drop", file=sys.stderr)
        return 1
    print(f"OK: {len(checked)} drop(s) intact")
    return 0


if __name__ == "__main__":
    sys.exit(main())
