"""Pinyin-IME slips (chatbot/retrieval/homophones.py): repaired only into the corpus's own words."""

import pytest

from chatbot.retrieval.homophones import Homophones, sounds

VOCAB = ["报销", "医保", "备案", "申请", "材料", "手续", "电话", "公积金", "§报销", "程序", "就医"]


@pytest.fixture(scope="module")
def homophones():
    return Homophones(lambda: VOCAB)


@pytest.mark.parametrize("slip, word", [("报消", "报销"), ("一保", "医保"), ("备按", "备案"), ("神请", "申请"),
                                        ("才料", "材料"), ("手序", "手续"), ("电化", "电话"), ("程许", "程序")])
def test_a_slip_is_repaired_into_the_corpus_word(homophones, slip, word):
    assert homophones.repairs(slip) == [word]


@pytest.mark.parametrize("pair", ["报告", "保险", "公机", "看病", "ab", "报"])
def test_no_repair_without_a_same_sounding_corpus_word(homophones, pair):
    # 报告 keeps 报 but 告 does not sound like 销; 保险 keeps 保 in the wrong place for 医保
    assert homophones.repairs(pair) == []


def test_a_word_is_not_repaired_into_itself(homophones):
    assert homophones.repairs("报销") == []


def test_readings_are_toneless_and_cover_heteronyms():
    assert "xiao" in sounds("消") and "yi" in sounds("医")
    assert {"hang", "xing"} <= sounds("行")
    assert sounds("a") == frozenset()


@pytest.mark.parametrize("pair", ["一下", "这个"])
def test_a_common_word_is_what_the_user_meant(pair):
    """一下 sounds like the corpus's 以下 and keeps 下, but it is a word in its own right."""
    assert Homophones(lambda: ["以下", "这各"]).repairs(pair) == []


def test_the_character_table_is_pypinyins_without_importing_its_phrase_dictionary():
    """`sounds` reads pypinyin's own table file; the package (and its phrase dictionary) stays unloaded."""
    import subprocess
    import sys

    code = ("import sys; from chatbot.retrieval.homophones import sounds; "
            "assert sounds('销') == {'xiao'} and 'pypinyin' not in sys.modules, sorted(sounds('销')); "
            "from pypinyin.pinyin_dict import pinyin_dict; from chatbot.retrieval.homophones import _readings; "
            "assert _readings() == pinyin_dict")
    subprocess.run([sys.executable, "-c", code], check=True)
