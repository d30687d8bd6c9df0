"""Bounds on reading one untrusted file: decompressed bytes, elements, nesting, pages, CPU, memory.

A document bomb is a small file that unpacks into something huge (a flate stream of gigabytes,
Word XML of millions of elements, HTML nested 100,000 deep). The readers count as they unpack
and stop at the first limit crossed with `LimitError`, whose message names the limit; the
values come from the config (CHATBOT_DOC_* variables override them).
"""

from __future__ import annotations

import contextvars
import zlib
from dataclasses import asdict, dataclass

from ..errors import DocumentError

MB = 1024 * 1024
_STEP = 1 * MB   # inflate in steps of this size, so a bomb is stopped after one step past a limit


class LimitError(DocumentError):
    """A file crossed one of the reading limits (a document bomb, or a document too big to read)."""


@dataclass(frozen=True)
class Limits:
    """The values of the CHATBOT_DOC_* settings (chatbot/config.py): `Limits.from_config()`."""

    unpacked_mb: int   # decompressed bytes of one file, all parts and streams together
    part_mb: int       # decompressed bytes of one zip part or one PDF stream
    nodes: int         # XML elements of a Word file, HTML elements of a page
    depth: int         # nesting of elements
    pages: int         # PDF pages
    cpu_s: int         # CPU seconds to read one file (enforced in the reader process)
    memory_mb: int     # address space the reader process may add (enforced there)

    @classmethod
    def from_config(cls, config=None) -> "Limits":
        from ..config import Config

        c = config or Config()
        return cls(c.doc_unpacked_mb, c.doc_part_mb, c.doc_nodes, c.doc_depth, c.doc_pages, c.doc_cpu_s,
                   c.doc_memory_mb)

    def to_dict(self) -> dict:
        return asdict(self)

    def key(self) -> str:
        """The limits as a short string: a refusal remembered under other limits is tried again."""
        return ",".join(f"{k}={v}" for k, v in sorted(self.to_dict().items()))


def too_many_nodes(limits: Limits) -> LimitError:
    return LimitError(f"too many elements (over the {limits.nodes:,} element limit; a document bomb?)")


def too_deep(limits: Limits, depth: int | None = None) -> LimitError:
    return LimitError(f"elements nested too deep (over the {depth or limits.depth:,} level limit; a document bomb?)")


class Budget:
    """The decompressed bytes of one file so far: each part or stream, and all of them together."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.total = 0
        self.crossed: LimitError | None = None   # kept, in case a library swallows the exception

    def add(self, n: int, part: int = 0) -> None:
        """Count `n` more bytes of a part that has `part` bytes so far; LimitError past a limit."""
        self.total += n
        if part + n > self.limits.part_mb * MB:
            self.crossed = LimitError(f"one part unpacks to over {self.limits.part_mb} MB (the limit per part or "
                                      f"stream; a zip or flate bomb?)")
        elif self.total > self.limits.unpacked_mb * MB:
            self.crossed = LimitError(f"file unpacks to over {self.limits.unpacked_mb} MB (the limit for one file; "
                                      f"a zip or flate bomb?)")
        if self.crossed:
            raise self.crossed

    def inflate(self, data: bytes, wbits: int = zlib.MAX_WBITS, cap: int | None = None) -> tuple[bytes, bool]:
        """Inflate a zlib (or, with wbits=-15, raw deflate) stream step by step, counting every step:
        (the bytes, whether the stream ended). With `cap`, stop once past that many bytes (a zip
        entry's declared size). Raises zlib.error for damaged data, as zlib does."""
        d = zlib.decompressobj(wbits)
        out: list[bytes] = []
        size = 0
        while True:
            chunk = d.decompress(data, _STEP)
            self.add(len(chunk), size)
            size += len(chunk)
            out.append(chunk)
            data = d.unconsumed_tail
            if d.eof or (not data and not chunk) or (cap is not None and size > cap):
                break
        return b"".join(out), d.eof


_current: contextvars.ContextVar[Budget | None] = contextvars.ContextVar("document_budget", default=None)


def current_budget() -> Budget:
    """The budget of the file being read in this context; a fresh default one outside a read."""
    return _current.get() or Budget(Limits.from_config())


class reading:
    """`with reading(limits) as budget:` — the budget that library hooks (pdfminer's inflate)
    count against while one file is read."""

    def __init__(self, limits: Limits):
        self.budget = Budget(limits)

    def __enter__(self) -> Budget:
        self._token = _current.set(self.budget)
        return self.budget

    def __exit__(self, *exc) -> None:
        _current.reset(self._token)
