"""Pinyin-IME slips repaired against the corpus's own words: 报消 → 报销, 一保 → 医保, 备按 → 备案.

A character pair of the question that no passage holds, where the corpus has a two-character word
that keeps one of the pair's characters in place and has a same-sounding character (toneless
pinyin, any reading) in the other place, is a typing slip of that word; the word joins the
question's keywords. Only pairs the corpus lacks are touched, so a real word is never "corrected"
into another (公积金 stays), and only the corpus's words can come out. A pair that is itself a
common word (in jieba's dictionary at `COMMON_WORD` or more: 一下, 这个, 手机) is what the user
meant, not a slip (一下 is not 以下).
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from functools import lru_cache

REPAIRS_KEPT = 65_536  # character pairs whose repairs a Homophones keeps
COMMON_WORD = 100  # jieba dictionary frequency from which a pair is a word in its own right (一下 13 924; 电化 25)


@lru_cache(maxsize=1)
def _readings() -> dict[int, str]:
    """pypinyin's character table (code point → "reading,reading"), read from its own module file
    without importing the package: `import pypinyin` also loads its ~400 000-phrase dictionary
    (about 50 MB of a process, which a million-passage index cannot spare); this table alone is ~12 MB."""
    import importlib.util
    import os

    package = importlib.util.find_spec("pypinyin")
    path = os.path.join(package.submodule_search_locations[0], "pinyin_dict.py")
    spec = importlib.util.spec_from_file_location("_chatbot_pinyin_dict", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.pinyin_dict


@lru_cache(maxsize=65536)
def sounds(char: str) -> frozenset[str]:
    """The toneless pinyin readings of one character (none for a character without one)."""
    readings = _readings().get(ord(char), "")
    return frozenset("".join(c for c in unicodedata.normalize("NFD", r) if not unicodedata.combining(c))
                     for r in readings.split(",") if r)


class Homophones:
    """The corpus's two-character words by (kept character, position, sound of the other)."""

    def __init__(self, vocabulary):
        index: dict[tuple[str, int, str], list[str]] = defaultdict(list)
        for term in vocabulary():
            if len(term) != 2 or not all("\u4e00" <= c <= "\u9fff" for c in term):
                continue
            for s in sounds(term[1]):
                index[(term[0], 0, s)].append(term)
            for s in sounds(term[0]):
                index[(term[1], 1, s)].append(term)
        self._index = dict(index)
        self._repairs: dict[str, tuple[str, ...]] = {}  # by pair: character pairs recur across questions

    def repairs(self, pair: str) -> list[str]:
        """Corpus words that sound like `pair` and keep one of its characters in place."""
        found = self._repairs.get(pair)
        if found is None:
            found = tuple(self._find(pair))
            if len(self._repairs) >= REPAIRS_KEPT:
                self._repairs.clear()
            self._repairs[pair] = found
        return list(found)

    def _find(self, pair: str) -> list[str]:
        if len(pair) != 2 or _frequency(pair) >= COMMON_WORD:
            return []
        out: list[str] = []
        index = self._index
        for kept, other in ((0, 1), (1, 0)):
            heard = sounds(pair[other])
            for s in heard:
                for word in index.get((pair[kept], kept, s), ()):
                    if word != pair and word not in out and sounds(word[other]) & heard:
                        out.append(word)
        return out


def _frequency(word: str) -> int:
    """How common a word is in jieba's dictionary (0 when it is not a word there)."""
    import jieba  # already loaded by the tokenizer (textnorm)

    jieba.dt.check_initialized()
    return int(jieba.dt.FREQ.get(word, 0) or 0)
