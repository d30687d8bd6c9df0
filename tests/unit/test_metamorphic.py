"""The perturbations of `chatbot eval --perturb` (chatbot/metamorphic.py): each changes only the wording
it names, and leaves alone a question it does not apply to."""

from __future__ import annotations

import pytest

from chatbot import metamorphic


@pytest.mark.parametrize("name, query, expected", [
    ("courtesy", "衡水市医保电话是多少？", "你好，请问衡水市医保电话是多少？谢谢！"),
    ("courtesy", "衡水 医保 电话", "你好，请问衡水 医保 电话，谢谢！"),
    ("courtesy", "What is the hotline?", "Hi, What is the hotline? Thanks!"),
    ("filler", "医保卡丢了怎么办", "嗯，那个，医保卡丢了怎么办"),
    ("particle", "补办要交多少工本费？", "补办要交多少工本费啊？"),
    ("particle", "What about Tangshan?", None),
    ("colloquial", "医保卡丢了怎么办？", "医保卡丢了咋办？"),
    ("colloquial", "孕检能用老公的医保卡吗", "孕检能用老公的医保卡不"),
    ("colloquial", "衡水 医保 电话", None),
    ("traditional", "医保个人账户怎么查", "醫保個人賬戶怎麼查"),
    ("swap_phrase", "那石家庄的呢？", "换成石家庄的话呢？"),
    ("swap_phrase", "那职工医保呢", "换成职工医保的话呢"),
    ("swap_phrase", "要带什么材料", None),
    ("lower", "What about Langfang?", "what about langfang?"),
    ("lower", "衡水 hotline", None),
    ("afterthought", "衡水市医保电话是多少？", "医保电话是多少？衡水市的"),
    ("afterthought", "石家庄的异地就医怎么备案", "异地就医怎么备案？石家庄的"),
    ("afterthought", "医保卡丢了怎么办", None),
    ("ask_frame", "衡水市医保电话是多少？", "我想知道衡水市医保电话是多少。"),
    ("ask_frame", "孕检能用老公的医保卡吗", None),
    ("keywords", "衡水市医保电话是多少？", "衡水市 医保 电话 多少"),
    ("keywords", "那邯郸呢？", None),
    ("no_punct", "我在外地打工，老家的医保卡余额能刷吗？", "我在外地打工 老家的医保卡余额能刷吗"),
    ("kin", "我老婆生孩子能报多少", "俺媳妇生娃能报多少"),
    ("place_suffix", "衡水市医保电话是多少？", "衡水医保电话是多少？"),
    ("place_suffix", "医保卡丢了怎么办", None),
    ("swap_forms", "那淮阳区呢？", "淮阳区的情况呢？"), ("swap_forms", "那石家庄呢", "如果是石家庄呢"),
    ("swap_forms", "要带什么材料", None),
])
def test_each_perturbation_changes_only_its_own_wording(name, query, expected):
    assert metamorphic.PERTURBATIONS[name](query) == expected


def test_only_the_questions_a_perturbation_changes_are_compared_and_history_follows_the_script():
    items = [{"id": "a", "query": "那石家庄的呢？", "history": ["衡水市医保电话是多少"]},
             {"id": "b", "query": "医保卡丢了怎么办", "history": []}]
    assert [(a["id"], b["query"]) for a, b in metamorphic.perturbed(items, "swap_phrase")] == [("a", "换成石家庄的话呢？")]
    (_, trad), = [p for p in metamorphic.perturbed(items, "traditional") if p[0]["id"] == "a"]
    assert trad["history"] == ["衡水市醫保電話是多少"]


def test_a_history_perturbation_changes_the_earlier_messages_only():
    items = [{"id": "a", "query": "那石家庄的呢？", "history": ["衡水市医保电话是多少"]},
             {"id": "b", "query": "医保卡丢了怎么办", "history": []}]
    (a, b), = metamorphic.perturbed(items, "history_keywords")
    assert a["id"] == "a" and b["query"] == "那石家庄的呢？" and b["history"] == ["衡水市 医保 电话 多少"]


def test_an_unknown_perturbation_is_named():
    with pytest.raises(ValueError, match="unknown perturbation typo"):
        metamorphic.compare(None, [], ["typo"])
