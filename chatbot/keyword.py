"""BM25 over jieba tokens (bm25s). Built once at index time, loaded once, queried as a lookup."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Sequence

import bm25s
import numpy as np

from .textnorm import keyword_tokens

logging.getLogger("bm25s").setLevel(logging.WARNING)


class KeywordIndex:
    def __init__(self, retriever: bm25s.BM25, n: int):
        self._bm25 = retriever
        self.n = n

    @classmethod
    def build(cls, texts: Sequence[str]) -> "KeywordIndex":
        """Index normalised texts (see `textnorm.keyword_tokens`)."""
        corpus_tokens = [keyword_tokens(t, normalized=True) or ["∅"] for t in texts]
        retriever = bm25s.BM25(k1=1.2, b=0.75)
        retriever.index(corpus_tokens, show_progress=False)
        return cls(retriever, len(corpus_tokens))

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._bm25.save(str(folder))
        (folder / "meta.json").write_text(json.dumps({"n": self.n}))

    @classmethod
    def load(cls, folder: Path, mmap: bool = False) -> "KeywordIndex":
        retriever = bm25s.BM25.load(str(folder), mmap=mmap)
        n = json.loads((folder / "meta.json").read_text())["n"]
        return cls(retriever, n)

    def known(self, tokens: Sequence[str]) -> list[str]:
        vocab = self._bm25.vocab_dict
        return [t for t in tokens if t in vocab]

    def idf(self, token: str) -> float:
        """Inverse document frequency of a token (0 when unseen), for weighting query terms."""
        tid = self._bm25.vocab_dict.get(token)
        if tid is None:
            return 0.0
        indptr = self._bm25.scores["indptr"]
        df = int(indptr[tid + 1] - indptr[tid])
        return float(np.log(1 + (self.n - df + 0.5) / (df + 0.5)))

    def unseen_idf(self) -> float:
        """idf of a term no document contains (the largest idf possible)."""
        return float(np.log(1 + (self.n + 0.5) / 0.5))

    def search(self, tokens: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) for query tokens; empty when no token is in the vocabulary."""
        ids = self._bm25.get_tokens_ids(list(tokens))
        if not ids or self.n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        scores = self._bm25.get_scores_from_ids(ids)
        k = min(k, self.n)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        keep = scores[top] > 0
        return top[keep].astype(np.int64), scores[top][keep].astype(np.float32)
