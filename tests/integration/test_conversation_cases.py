"""Conversations written for the tests (eval/conversations.jsonl, not copied from a dev file),
through the chat's own path with the real model: 2–3-message histories, topic shifts, pronouns,
omitted subjects, English follow-ups, and a swapped-in place the documents do not cover."""

from __future__ import annotations

import json

import pytest

from chatbot import evaluation

from ..helpers import EVAL

CASES = {json.loads(line)["id"]: json.loads(line) for line in
         (EVAL / "conversations.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()}


def _run(real_qa, case_id):
    item = CASES[case_id]
    return evaluation.outcome(item, *real_qa.ask_with_hits(item["query"], 10, item["history"]))


@pytest.mark.parametrize("case_id, what", [
    ("t-30", "three messages: 吉林 and 新农合 from the first two, '能在手机上弄吗' asks how"),
    ("t-33", "three messages: the subject of the first carried through an elliptical second"),
    ("t-32", "a pronoun (他) after a topic of two messages"),
    ("t-29", "the subject spread over two earlier messages"),
    ("t-02", "an omitted subject after two messages"),
    ("t-06", "a topic shift to another place after a swap"),
    ("t-21", "a follow-up on the second of two topics"),
    ("t-09", "an English follow-up"),
    ("t-25", "an English follow-up swapping the office"),
])
def test_follow_ups_are_answered_from_the_right_passage(real_qa, case_id, what):
    o = _run(real_qa, case_id)
    assert o.rank == 1 and o.hit, (what, o.top_title, o.answer)


@pytest.mark.parametrize("case_id", ["t-03", "t-23"])
def test_a_new_subject_stands_alone(real_qa, case_id):
    o = _run(real_qa, case_id)
    assert o.understood_as is None, o.understood_as
    assert ("0316" not in o.answer) and ("广阳道" not in o.answer)


@pytest.mark.parametrize("case_id, place", [("t-07", "保定"), ("t-27", "郑州"), ("t-36", "秦皇岛"),
                                            ("t-08", "石家庄")])
def test_a_swapped_in_place_the_documents_do_not_cover_is_refused_by_name(real_qa, case_id, place):
    o = _run(real_qa, case_id)
    assert o.refused and place in o.answer, o.answer


def test_another_scheme_in_a_follow_up_is_refused(real_qa):
    o = _run(real_qa, "t-24")
    assert o.refused and "养老保险" in o.answer


@pytest.mark.parametrize("history, message, named", [
    (["How many years of contributions does Inner Mongolia require for lifetime medical insurance?"],
     "What about Harbin?", "哈尔滨"),                   # an English name that is not pinyin
    (["信阳医保住院能报多少"], "信阳医保局的电话是多少", "信阳"),  # its own ask (a phone), not a swap of 信阳
])
def test_an_uncovered_place_in_a_follow_up_is_refused_by_name(real_qa, history, message, named):
    a = real_qa.ask(message, history)
    assert a.refused and named in a.text, a.text


def test_a_name_shared_with_a_district_elsewhere_is_the_city(real_qa):
    # 西安 (陕西) is also a district of 吉林's 辽源: a passage about 吉林省 does not answer for it
    a = real_qa.ask("西安城乡居民医保2025年个人缴费标准")
    assert a.refused and "西安" in a.text, a.text


@pytest.mark.parametrize("history", [["养老金怎么领"], ["How do I collect my pension?"]])
def test_a_scheme_refused_earlier_does_not_refuse_a_complete_question_after_it(real_qa, history):
    """Found in the browser (session 13): after a pension question was refused, "衡水市医保电话是多少"
    carried 养老金 and was refused as another scheme. A scheme only the conversation carried does not
    refuse; one the message names itself still does."""
    a = real_qa.ask("衡水市医保电话是多少", history)
    assert not a.refused and "0318-12333" in a.text and "[1]" in a.text
    assert real_qa.ask("那养老保险呢", history).refused


def test_a_complete_question_after_a_refused_one_stands_alone(real_qa):
    """Its own subject (异地就医: whose 目录 and whose 比例) and a fair stand-alone match: the earlier
    成都 cap question (refused) must not be carried into it, or 成都's band rates answer it."""
    a = real_qa.ask("在外地看病报销，药品目录和报销比例分别按哪里的标准？", ["成都职工医保住院一年最多能报多少钱？封顶线是多少？"])
    assert not a.refused and a.understood_as is None
    assert "就医地" in a.text and "参保地" in a.text


@pytest.mark.parametrize("history", [
    ["How much is the 2024 resident medical insurance in Jilin City?"],
    ["成都职工医保住院一年最多能报多少钱？封顶线是多少？", "在外地看病报销，药品目录和报销比例分别按哪里的标准？",
     "How much is the 2024 resident medical insurance in Jilin City?"],
])
def test_a_place_and_a_fact_asked_stand_alone_after_other_topics(real_qa, history):
    """衡水市医保电话是多少 names no subject word the rules count (医保 and 电话 are generic), so they
    would carry the conversation's words into it; its own place and confident match make it stand
    alone, and the understood-as line no longer piles up the earlier messages' fragments."""
    a = real_qa.ask("衡水市医保电话是多少", history)
    assert not a.refused and a.understood_as is None, a.understood_as
    assert "0318-12333" in a.text


@pytest.mark.parametrize("history", [
    ["深圳 少儿医保 一年 要交 多少 钱"], ["深圳少儿医保一年要交多少钱"], ["北京职工医保报销比例是多少"],
    ["河北新生儿医保怎么办理"],
])
def test_a_new_question_answered_as_it_would_be_alone_shows_no_reading_of_the_conversation(real_qa, history):
    """Read in context, 衡水市医保电话是多少 gets the same answer as read alone; its understood-as
    line said 按“少儿医保要交 衡水市医保电话是多少”理解 (the earlier question's words glued on) although
    the conversation changed nothing in the answer. The line goes; the answer stays."""
    a = real_qa.ask("衡水市医保电话是多少", history)
    assert not a.refused and a.understood_as is None and "理解" not in a.text, a.text
    assert a.text.startswith("衡水市医保电话是0318-12333"), a.text


def test_a_follow_up_whose_answer_depends_on_the_conversation_keeps_its_reading(real_qa):
    """要是超过90天还没交会咋样 after 河北新生儿医保怎么办理: alone it gets another answer, so the line
    saying it was read about 新生儿 stays."""
    a = real_qa.ask("要是超过90天还没交会咋样", ["河北新生儿医保怎么办理"])
    assert not a.refused and a.understood_as and "新生儿" in a.understood_as
    assert a.text.startswith(f"（按“{a.understood_as}”理解）\n"), a.text


def test_a_place_with_a_vague_message_is_still_read_in_context(real_qa):
    """长春要在哪里交 after a 吉林市 居民医保 question: too vague to stand alone, it keeps the
    conversation's subject, and 长春 (not in the documents) is refused by name."""
    a = real_qa.ask("长春要在哪里交", ["吉林市2024年居民医保交多少钱"])
    assert a.refused and a.understood_as and "居民医保" in a.understood_as
    assert "长春" in a.text


def test_a_swapped_in_place_whose_contribution_is_not_stated_is_refused(real_qa):
    """北京呢 after 成都医保一年交多少: the 北京 passage states thresholds (起付线 100元), not what one
    pays in; quoting them as the answer would state a figure that answers another question."""
    a = real_qa.ask("北京呢", ["成都医保一年交多少"])
    assert a.refused and "缴费金额" in a.text, a.text


def test_a_complete_question_with_a_weak_match_is_not_glued_to_the_last_topic(real_qa):
    """医保卡里的钱会过期吗 names its own subject; its own match is weak (0.39), but the context reading
    (the refused 近视眼激光手术 question and 衡水's phone before it) is no better: it stands alone and is
    answered from the passage saying the money does not lapse."""
    history = ["成都医保一年交多少", "北京呢", "How much is the 2024 resident medical insurance in Jilin City?",
               "衡水市医保电话是多少", "近视眼激光手术医保能报吗"]
    a = real_qa.ask("医保卡里的钱会过期吗", history)
    assert not a.refused and a.understood_as is None, a.understood_as
    assert "清零" in a.text and "0318" not in a.text, a.text


@pytest.mark.parametrize("history, message, said", [
    (["沧州职工医保在一级医院住院报多少"], "我的医保卡余额为什么多了一笔钱", "缴费基数上调"),
    (["沧州职工医保住院怎么报销", "那二级医院呢"], "我的医保卡余额为什么多了一笔钱", "缴费基数上调"),
])
def test_a_topic_shift_with_a_strong_match_of_its_own_stands_alone(real_qa, history, message, said):
    """The message names its own subject (医保卡余额) and its own best match is strong, while its own
    ranking puts the conversation's passage (沧州's hospital rates) far below: a new question. Its
    context reading was more confident by a hair, so without the shift rule it was answered with
    沧州's 起付标准."""
    a = real_qa.ask(message, history)
    assert not a.refused and a.understood_as is None, a.understood_as
    assert said in a.text and "起付标准" not in a.text, a.text


def test_a_message_naming_no_place_keeps_the_conversations_place_over_another_places_passage(real_qa):
    """以前交的年限还算吗 names no place; alone, its best passage is 四川's years of contribution,
    while the conversation is about moving within 河北. The conversation's place holds: answered
    from 河北's passage on changing where one is insured (policy.context_place_conflict)."""
    history = ["我在河北，参保地想从保定换到石家庄"]
    a = real_qa.ask("以前交的年限还算吗", history)
    assert not a.refused and "缴费年限" in a.text and "四川" not in a.text, a.text
    assert "河北" in a.citations[0].passage.title, a.citations[0].passage.title
    from chatbot.service import QA

    qa_off = QA(real_qa.config, policy=real_qa.policy.with_values(context_place_conflict=False))
    assert "四川" in qa_off.ask("以前交的年限还算吗", history).citations[0].passage.title  # what the rule changes


@pytest.mark.parametrize("history, message", [
    (["廊坊医保24小时咨询电话是多少"], "宁波医保的定点医疗机构门户网上怎么找医院"),
    (["西华医保咨询电话"], "宁波医保定点机构门户网能按什么条件查医院"),
])
def test_a_message_with_its_own_subject_does_not_inherit_the_phone_number_asked_before(real_qa, history, message):
    """Read in context (that reading is a hair more confident), the message still asks its own kind of
    fact: the earlier question's phone number must not make every passage lack it, or the portal
    question is refused for want of 宁波's number."""
    a = real_qa.ask(message, history)
    assert not a.refused, a.text
    assert "宁波" in a.text and "门户网" in a.text


@pytest.mark.parametrize("history, message, named", [
    (["华为手表能用医保买吗"], "苹果手表呢", "苹果手表"),
    (["甲类药报销比例是多少"], "乙类呢", "乙类"),
])
def test_an_elliptical_follow_up_about_something_else_is_refused_by_name(real_qa, history, message, named):
    """那X呢 asks about X only: answered from the earlier subject's passage (华为's watch for an Apple
    one, 甲类's 100% for 乙类), it would state a fact about something the user did not ask about."""
    a = real_qa.ask(message, history)
    assert a.refused and named in a.text, a.text


def test_a_follow_up_asking_the_amount_is_answered_from_the_passage_stating_it(real_qa):
    """一年交多少钱 after a 成都 外地户口 question: the earlier turn's passage (who may enrol) is lifted by the
    conversation's words and states no amount; the 缴费标准 passage, at 0.75 of its score, answers."""
    a = real_qa.ask("一年交多少钱", ["成都外地户口能买居民医保吗"])
    assert not a.refused and "元" in a.text, a.text


def test_a_swapped_group_is_not_answered_from_a_far_passage_that_merely_names_it(real_qa):
    """居民医保呢 after a 沧州 职工 hospital question: 河北's newborn page names 居民医保 (and 河北 covers 沧州
    for rules) but scores under half the 沧州 passage; put first, it made the answer a refusal naming 沧州,
    which the documents do cover. Now the 沧州 passage stays first and the refusal says what is missing:
    the 城乡居民 rules."""
    a = real_qa.ask("居民医保呢", ["沧州职工医保住院报销"])
    assert a.refused and "城乡居民" in a.text and "「沧州」" not in a.text, a.text


def test_a_place_listed_among_regions_does_not_answer_for_its_amount(real_qa):
    """天津2025年居民医保交多少 after a 成都 conversation: 天津 appears only in a list of regions where
    accounts work across places, a sentence stating no amount; the refusal names 天津, not 2025年."""
    a = real_qa.ask("天津2025年居民医保交多少", ["成都外地户口能买居民医保吗", "一年交多少钱"])
    assert a.refused and "「天津" in a.text, a.text


@pytest.mark.parametrize("typed, written, message", [
    ("沧州 职工 医保 在 二级 医院 住院 报 多少", "沧州职工医保在二级医院住院报多少", "那城乡居民医保呢？"),
    ("成都 城乡居民 医保 一年 交 多少 钱", "成都城乡居民医保一年交多少钱", "重庆呢"),
    ("职工 医保 异地 医保 个人账户 里 钱 能 转 走", "职工医保异地医保个人账户里钱能转走", "那居民医保的呢"),
])
def test_an_earlier_message_typed_like_a_search_box_is_read_as_if_written(real_qa, typed, written, message):
    """The conversation reads the earlier message's words run together (as the refusal checks do):
    "职工 医保" is the group 职工医保 the swap replaces, and the understood-as line is not spaced out
    (it was 沧州城乡居民医保 职工 医保 在 二级 医院 住院 报 多少)."""
    a, b = real_qa.ask(message, [typed]), real_qa.ask(message, [written])
    assert a.understood_as == b.understood_as and a.refused == b.refused, (a.understood_as, b.understood_as)
    assert " " not in (a.understood_as or ""), a.understood_as


@pytest.mark.parametrize("everyday, standard", [
    ("武汉新生儿医保咋办理", "武汉新生儿医保怎么办理"),
    ("武汉医保局电话是啥", "武汉医保局电话是什么"),
])
def test_a_question_in_everyday_words_is_refused_for_an_uncovered_place_as_the_standard_one(real_qa, everyday, standard):
    """咋 once matched a title's 咋补交 (新生儿医保咋补交在网上, naming no place), which then answered for 武汉;
    read as 怎么 (policy.everyday_asks) the question ranks and is refused as written in standard words."""
    a, b = real_qa.ask(everyday), real_qa.ask(standard)
    assert b.refused and a.refused and a.text == b.text, (a.text, b.text)


@pytest.mark.parametrize("history, message", [
    (["家庭共济开通了"], "我妈去看病时具体怎么用"),
    (["我之前在山东交医保", "现在到河北工作了"], "转过来咋办"),
])
def test_a_message_whose_own_match_would_be_refused_is_read_in_context(real_qa, history, message):
    """Read alone, these messages' best passages have cosines under the refusal floor, so the answer
    was 没有找到 although the conversation says what they ask about. A reading that would be refused
    counts as no match (policy.context_gated); with the rule off they are refused again."""
    from chatbot.service import QA

    a = real_qa.ask(message, history)
    assert not a.refused and a.understood_as, a.text
    qa_off = QA(real_qa.config, policy=real_qa.policy.with_values(context_gated=False))
    assert qa_off.ask(message, history).refused


@pytest.mark.parametrize("history, message, reason", [
    (["我有商业医疗险"], "那份保险理赔要提交什么资料", "scope"),   # no scheme named in the message itself
    (["我老婆怀孕了，产检想用医保"], "怀孕初期每天补多少钙合适", "medical"),  # was refused as a missing 金额
])
def test_the_learned_check_refuses_and_names_what_the_word_lists_miss(real_qa, history, message, reason):
    """Neither message names a scheme or a medicine the word lists know; the learned check
    (retrieval/scope.py) tells them from insurance questions by the model's vector."""
    from chatbot.service import QA

    a = real_qa.ask(message, history)
    assert a.refused and a.reason == reason, (a.reason, a.text)
    off = QA(real_qa.config, policy=real_qa.policy.with_values(scope_learned=False)).ask(message, history)
    assert off.reason != reason


@pytest.mark.parametrize("message", ["孩子发烧去医院看病能用医保吗", "医保卡丢了怎么补办", "住院押金能刷医保卡吗"])
def test_insurance_questions_near_medicine_stay_answered(real_qa, message):
    a = real_qa.ask(message)
    assert not a.refused, a.text
