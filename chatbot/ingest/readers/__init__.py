"""Readers, one module per format, behind one interface: `read(raw, source) -> Parsed`.

Each module has `SUFFIXES` and `read(raw: bytes, source: str, limits: Limits) -> Parsed`, and
raises `DocumentError` with the reason a person can act on (scanned, encrypted, broken,
unsupported), `LimitError` when the file crosses a reading limit (a document bomb). Format
libraries load only when a file of that format is read. These run in the calling process; an
untrusted file is read through `ingest.sandbox`, which adds CPU and memory limits.
"""

from __future__ import annotations

from pathlib import PurePath

from ...errors import DocumentError
from ..limits import Limits
from . import docx, html, pdf, text
from .base import Parsed

MODULES = (text, pdf, docx, html)
READERS = {suffix: m for m in MODULES for suffix in m.SUFFIXES}
SUFFIXES = tuple(READERS)
UNSUPPORTED = {
    **docx.UNSUPPORTED,
    ".wps": "WPS format is not supported; save it as .docx",
    ".xls": "spreadsheets are not supported; save the sheet as .html or copy the table into a .docx",
    ".xlsx": "spreadsheets are not supported; save the sheet as .html or copy the table into a .docx",
    ".ppt": "presentations are not supported; export them as PDF",
    ".pptx": "presentations are not supported; export them as PDF",
}


def kind_of(name: str) -> str:
    """The format name shown to people: "pdf", "docx", "html", "txt", "md"."""
    suffix = PurePath(name).suffix.lower()
    return {".htm": "html"}.get(suffix, suffix.lstrip(".")) or "(none)"


def check_supported(name: str) -> None:
    """Raise DocumentError when no reader takes this file name."""
    suffix = PurePath(name).suffix.lower()
    if suffix in READERS:
        return
    if suffix in UNSUPPORTED:
        raise DocumentError(UNSUPPORTED[suffix])
    allowed = " ".join(SUFFIXES)
    raise DocumentError(f"unsupported file type '{suffix or '(none)'}' (readable: {allowed})")


def read_bytes(raw: bytes, source: str, limits: Limits | None = None) -> Parsed:
    """Parse one file's bytes with the reader for its suffix, within `limits` (the config's by default)."""
    check_supported(source)
    if not raw or (PurePath(source).suffix.lower() in text.SUFFIXES + html.SUFFIXES and raw.isspace()):
        raise DocumentError("empty file")
    return READERS[PurePath(source).suffix.lower()].read(raw, source, limits or Limits.from_config())


__all__ = ["Parsed", "READERS", "SUFFIXES", "UNSUPPORTED", "check_supported", "kind_of", "read_bytes"]
