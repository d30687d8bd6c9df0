"""The learned out-of-scope check (retrieval/scope.py, chatbot/scopefit.py): the fit separates what
it is given, weighs the classes evenly, names the kind, and is tied to its embedding model."""

from __future__ import annotations

import numpy as np
import pytest

from chatbot.retrieval import scope
from chatbot.scopefit import _fit, fit


def _clusters(seed=0, n_in=300, n_out=(20, 10, 15), d=16):
    """In-scope vectors around one direction, the three out-of-scope kinds around three others."""
    rng = np.random.default_rng(seed)
    centres = np.eye(d)[:4] * 3
    X = [centres[0] + rng.normal(size=(n_in, d))]
    labels = [np.zeros(n_in, int)]
    for k, n in enumerate(n_out, 1):
        X.append(centres[k] + rng.normal(size=(n, d)))
        labels.append(np.full(n, k))
    return np.vstack(X), np.concatenate(labels), centres


def test_the_fit_separates_out_of_scope_messages_and_names_their_kind():
    X, labels, centres = _clusters()
    model = fit(X, labels, c=10.0)
    assert model.judge(centres[0])[0] < 0.1
    for k, kind in enumerate(scope.REASONS, 1):
        p, named = model.judge(centres[k])
        assert p > 0.9 and named == kind


def test_rows_left_out_are_not_learned_from():
    X, labels, centres = _clusters()
    unlabelled = labels.copy()
    unlabelled[labels == 1] = -1  # medical rows left out: the model knows only two kinds apart from in scope
    p, _ = fit(X, unlabelled, c=10.0).judge(centres[1])
    assert p < fit(X, labels, c=10.0).judge(centres[1])[0]


def test_classes_are_weighed_evenly():
    """Ten out-of-scope messages against five hundred in scope still move the boundary to the middle:
    a point halfway between the two centres is about even, not swallowed by the larger class."""
    rng = np.random.default_rng(1)
    d = 8
    a, b = np.eye(d)[0] * 2, np.eye(d)[1] * 2
    X = np.vstack([a + rng.normal(scale=0.5, size=(500, d)), b + rng.normal(scale=0.5, size=(10, d))])
    W, bias = _fit(X, np.eye(2)[np.r_[np.zeros(500, int), np.ones(10, int)]], c=10.0)
    z = (a + b) / 2 @ (W[1] - W[0]) + bias[1] - bias[0]
    assert abs(1 / (1 + np.exp(-z)) - 0.5) < 0.3


def test_a_saved_model_loads_for_its_embedding_model_only(tmp_path):
    X, labels, centres = _clusters()
    model = fit(X, labels, c=10.0)
    model.meta = {"model": "m1", "files": {"a.jsonl": "x"}}
    path = tmp_path / "scope.npz"
    scope.save(path, model)
    again = scope.load(path, "m1")
    assert again is not None and again.meta["files"] == {"a.jsonl": "x"}
    assert again.judge(centres[2]) == pytest.approx(model.judge(centres[2]), abs=1e-5)
    assert scope.load(path, "another model") is None
    assert scope.load(tmp_path / "missing.npz", "m1") is None
    assert again.judge(np.ones(3)) == (0.0, "medical")  # a vector of another dimension judges nothing
