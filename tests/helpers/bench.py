"""`chatbot bench` at a tiny size (fields and ratios, never timings), and the performance work
behind it: the keyword index is bm25s's own, reused keyword tokens give the same index,
synthetic passages tokenise additively."""

from __future__ import annotations

import json
import math
import os
import shutil
from pathlib import Path

import bm25s
import numpy as np
import pytest

from chatbot import bench
from chatbot.bench import corpus
from chatbot.config import Config
from chatbot.store.files.dense import EXACT_UP_TO, DenseIndex
from chatbot.ingest.documents import load_folder
from chatbot.ingest.chunking import chunk_documents
from chatbot.store.keyword import KeywordIndex
from chatbot.textnorm import keyword_tokens

from . import DOCUMENTS, FakeEmbedder

from . import ROOT  # noqa: E402
ARTIFACTS = ROOT / "artifacts"

POINT_FIELDS = ["passages", "index", "vectors", "build_passages_per_s", "query_embed_ms_p50", "query_ms_p50",
                "query_ms_p95", "e2e_over_embed", "ann_recall@10", "ann_speedup_vs_flat", "index_bytes_per_passage",
                "answering_rss_mb", "in_process_rss_mb", "stages_ms_p50", "index_builds_during_queries"]


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




@pytest.fixture(scope="module")
def material():
    return corpus.material(DOCUMENTS, FakeEmbedder())


def _check_result(result: dict, sizes: int) -> None:
    assert len(result["points"]) == sizes
    for p in result["points"]:
        for f in POINT_FIELDS:
            assert f in p, f
        assert p["e2e_over_embed"] == pytest.approx(p["query_ms_p50"] / p["query_embed_ms_p50"], rel=0.02)
        assert p["index_builds_during_queries"] == 0
        assert p["ann_recall@10"] == 1.0 and p["index"] == "flat"  # tiny sizes are exact
        assert p["index_bytes_per_passage"] > 0 and p["answering_rss_mb"] > 0
        child = p["answering_process"]   # a fresh process that loaded the saved folder and answered
        assert child["pid"] != os.getpid() and child["passages"] == p["passages"]
        assert child["index_builds_during_queries"] == 0 and child["queries"] > 0
        assert child["rss_anon_mb"] > 0 and child["rss_file_mb"] >= 0 and child["rss_anon_mb"] + child["rss_file_mb"] <= child["rss_mb"] + 1
    real, synthetic = result["points"]
    assert real["corpus"] == "real" and real["vectors"] == "embedded" and real["passages"] > 100
    assert synthetic["corpus"] == "synthetic" and synthetic["vectors"] == "derived"
    assert "extrapolated" in synthetic["build"]
    inc = result["incremental"]
    assert result["incremental_speedup"] == pytest.approx(inc["full_build_s"] / inc["rebuild_one_changed_s"], rel=0.05)
    assert all(e is not None and 0 < e < inc["passages"] for e in inc["embedded_per_rebuild"])
    assert any(t["target"].startswith("e2e_over_embed") for t in result["targets"])
