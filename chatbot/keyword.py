"""BM25 over jieba tokens (bm25s). Built once at index time, loaded once, queried as a lookup.

The index is bm25s's eager score matrix (one precomputed score per document and term), so a
query only sums a few columns. It is built here with vectorised numpy rather than bm25s's
per-document Python loop: the scores are bit-identical to `bm25s.BM25(k1=1.2, b=0.75).index()`
(tests/test_bench.py checks it), but a million passages index in seconds, and a build can reuse
the token ids of unchanged files instead of re-running jieba over every passage.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from pathlib import Path
from typing import Iterable, Sequence

import bm25s
import numpy as np

import jieba

from . import textnorm
from .textnorm import keyword_tokens

logging.getLogger("bm25s").setLevel(logging.WARNING)

K1, B = 1.2, 0.75
EMPTY = "∅"  # the token of a passage with no keyword at all, so that every row has a length
TOKENS_FILE, LENGTHS_FILE = "doc_tokens.npy", "doc_lengths.npy"  # saved for reuse by the next build
# From this many passages on, a query scores only the passages that can reach its top k (MaxScore);
# below it, scoring every passage is already a fraction of a millisecond.
PRUNE_FROM = 20_000


# Changes whenever `textnorm.keyword_tokens` could tokenise a text differently (any edit of
# textnorm.py, another jieba), so that a build never reuses tokens saved by another tokenizer.
TOKENIZER = f"jieba-{getattr(jieba, '__version__', '?')}/textnorm-" + hashlib.sha256(
    Path(textnorm.__file__).read_bytes()).hexdigest()[:16]


class KeywordIndex:
    def __init__(self, retriever: bm25s.BM25, n: int, folder: Path | None = None, tokenizer: str | None = None):
        self._bm25 = retriever
        self.n = n
        self._folder = folder          # where the saved per-document tokens are, once saved/loaded
        self._tokenizer = tokenizer    # the TOKENIZER that produced them
        self._doc_tokens: tuple[np.ndarray, np.ndarray] | None = None  # (flat ids, lengths) until saved
        self._saved: tuple | None = None  # cache of _saved_tokens(); () when there are none
        self._colmax = self._column_max() if n >= PRUNE_FROM else None  # for pruned top-k search

    @classmethod
    def build(cls, texts: Sequence[str]) -> "KeywordIndex":
        """Index normalised texts (see `textnorm.keyword_tokens`)."""
        return cls.from_tokens(keyword_tokens(t, normalized=True) for t in texts)

    @classmethod
    def build_reusing(cls, items: Sequence[str | int], previous: "KeywordIndex | None") -> "KeywordIndex":
        """Index documents given either as a normalised text (tokenised now) or as the row of
        `previous` holding the same text, whose saved tokens are reused: after one file changes,
        only that file's passages go through jieba again. Same index as `build` over the texts."""
        saved = previous._saved_tokens() if previous is not None else None
        if saved is None:
            if any(not isinstance(x, str) for x in items):
                raise ValueError("rows to reuse, but the previous index has no reusable tokens")
            return cls.build(items)  # type: ignore[arg-type]
        prev_ids, prev_offsets, prev_vocab = saved
        vocab: dict[str, int] = {}
        remap = np.full(len(prev_vocab), -1, dtype=np.int64)   # previous id -> new id
        parts: list[np.ndarray] = []
        lengths = np.empty(len(items), dtype=np.int64)
        for i, item in enumerate(items):
            if isinstance(item, str):
                tokens = keyword_tokens(item, normalized=True) or [EMPTY]
                ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in tokens), dtype=np.int64, count=len(tokens))
            else:
                old = prev_ids[prev_offsets[item]:prev_offsets[item + 1]]
                new = remap[old]
                for j in np.flatnonzero(new < 0):
                    new[j] = remap[old[j]] = vocab.setdefault(prev_vocab[old[j]], len(vocab))
                ids = new
            parts.append(ids)
            lengths[i] = len(ids)
        flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)
        return cls.from_ids(flat, lengths, list(vocab))

    @classmethod
    def from_tokens(cls, corpus_tokens: Iterable[Sequence[str]]) -> "KeywordIndex":
        """Index documents given as token lists (an empty list stands for a passage without keywords)."""
        vocab: dict[str, int] = {}
        ids: list[int] = []
        lengths: list[int] = []
        for tokens in corpus_tokens:
            tokens = tokens or (EMPTY,)
            ids.extend(vocab.setdefault(t, len(vocab)) for t in tokens)
            lengths.append(len(tokens))
        return cls.from_ids(np.asarray(ids, dtype=np.int32), np.asarray(lengths, dtype=np.int64), list(vocab))

    @classmethod
    def from_ids(cls, token_ids: np.ndarray, lengths: np.ndarray, vocab: Sequence[str],
                 keep_tokens: bool = True) -> "KeywordIndex":
        """Index documents given as one flat array of token ids (document after document), the
        number of tokens of each document, and the token of each id. Same scores as bm25s
        (lucene idf and term-frequency saturation), computed with whole-array operations.
        `keep_tokens` keeps the token ids to be saved with the index for later reuse."""
        token_ids = np.ascontiguousarray(token_ids, dtype=np.int32)
        lengths = np.asarray(lengths, dtype=np.int64)
        n_docs, n_vocab = len(lengths), len(vocab)
        if n_docs == 0 or n_vocab == 0:
            raise ValueError("cannot index an empty corpus")
        # (document, term) pairs with their term frequency, sorted by term then document (CSC order).
        doc_of = np.repeat(np.arange(n_docs, dtype=np.int64), lengths)
        key = token_ids.astype(np.int64) * n_docs + doc_of
        del doc_of
        key, tf = np.unique(key, return_counts=True)  # sorted: term-major, documents ascending
        term = (key // n_docs).astype(np.int32)
        doc = (key - term.astype(np.int64) * n_docs).astype(np.int32)
        del key
        df = np.bincount(term, minlength=n_vocab)
        indptr = np.zeros(n_vocab + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        # bm25s computes idf with math.log in float64 and stores it as float32
        idf = np.array([math.log(1 + (n_docs - d + 0.5) / (d + 0.5)) if d else 0.0 for d in df.tolist()],
                       dtype=np.float32)
        avg_len = lengths.mean()
        # the same float64 operations, in the same order, as bm25s's _score_tfc_robertson
        norm = K1 * ((1 - B) + B * lengths / avg_len)
        data = np.empty(len(tf), dtype=np.float32)
        step = 1 << 22  # bounded temporaries for a million passages
        for a in range(0, len(tf), step):
            tf64 = tf[a:a + step].astype(np.float32).astype(np.float64)
            tfc = tf64 / (norm[doc[a:a + step]] + tf64)
            data[a:a + step] = idf[term[a:a + step]].astype(np.float64) * tfc
        del tf, term
        retriever = bm25s.BM25(k1=K1, b=B)
        retriever.scores = {"data": data, "indices": doc, "indptr": indptr, "num_docs": n_docs}
        vocab_dict = {t: i for i, t in enumerate(vocab)}
        vocab_dict.setdefault("", n_vocab)  # bm25s's empty token: no column, never a query token
        retriever.vocab_dict = vocab_dict
        retriever.unique_token_ids_set = set(vocab_dict.values())
        retriever.nonoccurrence_array = None
        index = cls(retriever, n_docs, tokenizer=TOKENIZER)
        if keep_tokens:
            index._doc_tokens = (token_ids, lengths)
        return index

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._bm25.save(str(folder), show_progress=False)
        meta = {"n": self.n}
        if self._doc_tokens is not None:
            ids, lengths = self._doc_tokens
            np.save(folder / TOKENS_FILE, ids.astype(np.int32))
            np.save(folder / LENGTHS_FILE, lengths.astype(np.int32))
            meta["tokenizer"] = self._tokenizer
        (folder / "meta.json").write_text(json.dumps(meta))

    @classmethod
    def load(cls, folder: Path, mmap: bool = False) -> "KeywordIndex":
        retriever = bm25s.BM25.load(str(folder), mmap=mmap)
        meta = json.loads((folder / "meta.json").read_text())
        return cls(retriever, meta["n"], Path(folder), meta.get("tokenizer"))

    @property
    def reusable(self) -> bool:
        """True when a build may reuse this index's saved tokens (same tokenizer, files intact)."""
        return self._saved_tokens() is not None

    def _saved_tokens(self) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
        """(flat token ids, row offsets, token of each id) saved with this index by the same
        tokenizer, or None. Read from disk only when a build asks, never by a query."""
        if self._saved is None:
            self._saved = self._read_saved_tokens() or ()
        return self._saved or None

    def _read_saved_tokens(self):
        if self._tokenizer != TOKENIZER:
            return None
        if self._doc_tokens is not None:
            ids, lengths = self._doc_tokens
        else:
            if self._folder is None or not (self._folder / TOKENS_FILE).exists():
                return None
            try:
                ids = np.load(self._folder / TOKENS_FILE, mmap_mode="r")
                lengths = np.load(self._folder / LENGTHS_FILE)
            except (OSError, ValueError):
                return None
        if len(lengths) != self.n or int(lengths.sum()) != len(ids):
            return None
        offsets = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        vocab = [""] * len(self._bm25.vocab_dict)
        for token, i in self._bm25.vocab_dict.items():
            if i < len(vocab):
                vocab[i] = token
        return np.asarray(ids), offsets, vocab

    @property
    def nbytes(self) -> int:
        """Memory held by the score matrix (the vocabulary dict aside)."""
        s = self._bm25.scores
        return int(s["data"].nbytes + s["indices"].nbytes + s["indptr"].nbytes)

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

    def scores(self, ids: Sequence[int]) -> np.ndarray:
        """BM25 score of every document for query token ids (a repeated token counts again).

        Same sums, in the same float32 order, as bm25s's `get_scores_from_ids`, whose
        `np.add.at` is slow; within one term's column every document appears once, so a
        plain fancy-index add is equivalent."""
        s = self._bm25.scores
        data, indices, indptr = s["data"], s["indices"], s["indptr"]
        out = np.zeros(self.n, dtype=np.float32)
        ids = np.asarray(ids, dtype=np.int64)
        ids = ids[(ids >= 0) & (ids < len(indptr) - 1)]  # bm25s's empty token "" has no column
        for start, end in zip(indptr[ids].tolist(), indptr[ids + 1].tolist()):
            if end - start == 1:
                out[indices[start]] += data[start]
            elif end > start:
                out[indices[start:end]] += data[start:end]
        return out

    def search(self, tokens: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) for query tokens; empty when no token is in the vocabulary."""
        ids = self._bm25.get_tokens_ids(list(tokens))
        if not ids or self.n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        k = min(k, self.n)
        if self._colmax is not None:
            found = self._search_pruned(ids, k)
            if found is not None:
                return found
        scores = self.scores(ids)
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        keep = scores[top] > 0
        return top[keep].astype(np.int64), scores[top][keep].astype(np.float32)

    # ---- pruned top-k (MaxScore) for large corpora

    def _column_max(self) -> np.ndarray:
        """The largest score in each term's column: what one occurrence of the term can add."""
        s = self._bm25.scores
        data, indptr = s["data"], s["indptr"]
        colmax = np.zeros(len(indptr) - 1, dtype=np.float32)
        filled = np.flatnonzero(indptr[1:] > indptr[:-1])
        if filled.size:
            colmax[filled] = np.maximum.reduceat(data, indptr[filled])
        return colmax

    def _search_pruned(self, ids: Sequence[int], k: int) -> tuple[np.ndarray, np.ndarray] | None:
        """Exact top-k without scoring every passage (MaxScore).

        Terms are taken by decreasing upper bound (occurrences × column maximum). Passages holding
        none of the terms taken so far can score at most the sum of the remaining bounds; once the
        k-th best full score among the passages holding a taken term exceeds that sum, no other
        passage can enter the top k. Full scores are the same float32 sums, in the same order, as
        `scores()`. Ties at the k-th score go to the lower passage id. None when pruning would not
        pay (the caller then scores every passage)."""
        s = self._bm25.scores
        data, indices, indptr = s["data"], s["indices"], s["indptr"]
        query = np.asarray(ids, dtype=np.int64)
        query = query[(query >= 0) & (query < len(indptr) - 1)]
        terms, counts = np.unique(query, return_counts=True)
        bound = counts * self._colmax[terms].astype(np.float64)
        order = np.argsort(-bound, kind="stable")
        terms, bound = terms[order], bound[order]
        rest = np.append(np.cumsum(bound[::-1])[::-1], 0.0)  # rest[i]: bound of terms i, i+1, …
        cand = np.zeros(0, dtype=indices.dtype)
        budget = self.n // 4
        for i, t in enumerate(terms.tolist()):
            column = indices[indptr[t]:indptr[t + 1]]
            cand = np.union1d(cand, column) if cand.size else np.array(column)
            if cand.size > budget:
                return None
            if cand.size < k and rest[i + 1] > 0:
                continue
            full = self._scores_of(cand, query, terms)
            kth = np.partition(full, cand.size - k)[cand.size - k] if cand.size >= k else -np.inf
            if rest[i + 1] == 0 or kth > rest[i + 1] * (1 + 1e-5):  # margin: float32 rounding of sums
                above = np.flatnonzero(full > kth)
                tied = np.flatnonzero(full == kth)[:k - above.size]
                top = np.concatenate([above, tied])
                top = top[np.lexsort((top, -full[top]))]
                keep = full[top] > 0
                return cand[top][keep].astype(np.int64), full[top][keep].astype(np.float32)
        return None

    def _scores_of(self, docs: np.ndarray, query: np.ndarray, terms: np.ndarray) -> np.ndarray:
        """Scores of the given (sorted) passages: per term, a binary search in its sorted column."""
        s = self._bm25.scores
        data, indices, indptr = s["data"], s["indices"], s["indptr"]
        zero = np.float32(0)
        part = {}
        for t in terms.tolist():
            lo, hi = int(indptr[t]), int(indptr[t + 1])
            column = indices[lo:hi]
            pos = np.minimum(np.searchsorted(column, docs), hi - lo - 1)
            part[t] = np.where(column[pos] == docs, data[lo:hi][pos], zero)
        out = np.zeros(len(docs), dtype=np.float32)
        for t in query.tolist():  # query order, repeats included, as in scores()
            out += part[t]
        return out
