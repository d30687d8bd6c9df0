"""`chatbot tune --units`: fit the weights of the quoted-unit choice (policy.unit_weights) from data.

For every answerable question, the passage holding its evidence (among the first five found, as
the chat searched it) is cut into the units an answer may quote (quoting.units / can_open); a unit
that holds an evidence string is one the answer should open with. A conditional logit (softmax
over one passage's units, L2-regularised, plain gradient ascent on numpy) learns the feature
weights (answer.UNIT_FEATURES). Held out: with several files, each file is left out in turn (each
has its own writer, so the fit meets new wording, as on a hidden set); with one, folds grouped by
gold passage. The figure is the share of questions whose first-scored unit holds the evidence,
next to the current weights' share.
"""

from __future__ import annotations

import random
from collections import defaultdict

import numpy as np

from . import evaluation
from .answer import UNIT_FEATURES, _weights, unit_features
from .quoting import can_open, units

L2 = (0.01, 0.1, 1.0)


def examples(qa, items: list[dict]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(group, unit features, unit labels) per answerable question whose evidence is found."""
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
        weights = _weights(retrieval.tokens, qa.index.keyword) or {t: 1.0 for t in retrieval.tokens}
        # features over all units, as the answer computes them (position counts every unit)
        x = np.array(unit_features(retrieval.normalized, every, weights, qa.retriever.sentence_similarity,
                                   gold.title, retrieval.context_text))[quotable]
        group = it.get("file") or f"{it.get('source', '')}|{it.get('title', '')}"
        out.append((group, x, np.array(labels)))
    return out


def fit(data, l2: float, iters: int = 800, rate: float = 0.5) -> np.ndarray:
    """Weights maximising the log-likelihood that a passage's answering units score highest."""
    w = np.zeros(len(UNIT_FEATURES))
    for _ in range(iters):
        grad = -l2 * w
        for _, x, y in data:
            s = x @ w
            p = np.exp(s - s.max())
            grad += x.T @ (y / y.sum() - p / p.sum())
        w += rate * grad / len(data)
    return w


def top1(w: np.ndarray, data) -> float:
    """Share of questions whose best-scored unit holds the evidence."""
    return float(np.mean([y[int(np.argmax(x @ w))] for _, x, y in data])) if data else 0.0


def tune_units(qa, items: list[dict], folds: int = 5, seed: int = 0) -> dict:
    if len({it.get("file") for it in items}) < 2:
        items = [{k: v for k, v in it.items() if k != "file"} for it in items]
    data = examples(qa, items)
    groups = sorted({g for g, _, _ in data})
    if len({it.get("file") for it in items}) >= 2:
        folds = len(groups)
        fold_of = {g: i for i, g in enumerate(groups)}
    else:
        random.Random(seed).shuffle(groups)
        fold_of = {g: i % folds for i, g in enumerate(groups)}
    current = np.array([qa.policy.unit_weights.get(n, 0.0) for n in UNIT_FEATURES])
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
    return {"questions": len(data), "current_top1": round(top1(current, data), 3), "fits": rows, "chosen": best}
