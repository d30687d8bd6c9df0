"""Extractive, cited answers (no LLM): the sentences of the best passages that answer the
question, each followed by its source marker, or a plain refusal when nothing fits."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .chunking import Passage, split_sentences
from .keyword import KeywordIndex
from .retriever import Hit, Retrieval
from .textnorm import normalize, tokenize

# What kind of fact a question asks for, and how a sentence that states it looks.
_ASKS = [
    (re.compile(r"电话|号码|热线|联系方式|打哪|hotline|phone|number|call|contact"),
     re.compile(r"\d{3,4}-\d{6,8}|\d{7,}|\d{5}(?!\d)|\d{7}、")),
    (re.compile(r"多少|几|比例|标准|起付|限额|额度|费用|多久|how much|how many|rate|percent|cost|years"),
     re.compile(r"\d+(\.\d+)?\s*(元|%|万|年|个|种|月|天|岁|倍)|[一二三四五六七八九十百千万]+(元|年|个|种|月|天)")),
    (re.compile(r"什么时候|何时|哪天|截止|几月|时间|最晚|期限|when|deadline|date"),
     re.compile(r"\d{1,2}月|\d{4}年|\d{1,2}日|月底|年底|年初|月初")),
]


@dataclass(frozen=True)
class Citation:
    n: int
    passage: Passage
    score: float
    quotes: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        p = self.passage
        return {"n": self.n, "source": p.source, "title": p.title, "date": p.date, "text": p.text,
                "score": round(float(self.score), 6), "quotes": list(self.quotes)}


@dataclass(frozen=True)
class Answer:
    question: str
    text: str
    refused: bool
    citations: tuple[Citation, ...] = ()   # numbered sources the answer cites, [1] first
    related: tuple[Citation, ...] = ()     # nearest passages shown when refusing: not answers
    notice: str | None = None              # e.g. "the question was cut to 500 characters"
    reason: str | None = None              # why it refused: empty | place | low_confidence | error

    def to_dict(self) -> dict:
        return {"answer": self.text, "refused": self.refused,
                "citations": [c.to_dict() for c in self.citations],
                "related": [c.to_dict() for c in self.related],
                "notice": self.notice, "reason": self.reason}


@dataclass(frozen=True)
class Confidence:
    """Signals that a retrieved passage really answers the question (all in [0, 1])."""

    coverage: float      # idf-weighted share of the question's keywords found in the passage
    dense: float         # cosine similarity of the passage to the question
    agreement: float     # 1 when dense and keyword retrieval both rank it near the top

    @property
    def value(self) -> float:
        return 0.5 * self.coverage + 0.3 * self.dense + 0.2 * self.agreement


def _weights(tokens, keyword: KeywordIndex | None) -> dict[str, float]:
    w = {}
    for t in dict.fromkeys(tokens):
        idf = keyword.idf(t) if keyword is not None else 1.0
        # Tokens the corpus never uses still count: an unknown term the passage lacks is a miss.
        w[t] = idf if idf > 0 else 2.0
    return w


def coverage(tokens, text_norm: str, weights: dict[str, float]) -> float:
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(w for t, w in weights.items() if t in text_norm) / total


def confidence(retrieval: Retrieval, hit: Hit, keyword: KeywordIndex | None) -> Confidence:
    weights = _weights(retrieval.tokens, keyword)
    cov = coverage(retrieval.tokens, hit.passage.embed_text_normalized, weights) if weights else 0.0
    agree = 1.0 if (hit.dense_rank or 99) <= 3 and (hit.keyword_rank or 99) <= 3 else (
        0.5 if (hit.dense_rank or 99) <= 5 and (hit.keyword_rank or 99) <= 5 else 0.0)
    if not retrieval.tokens or retrieval.tokens and not any(re.search(r"[\u4e00-\u9fff]", t) for t in retrieval.tokens):
        cov, agree = max(cov, hit.dense_score), max(agree, 0.5)  # English: keywords cannot match
    return Confidence(cov, max(0.0, hit.dense_score), agree)


def _sentence_scores(question_norm: str, sentences: list[str], weights: dict[str, float]) -> list[float]:
    asks = [fact for ask, fact in _ASKS if ask.search(question_norm)]
    total = sum(weights.values()) or 1.0
    scores = []
    for idx, sentence in enumerate(sentences):
        s_norm = normalize(sentence)
        overlap = sum(w for t, w in weights.items() if t in s_norm) / total
        facts = sum(1.0 for fact in asks if fact.search(s_norm))
        scores.append(overlap + 0.6 * facts + 0.15 / (1 + idx))
    return scores


def pick_sentences(question_norm: str, passage: Passage, weights: dict[str, float], max_sentences: int = 2,
                   max_chars: int = 220) -> list[str]:
    """The passage's sentences that best answer the question, in reading order."""
    sentences = [s for s in split_sentences(passage.text) if len(s.strip(" .。,，:：")) > 1]
    if not sentences:
        return [passage.text]
    scores = _sentence_scores(question_norm, sentences, weights)
    order = sorted(range(len(sentences)), key=lambda i: -scores[i])
    chosen = [order[0]]
    for i in order[1:max_sentences]:
        if scores[i] >= 0.6 * scores[order[0]] and sum(len(sentences[j]) for j in chosen) + len(sentences[i]) <= max_chars:
            chosen.append(i)
    return [sentences[i] for i in sorted(chosen)]


REFUSAL_EMPTY = "请输入一个关于医保的问题，例如：衡水市医保电话是多少？"
REFUSAL_NONE = "资料中没有找到能回答这个问题的内容。"


def refusal_for_places(places: tuple[str, ...]) -> str:
    named = "、".join(places)
    return f"资料中没有找到关于「{named}」的信息。下面是资料中相近的内容，它们说的不是该地，仅供参考。"


def compose(retrieval: Retrieval, keyword: KeywordIndex | None, threshold: float, notice: str | None = None) -> Answer:
    """Build the cited answer (or an honest refusal) from a retrieval."""
    question = retrieval.query
    hits = retrieval.hits
    related = tuple(Citation(i + 1, h.passage, h.score) for i, h in enumerate(hits[:3]))
    if not retrieval.normalized or not (retrieval.tokens or re.search(r"[a-z\u4e00-\u9fff]", retrieval.normalized)):
        return Answer(question, REFUSAL_EMPTY, True, notice=notice, reason="empty")
    if not hits:
        return Answer(question, REFUSAL_NONE, True, notice=notice, reason="low_confidence")
    if retrieval.place_mismatch:
        missing = tuple(dict.fromkeys(n for n in hits[0].missing))
        return Answer(question, refusal_for_places(missing), True, related=related, notice=notice, reason="place")
    top = hits[0]
    if confidence(retrieval, top, keyword).value < threshold:
        return Answer(question, REFUSAL_NONE, True, related=related, notice=notice, reason="low_confidence")

    weights = _weights(retrieval.tokens, keyword) or {t: 1.0 for t in retrieval.tokens}
    quotes = pick_sentences(retrieval.normalized, top.passage, weights)
    text = "".join(quotes) + " [1]"
    citations = [Citation(1, top.passage, top.score, tuple(quotes))]
    for h in hits[1:]:
        if h.missing:
            continue
        citations.append(Citation(len(citations) + 1, h.passage, h.score))
    return Answer(question, text, False, tuple(citations), notice=notice)
