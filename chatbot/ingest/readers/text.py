"""Plain text and Markdown (.txt, .md): decoded in any common encoding, portal pages split."""

from __future__ import annotations

from ...errors import DocumentError
from ..plaintext import decode_bytes, parse_text
from .base import Parsed

SUFFIXES = (".txt", ".md")


def read(raw: bytes, source: str, limits=None) -> Parsed:
    """Decoded and split as `plaintext.parse_text` does; its cost is linear in the file's size,
    so no limit applies."""
    text, encoding = decode_bytes(raw)
    docs = parse_text(text, source)
    if not docs:
        raise DocumentError("no text content")
    return Parsed(docs, encoding)
