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

from ... import textnorm
from ...textnorm import keyword_tokens

logging.getLogger("bm25s").setLevel(logging.WARNING)

K1, B = 1.2, 0.75
EMPTY = "∅"  # the token of a passage with no keyword at all, so that every row has a length
TOKENS_FILE, LENGTHS_FILE = "doc_tokens.npy", "doc_lengths.npy"  # saved for reuse by the next build
# From this many passages on, a query scores only the passages that can reach its top k (MaxScore);
# below it, scoring every passage is already a fraction of a millisecond.
PRUNE_FROM = 20_000
CHUNK_TOKENS = 1 << 23  # tokens per slice when building (bounds the build's temporaries)
# Up to this many (term, passage) cells (16 MB), scores also live in a dense term × passage
# matrix: a query then sums a few rows in one call instead of scattering column by column.
DENSE_CELLS = 4_000_000


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
        self._matrix = self._term_rows() if n * len(retriever.vocab_dict) <= DENSE_CELLS else None

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
        # The previous vocabulary keeps its ids, so reused rows are copied as they are (a file's
        # rows are contiguous: one slice per file); new tokens get new ids; `from_ids` drops the
        # tokens no document uses any more.
        vocab = {t: i for i, t in enumerate(prev_vocab)}
        parts: list[np.ndarray] = []
        lengths = np.empty(len(items), dtype=np.int64)
        i = 0
        while i < len(items):
            item = items[i]
            if isinstance(item, str):
                tokens = keyword_tokens(item, normalized=True) or [EMPTY]
                parts.append(np.fromiter((vocab.setdefault(t, len(vocab)) for t in tokens), dtype=np.int32,
                                         count=len(tokens)))
                lengths[i] = len(tokens)
                i += 1
                continue
            j = i + 1
            while j < len(items) and not isinstance(items[j], str) and items[j] == items[j - 1] + 1:
                j += 1
            first, last = int(item), int(items[j - 1])
            parts.append(np.asarray(prev_ids[prev_offsets[first]:prev_offsets[last + 1]], dtype=np.int32))
            lengths[i:j] = np.diff(prev_offsets[first:last + 2])
            i = j
        flat = np.concatenate(parts) if parts else np.zeros(0, dtype=np.int32)
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
        used = np.bincount(token_ids, minlength=n_vocab) > 0
        if not used.all():  # only tokens some document holds get a column (and a vocabulary entry)
            new_id = np.cumsum(used) - 1
            token_ids = new_id[token_ids].astype(np.int32)
            vocab = [t for t, u in zip(vocab, used.tolist()) if u]
            n_vocab = len(vocab)
        offsets = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        # Documents are taken in slices of about CHUNK_TOKENS tokens, twice: once to count
        # document frequencies, once to write the scores, so that temporaries stay small.
        bounds = [0]
        while bounds[-1] < n_docs:
            bounds.append(max(bounds[-1] + 1, int(np.searchsorted(offsets, offsets[bounds[-1]] + CHUNK_TOKENS, "right")) - 1))
        bounds[-1] = n_docs

        def pairs(a: int, b: int):
            """(term, document, tf) of documents [a, b), sorted by term then document."""
            span = b - a
            local = np.repeat(np.arange(span, dtype=np.int64), lengths[a:b])
            key, tf = np.unique(token_ids[offsets[a]:offsets[b]].astype(np.int64) * span + local, return_counts=True)
            term = key // span
            return term.astype(np.int32), (key - term * span + a).astype(np.int32), tf

        df = np.zeros(n_vocab, dtype=np.int64)
        for a, b in zip(bounds, bounds[1:]):
            df += np.bincount(pairs(a, b)[0], minlength=n_vocab)
        indptr = np.zeros(n_vocab + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        # bm25s computes idf with math.log in float64 and stores it as float32
        idf = np.array([math.log(1 + (n_docs - d + 0.5) / (d + 0.5)) if d else 0.0 for d in df.tolist()],
                       dtype=np.float32)
        avg_len = lengths.mean()
        # the same float64 operations, in the same order, as bm25s's _score_tfc_robertson
        norm = K1 * ((1 - B) + B * lengths / avg_len)
        data = np.empty(int(indptr[-1]), dtype=np.float32)
        doc = np.empty(int(indptr[-1]), dtype=np.int32)
        filled = indptr[:-1].copy()  # next free slot of each column
        for a, b in zip(bounds, bounds[1:]):
            term, d, tf = pairs(a, b)
            counts = np.bincount(term, minlength=n_vocab)
            first = np.zeros(n_vocab, dtype=np.int64)
            np.cumsum(counts[:-1], out=first[1:])
            pos = filled[term] + (np.arange(len(term), dtype=np.int64) - first[term])
            tf64 = tf.astype(np.float32).astype(np.float64)
            data[pos] = idf[term].astype(np.float64) * (tf64 / (norm[d] + tf64))
            doc[pos] = d
            filled += counts
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
        if self._matrix is not None and ids.size:
            # add.accumulate is sequential along the rows: the very same float32 sums
            return np.add.accumulate(self._matrix[ids], axis=0)[-1]
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

    def _term_rows(self) -> np.ndarray:
        """The score matrix as dense rows, one per term (zeros where a passage lacks the term)."""
        s = self._bm25.scores
        indptr = s["indptr"]
        rows = np.zeros((len(indptr) - 1, self.n), dtype=np.float32)
        terms = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))
        rows[terms, s["indices"]] = s["data"]
        return rows

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

        Terms are taken by decreasing upper bound (occurrences × column maximum) until the k-th
        best partial score of the passages holding a taken term exceeds the sum of the remaining
        bounds: no other passage can then enter the top k. Of those passages, only the ones whose
        partial score plus that sum reaches the k-th partial score get a full score: the same
        float32 sums, in the same order, as `scores()`. Ties at the k-th score go to the lower
        passage id. None when pruning would not pay (the caller then scores every passage)."""
        s = self._bm25.scores
        data, indices, indptr = s["data"], s["indices"], s["indptr"]
        query = np.asarray(ids, dtype=np.int64)
        query = query[(query >= 0) & (query < len(indptr) - 1)]
        terms, counts = np.unique(query, return_counts=True)
        bound = counts * self._colmax[terms].astype(np.float64)
        order = np.argsort(-bound, kind="stable")
        terms, counts, bound = terms[order], counts[order], bound[order]
        rest = np.append(np.cumsum(bound[::-1])[::-1], 0.0)  # rest[i]: bound of terms i, i+1, …
        budget = self.n // 4
        docs_parts, weight_parts, size = [], [], 0
        for i, t in enumerate(terms.tolist()):
            lo, hi = int(indptr[t]), int(indptr[t + 1])
            docs_parts.append(indices[lo:hi])
            weight_parts.append(data[lo:hi].astype(np.float64) * counts[i])
            size += hi - lo
            if size > budget:
                return None
            remaining = rest[i + 1] * (1 + 1e-5)  # margin: float32 rounding of the real sums
            cand, inverse = np.unique(np.concatenate(docs_parts), return_inverse=True)
            if cand.size < k and remaining > 0:
                continue
            partial = np.bincount(inverse, weights=np.concatenate(weight_parts), minlength=cand.size)
            # a lower bound of the k-th best score: the k-th best partial score (full scores are
            # never below partial ones), or else the k-th best full score of the passages with
            # the best partial scores
            kth = float(np.partition(partial, cand.size - k)[cand.size - k]) if cand.size >= k else 0.0
            if remaining > 0 and kth <= remaining and cand.size >= k:
                probe = np.argpartition(-partial, 4 * k - 1)[:4 * k] if cand.size > 4 * k else np.arange(cand.size)
                probe_full = self._scores_of(cand[np.sort(probe)], query, terms)
                kth = max(kth, float(np.partition(probe_full, probe_full.size - k)[probe_full.size - k]))
            if remaining > 0 and kth <= remaining:
                continue
            # Add the other terms one by one, best bound first, dropping the passages that can no
            # longer reach the k-th score; only the survivors get their exact score.
            alive = (partial + remaining) * (1 + 1e-5) >= kth * (1 - 1e-5)
            docs, score = cand[alive], partial[alive]
            for j in range(i + 1, len(terms)):
                if docs.size <= k:
                    break
                score = score + counts[j] * self._column_scores(int(terms[j]), docs)
                alive = (score + rest[j + 1]) * (1 + 1e-5) >= kth * (1 - 1e-5)
                docs, score = docs[alive], score[alive]
            alive = docs
            full = self._scores_of(alive, query, terms)
            kth = np.partition(full, alive.size - k)[alive.size - k] if alive.size >= k else -np.inf
            above = np.flatnonzero(full > kth)
            tied = np.flatnonzero(full == kth)[:k - above.size]
            top = np.concatenate([above, tied])
            top = top[np.lexsort((top, -full[top]))]
            keep = full[top] > 0
            return alive[top][keep].astype(np.int64), full[top][keep].astype(np.float32)
        return None

    def _column_scores(self, t: int, docs: np.ndarray) -> np.ndarray:
        """Term t's score in each of the given (sorted) passages, 0 where absent: a binary search
        in its column, whose passages are sorted."""
        s = self._bm25.scores
        lo, hi = int(s["indptr"][t]), int(s["indptr"][t + 1])
        column = s["indices"][lo:hi]
        pos = np.minimum(np.searchsorted(column, docs), hi - lo - 1)
        return np.where(column[pos] == docs, s["data"][lo:hi][pos], np.float32(0))

    def _scores_of(self, docs: np.ndarray, query: np.ndarray, terms: np.ndarray) -> np.ndarray:
        """Scores of the given (sorted) passages, exactly as `scores()` computes them."""
        part = {t: self._column_scores(t, docs) for t in terms.tolist()}
        out = np.zeros(len(docs), dtype=np.float32)
        for t in query.tolist():  # query order, repeats included, as in scores()
            out += part[t]
        return out
