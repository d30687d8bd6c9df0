"""Extractive, cited answers (no LLM): the sentences of the best passages that answer the
question, each followed by its source marker, or a plain refusal when nothing fits."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from functools import lru_cache

from typing import TYPE_CHECKING, Callable

from .quoting import can_open, units
from .refusal_en import with_line
from .versions import another_place, local_label, versions
from .policy import Policy
from .retrieval import facts
from .retrieval.checks import Gap, figure_missing, find_gap
from .textnorm import normalize
from .types import Answer, Citation, Hit, Passage, Retrieval

Similarity = Callable[[str, list[str]], list[float]]
# (question, units) -> (the question's cosine with each unit, the learned metric's score of each
# unit, or None without a learned metric): the retriever's `unit_scores`, one call per passage.
UnitScores = Callable[[str, list[str]], tuple[list[float], list[float] | None]]

if TYPE_CHECKING:
    from .store.base import KeywordSearch as KeywordIndex

@dataclass(frozen=True)
class Confidence:
    """Signals that a retrieved passage really answers the question (all in [0, 1])."""

    coverage: float      # idf-weighted share of the question's keywords found in the passage
    dense: float         # cosine similarity of the passage to the question
    agreement: float     # 1 when dense and keyword retrieval both rank it near the top

    @property
    def value(self) -> float:
        # Agreement only counts when some keyword of the question is actually in the passage.
        return 0.5 * self.coverage + 0.5 * self.dense + (0.1 * self.agreement if self.coverage > 0 else 0.0)


def _weights(tokens, keyword: KeywordIndex | None) -> dict[str, float]:
    w = {}
    for t in dict.fromkeys(tokens):
        idf = keyword.idf(t) if keyword is not None else 1.0
        # A term the corpus never uses weighs as BM25's idf at document frequency 0: a
        # question built on words the corpus lacks is probably not answered by it.
        w[t] = idf if idf > 0 else (keyword.unseen_idf() if keyword is not None else 1.0)
    return w


def coverage(tokens, text_norm: str, weights: dict[str, float]) -> float:
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(w for t, w in weights.items() if t in text_norm) / total


def confidence(retrieval: Retrieval, hit: Hit, keyword: KeywordIndex | None,
               weights: dict[str, float] | None = None) -> Confidence:
    """`weights`: `_weights(retrieval.tokens, keyword)` when the caller has it already."""
    weights = _weights(retrieval.tokens, keyword) if weights is None else weights
    cov = coverage(retrieval.tokens, hit.passage.embed_text_normalized, weights) if weights else 0.0
    if retrieval.alone_tokens:  # read in context: the conversation's subject words need not all recur
        own = _weights(retrieval.alone_tokens, keyword)
        cov = max(cov, coverage(retrieval.alone_tokens, hit.passage.embed_text_normalized, own) if own else 0.0)
    agree = 1.0 if (hit.dense_rank or 99) <= 3 and (hit.keyword_rank or 99) <= 3 else (
        0.5 if (hit.dense_rank or 99) <= 5 and (hit.keyword_rank or 99) <= 5 else 0.0)
    if not retrieval.tokens or retrieval.tokens and not any(re.search(r"[\u4e00-\u9fff]", t) for t in retrieval.tokens):
        cov, agree = max(cov, hit.dense_score), max(agree, 0.5)  # English: keywords cannot match
    return Confidence(cov, max(0.0, hit.dense_score), agree)


_QUESTION_END = re.compile(r"(\?|吗|呢|么)\s*$")






_HAN_RUN = re.compile(r"[\u4e00-\u9fff]{2,}")


def cjk_pairs(text: str) -> set[str]:
    """Every pair of adjacent CJK characters in a text (what two texts share, whatever their segmentation)."""
    return {run[i:i + 2] for run in _HAN_RUN.findall(text) for i in range(len(run) - 1)}


@lru_cache(maxsize=16384)
def _sentence_features(sentence: str) -> tuple[str, frozenset[str]]:
    """A sentence normalised, and its character pairs: the same for every question, so kept."""
    s_norm = normalize(sentence)
    return s_norm, frozenset(cjk_pairs(s_norm))


UNIT_FEATURES = ("overlap", "pairs", "stated", "position", "question", "lead_in", "cosine", "figure", "title",
                 "novel", "length", "first", "metric")


def unit_scorer(similarity: Similarity | None = None, metric: Similarity | None = None) -> UnitScores:
    """One `UnitScores` from a separate cosine and metric (either may be missing: cosines 0, or no
    metric), for callers that hold them apart (tests, another model)."""
    def scores(question_norm: str, units_norm: list[str]) -> tuple[list[float], list[float] | None]:
        sims = similarity(question_norm, units_norm) if similarity is not None else [0.0] * len(units_norm)
        return sims, (metric(question_norm, units_norm) if metric is not None else None)
    return scores


def unit_features(question_norm: str, sentences: list[str], weights: dict[str, float],
                  unit_scores: UnitScores | None = None, title: str = "", asks_text: str = "") -> list[tuple[float, ...]]:
    """Per unit, the signals that it answers the question (UNIT_FEATURES): the share of the
    question's weighted keywords and of its character pairs it holds, whether it states the kind
    of fact asked for, its position, whether it is itself a question or a lead-in ending in ':',
    its cosine with the question, whether it states a figure, its share of the title's pairs, its
    share of the weighted keywords the title does not hold (what the question asks beyond the
    passage's subject), its length (log characters), whether it is the passage's first unit, and
    the learned metric's score of the unit for the question. Cosines and metric scores come from
    `unit_scores` (the retriever's: both in one call; 0 without it, metric 0 without a metric).
    The kind of fact asked is read from `asks_text` when the question names none itself (a
    follow-up goes on asking for the conversation's phone number: "廊坊有没有24小时能打的？")."""
    return _unit_features(question_norm, sentences, weights, unit_scores, title, asks_text)[0]


def _unit_features(question_norm: str, sentences: list[str], weights: dict[str, float],
                   unit_scores: UnitScores | None, title: str, asks_text: str) -> tuple[list[tuple[float, ...]], bool]:
    """(`unit_features`, whether a learned metric scored the units)."""
    asks = facts.asked(question_norm) or (facts.asked(normalize(asks_text)) if asks_text else [])
    total = sum(weights.values()) or 1.0
    title_norm, t_bigrams = _sentence_features(title) if title else ("", frozenset())
    novel = {t: w for t, w in weights.items() if t not in title_norm}
    novel_total = sum(novel.values())
    q_bigrams = cjk_pairs(question_norm)
    n_pairs = len(q_bigrams)
    n_title = len(t_bigrams)
    features = _units_kept(tuple(sentences))
    sims, msims = unit_scores(question_norm, [f[0] for f in features]) if unit_scores is not None \
        else ([0.0] * len(sentences), None)
    metric_used = msims is not None
    if msims is None:
        msims = [0.0] * len(sentences)
    # each weighted keyword with its weight and whether the title lacks it (novel[t] is weights[t])
    keyed = [(t, w, t in novel) for t, w in weights.items()]
    out = []
    for idx, (s_norm, s_bigrams, question, lead_in, figure, length) in enumerate(features):
        held, held_novel = [], []  # in the weights' order: the sums add as before
        for t, w, is_novel in keyed:
            if t in s_norm:
                held.append(w)
                if is_novel:
                    held_novel.append(w)
        out.append((
            sum(held) / total,
            len(q_bigrams & s_bigrams) / n_pairs if n_pairs else 0.0,
            sum(1.0 for kind in asks if facts.states_kept(kind, s_norm)) if asks else 0,
            1.0 / (1 + idx),
            question,
            lead_in,
            sims[idx],
            figure,
            len(t_bigrams & s_bigrams) / n_title if n_title else 0.0,
            sum(held_novel) / novel_total if novel_total else 0.0,
            length,
            1.0 if idx == 0 else 0.0,
            msims[idx],
        ))
    return out, metric_used


@lru_cache(maxsize=8192)
def _units_kept(sentences: tuple[str, ...]) -> tuple[tuple, ...]:
    """Per unit of a passage, what no question changes: (normalised form, character pairs,
    question, lead_in, figure, length); passages recur across questions, so kept."""
    return tuple(f + _unit_constants(f[0]) for f in map(_sentence_features, sentences))


@lru_cache(maxsize=16384)
def _unit_constants(s_norm: str) -> tuple[float, float, float, float]:
    """A unit's features that no question changes: (question, lead_in, figure, length)."""
    return (1.0 if _QUESTION_END.search(s_norm) else 0.0, 1.0 if s_norm.rstrip().endswith(":") else 0.0,
            1.0 if _FIGURE.search(s_norm) else 0.0, math.log1p(len(s_norm)) / 5)


_FIGURE = re.compile(r"\d")


def _sentence_scores(question_norm: str, sentences: list[str], weights: dict[str, float],
                     unit_scores: UnitScores | None = None, policy: Policy = Policy(), title: str = "",
                     asks_text: str = "") -> list[float]:
    """How well each unit answers: its features (`unit_features`) weighted by the policy's
    `unit_weights` (fitted with the learned metric) when `unit_scores` gave metric scores, else by
    `unit_weights_plain`. (Weights without a cosine weigh it 0: the cosines come in the same call
    as the metric's scores, so there is nothing to save by not asking.)"""
    rows, metric_used = _unit_features(question_norm, sentences, weights, unit_scores, title, asks_text)
    w = policy.unit_weights if metric_used else policy.unit_weights_plain
    ws = [w.get(name, 0.0) for name in UNIT_FEATURES]
    return [sum([a * v for a, v in zip(ws, f)]) for f in rows]


def pick_sentences(question_norm: str, passage: Passage, weights: dict[str, float], max_sentences: int | None = None,
                   unit_scores: UnitScores | None = None, policy: Policy = Policy()) -> list[str]:
    """The unit that best answers the question first, then the best supporting units in the
    passage's order, within a length budget (`policy.answer_chars`)."""
    return scored_pick(question_norm, passage, weights, max_sentences, unit_scores, policy)[0]


def scored_pick(question_norm: str, passage: Passage, weights: dict[str, float], max_sentences: int | None = None,
                unit_scores: UnitScores | None = None, policy: Policy = Policy(),
                asks_text: str = "", named: tuple[str, ...] = ()) -> tuple[list[str], float]:
    """(`pick_sentences`' quotes, the lead unit's score). Only a unit that states something may
    open or support (quoting.can_open); a supporting unit that mostly repeats what is already
    quoted (`policy.repeat_share` of its character pairs) adds length, not facts, and is left out.
    `named`: values a follow-up swapped in (学生 for 北京's 起付线): a unit speaking of them opens,
    when the passage has one (`policy.lead_names_swapped`)."""
    max_sentences = max_sentences or policy.answer_sentences
    sentences = list(units(passage.text))
    if not sentences:
        return [passage.text], 0.0
    scores = _sentence_scores(question_norm, sentences, weights, unit_scores, policy, passage.title, asks_text)
    ranked = sorted(range(len(sentences)), key=lambda i: -scores[i])
    order = [i for i in ranked if can_open(sentences[i])] or ranked
    if named and policy.lead_names_swapped:
        from .conversation import mentions

        from .retrieval.places import find_places

        named = tuple(v for v in named if not find_places(normalize(v)))  # a place is shown by the answer's label
        speaking = [i for i in order if named and all(mentions(sentences[i], v) for v in named)]
        order = speaking + [i for i in order if i not in speaking] if speaking else order
    if policy.lead_states_required:
        # a phone number (or address) asked for: a unit that states one opens, when the passage has one
        needed = facts.required(question_norm) or (facts.required(normalize(asks_text)) if asks_text else [])
        stating = [i for i in order if needed and all(facts.states_kept(k, _sentence_features(sentences[i])[0])
                                                      for k in needed)]
        order = stating + [i for i in order if i not in stating] if stating else order
    # A page's "answer box" (its first unit, a bare figure or phrase: "上一年度全省平均工资") may
    # support the answer, never open it.
    boxed = [0] if len(sentences) > 1 and 0 not in order and not sentences[0].rstrip().endswith((":", "：")) else []
    order = order[:1] + sorted(order[1:] + boxed, key=lambda i: -scores[i])
    top = max(scores)
    exp = [math.exp(x - top) for x in scores]
    exp_total = sum(exp)
    probs = [e / exp_total for e in exp]  # the scores are log-odds of answering (fitted, tuning.fit_units)
    lead = order[0]
    support = []
    used = len(sentences[lead])
    for i in order[1:]:
        if len(support) + 1 >= max_sentences:
            break
        if probs[i] < policy.support_share or used + len(sentences[i]) > policy.answer_chars:
            continue
        if _repeats(sentences[i], [sentences[lead]] + [sentences[j] for j in support], policy):
            continue
        support.append(i)
        used += len(sentences[i])
    if boxed and 0 in support:  # the box's figure stated again by a quoted unit: the bare figure adds nothing
        figures = set(_NUMBER.findall(sentences[0]))
        if figures and figures <= set(_NUMBER.findall("".join(sentences[j] for j in [lead] + support if j != 0))):
            support.remove(0)
    return [sentences[lead]] + [sentences[i] for i in sorted(support)], scores[lead]


_NUMBER = re.compile(r"\d+(?:\.\d+)?")


def _repeats(unit: str, quoted: list[str], policy: Policy) -> bool:
    """Does the unit mostly repeat what is quoted (`policy.repeat_share` of its character pairs)
    and add no figure of its own?"""
    pairs = _sentence_features(unit)[1]
    seen = set().union(*(_sentence_features(q)[1] for q in quoted))
    if not pairs or len(pairs & seen) < policy.repeat_share * len(pairs):
        return False
    return set(_NUMBER.findall(unit)) <= set(_NUMBER.findall("".join(quoted)))


def _sentences_text(quotes: list[str]) -> str:
    return "".join(q if re.search(r"[。！？；!?;…]$", q) else q + "。" for q in quotes)


_KIND_NAMES = {"phone": "电话号码", "address": "地址", "amount": "金额或比例", "date": "日期", "hours": "办公时间"}
REFUSAL_EMPTY = "请输入一个关于医保的问题，例如：衡水市医保电话是多少？"
REFUSAL_NONE = "资料中没有找到能回答这个问题的内容。"


def refusal_for_places(places: tuple[str, ...]) -> str:
    named = "、".join(places)
    return f"资料中没有找到关于「{named}」的信息。下面是资料中相近的内容，它们说的不是该地，仅供参考。"


_RELATED = "下面是资料中相近的内容，仅供参考，它们不回答这个问题。"


def refusal_for_gap(gap: Gap) -> str:
    """A refusal that names what the documents lack."""
    if gap.reason == "place":
        return refusal_for_places((gap.missing,))
    if gap.reason == "scope":
        return f"资料只涉及医疗保险，没有找到关于{gap.missing}的内容。{_RELATED}"
    if gap.reason == "off_topic" and gap.check == "request":
        return "这是请我代写的事，不是医保问题：这里只依据资料回答医保政策的问题。"
    if gap.reason == "off_topic":
        return f"这个问题（{gap.missing}）不是医保问题，资料中没有找到相关内容。"
    if gap.reason == "medical":
        return "这是看病用药的问题，不是医保问题：资料只涉及医疗保险，不能代替医生的诊断和用药建议，请咨询医生或药师。"
    if gap.reason == "population":
        return f"资料中相近的内容说的不是{gap.missing}医保，没有找到{gap.missing}医保的规定。{_RELATED}"
    return f"资料中没有找到这个问题所问的{gap.missing}。{_RELATED}"


def refusal_for_scope(question: str, kind: str, related: tuple[Citation, ...] = (), notice: str | None = None) -> Answer:
    """The refusal of a message the learned check (retrieval/scope.py) judged out of scope: no word
    to name, so the kind is named (a doctor's question, another scheme, not insurance)."""
    text = {"medical": refusal_for_gap(Gap("medical", "", "medical")),
            "off_topic": "这个问题不是医保问题，资料中没有找到相关内容。",
            "scope": f"资料只涉及基本医疗保险，这个问题问的是别的保险或事务，资料中没有找到相关内容。{_RELATED}"}[kind]
    shown = related if kind == "scope" else ()  # a doctor's or an everyday question has no related insurance passage
    return Answer(question, with_line(text, question, kind), True, related=shown, notice=notice, reason=kind)


def prefer_stated_figure(retrieval: Retrieval, policy: Policy) -> Retrieval:
    """A money/rate question whose best passage states no such figure is answered from the next
    passage that does (and covers the named place) when it scores nearly as well (`second_ratio`
    of the best score): between near-equals, the one stating the figure answers."""
    if not policy.check_figure or not retrieval.hits:
        return retrieval
    q = retrieval.normalized
    if figure_missing(q, retrieval.hits[0].passage.embed_text_normalized, policy) is None:
        return retrieval
    # read in context, the earlier turn's passage is lifted by the conversation's words as well
    ratio = policy.context_figure_ratio if retrieval.alone_normalized else policy.second_ratio
    for i, h in enumerate(retrieval.hits[1:], 1):
        if h.score < ratio * retrieval.hits[0].score:
            break
        if not h.missing and not h.lacks and figure_missing(q, h.passage.embed_text_normalized, policy) is None:
            hits = (h,) + retrieval.hits[:i] + retrieval.hits[i + 1:]
            return replace(retrieval, hits=hits)
    return retrieval


def gate(retrieval: Retrieval, keyword: KeywordIndex | None, policy: Policy,
         weights: dict[str, float] | None = None) -> tuple[Retrieval, float, float]:
    """(the hits in the order an answer is composed from, the confidence of the first, its cosine):
    the values compose's low-confidence refusal compares with `policy.threshold` and
    `policy.dense_floor`. `chatbot tune` uses it too, so that it scores what the chat refuses.
    `weights`: the question's keyword weights (`_weights`), when the caller has them already."""
    retrieval = prefer_stated_figure(retrieval, policy)
    if not retrieval.hits:
        return retrieval, 0.0, 0.0
    top = retrieval.hits[0]
    return retrieval, confidence(retrieval, top, keyword, weights).value, top.dense_score


def _in_context_weights(weights: dict[str, float], retrieval: Retrieval, policy: Policy) -> dict[str, float]:
    """Read in context: the passage was found with the conversation's subject, whose words recur
    across its units; the message's own words tell which unit answers what it asks."""
    if not retrieval.alone_tokens or policy.subject_share >= 1:
        return weights
    own = set(retrieval.alone_tokens)
    return {t: w * (1.0 if t in own else policy.subject_share) for t, w in weights.items()}


def unit_inputs(retrieval: Retrieval, weights: dict[str, float], unit_scores: UnitScores | None,
                policy: Policy) -> tuple[dict[str, float], UnitScores | None]:
    """The keyword weights and unit scores the unit choice reads: for a message read in context,
    its own words weigh more (`subject_share`) and its own text shares the scores (`unit_alone`).
    compose and `chatbot tune --units` both read them here, so the fit sees what the chat does."""
    weights = _in_context_weights(weights, retrieval, policy)
    if retrieval.alone_normalized and policy.unit_alone > 0:
        # the passage was found with the conversation's subject; the message's own text tells
        # which unit answers what it asks now
        unit_scores = _blend(unit_scores, retrieval.alone_normalized, policy.unit_alone)
    return weights, unit_scores


def _blend(scores: UnitScores | None, alone: str, share: float) -> UnitScores | None:
    """`scores` of the units for the message's own text, mixed at `share` with those for the text
    given (cosines with cosines, metric scores with metric scores)."""
    if scores is None:
        return None
    if share >= 1:
        return lambda _question, units: scores(alone, units)

    def mix(a: list[float] | None, b: list[float] | None) -> list[float] | None:
        return None if a is None or b is None else [share * x + (1 - share) * y for x, y in zip(a, b)]

    def blended(question: str, units: list[str]) -> tuple[list[float], list[float] | None]:
        (a_cos, a_metric), (q_cos, q_metric) = scores(alone, units), scores(question, units)
        return mix(a_cos, q_cos), mix(a_metric, q_metric)
    return blended


def _population_first(retrieval: Retrieval, policy: Policy) -> Retrieval:
    """When the best passage names only the other population (居民 for a 职工 question) and one
    scoring within `policy.population_close` of it names the asked one, that one goes first."""
    from .retrieval.checks import own_text, population_missing

    hits = retrieval.hits
    if not policy.population_close or len(hits) < 2 or not policy.check_population:
        return retrieval
    own = own_text(retrieval, policy)  # the text find_gap's population check reads
    if not population_missing(own, hits[0].passage.embed_text_normalized, policy):
        return retrieval
    for i, h in enumerate(hits[1:], 1):
        if h.score < policy.population_close * hits[0].score:
            break
        if not h.missing and not population_missing(own, h.passage.embed_text_normalized, policy):
            return replace(retrieval, hits=(h,) + hits[:i] + hits[i + 1:])
    return retrieval


def compose(retrieval: Retrieval, keyword: KeywordIndex | None, policy: Policy = Policy(),
            notice: str | None = None, unit_scores: UnitScores | None = None, named: tuple[str, ...] = ()) -> Answer:
    """Build the cited answer (or an honest refusal) from a retrieval. `unit_scores(question, units)`:
    the question↔unit cosines and the learned metric's scores, if any (the retriever's
    unit_scores, one call per passage), for choosing what to quote. `named`: values a follow-up
    swapped in, which the opening unit speaks of where the passage has one (`scored_pick`)."""
    question = retrieval.query
    hits = retrieval.hits
    related = tuple(Citation(i + 1, h.passage, h.score) for i, h in enumerate(hits[:3]))
    if not retrieval.normalized or not (retrieval.tokens or re.search(r"[a-z\u4e00-\u9fff]", retrieval.normalized)):
        return Answer(question, REFUSAL_EMPTY, True, notice=notice, reason="empty")
    if not hits:
        return Answer(question, with_line(REFUSAL_NONE, question, "low_confidence"), True, notice=notice,
                      reason="low_confidence")
    base_weights = _weights(retrieval.tokens, keyword)  # gate's confidence and the unit choice share them
    retrieval, value, dense = gate(retrieval, keyword, policy, base_weights)
    retrieval = _population_first(retrieval, policy)
    hits = retrieval.hits
    top = hits[0]
    gap = find_gap(retrieval, top, policy, keyword)
    if gap is not None:  # a doctor's or an everyday question has no "related" insurance passage to show
        shown = () if gap.reason in ("off_topic", "medical") else related
        return Answer(question, with_line(refusal_for_gap(gap), question, gap.reason, gap.missing), True,
                      related=shown, notice=notice, reason=gap.reason)
    # The documents lack the asked kind of fact when no passage found states it (for the place
    # asked); where one does, the best passage outranked it by more than `fact_penalty` and the
    # question is about something else (电话 listed as a way to check a balance).
    if policy.check_fact_kind and all(h.lacks for h in hits):
        kinds = "、".join(_KIND_NAMES.get(k, k) for k in top.lacks)
        whose = f"「{'、'.join(retrieval.places)}」的" if retrieval.places else "这个问题所问的"
        return Answer(question, with_line(f"资料中没有找到{whose}{kinds}。", question, "no_fact", kinds), True,
                      related=related, notice=notice, reason="no_fact")
    if value < policy.threshold or dense < policy.dense_floor:
        return Answer(question, with_line(REFUSAL_NONE, question, "low_confidence"), True, related=related,
                      notice=notice, reason="low_confidence")

    weights, unit_scores = unit_inputs(retrieval, base_weights or {t: 1.0 for t in retrieval.tokens},
                                       unit_scores, policy)
    quotes, lead_score = scored_pick(retrieval.normalized, top.passage, weights, unit_scores=unit_scores, policy=policy,
                                     asks_text=retrieval.context_text, named=named)
    parts = [_sentences_text(quotes) + "[1]"]
    citations = [Citation(1, top.passage, top.score, tuple(quotes))]
    # A second article that scores almost as well, and that both retrievers found, often holds the
    # other half of the answer (or the right one): quote its best sentence too, under its own marker.
    split = None
    second = next((h for h in hits[1:] if not h.missing and not h.lacks and h.passage.doc_id != top.passage.doc_id
                   and h.dense_rank is not None and h.keyword_rank is not None), None)  # both retrievers found it
    if second is not None and top.score > 0 and second.score >= policy.second_ratio * top.score:
        extra, extra_score = scored_pick(retrieval.normalized, second.passage, weights, max_sentences=1,
                                         unit_scores=unit_scores, policy=policy, asks_text=retrieval.context_text)
        fresh = not _repeats(extra[0], quotes, policy)
        if extra_score >= policy.second_unit_ratio * lead_score and fresh and not (
                policy.versions and another_place(retrieval.normalized, second.passage)):
            split = versions(retrieval.normalized, top.passage, second.passage, policy) if policy.versions else None
            if split is not None:  # one line per version, each with its own citation
                dim, first_label, second_label = split
                quotes = quotes[:1]
                parts = [f"按{dim}不同：{first_label}：{_sentences_text(quotes)}[1]；"
                         f"{second_label}：{_sentences_text(extra)}[2]"]
                citations = [Citation(1, top.passage, top.score, tuple(quotes))]
            else:
                parts.append(_sentences_text(extra) + "[2]")
            citations.append(Citation(2, second.passage, second.score, tuple(extra)))
    label = (local_label(retrieval.places, top.passage, parts[0], policy.place_label_within)
             if policy.versions and split is None else None)
    if label:  # one place's rule, for a question that named none
        parts[0] = f"{label}：{parts[0]}"
    text = "".join(parts)
    for h in hits[1:]:
        if h.missing or any(c.passage.chunk_id == h.passage.chunk_id for c in citations):
            continue
        citations.append(Citation(len(citations) + 1, h.passage, h.score))
    return Answer(question, text, False, tuple(citations), notice=notice)
