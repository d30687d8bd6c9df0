"""Reading document files (portal pages are split into their articles by `plaintext.py`).

A seed page is a main question + answer, then a `相关推荐` section whose items are each a title
line, a snippet and a `健康新闻 YYYY-MM-DD` line. Every article becomes a `Document`. Any other
`.txt`/`.md` file becomes one document, chunked generically later. PDF, Word and HTML files go
to their readers (`readers/`), which return documents with page numbers and section paths; they
are read in a reader process with limits (`sandbox.py`), and a file refused for crossing a limit
is remembered by its SHA-256 (`refusals.py`) and skipped, with its reason, by later builds.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DocumentError
from ..types import Skipped, SourceFile
from .limits import Limits
from .plaintext import decode_bytes, parse_text  # noqa: F401 - also imported from here by callers

if TYPE_CHECKING:
    from .refusals import Refusals
    from .sandbox import Sandbox

SUFFIXES = (".txt", ".md")   # read here; every other readable suffix is in readers.SUFFIXES


def read_file(path: Path, source: str, reader: "Sandbox | None" = None,
              refusals: "Refusals | None" = None) -> SourceFile:
    """Read and parse one file. Raises DocumentError with the reason when it cannot.

    A PDF, Word or HTML file is read by `reader` (a Sandbox; in this process when None); one
    `refusals` remembers as over a limit is refused again without being read."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read: {exc.strerror or exc}") from exc
    digest = hashlib.sha256(raw).hexdigest()
    if path.suffix.lower() not in SUFFIXES:
        from .readers import read_bytes
        from .refusals import read_once

        parsed = read_once(raw, source, reader.read if reader else read_bytes, refusals, digest)
        return SourceFile(source, digest, parsed.encoding, tuple(parsed.documents), parsed.pages)
    text, enc = decode_bytes(raw)
    del raw  # a large file should not be held twice (bytes and text) while it is parsed
    docs = parse_text(text, source)
    if not docs:
        raise DocumentError("no text content")
    return SourceFile(source, digest, enc, tuple(docs))


def list_files(documents_dir: Path) -> list[tuple[Path, str]]:
    """Document files under a folder (recursive, sorted), with their names relative to it."""
    documents_dir = Path(documents_dir)
    if not documents_dir.is_dir():
        return []
    out = []
    for path in sorted(documents_dir.rglob("*")):
        if path.is_file() and not any(part.startswith(".") for part in path.relative_to(documents_dir).parts):
            out.append((path, path.relative_to(documents_dir).as_posix()))
    return out


def load_folder(documents_dir: Path, limits: Limits | None = None,
                refusals: "Refusals | None" = None) -> tuple[list[SourceFile], list[Skipped]]:
    """Read every document file; unreadable or unsupported files are reported, never fatal.
    PDF, Word and HTML files are read in one reader process with `limits` (the config's by
    default); files over a limit are remembered in `refusals` and skipped by later calls."""
    from .readers import check_supported
    from .sandbox import Sandbox

    files: list[SourceFile] = []
    skipped: list[Skipped] = []
    with Sandbox(limits) as reader:  # the process starts at the first file that needs it
        for path, source in list_files(documents_dir):
            try:
                check_supported(source)
                files.append(read_file(path, source, reader, refusals))
            except DocumentError as exc:
                skipped.append(Skipped(source, str(exc)))
    return files, skipped
