"""What kind of fact a question asks for, and whether a text states such a fact.

Used twice: retrieval prefers passages that contain the asked-for kind of fact (a phone-number
question wants a passage with a phone number), and answers lead with the sentence that states it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class FactKind:
    name: str
    asked: re.Pattern      # matched against the normalised question
    stated: re.Pattern     # .search()ed in a normalised sentence or passage
    required: bool         # a passage without such a fact cannot answer the question


_NOT_AFTER_NUMBER = r"(?![\d.%元年月日天个万岁倍种])"
_STRONG_PHONE = re.compile(
    r"(?<![\d.])(0\d{2,3}-\d{7,8}|0\d{9,11}|[48]00-?\d{3}-?\d{4}|1[3-9]\d{9}|12\d{3})" + _NOT_AFTER_NUMBER
)
# A bare 7–8 digit number is a phone number only where the text just said so (电话2227130、2227105);
# otherwise it is as likely a registration code (粤械注准2024221).
_LOCAL_PHONE = re.compile(r"(电话|热线|拨打|号码|致电|咨询|联系)[^。;\n]{0,12}?(?<![\d.])\d{7,8}" + _NOT_AFTER_NUMBER)


class _PhonePattern:
    """Phone numbers: area code + number, 400/800 lines, mobiles, 12xxx service lines, and
    announced local numbers; never an amount (10000元), a year or a long code."""

    def search(self, text: str):
        return _STRONG_PHONE.search(text) or _LOCAL_PHONE.search(text)


PHONE = FactKind(
    "phone",
    re.compile(r"电话|号码|热线|联系方式|打哪|hotline|phone|telephone|call\b|contact number"),
    _PhonePattern(),
    True,
)
AMOUNT = FactKind(
    "amount",
    re.compile(r"多少|几|比例|标准|起付|限额|额度|费用|多久|how much|how many|rate|percent|cost"),
    re.compile(r"\d+(\.\d+)?\s*(元|%|万|年|个|种|月|天|岁|倍)|[一二三四五六七八九十百千万]+(元|年|个|种|月|天)"),
    False,
)
DATE = FactKind(
    "date",
    re.compile(r"什么时候|何时|哪天|截止|几月|时间|最晚|期限|when|deadline|date"),
    re.compile(r"\d{1,2}月|\d{4}年|\d{1,2}日|月底|年底|年初|月初"),
    False,
)
KINDS = (PHONE, AMOUNT, DATE)


def asked(question_norm: str) -> list[FactKind]:
    return [k for k in KINDS if k.asked.search(question_norm)]


def required(question_norm: str) -> list[FactKind]:
    return [k for k in asked(question_norm) if k.required]


def states(kind: FactKind, text_norm: str) -> bool:
    return bool(kind.stated.search(text_norm))


def other_schemes(question_norm: str, passage_norm: str, patterns: dict[str, re.Pattern] | None = None) -> list[str]:
    """Schemes the question names that the passage never mentions by the same words
    (`patterns`: the policy's scheme lexicon)."""
    if patterns is None:
        from ..policy import Policy

        patterns = Policy().scheme_patterns()
    out = []
    for name, pattern in patterns.items():
        asked_terms = set(m.group(0) for m in pattern.finditer(question_norm))
        if asked_terms and not any(term in passage_norm for term in asked_terms):
            out.append(name)
    return out
