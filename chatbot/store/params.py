"""Dense index parameters both backends use, so that FAISS and Milvus build the same kind of index
for the same corpus size: exact search up to EXACT_UP_TO passages, HNSW above (see files/dense.py
for why, and docs/performance.md for the recall/speed measurements behind the numbers)."""

from __future__ import annotations

import math

EXACT_UP_TO = 10_000   # below this, exact search is both fast enough and perfect
HNSW_M = 32            # graph degree: links per vector (×2 on the base layer)
# Candidates kept while building the graph. 40 → 100 in session 27: at a million synthetic passages (8-bit
# vectors) recall@10 at efSearch 512 / 1 024 rose 0.889 / 0.942 → 0.946 / 0.981 for 147 → 183 s of graph build,
# so the search keeps fewer candidates (choose_ef_search) for the same recall, in less time than the keyword search.
HNSW_EF_CONSTRUCTION = 100
MILVUS_EF_CONSTRUCTION = 40   # Milvus keeps the graph its figures were measured with (docs/milvus.md)
# How the graph stores its vectors: "sq8", one byte a dimension (faiss QT_8bit, each dimension's range
# learned from the first vectors added), or "fp16". An index file says which it holds, so either loads.
# Session 27, a million synthetic passages, one bench each: recall@10 0.980 (fp16) → 0.969 (sq8) at 30×
# over exact search, the answering process 2 561 → 2 072 MB (its own memory 1 501 → 1 012 MB).
HNSW_CODE = "sq8"
HNSW_TRAIN = 100_000   # vectors the 8-bit ranges are learned from


def choose_nlist(n: int) -> int:
    """IVF cells for n vectors (IVF is kept only as an explicit choice)."""
    return int(min(65536, max(64, 4 * math.sqrt(n))))


def choose_ef_search(n: int, ef_construction: int = HNSW_EF_CONSTRUCTION) -> int:
    """Candidates HNSW keeps while searching: more for larger graphs, to hold recall@10 at about
    0.95 or above on questions (measured by `chatbot bench`, which also prints the recall/speed
    curve around the chosen value). A graph built with efConstruction 100: 320 at 100 000 passages,
    about 970 at a million; with 40 (Milvus): 512 and about 1 550."""
    base = 512 if ef_construction < 100 else 320
    return int(min(2048, max(128, base * (n / 100_000) ** 0.48)))
