"""Hybrid retrieval: dense FAISS + BM25 over jieba tokens, fused by weighted reciprocal rank,
then a place check that puts passages about the place the user named first."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .chunking import Passage
from .config import Config
from .embedder import Embedder
from .index import SearchIndex
from .places import Place, find_places, missing_places
from .textnorm import cjk_share, normalize, tokenize


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float                # fused score (higher is better)
    dense_score: float          # cosine similarity, 0 when not among the dense candidates
    keyword_score: float        # BM25 score, 0 when not among the keyword candidates
    dense_rank: int | None      # 1-based rank in each list, None when absent
    keyword_rank: int | None
    missing: tuple[str, ...]    # places named in the question that this passage does not cover


@dataclass(frozen=True)
class Retrieval:
    query: str
    normalized: str
    tokens: tuple[str, ...]
    places: tuple[str, ...]
    hits: tuple[Hit, ...]

    @property
    def place_mismatch(self) -> bool:
        """True when the user named a place and no retrieved passage covers it."""
        return bool(self.places) and bool(self.hits) and all(h.missing for h in self.hits)


class Retriever:
    """Loaded once per process; `search` is safe to call from many threads."""

    def __init__(self, index: SearchIndex, embedder: Embedder, config: Config | None = None):
        self.index = index
        self.embedder = embedder
        self.config = config or Config()
        self._places_lock = threading.Lock()
        self._passage_places = _PassagePlaces(index.passages)

    def embed_query(self, normalized_query: str) -> np.ndarray:
        return self.embedder.encode([normalized_query])

    def search(self, query: str, k: int | None = None) -> Retrieval:
        cfg = self.config
        k = k or cfg.top_k
        norm = normalize(query)
        tokens = tuple(tokenize(norm, normalized=True))
        qplaces = find_places(norm)
        n = len(self.index.passages)
        if not norm or n == 0:
            return Retrieval(query, norm, tokens, tuple(p.name for p in qplaces), ())
        depth = min(n, cfg.candidates)

        ids, scores = self.index.dense.search(self.embed_query(norm), depth)
        dense = [(int(i), float(s)) for i, s in zip(ids[0], scores[0]) if i >= 0]
        kid, kscore = self.index.keyword.search(tokens, depth) if tokens else ([], [])
        keyword = [(int(i), float(s)) for i, s in zip(kid, kscore)]

        # Keyword matching means little for an English question against a Chinese corpus.
        w_kw = cfg.bm25_weight * cjk_share(norm)
        fused: dict[int, list] = {}
        for rank, (i, s) in enumerate(dense, 1):
            fused.setdefault(i, [0.0, 0.0, 0.0, None, None])
            fused[i][0] += 1.0 / (cfg.rrf_k + rank)
            fused[i][1], fused[i][3] = s, rank
        for rank, (i, s) in enumerate(keyword, 1):
            fused.setdefault(i, [0.0, 0.0, 0.0, None, None])
            fused[i][0] += w_kw / (cfg.rrf_k + rank)
            fused[i][2], fused[i][4] = s, rank

        hits = []
        for i, (score, ds, ks, dr, kr) in fused.items():
            miss = missing_places(qplaces, self._passage_places.get(i)) if qplaces else []
            hits.append(Hit(self.index.passages[i], score, ds, ks, dr, kr, tuple(p.name for p in miss)))
        # Passages about the place the user named go first; within each group, fused order.
        hits.sort(key=lambda h: (bool(h.missing), -h.score))
        return Retrieval(query, norm, tokens, tuple(p.name for p in qplaces), tuple(hits[:max(k, 1)]))


class _PassagePlaces:
    """Places named in each passage, computed on first need and cached."""

    def __init__(self, passages: list[Passage]):
        self._passages = passages
        self._cache: dict[int, list[Place]] = {}
        self._lock = threading.Lock()

    def get(self, i: int) -> list[Place]:
        found = self._cache.get(i)
        if found is None:
            found = find_places(self._passages[i].embed_text_normalized)
            with self._lock:
                self._cache[i] = found
        return found
