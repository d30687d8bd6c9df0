"""`chatbot tune`: choose the keyword weight and the refusal threshold by k-fold cross-validation.

Every figure it prints for a fold comes from questions that fold's parameters were not chosen
on, so the cross-validated line is an honest estimate; the "all" line is what the shipped
defaults score on the whole file (optimistic, for reference only).
"""

from __future__ import annotations

import random
from dataclasses import replace

from . import evaluation
from .answer import compose, confidence
from .service import QA

WEIGHTS = (0.4, 0.6, 0.8, 1.0, 1.5, 2.0, 3.0)
THRESHOLDS = tuple(round(0.025 * i, 3) for i in range(0, 21))
RATIOS = (0.85, 0.9, 0.95, 1.01)  # 1.01 = never quote a second article
FLOORS = tuple(round(0.05 * i, 2) for i in range(0, 10))


def objective(m: dict) -> float:
    """What the defaults should maximise: right passage first, the fact kept, honest refusals,
    with a false refusal costing more than a missed one."""
    def v(key):
        return m.get(key) or 0.0
    return v("recall@1") + v("mrr") + v("answer_hit") + 0.5 * v("refusal_recall") - 3.0 * v("false_refusal")


def _best(grid, score) -> tuple:
    """The best parameters; among ties, the median of each parameter in turn, so the choice sits inside a plateau, away from edges where a
    small change of data flips it."""
    values = {p: score(p) for p in grid}
    top = max(values.values())
    tied = [p for p, v in values.items() if v >= top - 1e-9]
    for axis in range(len(tied[0])):
        options = sorted({p[axis] for p in tied})
        pick = options[(len(options) - 1) // 2]
        tied = [p for p in tied if p[axis] == pick]
    return tied[0]


def tune(base: QA, items: list[dict], folds: int = 5, seed: int = 0) -> dict:
    keyword = base.index.keyword
    cls = type(base.retriever)
    # Answers depend on (weight, second_ratio); refusal thresholds are applied afterwards, cheaply.
    per_key: dict[tuple[float, float], list[tuple]] = {}
    for w in WEIGHTS:
        retriever = cls(base.index, base.embedder, replace(base.policy, bm25_weight=w))
        retrievals = []
        for item in items:
            text, _ = base.prepare(item["query"])
            retrievals.append(retriever.search(text, 10))
        for ratio in RATIOS:
            policy = replace(base.policy, threshold=-1.0, dense_floor=-1.0, second_ratio=ratio)  # only threshold-free refusals
            rows = []
            for item, retrieval in zip(items, retrievals):
                evidence = item.get("evidence") or []
                rank = next((r for r, h in enumerate(retrieval.hits[:10], 1)
                             if evidence and evaluation._contains_any(h.passage.title + "\n" + h.passage.text, evidence)), None)
                top = replace(retrieval, hits=retrieval.hits[:base.policy.top_k])
                answer = compose(top, keyword, policy)
                value = confidence(top, top.hits[0], keyword).value if top.hits else 0.0
                dense = top.hits[0].dense_score if top.hits else 0.0
                hit = bool(evidence) and not answer.refused and evaluation._contains_any(answer.text, evidence)
                rows.append((item, rank, answer, value, dense, hit))
            per_key[(w, ratio)] = rows

    def outcome(p, i) -> evaluation.Outcome:
        w, ratio, t, floor = p
        item, rank, answer, value, dense, hit = per_key[(w, ratio)][i]
        refused = answer.refused or value < t or dense < floor
        return evaluation.Outcome(item, rank, refused, hit and not refused, answer.text, "", "")

    def metrics_for(idx, p):
        return evaluation.metrics([outcome(p, i) for i in idx])

    names = ("bm25_weight", "second_ratio", "threshold", "dense_floor")
    grid = [(w, r, t, f) for w in WEIGHTS for r in RATIOS for t in THRESHOLDS for f in FLOORS]
    order = list(range(len(items)))
    random.Random(seed).shuffle(order)
    parts = [order[f::folds] for f in range(folds)]
    held_out, chosen = [], []
    for f in range(folds):
        train = [i for g in range(folds) if g != f for i in parts[g]]
        best = _best(grid, lambda p: objective(metrics_for(train, p)))
        chosen.append(best)
        held_out.extend(outcome(best, i) for i in parts[f])
    full = {p: metrics_for(order, p) for p in grid}
    best_all = _best(grid, lambda p: objective(full[p]))
    w0, r0, t0, f0 = best_all
    curve = [{"threshold": t, "refusal_recall": full[(w0, r0, t, f0)]["refusal_recall"],
              "false_refusal": full[(w0, r0, t, f0)]["false_refusal"]} for t in THRESHOLDS]
    floor_curve = [{"dense_floor": f, "refusal_recall": full[(w0, r0, t0, f)]["refusal_recall"],
                    "false_refusal": full[(w0, r0, t0, f)]["false_refusal"]} for f in FLOORS]
    return {
        "folds": folds,
        "chosen_per_fold": [dict(zip(names, p)) for p in chosen],
        "cross_validated": evaluation.metrics(held_out),
        "chosen_on_all": dict(zip(names, best_all)),
        "all_with_chosen": full[best_all],
        "refusal_curve": curve,
        "dense_floor_curve": floor_curve,
    }
