"""The fact first (issue 18): answers open with a unit that states what was asked, never with a
list heading, a lead-in ending in ':' or a bare figure; units are cut cleanly from scraped run-ons;
supporting units follow in the passage's order; passages for different places are quoted one line
per version; a district's passage is not quoted beside the city asked about."""

from __future__ import annotations

import re

import pytest

from chatbot.answer import compose, unit_scorer
from chatbot.evaluation import first_evidence_at, reading_text
from chatbot.policy import Policy
from chatbot.quoting import can_open, units

from ..helpers.hits import passage, retrieval

POLICY = Policy()


def answer(question: str, *passages: Passage) -> str:
    a = compose(retrieval(question, *passages, step=0.05), None, POLICY)
    assert not a.refused, a.text
    return a.text


@pytest.mark.parametrize("text, first, rest", [
    ("25年 根据内蒙古自治区相关规定,医保缴费年限要求如下: 一、累计缴费年限标准 参保人员需累计缴费满 25年 ,且实际缴费年限不少于15年。",
     "25年", "参保人员需累计缴费满 25年 ,且实际缴费年限不少于15年。"),
    ("衡水高新区医保局的电话是:0318-2168618 对于居住在衡水高新区的人们来说,了解医保局的联系方式至关重要。",
     "衡水高新区医保局的电话是:0318-2168618", "对于居住在衡水高新区的人们来说,了解医保局的联系方式至关重要。"),
    ("以下是关于衡水高新区医保局电话的详细信息: 电话号码 :衡水高新区医保局的官方电话号码为0318-2168618。",
     "以下是关于衡水高新区医保局电话的详细信息:", "电话号码 :衡水高新区医保局的官方电话号码为0318-2168618。"),
    ("办理要点如下: 所需材料  身份证原件和户口本复印件,到医保窗口现场提交即可。",
     "办理要点如下:", "身份证原件和户口本复印件,到医保窗口现场提交即可。"),  # a heading after a lead-in's colon
])
def test_units_cut_scraped_run_ons_where_items_change(text, first, rest):
    got = units(text)
    assert got[0] == first and got[-1] == rest


def test_bold_spaces_and_short_completions_stay_inside_a_unit():
    assert units("社保需要连续缴纳满 12个月 (含生育当月)才能享受生育津贴。") == ("社保需要连续缴纳满 12个月 (含生育当月)才能享受生育津贴。",)
    assert units("医院级别差异 三级医院:85% 二级医院:90% 一级医院:92%。")[-1].endswith("三级医院:85% 二级医院:90% 一级医院:92%。")
    assert units("安徽医疗保险的集中缴费截止时间为 2025年2月底 。") == ("安徽医疗保险的集中缴费截止时间为 2025年2月底 。",)


def test_a_list_number_left_dangling_by_the_page_does_not_end_a_unit():
    got = units("起付线内:自费 起付线后:按比例报销(如50%、70%、80%等) 二")
    assert got[-1].endswith("(如50%、70%、80%等)")
    assert units("结余的统筹额度会结转至下一年度。 二") == ("结余的统筹额度会结转至下一年度。",)
    assert units("缴费满二十年 可享受退休待遇。")[-1].endswith("可享受退休待遇。")  # a numeral inside stays


@pytest.mark.parametrize("text, expected", [
    ("换卡时需准备以下材料: 户口簿原件;", ("换卡时需准备以下材料:户口簿原件;",)),        # an item ending in ';'
    ("领取条件 : 孩子需已满三周岁。办理流程 : 带上证件去窗口。",                        # an item ending in '。'
     ("领取条件 :孩子需已满三周岁。", "办理流程 :带上证件去窗口。")),
    ("举个例子: 住院起付线:800元", ("举个例子:住院起付线:800元",)),                    # an item stating a figure
    ("办理要点如下: 一、线上办理", ("办理要点如下:", "一、线上办理")),                  # a numbered heading stays apart
    ("具体要点如下: 备案流程", ("具体要点如下:", "备案流程")),                          # so does a bare heading
    ("具体如下: 申请人可以在手机上提交全部材料。", ("具体如下:", "申请人可以在手机上提交全部材料。")),  # a sentence opens alone
])
def test_a_short_list_item_is_quoted_with_its_lead_in(text, expected):
    """"本人有效身份证件;" alone cannot open an answer (too short to state anything), and a unit
    that cannot open is never quoted: joined to the lead-in that introduces it, it can."""
    assert units(text) == expected
    assert all(can_open(u) for u in expected if u.endswith((";", "。")) or u[-1:].isdigit() or u.endswith("元"))


@pytest.mark.parametrize("unit, ok", [
    ("一、办理流程", False), ("以下是具体办理步骤:", False), ("25年", False), ("0318-2168618", False),
    ("70%", False), ("衡水市医保电话是0318-12333。", True), ("医保卡里的钱不花不会清零或作废。", True),
])
def test_only_a_unit_that_states_something_may_open(unit, ok):
    assert can_open(unit) is ok


FILLER = "医保政策经常会有更新和调整,居民通过各种渠道可以及时了解最新的政策变化和办理要求。"


@pytest.mark.parametrize("question, body, fact", [
    ("换社保卡要带什么证件", f"更换社保卡无需回原参保地办理,就近即可。所需材料 换卡时需准备以下材料: 户口簿原件; {FILLER}", "户口簿原件"),
    ("领这个补贴有什么条件", f"这项补贴每年发放一次,按季度到账。领取条件 : 孩子需已满三周岁。{FILLER}", "孩子需已满三周岁"),
])
def test_an_answer_quotes_the_list_item_that_answers(question, body, fact):
    text = reading_text(answer(question, passage("社保卡补贴说明", body)))
    assert fact in text and text.index(fact) < 60, text


@pytest.mark.parametrize("question, title, body, fact", [
    ("廊坊医保24小时咨询电话是多少", "廊坊医保24小时咨询电话",
     f"一、热线介绍 以下是热线的详细信息: {FILLER} 廊坊医保24小时咨询电话是0316-12393。", "0316-12393"),
    ("吉林市2024年城乡居民医保一个人交多少钱", "吉林市医保2024年交多少钱",
     f"{FILLER} 一、个人缴费标准 普通城乡居民每人每年缴费380元。", "380元"),
    ("安徽医保缴费截止到什么时候", "安徽医疗保险缴费截止时间",
     f"2025年2月底 {FILLER} 安徽医疗保险的集中缴费截止时间为 2025年2月底 。", "截止时间为 2025年2月底"),
    ("医保卡里的钱一直不用会清零吗", "医保卡里的钱不花了有什么影响",
     f"具体说明如下: {FILLER} 医保卡里的钱不花不会清零或作废。", "不会清零或作废"),
    ("新生儿医保可以在网上补交吗", "新生儿医保咋补交在网上",
     f"办理渠道 {FILLER} 新生儿医保补交可以在网上办理,通过微信或支付宝小程序即可办理。", "可以在网上办理"),
    ("支付宝怎么申请异地就医备案", "支付宝怎么申请异地医保",
     f"{FILLER} 二、操作步骤 打开支付宝,进入“市民中心”,点击“医保”选项,找到“异地就医备案”并提交申请。", "打开支付宝"),
])
def test_the_answer_opens_with_the_fact_asked(question, title, body, fact):
    text = reading_text(answer(question, passage(title, body)))
    assert fact in text and text.index(fact) < 60, text
    first = re.split(r"[。！？]", text)[0]
    assert not first.rstrip().endswith((":", "：")) and not re.match(r"^[一二三四五六七八九十]+、", first)
    assert not re.match(r"^[\d\-.%年月]+\s", text), text


def _pair_cosine(question: str, sentences: list[str]) -> list[float]:
    """A stand-in for the model's sentence cosine (the answer always has one): cosine of the
    character-pair sets."""
    def pairs(t):
        return {t[i:i + 2] for i in range(len(t) - 1)}
    q = pairs(question)
    return [len(q & pairs(s)) / ((len(q) * len(pairs(s))) ** 0.5 or 1.0) for s in sentences]


def test_supporting_units_follow_in_the_passages_order_within_the_budget():
    body = ("参保人需在出生后90天内完成登记。逾期缴费将导致3个月等待期。" + FILLER * 2
            + "新生儿医保超过90天未缴费将导致财政补贴部分需自付。")
    got = compose(retrieval("新生儿医保超过90天没交有什么影响", passage("新生儿医保超过90天未缴费", body), step=0.05),
                  None, POLICY, unit_scores=unit_scorer(_pair_cosine))
    text = reading_text(got.text)
    assert text.startswith("新生儿医保超过90天未缴费将导致财政补贴部分需自付")
    assert len(text) <= POLICY.answer_chars + 20
    rest = text[text.index("。") + 1:]
    if "等待期" in rest and "90天内" in rest:
        assert rest.index("90天内") < rest.index("等待期")


def test_an_answer_box_figure_stated_again_is_not_quoted_bare():
    body = "25年 男性需累计缴费满25年(截至60周岁退休); 女性需累计缴费满20年(截至55周岁退休)。"
    for question in ("内蒙古女的要交多少年医保", "内蒙古男的要交多少年医保"):
        quoted = compose(retrieval(question, passage("内蒙古医保缴费年限是多少年", body), step=0.05),
                         None, POLICY, unit_scores=unit_scorer(_pair_cosine)).citations[0].quotes
        assert "25年" not in quoted and any("女性" in q or "男性" in q for q in quoted), quoted


def test_passages_for_different_places_are_quoted_one_line_per_version():
    chengdu = passage("成都职工医保要交多少年", "在成都,职工医保需累计缴费满15年即可终身享受医保待遇。", 0)
    sichuan = passage("四川省医保累计交满多少年", "根据四川省医保政策,职工医保累计缴费年限需达到男职工30年、女职工25年。", 1)
    other = passage("内蒙古医保缴费年限是多少年", "根据内蒙古规定,职工医保需累计缴费满25年才能终身享受医保待遇。", 2)
    text = answer("职工医保要交够多少年才能终身享受", chengdu, other)
    assert text.startswith("按地区不同：") and "[1]；" in text and text.endswith("[2]")
    assert "成都" in text.split("[1]")[0] and "内蒙古" in text.split("[1]")[1]
    # a place the question names is not a version: 四川 asked, 成都 (inside it) is not quoted as one
    assert not answer("四川职工医保要交够多少年才能终身享受", sichuan, chengdu).startswith("按地区不同")


def test_one_places_rule_is_labelled_with_its_place_when_the_question_named_none():
    xinyang = passage("信阳的医保可以报销多少", "最高支付限额 本地职工医保和居民医保的统筹基金最高支付限额为8万元。")
    assert answer("大额医保一年最多报销多少万", xinyang).startswith("信阳：本地职工医保")
    assert answer("Is there a yearly cap on what medical insurance pays?", xinyang).startswith("信阳：")
    # the place asked, in Chinese or English, or said at the quote's start, needs no label
    assert not answer("信阳大额医保一年最多报销多少万", xinyang).startswith("信阳：")
    assert not answer("What is the yearly cap in Xinyang?", xinyang).startswith("信阳：")
    hebei = passage("河北怎么给新生儿交医保", "在河北,新生儿医保需在出生90天内通过河北税务公众号办理参保登记。")
    assert answer("新生儿医保怎么办理", hebei).startswith("在河北")
    general = passage("医保卡里的钱不花了有什么影响", "医保卡里的钱不花不会清零或作废,可以一直累计使用。")
    assert answer("医保卡里的钱一直不用会清零吗", general).startswith("医保卡里的钱不花")


def test_a_districts_passage_is_not_quoted_beside_the_city_asked_about():
    city = passage("衡水市医保电话", "衡水市医保电话是0318-12333,这是衡水市人力资源和社会保障局的官方热线。", 0)
    zone = passage("衡水高新区医保局电话", "衡水高新区医保局的官方电话号码为0318-2168618,工作时间为正常工作日。", 1)
    text = answer("衡水市医保电话是多少", city, zone)
    assert "0318-12333" in text and "2168618" not in text and "[2]" not in text
    text = answer("衡水市高新区医保电话是多少", zone, city)  # and the city's number is not quoted for the zone
    assert "0318-2168618" in text and "12333" not in text and "[2]" not in text


def test_reading_measures_skip_markers_and_the_understood_as_line():
    text = "（按“衡水市高新区医保电话是多少”理解）\n衡水高新区医保局的电话是0318-2168618。[1]"
    assert reading_text(text) == "衡水高新区医保局的电话是0318-2168618。"
    assert first_evidence_at(text, ["0318-2168618"]) == len("衡水高新区医保局的电话是")
    assert first_evidence_at(text, ["不在这里"]) is None


def test_a_follow_up_quotes_what_the_message_itself_asks():
    """Read in context ("统筹那部分呢？" after a question on the personal account at year-end), the
    passage is found with the conversation's subject, whose words recur across its units; with
    them at `subject_share` weight the unit on 统筹 is quoted, at full weight it is crowded out."""
    from dataclasses import replace

    from chatbot.answer import compose
    from chatbot.policy import Policy
    from chatbot.textnorm import normalize, tokenize

    from ..helpers.hits import passage, retrieval

    text = ("职工医保个人账户采用年度结转机制,12月底不会清零。"
            "统筹基金按年度结算,未使用的统筹额度会结转至下一年度。"
            "个人账户的钱由单位缴费和个人缴费共同构成。")
    r = retrieval("个人账户12月底会清零吗 统筹那部分呢", passage("医保卡12月底要结算吗", text))
    r = replace(r, alone_tokens=tuple(tokenize(normalize("统筹那部分呢"), normalized=True)))
    own = compose(r, None, Policy(answer_chars=60)).text
    shared = compose(r, None, Policy(answer_chars=60, subject_share=1.0)).text
    assert "统筹额度" in own and "统筹额度" not in shared


def test_unit_features_name_what_the_question_asks_beyond_the_title():
    from chatbot.answer import UNIT_FEATURES, unit_features
    sentences = ["新生儿医保可以在网上补交。", "补交需要带出生医学证明和户口本到窗口办理。"]
    weights = {"新生儿": 1.0, "网上": 1.0, "户口本": 2.0}
    rows = [dict(zip(UNIT_FEATURES, f)) for f in unit_features("新生儿网上补交还是带户口本去", sentences, weights,
                                                               title="新生儿医保补交")]
    # the title holds 新生儿: what is asked beyond it is 网上 and 户口本 (weights 1 + 2)
    assert rows[0]["novel"] == 1.0 / 3.0 and rows[1]["novel"] == 2.0 / 3.0
    assert rows[0]["first"] == 1.0 and rows[1]["first"] == 0.0
    assert rows[1]["length"] > rows[0]["length"]


def test_unit_weights_are_fitted_per_file_when_files_differ():
    """`tune --units` leaves each file out in turn (each has its own writer)."""
    import numpy as np
    from chatbot import unitfit
    rng = np.random.default_rng(0)
    truth = np.zeros(unitfit.HAND)
    truth[0] = 3.0
    data = []
    for g in ("a.jsonl", "b.jsonl"):
        for _ in range(40):
            x = rng.random((5, len(truth)))
            y = np.zeros(5)
            y[int(np.argmax(x @ truth))] = 1.0
            data.append((g, x, y, np.zeros((5, 8))))
    w = unitfit.fit([d for d in data if d[0] == "a.jsonl"], 0.1, iters=300)
    assert unitfit.top1(w, [d for d in data if d[0] == "b.jsonl"]) > 0.8
    assert unitfit.top1(np.zeros(len(truth)), data) < 0.5


def test_the_learned_metric_finds_the_dimension_of_agreement_that_marks_the_answer():
    """The metric (question⊙unit products) learns which agreement tells the answering unit when
    the hand-made features cannot: here the answering unit shares the question's sign on
    dimension 3, and every unit looks alike to the hand-made features."""
    import numpy as np
    from chatbot import unitfit
    rng = np.random.default_rng(1)

    def question(g):
        q = rng.normal(size=8)
        units = rng.normal(size=(4, 8))
        answer = int(rng.integers(4))
        units[:, 3] = -np.sign(q[3]) * np.abs(units[:, 3])
        units[answer, 3] = np.sign(q[3]) * (1 + abs(units[answer, 3]))
        y = np.zeros(4)
        y[answer] = 1.0
        return g, np.zeros((4, unitfit.HAND)), y, units * q

    train = [question("a") for _ in range(60)]
    test = [question("b") for _ in range(60)]
    w = unitfit.fit_metric(train, l2=0.001)
    assert unitfit.top1_metric(w, test) > 0.9
    assert np.argmax(np.abs(w[unitfit.HAND:])) == 3
    assert unitfit.top1_metric(np.zeros_like(w), test) < 0.5  # ties: the first unit, right one time in four


def test_the_metric_belongs_to_the_model_it_was_fitted_with(tmp_path):
    import numpy as np
    from chatbot.retrieval import adapter
    path = tmp_path / "metric.npz"
    adapter.save(path, np.arange(4, dtype=np.float32), {"model": "model-a"})
    got = adapter.load_array(path, "model-a")
    assert got is not None and got[0].tolist() == [0.0, 1.0, 2.0, 3.0]
    assert adapter.load_array(path, "model-b") is None
    assert adapter.load_array(tmp_path / "missing.npz", "model-a") is None


def test_a_fitted_files_digest_is_of_its_own_questions_only():
    from chatbot.retrieval import adapter
    items = [{"file": "a.jsonl", "id": 1, "query": "报销比例"}, {"file": "b.jsonl", "id": 1, "query": "电话"}]
    got = adapter.file_digest("a.jsonl", items)
    assert len(got) == 12 and got == adapter.file_digest("a.jsonl", items[:1])
    assert got != adapter.file_digest("b.jsonl", items)
    assert got != adapter.file_digest("a.jsonl", [dict(items[0], query="报销比例是多少")])


def test_with_a_metric_the_unit_it_scores_highest_opens_the_answer():
    """compose passes the metric's scores to the unit choice, with the weights fitted beside it."""
    body = "参保人可以在网上办理异地备案。备案后在就医地直接结算医疗费用。"
    found = retrieval("异地备案后怎么结算", passage("异地备案", body), step=0.05)

    def metric(question, sentences):  # a metric that prefers the first unit strongly
        return [10.0 if s.startswith("参保人") else 0.0 for s in sentences]

    plain = reading_text(compose(found, None, POLICY).text)
    learned = reading_text(compose(found, None, POLICY, unit_scores=unit_scorer(metric=metric)).text)
    assert plain.startswith("备案后"), plain
    assert learned.startswith("参保人可以在网上"), learned
    calls = []

    def scores(question, sentences):  # cosines and metric scores come from one call per passage
        calls.append(sentences)
        return [0.0] * len(sentences), metric(question, sentences)

    assert reading_text(compose(found, None, POLICY, unit_scores=scores).text) == learned
    assert len(calls) == 1


@pytest.mark.parametrize("required_first", [True, False])
def test_a_phone_number_asked_for_opens_with_the_unit_that_states_one(required_first):
    body = ("办理异地备案可以通过国家医保服务平台在线提交，也可以打电话咨询廊坊市医保局异地备案业务。"
            "廊坊市医保局的咨询电话为0316-2226688。")
    got = compose(retrieval("廊坊办理异地备案业务打哪个电话", passage("廊坊医保局电话", body), step=0.05),
                  None, POLICY.with_values(lead_states_required=required_first))
    text = reading_text(got.text)
    if required_first:
        assert text.startswith("廊坊市医保局的咨询电话为0316-2226688"), text
    else:  # without the rule, the words shared with the question decide (the case the rule exists for)
        assert text.startswith("办理异地备案"), text


def test_the_retrievers_metric_scores_are_the_weighted_products_of_the_vectors():
    from types import SimpleNamespace

    import numpy as np
    from chatbot.retrieval.retriever import Retriever

    from ..helpers.fakes import FakeEmbedder

    embedder = FakeEmbedder()
    r = Retriever(SimpleNamespace(passages=[]), embedder)
    assert r.unit_metric is None  # fitted for the built-in model only
    sentences = ["备案后在就医地直接结算。", "参保人可以在网上办理。"]
    assert r.metric_similarity("怎么结算", sentences) == [0.0, 0.0]
    assert r.unit_scores("怎么结算", sentences) == (r.sentence_similarity("怎么结算", sentences), None)
    r.unit_metric = np.linspace(-1, 1, embedder.dimension).astype(np.float32)
    q, *vs = embedder.encode(["怎么结算", *sentences])
    got = r.metric_similarity("怎么结算", sentences)
    assert np.allclose(got, [float((q * r.unit_metric) @ v) for v in vs], atol=1e-6)
    assert np.allclose(r.sentence_similarity("怎么结算", sentences), [float(q @ v) for v in vs], atol=1e-6)
    # the answer's unit choice gets both from one call, the same values
    assert r.unit_scores("怎么结算", sentences) == (r.sentence_similarity("怎么结算", sentences), got)


def test_a_message_read_in_context_chooses_units_by_its_own_text_too():
    """unit_alone: the passage was found with the conversation's subject (吉林市 … 交多少); which unit
    answers is also what the message itself asks (政府补助标准呢)."""
    from dataclasses import replace

    from chatbot.textnorm import normalize, tokenize

    jilin = passage("吉林市医保2024年交多少钱",
                    "吉林市城乡居民医保2024年个人缴费金额为380元/年。2024年财政补助标准不低于640元,由各级财政承担。", 0)
    own = normalize("政府补助标准呢")
    r = replace(retrieval("吉林市城乡居民医保2024年个人交多少，政府补助标准呢", jilin), alone_normalized=own,
                alone_tokens=tuple(tokenize(own, normalized=True)), context_text="吉林市城乡居民医保2024年个人交多少")
    asked = []

    def spy(question, sentences):
        asked.append(question)
        return _pair_cosine(question, sentences)

    def first(policy, retrieval_=r):
        asked.clear()
        return reading_text(compose(retrieval_, None, policy, unit_scores=unit_scorer(spy)).text)

    assert first(POLICY.with_values(unit_alone=1.0)).startswith("2024年财政补助标准不低于640元") and own in asked
    assert first(POLICY.with_values(unit_alone=0.0)).startswith("吉林市城乡居民医保2024年个人缴费金额") and own not in asked
    first(POLICY, retrieval("吉林市城乡居民医保2024年个人交多少", jilin))
    assert own not in asked  # a stand-alone question: its own text is the text


@pytest.mark.parametrize("named, opens", [
    (("学生",), "学生儿童的住院起付线均减半。"),
    ((), "2024年,北京市城乡居民医保的报销起付标准具体如下:门诊起付线为100元,三级医院为1100元。"),
    (("北京", "学生"), "学生儿童的住院起付线均减半。"),  # a place is not required of the unit: the label shows it
])
def test_a_swapped_in_group_opens_with_the_unit_speaking_of_it(named, opens):
    """学生呢 after a question on 北京's 起付线: the passage's general sentence matches the carried
    subject best, but the user asked about students; the unit that speaks of them opens."""
    from chatbot.answer import scored_pick
    from chatbot.textnorm import normalize

    p = passage("北京医保报销起付标准", "2024年,北京市城乡居民医保的报销起付标准具体如下:门诊起付线为100元,三级医院为1100元。"
                "老年人本年度第二次住院起付线减半。学生儿童的住院起付线均减半。")
    q = normalize("北京 学生 城乡居民医保 门诊起付线多少")
    quotes, _ = scored_pick(q, p, {"北京": 1.0, "城乡居民": 1.0, "门诊": 1.0, "起付线": 1.0}, policy=POLICY, named=named)
    assert quotes[0] == opens, quotes
