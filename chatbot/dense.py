"""FAISS inner-product search over L2-normalised vectors; exact when small, IVF when large."""

from __future__ import annotations

import math
from pathlib import Path

import faiss
import numpy as np

EXACT_UP_TO = 50_000  # below this, exact search is both fast enough and perfect


def choose_nlist(n: int) -> int:
    return int(min(65536, max(64, 4 * math.sqrt(n))))


class DenseIndex:
    def __init__(self, index: faiss.Index, kind: str):
        self.index = index
        self.kind = kind

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self.index.d)

    @property
    def nbytes(self) -> int:
        """Memory held by the index: stored vectors, their ids and the coarse centroids."""
        index = self.index
        try:
            ivf = faiss.extract_index_ivf(index)
        except RuntimeError:
            ivf = None
        if ivf is None:
            return int(index.ntotal) * int(getattr(index, "code_size", 4 * index.d))
        lists = ivf.invlists
        stored = sum(int(lists.list_size(i)) for i in range(ivf.nlist))
        return stored * (int(ivf.code_size) + 8) + int(ivf.nlist) * int(ivf.d) * 4

    @classmethod
    def build(cls, vectors: np.ndarray, kind: str = "auto", nprobe: int | None = None, seed: int = 0) -> "DenseIndex":
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, d = vectors.shape
        if kind == "auto":
            kind = "flat" if n <= EXACT_UP_TO else "ivf"
        if kind == "flat":
            index = faiss.IndexFlatIP(d)
            index.add(vectors)
            return cls(index, "flat")
        nlist = choose_nlist(n)
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        sample = vectors[rng.choice(n, size=min(n, nlist * 40), replace=False)] if n > nlist * 40 else vectors
        index.train(sample)
        index.add(vectors)
        index.nprobe = nprobe or max(8, nlist // 48)
        return cls(index, f"ivf{nlist},nprobe={index.nprobe}")

    def search(self, query_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, scores) of shape (q, k'); rows padded by FAISS with -1 are trimmed by callers."""
        k = max(1, min(k, self.ntotal))
        scores, ids = self.index.search(np.ascontiguousarray(query_vectors, dtype=np.float32), k)
        return ids, scores

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, kind: str) -> "DenseIndex":
        index = faiss.read_index(str(path))
        if kind.startswith("ivf") and "nprobe=" in kind:
            faiss.extract_index_ivf(index).nprobe = int(kind.split("nprobe=")[1])
        return cls(index, kind)
