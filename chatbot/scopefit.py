"""`chatbot tune --scope`: fit the learned out-of-scope check (retrieval/scope.py) on question files.

Every question is asked as the chat asks it (its history too). Its label: out of scope (1) when it
is unanswerable and the chat refused it as a doctor's question, off-topic or another scheme
(the word-list checks, `checks.find_gap`); in scope (0) when it is answerable; left out otherwise
(an unanswerable question about a place or a figure is about insurance). The features are the
embedding model's vector of the message as typed (without courtesies: `smalltalk.core`). A
class-balanced, L2-regularised logistic regression (scipy L-BFGS, `C` as in scikit-learn; the
bias not regularised) gives the probability; a three-way one over the out-of-scope messages names
the refusal. Before saving, each file is left out in turn and the refusals the model would add
there are counted: unanswerable questions the chat answered (gained) and answerable ones (lost).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .retrieval.adapter import file_digest
from .retrieval.scope import REASONS, ScopeModel, save

C = 10.0                        # development files left out by file, session 28: C 10 and 30 alike, 0.1–1 add nothing
THRESHOLDS = (0.7, 0.8, 0.9)    # reported left out; the chat's is policy.scope_threshold


def examples(qa, items: list[dict]) -> tuple[np.ndarray, np.ndarray, list[dict]]:
    """(vectors, labels: −1 left out, 0 in scope, 1 + REASONS index out of scope, rows)."""
    from . import smalltalk
    from .textnorm import normalize

    rows, texts = [], []
    for it in items:
        answer = qa.ask(it["query"], it.get("history") or None)
        said, _ = qa.prepare(it["query"])
        own = smalltalk.core(said, qa.policy)
        answerable = bool(it.get("evidence"))
        label = 0 if answerable else (1 + REASONS.index(answer.reason) if answer.reason in REASONS else -1)
        rows.append({"file": it["file"], "answerable": answerable, "refused": answer.refused, "label": label})
        texts.append(normalize(own))
    vectors = np.asarray(qa.embedder.encode(texts), dtype=np.float64)
    return vectors, np.array([r["label"] for r in rows]), rows


def _fit(X: np.ndarray, Y: np.ndarray, c: float) -> tuple[np.ndarray, np.ndarray]:
    """Softmax regression, classes balanced: min ½|W|² + c Σ_i s_i · −log p(y_i | x_i), by L-BFGS.
    Y: one-hot rows. Returns (W: classes × d, b: classes)."""
    from scipy.optimize import minimize

    n, d = X.shape
    k = Y.shape[1]
    s = (Y * (n / (k * np.maximum(Y.sum(axis=0), 1)))).sum(axis=1)  # scikit-learn's class_weight="balanced"

    def loss_and_grad(flat):
        W, b = flat[:k * d].reshape(k, d), flat[k * d:]
        z = X @ W.T + b
        z -= z.max(axis=1, keepdims=True)
        logp = z - np.log(np.exp(z).sum(axis=1, keepdims=True))
        loss = 0.5 * (W * W).sum() - c * (s * (Y * logp).sum(axis=1)).sum()
        g = c * s[:, None] * (np.exp(logp) - Y)
        return loss, np.concatenate([(g.T @ X + W).ravel(), g.sum(axis=0)])

    result = minimize(loss_and_grad, np.zeros(k * d + k), jac=True, method="L-BFGS-B", options={"maxiter": 3000})
    return result.x[:k * d].reshape(k, d), result.x[k * d:]


def fit(X: np.ndarray, labels: np.ndarray, c: float = C) -> ScopeModel:
    """The two regressions on the labelled rows (labels ≥ 0)."""
    keep = labels >= 0
    Xk, yk = X[keep], labels[keep]
    W, b = _fit(Xk, np.eye(2)[(yk > 0).astype(int)], c)
    out = yk > 0
    Wk, bk = _fit(Xk[out], np.eye(len(REASONS))[yk[out] - 1], c)
    # two-class softmax = logistic regression on the difference of the rows
    return ScopeModel(W[1] - W[0], float(b[1] - b[0]), Wk, bk)


def tune_scope(qa, items: list[dict], out: Path, c: float = C) -> dict:
    """Left-out counts by threshold, then the model fitted on all files, saved at `out`."""
    X, labels, rows = examples(qa, items)
    files = sorted({r["file"] for r in rows})
    counts = {t: {"gained": 0, "lost": 0} for t in THRESHOLDS}
    if len(files) > 1:
        for f in files:
            test = np.array([r["file"] == f for r in rows])
            model = fit(X[~test], np.where(test, -1, labels)[~test], c)
            for i in np.flatnonzero(test):
                if rows[i]["refused"]:
                    continue
                p, _ = model.judge(X[i])
                for t in THRESHOLDS:
                    if p >= t:
                        counts[t]["lost" if rows[i]["answerable"] else "gained"] += 1
    model = fit(X, labels, c)
    model.meta = {"model": qa.embedder.model_name, "files": {f: file_digest(f, items) for f in files},
                  "questions": int((labels >= 0).sum()), "out_of_scope": int((labels > 0).sum()), "C": c}
    save(out, model)
    return {"saved": str(out), "questions": model.meta["questions"], "out_of_scope": model.meta["out_of_scope"],
            "left_out_by_file": {str(t): v for t, v in counts.items()},
            "answered_unanswerable": sum(1 for r in rows if not r["answerable"] and not r["refused"])}
