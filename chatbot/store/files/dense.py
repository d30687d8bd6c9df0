"""FAISS inner-product search over L2-normalised vectors: exact when small, HNSW when large.

Exact search reads every stored vector for every question: 20 MB at 10 000 passages, which on a
small shared machine already costs about as much as embedding the question. Above that, an HNSW
graph visits a few thousand vectors instead. The graph stores its vectors in one byte a dimension
(faiss IndexHNSWSQ, QT_8bit, each dimension's range learned from the first vectors: a quarter of
float32's memory, 0.5 GB instead of 2 at a million passages; recall@10 against exact float32 search
is measured by `chatbot bench`), while exact search keeps float32. HNSW rather than IVF because
questions are not passages: a question's nearest passages scatter over many IVF cells, and IVF had
to scan about a fifth of 100 000 passages for 0.95 recall@10 (about 9× faster than exact search),
where HNSW reached it 20–40× faster (see docs/performance.md). IVF stays available as kind="ivf".
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from ... import stages
from ..params import EXACT_UP_TO, HNSW_CODE, HNSW_EF_CONSTRUCTION, HNSW_M, HNSW_TRAIN, choose_ef_search, choose_nlist

ADD_BLOCK = 100_000

__all__ = ["EXACT_UP_TO", "HNSW_EF_CONSTRUCTION", "HNSW_M", "DenseIndex", "choose_ef_search", "choose_nlist"]


def _hnsw(sample: np.ndarray) -> faiss.IndexHNSWSQ:
    """An empty HNSW graph storing its vectors as `HNSW_CODE`, its 8-bit ranges (if any) learned
    from up to HNSW_TRAIN vectors of `sample`."""
    d = sample.shape[1]
    code = faiss.ScalarQuantizer.QT_8bit if HNSW_CODE == "sq8" else faiss.ScalarQuantizer.QT_fp16
    index = faiss.IndexHNSWSQ(d, code, HNSW_M, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    if not index.is_trained:
        index.train(np.ascontiguousarray(sample[:HNSW_TRAIN], dtype=np.float32))
    return index


class DenseIndex:
    def __init__(self, index: faiss.Index, kind: str):
        self.index = index
        self.kind = kind
        self._flat: np.ndarray | None = None  # an exact index's stored vectors, viewed in place (`_stored`)

    @property
    def ntotal(self) -> int:
        return int(self.index.ntotal)

    @property
    def dimension(self) -> int:
        return int(self.index.d)

    @property
    def nbytes(self) -> int:
        """Memory held by the index: stored vectors, plus graph links or list ids and centroids."""
        index = self.index
        vectors = int(index.ntotal) * int(index.d) * 4
        if isinstance(index, faiss.IndexHNSW):
            hnsw = index.hnsw
            vectors = int(index.ntotal) * int(index.storage.sa_code_size())
            return vectors + int(hnsw.neighbors.size()) * 4 + int(hnsw.offsets.size()) * 8 + int(hnsw.levels.size()) * 4
        try:
            ivf = faiss.extract_index_ivf(index)
        except RuntimeError:
            return vectors
        return int(index.ntotal) * (int(ivf.code_size) + 8) + int(ivf.nlist) * int(ivf.d) * 4

    @classmethod
    def build(cls, vectors: np.ndarray, kind: str = "auto", nprobe: int | None = None, seed: int = 0,
              ef_search: int | None = None) -> "DenseIndex":
        """kind: "auto" (exact up to EXACT_UP_TO vectors, HNSW above), "flat", "hnsw" or "ivf"."""
        stages.event("dense_index_build")
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        n, d = vectors.shape
        if kind == "auto":
            kind = "flat" if n <= EXACT_UP_TO else "hnsw"
        if kind == "flat":
            index = faiss.IndexFlatIP(d)
            index.add(vectors)
            return cls(index, "flat")
        if kind == "hnsw":
            index = _hnsw(vectors)
            for s in range(0, n, ADD_BLOCK):  # faiss encodes each block as it goes
                index.add(vectors[s:s + ADD_BLOCK])
            index.hnsw.efSearch = ef_search or choose_ef_search(n)
            return cls(index, f"hnsw{HNSW_M}-{HNSW_CODE},ef={index.hnsw.efSearch}")
        nlist = choose_nlist(n)
        quantizer = faiss.IndexFlatIP(d)
        index = faiss.IndexIVFFlat(quantizer, d, nlist, faiss.METRIC_INNER_PRODUCT)
        rng = np.random.default_rng(seed)
        sample = vectors[rng.choice(n, size=min(n, nlist * 40), replace=False)] if n > nlist * 40 else vectors
        index.train(sample)
        index.add(vectors)
        index.nprobe = nprobe or max(8, nlist // 48)
        return cls(index, f"ivf{nlist},nprobe={index.nprobe}")

    @classmethod
    def from_blocks(cls, n: int, d: int, blocks) -> "DenseIndex":
        """The index `build(vectors)` gives (kind "auto", flat or HNSW), from the vectors given as
        consecutive float32 blocks: above EXACT_UP_TO the whole matrix is never held at once."""
        if n <= EXACT_UP_TO:
            return cls.build(np.concatenate(list(blocks)).reshape(n, d))
        stages.event("dense_index_build")
        index = None
        for block in blocks:
            block = np.ascontiguousarray(block, dtype=np.float32).reshape(-1, d)
            if index is None:
                index = _hnsw(block)  # the first block is the sample the 8-bit ranges are learned from
            index.add(block)
        if index is None or index.ntotal != n:
            raise ValueError(f"{index.ntotal if index else 0} vectors given, {n} announced")
        index.hnsw.efSearch = choose_ef_search(n)
        return cls(index, f"hnsw{HNSW_M}-{HNSW_CODE},ef={index.hnsw.efSearch}")

    def search(self, query_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """(ids, scores) of shape (q, k'); rows padded by FAISS with -1 are trimmed by callers."""
        index = self.index
        k = max(1, min(k, int(index.ntotal)))
        x = np.ascontiguousarray(query_vectors, dtype=np.float32)
        if x.ndim != 2 or x.shape[1] != index.d:
            raise ValueError(f"query vectors of shape {x.shape} for an index of dimension {index.d}")
        scores = np.empty((x.shape[0], k), dtype=np.float32)
        ids = np.empty((x.shape[0], k), dtype=np.int64)
        # FAISS's own search() around the same call converts and checks the query again (~10 µs a question)
        index.search_c(x.shape[0], faiss.swig_ptr(x), k, faiss.swig_ptr(scores), faiss.swig_ptr(ids))
        return ids, scores

    def similarity(self, query_vector: np.ndarray, ids) -> np.ndarray | None:
        """Exact inner products of one query with stored vectors `ids` (for candidates that only
        keyword search found); None when the index type cannot give its vectors back."""
        ids = np.asarray(list(ids), dtype=np.int64)
        if ids.size == 0:
            return np.zeros(0, dtype=np.float32)
        flat = self._stored()
        if flat is not None:
            stored = flat[ids]  # the same float32 rows reconstruct_batch copies, without its call overhead
        else:
            try:
                stored = self.index.reconstruct_batch(ids)
            except RuntimeError:
                return None
        return stored.dot(np.asarray(query_vector, dtype=np.float32).reshape(-1))  # .dot: @'s BLAS product, less dispatch

    def _stored(self) -> np.ndarray | None:
        """An exact (IndexFlat) index's vectors as an (n, d) float32 view of FAISS's own memory; None
        for other kinds. The view is remade if the index grew (its storage may have moved)."""
        index = self.index
        if not isinstance(index, faiss.IndexFlat):
            return None
        n, d = int(index.ntotal), int(index.d)
        flat = self._flat
        if flat is None or flat.shape[0] != n:
            flat = faiss.rev_swig_ptr(index.get_xb(), n * d).reshape(n, d) if n else np.zeros((0, d), np.float32)
            self._flat = flat
        return flat

    def save(self, path: Path) -> None:
        faiss.write_index(self.index, str(path))

    @classmethod
    def load(cls, path: Path, kind: str) -> "DenseIndex":
        index = faiss.read_index(str(path))
        if kind.startswith("ivf") and "nprobe=" in kind:
            faiss.extract_index_ivf(index).nprobe = int(kind.split("nprobe=")[1])
        elif kind.startswith("hnsw") and "ef=" in kind:
            index.hnsw.efSearch = int(kind.split("ef=")[1])
        return cls(index, kind)
