"""标注 (issue 20): a question that restates a question the admin answered gets that answer.

The admin's answers are library documents (`chatbot/console/curated.py` writes them) whose title is
管理员答复（date）：question. A user's question (as understood, follow-ups resolved) matches one when the
retriever's model puts the two questions at a cosine of at least `policy.curated_cosine` and both name
the same places (信阳 … 一年最多报多少 is not 大额医保一年最多报多少); the best match is answered from
its passages, cited as [1], ahead of everything else. A curated answer answers only that: when no
curated question matches, curated passages are left out of the ranking (a question that merely shares
words with one, 高血压人平时吃饭要注意什么 / 糖尿病人…, is not given its answer). No curated document,
no change.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .console.curated import question_of
from .policy import Policy
from .retrieval.places import find_places, missing_places
from .textnorm import normalize
from .types import Answer, Citation, Hit, Passage, Retrieval

@dataclass(frozen=True)
class Curated:
    question: str                  # the curated question, normalised
    passages: tuple[Passage, ...]  # its answer, in order


@dataclass(frozen=True)
class Match:
    curated: Curated
    cosine: float


def curated_in(retriever) -> tuple[Curated, ...]:
    """The curated answers in the retriever's index (kept on the retriever: a rebuild brings a new one)."""
    found = getattr(retriever, "_curated", None)
    if found is not None:
        return found
    docs: dict[str, list[Passage]] = {}
    for p in getattr(retriever.index, "passages", ()) or ():
        if question_of(p.title):
            docs.setdefault(p.doc_id, []).append(p)
    found = tuple(Curated(normalize(question_of(ps[0].title)), tuple(sorted(ps, key=_order)))
                  for ps in docs.values())
    retriever._curated = found  # the same for every thread: a race only computes it twice
    return found


def _order(p: Passage) -> tuple:
    tail = str(p.chunk_id).rpartition(":")[2]
    return (p.position, int(tail) if tail.isdigit() else 0, str(p.chunk_id))


def match(question_norm: str, retriever, policy: Policy = Policy()) -> Match | None:
    """The curated answer whose question `question_norm` restates, or None (see the module)."""
    curated = curated_in(retriever)
    if not curated or not question_norm:
        return None
    cosines = retriever.sentence_similarity(question_norm, [c.question for c in curated])
    asked = find_places(question_norm)
    best = None
    for c, cos in zip(curated, cosines):
        if cos < policy.curated_cosine or (best is not None and cos <= best.cosine):
            continue
        theirs = find_places(c.question)
        if missing_places(asked, theirs) or missing_places(theirs, asked):
            continue
        best = Match(c, float(cos))
    return best


def answer(question: str, found: Match, retrieval: Retrieval, notice: str | None = None) -> tuple[Answer, Retrieval]:
    """The curated answer, cited [1], and the retrieval with its passage first."""
    first = found.curated.passages[0]
    text = "".join(p.text for p in found.curated.passages).strip()
    cite = Citation(1, first, found.cosine, (first.text.strip(),))
    hit = Hit(first, found.cosine, found.cosine, 0.0, 1, None, ())
    rest = tuple(h for h in retrieval.hits if h.passage.doc_id != first.doc_id)
    return (Answer(question, f"{text}[1]", False, (cite,), notice=notice),
            replace(retrieval, hits=(hit, *rest)))


def without(retrieval: Retrieval, retriever) -> Retrieval:
    """The retrieval without curated passages (for a question no curated question matches)."""
    if not curated_in(retriever):
        return retrieval
    return replace(retrieval, hits=tuple(h for h in retrieval.hits if not question_of(h.passage.title)))
