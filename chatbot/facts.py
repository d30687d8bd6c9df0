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
    stated: re.Pattern     # matched against a normalised sentence or passage
    required: bool         # a passage without such a fact cannot answer the question


PHONE = FactKind(
    "phone",
    re.compile(r"电话|号码|热线|联系方式|打哪|hotline|phone|telephone|call\b|contact number"),
    re.compile(r"\d{3,4}-\d{6,8}|\d{7,}|(?<!\d)\d{5}(?!\d)|\d{7}、"),
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


# Social-insurance schemes other than medical insurance. A question about one of them is outside
# this corpus unless the passage itself speaks of that scheme.
OTHER_SCHEMES = {
    "养老保险": re.compile(r"养老保险|养老金|退休金|pension"),
    "失业保险": re.compile(r"失业保险|失业金|unemployment"),
    "工伤保险": re.compile(r"工伤"),
    "住房公积金": re.compile(r"公积金|housing fund"),
    "商业保险": re.compile(r"商业保险|车险|意外险|重疾险|寿险|car insurance|life insurance"),
}


def other_schemes(question_norm: str, passage_norm: str) -> list[str]:
    """Schemes the question names that the passage never mentions by the same words."""
    out = []
    for name, pattern in OTHER_SCHEMES.items():
        asked_terms = set(m.group(0) for m in pattern.finditer(question_norm))
        if asked_terms and not any(term in passage_norm for term in asked_terms):
            out.append(name)
    return out
