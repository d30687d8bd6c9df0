"""Refusal checks: compare what the question asks with what the best passage states.

A score threshold alone cannot tell "another district's phone number" from the right one, so
each check looks for one specific gap and names it: a place no passage covers, another insurance
scheme, another population, a kind of figure the passage lacks, a year it does not give, or a
subject that is not medical insurance at all. Lexicons and switches come from the Policy.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ..ingest.chunking import split_sentences
from ..policy import FIGURE_NAMES, Policy
from ..textnorm import normalize
from ..types import Hit, Retrieval
from . import facts
from .places import find_places, missing_places

_YEAR = re.compile(r"(20\d{2})\s*年")


@dataclass(frozen=True)
class Gap:
    """Why the best passage does not answer: `reason` (place | scope | population | no_fact |
    off_topic | medical) and `missing`, what to name in the refusal (a place, a scheme, a figure)."""

    reason: str
    missing: str
    check: str   # which check fired (the policy switch name without "check_")


@lru_cache(maxsize=8192)
def _places(text_norm: str):
    return tuple(find_places(text_norm))


@lru_cache(maxsize=4096)
def _sentences(text: str) -> tuple[str, ...]:
    return tuple(normalize(s) for s in split_sentences(text))


def scheme_missing(question: str, passage: str, policy: Policy, read_as: str | None = None) -> str | None:
    """Another scheme the question names by words the passage never uses, or names as its whole
    subject (no medical-insurance word beside it: 养老金怎么领 is not answered by a passage on
    individual accounts that mentions pensions in passing). `read_as`: the whole reading of a message
    read in context, whose medical-insurance words count too (领失业金 after a 生育津贴 question)."""
    whole_subject = not policy.pattern("domain").search(read_as or question)
    missing = facts.other_schemes(question, "" if whole_subject else passage, policy.scheme_patterns())
    return missing[0] if missing else None


def population_missing(question: str, passage: str, policy: Policy) -> str | None:
    """The question names one population (城乡居民 / 职工); the passage names only the other."""
    pats = policy.patterns("populations")
    asked = [n for n, p in pats.items() if p.search(question)]
    if len(asked) != 1:
        return None
    stated = [n for n, p in pats.items() if p.search(passage)]
    return asked[0] if stated and asked[0] not in stated else None


def off_topic(question: str, policy: Policy) -> str | None:
    """An everyday subject (trains, weather, restaurants …) and no medical-insurance word."""
    always = policy.pattern("off_topic_always").search(question)
    if always:
        return always.group(0)
    m = policy.pattern("off_topic").search(question)
    return m.group(0) if m and not policy.pattern("domain").search(question) else None


def medical_advice(question: str, policy: Policy) -> str | None:
    """A doctor's question (which department, which medicine, is it serious) and no insurance word."""
    m = policy.pattern("medical_advice").search(question)
    return m.group(0) if m and not policy.pattern("insurance").search(question) else None


def figures_asked(question: str, policy: Policy) -> list[str]:
    """Kinds of figure the question asks for; none when it asks where or how to look one up, or
    asks yes or no how it compares (一样吗, 会更低吗) without asking how much."""
    key = (question, policy.lookup_asked, policy.comparison_asked, policy.comparison_amount,
           tuple(policy.figure_asked.items()))
    found = _FIGURES_ASKED.get(key)
    if found is None:  # an answer's checks ask this of the same question several times
        if policy.pattern("lookup_asked").search(question) or (
                policy.pattern("comparison_asked").search(question)
                and not policy.pattern("comparison_amount").search(question)):
            found = ()
        else:
            found = tuple(k for k, p in policy.patterns("figure_asked").items() if p.search(question))
        if len(_FIGURES_ASKED) >= 4096:
            _FIGURES_ASKED.clear()
        _FIGURES_ASKED[key] = found
    return list(found)


_FIGURES_ASKED: dict[tuple, tuple[str, ...]] = {}  # by (question, the policy's lexicon): `figures_asked`


def figure_missing(question: str, passage: str, policy: Policy) -> str | None:
    """A money or rate question against a passage that states no such figure."""
    asked = figures_asked(question, policy)
    if not asked:
        return None
    needed = facts.required(question)
    if needed and all(facts.states_kept(k, passage) for k in needed):
        return None  # it also asks for a number to call (or an address) the passage gives: answered in part
    for kind in asked:
        if not _states_figure(policy.figure_stated[kind], passage):
            return kind
    return None


@lru_cache(maxsize=16384)
def _states_figure(pattern: str, passage: str) -> bool:
    """Does the passage state a figure of this kind (a `figure_stated` pattern)? Kept: the same
    passages are checked question after question."""
    return re.compile(pattern).search(passage) is not None


def year_missing(question: str, passage: str, policy: Policy, years_in: str | None = None) -> str | None:
    """A figure asked for year Y (named in `years_in`, the question by default); the passage gives
    figures for other years only."""
    years = set(_YEAR.findall(question if years_in is None else years_in))
    if not years or not figures_asked(question, policy):
        return None
    stated = set(_YEAR.findall(passage))
    return sorted(years)[0] if stated and not years & stated else None


def validity_missing(question: str, passages: list[str], policy: Policy) -> bool:
    """A validity period asked (备案的有效期是多久) and no retrieved passage states one."""
    if not policy.pattern("validity_asked").search(question):
        return False
    stated = policy.pattern("validity_stated")
    return not any(stated.search(p) for p in passages)


_CLAUSE = re.compile(r"[，,。？?；;！!\s]")
_LEAD = re.compile(r"^(那么|那|请问|想问一下|想问问|想问|问一下|问下|我想知道)")


@lru_cache(maxsize=4096)
def _pair_sounds(text: str) -> frozenset[str]:
    from pypinyin import lazy_pinyin

    han = re.findall(r"[\u4e00-\u9fff]{2,}", text)
    out = set()
    for run in han:
        py = lazy_pinyin(run)
        out.update(py[i] + py[i + 1] for i in range(len(py) - 1))
    return frozenset(out)


_SKIP = ("还", "也", "都", "了", "的", "在", "去", "做", "是", "要", "能", "个", "这", "那")
# words of the insurance itself and of paying (not the thing paid for) at the end of the phrase
_PAYING = ("医保", "社保", "医保卡", "社保卡", "保险", "的", "钱", "费用", "费", "的钱", "的费用")


def _tagged(phrase: str) -> tuple[list[str], dict]:
    from ..textnorm import _jieba_lock
    import jieba
    from ..wordtags import word_tags

    with _jieba_lock:
        words = [w for w in jieba.lcut(phrase) if re.search(r"[\u4e00-\u9fff]", w)]
    return _demonstratives_joined(words, word_tags(words))


def _demonstratives_joined(words: list[str], tags: dict) -> tuple[list[str], dict]:
    """jieba reads 这段时间 as 这|段时间 and tags 段时间 a person's name (nr): after 这 / 那 such a
    word is one demonstrative phrase (a span of time), tagged as the pronoun is (r), which names
    no thing asked to be paid for."""
    out: list[str] = []
    for w in words:
        if out and out[-1] in ("这", "那") and tags.get(w) == "nr":
            out[-1] += w
            tags[out[-1]] = "r"
        else:
            out.append(w)
    return out, tags


def _phrase_before(question: str, policy: Policy) -> str | None:
    """The clause before 能报吗 / 能报多少 / 医保报不报, without its lead and places; None when the
    question is not whether something is paid for."""
    m = policy.pattern("item_paid").search(question)
    if not m:
        return None
    before = question[:m.start()]
    phrase = _LEAD.sub("", _CLAUSE.split(before)[-1]) if before else ""
    for place in _places(phrase):
        phrase = phrase.replace(place.name, " ")
    return phrase if re.search(r"[\u4e00-\u9fff]", phrase) else None


def _asked(question: str, policy: Policy) -> tuple[list[str], dict, bool] | None:
    """(words, their tags, after the verb) of what a question asks to be paid for or bought: the
    clause before 能报吗 / 能报多少 / 医保报不报, or else the words after 能买 / 能报销; None when neither."""
    phrase = _phrase_before(question, policy)
    if phrase is not None:
        return (*_tagged(phrase), False)
    m = policy.pattern("item_bought").search(question)
    if m is None or question.startswith(policy.persons, m.start("item") - 1):
        return None  # 刷配偶名下的卡: the verb's character begins a person (配偶), who is not bought
    return (*_tagged(m.group("item")), True)


def _last_item(words: list[str], tags: dict) -> str | None:
    for i in range(len(words) - 1, -1, -1):
        w = words[i]
        if w in _SKIP:
            continue
        tag = tags.get(w)
        if len(w) == 1 and i > 0 and (tags.get(words[i - 1]) or "n")[0] in "nvab":
            return words[i - 1] + w  # a word jieba split (陪护|工), not one after a measure (一颗|牙)
        return w if tag is None or tag.startswith("n") else None  # a thing (noun), not an action or a quantity
    return None


def _things(words: list[str], tags: dict, after: bool, persons=()) -> list[str]:
    """The words naming the thing; a person named beside it (老爷子住院押金) is who pays or is
    treated, not the thing, and ends the run."""
    if after:
        return [w for w in words if w not in _PAYING and w not in persons]
    run: list[str] = []
    for w in reversed(words):
        if (w in _PAYING or w in _SKIP) and not run:  # 猫咪生病了医保能报吗: from 生病
            continue
        if w in _SKIP or w in persons or (tags.get(w) or "n")[0] not in "nv":
            break
        run.append(w)
    return run[::-1]


def item_asked(question: str, policy: Policy) -> str | None:
    """The item a "is X paid for" question asks about: the last content word before 能报吗 /
    能报多少 / 医保报不报 in its clause (种一颗牙 → 牙, 住院请护工的钱 → 护工); None when there is
    no such question or the word is a pronoun, number or adverb (这钱还能报吗)."""
    got = _asked(question, policy)
    return _last_item(got[0], got[1]) if got and not got[2] else None


def things_asked(question: str, policy: Policy) -> tuple[list[str], bool]:
    """The words naming what a question asks to be paid for or bought: the run of nouns and verbs
    ending the clause before 能报吗 (近视眼激光手术医保能报吗 → 激光 手术), or the words after 能买 /
    能报销 (医保卡能买保健品吗 → 保健品). The flag: every word there names the thing (after the verb),
    not only the nouns (近视 is tagged a verb)."""
    got = _asked(question, policy)
    return (_things(*got, policy.persons), got[2]) if got else ([], False)


def _spoken_of(word: str, passages: list[str]) -> bool:
    """Is the word in a passage, by its characters or by the sound of a character pair (手书 typed
    for 手术)?"""
    if any(word in p for p in passages):
        return True
    if len(word) >= 2:
        from pypinyin import lazy_pinyin

        py = lazy_pinyin(word)
        pairs = {py[i] + py[i + 1] for i in range(len(py) - 1)}
        if len(word) == 2:
            return any(pairs & _pair_sounds(p) for p in passages)
        return any(pairs <= _pair_sounds(p) for p in passages)  # 试管婴儿 is not spoken of by 婴儿 alone
    return False


def item_missing(question: str, passages: list[str], policy: Policy, known=None) -> str | None:
    """What a question asks to be paid for or bought that no retrieved passage speaks of, by its
    characters or by sound (`_spoken_of`); `known(word)`: True when the documents use the word at
    all (the keyword index), so a word they use is a subject of theirs. The item (the last noun,
    种牙 → 牙) is checked; and so is each noun of two characters or more in what is asked (激光 in
    近视眼激光手术, 保健品 after 能买): the documents speaking of 手术 do not speak of laser eye surgery.
    The question is cut once for both."""
    got = _asked(question, policy)
    if got is None:
        return None
    words, tags, after = got
    item = None if after else _last_item(words, tags)
    if item is not None and not (known is not None and known(item)) and not _spoken_of(item, passages):
        return item
    if not policy.check_things:
        return None
    things = _things(words, tags, after, policy.persons)
    for w in things:
        if len(w) >= 2 and (after or (tags.get(w) or "n")[0] == "n") and not (known is not None and known(w)) \
                and not _spoken_of(w, passages):
            return "".join(things)
    return None


# 那苹果手表呢, and 小米手环也行吗 / 也可以吗 (session 26): a follow-up naming only a thing, asking the same again
_ELLIPTICAL = re.compile(r"^(?:那么|那|还有)?\s*(?P<x>[^，。？?！!,]{2,10}?)(?:的话)?(?:的)?"
                         r"(?:呢|也(?:行|可以|能用|能买)(?:吗|不)?)[？?。!！]*$")


def elliptical_missing(message: str, passage: str, policy: Policy) -> str | None:
    """An elliptical follow-up (那苹果手表呢 after a 华为手表 question) asks about what it names and nothing
    else: when the answering passage does not speak of each of its nouns (by characters or by sound; a
    longer word by one of its character pairs), the answer would be about the earlier subject (华为手表 for
    苹果手表); the name is returned. A person (孩子) is who asks, not what."""
    m = _ELLIPTICAL.match(message)
    if m is None:
        return None
    words, tags = _tagged(m.group("x"))
    things = [w for w in words if w not in policy.persons]
    if any((tags.get(w) or "n")[0] != "n" for w in things):
        return None  # not a bare thing (去外地住院呢 asks about going elsewhere, a setting)
    nouns = [w for w in things if len(w) >= 2 and w not in _PAYING]  # every one is a noun (above)
    def spoken(w: str) -> bool:  # a longer word by any of its pairs (学生娃: the passage's 学生儿童)
        return _spoken_of(w, [passage]) or (len(w) > 2 and any(w[i:i + 2] in passage for i in range(len(w) - 1)))
    if nouns and not all(spoken(w) for w in nouns):
        return m.group("x")
    return None


def _local(question: str, retrieval: Retrieval, top: Hit, policy: Policy) -> bool:
    """Is the question about the place itself: the best passage is local (its title names a
    place), or a local fact or service point is asked for (phone, figure, office)?"""
    return bool(_places(normalize(top.passage.title)) or policy.pattern("local_service").search(question)
                or figures_asked(question, policy) or facts.required(question))


def _separate_system(question: str, original: str, policy: Policy) -> bool:
    """Does the question name a place with a medical insurance of its own (Hong Kong, Macau,
    Taiwan: `policy.separate_systems`), where the mainland's national rules do not hold?"""
    return any(c[:2] in policy.separate_systems for p in find_places(question, original=original) for c in p.codes)


def fact_place_missing(question: str, original: str, top: Hit, policy: Policy) -> str | None:
    """A phone number or figure asked for a place: the title does not cover the place, and no
    sentence stating such a figure names it (深圳 listed as an example is not 深圳's figure)."""
    qplaces = find_places(question, original=original)
    if not qplaces:
        return None
    stated = policy.patterns("figure_stated")
    kinds = [stated[k] for k in figures_asked(question, policy)] + [k.stated for k in facts.required(question)]
    if not kinds:
        return None
    titled = list(_places(normalize(top.passage.title)))
    if not missing_places(qplaces, titled):
        return None
    for sentence in _sentences(top.passage.text):
        if any(k.search(sentence) for k in kinds) and not missing_places(qplaces, list(_places(sentence))):
            return None
    return "、".join(p.name for p in missing_places(qplaces, titled))


def own_text(retrieval: Retrieval, policy: Policy) -> str:
    """The text whose group and year constraints refuse: a message read in context names its own
    (`policy.inherited_checks` False), a stand-alone question all of its text."""
    if policy.inherited_checks or not retrieval.alone_normalized:
        return retrieval.normalized
    return retrieval.alone_normalized


# A space between Chinese characters (or a figure and a character): between words typed like a search box
# (深圳 少儿医保 一年 要交 多少 钱) it separates nothing and goes, so the checks read the question as
# 深圳少儿医保一年要交多少钱; between two clauses (我在外地打工 老家的医保卡能刷吗: both sides at least
# CLAUSE_CHARS long) it is the comma left out, for search too (`clause_commas`, in QA.prepare); search reads
# a search box's words as typed.
_SPACED = re.compile(r"(\S+)(\s+)(?=(\S+))")
_HAN_OR_DIGIT = re.compile(r"[\u4e00-\u9fff0-9]")
_HAN = re.compile(r"[\u4e00-\u9fff]")
CLAUSE_CHARS = 5


def _read_spaces(text: str, join: bool) -> str:
    """The text with its spaces read as `_SPACED` says: one between two clauses written as their
    comma; with `join`, every other space between Chinese characters (or a figure and a character)
    dropped, else kept. A comma needs Chinese at the space unless `join` (the checks' reading)."""
    if not text or " " not in text:
        return text

    def read(m: re.Match) -> str:
        left, right = m.group(1), m.group(3)
        a, b = left[-1], right[0]
        if not (_HAN_OR_DIGIT.match(a) and _HAN_OR_DIGIT.match(b)) or (a.isdigit() and b.isdigit()):
            return m.group(0)
        if len(left) >= CLAUSE_CHARS and len(right) >= CLAUSE_CHARS and (join or (_HAN.match(a) and _HAN.match(b))):
            return left + "，"
        return left if join else m.group(0)

    return _SPACED.sub(read, text)


def unspaced(text: str) -> str:
    """The text as the checks read it: see `_SPACED`."""
    return _read_spaces(text, join=True)


def clause_commas(text: str) -> str:
    """The text with each space between two clauses (both at least CLAUSE_CHARS long, Chinese on
    either side of it) written as the comma it stands for, every other space kept: a question
    typed without punctuation (俺在外地打工 过年才回安徽 医保还能交不) is searched and answered as
    written with it. Short chunks (深圳 少儿 医保) are a search box's words and stay apart."""
    return _read_spaces(text, join=False)


def find_gap(retrieval: Retrieval, top: Hit, policy: Policy, keyword=None) -> Gap | None:
    """The first check that fires for the best passage, in a fixed order: another scheme first (惠民保
    names no place, though 惠民 is a county), then place, subject, population, figure, year.
    The user's own words are read without spaces between Chinese characters (`unspaced`); a
    reading the conversation joined keeps the space between its parts."""
    q, passage = retrieval.normalized, top.passage.embed_text_normalized
    if not retrieval.alone_normalized:
        q = unspaced(q)
    own = unspaced(own_text(retrieval, policy))
    if policy.check_scheme:
        missing = scheme_missing(own, passage, policy, read_as=q)
        if missing:
            return Gap("scope", missing, "scheme")
    if policy.check_place and retrieval.place_mismatch and (
            _local(q, retrieval, top, policy) or _separate_system(q, retrieval.query, policy)):
        return Gap("place", "、".join(dict.fromkeys(top.missing)), "place")
    if policy.check_fact_place:
        missing = fact_place_missing(q, retrieval.query, top, policy)
        if missing:
            return Gap("place", missing, "fact_place")
    if policy.place_weak_ratio and retrieval.places and not top.missing:
        elsewhere = max([h.score for h in retrieval.hits if h.missing] + [retrieval.elsewhere])
        if elsewhere and top.score < policy.place_weak_ratio * elsewhere:
            return Gap("place", "、".join(retrieval.places), "place_weak")
    if policy.check_request:
        m = policy.pattern("task_request").search(own)
        if m:
            return Gap("off_topic", m.group(0), "request")
    if policy.check_off_topic:
        missing = off_topic(q, policy)
        if missing:
            return Gap("off_topic", missing, "off_topic")
    if policy.check_medical:
        # the message's own words too: an insurance word the conversation carried (医保局 from an
        # earlier question) does not make "他最近老是腰疼，该挂哪个科" an insurance question
        missing = medical_advice(q, policy) or (
            medical_advice(unspaced(retrieval.alone_normalized), policy) if retrieval.alone_normalized else None)
        if missing:
            return Gap("medical", missing, "medical")
    # A scheme, group or year the conversation carried (not named by the message read in context)
    # ranks passages but does not refuse: "北京呢，2024年起付线多少" after a 职工 question asks about
    # 北京, and "衡水市医保电话是多少" after a pension question asks for 衡水's number.
    if policy.check_population:
        missing = population_missing(own, passage, policy)
        if missing:
            return Gap("population", missing, "population")
    if policy.check_figure:
        missing = figure_missing(q, passage, policy)
        if missing:
            return Gap("no_fact", FIGURE_NAMES.get(missing, missing), "figure")
    if policy.check_year:
        missing = year_missing(q, passage, policy, years_in=own)
        if missing:
            return Gap("no_fact", f"{missing}年的数字", "year")
    retrieved = [h.passage.embed_text_normalized for h in retrieval.hits]
    if policy.check_validity and validity_missing(q, retrieved, policy):
        return Gap("no_fact", "有效期", "validity")
    if policy.check_elliptical and retrieval.alone_normalized:
        missing = elliptical_missing(retrieval.alone_normalized, passage, policy)
        if missing:
            return Gap("no_fact", f"「{missing}」", "elliptical")
    if policy.check_item:
        known = (lambda w: len(w) > 1 and keyword.idf(w) > 0) if keyword is not None else None
        missing = item_missing(q, retrieved, policy, known)
        if missing:
            return Gap("no_fact", f"「{missing}」", "item")
    return None
