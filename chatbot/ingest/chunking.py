"""Chinese-aware chunking: paragraphs → sentences → chunks under a size limit, with overlap.

Sentences end at 。！？；… (and their half-width forms after NFKC). A chunk never cuts a
sentence unless that sentence alone is longer than the limit; then it is cut at clause marks
(，、：) and, only as a last resort, at the limit. Each chunk keeps its document's metadata.
"""

from __future__ import annotations

import re
from typing import Iterable, Iterator

from ..types import Document, Passage

# A sentence ends after one of these (plus any closing quotes/brackets that follow it).
_SENTENCE = re.compile(r".*?(?:[。！？；!?;…]+[”’」』)\]]*|$)")
_CLAUSE_END = re.compile(r"(?<=[，、：,:])")


def split_sentences(text: str) -> list[str]:
    """Sentences of a text, in order, each keeping its end mark; paragraphs never merge."""
    out: list[str] = []
    for para in text.splitlines():
        para = para.strip()
        if not para:
            continue
        out.extend(m.strip() for m in _SENTENCE.findall(para) if m.strip())
    return out


def _cut_long(sentence: str, limit: int) -> Iterator[str]:
    """Cut one over-long sentence at clause marks, then hard at the limit."""
    buf = ""
    for clause in (c for c in _CLAUSE_END.split(sentence) if c):
        while len(clause) > limit:
            if buf:
                yield buf
                buf = ""
            yield clause[:limit]
            clause = clause[limit:]
        if len(buf) + len(clause) > limit and buf:
            yield buf
            buf = ""
        buf += clause
    if buf:
        yield buf


def chunk_text(text: str, limit: int = 360, overlap: int = 80) -> list[str]:
    """Pack sentences into chunks of at most `limit` characters; the next chunk repeats up to
    `overlap` characters of whole trailing sentences from the previous one."""
    units: list[str] = []
    for sentence in split_sentences(text):
        units.extend(_cut_long(sentence, limit) if len(sentence) > limit else [sentence])
    chunks: list[str] = []
    current: list[str] = []
    size = 0
    fresh = 0  # units in `current` not already emitted by the previous chunk
    for unit in units:
        if current and size + len(unit) > limit:
            chunks.append("".join(current))
            carry: list[str] = []
            carried = 0
            for prev in reversed(current):
                if carried + len(prev) > overlap or carried + len(prev) + len(unit) > limit:
                    break
                carry.insert(0, prev)
                carried += len(prev)
            current, size, fresh = carry, carried, 0
        current.append(unit)
        size += len(unit)
        fresh += 1
    if current and fresh:
        chunks.append("".join(current))
    return chunks


def chunk_document(doc: Document, limit: int = 360, overlap: int = 80) -> list[Passage]:
    pieces = chunk_text(doc.text, limit, overlap) or [doc.title]
    return [
        Passage(f"{doc.doc_id}:{k}", doc.doc_id, doc.source, doc.title, doc.date, doc.position, doc.kind, piece,
                doc.page, doc.section)
        for k, piece in enumerate(pieces)
    ]


def chunk_documents(docs: Iterable[Document], limit: int = 360, overlap: int = 80) -> list[Passage]:
    return [p for doc in docs for p in chunk_document(doc, limit, overlap)]

