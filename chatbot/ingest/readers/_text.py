"""Text helpers shared by the readers: normalisation, joining wrapped lines, table rows."""

from __future__ import annotations

import re
import unicodedata

from ...textnorm import clean
from ._radicals import unradical

_TERMINAL = "。！？；：!?;:…」』”）)"
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
_WS = re.compile(r"[ \t\u00a0\u3000]+")


def normalize(text: str) -> str:
    """Visible text, NFKC (as the text reader does), radicals mapped back, runs of spaces collapsed."""
    return _WS.sub(" ", unradical(unicodedata.normalize("NFKC", clean(text))))


def join_lines(prev: str, nxt: str) -> str:
    """Join a line that wrapped to its continuation: hyphenated Latin words are rejoined, CJK
    text gets no space, Latin text one space."""
    prev, nxt = prev.rstrip(), nxt.lstrip()
    if not prev or not nxt:
        return prev + nxt
    if prev.endswith("-") and len(prev) > 1 and prev[-2].isalpha() and nxt[0].islower():
        return prev[:-1] + nxt
    if _CJK.match(prev[-1]) or _CJK.match(nxt[0]) or prev[-1] in "-/–—":
        return prev + nxt  # CJK text, or a number or address cut at its hyphen/slash
    return prev + " " + nxt


def ends_sentence(line: str) -> bool:
    return bool(line) and line.rstrip()[-1:] in _TERMINAL


def table_rows(rows: list[list[str | None]]) -> list[str]:
    """Table rows as sentences: "医院等级：一级；起付标准：200元；报销比例：85%。" with the first row
    as the header; a table of one row or one column is read as plain cells."""
    cells = [[normalize(c or "").replace("\n", "").strip() for c in row] for row in rows]
    cells = [row for row in cells if any(row)]
    if not cells:
        return []
    header, body = cells[0], cells[1:]
    if not body or len(header) < 2 or not all(header):
        return ["；".join(c for c in row if c) + "。" for row in cells]
    out = []
    for row in body:
        parts = [f"{h}：{c}" if h else c for h, c in zip(header, row) if c]
        if parts:
            out.append("；".join(parts) + "。")
    return out
