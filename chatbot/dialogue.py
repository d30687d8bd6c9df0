"""Conversation-aware reading of a chat message: alone, or in the light of the conversation.

What the chat already knows is evidence for what a message means. Each earlier user message is
replayed as the chat answered it (its own reading, the text it was ranked with, the passage it
cited first), and the message gets one of three readings:

- alone, when it names a subject of its own (by `conversation.resolve`, or a place of its own:
  `context_carry_alone`) and its stand-alone match is at least as confident as the context reading
  (from `context_alone_confidence` on), or when it is about another scheme or no insurance subject
  at all (to be refused as such): a topic shift is a new question;
- the explicit slot swap of `conversation.resolve` ("那高新区的呢？"), so a swapped-in place or
  year the documents do not cover is refused by name;
- in context too when the message names no place and its own best passage is about another place
  than the conversation's, while the context reading's fits it (`context_place_conflict`);
- in context, for any other message (pronouns, 也, an omitted subject, a 2–3-message chain): it is
  ranked by its own match plus `context_blend` times the match of the earlier turn's text with it,
  and checked (places, schemes, figures asked) and shown with the conversation's subject, so what
  the earlier question asked does not leak in and the message's own place replaces the earlier one.

`context_mode` keeps the variants measured in docs/quality.md ("text", "subject", "title",
"both", "rules"); `context_prior` (0: measured, no gain) would favour the passage cited for the
previous turn. Web chat, HTTP API, terminal chat and `chatbot eval` all come through
`QA.understand`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Sequence

from . import conversation
from .conversation import Resolved
from .retrieval import facts
from .answer import cjk_pairs

if TYPE_CHECKING:
    from .retrieval.retriever import Retriever
    from .policy import Policy
    from .types import Retrieval

_LATIN = re.compile(r"[a-z]", re.I)
_CJK = re.compile(r"[\u4e00-\u9fff]")


@dataclass(frozen=True)
class Turn:
    """An earlier turn as the chat answered it: the text it searched and what it cited first."""

    text: str
    title: str | None = None
    cited: tuple[str, ...] = ()


def top_confidence(retrieval: "Retrieval", retriever: "Retriever", policy: "Policy | None" = None) -> float:
    """How surely the first passage answers (the answer's own confidence value; 0 when none).
    With `policy.context_gated`, also 0 when the answer would refuse it as not confident (its
    cosine under `dense_floor`, its value under `threshold`): a reading that ends in "没有找到"
    must not win over one that answers (我妈去看病时具体怎么用 after 家庭共济开通了)."""
    from .answer import confidence

    if not retrieval.hits:
        return 0.0
    top = retrieval.hits[0]
    value = confidence(retrieval, top, retriever.index.keyword).value
    if policy is not None and policy.context_gated and (value < policy.threshold or top.dense_score < policy.dense_floor):
        return 0.0
    return value


def _joined(*parts: str) -> str:
    """Texts joined as one question, without repeating a part another already holds."""
    out: list[str] = []
    for p in (x.strip().rstrip("？?。!！ ") for x in parts if x and x.strip()):
        if p and not any(p in o for o in out):
            out = [o for o in out if o not in p] + [p]
    latin = all(_LATIN.search(p) and not _CJK.search(p) for p in out[-1:])
    return ("? " if latin else "，").join(out)


def read(message: str, history: Sequence, retriever: "Retriever", policy: "Policy") -> Resolved:
    """How to search `message` after `history` (earlier user messages, oldest first, prepared as
    the message is: `QA._understood`)."""
    msgs = [h for h in (conversation._user_text(h) for h in (history or [])) if h and h.strip()]
    msgs = msgs[-policy.context_turns:] if policy.context_turns else []
    turns: list[Turn] = []
    earlier: list[str] = []
    for text in msgs:
        resolved = _read_one(text, earlier, turns[-1] if turns else None, retriever, policy)
        searched = (resolved.ranked_by or resolved.question) if resolved.changed else text
        r = prior_sorted(search(retriever, resolved, searched, policy.top_k, policy), resolved.prior, policy)
        first = r.hits[0].passage if r.hits else None
        turns.append(Turn(searched, first.title if first else None,
                          tuple(h.passage.chunk_id for h in r.hits[:policy.context_cited])))
        earlier.append(text)
    if not turns:
        return Resolved(message, False)
    back = referred(message, earlier, policy)
    if back is not None:  # "回到刚才住院那个问题": read against that turn, as if asked right after it
        return _read_one(message, earlier[:back + 1], turns[back], retriever, policy)
    return _read_one(message, earlier, turns[-1], retriever, policy)


def referred(message: str, earlier: list[str], policy: "Policy") -> int | None:
    """The earlier message (its index) a message points back to past the last one: the first for
    "第一个问题" / "最开始那个", else the one before the last sharing the most character pairs with
    the message (刚才住院那个问题 → the 住院 question); None when it points nowhere further back."""
    if len(earlier) < 2:
        return None
    norm = conversation._norm(message)
    if policy.pattern("first_reference").search(norm.lower()):
        return 0
    if not policy.pattern("back_reference").search(norm.lower()):
        return None
    pairs = _pairs(norm)
    shared = [len(pairs & _pairs(conversation._norm(m))) for m in earlier[:-1]]
    best = max(range(len(shared)), key=lambda i: (shared[i], i))
    return best if shared[best] > len(pairs & _pairs(conversation._norm(earlier[-1]))) else None


def _pairs(text: str) -> set[str]:
    """Character pairs of a text's Chinese runs and its Latin words (what two messages share)."""
    return cjk_pairs(text) | set(re.findall(r"[a-z]{3,}", text.lower()))


def _read_one(message: str, earlier: list[str], turn: Turn | None, retriever: "Retriever",
              policy: "Policy") -> Resolved:
    if turn is None:
        return Resolved(message, False)
    rules = conversation.resolve(message, earlier)
    if rules.changed and rules.kind == "swap":
        return replace(rules, prior=())
    shift = policy.context_shift_score != float("inf") and policy.context_mode != "rules"
    if not rules.changed or _may_stand(message, rules, policy):
        alone = retriever.search(message, max(policy.top_k, policy.candidates) if shift else policy.top_k)
        if _out_of_scope(alone, policy):
            return Resolved(message, False)
        conf = top_confidence(alone, retriever, policy)
        if conf >= policy.context_alone_confidence:
            if policy.context_margin == float("inf") or policy.context_mode == "rules":
                return Resolved(message, False)
            in_context = _in_context(message, turn, policy, _known(retriever, policy))
            found = search(retriever, in_context, in_context.question, policy.top_k, policy)
            if shift and _shifted(alone, found, policy):
                return Resolved(message, False)
            if policy.context_place_conflict and _elsewhere(message, turn, alone, found):
                return replace(in_context, own_subject=policy.context_own_asks)
            if top_confidence(found, retriever, policy) > conf + policy.context_margin:
                return replace(in_context, own_subject=policy.context_own_asks)
            return Resolved(message, False)
    if policy.context_mode == "rules":
        return rules
    return _in_context(message, turn, policy, _known(retriever, policy))


def _elsewhere(message: str, turn: Turn, alone: "Retrieval", found: "Retrieval") -> bool:
    """A message naming no place whose own best passage's title names another place than the last
    turn's, while the context reading's first passage fits that place (`policy.context_place_conflict`):
    the conversation's place holds (以前交的年限还算吗 after a 河北 question, not 四川's years)."""
    from .retrieval.places import find_places, missing_places, title_places

    if not alone.hits or not found.hits:
        return False
    if _names_place(message):
        return False
    said = find_places(conversation._norm(turn.text), original=turn.text)
    own = list(title_places(alone.hits[0].passage.title))
    if not said or not own or not missing_places(said, own, broader=True):
        return False
    return not missing_places(said, list(title_places(found.hits[0].passage.title)), broader=True)


def _shifted(alone: "Retrieval", found: "Retrieval", policy: "Policy") -> bool:
    """A topic shift: the message's own best match is strong (`context_shift_score`) and its own
    ranking puts the context reading's first passage below `context_shift_ratio` of that match (or
    not among its candidates): the conversation would answer with a passage the message points away from."""
    if not alone.hits or not found.hits:
        return False
    top = alone.hits[0].score
    if top < policy.context_shift_score:
        return False
    first = found.hits[0].passage.chunk_id
    own = next((h.score for h in alone.hits if h.passage.chunk_id == first), None)
    if own is None:
        own = min(h.score for h in alone.hits)
    return own < policy.context_shift_ratio * top


def _may_stand(message: str, rules: Resolved, policy: "Policy") -> bool:
    """A message the rules would carry that may still stand alone on its own confident match
    (`policy.context_carry_alone`): "place" when it names a place of its own (衡水市医保电话是多少
    after any question), "all" for any carried message."""
    mode = policy.context_carry_alone
    if rules.kind != "carry" or mode == "none":
        return False
    if mode == "all":
        return True
    return _names_place(message)


def _names_place(message: str) -> bool:
    """Does the message name a place of its own (by the conversation's slots, romanised names too)?"""
    return any(s.place for s in conversation.slots(conversation._norm(message), original=message))


def _known(retriever: "Retriever", policy: "Policy"):
    """Whether the documents use a word or one of its character pairs (the keyword index knows it),
    or it names a person (我爸, 老婆: the policy's `persons`), whom the reading keeps saying it is about."""
    idf = retriever.index.keyword.idf
    persons = set(policy.persons)
    return lambda w: (w in persons or w.lstrip("我俺咱") in persons or idf(w) > 0
                      or any(idf(w[i:i + 2]) > 0 for i in range(len(w) - 1)))


def _in_context(message: str, turn: Turn, policy: "Policy", known=None) -> Resolved:
    """The message read in the light of the last turn (`policy.context_mode`); `known`: see
    `conversation._carry`."""
    own = conversation.slots(conversation._norm(message), original=message)
    context = turn.text
    if any(s.place for s in own):  # the message's place replaces the conversation's (廊坊 after 衡水)
        for s in sorted(conversation.slots(context, original=context), key=lambda s: -s.start):
            if s.place or s.kind == "zone":
                context = context[:s.start] + context[s.end:]
    ranked_by = None
    if policy.context_mode == "subject":
        text = conversation.carried(turn.text, message, known)
    elif policy.context_mode == "hybrid":  # ranked with the whole context, checked with its subject
        ranked_by, text = _joined(context, message), conversation.carried(context, message, known)
    elif policy.context_mode == "title":
        text = _joined(turn.title or "", message)
    elif policy.context_mode == "text":
        text = _joined(context, message)
    else:
        text = _joined(turn.title or "", context, message)
    # What the message itself names (a place, group, scheme, setting …) must be what the answer
    # speaks of; a value no passage found speaks of is refused by name, as a swapped-in one is.
    named = tuple(dict.fromkeys(s.place.name if s.place else s.value for s in own
                                if (s.place or s.kind in policy.context_check_kinds) and _CJK.search(s.value)
                                and (s.place.name if s.place else s.value) not in turn.text))
    return Resolved(text, True, conversation._short(text), named if policy.context_check else (),
                    kind="context", prior=turn.cited, alone=message, ranked_by=ranked_by)


def search(retriever: "Retriever", resolved: Resolved, text: str, k: int, policy: "Policy") -> "Retrieval":
    """The search for a resolved message. A message read in context ranks passages by its own
    match plus `context_blend` times the context reading's match, so the conversation informs the
    ranking without drowning what the message itself asks; the checks (places, figures, groups)
    see the context reading, which carries the conversation's place and subject."""
    if resolved.kind != "context" or not resolved.alone or policy.context_blend <= 0:
        return retriever.search(text, k)
    depth = max(k, policy.candidates)
    ctx = retriever.search(text, depth)
    if resolved.ranked_by:  # the hits (and their scores) of the fuller text, the checks of the subject's
        ctx = replace(ctx, hits=retriever.search(resolved.ranked_by, depth).hits)
    own = retriever.search(resolved.alone, depth)
    if not ctx.hits or not own.hits:
        return replace(ctx, hits=ctx.hits[:k])
    from .retrieval.retriever import order_key

    own_hit = {h.passage.chunk_id: h for h in own.hits}
    floor = min(h.score for h in own.hits)
    lam = policy.context_blend

    # A message with a subject of its own asks its own kind of fact: the earlier question's (电话 of
    # 吉林省异地就医备案电话是多少) must not make every passage lack it (宁波's portal, asked how to search).
    own_asks = resolved.own_subject and not facts.required(own.normalized)

    def blended(h):
        mine = own_hit.get(h.passage.chunk_id)
        return replace(h, score=(mine.score if mine else floor) + lam * h.score,
                       dense_score=max(h.dense_score, mine.dense_score if mine else 0.0),
                       lacks=() if own_asks else h.lacks)
    hits = [blended(h) for h in ctx.hits]
    hits.sort(key=order_key(policy.place_penalty, policy.fact_penalty))
    elsewhere = max((h.score for h in hits if h.missing), default=0.0)  # on the blended scale
    return replace(ctx, hits=tuple(hits[:k]), alone_tokens=own.tokens, context_text=resolved.ranked_by or text,
                   alone_normalized=own.normalized, elsewhere=elsewhere, alone=own)


def _out_of_scope(alone: "Retrieval", policy: "Policy") -> bool:
    """A message whose own subject is another scheme, a doctor's question or not insurance at all (养老保险, 挂什么科, 饭店)
    stands alone, to be refused as such: the conversation's 医保 must not make it in scope."""
    from .retrieval.checks import find_gap

    gap = find_gap(alone, alone.hits[0], policy) if alone.hits else None
    return gap is not None and gap.reason in ("off_topic", "scope", "medical")


def prior_sorted(retrieval: "Retrieval", prior: tuple[str, ...], policy: "Policy") -> "Retrieval":
    """The hits re-sorted with `policy.context_prior` added to the passages cited for the
    previous turn (the place and fact penalties apply as in the search)."""
    bonus = policy.context_prior
    if not prior or not bonus or not retrieval.hits:
        return retrieval
    from .retrieval.retriever import order_key

    hits = [replace(h, score=h.score + bonus) if h.passage.chunk_id in prior else h for h in retrieval.hits]
    return replace(retrieval, hits=tuple(sorted(hits, key=order_key(policy.place_penalty, policy.fact_penalty))))


def unit_sorted(retrieval: "Retrieval", resolved: Resolved, policy: "Policy", keyword, unit_scores) -> "Retrieval":
    """A message read in context: its first `policy.context_unit_depth` passages re-ordered by their
    fused score plus `policy.context_unit_weight` times the score of the unit each would open with
    (answer.scored_pick, the message's own words weighing more). Passages that share the
    conversation's subject differ most in whether one of them has a unit answering what the
    message asks now. Scores are kept; only the order changes (the place and fact penalties first)."""
    depth, weight = policy.context_unit_depth, policy.context_unit_weight
    if resolved.kind != "context" or weight <= 0 or depth < 2 or len(retrieval.hits) < 2 or unit_scores is None:
        return retrieval
    from .answer import _weights, scored_pick, unit_inputs
    from .retrieval.retriever import rank_key

    words, scores = unit_inputs(retrieval, _weights(retrieval.tokens, keyword) or {t: 1.0 for t in retrieval.tokens},
                                unit_scores, policy)
    rank = rank_key(policy.place_penalty, policy.fact_penalty)
    head = list(retrieval.hits[:depth])

    def key(h):
        lead = scored_pick(retrieval.normalized, h.passage, words, unit_scores=scores, policy=policy,
                           asks_text=retrieval.context_text)[1]
        return rank(h.score + weight * lead, h.missing, h.lacks)
    ordered = sorted(head, key=key)
    if ordered == head:
        return retrieval
    return replace(retrieval, hits=tuple(ordered) + retrieval.hits[depth:])
