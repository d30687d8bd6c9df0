"""What every reader returns: the documents of one file, how it was decoded, how many pages."""

from __future__ import annotations

from dataclasses import dataclass

from ...types import Document


@dataclass(frozen=True)
class Parsed:
    documents: list[Document]
    encoding: str            # text encoding, or the format ("pdf", "docx") for binary files
    pages: int | None = None  # PDF page count
