"""Chinese place names (provinces, cities, counties) found in a text, with their hierarchy.

The gazetteer is the administrative-division table shipped in the `cpca` package (read as data,
its module is not imported). It lets retrieval check that a passage is about the place the user
named: a question about 廊坊三河 must not be answered with Langfang city's phone number.
"""

from __future__ import annotations

import csv
import importlib.util
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import ahocorasick

from ..textnorm import normalize
from .crosslingual import PROPER, english_name, gloss_words, table

_PROVINCE_SUFFIX = re.compile(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$")
_CITY_SUFFIX = re.compile(r"(市|地区|盟)$")
_COUNTY_SUFFIX = re.compile(r"(市|县|区|旗)$")
# Short forms that are ordinary words far more often than places.
_NOT_PLACES = {"城区", "新区", "郊区", "矿区", "市辖区", "开发区", "高新区", "省直辖县级行政区划", "自治区直辖县级行政区划"}

# A county's short form (川汇 for 川汇区) counts only when jieba does not know it, or knows it as a
# name; 资源 (资源县) or 公安 (公安县) are ordinary nouns far more often than places.
_NAME_TAGS = {None, "ns", "nz", "nr", "nrt", "nt"}


@dataclass(frozen=True)
class Place:
    name: str          # the form found in the text
    codes: frozenset   # adcode prefixes (2, 4 or 6 digits) this name may denote
    spelled: str | None = field(default=None, compare=False)  # the English words it was found as (Harbin)

    def __post_init__(self):
        # the hash the dataclass would compute on every call, computed once: places are hashed in
        # the key of every place check's cache, question after question
        object.__setattr__(self, "_hash", hash((self.name, self.codes)))

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self):
        # rebuilt through the constructor: a string's hash holds only in the process that made it
        return (Place, (self.name, self.codes, self.spelled))

    def within(self, other: "Place") -> bool:
        """True when this place lies inside `other` (strictly)."""
        return any(c != o and c.startswith(o) for c in self.codes for o in other.codes)


def _adcodes_path() -> Path:
    spec = importlib.util.find_spec("cpca")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the cpca package (place gazetteer) is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "resources" / "adcodes.csv"


# cpca's table names Taiwan, Hong Kong and Macau as provinces (71, 81, 82) without their divisions:
# Taiwan's 22 counties and cities (ISO 3166-2:TW) and Hong Kong's three regions, under codes of
# their own, so that "臺北的健保卡" names a place the documents may not cover.
BEYOND_CPCA = tuple((name, f"71{k:02d}") for k, name in enumerate(
    "台北市 新北市 桃园市 台中市 台南市 高雄市 基隆市 新竹市 嘉义市 新竹县 苗栗县 彰化县 南投县 云林县 嘉义县 屏东县 "
    "宜兰县 花莲县 台东县 澎湖县 金门县 连江县".split(), 1)) + tuple(
    (name, f"81{k:02d}") for k, name in enumerate("香港岛 九龙 新界".split(), 1))


def _prefix(code: str) -> str:
    if code[2:].strip("0") == "":
        return code[:2]
    if code[4:].strip("0") == "":
        return code[:4]
    return code[:6]


def _jieba_tags(words) -> dict:
    from ..wordtags import word_tags  # jieba.posseg's tags, cached: importing it costs ~0.5 s (issue 21)

    return word_tags(words)


@lru_cache(maxsize=1)
def _automaton():
    with open(_adcodes_path(), encoding="utf-8") as fh:
        rows = [(row["name"].strip(), row["adcode"].strip()) for row in csv.DictReader(fh)]
    tags = _jieba_tags(_COUNTY_SUFFIX.sub("", full) for full, code in rows if len(_prefix(code)) == 6)
    suffixes = {2: _PROVINCE_SUFFIX, 4: _CITY_SUFFIX, 6: _COUNTY_SUFFIX}
    # A province's or city's name is that place, not a county's short form elsewhere: 河北 is the
    # province, not 天津's 河北区 (which then covered 天津 for every passage about 河北).
    wider = {f for full, code in rows if len(_prefix(code)) < 6
             for f in (full, suffixes[len(_prefix(code))].sub("", full))}
    names: dict[str, set] = {}
    for full, code in rows:
        prefix = _prefix(code)
        forms = {full}
        short = suffixes[len(prefix)].sub("", full)
        # Province and city short forms (保定, 周口) are unambiguous enough.
        common = len(prefix) == 6 and (tags.get(short) not in _NAME_TAGS or short in wider)
        if len(short) >= 2 and short not in _NOT_PLACES and not common:
            forms.add(short)
        for form in forms:
            if len(form) >= 2 and form not in _NOT_PLACES:
                names.setdefault(form, set()).add(prefix)
    for full, code in BEYOND_CPCA:
        for form in {full, _COUNTY_SUFFIX.sub("", full)}:
            names.setdefault(form, set()).add(code)
    auto = ahocorasick.Automaton()
    for form, codes in names.items():
        auto.add_word(form, (form, frozenset(codes)))
    auto.make_automaton()
    return auto


@lru_cache(maxsize=1)
def _pinyin_names() -> dict[str, tuple[str, frozenset]]:
    """Romanised place names (hengshui → 衡水) for questions asked in English."""
    from pypinyin import lazy_pinyin

    out: dict[str, tuple[str, set]] = {}
    for _, (form, codes) in _automaton().items():
        if form[-1] in "省市区县旗盟州" and len(form) > 2:
            continue  # the short form carries the name; "hengshuishi" is nobody's spelling
        key = "".join(lazy_pinyin(form)).lower()
        if len(key) >= 4 and key.isascii() and key.isalpha():  # xian (Xi'an) has four letters
            name, known = out.get(key, (form, set()))
            out[key] = (name, known | set(codes))
    return {k: (name, frozenset(codes)) for k, (name, codes) in out.items()}


# Capitalised words that do not start a sentence: how English writes a place name. Requiring
# it keeps ordinary words that happen to be pinyin ("guide" = 贵德) from counting as places.
_POSSESSIVE = re.compile(r"'s$")
_PROPER_NOUN = re.compile(r"(?<![.!?]\s)(?<!^)\b([A-Z][a-z]+(?:'[a-z]+)?(?: [A-Z][a-z]+)*)\b")


def _english_name(name: str) -> "Place | None":
    """A place by its English name in CC-CEDICT (Harbin → 哈尔滨市, Inner Mongolia → 内蒙古自治区), when
    that is not its pinyin; the dictionary's table is the English path's own (crosslingual.py)."""
    auto = _automaton()
    found = [auto.get(head, None) for head in table().get(PROPER + english_name(name)) or ()]
    found = [f for f in found if f]  # the widest division of that name (乌鲁木齐市 before 乌鲁木齐县)
    return Place(*min(found, key=lambda f: (min(len(c) for c in f[1]), f[0])), spelled=name) if found else None


def find_places(text: str, original: str | None = None) -> list[Place]:
    """Places named in a (normalised, Simplified) text: longest non-overlapping matches, in order.
    With the original (un-lower-cased) question, romanised names in English (Hengshui) count too."""
    if not text:
        return []
    if not (original and (_LATIN_NAME.search(original) or _LATIN_ONLY.fullmatch(original))):
        original = None  # nothing romanised to read: the text alone decides
    return list(_places_in(text, original))


# An English question with no capitalised name in it ("what about shijiazhuang?", "What about langfang?"):
# its names are looked for among its lower-case words.
_LATIN_ONLY = re.compile(r"(?=.*[A-Za-z]{3})[^\u4e00-\u9fff]*", re.S)
_LOWER_WORDS = re.compile(r"[a-z]+(?:'[a-z]+)?")


def _lower_case_runs(original: str) -> list[str]:
    """In an English question without a capitalised name, the words that are a place's romanised name and not an
    English word: "inner mongolia", "hong kong" as pairs first, then single words (shijiazhuang,
    harbin, xi'an); an English word that spells a place too (guide, mile, yuan: 贵德, 弥勒, 裕安) is
    English here, as CC-CEDICT's glosses write it in lower case, and only provinces and cities count:
    a county's romanised name is too often a borrowed word (hukou, 户口, is also 湖口 county)."""
    words = [_POSSESSIVE.sub("", w) for w in _LOWER_WORDS.findall(original)]
    heads, names, english = table(), _pinyin_names(), gloss_words()
    out, i = [], 0
    while i < len(words):
        pair = " ".join(words[i:i + 2])
        if i + 1 < len(words) and (PROPER + english_name(pair)) in heads and not (
                words[i] in english and words[i + 1] in english):  # "old city" is English, not 古城区
            out.append(pair.title())
            i += 2
            continue
        w = words[i]
        hit = names.get(w.replace("'", ""))
        if w not in english and ((hit and min(map(len, hit[1])) <= 4) or (PROPER + w) in heads):
            out.append(w.title())  # a province or a city: a county's name (hukou: 湖口) is too often a word
        i += 1
    return out


_LATIN_NAME = re.compile(r"[A-Z][a-z]{2}|[A-Z][a-z]'[a-z]")


@lru_cache(maxsize=8192)
def _places_in(text: str, original: str | None) -> tuple[Place, ...]:
    """`find_places`, kept: the search and the answer's checks read the same question's places."""
    latin = []
    if original:
        names = _pinyin_names()
        original = original.strip().replace("\u2019", "'")
        runs = _PROPER_NOUN.findall(original)
        if not runs and _LATIN_ONLY.fullmatch(original):
            runs = _lower_case_runs(original.lower())
        for run in runs:
            run = _POSSESSIVE.sub("", run)  # Shijiazhuang's → Shijiazhuang
            for words in ([run, *run.split()] if " " in run else [run]):  # Inner Mongolia, Hong Kong; else word by word
                hit = names.get(english_name(words).replace(" ", "").replace("'", ""))
                place = Place(hit[0], hit[1], spelled=words) if hit else _english_name(words)
                if place:
                    latin.append(place)
                    if words == run:
                        break
    return tuple(_unique(_find_chinese(text) + latin))


def _unique(places: list[Place]) -> list[Place]:
    seen, unique = set(), []
    for p in places:
        if p.name not in seen:
            seen.add(p.name)
            unique.append(p)
    return unique


@lru_cache(maxsize=8192)
def _word_bounds(text: str) -> frozenset[int]:
    """Offsets where jieba (accurate mode) puts a word boundary."""
    from ..textnorm import _jieba_lock
    import jieba

    with _jieba_lock:
        words = jieba.lcut(text)
    bounds, pos = {0}, 0
    for w in words:
        pos += len(w)
        bounds.add(pos)
    return frozenset(bounds)


_DIVISION_SUFFIX = frozenset("省市县区")


def _find_chinese(text: str) -> list[Place]:
    """Longest non-overlapping gazetteer matches; a match that starts and ends inside words
    (保定 in 医保|定点) is two halves of other words, not a place, nor is one that a division's
    suffix follows inside a word the gazetteer does not hold (大城 in 大城市: the longest match
    would have been the whole word had it named a place)."""
    matches = sorted(
        ((end - len(form) + 1, end, form, codes) for end, (form, codes) in _automaton().iter(text)),
        key=lambda m: (m[0], -(m[1] - m[0])),
    )
    out: list[Place] = []
    last_end = -1
    bounds = None
    for start, end, form, codes in matches:
        if start > last_end:
            bounds = bounds if bounds is not None else _word_bounds(text)
            if start not in bounds and end + 1 not in bounds:
                continue
            if end + 1 not in bounds and text[end + 1:end + 2] in _DIVISION_SUFFIX:
                continue  # 大城 in 大城市 (a big city): a division's suffix inside a word that names none
            out.append(Place(form, codes))
            last_end = end
    return out


def leaf_places(places: list[Place]) -> list[Place]:
    """The most specific places: those with no other named place inside them."""
    return [p for p in places if not any(q is not p and q.within(p) for q in places)]


def covers(passage_places: list[Place], wanted: Place, broader: bool = False) -> bool:
    """A passage covers a place when it names it, or names somewhere inside it; with `broader`,
    also when it names a region the place lies in (河北省's rules hold in 唐山)."""
    return any(p.name == wanted.name or p.codes & wanted.codes or p.within(wanted)
               or (broader and _widest(wanted).within(p)) for p in passage_places)


def _widest(place: Place) -> Place:
    """A name's widest reading (西安: the city, not 吉林's 西安区): the one a province's rules are
    taken to cover."""
    shortest = min(len(c) for c in place.codes)
    return Place(place.name, frozenset(c for c in place.codes if len(c) == shortest), place.spelled)


def missing_places(query_places: list[Place], passage_places: list[Place], broader: bool = False) -> list[Place]:
    """Places the user named that the passage does not cover (empty = the passage fits).

    One most-specific place (廊坊 → 三河) must be covered itself. Several unrelated places
    (moving from 保定 to 石家庄 within 河北) are satisfied by any of the places the user named.
    `broader`: a passage about the province covers its cities (for rules, not for a local office
    or its phone number).
    """
    if not query_places:
        return []
    return list(_missing(tuple(query_places), tuple(passage_places), broader))


@lru_cache(maxsize=65536)
def _missing(query_places: tuple[Place, ...], passage_places: tuple[Place, ...], broader: bool) -> tuple[Place, ...]:
    """`missing_places`, kept: the same titles and passages are checked against the same places
    question after question."""
    return tuple(_missing_places(list(query_places), list(passage_places), broader))


def _missing_places(query_places: list[Place], passage_places: list[Place], broader: bool) -> list[Place]:
    leaves = leaf_places(query_places)
    if not leaves:
        return []
    if len(leaves) == 1:
        return [] if covers(passage_places, leaves[0], broader) else leaves
    if any(covers(passage_places, p, broader) for p in query_places):
        return []
    return leaves


_PLACE_SETS: dict[tuple[Place, ...], tuple[Place, ...]] = {}  # equal place sets of titles are one tuple


@lru_cache(maxsize=8192)
def title_places(title: str) -> tuple[Place, ...]:
    """The places a passage's title names, computed once per title (titles recur across questions
    and answers); equal sets are one tuple, so a check can be kept per set by identity."""
    found = tuple(find_places(normalize(title)))
    return _PLACE_SETS.setdefault(found, found)
