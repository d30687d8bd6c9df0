"""A message of several asks, one of which the documents lack ("医保卡里的钱放着有利息吗，一年利率是多少").

The refusal names what is missing (the 利率); an ask the documents can answer is answered under it,
with its own citations, when it reads alone ("医保卡里的钱放着有利息吗" → 医保账户余额通常无利息收益).
The whole stays a refusal (`Answer.refused`): what was asked together is not answered, and the
question sets count such a message as unanswerable. Only the clauses that ask no figure and no
phone number or address are asked again, and only a clause that reads alone and is answered
confidently is shown: a short clause leaning on the one dropped ("咋算的" after "能拿多少钱") would be
read with the conversation and answered beside the point (session 28: of 14 such development
messages, the clauses read in context were answered wrongly, those read alone rightly or near).
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import TYPE_CHECKING

from .retrieval import facts
from .retrieval.checks import figures_asked
from .textnorm import normalize

if TYPE_CHECKING:
    from .policy import Policy
    from .types import Answer

_CLAUSE = re.compile(r"[？?；;。!！，,]")
# a clause that asks something (a question particle or word), not a situation told (我在成都上班)
_ASKS = re.compile(r"吗|么|呢|不$|怎么|怎样|如何|哪|什么|啥|咋|能不能|可不可以|是不是|有没有|要不要|多久|几")
_CJK = re.compile(r"[\u4e00-\u9fff]")


def rest_of(message: str, policy: "Policy") -> str | None:
    """The message without its clauses that ask a figure, a phone number or an address, when
    something is left that asks; None for a message of one clause or nothing else asked."""
    clauses = [c.strip() for c in _CLAUSE.split(message or "") if c.strip()]
    if len(clauses) < 2:
        return None
    keep = [c for c in clauses if not figures_asked(normalize(c), policy) and not facts.required(normalize(c))]
    if len(keep) == len(clauses) or not any(_ASKS.search(c) for c in keep):
        return None
    rest = "，".join(keep)
    return rest if len(_CJK.findall(rest)) >= policy.partial_min_chars else None


def usable(answer: "Answer") -> bool:
    """An answer to the rest that may be shown: answered, and read alone (no understood-as line)."""
    return not answer.refused and not answer.understood_as and bool(answer.citations)


def combine(refusal: "Answer", rest: str, answer: "Answer") -> "Answer":
    """The refusal's first sentence (what is missing), then the rest's answer under its own words,
    with its citations; still a refusal, `reason` "partial"."""
    head = refusal.text.split("\n", 1)[0]
    head = head.split("。", 1)[0] + "。" if "。" in head else head
    return replace(refusal, text=f"{head}\n关于「{rest}」：{answer.text}", citations=answer.citations, related=(),
                   reason="partial")
