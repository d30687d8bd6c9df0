"""The query adapter (chatbot/retrieval/adapter.py): fitted on seeded synthetic data, it must move
held-out questions worded like the training ones to their passages; off, or for another model or
dimension, it changes nothing."""

import numpy as np
import pytest

from chatbot.retrieval import adapter


def _unit(x):
    return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _wording_gap(seed: int, n_passages=20, d=32, per_passage=12):
    """Questions about passage j = a weak copy of its vector + j's own "everyday wording" direction
    (shared by all of j's questions, unrelated to the passage vector) + noise: the model's cosine
    alone often ranks another passage first; a map learned from some questions fixes the others."""
    rng = np.random.default_rng(seed)
    passages = _unit(rng.normal(size=(n_passages, d)))
    wording = _unit(rng.normal(size=(n_passages, d)))
    labels = np.repeat(np.arange(n_passages), per_passage)
    q = 0.35 * passages[labels] + 1.0 * wording[labels] + 0.3 * rng.normal(size=(len(labels), d))
    return passages, _unit(q), labels


def _recall_at_1(queries, passages, labels):
    return float(np.mean(np.argmax(queries @ passages.T, axis=1) == labels))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_fitted_map_brings_held_out_questions_to_their_passages(seed):
    passages, q, labels = _wording_gap(seed)
    train = np.arange(len(labels)) % 3 != 0  # two thirds to fit, the rest held out
    matrix = adapter.fit(q[train], passages, [[int(x)] for x in labels[train]], l2=0.01, temperature=20.0)
    fitted = adapter.QueryAdapter(matrix, weight=1.0)
    before = _recall_at_1(q[~train], passages, labels[~train])
    after = _recall_at_1(fitted.apply(q[~train]), passages, labels[~train])
    assert before < 0.6 and after > before + 0.2, (before, after)


def test_fit_is_deterministic():
    passages, q, labels = _wording_gap(3, n_passages=8, d=16, per_passage=5)
    rel = [[int(x)] for x in labels]
    assert np.array_equal(adapter.fit(q, passages, rel), adapter.fit(q, passages, rel))


def test_apply_blends_and_stays_normalised():
    rng = np.random.default_rng(4)
    q = _unit(rng.normal(size=(3, 8))).astype(np.float32)
    m = rng.normal(size=(8, 8)).astype(np.float32)
    half = adapter.QueryAdapter(m, 0.5).apply(q)
    full = adapter.QueryAdapter(m, 1.0).apply(q)
    assert np.allclose(np.linalg.norm(half, axis=1), 1.0, atol=1e-5)
    assert np.allclose(full, _unit(q + q @ m), atol=1e-5)
    # the blend lies between the question and the fully adapted vector
    assert np.all((half * q).sum(1) > (full * q).sum(1) - 1e-6)


@pytest.mark.parametrize("weight, dim", [(0.0, 8), (0.5, 6)])
def test_off_or_other_dimension_leaves_the_question_alone(weight, dim):
    q = _unit(np.random.default_rng(5).normal(size=(2, dim))).astype(np.float32)
    assert np.array_equal(adapter.QueryAdapter(np.eye(8, dtype=np.float32), weight).apply(q), q)


def test_saved_map_loads_only_for_its_model(tmp_path):
    path = tmp_path / "a.npz"
    m = np.random.default_rng(6).normal(size=(8, 8)).astype(np.float32)
    adapter.save(path, m, {"model": "model-a", "dimension": 8})
    loaded = adapter.load(path, "model-a", 0.5)
    assert loaded is not None and loaded.meta["model"] == "model-a" and loaded.weight == 0.5
    assert np.allclose(loaded.matrix, m, atol=1e-2)  # stored as float16
    assert adapter.load(path, "model-b", 0.5) is None
    assert adapter.load(path, "model-a", 0.0) is None
    assert adapter.load(tmp_path / "missing.npz", "model-a", 0.5) is None
