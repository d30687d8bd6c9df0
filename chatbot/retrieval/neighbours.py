"""English words meet the corpus's own Chinese terms through the embedding model (learned CLIR).

The multilingual model places an English word near the Chinese words that translate it (forgot ·
忘记, lost · 丢失 · 挂失, withdraw · 取出, class · 甲类), including words no dictionary gloss keys
by the inflected form a question uses. Each content word of an English question (and each pair
of adjacent ones) is matched against the corpus's Chinese keyword vocabulary by cosine; its
nearest `per_word` terms at or above `min_cosine` join the dictionary's translation on the keyword
side. No word list: the vocabulary is the index's, the similarity the model's. The vocabulary's
vectors are computed on the first English question, once per loaded index.
"""

from __future__ import annotations

import re
import threading
from typing import TYPE_CHECKING, Callable, Iterable

import numpy as np

from .crosslingual import STOP

if TYPE_CHECKING:
    from ..embedder import Embedder

_WORD = re.compile(r"[a-z][a-z'\-]*")
_TERM = re.compile(r"^[\u4e00-\u9fff]{2,6}$")
MAX_TERMS = 20_000   # most frequent vocabulary terms embedded (bounds the first English question's cost)
KEPT = 8             # nearest terms remembered per key (words recur across questions: no second encode)
MAX_KEYS = 50_000    # keys remembered, least recent dropped


class Neighbours:
    """Nearest corpus terms of English words, by the embedding model's cosine."""

    def __init__(self, embedder: "Embedder", vocabulary: Callable[[], Iterable[str]]):
        self._embedder = embedder
        self._vocabulary = vocabulary
        self._terms: list[str] | None = None
        self._vectors: np.ndarray | None = None
        self._lock = threading.Lock()
        self._nearest: dict[str, list[tuple[str, float]]] = {}  # key -> its KEPT nearest (term, cosine)

    def _load(self) -> tuple[list[str], np.ndarray]:
        with self._lock:
            if self._terms is None:
                terms = [t for t in self._vocabulary() if _TERM.match(t)][:MAX_TERMS]
                self._vectors = self._embedder.encode(terms) if terms else np.zeros((0, 1), dtype=np.float32)
                self._terms = terms
        return self._terms, self._vectors

    def terms(self, question: str, per_word: int, min_cosine: float) -> list[str]:
        words = [w for w in _WORD.findall(question.lower()) if w not in STOP and len(w) > 2]
        return self.nearest(words + [f"{a} {b}" for a, b in zip(words, words[1:])], per_word, min_cosine)

    def nearest(self, keys: list[str], per_word: int, min_cosine: float) -> list[str]:
        """The corpus terms nearest each key (a word or phrase of any language)."""
        terms, vectors = self._load()
        if not keys or not terms:
            return []
        known = self._nearest
        fresh = [k for k in dict.fromkeys(keys) if k not in known]
        found: dict[str, list[tuple[str, float]]] = {}
        if fresh:
            sims = self._embedder.encode(fresh) @ vectors.T
            keep = min(KEPT, sims.shape[1])
            for key, row in zip(fresh, sims):
                top = np.argpartition(-row, keep - 1)[:keep]
                found[key] = [(terms[j], float(row[j])) for j in top[np.argsort(-row[top], kind="stable")]]
            with self._lock:
                known.update(found)
                while len(known) > MAX_KEYS:
                    known.pop(next(iter(known)))
        out: list[str] = []
        for key in keys:
            for term, cos in (found.get(key) or known.get(key, []))[:per_word]:  # per_word ≤ KEPT
                if cos >= min_cosine and term not in out:
                    out.append(term)
        return out
