"""BM25 over the keyword tokens of `textnorm.keyword_tokens` (jieba words + CJK bigrams), through
bm25s's own index, save and load (memory-mapped), queried with bm25s's scorer. Shared by both
backends: the files backend saves it under `bm25/`; the Milvus backend builds it in process from
the collection's stored terms when the server has no BM25 function (Milvus < 2.5).

Saved next to bm25s's files: every passage's token ids (`doc_tokens.npy`, flat, against bm25s's
vocabulary) and lengths, so that the next build reuses the tokens of unchanged files instead of
running jieba over them again (`tokens_of`), guarded by the tokenizer's fingerprint.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Iterable, Sequence

import bm25s
import jieba
import numpy as np

from .. import stages, textnorm

logging.getLogger("bm25s").setLevel(logging.WARNING)

K1, B = 1.2, 0.75
EMPTY = "∅"  # the token of a passage with no keyword at all, so that every row has a length
TOKENS_FILE, LENGTHS_FILE, META_FILE = "doc_tokens.npy", "doc_lengths.npy", "meta.json"

# Changes whenever `textnorm.keyword_tokens` could tokenise a text differently (any edit of
# textnorm.py, another jieba), so that a build never reuses tokens saved by another tokenizer.
TOKENIZER = textnorm.FINGERPRINT


def tokenize(text_normalized: str) -> list[str]:
    """The keyword tokens of one normalised passage text (EMPTY for a passage without any)."""
    return textnorm.keyword_tokens(text_normalized, normalized=True) or [EMPTY]


class KeywordIndex:
    """A bm25s index plus the token ids it was built from (for reuse by the next build)."""

    def __init__(self, retriever: bm25s.BM25, folder: Path | None = None, tokenizer: str | None = None,
                 doc_tokens: tuple[np.ndarray, np.ndarray] | None = None):
        self._bm25 = retriever
        self.n = int(retriever.scores["num_docs"])
        self._folder = folder
        self._tokenizer = tokenizer
        self._doc_tokens = doc_tokens   # (flat ids, lengths) when built here; read from disk on demand
        self._vocab_list: list[str] | None = None

    @classmethod
    def build(cls, texts: Sequence[str]) -> "KeywordIndex":
        """Index normalised passage texts."""
        return cls.from_tokens(tokenize(t) for t in texts)

    @classmethod
    def from_tokens(cls, corpus_tokens: Iterable[Sequence[str]]) -> "KeywordIndex":
        """Index passages given as token lists (an empty list stands for a passage without keywords)."""
        stages.event("keyword_index_build")
        corpus = [list(t) or [EMPTY] for t in corpus_tokens]
        if not corpus:
            raise ValueError("cannot index an empty corpus")
        retriever = bm25s.BM25(k1=K1, b=B)
        retriever.index(corpus, show_progress=False)
        vocab = retriever.vocab_dict
        lengths = np.fromiter((len(t) for t in corpus), dtype=np.int32, count=len(corpus))
        flat = np.fromiter((vocab[tok] for doc in corpus for tok in doc), dtype=np.int32, count=int(lengths.sum()))
        return cls(retriever, tokenizer=TOKENIZER, doc_tokens=(flat, lengths))

    # ---- persistence

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._bm25.save(str(folder), show_progress=False)
        meta = {"n": self.n}
        if self._doc_tokens is not None:
            ids, lengths = self._doc_tokens
            np.save(folder / TOKENS_FILE, ids.astype(np.int32))
            np.save(folder / LENGTHS_FILE, lengths.astype(np.int32))
            meta["tokenizer"] = self._tokenizer
        (folder / META_FILE).write_text(json.dumps(meta))

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> "KeywordIndex":
        """bm25s's load; the score matrix is memory-mapped (shared between processes, paged in on use)."""
        retriever = bm25s.BM25.load(str(folder), mmap=mmap, show_progress=False)
        meta = json.loads((Path(folder) / META_FILE).read_text())
        index = cls(retriever, Path(folder), meta.get("tokenizer"))
        if index.n != meta.get("n"):
            raise ValueError("keyword index size differs from its metadata")
        return index

    # ---- token reuse for incremental builds

    @property
    def reusable(self) -> bool:
        """True when a build may reuse this index's saved tokens (same tokenizer, files intact)."""
        return self._saved_tokens() is not None

    def tokens_of(self, start: int, end: int) -> list[list[str]]:
        """The tokens of passages [start, end) as they were indexed (requires `reusable`)."""
        saved = self._saved_tokens()
        if saved is None:
            raise ValueError("this keyword index has no reusable tokens")
        ids, offsets = saved
        vocab = self._vocab()
        flat = ids[offsets[start]:offsets[end]].tolist()
        out, pos = [], 0
        for length in np.diff(offsets[start:end + 1]).tolist():
            out.append([vocab[i] for i in flat[pos:pos + length]])
            pos += length
        return out

    def _vocab(self) -> list[str]:
        if self._vocab_list is None:
            vocab = [""] * len(self._bm25.vocab_dict)
            for token, i in self._bm25.vocab_dict.items():
                vocab[i] = token
            self._vocab_list = vocab
        return self._vocab_list

    def _saved_tokens(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self._tokenizer != TOKENIZER:
            return None
        if self._doc_tokens is None:
            if self._folder is None or not (self._folder / TOKENS_FILE).exists():
                return None
            try:
                self._doc_tokens = (np.load(self._folder / TOKENS_FILE, mmap_mode="r"),
                                    np.load(self._folder / LENGTHS_FILE))
            except (OSError, ValueError):
                return None
        ids, lengths = self._doc_tokens
        if len(lengths) != self.n or int(np.sum(lengths, dtype=np.int64)) != len(ids):
            return None
        offsets = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return np.asarray(ids), offsets

    # ---- queries

    @property
    def nbytes(self) -> int:
        """Size of the score matrix (memory-mapped: resident only where queries touch it)."""
        s = self._bm25.scores
        return int(s["data"].nbytes + s["indices"].nbytes + s["indptr"].nbytes)

    def _df(self, token: str) -> int:
        tid = self._bm25.vocab_dict.get(token)
        if tid is None:
            return 0
        indptr = self._bm25.scores["indptr"]
        return int(indptr[tid + 1] - indptr[tid]) if tid + 1 < len(indptr) else 0

    def vocabulary(self) -> list[str]:
        """The indexed terms, most passages first (for matching English words to corpus terms)."""
        indptr = np.asarray(self._bm25.scores["indptr"])
        df = np.diff(indptr)
        vocab = self._vocab()
        return [vocab[i] for i in np.argsort(-df, kind="stable") if i < len(vocab)]

    def idf(self, token: str) -> float:
        """Inverse document frequency of a token (0 when no passage holds it), as bm25s's lucene idf."""
        df = self._df(token)
        return float(np.log(1 + (self.n - df + 0.5) / (df + 0.5))) if df else 0.0

    def unseen_idf(self) -> float:
        """idf of a term no passage contains (the largest idf possible)."""
        return float(np.log(1 + (self.n + 0.5) / 0.5))

    def search(self, tokens: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) with a positive score; empty when no token is in the vocabulary."""
        ids = [i for i in self._bm25.get_tokens_ids(list(tokens)) if i + 1 < len(self._bm25.scores["indptr"])]
        if not ids or self.n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores = self._bm25.get_scores_from_ids(ids)
        k = min(k, self.n)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.lexsort((top, -scores[top]))]
        keep = scores[top] > 0
        return top[keep].astype(np.int64), scores[top][keep].astype(np.float32)
