"""`chatbot bench` at a tiny size (fields and ratios, never timings), and the performance work
behind it: the vectorised BM25 build equals bm25s's, pruned top-k search equals scoring every
passage, reused keyword tokens give the same index, synthetic passages tokenise additively."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import bm25s
import numpy as np
import pytest

from chatbot import bench
from chatbot.config import Config
from chatbot.dense import EXACT_UP_TO, DenseIndex
from chatbot.documents import load_folder
from chatbot.chunking import chunk_documents
from chatbot.keyword import KeywordIndex
from chatbot.textnorm import keyword_tokens

from .conftest import DOCUMENTS, FakeEmbedder

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"

POINT_FIELDS = ["passages", "index", "vectors", "build_passages_per_s", "query_embed_ms_p50", "query_ms_p50",
                "query_ms_p95", "e2e_over_embed", "ann_recall@10", "ann_speedup_vs_flat", "index_bytes_per_passage",
                "rss_mb", "stages_ms_p50", "index_builds_during_queries"]


def _corpus_texts() -> list[str]:
    files, _ = load_folder(DOCUMENTS)
    return [p.embed_text_normalized for f in files for p in chunk_documents(f.documents)]


def _columns(index: KeywordIndex) -> dict[str, tuple[list, list]]:
    """{token: (passage ids, scores)} of a keyword index, independent of vocabulary order."""
    s = index._bm25.scores
    out = {}
    for token, t in index._bm25.vocab_dict.items():
        if t + 1 < len(s["indptr"]):
            lo, hi = s["indptr"][t], s["indptr"][t + 1]
            out[token] = (s["indices"][lo:hi].tolist(), s["data"][lo:hi].tolist())
    return out


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


@pytest.fixture(scope="module")
def material():
    return bench.material(DOCUMENTS, FakeEmbedder())


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


def test_rebuild_reuses_keyword_tokens_and_gives_the_same_index(tmp_path, corpus_dir):
    from chatbot.index import build_index, load_index

    cfg = Config().with_overrides(documents_dir=corpus_dir, embeddings_dir=tmp_path / "a", model=FakeEmbedder.model_name)
    build_index(cfg, FakeEmbedder())
    first = sorted(corpus_dir.glob("*.txt"))[0]
    first.write_text(first.read_text(encoding="utf-8") + "\n新增的问题\n\n新增的一句话。\n\n健康新闻 2025-06-01\n",
                     encoding="utf-8")
    assert load_index(cfg.embeddings_dir).keyword.reusable
    calls = []
    import chatbot.keyword as kw

    original = kw.keyword_tokens
    kw.keyword_tokens = lambda *a, **k: calls.append(1) or original(*a, **k)
    try:
        report = build_index(cfg, FakeEmbedder())
    finally:
        kw.keyword_tokens = original
    reused = sum(f.chunks for f in report.files if f.reused)
    assert reused > 0 and len(calls) == report.passages - reused  # only the changed file was tokenised
    fresh_cfg = cfg.with_overrides(embeddings_dir=tmp_path / "b")
    build_index(fresh_cfg, FakeEmbedder())
    assert _columns(load_index(cfg.embeddings_dir).keyword) == _columns(load_index(fresh_cfg.embeddings_dir).keyword)


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


def _check_result(result: dict, sizes: int) -> None:
    assert len(result["points"]) == sizes
    for p in result["points"]:
        for f in POINT_FIELDS:
            assert f in p, f
        assert p["e2e_over_embed"] == pytest.approx(p["query_ms_p50"] / p["query_embed_ms_p50"], rel=0.02)
        assert p["index_builds_during_queries"] == 0
        assert p["ann_recall@10"] == 1.0 and p["index"] == "flat"  # tiny sizes are exact
        assert p["index_bytes_per_passage"] > 0 and p["rss_mb"] > 0
    real, synthetic = result["points"]
    assert real["corpus"] == "real" and real["vectors"] == "embedded" and real["passages"] > 100
    assert synthetic["corpus"] == "synthetic" and synthetic["vectors"] == "derived"
    assert "extrapolated" in synthetic["build"]
    inc = result["incremental"]
    assert result["incremental_speedup"] == pytest.approx(inc["full_build_s"] / inc["rebuild_one_changed_s"], rel=0.05)
    assert all(e is not None and 0 < e < inc["passages"] for e in inc["embedded_per_rebuild"])
    assert any(t["target"].startswith("e2e_over_embed") for t in result["targets"])


def test_bench_smoke_with_fake_model(tmp_path, monkeypatch, capsys):
    """The whole bench at a tiny size, with the fake embedder (no cold start: a fresh process
    cannot load a fake model)."""
    import chatbot.embedder

    monkeypatch.setattr(chatbot.embedder, "Embedder", lambda name=None: FakeEmbedder())
    docs = tmp_path / "documents"
    shutil.copytree(DOCUMENTS, docs)
    plot = ARTIFACTS / "bench_smoke_fake.png"
    from chatbot.cli import main

    rc = main(["bench", "--sizes", "105,1500", "--queries", "6", "--embed-sample", "40", "--synthetic-files", "2",
               "--no-cold-start", "--json", "--plot", str(plot), "--documents", str(docs), "--embeddings",
               str(tmp_path / "emb"), "--model", FakeEmbedder.model_name, "--workdir", str(tmp_path / "work")])
    assert rc == 0
    result = json.loads(capsys.readouterr().out)
    _check_result(result, 2)
    assert "cold_start_s" not in result
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.slow
def test_bench_smoke_with_real_model(tmp_path, capsys):
    docs = tmp_path / "documents"
    shutil.copytree(DOCUMENTS, docs)
    out = tmp_path / "bench.json"
    from chatbot.cli import main

    rc = main(["bench", "--sizes", "105,1200", "--queries", "5", "--embed-sample", "30", "--synthetic-files", "2",
               "--plot", str(ARTIFACTS / "bench_smoke.png"), "--documents", str(docs),
               "--embeddings", str(tmp_path / "emb"), "--out", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    assert "e2e_over_embed" in text and "cold_start_s" in text
    result = json.loads(out.read_text(encoding="utf-8"))
    _check_result(result, 2)
    assert result["cold_start_s"] > 0
    dv = result["derived_vectors"]
    assert 0 < dv["derived_cosine_to_real_mean"] <= 1 and dv["noise_sigma"] >= 0
    assert math.isfinite(result["points"][1]["build_passages_per_s"])


def test_sizes_are_validated(capsys):
    from chatbot.cli import main

    assert main(["bench", "--sizes", "ten"]) == 2
    assert "--sizes" in capsys.readouterr().err
