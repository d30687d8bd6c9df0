"""The keyword index's own build (flat token ids, vectorised) and top-k against bm25s, brute force
on seeded random corpora: same score matrix value for value, same rankings, same saved format."""

from __future__ import annotations

import bm25s
import numpy as np
import pytest

from chatbot.store import keyword as kw
from chatbot.store.keyword import KeywordIndex, TokenIds, top_k
from ..helpers.bench import _columns


def _random_corpus(seed: int, n_docs: int = 1500, n_vocab: int = 400) -> list[list[str]]:
    """Zipf-like token frequencies, repeated tokens within a passage, lengths 1–80, some one-token passages."""
    rng = np.random.default_rng(seed)
    words = [f"词{i}" for i in range(n_vocab)]
    p = 1.0 / np.arange(1, n_vocab + 1)
    p /= p.sum()
    docs = []
    for _ in range(n_docs):
        length = int(rng.integers(1, 81)) if rng.random() > 0.05 else 1
        docs.append([words[i] for i in rng.choice(n_vocab, size=length, p=p)])
    return docs


def _reference(docs: list[list[str]]) -> bm25s.BM25:
    ref = bm25s.BM25(k1=kw.K1, b=kw.B)
    ref.index(docs, show_progress=False)
    return ref


def _ranking(scores: np.ndarray, k: int) -> tuple[list[int], np.ndarray]:
    """Brute force: every passage sorted by score (stable, so ties go to the lower id), positive only."""
    order = np.argsort(-scores, kind="stable")[:k]
    order = order[scores[order] > 0]
    return order.tolist(), scores[order]


@pytest.mark.parametrize("seed", [0, 1])
def test_id_build_gives_bm25s_scores_and_rankings(seed, tmp_path, monkeypatch):
    monkeypatch.setattr(kw, "CHUNK_TOKENS", 997)   # many slices: the sliced build must not matter
    docs = _random_corpus(seed)
    ref = _reference(docs)
    table = TokenIds(["unused", "词3"])   # a seeded vocabulary with a token no passage holds
    table.add_tokens(docs[:700])
    table.add_tokens(docs[700:])
    ours = table.index()
    assert ours.n == len(docs) and "unused" not in ours._bm25.vocab_dict
    assert _columns(ours) == _columns(KeywordIndex(ref))      # every (token, passage) score, exactly
    ours.save(tmp_path / "bm25")
    loaded = bm25s.BM25.load(str(tmp_path / "bm25"), mmap=True)   # bm25s itself reads the saved index
    mine = KeywordIndex.load(tmp_path / "bm25", mmap=True)
    assert isinstance(mine._bm25.scores["data"], np.memmap)
    rng = np.random.default_rng(seed + 10)
    vocab = sorted({t for d in docs for t in d})
    for _ in range(60):
        query = [vocab[i] for i in rng.integers(0, len(vocab), size=int(rng.integers(1, 15)))] + ["未见"]
        expected = ref.get_scores_from_ids(ref.get_tokens_ids(query))
        assert np.array_equal(loaded.get_scores_from_ids(loaded.get_tokens_ids(query)), expected)
        assert np.array_equal(mine.scores(mine._token_ids(query)), expected)   # every passage, bit for bit
        for k in (1, 10, 100):
            ids, scores = mine.search(query, k)
            want_ids, want_scores = _ranking(expected, k)
            assert ids.tolist() == want_ids and np.array_equal(scores, want_scores)
    assert mine.tokens_of(5, 9) == docs[5:9] and mine.reusable
    assert mine.idf(vocab[0]) == pytest.approx(np.log(1 + (ours.n - _df(docs, vocab[0]) + 0.5) / (_df(docs, vocab[0]) + 0.5)))


def _df(docs, token) -> int:
    return sum(token in d for d in docs)


def test_reused_ids_give_the_same_index_as_tokenising_again():
    docs = _random_corpus(3, n_docs=400)
    first = KeywordIndex.from_tokens(docs)
    changed = docs[:100] + [["新词", "词1"], []] + docs[150:]    # passages 100–149 replaced, one without tokens
    table = TokenIds(first.token_list())
    table.add_ids(*first.ids_of(0, 100))
    table.add_tokens(changed[100:102])
    table.add_ids(*first.ids_of(150, 400))
    reused = table.index()
    again = KeywordIndex.from_tokens(changed)
    assert _columns(reused) == _columns(again) == _columns(KeywordIndex(_reference(
        [d or [kw.EMPTY] for d in changed])))


def test_from_ids_refuses_what_bm25s_would_not_index():
    with pytest.raises(ValueError):
        KeywordIndex.from_ids(np.zeros(0, np.int32), np.zeros(0, np.int32), ["a"])
    with pytest.raises(ValueError):   # a passage without a token (the caller gives it EMPTY)
        KeywordIndex.from_ids(np.array([0], np.int32), np.array([1, 0]), ["a"])


@pytest.mark.parametrize("n", [7, 5_000, 300_000])
def test_top_k_is_the_full_sort_without_sorting_everything(n):
    rng = np.random.default_rng(n)
    # few distinct values: ties everywhere, also at the k-th place; many zeros
    scores = (rng.integers(0, 40, size=n) * (rng.random(n) < 0.6)).astype(np.float32) / 7
    for k in (1, 3, 10, 100, 1000):
        want, _ = _ranking(scores, k)
        assert top_k(scores, k).tolist() == want
    assert top_k(np.zeros(n, np.float32), 10).size == 0


def _recombined_corpus(seed: int, n_docs: int = 3000) -> list[list[str]]:
    """Passages made of a few of 60 'sentences' (as the bench's synthetic corpus): every token is
    common, many passages are equal (exact ties) and a few tokens are in almost every passage."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, 301)
    p /= p.sum()
    sentences = [[f"词{i}" for i in rng.choice(300, size=int(rng.integers(2, 12)), p=p)] for _ in range(60)]
    return [["医保"] + [t for s in rng.choice(60, size=int(rng.integers(1, 5))) for t in sentences[s]]
            for _ in range(n_docs)]


@pytest.mark.parametrize("corpus", ["zipf", "recombined"])
def test_pruned_search_gives_the_exact_top_k(corpus, tmp_path, monkeypatch):
    """MaxScore pruning (`pruned_search`, used from PRUNE_FROM passages) returns the same passages,
    bit-identical scores and the same order of ties as scoring every passage."""
    docs = _random_corpus(5, n_docs=3000) if corpus == "zipf" else _recombined_corpus(6)
    built = KeywordIndex.from_tokens(docs)
    built.save(tmp_path / "bm25")
    index = KeywordIndex.load(tmp_path / "bm25")
    vocab = sorted({t for d in docs for t in d})
    rng = np.random.default_rng(7)
    monkeypatch.setattr(kw, "PRUNE_FROM", 0)
    pruned = 0
    for _ in range(150):
        query = [vocab[i] for i in rng.integers(0, len(vocab), size=int(rng.integers(1, 20)))]
        if rng.random() < 0.5:   # a passage's own tokens: a question that matches one passage well
            query = list(docs[int(rng.integers(len(docs)))][:20]) + query[:3]
        query += query[:2]        # repeated tokens count twice, as in bm25s
        ids = index._token_ids(query)
        for k in (1, 5, 30):
            want_ids, want_scores = index.exact_search(ids, k)
            got = index.pruned_search(ids, k)
            if got is not None:
                pruned += 1
                assert got[0].tolist() == want_ids.tolist() and np.array_equal(got[1], want_scores)
            got_ids, got_scores = index.search(query, k)
            assert got_ids.tolist() == want_ids.tolist() and np.array_equal(got_scores, want_scores)
    assert pruned >= 100   # pruning was used for many queries, not always fallen back from


def test_score_bounds_saved_and_computed_alike(tmp_path):
    docs = _random_corpus(8, n_docs=500)
    built = KeywordIndex.from_tokens(docs)
    built.save(tmp_path / "bm25")
    saved = np.load(tmp_path / "bm25" / kw.UPPER_FILE)
    data, indptr = built._data, built._indptr
    assert np.array_equal(saved, [data[a:b].max() for a, b in zip(indptr[:-1], indptr[1:])])
    (tmp_path / "bm25" / kw.UPPER_FILE).unlink()   # an index saved before the bounds: computed on use
    loaded = KeywordIndex.load(tmp_path / "bm25")
    cols = np.array([3, 0, 3, 7])
    assert np.array_equal(loaded.upper_bounds(cols), saved[cols].astype(np.float64))
