"""The pipeline's data: documents, passages, retrieval hits, answers and build reports.

Standard library only, so that modules which merely pass results around (rendering, the chat
handler, the CLI's output) import in milliseconds and never load torch, FAISS or the index.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

# ---- ingest -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Document:
    """One article: the main answer of a page, a recommended item, a page of a PDF, a section of a
    Word file, or a whole plain file."""

    doc_id: str
    source: str      # file name relative to the documents folder
    title: str
    text: str
    date: str | None
    position: int    # 0 = main article, 1.. = items in page order
    kind: str        # "article" | "item" | "text" | "page" | "section"
    page: int | None = None      # 1-based PDF page, else None
    section: str | None = None   # heading path ("第二部分 住院待遇"), else None


@dataclass(frozen=True)
class SourceFile:
    """A readable document file and the documents parsed from it."""

    source: str
    sha256: str
    encoding: str                # text encoding, or the format ("pdf", "docx") of a binary file
    documents: tuple[Document, ...]
    pages: int | None = None     # page count of a PDF


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, and why (shown to whoever runs the build)."""

    source: str
    reason: str


_PASSAGE_FIELDS = ("chunk_id", "doc_id", "source", "title", "date", "position", "kind", "text")


@dataclass(frozen=True)
class Passage:
    """A retrievable chunk of a document, with everything needed to cite it."""

    chunk_id: str    # "<source>#<position>:<k>"
    doc_id: str
    source: str
    title: str
    date: str | None
    position: int
    kind: str
    text: str
    page: int | None = None
    section: str | None = None

    @property
    def embed_text(self) -> str:
        """What is embedded and keyword-indexed: the title carries the question a page answers."""
        return _embed_text(self.title, self.text)

    @property
    def embed_text_normalized(self) -> str:
        """`embed_text` after the same normalisation queries get (Simplified, half-width); kept for
        the most recent passages (an answer reads it for each hit several times)."""
        return _normalized_embed_text(self.title, self.text)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in _PASSAGE_FIELDS}
        if self.page is not None:
            d["page"] = self.page
        if self.section is not None:
            d["section"] = self.section
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Passage":
        return cls(**{k: d[k] for k in _PASSAGE_FIELDS}, page=d.get("page"), section=d.get("section"))


def _embed_text(title: str, text: str) -> str:
    return f"{title}\n{text}" if title and not text.startswith(title) else text


@lru_cache(maxsize=8192)
def _normalized_embed_text(title: str, text: str) -> str:
    from .textnorm import normalize  # light, but not stdlib: loaded only when text is matched

    return normalize(_embed_text(title, text))


# ---- retrieval ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float                # fused score (higher is better)
    dense_score: float          # the question's own cosine (before the query adapter), 0 when not among the dense candidates
    keyword_score: float        # BM25 score, 0 when not among the keyword candidates
    dense_rank: int | None      # 1-based rank in each list, None when absent
    keyword_rank: int | None
    missing: tuple[str, ...]    # places named in the question that this passage does not cover
    lacks: tuple[str, ...] = () # kinds of fact the question requires that the passage does not state


@dataclass(frozen=True)
class Retrieval:
    query: str
    normalized: str
    tokens: tuple[str, ...]
    places: tuple[str, ...]
    hits: tuple[Hit, ...]
    alone_tokens: tuple[str, ...] = ()  # a message read in context: its own words (they may carry the match alone)
    context_text: str = ""  # a message read in context: the conversation's text with it (what kind of fact it goes on asking)
    alone_normalized: str = ""  # a message read in context: its own normalised text (the constraints it names itself)
    elsewhere: float = 0.0  # the best score among the candidates not covering the places asked (0: none)
    alone: "Retrieval | None" = None  # a message read in context: its own search, as if asked alone (deeper than k)

    @property
    def place_mismatch(self) -> bool:
        """True when the user named a place and no retrieved passage covers it."""
        return bool(self.places) and bool(self.hits) and all(h.missing for h in self.hits)


# ---- answers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Citation:
    n: int
    passage: Passage
    score: float
    quotes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        p = self.passage
        return {"n": self.n, "source": p.source, "title": p.title, "date": p.date, "page": p.page,
                "section": p.section, "text": p.text, "score": round(float(self.score), 6),
                "quotes": list(self.quotes)}


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    refused: bool
    citations: tuple[Citation, ...] = ()   # numbered sources the answer cites, [1] first
    related: tuple[Citation, ...] = ()     # nearest passages shown when refusing: not answers
    notice: str | None = None              # e.g. "the question was cut to 500 characters"
    reason: str | None = None              # why it refused: empty | place | scope | no_fact | low_confidence | error | small_talk | statement
    understood_as: str | None = None       # the question as resolved against the conversation, when it changed
    # optional LLM answers (issue 19): written by a language model, every sentence checked against its source
    generated: bool = False                # True when the text is the model's verified sentences
    dropped: tuple[str, ...] = ()          # the model's sentences that failed the check (not shown as the answer)
    fallback_reason: str | None = None     # why the extractive answer is shown although a model is configured
    model: str | None = None               # the language model asked, when one is configured

    def to_dict(self) -> dict:
        return {"answer": self.text, "refused": self.refused,
                "citations": [c.to_dict() for c in self.citations],
                "related": [c.to_dict() for c in self.related],
                "notice": self.notice, "reason": self.reason, "understood_as": self.understood_as,
                "generated": self.generated, "dropped": list(self.dropped),
                "fallback_reason": self.fallback_reason, "model": self.model}


# ---- builds -------------------------------------------------------------------------------


@dataclass
class FileReport:
    source: str
    documents: int
    chunks: int
    reused: bool


@dataclass
class BuildReport:
    folder: Path | str
    files: list[FileReport] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    passages: int = 0
    embedded: int = 0
    seconds: float = 0.0

    def summary(self) -> str:
        reused = sum(1 for f in self.files if f.reused)
        lines = [
            f"Indexed {len(self.files)} file(s), {self.passages} passages "
            f"({self.embedded} embedded, {reused} file(s) unchanged and reused) in {self.seconds:.1f}s → {self.folder}"
        ]
        for s in self.skipped:
            lines.append(f"  skipped {s.source}: {s.reason}")
        return "\n".join(lines)
