"""BM25 over the keyword tokens of `textnorm.keyword_tokens` (jieba words + CJK bigrams), in
bm25s's own saved format (loaded by bm25s, memory-mapped), queried with bm25s's scorer. Shared by
both backends: the files backend saves it under `bm25/`; the Milvus backend builds it in process
from the collection's stored terms when the server has no BM25 function (Milvus < 2.5).

The build takes the passages' tokens as one flat array of int32 ids plus a length per passage
(`TokenIds`, `KeywordIndex.from_ids`) and computes bm25s's score matrix with whole-array numpy
operations, in slices: the same float32 scores as `bm25s.BM25(k1=1.2, b=0.75).index()` without its
per-passage Python loop or a Python list of token strings per passage (a million passages: a few GB
less at the build's peak). The top k of a query is found without sorting every passage.

Saved next to bm25s's files: every passage's token ids (`doc_tokens.npy`, flat, against the saved
vocabulary) and lengths, so that the next build reuses the ids of unchanged files instead of
running jieba over them again (`ids_of`), guarded by the tokenizer's fingerprint.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Iterable, Sequence

import bm25s
import jieba
import numpy as np

from .. import stages, textnorm

logging.getLogger("bm25s").setLevel(logging.WARNING)

K1, B = 1.2, 0.75
EMPTY = "∅"  # the token of a passage with no keyword at all, so that every row has a length
TOKENS_FILE, LENGTHS_FILE, META_FILE = "doc_tokens.npy", "doc_lengths.npy", "meta.json"
CHUNK_TOKENS = 1 << 22  # tokens per slice of the build (bounds its temporaries to ~0.3 GB)
PRUNE_FROM = 50_000     # passages: from here on, `search` reads only the postings the top k needs (docs/performance.md, session 23)
PRUNE_EPS = 1e-4        # margin of the pruning bounds, relative to the query's largest possible score
UPPER_FILE = "term_max.npy"   # each column's largest score (the pruning's bounds), saved with the index
IDF_CACHE = 100_000     # idf values kept per index (questions ask for the same tokens' idf many times)

# Changes whenever `textnorm.keyword_tokens` could tokenise a text differently (any edit of
# textnorm.py, another jieba), so that a build never reuses tokens saved by another tokenizer.
TOKENIZER = textnorm.FINGERPRINT


def tokenize(text_normalized: str) -> list[str]:
    """The keyword tokens of one normalised passage text (EMPTY for a passage without any)."""
    return textnorm.keyword_tokens(text_normalized, normalized=True) or [EMPTY]


class TokenIds:
    """Passages' keyword tokens as the BM25 build takes them: int32 ids against one growing
    vocabulary, passage after passage, and a length per passage. Filled file by file (a build
    appends the saved ids of unchanged files and tokenises only the others); no list of token
    strings is kept for more than one call."""

    def __init__(self, vocab: Sequence[str] = ()):
        self.vocab: dict[str, int] = {}
        for t in vocab:
            self.vocab.setdefault(t, len(self.vocab))
        self._ids: list[np.ndarray] = []
        self._lengths: list[np.ndarray] = []

    def __len__(self) -> int:
        return sum(len(x) for x in self._lengths)

    def add_ids(self, ids: np.ndarray, lengths: np.ndarray) -> None:
        """Append passages already given as ids against this table's vocabulary."""
        self._ids.append(np.asarray(ids, dtype=np.int32))
        self._lengths.append(np.asarray(lengths, dtype=np.int32))

    def add_tokens(self, docs: Iterable[Sequence[str]]) -> None:
        """Append passages given as token lists (an empty list: a passage without keywords)."""
        vocab, ids, lengths = self.vocab, [], []
        for doc in docs:
            doc = doc or [EMPTY]
            ids.extend(vocab.setdefault(t, len(vocab)) for t in doc)
            lengths.append(len(doc))
        self.add_ids(np.array(ids, dtype=np.int32), np.array(lengths, dtype=np.int32))

    def add_texts(self, texts: Iterable[str]) -> None:
        """Append normalised passage texts, tokenised now."""
        self.add_tokens(tokenize(t) for t in texts)

    def index(self) -> "KeywordIndex":
        """The BM25 index of every passage added (the table is emptied)."""
        ids = np.concatenate(self._ids) if self._ids else np.zeros(0, dtype=np.int32)
        self._ids = []
        lengths = np.concatenate(self._lengths) if self._lengths else np.zeros(0, dtype=np.int32)
        self._lengths = []
        vocab = [""] * len(self.vocab)
        for t, i in self.vocab.items():
            vocab[i] = t
        return KeywordIndex.from_ids(ids, lengths, vocab)


class KeywordIndex:
    """A bm25s index plus the token ids it was built from (for reuse by the next build)."""

    def __init__(self, retriever: bm25s.BM25, folder: Path | None = None, tokenizer: str | None = None,
                 doc_tokens: tuple[np.ndarray, np.ndarray] | None = None):
        self._bm25 = retriever
        self.n = int(retriever.scores["num_docs"])
        self._folder = folder
        self._tokenizer = tokenizer
        self._doc_tokens = doc_tokens   # (flat ids, lengths) when built here; read from disk on demand
        self._vocab_list: list[str] | None = None
        # Plain ndarray views of the score matrix (still backed by the memory map): slicing an
        # np.memmap goes through its Python-level __getitem__ and __array_finalize__ every time.
        scores = retriever.scores
        self._data = np.asarray(scores["data"])
        self._indices = np.asarray(scores["indices"])
        self._indptr = np.asarray(scores["indptr"])
        self._idf: dict[str, float] = {}   # token -> idf, asked for many times a question
        self._ub: np.ndarray | None = None  # each column's largest score (`upper_bounds`)

    @classmethod
    def build(cls, texts: Sequence[str]) -> "KeywordIndex":
        """Index normalised passage texts."""
        table = TokenIds()
        table.add_texts(texts)
        return table.index()

    @classmethod
    def from_tokens(cls, corpus_tokens: Iterable[Sequence[str]]) -> "KeywordIndex":
        """Index passages given as token lists (an empty list stands for a passage without keywords)."""
        table = TokenIds()
        table.add_tokens(corpus_tokens)
        return table.index()

    @classmethod
    def from_ids(cls, token_ids: np.ndarray, lengths: np.ndarray, vocab: Sequence[str]) -> "KeywordIndex":
        """Index passages given as one flat array of token ids (passage after passage), the number
        of tokens of each passage (at least 1) and the token of each id. The score matrix is
        bm25s's, value for value: lucene idf computed with math.log in float64 and stored as
        float32, then the same float64 term-frequency saturation, in the same order, as bm25s's
        `_score_tfc_robertson`, stored as float32. Tokens no passage holds get no column.
        An int32 `token_ids` array becomes the index's saved tokens, renumbered in place (no copy)."""
        stages.event("keyword_index_build")
        token_ids = np.ascontiguousarray(token_ids, dtype=np.int32)
        lengths = np.asarray(lengths, dtype=np.int64)
        n_docs, n_vocab = len(lengths), len(vocab)
        if n_docs == 0 or n_vocab == 0 or token_ids.size == 0:
            raise ValueError("cannot index an empty corpus")
        if lengths.min() < 1 or int(lengths.sum()) != token_ids.size:
            raise ValueError("every passage needs at least one token, and the lengths must add up to the ids")
        used = np.bincount(token_ids, minlength=n_vocab) > 0
        if not used.all():  # only tokens some passage holds get a column (and a vocabulary entry)
            new_id = (np.cumsum(used) - 1).astype(np.int32)
            for a in range(0, token_ids.size, CHUNK_TOKENS):   # in place: no second copy of the ids
                token_ids[a:a + CHUNK_TOKENS] = new_id[token_ids[a:a + CHUNK_TOKENS]]
            vocab = [t for t, u in zip(vocab, used.tolist()) if u]
            n_vocab = len(vocab)
            del new_id
        offsets = np.zeros(n_docs + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        # Passages are taken in slices of about CHUNK_TOKENS tokens, twice: once to count
        # document frequencies, once to write the scores, so that temporaries stay small.
        bounds = [0]
        while bounds[-1] < n_docs:
            nxt = int(np.searchsorted(offsets, offsets[bounds[-1]] + CHUNK_TOKENS, "right")) - 1
            bounds.append(min(n_docs, max(bounds[-1] + 1, nxt)))

        def pairs(a: int, b: int):
            """(term, passage, tf) of passages [a, b), sorted by term then passage."""
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
        idf = np.array([math.log(1 + (n_docs - d + 0.5) / (d + 0.5)) if d else 0.0 for d in df.tolist()],
                       dtype=np.float32)
        avg_len = lengths.mean()   # a numpy float64, as bm25s's np.array(...).mean()
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
            del term, d, tf, pos, tf64
        retriever = bm25s.BM25(k1=K1, b=B)
        retriever.scores = {"data": data, "indices": doc, "indptr": indptr, "num_docs": n_docs}
        vocab_dict = {t: i for i, t in enumerate(vocab)}
        vocab_dict.setdefault("", n_vocab)  # bm25s's empty token: no column, never a query token
        retriever.vocab_dict = vocab_dict
        retriever.unique_token_ids_set = set(vocab_dict.values())
        retriever.nonoccurrence_array = None
        return cls(retriever, tokenizer=TOKENIZER, doc_tokens=(token_ids, lengths.astype(np.int32)))

    # ---- persistence

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self._bm25.save(str(folder), show_progress=False)
        meta = {"n": self.n}
        if self._doc_tokens is not None:
            ids, lengths = self._doc_tokens
            np.save(folder / TOKENS_FILE, ids.astype(np.int32))
            np.save(folder / LENGTHS_FILE, lengths.astype(np.int32))
            meta["tokenizer"] = self._tokenizer
        np.save(folder / UPPER_FILE, self._all_upper_bounds())
        (folder / META_FILE).write_text(json.dumps(meta))

    @classmethod
    def load(cls, folder: Path, mmap: bool = True) -> "KeywordIndex":
        """bm25s's load; the score matrix is memory-mapped (shared between processes, paged in on use)."""
        retriever = bm25s.BM25.load(str(folder), mmap=mmap, show_progress=False)
        meta = json.loads((Path(folder) / META_FILE).read_text())
        index = cls(retriever, Path(folder), meta.get("tokenizer"))
        if index.n != meta.get("n"):
            raise ValueError("keyword index size differs from its metadata")
        upper = Path(folder) / UPPER_FILE
        if upper.exists():
            ub = np.load(upper)
            if len(ub) == len(index._indptr) - 1:
                index._ub = ub
        return index

    # ---- token reuse for incremental builds

    @property
    def reusable(self) -> bool:
        """True when a build may reuse this index's saved tokens (same tokenizer, files intact)."""
        return self._saved_tokens() is not None

    def ids_of(self, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        """(flat token ids, tokens per passage) of passages [start, end) as they were indexed,
        against `token_list()` (requires `reusable`)."""
        saved = self._saved_tokens()
        if saved is None:
            raise ValueError("this keyword index has no reusable tokens")
        ids, offsets = saved
        return np.asarray(ids[offsets[start]:offsets[end]], dtype=np.int32), np.diff(offsets[start:end + 1])

    def tokens_of(self, start: int, end: int) -> list[list[str]]:
        """The tokens of passages [start, end) as they were indexed (requires `reusable`)."""
        ids, lengths = self.ids_of(start, end)
        vocab = self._vocab()
        flat = ids.tolist()
        out, pos = [], 0
        for length in lengths.tolist():
            out.append([vocab[i] for i in flat[pos:pos + length]])
            pos += length
        return out

    def token_list(self) -> list[str]:
        """The token of each id of the saved vocabulary (what `ids_of` refers to)."""
        return list(self._vocab())

    def _vocab(self) -> list[str]:
        if self._vocab_list is None:
            vocab = [""] * len(self._bm25.vocab_dict)
            for token, i in self._bm25.vocab_dict.items():
                vocab[i] = token
            self._vocab_list = vocab
        return self._vocab_list

    def _saved_tokens(self) -> tuple[np.ndarray, np.ndarray] | None:
        if self._tokenizer != TOKENIZER:
            return None
        if self._doc_tokens is None:
            if self._folder is None or not (self._folder / TOKENS_FILE).exists():
                return None
            try:
                self._doc_tokens = (np.load(self._folder / TOKENS_FILE, mmap_mode="r"),
                                    np.load(self._folder / LENGTHS_FILE))
            except (OSError, ValueError):
                return None
        ids, lengths = self._doc_tokens
        if len(lengths) != self.n or int(np.sum(lengths, dtype=np.int64)) != len(ids):
            return None
        offsets = np.zeros(self.n + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return np.asarray(ids), offsets

    # ---- queries

    @property
    def nbytes(self) -> int:
        """Size of the score matrix (memory-mapped: resident only where queries touch it)."""
        s = self._bm25.scores
        return int(s["data"].nbytes + s["indices"].nbytes + s["indptr"].nbytes)

    def _df(self, token: str) -> int:
        tid = self._bm25.vocab_dict.get(token)
        if tid is None:
            return 0
        indptr = self._indptr
        return int(indptr[tid + 1] - indptr[tid]) if tid + 1 < len(indptr) else 0

    def vocabulary(self) -> list[str]:
        """The indexed terms, most passages first (for matching English words to corpus terms)."""
        indptr = np.asarray(self._bm25.scores["indptr"])
        df = np.diff(indptr)
        vocab = self._vocab()
        return [vocab[i] for i in np.argsort(-df, kind="stable") if i < len(vocab)]

    def idf(self, token: str) -> float:
        """Inverse document frequency of a token (0 when no passage holds it), as bm25s's lucene idf."""
        value = self._idf.get(token)
        if value is None:
            df = self._df(token)
            value = float(np.log(1 + (self.n - df + 0.5) / (df + 0.5))) if df else 0.0
            if len(self._idf) < IDF_CACHE:
                self._idf[token] = value
        return value

    def unseen_idf(self) -> float:
        """idf of a term no passage contains (the largest idf possible)."""
        return float(np.log(1 + (self.n + 0.5) / 0.5))

    def search(self, tokens: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (ids, scores) with a positive score, best first, ties to the lower passage id;
        empty when no token is in the vocabulary. Scores are bm25s's own (`get_scores_from_ids`),
        bit for bit. From PRUNE_FROM passages on, the top k is found by `pruned_search` (the same
        passages and scores without scoring every posting), else by scoring every passage."""
        ids = self._token_ids(tokens)
        if not ids or self.n == 0 or k <= 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        if self.n >= PRUNE_FROM:
            found = self.pruned_search(ids, k)
            if found is not None:
                return found
        return self.exact_search(ids, k)

    def exact_search(self, ids: Sequence[int], k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top k of every passage's score (`scores`) for the query columns `ids`."""
        scores = self.scores(ids)
        top = top_k(scores, k)
        return top.astype(np.int64), scores[top].astype(np.float32)

    def _token_ids(self, tokens: Sequence[str]) -> list[int]:
        """Column of each query token the index holds, in the query's order (repeats kept), as
        bm25s's `get_tokens_ids`."""
        vocab, columns = self._bm25.vocab_dict, len(self._indptr) - 1
        return [i for i in (vocab.get(t) for t in tokens) if i is not None and i < columns]

    def scores(self, ids: Sequence[int]) -> np.ndarray:
        """Every passage's BM25 score for the query columns `ids`: bm25s's `get_scores_from_ids`,
        addition for addition (float32, each query token's column in the query's order), on plain
        views of the memory-mapped matrix. The columns go to one `np.add.at` end to end instead of
        one call each: `add.at` adds its elements one after the other, in order, so every passage
        receives the same float32 additions in the same order (bit for bit the same scores)."""
        scores = np.zeros(self.n, dtype=np.float32)
        if len(ids) == 1:
            np.add.at(scores, *self._column(ids[0]))
        elif ids:  # the postings of every column, end to end, gathered in one go
            columns = np.asarray(ids, dtype=np.int64)
            starts = self._indptr[columns]
            lengths = self._indptr[columns + 1] - starts
            ends = np.cumsum(lengths)
            at = np.arange(ends[-1]) + np.repeat(starts - (ends - lengths), lengths)
            np.add.at(scores, self._indices[at], self._data[at])
        return scores

    # ---- pruned top k (MaxScore, term at a time, on the candidates only)

    def _column(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        a, b = self._indptr[t], self._indptr[t + 1]
        return self._indices[a:b], self._data[a:b]

    def upper_bounds(self, columns: np.ndarray) -> np.ndarray:
        """The largest score each column gives any passage (saved with the index by `save`;
        for an index saved without them, computed on first use and kept)."""
        if self._ub is None:
            self._ub = np.full(len(self._indptr) - 1, -1.0, dtype=np.float32)
        ub = self._ub[columns]
        for j in np.flatnonzero(ub < 0).tolist():
            t = int(columns[j])
            ub[j] = self._ub[t] = float(self._column(t)[1].max())
        return ub.astype(np.float64)

    def _all_upper_bounds(self) -> np.ndarray:
        """Every column's largest score, in one pass over the matrix (float32; 0 for an empty column)."""
        data, indptr = self._data, self._indptr
        if data.size == 0:
            return np.zeros(len(indptr) - 1, dtype=np.float32)
        ub = np.maximum.reduceat(data, np.minimum(indptr[:-1], data.size - 1))
        ub[indptr[1:] == indptr[:-1]] = 0.0
        return ub.astype(np.float32)

    def _exact_of(self, ids: Sequence[int], docs: np.ndarray) -> np.ndarray:
        """Exact scores of a few passages (sorted ids), bit for bit `scores(ids)[docs]`: each query
        token's value (0 where the passage lacks it) added in float32 in the query's order, as the
        full scoring adds them (adding 0 changes no float)."""
        out = np.zeros(len(docs), dtype=np.float32)
        for t in ids:
            out += _lookup(*self._column(t), docs)
        return out

    def pruned_search(self, ids: Sequence[int], k: int) -> tuple[np.ndarray, np.ndarray] | None:
        """The same top k as `exact_search` (passages, scores and order), reading few postings:
        MaxScore (Turtle and Flood 1995) with numpy arrays instead of cursors.

        Query terms go from the highest score bound (the rarest) to the lowest. Every posting of
        the first terms is read (the candidates), until the bounds of the terms left add up to less
        than θ, the k-th best exact score of the k best candidates so far: a passage none of the
        first terms holds cannot reach the top k. For each term left, only the candidates are
        looked up (binary search in the term's sorted postings), and a candidate is dropped as soon
        as its score so far plus the bounds of the terms still left fall below θ; θ rises meanwhile
        to the k-th best score so far less the rounding margin (scores only grow: a lower bound of
        the k-th best exact score), so fewer candidates are looked up in the next term. The survivors'
        exact scores are computed in the query's order, so that scores and ties are bm25s's own.
        None (score every passage instead) when the candidates grow past a quarter of the index
        or fewer than k passages hold any query term."""
        n = self.n
        uniq, mult = np.unique(np.asarray(ids, dtype=np.int64), return_counts=True)
        ub = self.upper_bounds(uniq) * mult
        order = np.argsort(-ub, kind="stable")
        terms, mults, ubs = uniq[order], mult[order], ub[order]
        m = len(terms)
        rest = np.append(np.cumsum(ubs[::-1])[::-1], 0.0)   # rest[j]: bound of terms j, j+1, …
        eps = PRUNE_EPS * (1.0 + rest[0])   # float32 rounding of the sums, with a wide margin
        cand = np.zeros(0, dtype=np.int32)
        part = np.zeros(0, dtype=np.float32)
        theta, j = 0.0, 0
        while j < m:   # essential terms: every posting read, candidates merged
            docs, vals = self._column(int(terms[j]))
            vals = vals if mults[j] == 1 else vals * np.float32(mults[j])
            cand, part = _merge(cand, part, docs, vals)
            j += 1
            if cand.size > n // 4:
                return None
            if cand.size >= k:
                best = np.sort(cand[np.argpartition(part, cand.size - k)[cand.size - k:]])
                theta = max(theta, float(self._exact_of(ids, best).min()))
            if rest[j] + eps < theta:
                break
        if theta <= 0 or rest[j] + eps >= theta:
            return None
        keep = part >= theta - rest[j] - eps
        cand, part = cand[keep], part[keep]
        for jj in range(j, m):   # the other terms: only the candidates are looked up
            docs, vals = self._column(int(terms[jj]))
            got = _lookup(docs, vals, cand)
            part = part + (got if mults[jj] == 1 else got * np.float32(mults[jj]))
            if cand.size > k:   # the k-th best score so far (less the rounding margin) bounds the k-th best exact one
                theta = max(theta, float(np.partition(part, cand.size - k)[cand.size - k]) - eps)
            keep = part >= theta - rest[jj + 1] - eps
            cand, part = cand[keep], part[keep]
        exact = self._exact_of(ids, cand)
        top = np.lexsort((cand, -exact))[:k]
        top = top[exact[top] > 0]
        return cand[top].astype(np.int64), exact[top]


def _lookup(docs: np.ndarray, vals: np.ndarray, want: np.ndarray) -> np.ndarray:
    """A column's value for each passage of the sorted `want` (0 where the column lacks it)."""
    if docs.size == 0 or want.size == 0:
        return np.zeros(want.size, dtype=np.float32)
    if docs.size < want.size:   # fewer postings than passages wanted: search the postings instead
        out = np.zeros(want.size, dtype=np.float32)
        pos = np.minimum(np.searchsorted(want, docs), want.size - 1)
        held = want[pos] == docs
        out[pos[held]] = vals[held]
        return out
    pos = np.minimum(np.searchsorted(docs, want), docs.size - 1)
    return np.where(docs[pos] == want, vals[pos], np.float32(0))


def _merge(cand: np.ndarray, part: np.ndarray, docs: np.ndarray, vals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted candidates and their partial scores, with a column's postings added."""
    if cand.size == 0:
        return np.asarray(docs, dtype=np.int32), np.asarray(vals, dtype=np.float32).copy()
    pos = np.minimum(np.searchsorted(cand, docs), cand.size - 1)
    held = cand[pos] == docs
    part = part.copy()
    part[pos[held]] += vals[held]   # a passage appears once in a column: no repeated index
    new = ~held
    if not new.any():
        return cand, part
    allc = np.concatenate([cand, docs[new]])
    allv = np.concatenate([part, vals[new]])
    o = np.argsort(allc, kind="stable")   # two sorted runs: a linear merge
    return allc[o], allv[o]


SAMPLE_PER_K = 32  # top_k's sample: this many passages per wanted result
PARTITION_FROM = 4  # top_k partitions its candidates only when there are more than this many per wanted result


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the k highest positive scores, highest first, ties to the lower index: exactly
    `np.argsort(-scores, kind="stable")[:k]` without its non-positive scores, but without
    sorting or partitioning every passage. The k-th highest of an evenly strided sample is a
    lower bound of the k-th highest overall, so only passages scoring at least that much (about
    SAMPLE_PER_K × k of them) are partitioned and sorted."""
    n = len(scores)
    step = n // (SAMPLE_PER_K * k)
    floor = 0.0
    if step > 1:
        sample = scores[::step]
        floor = float(np.partition(sample, len(sample) - k)[len(sample) - k])
    cand = np.flatnonzero(scores >= floor) if floor > 0 else np.flatnonzero(scores > 0)
    if cand.size > PARTITION_FROM * k:  # fewer are sorted whole: cheaper than partitioning first
        vals = scores[cand]
        kth = np.partition(vals, cand.size - k)[cand.size - k]
        above, tied = cand[vals > kth], cand[vals == kth]   # both in index order
        cand = np.concatenate([above, tied[:k - above.size]])
    return cand[np.lexsort((cand, -scores[cand]))][:k]
