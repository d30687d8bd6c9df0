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
SCAN_BYTES = 1 << 24             # bytes read at a time when finding the lines at load
_BLANK = np.frombuffer(b" \t\r\n\x0b\x0c", dtype=np.uint8)   # what bytes.strip() removes


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
        """Start and end offsets of the non-blank lines (as the in-memory loader skips blank ones).
        Found with ordinary reads of SCAN_BYTES at a time, not through the map: scanning the map
        would make every page of the file part of this process's resident memory."""
        if self._mm is None:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        starts, ends = [], []
        line_start, line_filled = 0, False   # the line under way when a chunk ends
        with open(self.path, "rb") as fh:
            at = 0
            while True:
                buf = np.frombuffer(fh.read(SCAN_BYTES), dtype=np.uint8)
                if buf.size == 0:
                    break
                filled = np.cumsum(~np.isin(buf, _BLANK), dtype=np.int64)   # non-blank bytes so far
                nl = np.flatnonzero(buf == 10)
                if nl.size:
                    # non-blank bytes of each line ending in this chunk (the first one began earlier)
                    before = np.concatenate([[0], filled[nl[:-1]]])
                    keep = filled[nl] - before > 0
                    keep[0] |= line_filled
                    line_starts = np.concatenate([[line_start], at + nl[:-1] + 1])
                    starts.append(line_starts[keep])
                    ends.append((at + nl)[keep])
                    line_start, line_filled = at + int(nl[-1]) + 1, bool(filled[-1] - filled[nl[-1]] > 0)
                else:
                    line_filled = line_filled or bool(filled[-1] > 0)
                at += buf.size
            if line_filled:   # a last line without a newline
                starts.append(np.array([line_start]))
                ends.append(np.array([at]))
        join = lambda parts: np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)  # noqa: E731
        return join(starts), join(ends)

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
