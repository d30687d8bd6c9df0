"""Passages read by position from their file, for large corpora (issue 21: a million passages in
2.5 GB while answering).

An index's `passages.jsonl` holds one passage per line. Up to `PASSAGES_IN_RAM_UP_TO` passages
they are parsed into a list at load, as before; above it, `DiskPassages` maps the file into
memory (the operating system keeps its pages in its cache, shared by every process serving the
index, and drops them under pressure: they are not the process's own memory) and parses a
passage when it is asked for, keeping the most recently used few thousand. It is a read-only
`Sequence[Passage]`: `passages[i]`, slices, `len`, iteration (which reads the whole file).
"""

from __future__ import annotations

import json
import mmap
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..types import Passage

PASSAGES_IN_RAM_UP_TO = 100_000  # ~150 MB of parsed passages; above, they are read from the file
CACHED = 4096                    # parsed passages kept (a question touches a few dozen)


class DiskPassages(Sequence):
    """The passages of a JSONL file, parsed on access (see the module docstring)."""

    def __init__(self, path: Path, cached: int | None = None):
        self.path = Path(path)
        with open(self.path, "rb") as fh:
            self._mm = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) if self.path.stat().st_size else None
        self._starts, self._ends = self._lines()
        self._cache: OrderedDict[int, Passage] = OrderedDict()
        self._cached = CACHED if cached is None else cached
        self._lock = threading.Lock()

    def _lines(self) -> tuple[np.ndarray, np.ndarray]:
        """Start and end offsets of the non-blank lines (as the in-memory loader skips blank ones)."""
        mm, starts, ends = self._mm, [], []
        if mm is None:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        pos, size = 0, len(mm)
        while pos < size:
            end = mm.find(b"\n", pos)
            end = size if end < 0 else end
            if mm[pos:end].strip():
                starts.append(pos)
                ends.append(end)
            pos = end + 1
        return np.asarray(starts, np.int64), np.asarray(ends, np.int64)

    def __len__(self) -> int:
        return len(self._starts)

    def _read(self, i: int) -> Passage:
        return Passage.from_dict(json.loads(self._mm[int(self._starts[i]):int(self._ends[i])]))

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        n = len(self)
        i = int(i)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("passage index out of range")
        with self._lock:
            p = self._cache.get(i)
            if p is not None:
                self._cache.move_to_end(i)
                return p
        p = self._read(i)
        with self._lock:
            self._cache[i] = p
            while len(self._cache) > self._cached:
                self._cache.popitem(last=False)
        return p

    def __iter__(self):
        for i in range(len(self)):  # not through the cache: a full pass would only evict what questions use
            yield self._read(i)

    def close(self) -> None:
        if self._mm is not None:
            self._mm.close()


def load_passages(path: Path, count: int | None) -> "list[Passage] | DiskPassages":
    """A list when small enough (`count`, from the manifest), else passages read from the file."""
    if count is not None and count > PASSAGES_IN_RAM_UP_TO:
        return DiskPassages(path)
    with open(path, encoding="utf-8") as fh:
        return [Passage.from_dict(json.loads(line)) for line in fh if line.strip()]
