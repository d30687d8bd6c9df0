"""The retrieval and answer checks, run on both index backends: FAISS files and Milvus (Lite).

Each backend indexes the shipped corpus with the real model in its own temporary folder; the
same questions must get the same answers, citations and refusals from both. Milvus runs twice:
with its default keyword search on Milvus Lite (bm25s in process) and with Milvus's own BM25.
"""

from __future__ import annotations

import shutil

import pytest

from chatbot.config import Config
from chatbot.errors import IndexMismatchError
from chatbot.store import build, exists, open_index

from ..helpers import DOCUMENTS, SHARED_EVAL

HENGSHUI = "000_91c1583d48168d56.txt"
BACKENDS = ["faiss", "milvus"]
VARIANTS = ["faiss", "milvus", "milvus-bm25"]   # milvus-bm25: CHATBOT_MILVUS_KEYWORD=milvus


def _open_qa(base, docs, variant, embedder):
    """QA on one backend variant, its index built and opened now (the keyword mode is read at open)."""
    from chatbot.service import QA

    store = "faiss" if variant == "faiss" else "milvus"
    cfg = Config().with_overrides(documents_dir=docs, embeddings_dir=base / "embeddings",
                                  feedback_dir=base / "feedback", store=store)
    build(cfg, embedder)
    qa = QA(cfg.with_overrides(milvus_keyword="milvus" if variant == "milvus-bm25" else "auto"), embedder)
    qa.retriever
    return qa


@pytest.fixture(scope="module")
def real_embedder():
    from chatbot.embedder import Embedder

    return Embedder(Config().model)


@pytest.fixture(scope="module", params=VARIANTS)
def backend_qa(request, tmp_path_factory, real_embedder):
    """QA over the shipped corpus on one backend, built with the real model."""
    if request.param != "faiss":
        pytest.importorskip("milvus_lite")
    base = tmp_path_factory.mktemp(f"backend-{request.param}")
    docs = base / "documents"
    shutil.copytree(DOCUMENTS, docs)
    return _open_qa(base, docs, request.param, real_embedder)


@pytest.fixture(scope="module")
def both(tmp_path_factory, real_embedder):
    """All variants side by side, for comparisons."""
    pytest.importorskip("milvus_lite")
    return {v: _open_qa(tmp_path_factory.mktemp(f"pair-{v}"), DOCUMENTS, v, real_embedder) for v in VARIANTS}


def test_backend_serves_the_store_it_was_asked_for(backend_qa):
    index = backend_qa.index
    assert exists(backend_qa.config)
    assert (type(index).__name__ == "MilvusIndex") == (backend_qa.config.store == "milvus")
    assert len(index.passages) == index.manifest["chunk_count"] > 100
    if backend_qa.config.store == "milvus":
        assert index.keyword_mode in ("local", "milvus")   # auto on Milvus Lite → local


def test_hengshui_city_phone_is_answered_and_cited(backend_qa):
    a = backend_qa.ask("衡水市医保电话是多少")
    assert not a.refused
    assert "0318-12333" in a.text and a.text.endswith("[1]")
    assert a.citations[0].n == 1 and a.citations[0].passage.source == HENGSHUI


@pytest.mark.parametrize("query", [
    "衡水市醫保電話是多少",                                    # Traditional
    "What is the medical insurance hotline of Hengshui City?",  # English
])
def test_variants_reach_the_same_passage(backend_qa, query):
    simplified = backend_qa.retrieve("衡水市医保电话是多少", k=5).hits[0].passage
    assert backend_qa.retrieve(query, k=5).hits[0].passage == simplified
    assert simplified.title == "衡水市医保电话"


def test_unknown_place_is_refused(backend_qa):
    a = backend_qa.ask("廊坊三河市医保中心电话")
    assert a.refused and a.reason == "place" and "三河" in a.text and a.citations == ()


def test_out_of_scope_is_refused(backend_qa):
    assert backend_qa.ask("推荐一部好看的电影").refused


def test_both_backends_rank_and_answer_the_dev_questions_alike(both):
    """Same passages, same answers: the Milvus backend is a drop-in for the FAISS files."""
    from chatbot import evaluation

    questions = [i["query"] for i in evaluation.load_questions(SHARED_EVAL)] if SHARED_EVAL.exists() else []
    questions += ["衡水市医保电话是多少", "河北省12月出生的新生儿要交两年医保吗", "I lost my medical insurance card. How do I report the loss?"]
    assert both["milvus"].index.keyword_mode == "local" and both["milvus-bm25"].index.keyword_mode == "milvus"
    for q in questions:
        f = both["faiss"].retrieve(q, k=5)
        fa = both["faiss"].ask(q)
        for variant in VARIANTS[1:]:
            m = both[variant].retrieve(q, k=5)
            assert f.hits[0].passage == m.hits[0].passage, (variant, q)
            assert {h.passage.chunk_id for h in f.hits} == {h.passage.chunk_id for h in m.hits}, (variant, q)
            ma = both[variant].ask(q)
            assert (fa.text, fa.refused, [c.passage for c in fa.citations]) == \
                   (ma.text, ma.refused, [c.passage for c in ma.citations]), (variant, q)


@pytest.mark.parametrize("store", BACKENDS)
def test_incremental_rebuild_embeds_only_the_changed_file(store, fake_config, fake_embedder, corpus_dir):
    cfg = fake_config.with_overrides(store=store)
    first = build(cfg, fake_embedder)
    assert first.embedded == first.passages
    changed = sorted(corpus_dir.glob("*.txt"))[2]
    with open(changed, "a", encoding="utf-8") as fh:
        fh.write("\n补充说明：本页内容仅供参考，以当地医保局公布为准。\n")
    second = build(cfg, fake_embedder)
    redone = [f for f in second.files if not f.reused]
    assert [f.source for f in redone] == [changed.name] and second.embedded == redone[0].chunks
    index = open_index(cfg)
    assert any("以当地医保局公布为准" in p.text for p in index.passages)
    assert len(index.passages) == second.passages


@pytest.mark.parametrize("store", BACKENDS)
def test_model_mismatch_is_the_same_one_line_error(store, fake_config, fake_embedder):
    cfg = fake_config.with_overrides(store=store)
    build(cfg, fake_embedder)
    with pytest.raises(IndexMismatchError) as err:
        open_index(cfg.with_overrides(model="another-model"))
    assert str(err.value) == (f"index was built with model {fake_config.model!r}, not 'another-model'; "
                              f"run `chatbot build` to rebuild it with --model another-model")
