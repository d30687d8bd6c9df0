"""Follow-ups rewritten by the model (issue 19, item 6): with an LLM configured, a message the
offline resolver (chatbot/dialogue.py) read in the light of the conversation is also given to the
model, which writes it as one stand-alone question. The rewrite is used only when it names exactly
the places (gazetteer places and zones such as 高新区) and groups (populations and schemes) that the
conversation means — the offline reading's and the message's own: a rewrite that drops one or adds
one is refused, as is anything that is not one short question. Every failure (error, timeout,
unreachable endpoint, refused rewrite) returns None and the offline reading stands; the caller
(`QA.understand`) is the one path of web chat, HTTP, terminal chat and eval.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Sequence

from ..policy import SLOTS
from . import facts

if TYPE_CHECKING:
    from .client import LLMClient

log = logging.getLogger(__name__)

SYSTEM = """把用户的最后一个问题改写成一个不看前面的对话也能理解的完整问题。
规则：
1. 只输出改写后的问题，一行，不要回答它，不要解释。
2. 保留最后一个问题问的内容；地点（省、市、区县、开发区等）和人群（职工、居民、退休人员、新生儿等）以最后一个问题里说的为准，它没有说的，沿用前面对话里的。
3. 不要添加对话里没有出现过的地点、人群或其他内容。
4. 用最后一个问题所用的语言。"""
MAX_CHARS = 120          # a rewrite longer than this is not one question
TIMEOUT_SHARE = 1 / 3    # of the model's timeout: the answer itself still has time after a slow rewrite
_ZONE = re.compile(SLOTS["zone"], re.I)


def messages(message: str, history: Sequence[str]) -> list[dict]:
    earlier = "\n".join(f"{i}. {h.strip()}" for i, h in enumerate(history, 1))
    user = f"前面的问题（从早到晚）：\n{earlier}\n\n最后一个问题：{message.strip()}\n\n改写后的问题："
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def named(text: str) -> set[tuple[str, object]]:
    """The places, zones and groups a text names: a place as its gazetteer codes (衡水 = 衡水市;
    邯郸 may be the city or its county), a zone or group as one word."""
    t = facts.canonical(text)
    out: set[tuple[str, object]] = {("place", frozenset(f.codes) or frozenset([f.value])) for f in facts.places(t)}
    out |= {("zone", m.group(0).lower()) for m in _ZONE.finditer(t)}
    out |= {("group", f.value) for f in facts.populations(t)}
    return out


def _same(a: tuple[str, object], b: tuple[str, object]) -> bool:
    if a[0] != b[0]:
        return False
    return bool(a[1] & b[1]) if a[0] == "place" else a[1] == b[1]


def _label(items) -> str:
    return "、".join(sorted("/".join(sorted(v)) if isinstance(v, frozenset) else str(v) for _, v in items))


def check(rewrite: str, expected: set[tuple[str, object]]) -> str | None:
    """Why `rewrite` cannot stand for the conversation's reading (None when it can)."""
    if not rewrite or len(rewrite) > MAX_CHARS or "\n" in rewrite:
        return "not one short question"
    got = named(rewrite)
    dropped = [e for e in expected if not any(_same(e, g) for g in got)]
    if dropped:
        return f"drops {_label(dropped)}"
    added = [g for g in got if not any(_same(e, g) for e in expected)]
    if added:
        return f"adds {_label(added)}"
    return None


def clean(reply: str) -> str:
    """The reply's question: quotes, a 改写后的问题： label and surrounding space removed."""
    text = reply.strip().strip("\"'“”「」")
    text = re.sub(r"^(?:改写后的问题|改写|问题|question)\s*[:：]\s*", "", text, flags=re.I).strip()
    return text.strip("\"'“”「」 ")


def rewrite(client: "LLMClient", message: str, history: Sequence[str], offline: str) -> tuple[str | None, str]:
    """(the model's stand-alone question, or None; why not). `offline`: the offline resolver's
    reading, whose places and groups (with the message's own) the rewrite must name exactly."""
    from .client import LLMError

    if not history:
        return None, "no conversation"
    try:
        reply = client.complete(messages(message, history), timeout_s=max(1.0, client.timeout_s * TIMEOUT_SHARE))
    except LLMError as exc:
        log.warning("follow-up rewrite failed (%s): the offline reading stands", exc)
        return None, exc.notice
    text = clean(reply)
    why = check(text, named(offline) | named(message))
    if why:
        log.info("follow-up rewrite refused (%s): the offline reading stands", why)
        return None, why
    return text, ""
