"""`chatbot bench` end to end at a tiny size (fields and ratios, never timings), with the fake and the real model."""

from __future__ import annotations

import json
import math
import pytest
import shutil
from chatbot.config import Config
from ..helpers import DOCUMENTS, FakeEmbedder
from ..helpers.bench import ARTIFACTS, _columns, _check_result


def test_rebuild_reuses_keyword_tokens_and_gives_the_same_index(tmp_path, corpus_dir):
    from chatbot.store.files.store import build_index, load_index

    cfg = Config().with_overrides(documents_dir=corpus_dir, embeddings_dir=tmp_path / "a", model=FakeEmbedder.model_name)
    build_index(cfg, FakeEmbedder())
    first = sorted(corpus_dir.glob("*.txt"))[0]
    first.write_text(first.read_text(encoding="utf-8") + "\n新增的问题\n\n新增的一句话。\n\n健康新闻 2025-06-01\n",
                     encoding="utf-8")
    assert load_index(cfg.embeddings_dir).keyword.reusable
    calls = []
    import chatbot.textnorm as tn

    original = tn.keyword_tokens
    tn.keyword_tokens = lambda *a, **k: calls.append(1) or original(*a, **k)
    try:
        report = build_index(cfg, FakeEmbedder())
    finally:
        tn.keyword_tokens = original
    reused = sum(f.chunks for f in report.files if f.reused)
    assert reused > 0 and len(calls) == report.passages - reused  # only the changed file was tokenised
    fresh_cfg = cfg.with_overrides(embeddings_dir=tmp_path / "b")
    build_index(fresh_cfg, FakeEmbedder())
    assert _columns(load_index(cfg.embeddings_dir).keyword) == _columns(load_index(fresh_cfg.embeddings_dir).keyword)


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
