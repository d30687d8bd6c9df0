"""Metamorphic checks (`chatbot eval FILE --perturb NAME[,NAME]`): the same questions, typed the way
other users type them, must get the same answers.

A question set measures the phrasings its writers chose; hidden users wrap a question in
courtesies (你好，请问 … 谢谢！), open with a filler (嗯，那个，), end on a particle (啊), write 咋 for 怎么,
Traditional characters, 换成X的话呢 for 那X呢, or English all in lower case; they name the place last
(医保电话是多少？衡水市的), put the question as what they want to know (我想知道…), type words with
spaces between like a search box or no punctuation at all, say 俺 and 娃, drop a place's 市, or swap with
如果是X呢 / X的情况呢. None of these changes what is asked, so the gold
evidence stays right and a change of figures is a defect found without anyone reading a held-out
miss (docs/quality.md, session 20: five were found and mended this way). Each perturbation
applies to the questions it can change; the figures are those questions' before and after.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Callable

_CJK = re.compile(r"[\u4e00-\u9fff]")
_END = re.compile(r"[？?。！!]*$")


def _chinese(text: str) -> bool:
    return bool(_CJK.search(text))


def courtesy(query: str) -> str | None:
    """你好，请问 … 谢谢！ (Hi, … Thanks!) around the question, its own punctuation kept (a question
    mark added or dropped is another perturbation: it moves the quoted sentences a little)."""
    if _chinese(query):
        return "你好，请问" + query + ("" if _END.search(query).group(0) else "，") + "谢谢！"
    return "Hi, " + query.rstrip() + " Thanks!"


def filler(query: str) -> str | None:
    """A spoken filler in front: 嗯，那个，… (Um, …)."""
    return ("嗯，那个，" if _chinese(query) else "Um, ") + query


def particle(query: str) -> str | None:
    """A modal particle at the end of a Chinese question: …工本费啊？"""
    if not _chinese(query[-3:]):
        return None
    end = _END.search(query)
    return query[:end.start()] + "啊" + end.group(0)


_COLLOQUIAL = (("怎么办", "咋办"), ("怎么", "咋"), ("什么", "啥"), ("哪里", "哪儿"))


def colloquial(query: str) -> str | None:
    """Northern everyday words for the standard ones: 咋 for 怎么, 啥 for 什么, 哪儿 for 哪里, …不 for …吗."""
    out = query
    for standard, everyday in _COLLOQUIAL:
        out = out.replace(standard, everyday)
    out = re.sub(r"吗([？?。]?)$", r"不\1", out)
    return out if out != query else None


@lru_cache(maxsize=1)
def _s2t():
    from opencc import OpenCC

    return OpenCC("s2t")


def traditional_script(query: str) -> bool:
    from .textnorm import _t2s_convert  # the conversion every question gets (textnorm.normalize)

    return _t2s_convert(query) != query


def traditional(query: str) -> str | None:
    """The question (and its history) in Traditional characters."""
    out = _s2t().convert(query)
    return out if out != query else None


# 那 + a name (a place, a group, a level) + 呢: not a clause that asks something itself (那线上怎么开通呢)
_SWAP = re.compile(r"^那(?:么)?(?P<x>[^，,。？?！!怎什吗多少几哪啥咋要去能可会是]{1,10}?)(?:的)?呢(?P<end>[？?]?)$")


def swap_phrase(query: str) -> str | None:
    """A follow-up's swap said another way: 那X呢 → 换成X的话呢."""
    m = _SWAP.match(query)
    return f"换成{m.group('x')}的话呢{m.group('end')}" if m else None


_SWAP_FORMS = ("{x}呢{end}", "如果是{x}呢{end}", "那{x}那边呢{end}", "{x}的情况呢{end}")


def swap_forms(query: str) -> str | None:
    """A follow-up's swap in the other forms people use: X呢, 如果是X呢, 那X那边呢, X的情况呢 (one per
    question, chosen by the place's name so that a run is repeatable)."""
    m = _SWAP.match(query)
    if not m:
        return None
    x = m.group("x")
    return _SWAP_FORMS[sum(map(ord, x)) % len(_SWAP_FORMS)].format(x=x, end=m.group("end"))


def lower(query: str) -> str | None:
    """An English question typed all in lower case (what about shijiazhuang?)."""
    if _chinese(query) or query == query.lower():
        return None
    return query.lower()


def afterthought(query: str) -> str | None:
    """The place said last, as an afterthought: 衡水市医保电话是多少？ → 医保电话是多少？衡水市的."""
    if not _chinese(query):
        return None
    from .retrieval.places import find_places

    places = find_places(query)
    if not places or not query.startswith(places[0].name):
        return None
    rest = query[len(places[0].name):].lstrip("的，, ")
    if len(rest) < 4:
        return None
    end = _END.search(rest)
    return rest[:end.start()] + (end.group(0) or "？") + places[0].name + "的"


def ask_frame(query: str) -> str | None:
    """The question put as what one wants to know: 我想知道…。 (I'd like to know …)."""
    if not _chinese(query):
        return None
    body = query[:_END.search(query).start()]
    if re.search(r"[吗呢]$", body):  # 我想知道…吗 is not said
        return None
    return "我想知道" + body + "。" if len(body) >= 4 else None


def keywords(query: str) -> str | None:
    """Typed like a search box: the question's words with spaces between, without particles or
    punctuation (衡水市医保电话是多少？ → 衡水市 医保 电话 多少); the question words stay."""
    if not _chinese(query) or len(query) < 6 or traditional_script(query):
        return None
    import jieba

    drop = {"是", "吗", "呢", "的", "了", "吧", "啊", "请问", "我"}
    words = [w for w in jieba.lcut(query) if w.strip() and not re.fullmatch(r"[\W_]+", w) and w not in drop]
    out = " ".join(words)
    return out if len(words) >= 2 and out != query else None


def no_punct(query: str) -> str | None:
    """Typed without punctuation: a space between clauses, nothing at the end (我在外地 医保卡能用吗)."""
    if not _chinese(query):
        return None
    out = re.sub(r"\s*[，,；;。！!]+\s*", " ", query)
    out = re.sub(r"[？?。！!\s]+$", "", out).strip()
    return out if out != query and out else None


_KIN = (("孩子", "娃"), ("老婆", "媳妇"), ("爸爸", "老爸"), ("妈妈", "老妈"), ("我们", "俺们"), ("我", "俺"))


def kin(query: str) -> str | None:
    """Northern everyday words for people: 俺 for 我, 娃 for 孩子, 媳妇 for 老婆."""
    out = query
    for standard, everyday in _KIN:
        out = out.replace(standard, everyday)
    return out if out != query else None


def place_suffix(query: str) -> str | None:
    """A place's name without its 市 / 省 (衡水市医保电话 → 衡水医保电话)."""
    if not _chinese(query):
        return None
    from .retrieval.places import find_places

    for place in find_places(query):
        if len(place.name) >= 3 and place.name[-1] in "市省" and place.name in query:
            return query.replace(place.name, place.name[:-1], 1)
    return None


PERTURBATIONS: dict[str, Callable[[str], str | None]] = {
    "courtesy": courtesy, "filler": filler, "particle": particle, "colloquial": colloquial,
    "traditional": traditional, "swap_phrase": swap_phrase, "lower": lower,
    "afterthought": afterthought, "ask_frame": ask_frame, "keywords": keywords, "no_punct": no_punct, "kin": kin,
    "place_suffix": place_suffix, "swap_forms": swap_forms,
}


FIRST_MESSAGE_ONLY = {"keywords"}
# the earlier messages of a conversation typed another way, the message itself as written
PERTURBATIONS.update({"history_" + n: PERTURBATIONS[n] for n in ("courtesy", "keywords", "kin", "no_punct")})


def perturbed(items: list[dict], name: str) -> list[tuple[dict, dict]]:
    """(original, perturbed) for each question the perturbation changes; Traditional converts the
    history too (one user, one script). Words typed like a search box open a conversation: a
    follow-up is left as written."""
    change = PERTURBATIONS[name]
    out = []
    for item in items:
        if name.startswith("history_"):
            history = [change(h) or h for h in item.get("history") or []]
            if history != list(item.get("history") or []):
                out.append((item, dict(item, history=history)))
            continue
        if name in FIRST_MESSAGE_ONLY and item.get("history"):
            continue
        query = change(item["query"])
        if query is None or query == item["query"]:
            continue
        new = dict(item, query=query)
        if name == "traditional" and item.get("history"):
            new["history"] = [change(h) or h for h in item["history"]]
        out.append((item, new))
    return out


def compare(qa, items: list[dict], names: list[str]) -> dict:
    """For each perturbation: how many questions it changes, the figures of those questions as
    written and as perturbed, and how many answers differ (what they say or whether they refuse; the
    understood-as line may differ)."""
    from . import evaluation

    unknown = [n for n in names if n not in PERTURBATIONS]
    if unknown:
        raise ValueError(f"unknown perturbation {', '.join(unknown)} (known: {', '.join(PERTURBATIONS)})")
    out = {}
    for name in names:
        pairs = perturbed(items, name)
        if not pairs:
            out[name] = {"n": 0}
            continue
        before = evaluation.run(qa, [a for a, _ in pairs])
        after = evaluation.run(qa, [b for _, b in pairs])
        keys = ("recall@1", "recall@5", "answer_hit", "refusal_recall", "false_refusal")
        m0, m1 = evaluation.metrics(before), evaluation.metrics(after)
        changed = [b.item.get("id") for a, b in zip(before, after)  # what is said, not the understood-as line
                   if (evaluation.reading_text(a.answer), a.refused) != (evaluation.reading_text(b.answer), b.refused)]
        out[name] = {"n": len(pairs), "as_written": {k: m0[k] for k in keys}, "perturbed": {k: m1[k] for k in keys},
                     "answers_changed": len(changed), "changed_ids": changed[:20]}
    return out
