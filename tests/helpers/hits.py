"""Hand-made passages and retrievals for tests of the answer and the refusal checks (no model)."""

from __future__ import annotations

from chatbot.retrieval.places import find_places, missing_places
from chatbot.textnorm import normalize, tokenize
from chatbot.types import Hit, Passage, Retrieval


def passage(title: str, text: str, n: int = 0) -> Passage:
    """A one-chunk article numbered n (its own document)."""
    return Passage(f"f.txt#{n}:0", f"f.txt#{n}", "f.txt", title, None, n, "article", text)


def retrieval(question: str, *passages: Passage, step: float = 0.1) -> Retrieval:
    """The passages as ranked hits (both retrievers found each; scores falling by `step`), with
    the places of the question each does not cover, as the retriever marks them."""
    norm = normalize(question)
    qplaces = find_places(norm, original=question)
    hits = tuple(Hit(p, 1.0 - step * i, 0.8 - step * i, 5.0, i + 1, i + 1,
                     tuple(x.name for x in missing_places(qplaces, find_places(p.embed_text_normalized))))
                 for i, p in enumerate(passages))
    return Retrieval(question, norm, tuple(tokenize(norm, normalized=True)), tuple(p.name for p in qplaces), hits)


def gap(question: str, *passages: Passage, policy=None):
    """What the refusal checks find for a question over these passages (the first one on top)."""
    from chatbot.policy import Policy
    from chatbot.retrieval.checks import find_gap

    r = retrieval(question, *passages)
    return find_gap(r, r.hits[0], policy or Policy())
