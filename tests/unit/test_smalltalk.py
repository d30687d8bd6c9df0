"""Small talk and statements (chatbot/smalltalk.py): a message that asks nothing is not searched as a
question, is not answered with the previous answer again, and is not logged as a gap in the documents."""

from __future__ import annotations

import pytest

from chatbot import smalltalk
from chatbot.console.log import QuestionLog
from chatbot.policy import Policy
from chatbot.service import QA
from chatbot.store.files.store import build_index
from chatbot.types import Answer

POLICY = Policy()


@pytest.mark.parametrize("message, expected", [
    ("你好", "greeting"), ("您好！", "greeting"), ("在吗？", "greeting"), ("hello", "greeting"),
    ("Hi there", "greeting"), ("你好，谢谢", "greeting"),
    ("谢谢", "thanks"), ("谢谢你！", "thanks"), ("多谢多谢~", "thanks"), ("thanks!", "thanks"),
    ("Thank you so much", "thanks"), ("谢谢，辛苦了🙏", "thanks"),
    ("好的，明白了", "closing"), ("好", "closing"), ("嗯嗯", "closing"), ("ok", "closing"), ("再见", "closing"),
    ("拜拜~", "closing"), ("got it", "closing"),
    # anything more is a question, even when it starts or ends with small talk
    ("你好，衡水医保电话多少", None), ("好的医院有哪些", None), ("hi, how do I get a card?", None),
    ("谢谢，那石家庄的呢", None), ("明白了，那职工医保呢", None), ("可以报销吗", None), ("hospital", None),
    ("thanks for the number, what about Langfang?", None), ("衡水 医保 电话", None), ("", None), ("？", None),
])
def test_small_talk_is_recognised_only_when_the_message_is_nothing_else(message, expected):
    assert smalltalk.kind(message, POLICY) == expected


@pytest.mark.parametrize("message, expected", [
    ("我是灵活就业的", True), ("我妈有高血压", True), ("我刚生了孩子", True), ("老婆怀孕了", True),
    ("俺爹在老家种地", True), ("I'm self-employed.", True), ("My mom lives in Hebei", True),
    # a question word, a question mark or a request asks something
    ("我想问一下医保", False), ("我妈有高血压，能报销吗", False), ("我要办医保卡", False),
    ("我是灵活就业的？", False), ("I need a new card", False), ("My card is lost, what do I do", False),
    # no speaker: keywords or a topic, not a statement about oneself
    ("衡水 医保 电话", False), ("医保卡丢了", False), ("", False),
])
def test_a_statement_starts_with_its_speaker_and_asks_nothing(message, expected):
    assert smalltalk.is_statement(message, POLICY) is expected


@pytest.mark.parametrize("message, expected", [
    ("你好，请问重庆呢？谢谢！", "重庆呢？"), ("请问衡水医保电话多少", "衡水医保电话多少"),
    ("我想问一下，医保卡丢了怎么办", "医保卡丢了怎么办"), ("医保卡丢了怎么办？麻烦了，谢谢", "医保卡丢了怎么办？"),
    ("您好！想咨询个事。我老公在单位交的职工医保", "我老公在单位交的职工医保"),
    ("Hi, what is the hotline? Thanks!", "what is the hotline?"),
    # spoken fillers set off by a pause, and a modal particle at the very end
    ("嗯，重庆呢？", "重庆呢？"), ("那个，医保卡丢了怎么办", "医保卡丢了怎么办"), ("好的，那石家庄的呢", "那石家庄的呢"),
    ("补办要交多少工本费啊", "补办要交多少工本费"), ("重庆呢啊？", "重庆呢？"), ("Um, what about Tangshan?", "what about Tangshan?"),
    # the same words meaning something: kept (这个/那个 + noun, a question particle, a place)
    ("这个报销比例是多少", "这个报销比例是多少"), ("那个医院能用医保吗", "那个医院能用医保吗"), ("能报销嘛", "能报销嘛"),
    ("哈尔滨", "哈尔滨"),
    # the question put as what one wants to know or be told (session 21)
    ("我想知道衡水市医保电话是多少。", "衡水市医保电话是多少。"), ("想了解一下新生儿怎么参保", "新生儿怎么参保"),
    ("请告诉我异地就医怎么备案", "异地就医怎么备案"), ("你能告诉我衡水的医保电话吗", "衡水的医保电话吗"),
    ("帮我查一下衡水市医保电话", "衡水市医保电话"), ("我想知道的是报销比例", "我想知道的是报销比例"),
    # nothing but small talk, or small talk inside the question: the message as it is
    ("你好", "你好"), ("请问", "请问"), ("好的医院有哪些", "好的医院有哪些"), ("谢谢医生的报销单怎么填", "谢谢医生的报销单怎么填"),
])
def test_the_small_talk_around_a_question_is_not_part_of_it(message, expected):
    assert smalltalk.core(message, POLICY) == expected


def _refusal(question: str, reason: str = "low_confidence") -> Answer:
    return Answer(question, "资料中没有找到能回答这个问题的内容。", True, reason=reason)


def test_a_statement_refused_for_low_confidence_is_acknowledged_and_stays_a_refusal():
    got = smalltalk.acknowledged(_refusal("我是灵活就业的"), "我是灵活就业的", POLICY)
    assert got.refused and got.reason == "statement" and "我是灵活就业的" in got.text and "没有找到" not in got.text
    english = smalltalk.acknowledged(_refusal("I'm self-employed"), "I'm self-employed", POLICY)
    assert english.text.startswith("Noted: I'm self-employed.") and english.reason == "statement"


@pytest.mark.parametrize("answer, message", [
    (_refusal("我妈有高血压，能报销吗"), "我妈有高血压，能报销吗"),  # a question: the refusal stands
    (_refusal("我是北京的", "place"), "我是北京的"),                # refused for another reason: named as it was
    (Answer("我医保卡丢了", "挂失……[1]", False), "我医保卡丢了"),   # answered: the answer stands
])
def test_other_answers_are_left_as_they_are(answer, message):
    assert smalltalk.acknowledged(answer, message, POLICY) is answer


@pytest.fixture
def qa(fake_config, fake_embedder):
    build_index(fake_config, fake_embedder)
    return QA(fake_config, embedder=fake_embedder)


def test_thanks_after_an_answer_is_not_the_answer_again(qa):
    first = qa.ask("衡水市医保电话是多少")
    assert not first.refused
    for message in ("谢谢", "好的，明白了", "你好", "thanks!"):
        got, retrieval = qa.ask_with_hits(message, 5, ["衡水市医保电话是多少"])
        assert got.refused and got.reason == "small_talk" and not got.citations and not retrieval.hits
        assert got.understood_as is None and "0318" not in got.text
    assert qa.ask("thanks!", []).text.startswith("You're welcome")
    assert qa.ask("你好", []).text.startswith("您好")


def test_small_talk_in_the_history_does_not_stand_between_a_question_and_its_follow_up(qa):
    plain = qa.ask("那高新区的呢？", ["衡水市医保电话是多少"])
    chatty = qa.ask("那高新区的呢？", ["衡水市医保电话是多少", "谢谢", "好的"])
    assert plain.understood_as and "衡水" in plain.understood_as
    assert chatty.understood_as == plain.understood_as and chatty.text == plain.text


def test_small_talk_is_not_a_gap_in_the_documents(tmp_path):
    qlog = QuestionLog(tmp_path)
    qlog.record(smalltalk.reply("谢谢", "thanks"))
    qlog.record(_refusal("上海牙科医保能报吗"))
    assert len(qlog.rows(refused=True)) == 2
    assert [q for group in qlog.gaps() for q in group["questions"]] == ["上海牙科医保能报吗"]


def test_a_follow_up_wrapped_in_courtesies_is_read_as_the_bare_follow_up(qa):
    history = ["衡水市医保电话是多少"]
    bare = qa.ask("那高新区的呢？", history)
    polite = qa.ask("你好，请问那高新区的呢？谢谢！", history)
    assert bare.understood_as and polite.understood_as == bare.understood_as and polite.text == bare.text
    assert "你好" not in polite.understood_as and "谢谢" not in polite.understood_as


def test_a_statement_after_a_greeting_is_acknowledged_without_the_greeting(qa):
    plain = qa.ask("我家楼下新开了一家面馆")
    got = qa.ask("你好，我家楼下新开了一家面馆")
    assert plain.reason == "statement" and got.reason == "statement"
    assert "记下了：我家楼下新开了一家面馆" in got.text and "你好" not in got.text


def test_a_statement_read_against_the_conversation_is_acknowledged_unless_it_swaps_in_a_missing_place(qa):
    first = qa.ask("石家庄医保电话多少")  # refused by name: the documents have nothing about 石家庄
    assert first.refused
    job = qa.ask("我是灵活就业的", ["石家庄医保电话多少"])
    assert job.refused and job.reason in ("statement", "low_confidence", "empty") or not job.refused
    assert "没有找到关于「灵活就业」" not in job.text
    place = qa.ask("我在石家庄", ["衡水市医保电话是多少"])
    assert place.refused and place.reason != "statement" and "石家庄" in place.text


def test_small_talk_replies_are_not_marked_as_answers_not_found():
    from chatbot.render import REFUSED_TITLE, answer_as_html

    assert REFUSED_TITLE not in answer_as_html(smalltalk.reply("你好", "greeting"))
    assert REFUSED_TITLE in answer_as_html(_refusal("上海牙科医保能报吗"))


@pytest.mark.parametrize("typed, read", [
    ("医保卡丢了咋办", "医保卡丢了怎么办"),
    ("新生儿医保咋办理", "新生儿医保怎么办理"),
    ("报销基数是按啥定的", "报销基数是按什么定的"),
    ("为啥医保卡余额多了", "为什么医保卡余额多了"),
    ("线下去哪儿查", "线下去哪里查"),
    ("我在外地打工 过年才回安徽 医保还能交不", "我在外地打工，过年才回安徽，医保还能交不"),
])
def test_everyday_question_words_are_read_as_the_standard_ones(typed, read):
    from chatbot.config import Config
    from chatbot.service import QA

    assert QA(Config()).prepare(typed)[0] == read


def test_a_reading_the_conversation_joined_is_left_as_it_is():
    from chatbot.config import Config
    from chatbot.service import QA

    assert QA(Config()).prepare("新生儿 超过90天还没交会咋样", typed=False)[0] == "新生儿 超过90天还没交会咋样"
