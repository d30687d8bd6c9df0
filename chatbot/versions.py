"""When the two passages an answer quotes are versions of one rule for different places, insured
groups or years that the question did not specify, the answer says so, one line per version
("按地区不同：成都：…[1]；四川：…[2]"), instead of quoting one as if it held everywhere. And a
passage about another place than the one asked (高新区 for a 衡水市 question) answers another
question: it is not quoted beside the first. A single local passage answering a question that
named no place is labelled with its place ("信阳：…[1]").
"""

from __future__ import annotations

import re

from .policy import SLOTS, Policy
from .retrieval.places import Place, find_places, title_places
from .textnorm import normalize
from .types import Passage

_YEAR = re.compile(r"(?:19|20)\d{2}")
_ZONE = re.compile(SLOTS["zone"], re.I)  # development zones and new districts (高新区) are places too


def _same_or_nested(a: Place, b: Place) -> bool:
    return bool(a.codes & b.codes) or a.within(b) or b.within(a)


def _groups(text: str, policy: Policy) -> set[str]:
    return {name for name, p in policy.patterns("populations").items() if p.search(text)}


def versions(question_norm: str, first: Passage, second: Passage, policy: Policy) -> tuple[str, str, str] | None:
    """(what differs, the first's label, the second's label), or None when they are not versions
    of one rule along something the question left open."""
    if not find_places(question_norm):
        a, b = title_places(first.title), title_places(second.title)
        if a and b and not any(_same_or_nested(x, y) for x in a for y in b):
            return "地区", a[0].name, b[0].name
    if not _groups(question_norm, policy):
        a, b = _groups(normalize(first.title), policy), _groups(normalize(second.title), policy)
        if len(a) == 1 and len(b) == 1 and a != b:
            return "参保人群", next(iter(a)), next(iter(b))
    if not _YEAR.search(question_norm):
        a, b = _YEAR.findall(first.title), _YEAR.findall(second.title)
        if a and b and a[0] != b[0]:
            return "年份", f"{a[0]}年", f"{b[0]}年"
    return None


def local_label(asked: tuple[str, ...], passage: Passage, quoted: str, within: int) -> str | None:
    """The place a passage's rule belongs to, when the question named none and the quoted text does
    not say it within its first `within` characters: "信阳" for 大额医保最多报销多少万 answered from
    信阳's article, so that one place's figure or procedure is not read as the rule everywhere.
    `asked`: the places the search found in the question (`Retrieval.places`, English names too:
    Jilin City)."""
    if asked:
        return None
    named = title_places(passage.title)
    if not named:
        return None
    name = named[0].name
    return None if name in normalize(quoted)[:within] else name


def another_place(question_norm: str, passage: Passage) -> bool:
    """Does the passage's title name a place the question did not ask about, nor one containing
    it (高新区 for 衡水市医保电话; 河北省 for a 廊坊 question is fine)?"""
    asked = find_places(question_norm)
    if not asked:
        return False
    title = normalize(passage.title)
    in_title = {m.group(0) for m in _ZONE.finditer(title)}
    asked_zones = {m.group(0) for m in _ZONE.finditer(question_norm)}
    # a zone the title names and the question does not, or the zone asked missing from the title
    # (the city's number for a 高新区 question answers another question)
    return bool(in_title ^ asked_zones) or any(not any(bool(t.codes & q.codes) or q.within(t) for q in asked)
                              for t in title_places(passage.title))
