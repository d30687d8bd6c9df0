"""The English line under a refusal of an English question (chatbot/refusal_en.py). Cases written
for these tests."""

from __future__ import annotations

import pytest

from chatbot import refusal_en
from chatbot.answer import compose
from chatbot.conversation import refusal
from chatbot.policy import Policy

from ..helpers.hits import passage, retrieval

ACCOUNT = passage("退休人员个人账户", "退休人员医保个人账户按月基本养老金的4%划入,各地已逐步停止与养老金挂钩。", 0)
HENGSHUI = passage("衡水市医保电话", "衡水市医保电话是0318-12333,这个电话号码是衡水市人力资源和社会保障局的官方热线。", 1)


@pytest.mark.parametrize("question, reason, missing, expected", [
    ("And Shijiazhuang's?", "slot", "石家庄", "The documents have nothing about Shijiazhuang (石家庄)."),
    ("Can I use my card in Hong Kong?", "place", "香港", "The documents have nothing about Hong Kong (香港)."),
    ("What's the hotline of Nanyang and Xinyang?", "place", "南阳、信阳",
     "The documents have nothing about Nanyang (南阳) and Xinyang (信阳)."),
    ("How do I collect my pension?", "scope", "养老保险",
     "The documents cover medical insurance only; they say nothing about pension insurance."),
    ("What was the cap in 2023?", "no_fact", "2023年的数字", "The documents do not state the figure for 2023 asked for."),
    ("Is an Apple Watch covered?", "no_fact", "「苹果手表」", "The documents do not state the 苹果手表 asked for."),
    ("Which department should I see for a cough?", "medical", None,
     "This is a question for a doctor or pharmacist, not about insurance: the documents cannot answer it."),
])
def test_english_line_names_what_is_missing(question, reason, missing, expected):
    assert refusal_en.line(question, reason, missing) == expected


@pytest.mark.parametrize("question", ["养老金怎么领", "衡水医保电话 hotline", "12333?", ""])
def test_no_english_line_for_a_chinese_or_wordless_question(question):
    assert refusal_en.line(question, "scope", "养老保险") is None


def test_an_english_refusal_carries_the_chinese_and_the_english_line():
    answer = compose(retrieval("How do I collect my pension?", ACCOUNT), None, Policy())
    assert answer.refused and answer.reason == "scope"
    chinese, english = answer.text.split("\n")
    assert "养老保险" in chinese and english.endswith("they say nothing about pension insurance.")
    assert "\n" not in compose(retrieval("养老金怎么领", ACCOUNT), None, Policy()).text


def test_an_english_follow_up_swapping_in_an_uncovered_place_is_refused_in_both_languages():
    answer = refusal("And Shijiazhuang's?", ("石家庄",))
    assert answer.text == "资料中没有找到关于「石家庄」的信息。\nThe documents have nothing about Shijiazhuang (石家庄)."


def test_an_english_question_answered_gets_no_line():
    answer = compose(retrieval("What is the Hengshui medical insurance hotline number?", HENGSHUI), None, Policy())
    assert not answer.refused and "The documents" not in answer.text
