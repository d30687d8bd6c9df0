"""`chatbot tune`: choose the keyword weight, the second-article ratio and the refusal thresholds by
cross-validation over all question files given, with folds grouped by gold passage.

Questions whose gold is the same passage (same source and title) never straddle train and test,
so a fold is never scored on paraphrases of questions its parameters were chosen on. Every figure
of the "cv" columns comes from held-out folds; the "in-sample" columns are the parameters chosen
on everything, scored on everything (optimistic, for reference only). The refusal checks
(chatbot/retrieval/checks.py) have no fitted parameter; `tune` reports what each one adds.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import replace

from . import evaluation
from .answer import compose, confidence
from .service import QA
from .textnorm import cjk_share, normalize

WEIGHTS = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0)
TRANSLATE_WEIGHTS = (0.0, 0.25, 0.5, 1.0, 2.0)  # keyword weight of an English question's translation
RATIOS = (0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 1.01)  # 1.01 = never quote a second article
THRESHOLDS = tuple(round(0.025 * i, 3) for i in range(0, 13))
FLOORS = tuple(round(0.05 * i, 2) for i in range(0, 7))
SENTENCE_WEIGHTS = (0.0, 1.0, 2.0, 3.0, 4.0, 6.0)  # question↔sentence cosine in the sentence choice
MAX_FALSE_REFUSAL = 0.03


def objective(m: dict) -> float:
    """What the defaults maximise: right passage first, the fact kept, honest refusals; a false
    refusal costs more than a missed one, and beyond MAX_FALSE_REFUSAL it is ruled out."""
    def v(key):
        return m.get(key) or 0.0
    penalty = 10.0 if v("false_refusal") > MAX_FALSE_REFUSAL else 0.0
    return v("recall@1") + v("mrr") + v("answer_hit") + 0.5 * v("refusal_recall") - 3.0 * v("false_refusal") - penalty


def _best(grid, score) -> tuple:
    """The best parameters; among ties, the median of each parameter in turn (inside a plateau)."""
    values = {p: score(p) for p in grid}
    top = max(values.values())
    tied = [p for p, v in values.items() if v >= top - 1e-9]
    for axis in range(len(tied[0])):
        options = sorted({p[axis] for p in tied})
        pick = options[(len(options) - 1) // 2]
        tied = [p for p in tied if p[axis] == pick]
    return tied[0]


def group_of(item: dict) -> str:
    """Questions about one gold passage form one group; an unanswerable question is its own."""
    if item.get("evidence"):
        return f"{item.get('source', '')}|{item.get('title', '')}"
    return f"id:{item.get('id')}"


def grouped_folds(items: list[dict], folds: int, seed: int = 0) -> list[list[int]]:
    """Indices split into `folds` parts, whole groups at a time, sizes balanced (largest first)."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        groups[group_of(item)].append(i)
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    keys.sort(key=lambda g: -len(groups[g]))  # stable: shuffled order within equal sizes
    parts: list[list[int]] = [[] for _ in range(folds)]
    for g in keys:
        min(parts, key=len).extend(groups[g])
    return parts


def _variant(base: QA, policy) -> QA:
    """A QA sharing the loaded index and model, with another policy."""
    qa = QA(base.config, base.embedder, policy)
    qa._retriever = type(base.retriever)(base.index, base.embedder, policy)
    return qa


def _english(item: dict) -> bool:
    """A question the keyword side meets through its translation (retrieval/crosslingual.py)."""
    return cjk_share(normalize(item["query"])) < 0.5


def _rows(base: QA, items: list[dict]) -> dict:
    """Per (weight, translate weight, ratio): for each question (answer without thresholds,
    retrieval, confidence, dense). A Chinese question's retrieval depends on the keyword weight
    only, an English one's on the translate weight only, so each is retrieved once per value."""
    keyword = base.index.keyword
    k = base.policy.top_k
    english = [_english(it) for it in items]

    def ask(idx, **values):
        policy = replace(base.policy, threshold=-1.0, dense_floor=-1.0, **values)
        qa = _variant(base, policy)
        return {i: qa.ask_with_hits(items[i]["query"], 10, history=items[i].get("history") or None)[1] for i in idx}

    zh = [i for i, e in enumerate(items) if not english[i]]
    en = [i for i, e in enumerate(items) if english[i]]
    by_w = {w: ask(zh, bm25_weight=w) for w in WEIGHTS}
    by_t = {t: ask(en, translate_weight=t) for t in TRANSLATE_WEIGHTS}
    per_key = {}
    for w in WEIGHTS:
        for t in TRANSLATE_WEIGHTS:
            asked = [by_t[t][i] if english[i] else by_w[w][i] for i in range(len(items))]
            for ratio in RATIOS:
                p = replace(base.policy, bm25_weight=w, translate_weight=t, second_ratio=ratio)
                rows = []
                for retrieval in asked:
                    top = replace(retrieval, hits=retrieval.hits[:k])
                    answer = compose(top, keyword, p, similarity=base.retriever.sentence_similarity)
                    value = confidence(top, top.hits[0], keyword).value if top.hits else 0.0
                    dense = top.hits[0].dense_score if top.hits else 0.0
                    rows.append((answer, retrieval, value, dense))
                per_key[(w, t, ratio)] = [(evaluation.outcome(it, a, r), v, d) + (a, r)
                                          for it, (a, r, v, d) in zip(items, rows)]
    return per_key


def _outcome(row, t, floor) -> evaluation.Outcome:
    """The outcome with the refusal thresholds applied (rank and hit computed once, in `_rows`)."""
    o, value, dense = row[0], row[1], row[2]
    refused = o.refused or value < t or dense < floor
    return o if refused == o.refused else replace(o, refused=refused, hit=o.hit and not refused)


def _sliced(outcomes: list[evaluation.Outcome]) -> dict:
    """Metrics overall, per file and per type."""
    out = {"all": evaluation.metrics(outcomes)}
    for key in ("file", "type"):
        groups = defaultdict(list)
        for o in outcomes:
            groups[o.item.get(key, "?")].append(o)
        out.update({f"{key}:{g}": evaluation.metrics(os) for g, os in sorted(groups.items())})
    return out


def tune(base: QA, items: list[dict], folds: int = 5, seed: int = 0) -> dict:
    """items: questions from one or more files (each carries `file`)."""
    per_key = _rows(base, items)
    names = ("bm25_weight", "translate_weight", "second_ratio", "threshold", "dense_floor")
    grid = [(w, x, r, t, f) for w in WEIGHTS for x in TRANSLATE_WEIGHTS for r in RATIOS
            for t in THRESHOLDS for f in FLOORS]

    def outcome(p, i):
        return _outcome(per_key[(p[0], p[1], p[2])][i], p[3], p[4])

    def metrics_for(idx, p):
        return evaluation.metrics([outcome(p, i) for i in idx])

    parts = grouped_folds(items, folds, seed)
    held_out: dict[int, evaluation.Outcome] = {}
    chosen, chosen_sw = [], []
    for f in range(folds):
        train = [i for g in range(folds) if g != f for i in parts[g]]
        best = _best(grid, lambda p: objective(metrics_for(train, p)))
        chosen.append(best)
        # then the sentence choice, on the same training folds, with those parameters
        sw = _best([(w,) for w in SENTENCE_WEIGHTS],
                   lambda q: objective(evaluation.metrics(_recomposed(base, per_key, best, q[0], train))))[0]
        chosen_sw.append(sw)
        held_out.update(zip(parts[f], _recomposed(base, per_key, best, sw, parts[f])))
    everything = list(range(len(items)))
    best_all = _best(grid, lambda p: objective(metrics_for(everything, p)))
    w0, x0, r0, t0, f0 = best_all
    curve = []
    for t in THRESHOLDS:
        for fl in FLOORS:
            m = metrics_for(everything, (w0, x0, r0, t, fl))
            curve.append({"threshold": t, "dense_floor": fl, "refusal_recall": m["refusal_recall"],
                          "false_refusal": m["false_refusal"], "answer_hit": m["answer_hit"]})
    return {
        "folds": folds, "grouping": "gold passage (source|title)",
        "chosen_per_fold": [dict(zip(names, p), sentence_dense_weight=sw) for p, sw in zip(chosen, chosen_sw)],
        "sentence_weight": [{"sentence_dense_weight": sw, **{k: m[k] for k in ("answer_hit", "answer_hit_given_top1")}}
                            for sw in SENTENCE_WEIGHTS
                            for m in [evaluation.metrics(_recomposed(base, per_key, best_all, sw, everything))]],
        "cross_validated": _sliced([held_out[i] for i in everything]),
        "chosen_on_all": dict(zip(names, best_all)),
        "in_sample": _sliced([outcome(best_all, i) for i in everything]),
        "refusal_curve": curve,
        "checks": check_effects(base, items, per_key[(w0, x0, r0)], best_all),
    }


def _recomposed(base: QA, per_key: dict, params: tuple, sentence_weight: float, idx) -> list[evaluation.Outcome]:
    """Outcomes of questions `idx` with `params` and another sentence-choice weight (answers
    recomposed from the stored retrievals; thresholds applied as in `_outcome`)."""
    w, x, r, t, floor = params
    policy = replace(base.policy, bm25_weight=w, translate_weight=x, second_ratio=r, sentence_dense_weight=sentence_weight)
    rows = per_key[(w, x, r)]
    out = []
    for i in idx:
        o, value, dense, _, retrieval = rows[i]
        top = replace(retrieval, hits=retrieval.hits[:policy.top_k])
        answer = compose(top, base.index.keyword, policy, similarity=base.retriever.sentence_similarity)
        out.append(_outcome((evaluation.outcome(o.item, answer, retrieval), value, dense), t, floor))
    return out


def check_effects(base: QA, items: list[dict], rows: list, params: tuple) -> list[dict]:
    """For each refusal check: how many unanswerable / answerable questions it refuses (first
    check to fire), and the figures with that check switched off. Answers are recomposed from the
    retrievals here, so compare each row with the "all_on" row (same path, every check on), not
    with the pipeline figures above (which also include the conversation's own refusals)."""
    from .retrieval.checks import find_gap

    policy = replace(base.policy, bm25_weight=params[0], translate_weight=params[1], second_ratio=params[2])
    effects = []
    for switch in ("all_on",) + policy.switches():
        off = policy if switch == "all_on" else replace(policy, **{switch: False})
        fired_u = fired_a = 0
        outs = []
        for item, (_, value, dense, answer, retrieval) in zip(items, rows):
            top = replace(retrieval, hits=retrieval.hits[:policy.top_k])
            gap = find_gap(top, top.hits[0], policy) if top.hits else None
            if gap is not None and gap.check == switch[len("check_"):]:
                fired_u += not item.get("evidence")
                fired_a += bool(item.get("evidence"))
            ans = compose(top, base.index.keyword, off, similarity=base.retriever.sentence_similarity)
            outs.append(_outcome((evaluation.outcome(item, ans, retrieval), value, dense), params[3], params[4]))
        m = evaluation.metrics(outs)
        effects.append({"check": switch, "refuses_unanswerable": fired_u, "refuses_answerable": fired_a,
                        "without": {k: m[k] for k in ("refusal_recall", "false_refusal", "answer_hit")}})
    return effects
