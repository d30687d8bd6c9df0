"""What kind of fact a question asks for, and whether a text states such a fact.

Used by retrieval (a phone question wants a passage with a phone number), by the refusal checks
(a money or rate question against a passage without one) and by the answer (lead with the
sentence that states the asked-for kind). Kinds follow the general list of what an insurance
question asks for: a phone number, an office's address, an amount (money, rate, duration, count), a date,
the hours an office is open.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..policy import FACT_ASKED


@dataclass(frozen=True, eq=False)  # the kinds below are constants: compared and hashed by identity
class FactKind:
    name: str
    asked: re.Pattern      # matched against the normalised question
    stated: object         # has .search(text): a compiled pattern or a matcher object
    required: bool         # a passage without such a fact cannot answer the question


# A number followed by a unit or a count word is a quantity, not a phone number.
_NOT_AFTER_NUMBER = r"(?![\d.%元年月日天个万岁倍种人名户次])"
_STRONG_PHONE = re.compile(
    r"(?<![\d.])(0\d{2,3}-(\d{7,8}|12\d{3})|0\d{9,11}|[48]00-?\d{3}-?\d{4}|1[3-9]\d{9})" + _NOT_AFTER_NUMBER
)
_CUE = r"(电话|热线|拨打|号码|致电|咨询|联系|服务线|hotline|call)"
# A bare 7–8 digit local number or a 5-digit 12xxx service line (12333, 12345, 12393) is a phone
# number only where the text says so around it (拨打12393, 12345热线); otherwise it is as likely
# a code (粤械注准2024221), an amount (起付线12000) or a count (共12345人).
_LOCAL_PHONE = re.compile(_CUE + r"[^。;\n]{0,12}?(?<![\d.])(\d{7,8}|12\d{3})" + _NOT_AFTER_NUMBER)
_SERVICE_BEFORE_CUE = re.compile(r"(?<![\d.])12\d{3}" + _NOT_AFTER_NUMBER + r"\s*(服务)?(热线|电话|咨询)")


class _PhonePattern:
    """Phone numbers: area code + number, 400/800 lines, mobiles, announced local numbers and
    12xxx service lines; never an amount (10000元, 起付线12000), a year, a count or a long code."""

    def search(self, text: str):
        return _STRONG_PHONE.search(text) or _LOCAL_PHONE.search(text) or _SERVICE_BEFORE_CUE.search(text)


PHONE = FactKind(
    "phone",
    re.compile(FACT_ASKED["phone"]),
    _PhonePattern(),
    True,
)
# "多少 / 几" ask for an amount only when the question is not about a phone number (电话是多少).
_AMOUNT_STRONG = re.compile(FACT_ASKED["amount"])
_AMOUNT_WEAK = re.compile(FACT_ASKED["amount_weak"])


class _AmountAsked:
    def search(self, question: str):
        return _AMOUNT_STRONG.search(question) or (None if PHONE.asked.search(question) else _AMOUNT_WEAK.search(question))


# Quantities: money, rates, durations, counts. A calendar date is not one: a four-digit year
# (2024年) and a month (12月) are dates; a duration keeps its counter (15年, 3个月, 90天).
AMOUNT = FactKind(
    "amount",
    _AmountAsked(),
    re.compile(r"\d+(\.\d+)?\s*(元|%|万|个月|个|种|天|岁|倍)|(?<!\d)\d{1,3}\s*年|百分之|"
               r"[一二三四五六七八九十百千万两]+(元|年|个月|个|种|天)"),
    False,
)
DATE = FactKind(
    "date",
    re.compile(FACT_ASKED["date"]),
    re.compile(r"\d{1,2}月|\d{4}年|\d{1,2}日|月底|年底|年初|月初"),
    False,
)
# A street address (广阳道19号) or an announced one (地址位于…); "与医保局同一地址" states none.
ADDRESS = FactKind(
    "address",
    re.compile(FACT_ASKED["address"]),
    re.compile(r"[\u4e00-\u9fff]{1,8}(路|街|大道|道|巷|胡同|大街)\d+号|地址(位于|为|是|在|[:：])"),
    True,
)
# Opening hours: working days, a clock time, a round-the-clock line.
HOURS = FactKind(
    "hours",
    re.compile(FACT_ASKED["hours"]),
    re.compile(r"工作日|\d{1,2}[:：]\d{2}|\d{1,2}点|周一至周|星期一至|24小时|全天|节假日|上午|下午"),
    True,
)
KINDS = (PHONE, ADDRESS, AMOUNT, DATE, HOURS)


@lru_cache(maxsize=8192)
def asked(question_norm: str) -> tuple[FactKind, ...]:
    """The kinds of fact the question asks for (kept: a question is read for them at every step)."""
    return tuple(k for k in KINDS if k.asked.search(question_norm))


@lru_cache(maxsize=8192)
def required(question_norm: str) -> tuple[FactKind, ...]:
    """The kinds asked that a passage must state to answer (a phone number, an address)."""
    return tuple(k for k in asked(question_norm) if k.required)


def about_rules(question_norm: str, policy) -> bool:
    """A question about rules: no office, phone number or figure of a place is asked, so a passage
    about the province states them for its cities too (a `Policy` gives the patterns)."""
    return not (required(question_norm) or policy.pattern("local_service").search(question_norm)
                or any(p.search(question_norm) for p in policy.patterns("figure_asked").values()))


def states(kind: FactKind, text_norm: str) -> bool:
    return bool(kind.stated.search(text_norm))


@lru_cache(maxsize=16384)
def states_kept(kind: FactKind, text_norm: str) -> bool:
    """`states`, kept: passages and their units are checked for the same kinds question after question."""
    return states(kind, text_norm)


def other_schemes(question_norm: str, passage_norm: str, patterns: dict[str, re.Pattern] | None = None) -> list[str]:
    """Schemes the question names that the passage never mentions by any of that scheme's words
    (`patterns`: the policy's scheme lexicon; 失业保险金 asked, 失业金 in the passage: mentioned)."""
    if patterns is None:
        from ..policy import Policy

        patterns = Policy().scheme_patterns()
    return [name for name, pattern in patterns.items()
            if pattern.search(question_norm) and not pattern.search(passage_norm)]
