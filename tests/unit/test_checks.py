"""Refusal checks (chatbot/retrieval/checks.py) on their own cases, and the review bugs of issue 10."""

from __future__ import annotations

import pytest

from chatbot.answer import compose
from chatbot.policy import Policy
from chatbot.retrieval import checks, facts
from chatbot.retrieval.places import find_places
from chatbot.textnorm import normalize

from ..helpers.hits import gap, passage, retrieval

POLICY = Policy()


HENGSHUI = passage("衡水市医保电话", "衡水市医保电话是0318-12333,这个电话号码是衡水市人力资源和社会保障局的官方热线。")
LANGFANG = passage("廊坊市医保中心咨询电话", "廊坊市医保中心咨询电话为0316-2227779(业务咨询)。", 1)
TRANSFER = passage("异地医保个人账户里的钱怎么转移", "异地医保个人账户里的钱可以随本人转移,资金清算后30个工作日内完成划转。", 2)
WATCH = passage("哪里的药店可以用医保买华为手表", "目前北京、上海、广州、深圳等一线城市的部分医保定点药店已支持使用医保个人账户购买华为手表。", 3)
CANGZHOU = passage("沧州职工医保住院报销", "沧州职工医保在三级医院住院,起付标准为800元,报销比例为85%。", 4)
JILIN = passage("吉林市医保2024年交多少钱", "根据2024年吉林市城乡居民基本医疗保险政策,个人缴费380元/年。", 5)
FAMILY = passage("老婆看病能用丈夫的医保卡付款吗", "医保卡实行实名制管理,仅限本人使用,可通过家庭共济绑定。", 6)
SURGERY = passage("2025年辽宁大连做膝关节单髁置换术能走医保吗?", "膝关节单髁置换术已被明确纳入大连市的医保报销范围。", 7)


# --- place ------------------------------------------------------------------------------------
def test_place_no_passage_covers_is_refused_and_named():
    g = gap("周口川汇区医保局电话是多少", HENGSHUI, LANGFANG)
    assert g is not None and g.reason == "place" and "川汇" in g.missing


def test_place_in_a_general_question_does_not_refuse_a_general_article():
    assert gap("我从郑州跳槽到杭州,医保个人账户的钱能转过去吗", TRANSFER) is None


def test_place_figure_only_listed_as_an_example_is_refused():
    g = gap("深圳少儿医保一年要交多少钱", WATCH)
    assert g is not None and g.reason == "place" and "深圳" in g.missing


def test_place_that_the_title_covers_is_answered():
    assert gap("衡水市医保电话是多少", HENGSHUI) is None


@pytest.mark.parametrize("question,place", [
    ("台灣的健保卡拿到大陸的醫院能不能直接刷", "台湾"),
    ("医保卡在香港的药店能用吗", "香港"),
    ("澳门看病能用内地医保报销吗", "澳门"),
])
def test_place_with_a_scheme_of_its_own_is_refused_even_for_a_rule(question, place):
    """A general rule (家庭共济, 实名制) holds across the mainland, not in Taiwan, Hong Kong or Macau."""
    g = gap(question, FAMILY, TRANSFER)
    assert g is not None and g.reason == "place" and place in g.missing


def test_place_with_a_scheme_of_its_own_is_answered_when_a_passage_speaks_of_it():
    hk = passage("香港居民在内地参加医保", "香港居民持港澳台居民居住证可在内地参加城乡居民医保。", 8)
    assert gap("香港居民在内地能参加医保吗", hk, FAMILY) is None


def test_separate_systems_off_keeps_the_general_rule():
    policy = Policy(separate_systems=())
    assert gap("医保卡在香港的药店能用吗", FAMILY, TRANSFER, policy=policy) is None


# --- scheme -----------------------------------------------------------------------------------
@pytest.mark.parametrize("question,scheme", [
    ("衡水住房公积金管理中心的电话是多少", "住房公积金"),
    ("养老保险交满15年退休后每月能领多少钱", "养老保险"),
    ("灵活就业人员去世了,家属能领多少丧葬补助费", "养老保险"),
    ("惠民保一年交多少钱", "惠民保"),
    ("农村低保户一个月发多少低保金", "最低生活保障"),   # assistance paid out, not the 低保对象's contribution
    ("商业生育保险怎么理赔", "商业保险"),              # session 26: a kind named inside the compound
    ("How do I file a claim with commercial maternity insurance?", "商业保险"),
])
def test_scheme_other_than_medical_insurance_is_refused(question, scheme):
    g = gap(question, HENGSHUI if "衡水" in question else FAMILY)
    assert g is not None and g.reason == "scope" and g.missing == scheme


def test_scheme_named_by_the_passage_is_in_scope():
    assert checks.scheme_missing("养老保险和医保有什么区别", "养老保险与医保的区别", POLICY) is None


@pytest.mark.parametrize("question,scheme", [("养老金怎么领", "养老保险"), ("How do I collect my pension?", "养老保险"),
                                             ("今年退休金涨多少", "养老保险")])
def test_scheme_as_the_whole_subject_is_refused_though_a_passage_mentions_it(question, scheme):
    passage_text = normalize("退休人员医保个人账户按月基本养老金的4%划入,各地已逐步停止与养老金挂钩。")
    assert checks.scheme_missing(normalize(question), passage_text, POLICY) == scheme


@pytest.mark.parametrize("question", ["领养老金的人还要交医保吗", "退休了养老金里每个月扣医保吗"])
def test_scheme_beside_a_medical_insurance_word_needs_the_passage_to_lack_it(question):
    passage_text = normalize("退休人员医保个人账户按月基本养老金的4%划入。")
    assert checks.scheme_missing(normalize(question), passage_text, POLICY) is None


# --- population -------------------------------------------------------------------------------
def test_population_resident_against_employee_passage_is_refused():
    g = gap("沧州城乡居民医保住院报销比例是多少", CANGZHOU)
    assert g is not None and g.reason == "population" and g.missing == "城乡居民"


def test_population_matching_is_answered():
    assert gap("沧州职工医保三级医院住院报销比例是多少", CANGZHOU) is None


# --- fact kind / figure / year ----------------------------------------------------------------
def test_figure_money_question_without_an_amount_is_refused():
    g = gap("华为手表在医保定点药店卖多少钱一块", WATCH)
    assert g is not None and g.reason == "no_fact" and g.missing == "金额"


def test_figure_rate_question_without_a_rate_is_refused():
    g = gap("大连做膝关节单髁置换术医保能报销百分之多少", SURGERY)
    assert g is not None and g.reason == "no_fact" and g.missing == "比例"


def test_figure_balance_lookup_is_not_a_money_question():
    assert checks.figures_asked(normalize("去哪个栏目能看到个人账户还剩多少钱"), POLICY) == []


@pytest.mark.parametrize("question,asked", [
    ("在外地看病報銷，藥品目錄和報銷比例分別按哪裡的標準？", []),  # whose rule: 就医地 or 参保地
    ("异地就医报销比例按哪边的政策", []),
    ("医保个人账户余额的年利率是多少？按什么标准计息", ["interest"]),  # the rate is asked too
])
def test_figure_whose_rule_applies_asks_no_figure(question, asked):
    assert checks.figures_asked(normalize(question), POLICY) == asked


@pytest.mark.parametrize("passage,states", [
    ("本地职工医保和居民医保的统筹基金最高支付限额为8万元。", True),
    ("住院报销比例最高达90%。", True),
    ("5000元至10000元部分按85%报销;10000元以上至最高支付限额部分按90%报销。", False),  # a band's rate
])
def test_figure_a_cap_is_a_cap_words_own_figure(passage, states):
    missing = checks.figure_missing(normalize("成都职工医保封顶线是多少"), normalize(passage), POLICY)
    assert (missing != "cap") is states


@pytest.mark.parametrize("question,contribution", [
    ("北京医保一年交多少", True),
    ("成都城乡居民医保缴费标准", True),
    ("灵活就业人员每个月要交多少钱", True),
    ("How much do I pay for resident medical insurance in Guangxi?", True),
    ("内蒙古医保要交多少年", False),               # years, not an amount
    ("补办医保卡要交多少工本费", False),            # a fee at the counter
    ("住院押金一般要交多少", False),
    ("How much does the company pay per hour for packing jobs?", False),  # a wage, not a contribution
    ("70岁以上老人第二次住院，起付线要交多少", False),  # paid at the hospital, not paid in
    ("住院自付部分要交多少", False),
])
def test_figure_a_contribution_is_what_one_pays_in(question, contribution):
    assert ("contribution" in checks.figures_asked(normalize(question), POLICY)) is contribution


@pytest.mark.parametrize("passage,states", [
    ("2025年度个人缴费标准为400元/人。", True),
    ("成年居民每人每年380元,由个人缴纳。", True),
    ("门诊起付线为100元,一级医院住院起付线为550元。", False),  # thresholds, not what one pays in
])
def test_figure_a_contribution_needs_an_amount_paid_in(passage, states):
    missing = checks.figure_missing(normalize("北京医保一年交多少"), normalize(passage), POLICY)
    assert (missing != "contribution") is states


@pytest.mark.parametrize("question,asked", [
    ("报销比例跟在宁波一样吗", []),
    ("在上海看病报销比例会比宁波低吗", []),
    ("Is it the same reimbursement rate as in Ningbo, or lower?", []),
    ("报销比例比宁波低多少", ["rate"]),
    ("异地就医报销比例是多少", ["rate"]),
    ("What percentage of Class A drug costs does medical insurance reimburse?", ["rate"]),  # costs: what the rate is of
    ("Does insurance cover the surgery? How much is reimbursed?", []),  # 报销多少: the share or the sum
    ("How much does the operation cost?", ["money"]),
])
def test_figure_a_comparison_asked_yes_or_no_asks_no_figure(question, asked):
    """较本地就医略有下浮 answers "is it lower?"; only "lower by how much?" asks for the figure."""
    assert checks.figures_asked(normalize(question), POLICY) == asked


def test_figure_a_comparison_is_answered_by_a_passage_that_compares():
    ruijin = passage("宁波医保上海瑞金能用吗", "门诊费用需按参保地政策执行,报销比例较本地就医略有下浮。", 9)
    assert gap("在上海瑞金看病报销比例会比宁波低吗", ruijin) is None
    g = gap("在上海瑞金看病报销比例比宁波低多少", ruijin)
    assert g is not None and g.reason == "no_fact"


def test_year_not_in_the_passage_is_refused():
    g = gap("吉林市2026年城乡居民医保一个人交多少钱", JILIN)
    assert g is not None and g.reason == "no_fact" and "2026" in g.missing


def test_year_in_the_passage_is_answered():
    assert gap("吉林市2024年城乡居民医保一个人交多少钱", JILIN) is None


# --- off-topic --------------------------------------------------------------------------------
@pytest.mark.parametrize("question", ["衡水到北京坐高铁要多长时间", "长沙五一广场附近有什么好吃的",
                                      "Can you recommend a good hotpot restaurant in Chengdu?", "明天衡水天气怎么样"])
def test_off_topic_is_refused_even_naming_a_corpus_place(question):
    g = gap(question, HENGSHUI)
    assert g is not None and g.reason in ("off_topic", "place")
    assert checks.off_topic(normalize(question), POLICY)


@pytest.mark.parametrize("question", ["坐高铁去外地住院,医保能报销吗", "我是出去旅游突然急诊的算不算",
                                      "出差住酒店那几天在当地就医怎么结算"])
def test_off_topic_word_in_an_insurance_question_is_in_scope(question):
    assert checks.off_topic(normalize(question), POLICY) is None


@pytest.mark.parametrize("question, item", [
    ("结账时能不能刷配偶名下那张卡", None),  # 配 begins 配偶: a person, not "配" (dispense) + 偶名下那张卡
    ("医保卡能买保健品吗", "保健品"),
])
def test_a_person_after_the_verb_is_not_what_is_bought(question, item):
    assert checks.item_missing(normalize(question), ["医保卡仅限本人使用。"], POLICY) == item


@pytest.mark.parametrize("text, names", [
    ("北上广深这种大城市的药店能用医保卡吗", []),          # 大城 (a county of 廊坊) inside 大城市
    ("搬家想把医保迁到新城市", []),
    ("大城县医保电话", ["大城县"]), ("廊坊市大城县", ["廊坊市", "大城县"]), ("新城区医保局电话", ["新城区"]),
])
def test_a_division_name_inside_a_word_with_its_suffix_is_not_a_place(text, names):
    assert [p.name for p in find_places(normalize(text))] == names


# --- refusal shape ----------------------------------------------------------------------------
def test_refusal_names_the_gap_and_shows_related_passages():
    answer = compose(retrieval("衡水住房公积金管理中心的电话是多少", HENGSHUI, LANGFANG), None, POLICY)
    assert answer.refused and answer.reason == "scope" and "住房公积金" in answer.text
    assert answer.related and answer.related[0].passage.title == "衡水市医保电话"


def test_switches_turn_a_check_off():
    r = retrieval("衡水住房公积金管理中心的电话是多少", HENGSHUI)
    assert checks.find_gap(r, r.hits[0], POLICY.with_values(check_scheme=False)) is None


# --- review bugs (issue 10, item 5) -----------------------------------------------------------
@pytest.mark.parametrize("text", ["起付线12000", "起付线12000元", "共12345人参保", "粤械注准2024221"])
def test_bug_numbers_that_are_not_phone_numbers(text):
    assert not facts.states(facts.PHONE, normalize(text))


@pytest.mark.parametrize("text", ["拨打12393咨询", "12345热线", "电话是0318-12333", "0316-12393", "咨询电话为0316-2227779"])
def test_phone_numbers_still_recognised(text):
    assert facts.states(facts.PHONE, normalize(text))


def test_bug_a_date_is_not_an_amount():
    assert not facts.states(facts.AMOUNT, normalize("截至2024年12月"))
    assert facts.states(facts.AMOUNT, normalize("累计缴费满15年"))
    assert facts.states(facts.AMOUNT, normalize("每人每年400元"))


def test_bug_phone_question_with_duoshao_is_not_an_amount_question():
    assert [k.name for k in facts.asked(normalize("衡水市医保电话是多少"))] == ["phone"]


def test_bug_xian_matches_a_place():
    q = "What is the medical insurance hotline in Xi'an?"
    assert [p.name for p in find_places(normalize(q), original=q)] == ["西安"]


def test_a_near_equal_passage_stating_the_asked_figure_answers():
    from chatbot.answer import prefer_stated_figure

    r = retrieval("吉林市城乡居民医保一个人交多少钱", FAMILY, JILIN)  # scores 1.0 and 0.9
    assert prefer_stated_figure(r, POLICY).hits[0].passage.title == JILIN.title
    far = POLICY.with_values(second_ratio=0.95)
    assert prefer_stated_figure(r, far).hits[0].passage.title == FAMILY.title


# --- medical advice, interest, per-day money (session 5) -------------------------------------
CHILDREN = passage("广州市妇女儿童医疗中心", "广州市妇女儿童医疗中心是全国领先的儿科专科医院,设有儿科、呼吸科。", 8)
BALANCE = passage("医保余额怎么多出来的", "医保个人账户每年会产生利息,例如某地退休人员个人账户按养老金的4%划入。", 9)
MATERNITY = passage("长沙生育津贴怎么申请", "生育津贴由用人单位在生育次月起1年内申请,最长不超过自分娩之日起的8个月。", 10)


@pytest.mark.parametrize("question", ["娃咳嗽一个礼拜了,该挂呼吸科还是儿科?要不要吃消炎药",
                                      "感冒发烧吃什么药好得快", "术后康复吃点什么药恢复得快？",
                                      "Which department should I go to for a cough?",
                                      "我膝盖疼了半年，是该做置换还是先保守治疗",  # a choice of treatment
                                      "Should I have the surgery now or wait?",
                                      "要不要去妇女儿童医疗中心挂急诊，先吃点啥退烧药",  # session 26: a kind of medicine named
                                      "宝宝发烧39度要不要马上去挂急诊"])
def test_medical_advice_is_refused_as_a_doctors_question(question):
    g = gap(question, CHILDREN)
    assert g is not None and g.reason == "medical"
    answer = compose(retrieval(question, CHILDREN), None, POLICY)
    assert answer.refused and "医生" in answer.text and answer.related == ()


@pytest.mark.parametrize("question", ["感冒吃什么药医保能报销", "急诊的钱能报销吗", "门诊买药用医保个人账户要不要吃亏", "挂什么科能用医保卡",
                                      "膝关节置换手术医保能报多少"])
def test_medical_words_in_an_insurance_question_are_in_scope(question):
    assert checks.medical_advice(normalize(question), POLICY) is None


def test_interest_rate_not_stated_is_refused_even_beside_other_percentages():
    g = gap("医保个人账户余额的年利率是多少", BALANCE)
    assert g is not None and g.reason == "no_fact" and g.missing == "利率"
    stated = passage("个人账户计息", "个人账户按年计息,利率为1.5%。", 11)
    assert gap("医保个人账户余额的年利率是多少", stated) is None


@pytest.mark.parametrize("question", ["长沙生育津贴一天按多少钱算", "生育津贴每天多少钱"])
def test_money_per_day_needs_an_amount_not_a_duration(question):
    g = gap(question, MATERNITY)
    assert g is not None and g.reason == "no_fact" and g.missing == "金额"


def test_income_tax_deduction_is_another_scheme():
    g = gap("个税APP里大病医疗专项附加扣除怎么填", MATERNITY)
    assert g is not None and g.reason == "scope" and g.missing == "个人所得税"


def test_commercial_medical_cover_is_another_scheme():
    g = gap("我买的百万医疗险住院了,找保险公司理赔要准备哪些材料", MATERNITY)
    assert g is not None and g.reason == "scope" and g.missing == "商业保险"


@pytest.mark.parametrize("question", ["宁波的定点医院能在网上按名称或地址查吗", "Can I search Ningbo's designated hospitals by name or address?"])
def test_an_address_searched_by_is_not_an_address_asked(question):
    assert facts.ADDRESS not in facts.asked(normalize(question))


@pytest.mark.parametrize("question", ["衡水医保局地址", "衡水医保中心地址在哪", "What is the address of the Hengshui medical insurance bureau?"])
def test_an_address_asked_is_still_one(question):
    assert facts.ADDRESS in facts.asked(normalize(question))


def test_a_scheme_the_passage_names_by_another_of_its_words_is_in_scope():
    """失业保险金 asked, 失业金 in the passage: the passage speaks of that scheme."""
    question = normalize("长沙正在领失业保险金的人，生育津贴需要交哪些资料？")
    assert checks.scheme_missing(question, normalize("失业金领取人员只需准备好生育津贴申领表和病历资料。"), POLICY) is None
    assert checks.scheme_missing(question, normalize("生育津贴由用人单位申请。"), POLICY) == "失业保险"


def test_a_scheme_only_the_conversation_carried_does_not_refuse():
    from dataclasses import replace

    r = replace(retrieval("衡水市医保电话是多少", HENGSHUI), normalized=normalize("养老金 衡水市医保电话是多少"),
                alone_normalized=normalize("衡水市医保电话是多少"))
    assert checks.find_gap(r, r.hits[0], POLICY) is None
    named = replace(r, normalized=normalize("养老金 那养老保险呢"), alone_normalized=normalize("那养老保险呢"))
    g = checks.find_gap(named, named.hits[0], POLICY)
    assert g is not None and g.reason == "scope" and g.missing == "养老保险"


@pytest.mark.parametrize("question, phone", [
    ("What's the phone number for resident medical insurance in Xihua county?", True),
    ("Can I track changes in my balance by phone or text message?", True),   # by phone: calling
    ("Which number do I call?", True),
    ("Can I do it on my phone?", False),                                      # the handset, not a number
    ("How do I check my payment history on my phone", False),
    ("Can I pay with my mobile phone?", False),
    ("Is there a phone app for this?", False),
])
def test_a_phone_number_is_asked_not_the_handset(question, phone):
    assert ("phone" in [k.name for k in facts.asked(normalize(question))]) is phone


# --- session 19: what the message itself asks, a question with two asks, places beyond cpca ----
@pytest.mark.parametrize("question", ["我爸有痛风，平时饮食要注意什么", "我爸高血压平时能吃什么", "What should she eat after surgery?"])
def test_diet_advice_is_a_doctors_question(question):
    g = gap(question, CHILDREN)
    assert g is not None and g.reason == "medical"


def test_a_doctors_question_read_in_context_is_refused_though_the_conversation_carried_an_insurance_word():
    """"职工医保住院" came from an earlier question; the message itself asks which department to see."""
    from dataclasses import replace

    r = retrieval("职工医保住院我妈高血压 她最近老是头晕,该挂哪个科", CHILDREN)
    assert checks.find_gap(r, r.hits[0], POLICY) is None  # the carried reading alone: in scope
    read = replace(r, alone_normalized=normalize("她最近老是头晕，该挂哪个科"))
    g = checks.find_gap(read, read.hits[0], POLICY)
    assert g is not None and g.reason == "medical"


def test_a_question_asking_a_rate_and_a_hotline_is_answered_by_the_hotline():
    """Two asks, one the passage answers (the number to call): answered, not refused for the rate."""
    q = "我爷爷在衡水，想知道医保报销比例，还有市里的医保热线是多少"
    assert gap(q, HENGSHUI) is None
    g = gap("衡水市医保报销比例是多少", HENGSHUI)  # the rate alone: refused as before
    assert g is not None and g.reason == "no_fact"
    assert checks.figure_missing(normalize(q), normalize(CANGZHOU.text + "没有电话"), POLICY) is None  # states a rate


@pytest.mark.parametrize("text, name", [("臺北的醫保", "台北"), ("高雄市看病", "高雄市"), ("What about Taipei?", "台北"),
                                        ("九龙的医保", "九龙"), ("花莲县", "花莲县")])
def test_taiwan_and_hong_kong_divisions_are_places(text, name):
    assert name in [p.name for p in find_places(normalize(text), original=text)]


def test_a_taiwan_city_is_refused_by_name():
    card = passage("医保卡丢了怎么补办", "医保卡丢失后可拨打当地社保热线挂失,携带身份证到社保中心办理补卡。", 11)
    g = gap("高雄的健保卡不見了怎麼補辦", card)
    assert g is not None and g.reason == "place" and "高雄" in g.missing


@pytest.mark.parametrize("text, names", [
    ("what about shijiazhuang?", ["石家庄"]), ("what's the hotline in hengshui", ["衡水"]),
    ("what about inner mongolia?", ["内蒙古自治区"]), ("what about harbin", ["哈尔滨市"]),
    ("i live in tianjin, what about changsha", ["天津", "长沙"]),
    # English words that spell a place too, a county's name that is a borrowed word, and English pairs
    ("is there a guide for reimbursement", []), ("my yuan balance", []), ("without a local hukou can i join", []),
    ("do i have to go back to my old city to do it?", []),
])
def test_places_in_an_english_question_typed_in_lower_case(text, names):
    assert [p.name for p in find_places(normalize(text), original=text)] == names


# --- session 21: spaces between Chinese words (a question typed like a search box) -------------
@pytest.mark.parametrize("spaced, reason", [
    ("深圳 少儿医保 一年 要交 多少 钱", "place"),
    ("华为手表 医保 定点药店 卖 多少 钱 一块", "no_fact"),
    ("大连 膝关节 单髁置换术 医保 能报销 百分之 多少", "no_fact"),
    ("吉林市 2026 年 城乡居民医保 一个人 交 多少钱", "no_fact"),
])
def test_a_question_typed_with_spaces_between_its_words_is_refused_as_the_same_question_without(spaced, reason):
    passages = {"深圳": WATCH, "华为": WATCH, "大连": SURGERY, "吉林": JILIN}
    top = next(p for k, p in passages.items() if spaced.startswith(k))
    plain = gap(spaced.replace(" ", ""), top)
    g = gap(spaced, top)
    assert plain is not None and g is not None and (g.reason, g.missing) == (plain.reason, plain.missing) == (reason, plain.missing)


def test_only_the_spaces_between_chinese_characters_go():
    assert checks.unspaced("吉林市 2026 年 城乡居民医保") == "吉林市2026年城乡居民医保"
    assert checks.unspaced("华为 watch d2 在 药店") == "华为 watch d2在药店"
    assert checks.unspaced("what about hengshui") == "what about hengshui"
    assert checks.unspaced("电话 0318 12333") == "电话0318 12333"


def test_a_space_between_two_clauses_is_the_comma_left_out():
    """Joined, 我妈在老家住院 and 能用我的医保卡报销吗 would read as one clause to the checks' patterns."""
    assert checks.unspaced("我妈在老家住院了 能用我的医保卡报销吗") == "我妈在老家住院了，能用我的医保卡报销吗"
    assert checks.unspaced("大额医保 一年扣一次还是咋的 一般几月份扣") == "大额医保一年扣一次还是咋的，一般几月份扣"


def test_a_reading_the_conversation_joined_keeps_its_space():
    """"衡水市医保电话 那廊坊呢" is two parts: the checks read them apart, as before."""
    from dataclasses import replace

    r = retrieval("衡水市医保电话是多少", HENGSHUI)
    read = replace(r, normalized=normalize("衡水市医保电话 那廊坊呢"), alone_normalized=normalize("那廊坊呢"))
    seen = []
    real = checks.off_topic
    try:
        checks.off_topic = lambda q, policy: seen.append(q)
        checks.find_gap(read, read.hits[0], POLICY)
    finally:
        checks.off_topic = real
    assert seen == [normalize("衡水市医保电话 那廊坊呢")]


@pytest.mark.parametrize("typed, read", [
    ("我在外地打工 过年才回安徽 医保还能交吗", "我在外地打工，过年才回安徽，医保还能交吗"),
    ("宝宝的医疗保险没及时交 能不能直接线上补上", "宝宝的医疗保险没及时交，能不能直接线上补上"),
    ("深圳 少儿 医保 一年 要交 多少 钱", "深圳 少儿 医保 一年 要交 多少 钱"),   # a search box's words stay apart
    ("衡水市医保电话 是多少", "衡水市医保电话 是多少"),                       # one side shorter than a clause
    ("2024年 1月1日起", "2024年 1月1日起"),                                     # a figure beside the space
    ("How much is it in Hengshui", "How much is it in Hengshui"),
    ("", ""),
])
def test_a_space_between_two_typed_clauses_becomes_their_comma(typed, read):
    assert checks.clause_commas(typed) == read


# --- opening hours (session 26) ----------------------------------------------------------------
@pytest.mark.parametrize("question, kinds", [
    ("廊坊市医保中心周六开门吗", ["hours"]),
    ("医保中心几点上班", ["hours"]),
    ("衡水高新区医保局那个咨询电话周末打有人接吗", ["phone", "hours"]),
    ("Is the medical insurance office open on Saturdays?", ["hours"]),
    ("周末住院能报吗", []),                                       # a weekend stay, not an office's hours
    ("那会儿还没交过医疗保险费的工作时间，能不能算进交费的年头里", []),   # 工作时间: the years one worked
])
def test_hours_asked(question, kinds):
    assert [k.name for k in facts.required(normalize(question))] == kinds


@pytest.mark.parametrize("text, states", [
    ("这个号码是医保局对外提供咨询服务的主要渠道,工作时间为正常工作日。", True),
    ("除了拨打24小时热线外,还可以通过小程序办理。", True),
    ("廊坊市医保中心地址位于广阳道19号。", False),
])
def test_hours_stated(text, states):
    assert facts.states(facts.HOURS, normalize(text)) is states
