"""A message of several asks, one of which the documents lack (chatbot/partial.py): which clauses
are asked again, and how the refusal and the answer to the rest are put together."""

from __future__ import annotations

import pytest

from chatbot import partial
from chatbot.policy import Policy
from chatbot.render import answer_as_html
from chatbot.types import Answer, Citation

from ..helpers.hits import passage

POLICY = Policy()


@pytest.mark.parametrize("message, rest", [
    ("医保个人账户的钱放着有利息吗，一年利率是多少", "医保个人账户的钱放着有利息吗"),
    ("廊坊新生儿医保看门诊，一年最多能报多少钱？有封顶吗", "廊坊新生儿医保看门诊，有封顶吗"),
    ("衡水医保局电话是多少？网上能办异地备案吗", "网上能办异地备案吗"),   # a phone number asked: dropped too
    ("医保个人账户余额的年利率是多少", None),                    # one clause: nothing else asked
    ("我在成都上班，一年要交多少钱", None),                      # the rest tells, asks nothing
    ("生育津贴一共能领多少钱，怎么算的", None),                  # the rest is too short to read alone
    ("医保卡丢了怎么办，补办要带什么", None),                    # no figure asked: nothing dropped
])
def test_the_rest_is_the_clauses_that_ask_no_figure(message, rest):
    assert partial.rest_of(message, POLICY) == rest


def _answer(text, refused=False, understood_as=None, cited=True):
    p = passage("医保个人账户余额有没有利息", "医保账户余额通常无利息收益。")
    return Answer("q", text, refused, (Citation(1, p, 1.0, ("医保账户余额通常无利息收益。",)),) if cited else (),
                  reason="no_fact" if refused else None, understood_as=understood_as)


def test_the_refusal_names_what_is_missing_and_the_rest_is_answered_under_it():
    refusal = _answer("资料中没有找到这个问题所问的利率。下面是资料中相近的内容，仅供参考，它们不回答这个问题。",
                      refused=True, cited=False)
    got = partial.combine(refusal, "医保个人账户的钱放着有利息吗", _answer("医保账户余额通常无利息收益。[1]"))
    assert got.refused and got.reason == "partial"
    assert got.text == "资料中没有找到这个问题所问的利率。\n关于「医保个人账户的钱放着有利息吗」：医保账户余额通常无利息收益。[1]"
    assert [c.n for c in got.citations] == [1] and not got.related
    html = answer_as_html(got)
    assert "只找到问题的一部分" in html and "没有找到答案" not in html


@pytest.mark.parametrize("answer, usable", [
    (_answer("医保账户余额通常无利息收益。[1]"), True),
    (_answer("资料中没有找到。", refused=True, cited=False), False),           # the rest refused too
    (_answer("医保账户余额通常无利息收益。[1]", understood_as="利息 怎么算"), False),  # read with the conversation
])
def test_only_an_answer_to_the_rest_read_alone_is_shown(answer, usable):
    assert partial.usable(answer) is usable
