"""`chatbot tune --units`: fit the weights of the quoted-unit choice (policy.unit_weights) from data.

For every answerable question, the passage holding its evidence (among the first five found, as
the chat searched it) is cut into the units an answer may quote (quoting.units / can_open); a unit
that holds an evidence string is one the answer should open with. A conditional logit (softmax
over one passage's units, L2-regularised, plain gradient ascent on numpy) learns the feature
weights (answer.UNIT_FEATURES). Held out: with several files, each file is left out in turn (each
has its own writer, so the fit meets new wording, as on a hidden set); with one, folds grouped by
gold passage. The figure is the share of questions whose first-scored unit holds the evidence,
next to the current weights' share.

With `metric`, the hand-made features are fitted together with a learned question↔unit metric:
512 more features, the element-wise product of the question's and the unit's vectors (a diagonal
bilinear form, Σ_d m_d·q_d·u_d), L2-regularised apart (METRIC_L2), by L-BFGS. It learns which
dimensions of agreement mark an answering unit (a question asking when ↔ a unit stating a
month) from the labelled questions instead of a list. The metric (scaled, so that its weight in
the policy is 1) is saved beside the query adapter (retrieval/adapter.UNIT_METRIC_FILE) and the
hand-made weights fitted with it are printed for policy.UNIT_WEIGHTS.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from . import evaluation
from .answer import UNIT_FEATURES, _sentence_features, _weights, unit_features, unit_inputs
from .quoting import can_open, units

L2 = (0.01, 0.1, 1.0)
HAND = UNIT_FEATURES.index("metric")  # the hand-made features come first; "metric" is the learned one
METRIC_L2 = (0.001, 0.0003, 0.0001)  # leave-one-file-out over dev, dev2, dev4, dev5, dev9: 0.770 / 0.791 / 0.789 (session 8)
METRIC_SCALE = 20.0                  # q·u products are ~1/512 each: scaled so the L2 grid above is O(1)


def examples(qa, items: list[dict]) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
    """(group, unit features, unit labels, question⊙unit vectors) per answerable question whose
    evidence is found."""
    out = []
    for it in items:
        evidence = it.get("evidence") or []
        if not evidence:
            continue
        _, retrieval = qa.ask_with_hits(it["query"], 10, it.get("history") or None)
        gold = next((h.passage for h in retrieval.hits[:5]
                     if evaluation._contains_any(h.passage.title + "\n" + h.passage.text, evidence)), None)
        every = list(units(gold.text)) if gold else []
        quotable = [i for i, u in enumerate(every) if can_open(u)]
        labels = [1.0 if evaluation._contains_any(every[i], evidence) else 0.0 for i in quotable]
        if not any(labels):
            continue
        weights, scores = unit_inputs(retrieval, _weights(retrieval.tokens, qa.index.keyword)
                                      or {t: 1.0 for t in retrieval.tokens}, qa.retriever.unit_scores, qa.policy)
        share = qa.policy.unit_alone if retrieval.alone_normalized else 0.0
        # features over all units, as the answer computes them (position counts every unit)
        x = np.array(unit_features(retrieval.normalized, every, weights, scores,
                                   gold.title, retrieval.context_text))[quotable][:, :HAND]
        texts = [_sentence_features(every[i])[0] for i in quotable]
        q, vs = qa.retriever._sentence_vectors(retrieval.normalized, texts)
        if share > 0:  # the metric is linear in the question's vector: blend the vectors
            q = share * qa.retriever._sentence_vectors(retrieval.alone_normalized, texts)[0] + (1 - share) * q
        group = it.get("file") or f"{it.get('source', '')}|{it.get('title', '')}"
        out.append((group, x, np.array(labels), METRIC_SCALE * np.stack(vs) * q))
    return out


def fit_metric(data, l2: float, l2_hand: float = 0.01) -> np.ndarray:
    """Hand-made weights and the metric together: the conditional logit of the answering units
    among a passage's units, on [features, question⊙unit], by L-BFGS (deterministic)."""
    from scipy.optimize import minimize  # the fitting command only

    X = [np.hstack([x, qu]) for _, x, _, qu in data]
    Y = [y for _, _, y, _ in data]
    reg = np.array([l2_hand] * HAND + [l2] * (X[0].shape[1] - HAND))

    def loss_and_grad(w):
        loss, grad = 0.0, np.zeros_like(w)
        for x, y in zip(X, Y):
            s = x @ w
            p = np.exp(s - s.max())
            p /= p.sum()
            hit = (p * y).sum()
            loss -= np.log(hit + 1e-300)
            grad -= x.T @ (p * y / hit - p)
        return loss / len(X) + 0.5 * (reg * w * w).sum(), grad / len(X) + reg * w

    return minimize(loss_and_grad, np.zeros(X[0].shape[1]), jac=True, method="L-BFGS-B",
                    options={"maxiter": 500}).x


def top1_metric(w: np.ndarray, data) -> float:
    return float(np.mean([y[int(np.argmax(np.hstack([x, qu]) @ w))] for _, x, y, qu in data])) if data else 0.0


def fit(data, l2: float, iters: int = 800, rate: float = 0.5) -> np.ndarray:
    """Weights maximising the log-likelihood that a passage's answering units score highest."""
    w = np.zeros(HAND)
    for _ in range(iters):
        grad = -l2 * w
        for _, x, y, _ in data:
            s = x @ w
            p = np.exp(s - s.max())
            grad += x.T @ (y / y.sum() - p / p.sum())
        w += rate * grad / len(data)
    return w


def top1(w: np.ndarray, data) -> float:
    """Share of questions whose best-scored unit holds the evidence."""
    return float(np.mean([y[int(np.argmax(x @ w))] for _, x, y, _ in data])) if data else 0.0


def tune_units(qa, items: list[dict], folds: int = 5, seed: int = 0, metric_out: Path | None = None) -> dict:
    """Leave-one-file-out (or grouped-fold) first-unit accuracy of the plain fit and, with
    `metric_out`, of the fit with the learned metric, which is then fitted on everything and saved."""
    if len({it.get("file") for it in items}) < 2:
        items = [{k: v for k, v in it.items() if k != "file"} for it in items]
    data = examples(qa, items)
    groups = sorted({g for g, *_ in data})
    if len({it.get("file") for it in items}) >= 2:
        folds = len(groups)
        fold_of = {g: i for i, g in enumerate(groups)}
    else:
        random.Random(seed).shuffle(groups)
        fold_of = {g: i % folds for i, g in enumerate(groups)}
    current = np.array([qa.policy.unit_weights_plain.get(n, 0.0) for n in UNIT_FEATURES[:HAND]])
    rows = []
    for l2 in L2:
        held = defaultdict(list)
        for f in range(folds):
            w = fit([d for d in data if fold_of[d[0]] != f], l2)
            held[f] = [d for d in data if fold_of[d[0]] == f]
            held[f] = [top1(w, [d]) for d in held[f]]
        everything = fit(data, l2)
        rows.append({"l2": l2, "cv_top1": round(float(np.mean([v for vs in held.values() for v in vs])), 3),
                     "cv_top1_by_fold": {g: round(float(np.mean(held[fold_of[g]])), 3) for g in groups}
                     if folds == len(groups) else None,
                     "in_sample_top1": round(top1(everything, data), 3),
                     "weights": {n: round(float(v), 2) for n, v in zip(UNIT_FEATURES, everything)}})
    best = max(rows, key=lambda r: r["cv_top1"])
    out = {"questions": len(data), "current_top1": round(top1(current, data), 3), "fits": rows, "chosen": best}
    if metric_out is not None:
        out["metric"] = _tune_metric(qa, items, data, folds, fold_of, groups, metric_out)
    return out


def _tune_metric(qa, items, data, folds, fold_of, groups, out: Path) -> dict:
    rows = []
    for l2 in METRIC_L2:
        held = {f: top1_metric(fit_metric([d for d in data if fold_of[d[0]] != f], l2),
                               [d for d in data if fold_of[d[0]] == f]) for f in range(folds)}
        sizes = {f: sum(1 for d in data if fold_of[d[0]] == f) for f in range(folds)}
        rows.append({"l2": l2, "cv_top1": round(sum(held[f] * sizes[f] for f in held) / len(data), 3),
                     "cv_top1_by_fold": {g: round(held[fold_of[g]], 3) for g in groups} if folds == len(groups) else None})
    chosen = METRIC_L2[len(METRIC_L2) // 2]  # the middle of the plateau, not the best fold figure
    w = fit_metric(data, chosen)
    from .retrieval import adapter

    files = sorted({it.get("file") for it in items if it.get("file")})
    meta = {"model": qa.embedder.model_name, "dimension": int(len(w) - HAND), "l2": chosen,
            "questions": len(data), "files": {n: adapter.file_digest(n, items) for n in files},
            "fitted": time.strftime("%Y-%m-%d", time.gmtime())}
    adapter.save(out, (METRIC_SCALE * w[HAND:]).astype(np.float32), meta)
    return {"saved": str(out), "fits": rows, "chosen_l2": chosen, "in_sample_top1": round(top1_metric(w, data), 3),
            "weights": {**{n: round(float(v), 2) for n, v in zip(UNIT_FEATURES, w[:HAND])}, "metric": 1.0}}
