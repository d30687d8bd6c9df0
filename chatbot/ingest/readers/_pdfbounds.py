"""pdfminer's stream decoding, counted: every inflated (or LZW-decoded) stream counts against the
budget of the file being read (`limits.reading`), so a flate bomb stops after one step past the
per-stream or per-file limit instead of inflating in full inside `zlib.decompress`.

pdfminer calls `zlib.decompress` and `lzwdecode` through its `pdftypes` module; `install()`
replaces those two names there with counting versions that behave the same otherwise.
"""

from __future__ import annotations

import zlib
from io import BytesIO

from ..limits import current_budget


class _CountingInflater:
    """zlib.decompressobj() whose output counts against the current budget."""

    def __init__(self, *args):
        self._d = zlib.decompressobj(*args)
        self._budget = current_budget()
        self._size = 0

    def decompress(self, data, max_length=0):
        out = self._d.decompress(data, max_length)
        self._budget.add(len(out), self._size)
        self._size += len(out)
        return out

    def __getattr__(self, name):
        return getattr(self._d, name)


class _CountingZlib:
    """The parts of the zlib module pdfminer uses."""

    error = zlib.error
    MAX_WBITS = zlib.MAX_WBITS

    @staticmethod
    def decompress(data, wbits=zlib.MAX_WBITS, bufsize=zlib.DEF_BUF_SIZE):
        out, _ = current_budget().inflate(data, wbits)
        # a truncated stream gives what it holds (what pdfminer's own fallback, a byte-at-a-time
        # decompressobj, would recover from it, minus the quadratic copying)
        return out

    decompressobj = _CountingInflater


def _lzwdecode(data: bytes) -> bytes:
    from pdfminer.lzw import LZWDecoder

    budget, out, size = current_budget(), [], 0
    for chunk in LZWDecoder(BytesIO(data)).run():
        budget.add(len(chunk), size)
        size += len(chunk)
        out.append(chunk)
    return b"".join(out)


def install() -> None:
    """Point pdfminer's stream decoding at the counting versions (once per process)."""
    from pdfminer import pdftypes

    if not isinstance(pdftypes.zlib, _CountingZlib):
        pdftypes.zlib = _CountingZlib()
        pdftypes.lzwdecode = _lzwdecode
