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


class Neighbours:
    """Nearest corpus terms of English words, by the embedding model's cosine."""

    def __init__(self, embedder: "Embedder", vocabulary: Callable[[], Iterable[str]]):
        self._embedder = embedder
        self._vocabulary = vocabulary
        self._terms: list[str] | None = None
        self._vectors: np.ndarray | None = None
        self._lock = threading.Lock()

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
        sims = self._embedder.encode(keys) @ vectors.T
        out: list[str] = []
        for row in sims:
            for j in np.argsort(-row)[:per_word]:
                if row[j] >= min_cosine and terms[j] not in out:
                    out.append(terms[j])
        return out
