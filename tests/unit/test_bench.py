"""`chatbot bench` pieces that need no model: result fields and ratios (never timings), BM25 equivalence."""

from __future__ import annotations

import bm25s
import pytest
import numpy as np
from chatbot.bench import corpus
from chatbot.store.files.dense import EXACT_UP_TO, DenseIndex
from chatbot.store.keyword import KeywordIndex
from chatbot.textnorm import keyword_tokens
from ..helpers.bench import _corpus_texts, _columns


def test_keyword_index_is_bm25s_own_index_and_ranking(tmp_path):
    texts = _corpus_texts()
    tokens = [keyword_tokens(t, normalized=True) or ["∅"] for t in texts]
    reference = bm25s.BM25(k1=1.2, b=0.75)
    reference.index(tokens, show_progress=False)
    ours = KeywordIndex.build(texts)
    ours.save(tmp_path / "bm25")
    loaded = KeywordIndex.load(tmp_path / "bm25", mmap=True)
    assert isinstance(loaded._bm25.scores["data"], np.memmap)   # bm25s's load, memory-mapped
    ref = KeywordIndex(reference)
    assert _columns(ours) == _columns(ref) == _columns(loaded)
    for q in ["衡水医保电话是多少", "新生儿医保怎么办理", "医保", "How do I pay?"]:
        toks = keyword_tokens(q)
        ids = reference.get_tokens_ids(toks)
        got = loaded.search(toks, 10)
        if ids:
            scores = reference.get_scores_from_ids(ids)
            top = np.argsort(-scores, kind="stable")[:10]
            top = top[scores[top] > 0]
            assert got[0].tolist() == top.tolist() and np.array_equal(got[1], scores[top])
        else:
            assert got[0].size == 0
    assert loaded.tokens_of(3, 6) == tokens[3:6] and loaded.reusable


def test_synthetic_passages_tokenise_like_their_pieces(material):
    lay = corpus.layout(material, 300, np.random.default_rng(1), 360)
    assert corpus.tokens_additive(material, lay, 300) == 1.0
    lengths = [len(corpus.layout_text(material, lay, i)[1]) for i in range(300)]
    assert max(lengths) <= 360 and min(lengths) > 0
    vectors = corpus.derive_vectors(material, lay, 0, 300, 0.02, np.random.default_rng(2))
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


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


def test_the_graph_built_from_blocks_learns_its_8_bit_ranges_from_the_first_and_finds_the_same():
    """`from_blocks` (a build that never holds the whole matrix) learns the 8-bit ranges from its
    first block; stored inner products stay within 0.01 of the exact float32 ones, and its top 10
    agrees with brute force as well as the one-matrix build's does."""
    rng = np.random.default_rng(1)
    base = rng.standard_normal((EXACT_UP_TO + 3000, 48)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    blocks = DenseIndex.from_blocks(len(base), 48, (base[i:i + 4000] for i in range(0, len(base), 4000)))
    whole = DenseIndex.build(base)
    assert blocks.kind == whole.kind and "sq8" in blocks.kind and blocks.ntotal == len(base)
    queries = base[:40] + 0.05 * rng.standard_normal((40, 48)).astype(np.float32)
    exact = np.argsort(-(queries @ base.T), axis=1)[:, :10]
    for ix in (blocks, whole):
        ids, _ = ix.search(queries, 10)
        assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids.tolist(), exact.tolist())]) >= 0.9
    stored = blocks.similarity(queries[0], range(100))
    assert np.abs(stored - queries[0] @ base[:100].T).max() < 0.01


def test_answering_memory_comes_from_a_fresh_process_that_loaded_the_folder(tmp_path):
    """The bench's answering figure: a child process opens the saved index as the product does
    (files store) and answers; its pid, folder and passage count are its own, not the bench's."""
    import os

    from chatbot.bench.answering import embedder_class, measure_in_child
    from chatbot.config import Config
    from chatbot.store.files.store import build_index, current_folder
    from ..helpers import DOCUMENTS, FakeEmbedder

    cfg = Config().with_overrides(documents_dir=DOCUMENTS, embeddings_dir=tmp_path / "emb",
                                  model=FakeEmbedder.model_name)
    report = build_index(cfg, FakeEmbedder())
    questions = ["衡水市医保电话是多少", "新生儿医保怎么办理", "异地就医备案"]
    garbage = np.ones(512 * 2**20 // 8)   # the bench's build peak, freed before the child starts
    del garbage
    child = measure_in_child(cfg.embeddings_dir, cfg.model, questions, questions[:1], embedder_class(FakeEmbedder()))
    assert child["pid"] != os.getpid()
    assert child["passages"] == report.passages
    assert child["folder"] == str(current_folder(cfg.embeddings_dir))
    assert child["queries"] == len(questions) and child["index_builds_during_queries"] == 0
    assert child["peak_rss_mb"] >= child["rss_after_load_mb"] > 0
    # its own peak (VmHWM), not getrusage's ru_maxrss, which Linux carries over fork from the parent
    assert child["ru_maxrss_mb"] >= 512 and child["peak_rss_mb"] < child["ru_maxrss_mb"] - 256


def test_dense_index_from_blocks_is_the_index_build_gives():
    rng = np.random.default_rng(1)
    base = rng.standard_normal((EXACT_UP_TO + 3000, 32)).astype(np.float32)
    base /= np.linalg.norm(base, axis=1, keepdims=True)
    blocks = lambda v: (v[s:s + 4000] for s in range(0, len(v), 4000))  # noqa: E731
    small = DenseIndex.from_blocks(500, 32, blocks(base[:500]))
    assert small.kind == "flat" and np.array_equal(small.index.reconstruct_n(0, 500), base[:500])
    ix = DenseIndex.from_blocks(len(base), 32, blocks(base))
    assert ix.kind == DenseIndex.build(base).kind and ix.ntotal == len(base)
    queries = base[:50] + 0.05 * rng.standard_normal((50, 32)).astype(np.float32)
    exact = np.argsort(-(queries @ base.T), axis=1)[:, :10]
    ids, _ = ix.search(queries, 10)
    assert np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids.tolist(), exact.tolist())]) >= 0.9
    with pytest.raises(ValueError):
        DenseIndex.from_blocks(len(base) + 1, 32, blocks(base))
