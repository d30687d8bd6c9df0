"""What an extractive answer may quote: a passage cut into clean units, and which may open it.

Web pages in the corpus run headings, list items and an "answer box" figure into one sentence
("25年 根据内蒙古…", "一、办理流程 准备材料 :通常需要…", "0318-2168618 对于居住在…"). A unit is a
sentence further cut where such a run changes item: before a list marker, and at a space between
two Chinese (or digit) runs that is not a label's colon. An answer opens with a unit that states
something (not a heading, a lead-in ending in ':' or a bare figure), so that the fact asked for
comes first and every quoted unit is cut cleanly. A list item too short to open ("本人有效身份证件;")
is kept with the lead-in that introduces it, so that it can be quoted at all.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .ingest.chunking import split_sentences

# Where a scraped page joined two items at a space: after a short first piece (an "answer box"
# figure or a heading: "25年 根据…", "一、办理流程 准备材料…"), after a completed figure or quote
# before a new Chinese sentence ("0318-2168618 对于居住在…"), and after a lead-in's colon. A space
# inside a sentence ("缴纳…满 25年 ,且…", bold text on the page) is not a join.
_SPACE = re.compile(r"\s+")
_ENDS_ITEM = re.compile(r"[0-9%％）)”」』]$")
_STARTS_CJK = re.compile(r"^[\u4e00-\u9fff]")
_FIRST_MAX = 14
_MARKER = re.compile(r"(?=(?<![0-9])(?:[一二三四五六七八九十]{1,3}、|[0-9]{1,2}\.(?![0-9])|•|[（(][0-9一二三四五六七八九十]{1,2}[)）]))")
_MARKER_AT = re.compile(r"^(?:[一二三四五六七八九十]{1,3}、|[0-9]{1,2}\.(?![0-9])|•)")
_HEADING = re.compile(r"^(?:[一二三四五六七八九十]{1,3}、|[0-9]{1,2}\.|•|[（(][0-9一二三四五六七八九十]{1,2}[)）])?\s*[^，。,；;！？!?]{0,12}$")
_FIGURE_ONLY = re.compile(r"^[\s0-9０-９.,，%％\-—~～/年月日天元万个岁号点百分之至到以上下及和或、A-Za-z]*$")
_SHORT = 12  # characters: a piece this short after a join completes the piece before it
_OPEN_MIN = 10  # characters: shorter units are labels, headings or bare figures


# A list number left dangling at a unit's end: the page's next heading ("二、…") lost its text when
# the page was saved ("…按比例报销(如50%、70%、80%等) 二").
_DANGLING_NUMBER = re.compile(r"\s+[一二三四五六七八九十]{1,2}$")


@lru_cache(maxsize=8192)
def units(text: str) -> tuple[str, ...]:
    """The passage's quotable units, in order."""
    out: list[str] = []
    for sentence in split_sentences(text):
        for part in _MARKER.split(sentence):
            for piece in _pieces(part):
                piece = _DANGLING_NUMBER.sub("", piece)
                if len(piece.strip(" .。,，:：;；•")) > 1:
                    out.append(piece)
    return tuple(_items_with_lead_ins(out))


_ITEM_STATES = re.compile(r"[。；;]$|\d")


def _items_with_lead_ins(out: list[str]) -> list[str]:
    """A list item too short to open an answer on its own ("本人有效身份证件;", "父母需参加基本医疗保险。")
    joined to the lead-in that introduces it ("…需准备以下材料:"), so that the fact it states can be
    quoted first, in the page's own words. Headings ("一、…", "备案流程") stay apart."""
    merged: list[str] = []
    for piece in out:
        prev = merged[-1].rstrip() if merged else ""
        p = piece.strip()
        if (prev.endswith((":", "：")) and not p.endswith((":", "：")) and not _MARKER_AT.match(p)
                and _ITEM_STATES.search(p) and not can_open(p)):
            merged[-1] = prev + p
        else:
            merged.append(piece)
    return merged


def _pieces(part: str) -> list[str]:
    """A part cut at its joins; a short piece after the first stays with the one before it
    ("三级医院:85% 二级医院:90%"): it completes it, not a new item."""
    out: list[str] = []
    last = 0
    for m in _SPACE.finditer(part):
        left, right = part[last:m.start()].strip(), part[m.end():]
        if not left or right[:1] in ":：,，。;；)）":
            continue
        following = len(_SPACE.split(right, maxsplit=1)[0])  # bold text on a page: " 25年 ," is no join
        item = following >= _SHORT or following == len(right)
        # the first piece, or the first after a lead-in's colon ("要点如下: 缴费原因  新生儿…")
        first = ((not out or out[-1].endswith((":", "："))) and len(left) <= _FIRST_MAX
                 and not re.search(r"[，,。；;\s]", left))
        if (left.endswith((":", "：")) or first and (item or _MARKER_AT.match(left))
                or item and _ENDS_ITEM.search(left) and _STARTS_CJK.match(right)):
            out.append(left)
            last = m.end()
    out.append(part[last:].strip())
    merged: list[str] = []
    for piece in (p for p in out if p):
        glue = merged and not (len(merged) == 1 and len(merged[0]) <= _FIRST_MAX and out[0] == merged[0])
        if glue and len(piece) < _SHORT and not merged[-1].endswith((":", "：")):
            merged[-1] += " " + piece
        else:
            merged.append(piece.lstrip(":："))
    return merged


@lru_cache(maxsize=16384)
def can_open(unit: str) -> bool:
    """May this unit be an answer's first sentence: it states something (not a heading, a lead-in
    ending with a colon, or a bare figure)?"""
    u = unit.strip()
    core = u.rstrip("。！？；!?;… ")
    if len(core) < _OPEN_MIN or core.endswith((":", "：")):
        return False
    return not (_HEADING.match(core) or _FIGURE_ONLY.match(core))
