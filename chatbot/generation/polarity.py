"""Polarity of a clause, for the sentence check (verifier.py): what a clause negates, how many
times, and whether a sentence clause says the opposite of the passage clause it matches.

A negated modal (不能, 无需, 不得, 禁止), a complement negation (享受不了, 办不到) and a verb negated
without a modal where the other side negates it with one (不退 / 不会退还) each count once; 没有 = 无
= 不会有. A word meaning a negation (忘记带) keeps what follows from being stated plainly. A
question (a title asking …吗, 是否…) states nothing and is never the clause compared with.
"""

from __future__ import annotations

import re

_SENT_END = re.compile(r"(?<=[。！？!?；;\n])")
_CLAUSE = re.compile(r"[，,；;。！？!?：:\n]|(?<=[\u4e00-\u9fff]) (?=[\u4e00-\u9fff])")
_HAN = re.compile(r"[\u4e00-\u9fff]")

# A negation flips a clause; comparisons (不少于, 不超过) and conjunctions (不仅, 不论) do not.
NEGATION = re.compile(r"不(?!仅|但|论|管|少于|超过|低于|高于|大于|小于|足|同|断|久|过|然|如|等|便|良|宜|定|限)"
                      r"|没有?|未(?!来|满)|无(?!论|锡|关|障碍)|非(?!常|遗|法)|禁止|勿")
# The polarity of a statement (the 可以/不可以, 需要/无需, 会/不会, 能/不能): a negated modal verb.
_MODAL_NEGATION = re.compile(r"不(?:能|可|会|需|用|得|必|要|予|支持|允许|准|再)|无(?:需|须|法)|没法|未能|禁止|严禁"
                             # a complement negation says 不能 after its verb (享受不了, 办不到, 看不起)
                             r"|(?<=[\u4e00-\u9fff])不(?:了|起)|(?<=[\u4e00-\u9fff])不到(?![\d一二三四五六七八九十半])")
# a verb negated without a modal (不退 = 不会退还, 不清零 = 不会清零) counts as one negation too
_PLAIN_NEGATION = re.compile(r"不(?!仅|但|论|管|少于|超过|低于|高于|大于|小于|足|同|断|久|过|然|如|等|便|良|宜|定|限|满"
                             r"|能|可|会|需|用|得|必|要|予|支持|允许|再|了|起|到|一|是)(?=[\u4e00-\u9fff])")
# words that state a negation without one (忘记带 = 没带, 缺少 = 没有): what follows is not stated plainly
_IMPLICIT_NEGATION = re.compile(r"忘记|忘了|忘带|遗忘|缺少|缺乏|丢失|遗失|拒绝|停止|取消|免于")
# a question (a title asking 要结算吗, 可以用…吗) states nothing: never the clause a sentence is compared with
_QUESTION = re.compile(r"[?？]\s*$|[吗呢嘛][\s。.]*$")
# a clause asking whether (告知医生是否需要…): that clause only; the sentence's other clauses state things
_WHETHER = re.compile(r"是否|能否|可否|可不可以|能不能|会不会|要不要|是不是|需不需要|有没有")
# "there is none" said three ways (不会有/没有/无): the same polarity, not a negated modal
_NONE = re.compile(r"不会有|没有|并无")
PROHIBIT = re.compile(r"不允许|不准许|严禁")  # = 禁止, before comparing 允许/禁止
DIRECTIONS = (("之前", "之后"), ("以前", "以后"), ("提高", "降低"), ("增加", "减少"), ("上调", "下调"),
              ("高于", "低于"), ("多于", "少于"), ("允许", "禁止"),
              # antonyms of the rules' vocabulary (time, scope, cost, channel, compulsion), from the
              # language, not from any claims file; 以上/以下 also mean "the above/following" and are not here
              ("延长", "缩短"), ("提前", "推迟"), ("提前", "延后"), ("早于", "晚于"), ("开通", "关闭"),
              ("免费", "收费"), ("纳入", "排除"), ("纳入", "剔除"), ("上升", "下降"), ("升高", "降低"),
              ("扩大", "缩小"), ("放宽", "收紧"), ("最高", "最低"), ("恢复", "暂停"), ("合并", "分开"),
              ("全额", "部分"), ("全部", "部分"), ("强制", "自愿"), ("自动", "手动"), ("线上", "线下"),
              ("当月", "次月"), ("当年", "次年"), ("本人", "他人"))


_MODAL = "能会可需要得用必再是该应予以被还也都就仍"  # not 将: 不得将医保卡出借 negates 出借, not 医保


def _negated_targets(clause: str) -> list[str]:
    """What each negation in a clause negates: the two characters after it and its modal verbs
    (不能享受 → 享受, 不会清零 → 清零, 无需返回 → 返回)."""
    out = []
    for m in NEGATION.finditer(clause):
        i = m.end()
        while i < len(clause) and clause[i] in _MODAL:
            i += 1
        target = clause[i:i + 2]
        if len(target) == 2 and _HAN.fullmatch(target[0]):
            out.append(target)
    return out


def _plain(clause: str, target: str) -> bool:
    """Does the clause state `target` without a negation (or a word meaning one, 忘记) before it in
    its clause? A negation reaches over what stands between (不会在12月底清零 does not state 清零)."""
    for m in re.finditer(re.escape(target), clause):
        before = clause[max([0] + [clause.rfind(ch, 0, m.start()) + 1 for ch in ",，"]):m.start()]
        if not NEGATION.search(before) and not _IMPLICIT_NEGATION.search(before):
            return True
    return False


def flipped(a: str, b: str) -> bool:
    """Does clause `a` negate something that clause `b` states plainly (and never negates)?"""
    negated_in_b = set(_negated_targets(b))
    return any(_plain(b, t) and t not in negated_in_b for t in _negated_targets(a))


def clauses(text: str) -> list[str]:
    return [c.strip() for c in _CLAUSE.split(text) if len(_HAN.findall(c)) >= 3]


def statements(text: str) -> str:
    """The text without its questions (a title 孕检可以用老公的医保卡吗 asks; the passage answers)
    and without the clauses that ask whether (是否, 能否, 可不可以 …)."""
    out = []
    for s in _SENT_END.split(text):
        if _QUESTION.search(s.strip()):
            continue
        out.append("，".join(c for c in _CLAUSE.split(s) if not _WHETHER.search(c)) + "。")
    return "".join(out)


def _modal_targets(clause: str) -> set[str]:
    """The first character of what each negated modal negates (不会退还 → 退, 无法享受 → 享)."""
    out = set()
    for m in _MODAL_NEGATION.finditer(clause):
        i = m.end()
        while i < len(clause) and clause[i] in _MODAL:
            i += 1
        out.add(clause[i:i + 1])
    return out


def negations(clause: str, other: str) -> int:
    """How many times a clause is negated, as compared with `other`: its negated modals (不能, 无需,
    享受不了), and a verb negated without a modal (不退) where `other` negates it with one (不会退还)."""
    c, o = _NONE.sub("无", clause), _NONE.sub("无", other)
    negated = _modal_targets(o)
    plain = [m for m in _PLAIN_NEGATION.finditer(c) if c[m.end():m.end() + 1] in negated]
    return len(_MODAL_NEGATION.findall(c)) + len(plain)
