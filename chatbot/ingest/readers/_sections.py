"""Blocks (headings, paragraphs, table rows) → one Document per section, the heading path kept."""

from __future__ import annotations

from dataclasses import dataclass

from ...types import Document


@dataclass
class Block:
    text: str
    level: int = 0   # 1..6 for headings, 0 for body text


def documents(blocks: list[Block], source: str, title: str, kind: str = "section") -> list[Document]:
    """Group body blocks under the headings above them. The document title is not repeated in
    the section path; text before the first heading has no section."""
    docs: list[Document] = []
    path: list[tuple[int, str]] = []
    body: list[str] = []

    def emit() -> None:
        text = "\n".join(t for t in body if t.strip())
        if text:
            section = " / ".join(t for _, t in path if t != title) or None
            pos = len(docs)
            docs.append(Document(f"{source}#{pos}", source, title, text, None, pos, kind, None, section))
        body.clear()

    for b in blocks:
        if b.level:
            emit()
            while path and path[-1][0] >= b.level:
                path.pop()
            path.append((b.level, b.text))
        else:
            body.append(b.text)
    emit()
    if not docs and path:  # headings only: still content
        text = "\n".join(t for _, t in path)
        docs.append(Document(f"{source}#0", source, title, text, None, 0, kind, None, None))
    return docs
