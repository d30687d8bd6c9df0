"""Hard facts of a sentence, written one way: numbers, amounts, percentages, durations, dates and
phone numbers, populations and places, each with where it stands in the text.

Both sides of a check (a generated sentence and the passage it cites) go through the same steps, so
that 0318 12333 = 0318-12333 = (0318)12333, 85% = 百分之八十五, 1万元 = 10000元, 三个月 = 3个月,
五成 = 50%, 2025-02-28 = 2025年2月28日, 一年 = 12个月. Only a numeral that measures something is a
fact: 一般, 统一, 一家企业 (an indefinite article) are words, not figures.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from functools import lru_cache

from ..policy import INSURED_GROUPS, POPULATIONS, SLOTS
from ..textnorm import normalize

_DIGIT = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNIT = {"十": 10, "百": 100, "千": 1000}
_CN = "零〇一二两三四五六七八九十百千万"
# What a number measures (time, money, a rate, a count). After one of these a Chinese numeral is a figure.
_TIME_MONEY = r"个月|个工作日|工作日|个小时|小时|分钟|年|月|天|日|周|岁|元|块|倍|个百分点|%"
_COUNTERS = r"个|家|种|类|项|次|步|档|人|名|户|省|份|条|张|所"


def cn_to_int(text: str) -> int | None:
    """二十二 → 22, 一百 → 100, 三千 → 3000, 一万五千 → 15000, 一二 → None (not a number word)."""
    if not text or any(ch not in _CN for ch in text) or not (text[0] in _DIGIT or text[0] == "十"):
        return None
    total, section, digit = 0, 0, None
    for ch in text:
        if ch == "零" and (total or section):  # 一千零五十: 零 only marks a skipped place
            continue
        if ch in _DIGIT:
            if digit is not None:  # two digits in a row (一二): not a numeral we read
                return None
            digit = _DIGIT[ch]
        elif ch in _UNIT:
            section += (1 if digit is None else digit) * _UNIT[ch]
            digit = None
        elif ch == "万":
            total += (section + (digit or 0)) * 10000
            section, digit = 0, None
    return total + section + (digit or 0)


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# a Chinese numeral before what it measures; 第一 (an ordinal) and 统一/唯一/之一 (words) are not figures
_CN_MEASURE = re.compile(rf"(?<![第统唯之万单同逐专])([{_CN}]+)(多)?(?={_TIME_MONEY}|{_COUNTERS})")
_CN_PERCENT = re.compile(rf"百分之([{_CN}]+)")
_CN_TENTHS = re.compile(r"(?<![\u4e00-\u9fff])([一二三四五六七八九])成(?![\u4e00-\u9fff]{0,1}(?:本|员|立|为|功|果|都|市))")
_DIGIT_TENTHS = re.compile(r"(?<![\d.])([1-9])成")
_WAN = re.compile(r"(\d+(?:\.\d+)?)\s*万(?!一)")
_YI = re.compile(r"(\d+(?:\.\d+)?)\s*亿")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_ISO_DATE = re.compile(r"(?<!\d)((?:19|20)\d{2})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_YEAR_MONTH = re.compile(r"(?<!\d)((?:19|20)\d{2})[-/.](\d{1,2})(?![\d.])")
# (0318)2168618, 0318 12333, 0318-12333, 400 123 4567, 138 1234 5678: one number each
_AREA_PHONE = re.compile(r"\(?(?<!\d)(0\d{2,3})\)?[\s-]*(\d{7,8}|12\d{3})(?!\d)")
_TOLL_FREE = re.compile(r"(?<!\d)([48]00)[\s-]?(\d{3})[\s-]?(\d{4})(?!\d)")
_MOBILE = re.compile(r"(?<!\d)(1[3-9]\d)[\s-](\d{4})[\s-](\d{4})(?!\d)")
# 半年 = 6个月, 一年半 / 1年半 = 18个月 (not 上半年, 下半年)
_HALF_YEAR = re.compile(r"(?<![上下前后\d])(?:(\d+|[一二两三四五六七八九十]+)年半|半年)(?!度)")
# 区号0318，号码2816111 (an area code and a local number said apart) = 0318-2816111
_SPLIT_PHONE = re.compile(r"区号(?:是|为)?[:：]?\s*(0\d{2,3})[，,、；;\s]*(?:电话)?(?:号码|电话)(?:是|为)?[:：]?\s*(\d{7,8})(?!\d)")
# 2025年2月底 = 2025年2月28日 (the last day of the month; February of a year not given: 28)
_MONTH_END = re.compile(r"(?:((?:19|20)\d{2})年)?(?<!\d)(\d{1,2})月(?:底|末)(?!\d)")


def _month_end(m: re.Match) -> str:
    year, month = m.group(1), int(m.group(2))
    if not 1 <= month <= 12:
        return m.group(0)
    last = calendar.monthrange(int(year) if year else 2001, month)[1]
    return f"{year + '年' if year else ''}{month}月{last}日"


# Marks a count written in words before a counter (两类人, 三种方式): checked where it stands, but
# its absence alone does not fail a sentence (paraphrases count things the passage only lists).
SOFT = "\u2063"


def canonical(text: str) -> str:
    """The text normalised (NFKC, Simplified, lower-case) with every figure written one way:
    arabic digits, amounts in 元 (not 万), percentages as N%, dates as Y年M月D日, phones as 0AAA-NNNN."""
    t = normalize(text)
    t = _THOUSANDS.sub("", t)
    t = t.replace("百分之百", "100%")
    t = _CN_PERCENT.sub(lambda m: f"{cn_to_int(m.group(1))}%" if cn_to_int(m.group(1)) is not None else m.group(0), t)
    t = _CN_TENTHS.sub(lambda m: f"{_DIGIT[m.group(1)] * 10}%", t)
    t = _DIGIT_TENTHS.sub(lambda m: f"{int(m.group(1)) * 10}%", t)

    def measure(m: re.Match) -> str:
        words, more = m.group(1), m.group(2) or ""
        value = cn_to_int(words)
        if value is None:
            return m.group(0)
        after = t[m.end():m.end() + 4]
        # 一 before a counter is an article (一家企业, 一种方式), not a count
        if value == 1 and words == "一" and not re.match(_TIME_MONEY, after):
            return m.group(0)
        soft = "" if re.match(_TIME_MONEY, after) else SOFT
        return f"{soft}{value}{more}"

    t = _HALF_YEAR.sub(lambda m: f"{_num((float(cn_to_int(m.group(1)) or m.group(1)) if m.group(1) else 0) * 12 + 6)}个月", t)
    t = _WAN.sub(lambda m: _num(float(m.group(1)) * 10000), t)
    t = _YI.sub(lambda m: _num(float(m.group(1)) * 100000000), t)
    t = _CN_MEASURE.sub(measure, t)
    t = _ISO_DATE.sub(lambda m: f"{m.group(1)}年{int(m.group(2))}月{int(m.group(3))}日", t)
    t = _YEAR_MONTH.sub(lambda m: f"{m.group(1)}年{int(m.group(2))}月" if 1 <= int(m.group(2)) <= 12 else m.group(0), t)
    t = _SPLIT_PHONE.sub(lambda m: f"{m.group(1)}-{m.group(2)}", t)
    t = _MONTH_END.sub(_month_end, t)
    t = _AREA_PHONE.sub(lambda m: f"{m.group(1)}-{m.group(2)}", t)
    t = _TOLL_FREE.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}", t)
    t = _MOBILE.sub(lambda m: f"{m.group(1)}{m.group(2)}{m.group(3)}", t)
    return t


@dataclass(frozen=True)
class Fact:
    kind: str            # "number" | "phone" | "place" | "population"
    value: str           # canonical value (a number, the digits of a phone, a place or group name)
    start: int
    end: int
    alts: frozenset = frozenset()   # other values it equals (1年 = 12个月; a phone's local number)
    codes: frozenset = frozenset()  # a place's adcode prefixes
    soft: bool = False              # a count in words (两类): its absence alone is no failure


_PHONE = re.compile(r"(?<![\d.])(0\d{2,3})-(\d{5,8})(?!\d)")
_NUMBER = re.compile(r"(?<![\d.])\d+(?:\.\d+)?")


def numbers(t: str) -> list[Fact]:
    """Numbers and phone numbers in a canonical text."""
    out, taken = [], []
    for m in _PHONE.finditer(t):
        out.append(Fact("phone", m.group(1) + m.group(2), m.start(), m.end(), frozenset({m.group(2)})))
        taken.append((m.start(), m.end()))
    for m in _NUMBER.finditer(t):
        if any(a <= m.start() < b for a, b in taken):
            continue
        raw = m.group(0)
        if len(raw) >= 7 and raw.startswith("0"):  # an area code + number written without a dash
            out.append(Fact("phone", raw, m.start(), m.end()))
            continue
        value = _num(float(raw))
        after = t[m.end():m.end() + 3]
        alts = set()
        if after.startswith("年") and float(raw) < 100 and not after.startswith("年度"):
            alts.add(_num(float(raw) * 12))       # 1年 = 12个月
        if re.match(r"个?月", after) and float(raw) % 12 == 0 and float(raw) > 0:
            alts.add(_num(float(raw) / 12))       # 12个月 = 1年
        soft = m.start() > 0 and t[m.start() - 1] == SOFT
        out.append(Fact("number", value, m.start(), m.end(), frozenset(alts), soft=soft))
    return sorted(out, key=lambda f: f.start)


# Groups the national rules treat apart that the retrieval vocabulary does not name (who is insured
# how: the disabled and the destitute subsidised, servicemen and retired cadres under their own
# schemes, civil servants' supplementary insurance, the self-employed, residents from Hong Kong,
# Macao, Taiwan and abroad). Written from the scheme's vocabulary, not from any claims file.
OTHER_GROUPS: dict[str, str] = {
    "残疾人": r"残疾人|残疾", "特困": r"特困人员|特困供养|特困", "孕产妇": r"孕产妇|孕妇", "退役军人": r"退役军人", "现役军人": r"现役军人|现役",
    "离休": r"离休人员|离休干部|离休", "公务员": r"公务员", "个体": r"个体工商户|个体户", "港澳台": r"港澳台",
    "外籍": r"外籍人员|外国人|外籍",
}


def _group_patterns() -> dict[str, str]:
    """Population groups and schemes: the two basic schemes (POPULATIONS), the insured groups of
    the check (INSURED_GROUPS), those a follow-up may name (SLOTS["population"]) and OTHER_GROUPS,
    synonyms as one value."""
    groups = dict(POPULATIONS)
    for name, pattern in INSURED_GROUPS.items():
        groups[name] = f"{groups[name]}|{pattern}" if name in groups else pattern
    for term in SLOTS["population"].split("|"):
        if re.fullmatch(r"[\u4e00-\u9fff]+", term) and not any(re.fullmatch(p, term) for p in groups.values()):
            groups.setdefault(term, term)
    for name, pattern in OTHER_GROUPS.items():
        # a single term of SLOTS that one of these names (孕妇 of 孕产妇|孕妇) becomes its synonym
        for term in [t for t, p in groups.items() if t == p and re.fullmatch(pattern, t)]:
            del groups[term]
        if not any(re.fullmatch(p, term) for p in groups.values() for term in pattern.split("|")):
            groups.setdefault(name, pattern)
    return groups


@lru_cache(maxsize=1)
def _group_regex() -> list[tuple[str, re.Pattern]]:
    pats = _group_patterns()
    # longest alternatives first so 在职职工 is one mention, not 在职 + 职工
    return [(name, re.compile(p)) for name, p in pats.items()]


def populations(t: str) -> list[Fact]:
    spans: list[Fact] = []
    for name, pattern in _group_regex():
        for m in pattern.finditer(t):
            spans.append(Fact("population", name, m.start(), m.end()))
    # keep the longest of overlapping mentions (在职职工 over 职工)
    spans.sort(key=lambda f: (f.start, -(f.end - f.start)))
    out, last = [], -1
    for f in spans:
        if f.start >= last:
            out.append(f)
            last = f.end
        elif out and f.end - f.start > out[-1].end - out[-1].start and f.start == out[-1].start:
            out[-1] = f
    return out


def places(t: str) -> list[Fact]:
    from ..retrieval.places import find_places

    out, pos = [], 0
    for p in find_places(t):
        start = t.find(p.name, pos)
        start = t.find(p.name) if start < 0 else start
        out.append(Fact("place", p.name, start, start + len(p.name), codes=p.codes))
        pos = start + len(p.name)
    return out


_REFERENT = re.compile(r"前者|后者")
_SENTENCE_END = re.compile(r"[。！？!?\n]")


def _antecedents(t: str, lo: int, hi: int) -> tuple[str, str] | None:
    """The last two different groups (or places) named in t[lo:hi], in order."""
    found = sorted(populations(t[lo:hi]) + places(t[lo:hi]), key=lambda f: f.start)
    for kind in ("population", "place"):
        distinct: list[Fact] = []
        for f in reversed([f for f in found if f.kind == kind]):
            if all(f.value != g.value for g in distinct):
                distinct.insert(0, f)
            if len(distinct) == 2:
                a, b = distinct
                return t[lo + a.start:lo + a.end], t[lo + b.start:lo + b.end]
    return None


def resolve_referents(t: str) -> str:
    """前者 / 后者 written out as what they refer to: the first / second of the last two groups or
    places the text named in the same or the previous sentence (两类人：跨省异地长期居住人员和跨省
    临时外出就医人员。前者包括…；后者… reads 跨省异地长期居住人员包括…；跨省临时外出就医人员…), so that
    what the passage says of each stays beside its name when a sentence is compared with it (check 2).
    A 后者 after a 前者 of the same pair refers to that pair. Unresolved: left as written."""
    out, last, pair, pair_at = [], 0, None, -1
    for m in _REFERENT.finditer(t):
        ends = [e.end() for e in _SENTENCE_END.finditer(t, 0, m.start())]
        lo = ends[-2] if len(ends) >= 2 else 0
        if pair is None or pair_at < lo:
            pair, pair_at = _antecedents(t, lo, m.start()), m.start()
        if pair is None:
            continue
        out.append(t[last:m.start()] + (pair[0] if m.group(0) == "前者" else pair[1]))
        last = m.end()
    return "".join(out) + t[last:]


# What a figure counts, by the word right after it (3个工作日, 3步, 24小时, 800元). Durations of
# different lengths are different units; 天 = 日, 个月 = 月, 岁 = 周岁, % = 个百分点 (a rise written
# either way); a counter (步, 类, 家) is its own unit. Written from the language, not from a claims file.
_UNITS = (("workday", r"个?工作日"), ("hour", r"个?小时"), ("minute", r"分钟"), ("age", r"周?岁"),
          ("year", r"年(?!度|龄|限)"), ("month", r"个?月"), ("week", r"周|个?星期"), ("day", r"天|日"),
          ("money", r"元|块"), ("percent", r"%|个百分点"), ("times", r"倍"),
          ("counter", r"步|次|项|类|种|家|份|条|张|所|档|户|名"))
_UNIT_WORD = re.compile("|".join(f"(?P<{name}>{p})" for name, p in _UNITS))


def unit(t: str, f: Fact) -> str | None:
    """The unit a number is of (`_UNITS`; a counter as itself: 步, 类), None when no unit word follows."""
    m = _UNIT_WORD.match(t, f.end)
    if not m:
        return None
    return m.group(0) if m.lastgroup == "counter" else m.lastgroup


def facts(t: str) -> list[Fact]:
    """All hard facts of a canonical text, in order."""
    return sorted(numbers(t) + places(t) + populations(t), key=lambda f: f.start)


def same(a: Fact, b: Fact) -> bool:
    """Does passage fact `b` state sentence fact `a`?"""
    if a.kind == "place":
        return b.kind == "place" and (a.value == b.value or bool(a.codes & b.codes)
                                      or any(c != o and c.startswith(o) for c in b.codes for o in a.codes))
    if a.kind in ("number", "phone"):
        if b.kind not in ("number", "phone"):
            return False
        mine = {a.value} | set(a.alts)
        theirs = {b.value} | (set(b.alts) if b.kind == "phone" or a.kind == "number" else set())
        if a.kind == "phone":
            return a.value == b.value or (b.kind == "number" and a.value.endswith(b.value) and len(b.value) >= 7)
        return bool(mine & theirs) or (b.kind == "number" and bool(set(b.alts) & {a.value}))
    return a.kind == b.kind and a.value == b.value


def comparable(a: Fact, b: Fact) -> bool:
    """Could `b` stand where `a` stands (a competitor for the same slot)?"""
    if a.kind in ("number", "phone"):
        return b.kind in ("number", "phone")
    return a.kind == b.kind
