"""Session 7 refusal checks (chatbot/retrieval/checks.py): a validity period asked and none stated,
an item asked to be paid for that the documents never speak of, the course of an illness as a
doctor's question. Cases written for these tests."""

from __future__ import annotations

import pytest

from chatbot.answer import compose
from chatbot.policy import Policy
from chatbot.retrieval import checks
from chatbot.textnorm import normalize

from ..helpers.hits import gap, passage, retrieval

POLICY = Policy()

CARD = passage("社保卡补办流程", "社保卡丢失后先挂失,再带身份证到银行网点补办,一般10个工作日内可领取新卡。", 0)
CERT = passage("转诊证明怎么开", "转诊证明由就诊医院开具,有效期为3个月,逾期需重新开具。", 1)
INPATIENT = passage("住院费用报销比例", "住院费用在起付标准以上的部分按80%报销,门诊特殊病种按70%报销。", 2)
SURGERY = passage("阑尾切除手术能报销吗", "阑尾切除手术属于医保报销范围,住院期间的手术费按住院比例报销。", 3)


# --- validity period ---------------------------------------------------------------------------
def test_validity_asked_and_not_stated_is_refused():
    g = gap("社保卡补办以后新卡的有效期是多久", CARD)
    assert g is not None and g.check == "validity" and g.missing == "有效期"


def test_validity_stated_in_a_retrieved_passage_answers():
    assert gap("转诊证明开好以后多久有效", CERT, CARD) is None
    assert gap("转诊证明开好以后多久有效", CARD, CERT) is None  # any retrieved passage stating one


@pytest.mark.parametrize("question, asked", [
    ("社保卡补办以后新卡的有效期是多久", True),
    ("异地就医备案多久失效", True),
    ("How long is the cross-province registration valid?", True),
    ("医保卡里的钱会过期吗", False),                                   # whether it lapses: 不会清零 answers it
    ("Does money in my medical insurance card expire if I never use it?", False),
])
def test_validity_is_how_long_not_whether(question, asked):
    assert bool(POLICY.pattern("validity_asked").search(normalize(question))) is asked


def test_validity_switch_off():
    r = retrieval("社保卡补办以后新卡的有效期是多久", CARD)
    assert checks.find_gap(r, r.hits[0], POLICY.with_values(check_validity=False)) is None


# --- item asked to be paid for -----------------------------------------------------------------
def test_item_is_the_last_noun_before_the_question():
    assert checks.item_asked(normalize("家里老人住院请陪护工的钱医保能报吗"), POLICY) in ("陪护工", "护工")
    assert checks.item_asked(normalize("配一副眼镜医保能报多少钱？"), POLICY) == "眼镜"
    assert checks.item_asked(normalize("这些钱还能报吗"), POLICY) is None       # nothing named
    assert checks.item_asked(normalize("那门诊呢，也能报吗"), POLICY) is None     # the clause names nothing
    assert checks.item_asked(normalize("社保卡怎么补办"), POLICY) is None         # not a coverage question


@pytest.mark.parametrize("question", ["这段时间住院的钱能报吗", "孩子满月前这段时间看病的钱还能报吗"])
def test_a_span_of_time_read_as_a_name_is_not_the_thing_paid_for(question):
    # jieba reads 这段时间 as 这|段时间 and tags 段时间 a person's name (nr): not an item to refuse by name
    things, _ = checks.things_asked(normalize(question), POLICY)
    assert not any("段" in w for w in things), things
    assert checks.item_missing(normalize(question), [INPATIENT.embed_text_normalized], POLICY) is None


def test_item_no_passage_speaks_of_is_refused_by_name():
    g = gap("配一副眼镜医保能报多少钱？", INPATIENT, SURGERY)
    assert g is not None and g.check == "item" and "眼镜" in g.missing


def test_item_a_passage_speaks_of_answers():
    assert gap("阑尾切除手术医保能报吗", SURGERY) is None


def test_item_typed_with_a_homophone_is_spoken_of():
    # 手书 typed for 手术: a passage holding a pair that sounds the same speaks of it
    assert checks.item_missing(normalize("阑尾切除手书能报吗"), [SURGERY.embed_text_normalized], POLICY) is None


def test_item_the_documents_use_elsewhere_is_not_refused():
    # a word of the corpus (known to the keyword index) is a subject of the documents
    assert checks.item_missing(normalize("配一副眼镜医保能报多少钱"), [INPATIENT.embed_text_normalized], POLICY,
                               known=lambda w: w == "眼镜") is None


def test_item_refusal_from_compose():
    ans = compose(retrieval("配一副眼镜医保能报多少钱？", INPATIENT, SURGERY), None, POLICY)
    assert ans.refused and "眼镜" in ans.text


@pytest.mark.parametrize("question, things", [
    ("近视眼激光手术医保能报吗", ["激光", "手术"]),        # the nouns ending the clause, not only the last
    ("医保卡能买化妆品吗", ["化妆品"]),                     # the thing after 能买
    ("医保能报销近视手术吗", ["近视", "手术"]),
    ("这些钱还能报吗", []),
    ("社保卡怎么补办", []),
    ("双眼皮手术医保报销吗", ["双眼皮", "手术"]),           # no 能 before 报销
    ("割双眼皮能不能刷医保", ["割", "双眼皮"]),             # 能不能 … at the end, no particle
    ("全飞秒手术的钱医保给不给报销", ["飞秒", "手术"]),
    ("做近视矫正手术可以用医保卡吗", ["近视", "矫正", "手术"]),
    ("猫咪生病了医保能报吗", ["猫咪", "生病"]),              # 了 ends the clause
    ("老爷子住院押金能刷医保卡吗", ["住院", "押金"]),         # who pays is not the thing paid for
    ("俺娘的假牙能报吗", ["假牙"]),
    ("小米手环能用医保买吗", ["小米", "手环"]),             # the thing before 能用医保买 (session 26)
    ("配眼镜可以刷医保卡支付吗", ["配眼镜"]),
])
def test_things_asked_to_be_paid_for_or_bought(question, things):
    assert checks.things_asked(normalize(question), POLICY)[0] == things


def test_a_thing_asked_the_documents_never_speak_of_is_refused_by_name():
    # 手术 is spoken of (an appendix operation); 激光 is not, nor used anywhere in the documents
    known = {"手术", "阑尾", "切除"}.__contains__
    assert checks.item_missing(normalize("近视眼激光手术医保能报吗"), [SURGERY.embed_text_normalized], POLICY,
                               known=known) == "激光手术"
    assert checks.item_missing(normalize("医保能报销近视手术吗"), [SURGERY.embed_text_normalized], POLICY,
                               known=known) == "近视手术"
    assert checks.item_missing(normalize("阑尾切除手术医保能报吗"), [SURGERY.embed_text_normalized], POLICY,
                               known=known) is None
    assert checks.item_missing(normalize("近视眼激光手术医保能报吗"), [SURGERY.embed_text_normalized],
                               POLICY.with_values(check_things=False), known=known) is None


def test_a_thing_typed_with_a_homophone_is_spoken_of():
    # 手书 typed for 手术, 一保 for 医保: the nouns sound like words of the passage
    assert checks.item_missing(normalize("阑尾切除手书一保给报吗"), [SURGERY.embed_text_normalized], POLICY,
                               known=lambda w: False) is None


# --- the course of an illness is a doctor's question -------------------------------------------
def test_recovery_question_is_medical_advice():
    g = gap("阑尾切除手术做完多久能下地走路", SURGERY)
    assert g is not None and g.reason == "medical"


def test_restored_benefits_are_not_recovery():
    # 待遇 restored after paying late is an insurance matter
    g = gap("断缴以后补交了多久能恢复待遇", INPATIENT)
    assert g is None or g.reason != "medical"


# --- session 8: what a figure question counts, and constraints the conversation carried ---------

YEARS = passage("四川职工医保缴费年限", "男职工累计缴费年限不低于30年,女职工累计缴费年限不低于25年。", 4)


@pytest.mark.parametrize("question, money", [
    ("女的要交多少年才能终身享受", False),   # a counter after 多少 names what is counted: years
    ("断交了要补多少个月", False),
    ("一个人一年交多少", True),              # nothing counted: money
    ("灵活就业一个月交多少钱", True),
    ("成都2026年居民医保缴费标准出来了吗，多少钱", True),  # 多少钱 asks money with no verb before it
    ("深圳医保每个月从工资里扣多少", True),
    ("医保个人账户还剩多少钱，在哪能看到", False),        # what the user's own account holds: no figure of the documents
    ("卡里有多少钱怎么查", False),
    ("配一副眼镜医保能报多少钱", False),                 # how much is paid back: a rate answers it too
    ("2023年北京居民医保住院起付线是多少", True),          # a money threshold asked by its name
    ("西安城乡居民医保2025年个人缴费标准", True),
    ("大病那块的保费一般几月份从卡里划走", False),         # a month, not an amount
    ("缴费标准是按什么定的", False),
    ("想看看个人账户里到底交了多少，去哪查啊，有网址不", False),  # where to look it up: a channel is asked
    ("What share of the cost of Class A drugs does insurance cover?", False),  # a share of the cost: a rate
    ("What does a resident plan cost per year in Chengdu?", True),
])
def test_a_counter_after_the_question_word_is_not_money(question, money):
    assert ("money" in checks.figures_asked(normalize(question), POLICY)) is money


def test_a_years_question_is_answered_by_a_passage_stating_years():
    assert gap("俺娘说四川男的要交30年医保，女的要多少年", YEARS) is None


def _in_context(context: str, own: str, *passages):
    from dataclasses import replace

    r = retrieval(context, *passages)
    return replace(r, alone_tokens=tuple(r.tokens), alone_normalized=normalize(own))


@pytest.mark.parametrize("inherited, refused", [(False, False), (True, True)])
def test_a_group_the_conversation_carried_does_not_refuse(inherited, refused):
    """"北京呢，三级医院住院起付线多少" after a 居民医保 question: the group came from the
    conversation, not from the message; the passage speaks of 职工 only."""
    staff = passage("北京职工医保起付标准", "北京职工医保三级医院住院起付线为1300元。", 6)
    r = _in_context("成都居民医保报销比例 北京呢,三级医院住院起付线多少", "北京呢,三级医院住院起付线多少", staff)
    g = checks.find_gap(r, r.hits[0], POLICY.with_values(inherited_checks=inherited))
    assert (g is not None and g.check == "population") is refused, g


def test_a_group_the_message_names_itself_still_refuses():
    staff = passage("北京职工医保起付标准", "北京职工医保三级医院住院起付线为1300元。", 6)
    r = _in_context("北京三级医院起付线 那居民医保呢,起付线多少", "那居民医保呢,起付线多少", staff)
    g = checks.find_gap(r, r.hits[0], POLICY)
    assert g is not None and g.check == "population", g


def test_a_year_the_conversation_carried_does_not_refuse():
    old = passage("北京起付标准2023年", "2023年北京三级医院住院起付线为1300元。", 7)
    r = _in_context("北京2024年起付线 起付线要多少钱", "起付线要多少钱", old)  # 2024 came from the conversation
    assert checks.find_gap(r, r.hits[0], POLICY) is None
    g = checks.find_gap(r, r.hits[0], POLICY.with_values(inherited_checks=True))
    assert g is not None and g.check == "year", g
    r = _in_context("北京起付线 那2024年起付线要多少钱", "那2024年起付线要多少钱", old)
    g = checks.find_gap(r, r.hits[0], POLICY)
    assert g is not None and g.check == "year", g


@pytest.mark.parametrize("question, check", [
    ("孩子发烧39度要不要马上去医院", "medical"),
    ("孩子发烧39度要去医院吗", "medical"),
    ("Do I need to go to the hospital for a fever of 39 degrees?", "medical"),
    ("这个消炎药一次吃几粒", "medical"),                 # a dose
    ("How many tablets of aspirin a day is safe?", "medical"),
    ("协和医院哪位专家看颈椎病比较好", "medical"),        # which doctor to see
    ("这家公司的股票代码是多少", "off_topic"),
])
def test_triage_and_finance_questions_are_not_insurance_questions(question, check):
    g = gap(question, INPATIENT)
    assert g is not None and g.check == check, g


def test_hospital_words_with_insurance_stay_in_scope():
    g = gap("住院要不要马上去医院办医保备案", INPATIENT)
    assert g is None or g.check != "medical", g


# --- a place covered only by a passage about something else -------------------------------------
ACCOUNT = passage("医保个人账户的钱可在异地使用吗", "个人账户可在异地使用,如重庆、四川等地已开通跨省共济。", 5)
NEWBORN = passage("河北怎么给新生儿交医保", "河北新生儿在出生90天内通过河北税务公众号参保缴费。", 6)


def test_a_place_met_only_by_a_weak_passage_is_refused_by_name():
    from dataclasses import replace

    from ..helpers.hits import retrieval as ranked

    r = ranked("重庆新生儿医保怎么办理", ACCOUNT, NEWBORN)
    weak = replace(r, hits=(replace(r.hits[0], score=0.45), replace(r.hits[1], score=1.0)))
    assert r.hits[0].missing == () and r.hits[1].missing == ("重庆",)
    g = checks.find_gap(weak, weak.hits[0], POLICY)
    assert g is not None and g.check == "place_weak" and g.missing == "重庆"
    close = replace(r, hits=(replace(r.hits[0], score=0.8), replace(r.hits[1], score=1.0)))
    assert checks.find_gap(close, close.hits[0], POLICY) is None  # as strong as the others: it answers
    assert checks.find_gap(weak, weak.hits[0], POLICY.with_values(place_weak_ratio=0.0)) is None
    # the passage about another place need not be among the hits shown: the retriever keeps its score
    only = replace(r, hits=(replace(r.hits[0], score=0.45),), elsewhere=1.0)
    assert checks.find_gap(only, only.hits[0], POLICY).check == "place_weak"


# --- the other population on top, the asked one close behind --------------------------------------
RESIDENT = passage("居民医保缴费截止时间", "城乡居民医保缴费截止日期为12月31日,次年1月1日生效。", 7)
EMPLOYEE = passage("医保卡12月份", "职工医保:缴费截止日期为11月底,次年1月1日生效。", 8)


def test_a_close_passage_naming_the_asked_population_answers():
    from dataclasses import replace

    r = retrieval("职工医保每年的缴费截止到几月底", RESIDENT, EMPLOYEE)
    close = replace(r, hits=(replace(r.hits[0], score=1.0), replace(r.hits[1], score=0.97)))
    a = compose(close, None, POLICY)
    assert not a.refused and "11月底" in a.text, a.text
    far = replace(r, hits=(replace(r.hits[0], score=1.0), replace(r.hits[1], score=0.5)))
    assert compose(far, None, POLICY).refused  # not close: the documents' nearest answer is for 居民
    assert compose(close, None, POLICY.with_values(population_close=0.0)).refused


@pytest.mark.parametrize("message, passage, missing", [
    ("苹果手表呢", "华为WATCH D2作为二类医疗器械,可用医保个人账户购买华为手表。", "苹果手表"),  # 手表 alone is not it
    ("乙类呢", "甲类药品医保报销比例通常为100%。", "乙类"),
    ("学生娃呢", "学生儿童的住院起付线均减半。", None),           # a longer word by one of its pairs
    ("那孩子呢", "成年居民需持居住证参保。", None),                  # a person is who asks, not what
    ("去外地住院呢", "信阳市职工医保住院报销比例。", None),          # a setting with a verb, not a bare thing
    ("那门诊呢", "门诊起付线为100元。", None),
    ("小米手环也行吗", "华为WATCH D2作为二类医疗器械,可用医保个人账户购买华为手表。", "小米手环"),  # the same asked again of another thing
    ("门诊也可以吗", "门诊起付线为100元。", None),
    ("网上办也行吗", "线下到医保大厅办理。", None),                  # an action, not a bare thing
])
def test_an_elliptical_follow_up_must_be_about_what_it_names(message, passage, missing):
    assert checks.elliptical_missing(normalize(message), normalize(passage), POLICY) == missing


# --- a request to write something ---------------------------------------------------------------
@pytest.mark.parametrize("question, refused", [
    ("帮我拟一份陪护请假条，老人在医院住院", True),        # names 住院, still a task, not a question
    ("给我写封感谢信给主治医生", True),
    ("Can you write me a note for my boss saying I'm in hospital?", True),
    ("住院费用报销比例是多少", False),
    ("住院报销要写什么申请", False),                     # asks what to write: an insurance question
])
def test_a_request_to_write_something_is_refused_as_off_topic(question, refused):
    g = gap(question, INPATIENT)
    assert (g is not None and g.check == "request" and g.reason == "off_topic") is refused, g
    if refused:
        a = compose(retrieval(question, INPATIENT), None, POLICY)
        assert a.refused and "代写" in a.text and not a.related


@pytest.mark.parametrize("question, check", [
    ("某某医疗公司的股价最近怎么样", "off_topic"),   # a company's name holds 医疗: still a market question
    ("Which critical illness insurance pays out fastest?", "scheme"),
])
def test_a_market_or_a_commercial_product_is_refused_beside_an_insurance_word(question, check):
    g = gap(question, INPATIENT)
    assert g is not None and g.check == check, g
