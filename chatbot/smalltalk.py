"""Small talk and statements: a message that asks nothing gets a reply of its own.

A greeting, thanks, an acknowledgement or a goodbye ("你好", "谢谢", "好的，明白了", "thanks") is not a
question: searched as one it was answered with the previous answer again ("按“谢谢”理解") or refused
with "nothing in the documents answers this". It now gets a short reply, searches nothing, and is
left out of the history a later message is read against. A statement about the user's situation
("我是灵活就业的", "我妈有高血压") that the documents cannot answer as if it were a question is
acknowledged and kept in the history, so that the next message is read in its light. Both stay
refusals (nothing from the documents is stated). Stdlib only: the lexicons live in the policy.
"""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache

from .types import Answer

GREETING = "greeting"
THANKS = "thanks"
CLOSING = "closing"
STATEMENT = "statement"

REPLIES = {
    GREETING: ("您好！我根据资料回答医保方面的问题，比如缴费、报销、个人账户、家庭共济、异地就医、新生儿参保和各地医保电话，"
               "每个回答都标明出处。请直接提问。",
               "Hello! I answer questions about Chinese medical insurance from the documents and show where each "
               "answer comes from. Please ask your question."),
    THANKS: ("不客气。还有医保方面的问题，可以接着问。", "You're welcome. Ask another question any time."),
    CLOSING: ("好的。还有医保方面的问题，可以接着问。", "OK. Ask another question any time."),
    STATEMENT: ("好的，记下了：{said}。请接着说想了解什么，比如能不能报销、怎么缴费或怎么办理；我会结合这个情况查资料。",
                "Noted: {said} What would you like to know? I will take it into account."),
}
ACKNOWLEDGED = ("low_confidence", "empty", "slot")  # refusals a statement gets instead (not place, scope, medical …)
_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_HAN = re.compile(r"[\u4e00-\u9fff]")


@lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern:
    return re.compile(pattern, re.IGNORECASE)


def _english(text: str) -> bool:
    return bool(_LATIN_WORD.search(text)) and not _HAN.search(text)


def kind(message: str, policy) -> str | None:
    """GREETING, THANKS or CLOSING when the whole message is small talk (its words of
    `policy.small_talk` and `policy.small_talk_filler` leave nothing over), else None."""
    text = (message or "").strip()
    if not text or len(text) > policy.small_talk_max_chars:
        return None
    found = []
    for name, pattern in policy.small_talk.items():
        text, n = _compiled(pattern).subn(" ", text)
        if n:
            found.append(name)
    if not found or _compiled(policy.small_talk_filler).sub("", text).strip():
        return None
    return found[0]  # the lexicon's order: a greeting with thanks greets


def core(message: str, policy) -> str:
    """The message without the small talk around it: "你好，请问重庆呢？谢谢！" → "重庆呢？", "嗯，那个，补办要交
    多少工本费啊" → "补办要交多少工本费". A greeting, a request to ask or a spoken filler in front, thanks
    behind and a modal particle at the end made a follow-up's "那…呢" unrecognisable and came back in
    the understood-as line; the message itself when nothing else is left."""
    text = message or ""
    lead = _compiled(rf"^(?:[\s,，、.。!！~～:：]*(?:{policy.small_talk['greeting']}|{policy.small_talk_lead}|"
                     rf"{policy.small_talk_filler_lead}))+"
                     r"[\s,，、.。!！~～:：]*")
    trail = _compiled(rf"(?:[\s,，、.。!！~～]*(?:{policy.small_talk['thanks']}|{policy.small_talk_trail}))+"
                      r"[\s,，、.。!！~～\U0001F300-\U0001FAFF]*$")
    out = trail.sub("", lead.sub("", text, count=1), count=1).strip()
    out = _compiled(policy.small_talk_particle).sub("", out, count=1)
    return out if _compiled(r"[\w\u4e00-\u9fff]").search(out) else text


def is_statement(message: str, policy) -> bool:
    """A message about the speaker's situation that asks nothing: it starts with its subject (我,
    我妈, my, we) and has no question word, question mark or request (想, 要, 请, how, can …)."""
    text = (message or "").strip()
    if not text or len(text) > policy.small_talk_max_chars:
        return False
    if _compiled(policy.asks).search(text):
        return False
    persons = "|".join(sorted(map(re.escape, policy.persons), key=len, reverse=True))
    return bool(_compiled(rf"^\s*(?:{policy.speaker}|(?:我|俺|咱)?(?:家)?(?:{persons}))").match(text))


def reply(question: str, talk: str) -> Answer:
    """The reply to small talk: refused (nothing from the documents), reason "small_talk"."""
    chinese, english = REPLIES[talk]
    return Answer(question, english if _english(question) else chinese, True, reason="small_talk")


def acknowledged(answer: Answer, message: str, policy, names_place=lambda text: False) -> Answer:
    """A statement the documents answer nothing for is acknowledged instead of refused as an
    unanswered question: alone ("我是灵活就业的" found nothing) or read against the conversation
    ("我是灵活就业的" after a 石家庄 question is no swap of 灵活就业 to refuse by name). A place the
    documents lack keeps its refusal by name ("我在石家庄" after a 衡水 question: nothing about 石家庄;
    `names_place(text)` says whether the statement names one),
    as do other schemes and doctors' questions; the related passages stay shown; a statement the
    documents do answer ("我医保卡丢了") keeps its answer."""
    if not answer.refused or answer.reason not in ACKNOWLEDGED or not is_statement(message, policy):
        return answer
    if answer.reason == "slot" and names_place(message):
        return answer  # 我在石家庄: the place swapped in is what the documents lack
    chinese, english = REPLIES[STATEMENT]
    said = message.strip()
    if _english(message):
        text = english.format(said=said if said.endswith((".", "!")) else said + ".")
    else:
        text = chinese.format(said=said.rstrip("。！!.，, "))
    return replace(answer, text=text, reason=STATEMENT, understood_as=None)
