"""Test doubles: a deterministic embedder that needs no model."""

from __future__ import annotations

import hashlib
import re

import numpy as np


class FakeEmbedder:
    """Deterministic bag-of-character-bigrams hashed into 64 dimensions, L2-normalised.

    Similar strings get similar vectors, which is all the unit tests need; no model is loaded.
    """

    model_name = "fake-bigram-64"
    dimension = 64

    def __init__(self):
        self.calls = 0
        self.texts_seen = 0

    def encode(self, texts, show_progress: bool = False) -> np.ndarray:
        self.calls += 1
        self.texts_seen += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            chars = re.sub(r"\s+", "", text)
            grams = [chars[i:i + 2] for i in range(max(1, len(chars) - 1))] or ["∅"]
            for g in grams:
                h = int.from_bytes(hashlib.blake2b(g.encode("utf-8"), digest_size=4).digest(), "little")
                out[row, h % self.dimension] += 1.0 if (h >> 16) & 1 else -1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm > 0 else 1.0 / np.sqrt(self.dimension)
        return out
