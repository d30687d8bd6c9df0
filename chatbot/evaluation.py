"""`chatbot eval`: retrieval and answer metrics on a question set with gold evidence strings.

Relevance is judged by evidence strings (independent of chunking), after NFKC and
Traditional→Simplified on both sides, as `../shared/eval/README.md` defines. Each question is asked
with its `history` through the same conversation path as the web chat (`QA.ask_with_hits`).
`answer_hit_given_top1` separates "wrong passage" from "right passage, wrong sentence".
"""

from __future__ import annotations

import json
import re
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .service import QA
from .textnorm import normalize


@dataclass
class Outcome:
    item: dict
    rank: int | None          # 1-based rank of the first relevant passage in the top 10
    refused: bool
    hit: bool
    answer: str
    top_title: str
    top_source: str
    understood_as: str | None = None
    citations: list = field(default_factory=list)


_MARKER = re.compile(r"\[\d+\]")
_UNDERSTOOD = re.compile(r"^（按“.*?”理解）\n")


def reading_text(answer_text: str) -> str:
    """What a reader reads as the answer: without the understood-as line and the [n] markers."""
    return _MARKER.sub("", _UNDERSTOOD.sub("", answer_text)).strip()


def first_evidence_at(answer_text: str, evidence: list[str]) -> int | None:
    """Where the earliest evidence string starts in the read answer (normalised), or None."""
    t = normalize(reading_text(answer_text)).replace(" ", "")
    found = [t.find(e) for e in (normalize(x).replace(" ", "") for x in evidence) if e and e in t]
    return min(found) if found else None


def _contains_any(text: str, evidence: list[str]) -> bool:
    t = normalize(text).replace(" ", "")
    return any(normalize(e).replace(" ", "") in t for e in evidence)


def load_questions(path: Path) -> list[dict]:
    items = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    items.append(json.loads(line))
                except ValueError as exc:
                    raise ValueError(f"{path}:{n}: not JSON ({exc})") from exc
    return items


def gold_rank(hits, evidence: list[str], depth: int = 10) -> int | None:
    """1-based rank of the first hit whose title + text holds an evidence string."""
    if evidence:
        for r, h in enumerate(hits[:depth], 1):
            if _contains_any(h.passage.title + "\n" + h.passage.text, evidence):
                return r
    return None


def outcome(item: dict, answer, retrieval) -> Outcome:
    evidence = item.get("evidence") or []
    hit = bool(evidence) and not answer.refused and _contains_any(answer.text, evidence)
    top = retrieval.hits[0].passage if retrieval.hits else None
    cites = [{"n": c.n, "source": c.passage.source, "title": c.passage.title, "quotes": list(c.quotes)}
             for c in answer.citations]
    return Outcome(item, gold_rank(retrieval.hits, evidence), answer.refused, hit, answer.text,
                   top.title if top else "", top.source if top else "", answer.understood_as, cites)


def run(qa: QA, items: list[dict]) -> list[Outcome]:
    return [outcome(item, *qa.ask_with_hits(item["query"], k=10, history=item.get("history") or None))
            for item in items]


def metrics(outcomes: list[Outcome]) -> dict:
    answerable = [o for o in outcomes if o.item.get("evidence")]
    unanswerable = [o for o in outcomes if not o.item.get("evidence")]

    def share(xs, pred):
        return round(sum(1 for x in xs if pred(x)) / len(xs), 4) if xs else None

    out = {"n": len(outcomes)}
    for k in (1, 3, 5):
        out[f"recall@{k}"] = share(answerable, lambda o, k=k: o.rank is not None and o.rank <= k)
    out["mrr"] = round(sum(1.0 / o.rank for o in answerable if o.rank) / len(answerable), 4) if answerable else None
    out["answer_hit"] = share(answerable, lambda o: o.hit)
    out["answer_hit_given_top1"] = share([o for o in answerable if o.rank == 1], lambda o: o.hit)
    out["refusal_recall"] = share(unanswerable, lambda o: o.refused)
    out["false_refusal"] = share(answerable, lambda o: o.refused)
    answered = [len(reading_text(o.answer)) for o in outcomes if not o.refused]
    out["answer_chars_median"] = statistics.median(answered) if answered else None
    hits = [o for o in answerable if o.hit]
    out["fact_in_first_60"] = share(hits, lambda o: (first_evidence_at(o.answer, o.item["evidence"]) or 0) < 60)
    return out


def answers(outcomes: list[Outcome]) -> list[dict]:
    """What the product said to each question (`chatbot eval --answers OUT.jsonl`)."""
    return [{"id": o.item.get("id"), "query": o.item.get("query"), "history": o.item.get("history") or [],
             "understood_as": o.understood_as, "answer": o.answer, "refused": o.refused,
             "citations": o.citations} for o in outcomes]


def report(outcomes: list[Outcome]) -> dict:
    result = metrics(outcomes)
    groups = defaultdict(list)
    for o in outcomes:
        groups[o.item.get("type", "unknown")].append(o)
    result["by_type"] = {t: metrics(os) for t, os in sorted(groups.items())}
    # Unanswerable questions asked after a history (那保定的呢？ after a Langfang question), on their own.
    after_history = [o for o in outcomes if not o.item.get("evidence") and o.item.get("history")]
    if after_history:
        result["unanswerable_with_history"] = metrics(after_history)
    return result


def misses(outcomes: list[Outcome]) -> list[dict]:
    """Every question that was not answered right first, for error analysis."""
    rows = []
    for o in outcomes:
        answerable = bool(o.item.get("evidence"))
        problems = []
        if answerable and o.rank != 1:
            problems.append(f"gold at rank {o.rank}" if o.rank else "gold not in top 10")
        if answerable and o.refused:
            problems.append("refused")
        elif answerable and not o.hit:
            problems.append("answer misses evidence")
        if not answerable and not o.refused:
            problems.append("answered an unanswerable question")
        if problems:
            rows.append({"id": o.item.get("id"), "type": o.item.get("type"), "query": o.item["query"],
                         "problems": problems, "top": f"{o.top_title} ({o.top_source})",
                         "gold": f"{o.item.get('title', '')} ({o.item.get('source', '')})",
                         "answer": o.answer[:160]})
    return rows
