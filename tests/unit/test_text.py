"""Normalisation, tokenisation, place names and fact kinds: the pieces retrieval relies on."""

import pytest

from chatbot.retrieval import facts
from chatbot.retrieval.places import find_places, leaf_places, missing_places
from chatbot.textnorm import cjk_share, keyword_tokens, normalize, tokenize


@pytest.mark.parametrize("raw,expected", [
    ("", ""),
    ("   ", ""),
    ("医", "医"),
    ("醫療保險個人賬戶", "医疗保险个人账户"),
    ("ＡＢＣ１２３，医保？", "abc123,医保?"),
    ("医保\x00卡\u200b余额", "医保卡余额"),
    ("Hengshui 医保 0318-12333", "hengshui 医保 0318-12333"),
    ("补交医保费，交纳方式", "补缴医保费,缴纳方式"),   # fee verbs in their 缴 form, as notices print them
    ("交医保", "交医保"),                             # the plain verb stays
])
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_traditional_and_simplified_tokenize_the_same():
    assert tokenize("醫保卡換了新卡，舊卡裡的餘額會自動轉過去嗎") == tokenize("医保卡换了新卡，旧卡里的余额会自动转过去吗")


@pytest.mark.parametrize("text", ["", "。。。", "😀😀", "的了吗"])
def test_no_content_no_tokens(text):
    assert tokenize(text) == []


def test_keyword_tokens_add_bigrams():
    toks = keyword_tokens("低保边缘户")
    assert "§低保" in toks and "§边缘" in toks and "低保" in toks


def test_cjk_share():
    assert cjk_share("医保电话") == 1.0 and cjk_share("phone number") == 0.0 and 0 < cjk_share("Hengshui 医保") < 1


@pytest.mark.parametrize("text,names", [
    ("廊坊三河市医保中心电话", ["廊坊", "三河市"]),
    ("周口川汇区医保局电话", ["周口", "川汇区"]),
    ("老家周口西华的", ["周口", "西华"]),
    ("人力资源和社会保障局", []),  # 资源 is a county's short name, but here an ordinary word
    ("我从保定调到石家庄上班了，河北医保", ["保定", "石家庄", "河北"]),
])
def test_find_places(text, names):
    assert [p.name for p in find_places(normalize(text))] == names


def test_english_place_names_in_lower_case_count_only_without_capitalised_names():
    q = "What is the medical insurance hotline for Hengshui City?"
    assert [p.name for p in find_places(normalize(q), original=q)] == ["衡水"]
    # typed in lower case (session 20): the name is found, the English word that spells a county is not
    for q in ("a guide to hengshui", "What about hengshui?"):
        assert [p.name for p in find_places(normalize(q), original=q)] == ["衡水"]
    q = "Is there a guide for Langfang or hengshui?"  # a capitalised name is there: lower-case words are words
    assert [p.name for p in find_places(normalize(q), original=q)] == ["廊坊"]


@pytest.mark.parametrize("q", ["And Shijiazhuang's?", "And Shijiazhuang\u2019s?", "What is Shijiazhuang's hotline?"])
def test_english_place_names_in_the_possessive(q):
    assert [p.name for p in find_places(normalize(q), original=q)] == ["石家庄"]


@pytest.mark.parametrize("question, names", [
    ("What about Harbin?", ["哈尔滨市"]),                     # CC-CEDICT's English name, not its pinyin
    ("How many years does Inner Mongolia require?", ["内蒙古自治区"]),
    ("Can I use it in Hong Kong or Macao?", ["香港", "澳门"]),
    ("I live in Hengshui, Hebei Province.", ["衡水", "河北"]),  # pinyin names as before
    ("And what about the High-tech Zone bureau?", []),        # a gloss word ("high") is no place
    ("Can I pay with Alipay?", []),
])
def test_english_names_of_places(question, names):
    assert [p.name for p in find_places(normalize(question), original=question)] == names


def test_a_province_covers_the_widest_reading_of_a_name():
    # 西安 is the city in 陕西 and also a district of 吉林's 辽源: a passage about 吉林省 does not cover it
    xian = find_places("西安城乡居民医保缴费标准")
    assert missing_places(xian, find_places("吉林省医保卡余额怎么给家人交新农合"), broader=True) != []
    assert missing_places(find_places("唐山医保卡怎么换参保地"), find_places("河北省内医保卡怎么更换参保地"),
                          broader=True) == []


def test_a_province_name_is_not_a_district_elsewhere():
    # 河北 is the province, not 天津's 河北区 (whose code made every 河北 passage cover 天津)
    hebei = find_places("河北低边人员医保交多少钱")
    assert [p.codes for p in hebei] == [frozenset({"13"})]
    assert missing_places(find_places("天津2025年居民医保交多少"), hebei) != []
    assert [p.codes for p in find_places("天津河北区医保局")] == [frozenset({"12"}), frozenset({"120105"})]


def test_most_specific_place_must_be_covered():
    query = find_places("廊坊三河市医保中心电话")
    assert [p.name for p in leaf_places(query)] == ["三河市"]
    assert missing_places(query, find_places("廊坊市医保中心咨询电话")) != []
    assert missing_places(query, find_places("三河市医保中心电话")) == []


def test_sibling_places_are_satisfied_by_their_shared_region():
    query = find_places("我从保定调到石家庄上班了,河北医保要转移吗")
    assert missing_places(query, find_places("河北医保如何更改参保地")) == []
    assert missing_places(query, find_places("成都医保转移")) != []


@pytest.mark.parametrize("question,kinds", [
    ("衡水市医保电话是多少", {"phone"}),  # 多少 in a phone question asks for the number, not an amount
    ("有哪几个电话可以咨询", {"phone"}),
    ("新生儿医保一年交多少钱", {"amount"}),
    ("what is the hotline number", {"phone"}),
    ("居民医保什么时候截止", {"date"}),
    ("医保卡丢了怎么办", set()),
])
def test_fact_kinds(question, kinds):
    assert {k.name for k in facts.asked(normalize(question))} == kinds


def test_phone_facts_are_recognised():
    assert facts.states(facts.PHONE, "电话是0318-12333")
    assert facts.states(facts.PHONE, "电话2227130/2227105")
    assert not facts.states(facts.PHONE, "报销比例为85%,起付标准为800元")


def test_other_schemes_need_the_passage_to_speak_of_them():
    assert facts.other_schemes("养老保险交满15年能领多少", "医保缴费年限") == ["养老保险"]
    assert facts.other_schemes("养老保险交满15年能领多少", "养老保险与医保的区别") == []
    assert facts.other_schemes("医保卡丢了", "任何内容") == []


@pytest.mark.parametrize("text,is_phone", [
    ("电话是0318-12333", True), ("电话2227130/2227105", True), ("拨打12333咨询", True),
    ("拨打2227130、2227105或2227711", True), ("400-123-4567", True), ("13812345678", True),
    ("5000元至10000元部分", False), ("机构编码:31000010000011", False), ("2025年2月28日", False),
    ("注册证编号:粤械注准2024221 ****", False), ("报销比例为85%", False),
])
def test_phone_pattern(text, is_phone):
    assert bool(facts.states(facts.PHONE, normalize(text))) is is_phone
