"""Dense index parameters both backends use, so that FAISS and Milvus build the same kind of index
for the same corpus size: exact search up to EXACT_UP_TO passages, HNSW above (see files/dense.py
for why, and docs/performance.md for the recall/speed measurements behind the numbers)."""

from __future__ import annotations

import math

EXACT_UP_TO = 10_000   # below this, exact search is both fast enough and perfect
HNSW_M = 32            # graph degree: links per vector (×2 on the base layer)
HNSW_EF_CONSTRUCTION = 40


def choose_nlist(n: int) -> int:
    """IVF cells for n vectors (IVF is kept only as an explicit choice)."""
    return int(min(65536, max(64, 4 * math.sqrt(n))))


def choose_ef_search(n: int) -> int:
    """Candidates HNSW keeps while searching: more for larger graphs, to hold recall@10 at about
    0.95 or above on questions: 512 × (n / 100 000)^0.48 up to 100 000 passages (512 there), then
    doubling per tenfold growth (1 024 at a million, where `chatbot bench` measured recall@10
    0.968–0.975 at efSearch 1 024 in two runs, against 0.984–0.994 at the 1 546 of the earlier
    formula for about twice the time; the bench prints the recall/speed curve around the choice)."""
    if n <= 100_000:
        return int(min(2048, max(128, 512 * (n / 100_000) ** 0.48)))
    return int(min(2048, round(512 * (n / 100_000) ** math.log10(2))))
