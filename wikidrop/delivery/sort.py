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
        blob = pickle.dumps(record, protocol=pickle.HIGHEST_PROTOCOL)
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
            for key, blob in items:
                f.write(pair_frame(key, blob))
        return path

    def sorted(self) -> Iterator[tuple[Any, Any]]:
        """All pairs in key order (each record unpickled once, as it is consumed)."""
        for key, blob in self.sorted_pickled():
            yield key, pickle.loads(blob)

    def sorted_pickled(self) -> Iterator[tuple[Any, bytes]]:
        """All pairs in key order, records still pickled (to be written on as they are)."""
        self._spill()
        return heapq.merge(*(_read_run(p) for p in self._runs), key=lambda i: i[0])


def pair_frame(key: Any, blob: bytes) -> bytes:
    """One ``(key, pickled record)`` pair as a run holds it; runs are these frames back to back."""
    return pickle.dumps((key, blob), protocol=pickle.HIGHEST_PROTOCOL)


def _read_run(path: Path) -> Iterator[tuple[Any, bytes]]:
    with open(path, "rb") as f:
        yield from read_pairs(f)


def read_pairs(stream: Any) -> Iterator[tuple[Any, bytes]]:
    """The ``(key, pickled record)`` pairs of a run, read from an open binary file to its end."""
    while True:
        try:
            yield pickle.load(stream)
        except EOFError:
            return
