"""An English line under a refusal when the question was asked in English.

The documents are Chinese, so an answer quotes Chinese; a refusal is the product's own words, and
someone who asked in English should read why nothing is quoted and what the documents lack. Place
names come back in pinyin, as English writes them (石家庄 → Shijiazhuang); schemes, groups and
kinds of figure by their English names; anything else keeps its Chinese beside the English.
"""

from __future__ import annotations

import re

from .textnorm import cjk_share, normalize

_LATIN_WORD = re.compile(r"[A-Za-z]{2,}")
_HAN = re.compile(r"[\u4e00-\u9fff]")

# The names the refusals give (policy.OTHER_SCHEMES and POPULATIONS keys, policy.FIGURE_NAMES values,
# answer._KIND_NAMES values) in English.
NAMES = {
    "养老保险": "pension insurance", "失业保险": "unemployment insurance", "工伤保险": "work-injury insurance",
    "住房公积金": "the housing provident fund", "惠民保": "city supplementary cover (惠民保)",
    "商业保险": "commercial insurance", "城乡居民": "urban and rural residents'", "职工": "employees'",
    "金额": "amount", "缴费金额": "contribution amount", "比例": "rate", "上限": "cap", "利率": "interest rate", "有效期": "validity period",
    "电话号码": "phone number", "地址": "address", "金额或比例": "amount or rate", "日期": "date", "办公时间": "opening hours",
}
TEMPLATES = {
    "place": "The documents have nothing about {name}.",
    "slot": "The documents have nothing about {name}.",
    "scope": "The documents cover medical insurance only; they say nothing about {name}.",
    "off_topic": "This is not a medical-insurance question; the documents do not cover it.",
    "medical": "This is a question for a doctor or pharmacist, not about insurance: the documents cannot answer it.",
    "population": "The passages found are about other people's insurance, not {name} insurance.",
    "no_fact": "The documents do not state the {name} asked for.",
    "low_confidence": "Nothing in the documents answers this question.",
}


def is_english(text: str) -> bool:
    """Latin words with at most a Chinese name among them (a Chinese character says more than a
    letter: 衡水医保电话 hotline is a Chinese question)."""
    return bool(_LATIN_WORD.search(text or "")) and cjk_share(text) < 0.2


def _name(missing: str, place: bool, spelled: dict | None = None) -> str:
    """What is missing, in English: a place as the question spelled it (Hong Kong), else in pinyin,
    with its Chinese; a known name translated, a year's figure as such; anything else as the refusal
    names it."""
    out = []
    for part in (p.strip("「」 ") for p in re.split(r"[、,，]", missing)):
        year = re.fullmatch(r"(\d{4})年的数字", part)
        if not part:
            continue
        if part in NAMES:
            out.append(NAMES[part])
        elif year:
            out.append(f"figure for {year.group(1)}")
        elif place and spelled and part in spelled:
            out.append(f"{spelled[part]} ({part})")
        elif place and _HAN.search(part):
            from pypinyin import lazy_pinyin

            out.append(f"{''.join(lazy_pinyin(part)).capitalize()} ({part})")
        else:
            out.append(part)
    return " and ".join(out) if out else "what was asked"


def line(question: str, reason: str | None, missing: str | None = None) -> str | None:
    """The English line for a refusal of `question` (None when the question is not English or the
    reason has no line)."""
    template = TEMPLATES.get(reason or "")
    if template is None or not is_english(question):
        return None
    place = reason in ("place", "slot")
    spelled = None
    if place:
        from .retrieval.places import find_places

        spelled = {p.name: p.spelled for p in find_places(normalize(question), original=question) if p.spelled}
    return template.format(name=_name(missing or "", place=place, spelled=spelled))


def with_line(text: str, question: str, reason: str | None, missing: str | None = None) -> str:
    """`text` with the English line under it, when there is one."""
    english = line(question, reason, missing)
    return f"{text}\n{english}" if english else text
