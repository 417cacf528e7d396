"""Sorting records of any total size with bounded memory: sorted runs spilled to disk, then merged."""

from __future__ import annotations

import heapq
import pickle
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any


class ExternalSort:
    """Sort ``(key, record)`` pairs of any total size: sorted runs spilled to disk, then merged.

    Memory holds one run (``run_bytes`` of pickled records) plus one record per run while merging;
    at most ``fan_in`` runs are open at once (runs are merged in rounds beyond that).
    """

    def __init__(self, workdir: Path, run_bytes: int = 128 << 20, fan_in: int = 128) -> None:
        self.workdir = workdir
        self.run_bytes = run_bytes
        self.fan_in = fan_in
        self._buffer: list[tuple[Any, bytes]] = []
        self._buffered = 0
        self._runs: list[Path] = []
        self._written = 0
        self.count = 0  # pairs added

    def add(self, key: Any, record: Any) -> None:
        self.add_pickled(key, pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL))

    def add_pickled(self, key: Any, blob: bytes) -> None:
        """Add a record already pickled (``pickle.dumps``): ``sorted`` unpickles it."""
        self._buffer.append((key, blob))
        self.count += 1
        self._buffered += len(blob)
        if self._buffered >= self.run_bytes:
            self._spill()

    def _spill(self) -> None:
        if not self._buffer:
            return
        self._buffer.sort(key=lambda item: item[0])
        self._runs.append(self._write_run(self._buffer))
        self._buffer, self._buffered = [], 0
        if len(self._runs) >= self.fan_in:
            merged = self._write_run(heapq.merge(*(_read_run(p) for p in self._runs), key=lambda i: i[0]))
            for run in self._runs:
                run.unlink()
            self._runs = [merged]

    def _write_run(self, items: Iterable[tuple[Any, bytes]]) -> Path:
        path = self.workdir / f"run-{self._written:06d}.pickle"
        self._written += 1
        with open(path, "wb") as f:
            for item in items:
                pickle.dump(item, f, protocol=pickle.HIGHEST_PROTOCOL)
        return path

    def sorted(self) -> Iterator[tuple[Any, Any]]:
        """All pairs in key order (each record unpickled once, as it is consumed)."""
        self._spill()
        for key, blob in heapq.merge(*(_read_run(p) for p in self._runs), key=lambda i: i[0]):
            yield key, pickle.loads(blob)


def _read_run(path: Path) -> Iterator[tuple[Any, bytes]]:
    with open(path, "rb") as f:
        while True:
            try:
                yield pickle.load(f)
            except EOFError:
                return
