"""`chatbot bench` at a tiny size (fields and ratios, never timings), and the performance work"""

from __future__ import annotations

from ..helpers.bench import (  # noqa: F401 - shared fixtures and helpers of this test module
    json,
    math,
    shutil,
    Path,
    bm25s,
    np,
    pytest,
    bench,
    Config,
    EXACT_UP_TO,
    DenseIndex,
    load_folder,
    chunk_documents,
    KeywordIndex,
    keyword_tokens,
    DOCUMENTS,
    FakeEmbedder,
    ROOT,
    ARTIFACTS,
    POINT_FIELDS,
    _corpus_texts,
    _columns,
    material,
    _check_result,
)


def test_vectorised_bm25_build_is_bit_identical_to_bm25s():
    texts = _corpus_texts()
    tokens = [keyword_tokens(t, normalized=True) or ["∅"] for t in texts]
    reference = bm25s.BM25(k1=1.2, b=0.75)
    reference.index(tokens, show_progress=False)
    ours = KeywordIndex.build(texts)
    ref = KeywordIndex(reference, len(tokens))
    assert _columns(ours) == _columns(ref)
    for q in ["衡水医保电话是多少", "新生儿医保怎么办理", "医保", "How do I pay?"]:
        toks = keyword_tokens(q)
        ids = reference.get_tokens_ids(toks)
        if ids:
            assert np.array_equal(reference.get_scores_from_ids(ids), ours.scores(ours._bm25.get_tokens_ids(toks)))
        a, b = ours.search(toks, 10), ref.search(toks, 10)
        assert np.array_equal(a[1], b[1]) and np.array_equal(a[0], b[0])


def test_synthetic_passages_tokenise_like_their_pieces(material):
    lay = bench.layout(material, 300, np.random.default_rng(1), 360)
    assert bench.tokens_additive(material, lay, 300) == 1.0
    lengths = [len(bench.layout_text(material, lay, i)[1]) for i in range(300)]
    assert max(lengths) <= 360 and min(lengths) > 0
    vectors = bench.derive_vectors(material, lay, 0, 300, 0.02, np.random.default_rng(2))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_pruned_keyword_search_equals_scoring_every_passage(material):
    lay = bench.layout(material, 30_000, np.random.default_rng(3), 360)
    index = bench.synthetic_keyword(material, lay)
    assert index._colmax is not None  # large enough to prune
    pool = bench.question_pool(material.titles, None, 0)[:60] + ["医保", "医保医保 电话", "the"]
    pruned_used = 0
    for q in pool:
        toks = keyword_tokens(q)
        ids = index._bm25.get_tokens_ids(toks)
        got = index.search(toks, 30)
        pruned_used += index._search_pruned(ids, 30) is not None if ids else 0
        if not ids:
            assert got[0].size == 0
            continue
        scores = index.scores(ids)
        top = np.argsort(-scores, kind="stable")[:30]
        top = top[scores[top] > 0]
        # the same scores; the same passages except in the order of equal scores
        assert np.array_equal(got[1], scores[top])
        assert np.array_equal(np.sort(got[1]), np.sort(scores[got[0]]))
        kth = scores[top][-1]
        assert set(top[scores[top] > kth].tolist()) <= set(got[0].tolist())
    assert pruned_used >= len(pool) // 2


def test_dense_index_is_exact_when_small_and_hnsw_when_large():
    rng = np.random.default_rng(0)
    base = rng.standard_normal((EXACT_UP_TO + 2000, 32)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    assert DenseIndex.build(base[:500]).kind == "flat"
    ix = DenseIndex.build(base)
    assert ix.kind.startswith("hnsw")
    queries = base[:50] + 0.05 * rng.standard_normal((50, 32)).astype(np.float32)
    exact = np.argsort(-(queries @ base.T), axis=1)[:, :10]
    ids, _ = ix.search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids.tolist(), exact.tolist())])
    assert recall >= 0.9
    assert ix.nbytes > base.nbytes
