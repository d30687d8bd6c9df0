"""Text normalisation and tokenisation shared by indexing and querying.

Both sides go through the same steps so that a Traditional or full-width query meets the
Simplified, half-width form of the corpus: NFKC (full-width → half-width), OpenCC t2s,
lower-case Latin, collapsed white space. Tokens come from jieba's search mode.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import unicodedata
from functools import lru_cache
from pathlib import Path

import jieba
from opencc import OpenCC

jieba.setLogLevel(logging.WARNING)
# Which normalisation and segmentation produced a text's tokens and embedded form: recorded in an
# index's manifest, so that an index built by other code is rebuilt, not silently mismatched.
FINGERPRINT = f"jieba-{jieba.__version__}/textnorm-" + hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
_t2s = OpenCC("t2s")
_t2s_lock = threading.Lock()
_jieba_lock = threading.Lock()

_WS = re.compile(r"\s+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")
_TOKEN_OK = re.compile(r"[\w\u3400-\u9fff]")
# Control characters other than tab/newline; they never carry meaning in a question or a document.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\ufeff]")

# Function words and question fillers that only add noise to keyword matching.
STOPWORDS = frozenset(
    """的 了 吗 呢 吧 啊 呀 嘛 么 是 在 有 和 与 或 及 就 都 也 还 又 要 会 能 可以 可 我 你 他 她 它 我们 你们 他们
    这 那 这个 那个 哪个 哪些 什么 怎么 怎么样 如何 多少 几 啥 咋 吗 一下 一个 请问 想 问 知道 告诉 一般 现在 还是 已经
    没 不 没有 不是 为 为什么 为啥 对 把 被 给 让 从 到 向 于 以 之 其 等 上 下 中 里 那边 这边 时候 谁 哪 哪里 哪儿 得 地 着 过
    怎么办 怎样 咋办 咋样 能否 是否 能不能 可不可以 是不是 有没有 会不会 要不要 行不行 好不好 呢 啦 哦
    the a an of to in on for is are be can do does what which how when where who my i me your it this that with
    about and or""".split()
)


def clean(text: str) -> str:
    """Drop control characters; keep everything a reader could see."""
    return _CONTROL.sub("", text)


@lru_cache(maxsize=4096)
def _t2s_convert(text: str) -> str:
    with _t2s_lock:  # the reimplemented OpenCC keeps per-call state; serialise it
        return _t2s.convert(text)


# Written variants of "paying a fee" (交/缴): dictionaries list 交费/缴费 and 交纳/缴纳 as one word,
# and people type 补交 where notices print 补缴. Mapped to the 缴 form on both sides, so that a
# question and a passage meet whichever form each uses.
# Traditional text also brings variant characters and regional words: 帳 in account words (帳戶
# becomes 帐户 under t2s; 《通用规范汉字表》 writes 账户, 账号) and Taiwan's 健保 and 藥局 for 医保 and
# 药店. (OpenCC's Taiwan phrase table, tw2sp, was measured and dropped: it also rewrites
# Simplified questions, recall@1 on dev + dev2 0.891 → 0.880.)
_VARIANTS = {"交费": "缴费", "补交": "补缴", "交纳": "缴纳", "续交": "续缴", "断交": "断缴", "停交": "停缴",
             "欠交": "欠缴", "预交": "预缴", "帐户": "账户", "帐号": "账号", "帐单": "账单", "帐目": "账目",
             "健保": "医保", "药局": "药店"}
_VARIANT_RE = re.compile("|".join(_VARIANTS))


def normalize(text: str) -> str:
    """NFKC + Traditional→Simplified + the 缴 form of fee verbs + lower-case + single spaces."""
    text = unicodedata.normalize("NFKC", clean(text))
    text = _t2s_convert(text) if _CJK.search(text) else text
    text = _VARIANT_RE.sub(lambda m: _VARIANTS[m.group(0)], text)
    return _WS.sub(" ", text).strip().lower()


def cjk_share(text: str) -> float:
    """Share of CJK among the letters of a text (0 for pure English, 1 for pure Chinese)."""
    cjk = len(_CJK.findall(text))
    latin = len(_LATIN.findall(text))
    total = cjk + latin
    return cjk / total if total else 0.0


def tokenize(text: str, normalized: bool = False) -> list[str]:
    """Keyword tokens of a text: jieba search-mode words, without stop words and punctuation."""
    if not normalized:
        text = normalize(text)
    with _jieba_lock:  # jieba's lazy dictionary load is not thread-safe
        words = jieba.lcut_for_search(text)
    return [w for w in (w.strip() for w in words) if w and w not in STOPWORDS and _TOKEN_OK.search(w)]


_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]{2,}")


def keyword_tokens(text: str, normalized: bool = False, words: list[str] | tuple[str, ...] | None = None) -> list[str]:
    """Tokens for BM25: jieba words plus overlapping CJK character bigrams.

    Bigrams let a question meet a passage when jieba segments the two differently
    (低保边缘户 / 低边人员); the words keep exact-term matches sharp. `words`: the text's
    `tokenize` result, when the caller already has it (saves a second jieba pass per query).
    """
    if not normalized:
        text = normalize(text)
    bigrams = [run[i:i + 2] for run in _CJK_RUN.findall(text) for i in range(len(run) - 1)]
    words = tokenize(text, normalized=True) if words is None else list(words)
    return words + ["§" + b for b in bigrams]
