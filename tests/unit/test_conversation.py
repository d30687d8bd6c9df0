"""Follow-up resolution (chatbot/conversation.py): plain text in, stand-alone question out; the
swapped-value check and the "understood as" line, on hand-made retrievals (no model, no index)."""

from __future__ import annotations

import pytest

from chatbot import conversation
from chatbot.conversation import Resolved, resolve
from chatbot.policy import Policy
from chatbot.types import Answer, Hit, Passage, Retrieval

HENGSHUI = "衡水市医保电话是多少"


@pytest.mark.parametrize("history, message, must, must_not", [
    # swaps one slot of the previous question
    ([HENGSHUI], "那高新区的呢？", ["衡水", "高新区", "电话"], []),
    ([HENGSHUI, "那高新区的呢？"], "那冀州区的呢？", ["衡水", "冀州区", "电话"], ["高新区"]),
    (["廊坊医保24小时咨询电话是多少？"], "那保定的呢？", ["保定", "24小时", "电话"], ["廊坊"]),
    (["河北新生儿医保怎么办理"], "江苏的呢？", ["江苏", "新生儿"], ["河北"]),
    (["沧州职工医保在三级医院住院，起付线是多少？"], "一级医院的呢？", ["沧州", "一级医院", "起付线"], ["三级"]),
    (["沧州职工医保住院起付线是多少"], "那第二次住院呢？", ["沧州", "第二次住院", "起付线"], []),
    (["吉林市2024年城乡居民医保一个人交多少钱？"], "那2025年的呢？涨了没", ["吉林", "2025年", "涨了没"], ["2024"]),
    (["成都城乡居民医保2024年一年交多少钱？"], "那职工医保呢？", ["成都", "职工医保"], ["城乡居民"]),
    ([HENGSHUI], "What about Langfang?", ["廊坊", "电话"], ["衡水"]),
    (["What is the medical insurance hotline in Hengshui?"], "What about Langfang?", ["Langfang", "hotline"],
     ["Hengshui"]),
    # 换成 / 改成 … 的话 swap too
    ([HENGSHUI], "换成石家庄的话呢", ["石家庄", "电话"], ["衡水", "换成", "的话"]),
    (["成都城乡居民医保2024年一年交多少钱？"], "那改成职工医保呢？", ["成都", "职工医保"], ["城乡居民", "改成"]),
    (["河北新生儿医保第一年免费吗"], "要是换成山东的话呢", ["山东", "新生儿"], ["河北", "的话"]),
    # 如果是 / 要是 … 呢: the 是 is not part of what is swapped in
    ([HENGSHUI], "如果是高新区呢", ["衡水", "高新区", "电话"], ["如果", "是高新区"]),
    (["成都城乡居民医保2024年一年交多少钱？"], "那要是职工医保呢？", ["成都", "职工医保"], ["城乡居民", "是职工"]),
    # names no subject: the subject comes from the earlier turn, not what it asked
    (["河北新生儿医保怎么办理"], "要带什么材料？", ["河北", "新生儿", "材料"], []),
    (["河北新生儿医保怎么办理"], "网上能办吗", ["新生儿", "网上"], []),
    (["廊坊医保24小时咨询电话是多少"], "市医保中心在什么地方？", ["廊坊", "医保中心", "什么地方"], ["24"]),
    (["长沙申请生育津贴要准备哪些材料？"], "那社保得连续交满几个月才有资格领？", ["生育津贴", "几个月"], ["材料"]),
    # a question phrase (多长时间, 怎么弄) or a modal (才能) names no subject: the place stays, none is carried
    (["新生儿医保在河北咋办理"], "要在多长时间内办完", ["河北", "新生儿", "多长时间"], ["咋办理"]),
    (["北京医保报销怎么弄"], "得等多长时间才能报", ["北京", "多长时间"], ["怎么弄"]),
    (["职工医保交满多少年才能终身享受"], "黑龙江那边要交几年", ["黑龙江", "终身享受"], ["才能终身"]),
])
def test_follow_ups_become_stand_alone_questions(history, message, must, must_not):
    r = resolve(message, history)
    assert r.changed and r.understood_as
    for part in must:
        assert part in r.question, (part, r.question)
    for part in must_not:
        assert part not in r.question, (part, r.question)


@pytest.mark.parametrize("history, message", [
    ([HENGSHUI], "孕检可以用老公的医保卡吗"),         # a new subject: history must not leak in
    ([HENGSHUI], "医保卡丢了怎么补办？"),
    (["廊坊新生儿看门诊医保能报销多少？"], "大额医保一般啥时候开始扣费"),
    ([], "那高新区的呢？"),                             # nothing to lean on
    # its own place and office, asked where: the conversation (about a watch) names none to replace (session 26)
    (["华为手表能用医保买吗", "小米手环也行吗"], "廊坊市医保中心在哪"),
    ([HENGSHUI], ""),
    ([HENGSHUI], "😀"),
    (None, HENGSHUI),
])
def test_stand_alone_messages_are_left_alone(history, message):
    r = resolve(message, history)
    assert not r.changed and r.question == message and r.understood_as is None


@pytest.mark.parametrize("history, message, swap", [
    (["信阳医保住院能报多少"], "信阳医保局的电话是多少", False),  # asks a kind of fact of its own: not a bare swap
    ([HENGSHUI], "那廊坊的电话呢？", True),                      # the same ask: a swap
    ([HENGSHUI], "那廊坊的呢？", True),
    (["新生儿怎么参保"], "那廊坊的呢？", True),                  # no place said before, and nothing asked: still leans on it
    (["支付宝怎么申请异地就医备案？"], "我是吉林参保的，除了支付宝还有别的线上渠道能办吗", True),  # its ask is in a later clause
])
def test_a_message_asking_another_kind_of_fact_is_no_swap(history, message, swap):
    assert (resolve(message, history).kind == "swap") is swap


def test_a_topic_shift_then_a_follow_up_leans_on_the_new_subject():
    r = resolve("那高新区的呢？", ["廊坊医保24小时咨询电话是多少", HENGSHUI])
    assert "衡水" in r.question and "廊坊" not in r.question


def test_english_subject_words_keep_their_spaces_in_a_chinese_follow_up():
    # glued, "checkmedicalinsurancebalance" is one word the search does not know, and the
    # understood-as line reads as a typo
    text = conversation.carried("How do I check my medical insurance balance?", "往年的能查吗")
    assert "medical insurance" in text and "往年" in text
    assert conversation._glued(["医保", "余额", "check", "balance", "明细"]) == "医保余额check balance明细"


@pytest.mark.parametrize("history", [
    [HENGSHUI],
    [{"role": "user", "content": HENGSHUI}, {"role": "assistant", "content": "0318-12333"}],
    [[HENGSHUI, "0318-12333"]],
])
def test_history_in_the_shapes_a_chat_gives(history):
    assert "衡水" in resolve("那高新区的呢？", history).question


def test_swapped_values_are_what_the_answer_must_speak_of():
    assert resolve("那2025年的呢", ["吉林市2024年城乡居民医保交多少钱"]).swapped == ("2025年",)
    assert resolve("那保定的呢？", ["廊坊医保电话"]).swapped == ("保定",)
    assert resolve("要带什么材料？", ["河北新生儿医保怎么办理"]).swapped == ()


def _hit(title: str, text: str, missing=()) -> Hit:
    p = Passage(f"f.txt#{abs(hash(title)) % 997}:0", title, "f.txt", title, None, 0, "article", text)
    return Hit(p, 1.0, 0.5, 1.0, 1, 1, tuple(missing))


def _retrieval(*hits: Hit) -> Retrieval:
    return Retrieval("q", "q", ("q",), (), tuple(hits))


def test_check_puts_passages_with_the_swapped_value_first():
    old, new = _hit("吉林市医保2024年交多少钱", "2024年缴费380元。"), _hit("吉林市医保2025年", "2025年缴费400元。")
    resolved = Resolved("吉林市2025年城乡居民医保交多少钱", True, "…", ("2025年",))
    ranked, absent = conversation.check(_retrieval(old, new), resolved)
    assert absent == () and ranked.hits[0] is new


def test_check_reports_a_value_no_passage_speaks_of():
    resolved = Resolved("吉林市2025年城乡居民医保交多少钱", True, "…", ("2025年",))
    _, absent = conversation.check(_retrieval(_hit("吉林市医保2024年交多少钱", "2024年缴费380元。")), resolved)
    assert absent == ("2025年",)
    answer = conversation.refusal("那2025年的呢", absent)
    assert answer.refused and "2025年" in answer.text


@pytest.mark.parametrize("value,text", [("今年", "2025年度个人缴费标准为400元/人。"), ("去年", "缴费380元。")])
def test_a_relative_year_names_no_year_to_check(value, text):
    resolved = Resolved("广西城乡居民医保今年一个人交多少", True, "…", (value,))
    assert conversation.check(_retrieval(_hit("广西城乡居民医保缴费", text)), resolved)[1] == ()


def test_a_group_is_found_by_its_stem():
    resolved = Resolved("吉林市低保户2024年居民医保交多少", True, "…", ("低保户",))
    found = _hit("吉林市医保2024年交多少钱", "低保对象个人缴费由财政全额资助。")
    assert conversation.check(_retrieval(found), resolved)[1] == ()
    resolved = Resolved("河北低保边缘户退役军人医保交多少", True, "…", ("退役军人",))
    assert conversation.check(_retrieval(found), resolved)[1] == ("退役军人",)


def test_a_swapped_place_must_be_what_the_passage_is_about():
    listed = _hit("河北省内医保卡怎么更换参保地", "可以从石家庄转到沧州。")
    resolved = Resolved("石家庄职工医保住院报销比例是多少", True, "…", ("石家庄",))
    assert conversation.check(_retrieval(listed), resolved)[1] == ("石家庄",)
    number = _hit("吉林省异地就医备案电话", "延吉市医疗保险经办中心异地就医备案电话：0433-2512345。")
    resolved = Resolved("吉林省延吉异地就医备案电话", True, "…", ("延吉",))
    assert conversation.check(_retrieval(number), resolved)[1] == ()


def test_a_city_fits_a_passage_about_the_province_the_question_names_for_rules():
    # 河北省内从保定搬到石家庄: a rules question naming the province; the passage is about the province
    province = _hit("河北省内医保卡怎么更换参保地", "河北省内更换参保地全程网办,无需返回原参保地办理。")
    resolved = Resolved("能改 我在河北省内从保定搬到石家庄,还要回保定办吗", True, "…", ("保定",))
    assert conversation.check(_retrieval(province), resolved, broader=True)[1] == ()
    assert conversation.check(_retrieval(province), resolved)[1] == ("保定",)  # a phone or figure: the city itself
    # a bare swap that does not name the province still needs the city itself (东莞 after 广州 ≠ 广东's article)
    guangdong = _hit("广东儿科最有名的儿童医院", "广东省儿科领域最负盛名的儿童医院是广州市妇女儿童医疗中心。")
    resolved = Resolved("东莞的公费医疗能在用吗", True, "…", ("东莞",))
    assert conversation.check(_retrieval(guangdong), resolved, broader=True)[1] == ("东莞",)


def test_annotate_says_how_the_follow_up_was_understood():
    resolved = Resolved("衡水高新区医保电话是多少", True, "衡水高新区医保电话是多少")
    out = conversation.annotate(Answer("q", "电话是0318-2168618。[1]", False), resolved, "那高新区的呢？")
    assert out.text.splitlines()[0] == "（按“衡水高新区医保电话是多少”理解）"
    assert out.understood_as == "衡水高新区医保电话是多少" and out.question == "那高新区的呢？"
    same = Answer("q", "x", False)
    assert conversation.annotate(same, Resolved("q", False)) is same


@pytest.mark.parametrize("typed", ["以前交的年限还算吗", "以前交的年限还算吗？", "以前 交的年限，还算吗"])
def test_a_reading_that_repeats_the_message_adds_no_line(typed):
    """Read in context but understood as typed (the conversation added no words): a line
    （按“以前交的年限还算吗”理解） tells the reader nothing, so there is none."""
    plain = Answer("q", "河北：缴费年限自动累计。[1]", False)
    out = conversation.annotate(plain, Resolved("以前交的年限还算吗", True, "以前交的年限还算吗"), typed)
    assert out is plain and out.understood_as is None
    worded = conversation.annotate(plain, Resolved("q", True, "以前交的年限还算吗"), "以前交的年头还算吗")
    assert worded.text.startswith("（按“以前交的年限还算吗”理解）")  # a reworded reading keeps its line


def test_a_place_named_in_a_sentence_without_the_figure_asked_is_not_spoken_of():
    # the sentence states an amount of some kind (30个), not the contribution asked
    text = "目前,北京、天津、上海等30个省份已开通省内异地使用。"
    assert conversation.speaks_of("医保个人账户的钱可在异地使用吗", text, "天津", "天津居民医保交多少")
    assert not conversation.speaks_of("医保个人账户的钱可在异地使用吗", text, "天津", "天津居民医保交多少",
                                      policy=Policy())
    stated = "天津城乡居民医保2025年缴费标准为每人每年400元。"
    assert conversation.speaks_of("医保个人账户的钱可在异地使用吗", stated, "天津", "天津居民医保交多少", policy=Policy())


# --- session 19: statements in English, references back past the last message -----------------
def test_an_english_statement_goes_in_front_as_a_statement():
    r = resolve("How long do we have to enroll a newborn?", ["We live in Hebei."])
    assert r.changed and "Hebei. How long" in r.question and ".?" not in r.question


def test_a_chinese_follow_up_after_an_english_statement_carries_its_place():
    r = resolve("新生儿要多久内参保", ["We live in Hebei."])
    assert r.changed and "河北" in r.question


@pytest.mark.parametrize("earlier, message, expected", [
    (["异地就医怎么备案", "医保卡丢了怎么补办"], "我第一个问题里，备案要带什么材料", 0),
    (["衡水医保电话多少", "异地就医怎么备案", "成都居民医保一年交多少"], "最开始那个电话还能打吗", 0),
    (["沧州职工医保住院报销比例多少", "医保卡丢了怎么补办"], "再回到前面住院报销的事，三级医院呢", 0),
    (["沧州职工医保住院报销比例多少", "医保卡丢了怎么补办", "家庭共济怎么绑定"], "再说回刚才补办医保卡的事，要带什么", 1),
    (["沧州职工医保住院报销比例多少", "医保卡丢了怎么补办"], "刚才说的补办要多久", None),  # the last message: nothing further back
    (["沧州职工医保住院报销比例多少", "医保卡丢了怎么补办"], "二级医院起付线多少", None),  # no word pointing back
    (["沧州职工医保住院报销比例多少"], "回到刚才住院那个问题", None),  # one earlier message: it is the last
    (["How much is Chengdu's resident insurance?", "How do I get a new card?"], "Going back to Chengdu insurance, can students join?", 0),
    (["How much is Chengdu's resident insurance?", "How do I pay it?"], "Can I pay earlier than December?", None),  # "earlier" points nowhere
    (["How much is Chengdu's resident insurance?", "How do I get a new card?"], "And My first question: can students join?", 0),
])
def test_a_message_pointing_back_is_read_against_the_message_it_points_to(earlier, message, expected):
    from chatbot.dialogue import referred

    assert referred(message, earlier, Policy()) == expected


def test_a_chatty_historys_words_the_documents_never_use_are_not_carried():
    """Only words the documents use (or a character pair of them) are carried as the subject:
    感觉, 麻烦 and 三口 name nothing the documents could be about; 职工医保 and 现金 do."""
    corpus = "职工医保 居民医保 个人账户 现金 缴费 孩子 上班"
    known = lambda w: any(w[i:i + 2] in corpus for i in range(len(w) - 1))  # noqa: E731
    context = "我们家三口人，我交职工医保，孩子交居民医保，每年掏现金感觉挺麻烦的"
    text = conversation.carried(context, "能不能从我的个人账户里扣", known)
    assert "职工医保" in text and "现金" in text
    assert not any(w in text for w in ("感觉", "麻烦", "三口"))
    assert "麻烦" in conversation.carried(context, "能不能从我的个人账户里扣")  # without `known`: every word


@pytest.mark.parametrize("message, body", [
    ("如果是淮阳区医保局电话呢", "淮阳区医保局电话呢"), ("那要是职工医保呢？", "职工医保呢？"),
    ("换成石家庄的话呢", "石家庄呢"), ("如果异地就医怎么报销", "异地就医怎么报销"), ("是不是要先备案", "是不是要先备案"),
])
def test_what_a_message_says_without_its_lead(message, body):
    """如果是 X 呢 asks about X: the 是 goes with the lead (it was shown as 按“是淮阳区医保局电话呢”理解)."""
    assert conversation._body(message) == body
