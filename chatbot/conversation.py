"""Follow-up questions without an LLM: resolve a chat message against the user's earlier turns.

A message either stands alone, or leans on the conversation: it swaps one slot of the previous
question ("那高新区的呢？", "一级医院的呢？", "What about Langfang?"), or asks something new about the
same subject without naming it ("要带什么材料？", "网上能办吗"). `resolve` rewrites such a message into
a stand-alone question, so that retrieval and every check of the answer path run on what the user
meant. Slots: place (the gazetteer in places.py, plus development zones), scheme, population
group, year, hospital level, care setting, visit ordinal, channel, office. No tuned numbers.
"""

from __future__ import annotations

import re
import threading
import unicodedata
from dataclasses import dataclass, field, replace

import jieba

from .ingest.chunking import split_sentences
from .policy import SLOTS, Policy
from .retrieval import facts
from .retrieval.checks import figure_missing
from .retrieval.places import Place, find_places, missing_places
from .textnorm import STOPWORDS, normalize
from .types import Answer, Retrieval

_jieba_lock = threading.Lock()


@dataclass(frozen=True)
class Slot:
    kind: str
    value: str
    start: int
    end: int
    place: Place | None = None


@dataclass(frozen=True)
class Resolved:
    question: str                        # what retrieval and the answer checks see
    changed: bool                        # True when the history changed the question
    understood_as: str | None = None     # short form shown to the user, e.g. 衡水高新区医保局电话
    swapped: tuple[str, ...] = ()        # non-place values swapped in: the answer must mention them
    kind: str = ""                       # "swap", "carry" (these rules) or "context" (chatbot/dialogue.py)
    prior: tuple[str, ...] = ()          # chunk ids cited for the previous turn (a prior in the ranking)
    alone: str | None = None             # the message as typed, when it is read in context
    ranked_by: str | None = None         # the fuller context text that ranks passages, when not `question`
    own_subject: bool = False            # read in context though it names a subject of its own (dialogue.py)


# Slot lexicons (chatbot/policy.py SLOTS, with their sources); places come from the gazetteer.
_SLOT = re.compile("|".join(f"(?P<{k}>{v})" for k, v in SLOTS.items()), re.I)

# A message that leans on what came before: opens with 那/and/what about, ends a clause with 呢,
# or points back (这个, 那边, 里面的, 除了 …).
# 换成 / 改成 (changed to) swap one thing for another, alone or after 那 / 如果 / 要是.
_LEAD = re.compile(r"^(?:(?:那|如果|要是|假如)?(?:换成|换作|换做|改成)|那么|(?:那)?(?:要是|如果|假如)是|那要是|那如果|那假如|那|要是|如果|假如|还有|另外|再问一下|再问|然后|"
                   r"(?:and|so|also|what about|how about|what if)\b)[\s,，、]*", re.I)
# Third-person pronouns (他/她/它/他们) and 也 ("too") point back as well: the Chinese closed class.
_BACK = re.compile(r"呢\s*[?？!！。,，]?|这个|那个|这些|那些|这种|那种|那边|那里|这边|这里|里面|里头|其中|上面|上述|刚才|刚刚|同样|除了|反过来|比这"
                   r"|[他她它](?:们)?|也"
                   r"|\b(?:it|that|this|there|those|the same|he|she|they|him|her|them|too|also)\b", re.I)
# What a question asks about, rather than what it is about: kinds of fact and generic predicates.
_ASKED = set("""材料 资料 证件 证明 手续 流程 步骤 程序 条件 要求 资格 入口 渠道 方式 方法 途径 地址 地方 地点 位置 电话 电话号码 号码
热线 联系方式 时间 期限 日期 截止 费用 金额 钱数 比例 标准 起付线 起付 额度 上限 多少 几 几个 多久 多长时间 多长 多大 多远 政策 规定 待遇 区别 影响 注意事项
好处 情况 办法 哪 哪儿 多少钱 报销比例 报多少 一年 每年 个月 小时 咨询 咨询电话""".split())
_VERBS = set("""办 办理 能办 能用 交 缴 缴费 缴纳 交钱 用 使用 查 查询 查到 申请 准备 带 携带 需要 要 去 找 打 拨打 报 报销 能报 算 弄 操作 开通 提交
上传 填写 出示 拿 领 领取 可以 能 行 通过 看 吗 呢 啥 还能 才能 就能 要是 怎么 如何 一直 都 才 得 再""".split())
_RESULT = re.compile(r"^(?:能|可以|还能)?(?:办|交|缴|报|用|查|领|批|到账)(?:好|完|下来|了|成|得了|到)?$")


# A word led by an interrogative (怎么弄, 咋办理, 多长时间, 什么样) asks; it names no subject.
_INTERROGATIVE = re.compile(r"^(?:怎么|怎样|咋|如何|啥|什么|多长|多大|多久|多少|几)")


def _is_verb(word: str) -> bool:
    return word in _VERBS or bool(_RESULT.match(word)) or bool(_INTERROGATIVE.match(word))


_GENERIC = set("医保 医疗保险 医疗 保险 社保 社会保险 基本医疗保险 参保 问题 事情 东西 那边 这边 我 我们 自己 的话".split())
# Facts that only exist per place: a follow-up asking for them keeps the conversation's place.
_LOCAL_FACT = re.compile(r"电话|号码|热线|地址|在哪|什么地方|哪个地方|位置|窗口|办公|上班时间|phone|hotline|address|where", re.I)
_CLAUSE = re.compile(r"[^，,。？?！!；;]+[，,。？?！!；;]*")
_LATIN = re.compile(r"[a-z]", re.I)
_CJK = re.compile(r"[\u4e00-\u9fff]")


def slots(text: str, original: str | None = None) -> list[Slot]:
    """Slots named in a normalised text, in order, without overlaps (places first)."""
    found: list[Slot] = []
    for p in find_places(text, original=original):
        for m in re.finditer(re.escape(p.name), text):
            found.append(Slot("place", p.name, m.start(), m.end(), p))
        if p.name not in text and original:  # a romanised name (Hengshui): find its word
            m = _latin_place(text, p)
            if m:
                found.append(Slot("place", p.name, m[0], m[1], p))
    for m in _SLOT.finditer(text):
        if not any(s.start < m.end() and m.start() < s.end for s in found):
            found.append(Slot(m.lastgroup, m.group(0), m.start(), m.end()))
    return sorted(found, key=lambda s: s.start)


def _latin_place(text: str, place: Place) -> tuple[int, int] | None:
    from pypinyin import lazy_pinyin

    key = re.escape(place.spelled) if place.spelled else "".join(lazy_pinyin(place.name)).lower()
    m = re.search(rf"\b{key}\b", text, re.I)
    return (m.start(), m.end()) if m else None


def _words(text: str) -> list[str]:
    with _jieba_lock:
        return [w for w in jieba.lcut(text) if w.strip()]


def content_words(text: str, found: list[Slot]) -> list[str]:
    """Words saying what a text is about: not slots, kinds of fact, predicates, function words or
    single characters."""
    masked = _mask(text, found)
    out = []
    for w in _words(masked):
        w = w.lower()
        if w in STOPWORDS or w in _ASKED or _is_verb(w) or w in _GENERIC or not re.search(r"[^\W§]", w):
            continue
        if len(w) >= 2 and not w.isdigit():
            out.append(w)
    return out


def _mask(text: str, found: list[Slot]) -> str:
    out, last = [], 0
    for s in found:
        out.append(text[last:s.start])
        out.append("§" * (s.end - s.start))  # same length: positions stay valid
        last = s.end
    out.append(text[last:])
    return "".join(out)


@dataclass
class _Turn:
    text: str                                  # normalised question, stand-alone after resolution
    original: str
    found: list[Slot] = field(default_factory=list)
    swapped: list[str] | None = None           # slot values a swap put in (None: not a swap)
    kind: str = ""


def _norm(text: str) -> str:
    """The answer path's normalisation (NFKC, Simplified), keeping the case that marks English names."""
    norm = normalize(text)
    cased = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()
    if len(cased) != len(norm):
        return norm
    return "".join(c if c.lower() == n else n for c, n in zip(cased, norm))


def _turn(text: str) -> _Turn:
    norm = _norm(text)
    return _Turn(norm, text, slots(norm, original=norm))


def resolve(message: str, history: list | None = None) -> Resolved:
    """Rewrite `message` against the earlier user messages (oldest first) into a stand-alone question."""
    msgs = [h for h in (_user_text(h) for h in (history or [])) if h and h.strip()]
    context: _Turn | None = None
    for earlier in msgs[-4:]:
        context = _resolve_turn(_turn(earlier), context) or _turn(earlier) if context else _turn(earlier)
    if context is None:
        return Resolved(message, False)
    turn = _turn(message)
    out = _resolve_turn(turn, context)
    if out is None:
        return Resolved(message, False)
    return Resolved(out.original, True, _short(out.original), tuple(out.swapped or ()), kind=out.kind or "carry")


def _user_text(item) -> str:
    """An earlier user message: a string, a {"role","content"} dict or a [user, bot] pair (Gradio)."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        return str(item.get("content") or "") if item.get("role", "user") == "user" else ""
    if isinstance(item, (list, tuple)) and item:
        return item[0] if isinstance(item[0], str) else ""
    return ""


def _resolve_turn(turn: _Turn, context: _Turn) -> _Turn | None:
    """The turn rewritten against the context, or None when it stands alone."""
    body = _body(turn.text)
    led = body != turn.text
    found = slots(body, original=turn.original)
    words = content_words(body, found)
    ctx_words = content_words(context.text, context.found)
    back = led or bool(_BACK.search(body))
    shared = set(words) & set(ctx_words) or {s.value for s in found if s.kind not in ("place", "year")} & {
        s.value for s in context.found if s.kind not in ("place", "year")}
    if not re.search(r"[a-z\u4e00-\u9fff]", body, re.I):
        return None  # nothing to resolve (empty, emoji)
    if words and not back and not shared:
        return None  # names its own subject: a new question, history must not leak in
    if found and not back and not shared and _own_slots_ask(body, found, context):
        return None  # 廊坊市医保中心在哪 after a 华为手表 question: its own place and office, asked of, none of them the conversation's
    if _is_swap(body, found) and not _asks_other(_first_clause(body), context.text):
        return _swap(context, body, found)
    out = _carry(context, body, found, words)
    out.swapped = []
    return out


_IF_END = re.compile(r"的话(?=\s*呢?\s*[?？。!！]*$)")


def _own_slots_ask(body: str, found: list[Slot], context: "_Turn") -> bool:
    """The message names a place, and slots of kinds the conversation never named, and asks something
    of them (a kind of fact, 在哪, 多少): there is nothing in the earlier message for them to replace."""
    if not any(s.kind == "place" for s in found) or {s.kind for s in found} & {s.kind for s in context.found}:
        return False
    rest = _mask(body, found)
    return _LOCAL_FACT.search(rest) is not None or any(w in rest for w in _ASKED if len(w) > 1)


def _body(text: str) -> str:
    """What a message says without its lead (那, 换成, what about) and a closing 的话 (if it is …)."""
    return _IF_END.sub("", _LEAD.sub("", text))


def _first_clause(body: str) -> str:
    first = _CLAUSE.match(body)
    return first.group(0) if first else body


def _is_swap(body: str, found: list[Slot]) -> bool:
    """Only slots in its first clause, nothing else said there: "那高新区的呢？", "一级医院的呢"."""
    clause = _first_clause(body)
    in_clause = [s for s in found if s.end <= len(clause)]
    return bool(in_clause) and not content_words(clause, in_clause) and not re.search(
        r"[\u4e00-\u9fff]", _strip_fillers(_mask(clause, in_clause)))


# Of what a question asks, the words naming a kind of fact (not 多少, 哪, 情况 …: a swap keeps the earlier ask).
_KINDS = frozenset(_ASKED - set("多少 几 几个 哪 哪儿 情况 政策 规定 一年 每年 个月 小时".split()))


def _asks_other(body: str, context: str) -> bool:
    """The message asks a kind of fact the earlier message did not ("信阳医保局的电话是多少" after a
    reimbursement question): a question of its own, not a bare swap of the place."""
    return any(w in body and w not in context for w in _KINDS)


def _strip_fillers(text: str) -> str:
    text = re.sub(r"的话|[§\s,，。？?！!的呢吗了啊呀吧也还和跟]|what|about|and|the|how|of|in", "", text, flags=re.I)
    return re.sub("|".join(sorted(_ASKED | _GENERIC | STOPWORDS, key=len, reverse=True)), "", text)


def _groups(found: list[Slot], body: str) -> list[list[Slot]]:
    """Adjacent slots form one phrase (第二次住院, 高新区医保局)."""
    groups: list[list[Slot]] = []
    for s in found:
        if groups and not body[groups[-1][-1].end:s.start].strip(" 的"):
            groups[-1].append(s)
        else:
            groups.append([s])
    return groups


def _swap(context: _Turn, body: str, found: list[Slot]) -> _Turn:
    """The previous question with the message's slots put in place of those of the same kind."""
    first = _CLAUSE.match(body)
    clause_end = first.end() if first else len(body)
    text = context.text
    latin = bool(_LATIN.search(body)) and not _CJK.search(body)
    chinese = bool(_CJK.search(text))
    for group in _groups([s for s in found if s.end <= clause_end], body):
        phrase = body[group[0].start:group[-1].end]
        if chinese and not _CJK.search(phrase):
            phrase = "".join(s.place.name if s.place else s.value for s in group)
        text = _put(text, group, phrase, latin)
    rest = body[clause_end:].strip()
    if rest:
        text = text.rstrip("？?。 ") + "，" + rest
    new = [s.value for s in found if s.end <= clause_end and s.kind not in _UNCHECKED and s.value not in context.text
           and _CJK.search(s.value)]
    new += [s.place.name for s in found if s.end <= clause_end and s.place and s.place.name not in context.text]
    return _Turn(text, text, slots(text, original=text), new, kind="swap")


# Kinds a passage may state in other words (外省/跨省, 支付宝 app): not required verbatim.
_UNCHECKED = {"place", "office", "channel", "scope"}  # places: checked by name, see `speaks_of`


def _put(text: str, group: list[Slot], phrase: str, latin: bool) -> str:
    present = slots(text, original=text)
    kinds = {s.kind for s in group}
    new_place = next((s.place for s in group if s.place), None)
    targets = [s for s in present if s.kind in kinds or (s.kind == "zone" and "place" in kinds)]
    if new_place is not None:
        # Keep the places that contain the new one (廊坊 for 三河, 河北 for 保定); replace the rest.
        targets = [s for s in targets if s.kind == "zone" or not (s.place and new_place.within(s.place))]
    if "zone" in kinds and "place" not in kinds:
        targets = [s for s in targets if s.kind != "place"]  # 高新区 goes inside 衡水, not instead
    if targets:
        first, last = targets[0], targets[-1]
        middle = text[first.end:last.start] if len(targets) > 1 else ""
        if len(targets) > 1 and middle.strip(" 的"):
            # Not adjacent: replace each target separately, the phrase at the first.
            for s in reversed(targets[1:]):
                text = text[:s.start] + text[s.end:]
            return text[:first.start] + phrase + text[first.end:]
        return text[:first.start] + phrase + text[last.end:]
    # Nothing of that kind yet: after the places (衡水 + 高新区), else in front.
    places = [s for s in present if s.kind in ("place", "zone")]
    at = places[-1].end if places else 0
    sep = " " if latin or _LATIN.search(text[:at] or text[:1]) else ""
    return text[:at] + sep + phrase + sep + text[at:]


_OVERRIDDEN = {"place", "zone", "year", "level", "setting", "ordinal", "population", "scheme"}


def _carry(context: _Turn, body: str, found: list[Slot], words: list[str], known=None) -> _Turn:
    """A new question about the same subject: the context's subject (its slots and subject words,
    not what it asked) in front of the message. `known(word)`, when given, says whether the
    documents use a Chinese word (or a character pair of it): a chatty history's other words
    (感觉, 麻烦, 虚惊一场) name no subject the documents could be about, and are not carried."""
    ctx = context.text
    if _LATIN.search(body) and not _CJK.search(body):
        # English: no word segmentation to lean on; the earlier message goes in front whole, a
        # statement ("We live in Hebei.") as a statement, a question as a question.
        stated = ctx.rstrip().endswith((".", "。", "!", "！"))
        text = ctx.rstrip("?？.。!！ ") + (". " if stated else "? ") + body
        return _Turn(text, text, slots(text, original=text))
    kinds = {s.kind for s in found} & _OVERRIDDEN
    if kinds & {"place", "zone"}:
        kinds |= {"place", "zone"}
    # A place carries over to an elliptical message or a local fact (an office, a number, an
    # address); a message with a subject of its own may be about a rule that holds everywhere.
    keep_place = not words or bool(_LOCAL_FACT.search(body)) or any(s.kind == "office" for s in found)
    ctx_places = [s.place for s in context.found if s.place]
    subject = []
    for s in context.found:
        if s.kind in kinds or (s.kind in ("place", "zone") and not keep_place) or s.value in body:
            continue
        if s.place and any(q is not s.place and q.within(s.place) for q in ctx_places):
            continue  # the most specific place says it (廊坊市, not 河北省廊坊市)
        subject.append((s.start, s.value))
    masked = _mask(ctx, context.found)
    pos = 0
    for w in _words(masked):
        at = masked.find(w, pos)
        pos = at + len(w)
        if w.lower() in STOPWORDS or w in _ASKED or _is_verb(w) or w in _GENERIC or not re.search(r"[^\W§]", w):
            continue
        if len(w) < 2 or w.isdigit() or w in body:
            continue
        if known is not None and _CJK.search(w) and not known(w):
            continue
        subject.append((at, w))
    subject.sort()
    prefix = _glued(dict.fromkeys(v for _, v in subject))
    if not prefix or prefix in _GENERIC:
        return _Turn(body, body, found)
    text = prefix + " " + body
    return _Turn(text, text, slots(text, original=text))


def carried(context_text: str, message: str, known=None) -> str:
    """The message with the conversation's subject in front (its slots and subject words, not
    what the earlier question asked): what a message read in context is searched and checked as."""
    context = _turn(context_text)
    body = _body(_norm(message))
    found = slots(body, original=message)
    return _carry(context, body, found, content_words(body, found), known).text


def _glued(words) -> str:
    """Subject words joined as the question wrote them: Chinese words run together, Latin words
    keep a space between them (check medical insurance, not checkmedicalinsurance)."""
    out = ""
    for w in words:
        out += (" " if out and _LATIN.search(out[-1]) and _LATIN.search(w[0]) else "") + w
    return out


def _short(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().rstrip("？?。!！")


def speaks_of(title: str, text: str, value: str, question: str = "", broader: bool = False,
              policy: Policy | None = None) -> bool:
    """Does a passage speak of a swapped-in value? A place must be what the title is about (with
    `broader`, a question about rules: or a province the question names too, 河北省内从保定搬到石家庄),
    or be named in a sentence that states the kind of fact asked (延吉's number in a Jilin list) and,
    with `policy`, the figure asked (not 天津 in a list of regions, for 天津's contribution);
    other values must appear (2025年 → 2025, 一级医院 → 一级/1级)."""
    wanted = find_places(value)
    if wanted and wanted[0].name == value:
        titled = find_places(normalize(title))
        if not missing_places(wanted, titled):
            return True
        if broader:  # 河北省内从保定搬到石家庄: the question names the province the passage is about
            named = [p for p in find_places(normalize(question)) if wanted[0].within(p)]
            if named and not missing_places(named, titled):
                return True
        asked = normalize(question)
        kinds = facts.asked(asked)
        return any(not missing_places(wanted, find_places(s)) and all(facts.states(k, s) for k in kinds)
                   and (policy is None or figure_missing(asked, s, policy) is None)
                   for s in (normalize(x) for x in split_sentences(text)))
    return mentions(title + "\n" + text, value)


_RELATIVE_YEAR = re.compile(r"今年|去年|明年|前年|往年|历年|上一年|下一年")


def mentions(passage_text: str, value: str) -> bool:
    """Does a passage speak of a swapped-in value (2025年 → 2025, 一级医院 → 一级/1级)?"""
    if _RELATIVE_YEAR.fullmatch(normalize(value)):
        return True  # 今年/去年 name no year a passage could state: the answer's own dates show which
    text = normalize(passage_text)
    stem = re.sub(r"(年度|年|医院|医疗机构|人员|户|的)$", "", normalize(value)) or value
    variants = {stem, stem.translate(str.maketrans("一二三", "123")), stem.translate(str.maketrans("123", "一二三"))}
    return any(v and v in text for v in variants)


def check(retrieval: Retrieval, resolved: Resolved, broader: bool = False,
          policy: Policy | None = None) -> tuple[Retrieval, tuple[str, ...]]:
    """Put passages that speak of every swapped-in value first (as the place check does); returns
    the re-ordered retrieval and the values no retrieved passage speaks of (empty = fine).
    `broader`: the question asks about rules, which a passage about the province states for its cities.
    `policy`: its figure patterns (a place named only in a sentence stating no figure of the kind
    asked is not spoken of) and `swap_fit_ratio`: a passage scoring below this share of the best
    one is too far from the question to be put first for merely naming the value (河北's newborn
    page for 居民医保呢 after a 沧州 hospital question); when only such passages name it, the
    ranking stands and the answer's own checks (the group the passage is about) decide."""
    if not resolved.swapped or not retrieval.hits:
        return retrieval, ()
    ratio = policy.swap_fit_ratio if policy is not None else 0.0

    def fits(h) -> bool:
        return not h.missing and all(speaks_of(h.passage.title, h.passage.text, v, resolved.question, broader, policy)
                                     for v in resolved.swapped)
    good = [h for h in retrieval.hits if fits(h)]
    if good and ratio > 0 and max(h.score for h in good) < ratio * max(h.score for h in retrieval.hits):
        return retrieval, ()
    if not good:
        absent = tuple(v for v in resolved.swapped if not any(
            speaks_of(h.passage.title, h.passage.text, v, resolved.question, broader, policy)
            for h in retrieval.hits if not h.missing))
        return retrieval, absent or resolved.swapped
    return replace(retrieval, hits=tuple(good + [h for h in retrieval.hits if h not in good])), ()


def refusal(question: str, absent: tuple[str, ...], notice: str | None = None) -> Answer:
    """The honest answer when the documents say nothing about a swapped-in value."""
    from .refusal_en import with_line

    named = "、".join(absent)
    return Answer(question, with_line(f"资料中没有找到关于「{named}」的信息。", question, "slot", named), True,
                  notice=notice, reason="slot")


def _bare(text: str) -> str:
    """A text without spaces and punctuation, for telling whether two readings say the same."""
    return re.sub(r"[\s\W_]+", "", text)


def annotate(answer: Answer, resolved: Resolved, message: str | None = None) -> Answer:
    """Say how a follow-up was understood, in the answer's first line; the answer keeps the
    user's own words as its question."""
    if not resolved.changed or not resolved.understood_as or answer.reason in ("error", "empty"):
        return answer
    if message is not None and _bare(resolved.understood_as) == _bare(message):
        return answer  # read in context, but understood as typed: a line repeating the message says nothing
    line = f"（按“{resolved.understood_as}”理解）"
    return replace(answer, question=message or answer.question, text=f"{line}\n{answer.text}",
                   understood_as=resolved.understood_as)
