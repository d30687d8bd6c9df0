"""Radical code points that PDF text layers put in place of ideographs, mapped back.

Subset CJK fonts (Noto CJK as Chromium and many office tools embed them) map some glyphs to the
radical code points: 居⺠ for 居民, ⼀ for 一, ⻚ for 页. NFKC maps the Kangxi Radicals
(U+2F00–U+2FD5) back; the CJK Radicals Supplement (U+2E80–U+2EFF) has no decomposition, so its
pairs come from the Unicode Character Database's EquivalentUnifiedIdeograph property (UCD 14.0).
"""

from __future__ import annotations

import unicodedata

# (radical, ideograph) pairs, concatenated.
_SUPPLEMENT = (
    "⺁厂⺂乛⺃乚⺄乙⺅亻⺆冂⺇𠘨⺈刀⺉刂⺊卜⺋㔾⺌小⺍小⺎兀⺏尣⺐尢⺑𡯂⺒巳⺓幺⺔彑⺕彐⺖忄⺗心⺘扌⺙攵⺛旡⺜日⺝月⺞歺⺟母"
    "⺠民⺡氵⺢氺⺣灬⺤爫⺥爫⺦丬⺧牛⺨犭⺩王⺪𤴔⺫目⺬示⺭礻⺮𥫗⺯糹⺰纟⺱罓⺲罒⺳㓁⺴冗⺵𦉫⺶羊⺷𦍌⺸𦍋⺹耂⺺肀⺻聿⺼肉⺽𦥑"
    "⺾艹⺿艹⻀艹⻁虎⻂衤⻃覀⻄西⻅见⻆角⻇𧢲⻈讠⻉贝⻊𧾷⻋车⻌辶⻍辶⻎辶⻏邑⻐钅⻑長⻒镸⻓长⻔门⻕𨸏⻖阝⻗雨⻘青⻙韦⻚页⻛风"
    "⻜飞⻝食⻞𩙿⻟飠⻠饣⻡𩠐⻢马⻣骨⻤鬼⻥鱼⻦鸟⻧卤⻨麦⻩黄⻪黾⻫斉⻬齐⻭歯⻮齿⻯竜⻰龙⻱龜⻲亀⻳龟"
)
_PAIRS = [_SUPPLEMENT[i:i + 2] for i in range(0, len(_SUPPLEMENT), 2)]
SUPPLEMENT = {ord(p[0]): p[1] for p in _PAIRS}
KANGXI = {cp: unicodedata.normalize("NFKC", chr(cp)) for cp in range(0x2F00, 0x2FD6)}


def _simplified(table: dict[int, str]) -> dict[int, str]:
    """Subset fonts of Simplified Chinese share one glyph between a radical and the Simplified
    character (⼾ is drawn as 户, not 戶): take the Simplified form of each ideograph."""
    from ...textnorm import _t2s_convert

    return {cp: _t2s_convert(ch) for cp, ch in table.items()}


TABLE = _simplified({**SUPPLEMENT, **KANGXI})


def unradical(text: str) -> str:
    """Text with every radical code point replaced by its ideograph."""
    return text.translate(TABLE)
