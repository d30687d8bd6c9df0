"""Ranking rules after fusion (place and fact penalties, a province covering its cities) and the
tuning protocol's bookkeeping (grouped folds; re-sorted candidates equal a live search)."""

import math

import pytest

from chatbot import evaluation, tuning
from chatbot.policy import Policy
from chatbot.retrieval.places import find_places, missing_places
from chatbot.retrieval.retriever import order_key
from chatbot.service import QA
from chatbot.store.files.store import build_index
from chatbot.types import Hit, Passage


def _hit(name: str, score: float, missing=(), lacks=()) -> Hit:
    p = Passage(f"x.txt#{name}", name, "x.txt", name, None, 0, "article", name)
    return Hit(p, score, score, 0.0, 1, 1, tuple(missing), tuple(lacks))


@pytest.mark.parametrize("place,fact,expected", [
    (math.inf, math.inf, ["fits", "no_phone", "elsewhere"]),  # hard rules: flawed passages last
    (math.inf, 0.1, ["no_phone", "fits", "elsewhere"]),       # 0.9 - 0.1 still beats 0.7
    (math.inf, 0.3, ["fits", "no_phone", "elsewhere"]),       # 0.9 - 0.3 does not
    (0.05, 0.3, ["elsewhere", "fits", "no_phone"]),           # 1.0 - 0.05 beats them all
])
def test_penalties_hard_and_soft(place, fact, expected):
    hits = [_hit("elsewhere", 1.0, missing=["保定"]), _hit("no_phone", 0.9, lacks=["phone"]), _hit("fits", 0.7)]
    assert [h.passage.title for h in sorted(hits, key=order_key(place, fact))] == expected


def test_a_province_covers_its_cities_only_when_asked_to():
    asked = find_places("我在唐山交的医保")
    hebei = find_places("河北省医保参保地怎么变更")
    assert [p.name for p in missing_places(asked, hebei)] == ["唐山"]
    assert missing_places(asked, hebei, broader=True) == []
    # never the other way round, nor a neighbouring province
    assert missing_places(find_places("河北省的规定"), find_places("唐山市"), broader=True) == []
    assert missing_places(asked, find_places("河南省医保"), broader=True)


@pytest.fixture
def fake_qa(fake_config, fake_embedder):
    build_index(fake_config, fake_embedder)
    return QA(fake_config, embedder=fake_embedder)


def _hit_for(retrieval, title: str) -> Hit:
    return next(h for h in retrieval.hits if h.passage.title == title)


@pytest.mark.parametrize("question,covered", [
    ("我在唐山交的职工医保，调去保定上班了，参保地怎么变更", True),   # a rule: 河北省's passage holds in 唐山
    ("唐山医保局电话是多少，参保地变更找谁", False),                # a phone number: it must be 唐山's own
    ("唐山医保中心在哪，参保地变更去哪里办", False),                # an office: likewise
])
def test_province_passage_fits_a_city_question_about_rules(fake_qa, question, covered):
    title = "河北省医保参保地怎么变更"
    hit = _hit_for(fake_qa.retrieve(question, k=60), title)
    assert (hit.missing == ()) is covered, hit.missing
    strict = tuning._variant(fake_qa, Policy(province_covers_city=False))
    assert _hit_for(strict.retrieve(question, k=60), title).missing  # switched off: the old rule


QUESTIONS = [
    {"id": "a", "query": "衡水市医保电话是多少", "evidence": ["0318"], "source": "s", "title": "t1"},
    {"id": "b", "query": "衡水医保中心电话", "evidence": ["0318"], "source": "s", "title": "t1"},
    {"id": "c", "query": "新生儿出生后多久要参保", "evidence": ["90天"], "source": "s", "title": "t2"},
    {"id": "d", "query": "What is the Langfang medical insurance hotline?", "evidence": ["12393"], "source": "s", "title": "t3"},
    {"id": "e", "query": "医保余额变动 查询方式 电话 短信", "evidence": ["短信"], "source": "s", "title": "t4"},
    {"id": "f", "query": "那高新区的呢？", "history": ["衡水市医保电话是多少"], "evidence": ["2168618"], "source": "s", "title": "t5"},
    {"id": "g", "query": "大连医保局地址在哪", "evidence": []},
]


def test_folds_keep_each_gold_passage_in_one_fold():
    items = QUESTIONS * 3  # repeated groups, as paraphrases of one passage are
    parts = tuning.grouped_folds(items, 3, seed=1)
    assert sorted(i for part in parts for i in part) == list(range(len(items)))
    fold_of = {}
    for f, part in enumerate(parts):
        for i in part:
            assert fold_of.setdefault(tuning.group_of(items[i]), f) == f


@pytest.mark.parametrize("w,t,fact,threshold,floor", [(0.5, 0.25, 0.1, 0.1, 0.25), (1.0, 0.5, math.inf, 0.0, 0.0),
                                                       (0.25, 0.0, 0.05, 0.3, 0.4)])
def test_tuning_scores_what_the_chat_answers(fake_qa, w, t, fact, threshold, floor):
    """`tune` searches once without penalties, re-sorts, composes with the thresholds off and
    applies them afterwards: every outcome must equal the chat's own answer with those values."""
    asked = tuning._Retrievals(fake_qa, QUESTIONS)
    live = tuning._variant(fake_qa, fake_qa.policy.with_values(
        bm25_weight=w, translate_weight=t, fact_penalty=fact, threshold=threshold, dense_floor=floor))
    for i, item in enumerate(QUESTIONS):
        want = evaluation.run(live, [item])[0]
        row = tuning._scored(fake_qa, asked, i, asked.get(i, w, t, live.policy.place_penalty, fact), live.policy)
        got = tuning._outcome(row, threshold, floor)
        assert (got.rank, got.refused, got.hit, got.top_title) == (want.rank, want.refused, want.hit, want.top_title), item
        assert got.answer == want.answer or got.refused


def test_a_phone_question_is_refused_only_when_no_passage_found_states_one():
    from chatbot.answer import compose
    from chatbot.types import Retrieval

    def ask(*hits):
        return compose(Retrieval("成都医保局电话是多少", "成都医保局电话是多少", ("成都", "医保局", "电话"), (), hits),
                       None, Policy())

    lacking = _hit("成都医保局的办事指南", 0.9, lacks=["phone"])
    stating = _hit("医保服务热线", 0.5)
    refused = ask(lacking, _hit("另一篇", 0.8, lacks=["phone"]))
    assert refused.refused and "电话号码" in refused.text
    assert not ask(lacking, stating).refused  # the best passage outranked one stating a number


def test_tune_reports_held_out_figures_per_file_and_type(fake_qa):
    import json

    from chatbot.cli.quality import _finite

    items = [dict(it, file="a.jsonl" if i % 2 else "b.jsonl", type="keyword" if it["evidence"] else "unanswerable")
             for i, it in enumerate(QUESTIONS)]
    result = tuning.tune(fake_qa, items, folds=2)
    assert len(result["chosen_per_fold"]) == 2
    assert {"all", "file:a.jsonl", "file:b.jsonl", "type:keyword", "type:unanswerable"} <= set(result["cross_validated"])
    assert result["cross_validated"]["all"]["n"] == len(items) == result["in_sample"]["all"]["n"]
    assert {c["check"] for c in result["checks"]} == {"all_on", *Policy.switches()}
    assert [p["fact_penalty"] for p in result["penalties"]] == list(tuning.FACT_PENALTIES)
    text = json.dumps(_finite(result), allow_nan=False)  # strict JSON: a hard rule is "inf"
    assert '"inf"' in text


def test_a_province_counts_for_its_cities_only_from_a_title(tmp_path, fake_embedder):
    """河北省's passage fits a 唐山 rule question; a passage that lists 浙江 as an example in its body
    is not thereby about 杭州."""
    from chatbot.config import Config

    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("浙江省医保关系转移办法\n参保人跨统筹区转移医保关系，个人账户余额随之转移。\n", encoding="utf-8")
    (docs / "b.txt").write_text("家庭共济怎么用\n部分省市(如浙江、广东)支持家庭共济，个人账户余额可给家人用。\n", encoding="utf-8")
    (docs / "c.txt").write_text("异地就医备案\n跨省就医前先备案，个人账户余额可以在异地使用。\n", encoding="utf-8")
    cfg = Config().with_overrides(documents_dir=docs, embeddings_dir=tmp_path / "emb", model=fake_embedder.model_name)
    build_index(cfg, fake_embedder)
    r = QA(cfg, embedder=fake_embedder).retrieve("我在杭州上班，个人账户余额能转移吗", k=10)
    missing = {h.passage.title: h.missing for h in r.hits}
    assert missing["浙江省医保关系转移办法"] == ()
    assert missing["家庭共济怎么用"] == ("杭州",) and missing["异地就医备案"] == ("杭州",)


@pytest.mark.parametrize("question,asks", [
    ("大连医保局地址在哪", True),
    ("廊坊医保中心在哪", True),
    ("市医保中心在什么地方？", True),
    ("what is the address of the langfang medical insurance center?", True),
    ("where is the dalian medical insurance office?", True),
    ("医保卡在哪里激活", False),          # a channel, not an office
    ("异地备案在哪办", False),
    ("补交是不是比按时交要贵？贵在哪啊", False),
    ("那串编号一般印在哪个位置", False),
])
def test_an_office_address_is_a_kind_of_fact_asked(question, asks):
    from chatbot.retrieval import facts

    assert ("address" in [k.name for k in facts.required(question)]) is asks
    assert facts.states(facts.ADDRESS, "地址位于广阳道19号市医疗保险管理中心")
    assert not facts.states(facts.ADDRESS, "电话0775-2080056(与医保局同一地址)")


def test_an_answer_embeds_its_question_once(fake_qa):
    """The search's vector of the question is what the answer's sentence choice compares units
    with: a second encode of the same question would double the answer's model time."""
    fake_qa.ask("衡水市医保电话是多少")  # units of the passages found are embedded and kept
    embedder = fake_qa.retriever.embedder
    seen: list[str] = []
    encode = embedder.encode

    def counting(texts, *args, **kwargs):
        seen.extend(texts)
        return encode(texts, *args, **kwargs)

    embedder.encode = counting
    try:
        fake_qa.ask("廊坊市医保电话是多少")
    finally:
        embedder.encode = encode
    from chatbot.textnorm import normalize

    assert seen.count(normalize("廊坊市医保电话是多少")) == 1, seen


def _sibling(name: str, score: float, text: str, missing=()) -> Hit:
    p = Passage(f"x.txt#{name}", name, "x.txt", name, None, 0, "article", text)
    return Hit(p, score, score, 0.0, 1, 1, tuple(missing))


def _in_context(*hits: Hit):
    from chatbot.conversation import Resolved
    from chatbot.types import Retrieval

    q = "新生儿医保 办理 要 带 什么 材料"
    retrieval = Retrieval(q, q, ("新生儿", "医保", "办理", "材料"), (), hits,
                          alone_tokens=("材料",), alone_normalized="要带什么材料", context_text=q)
    return retrieval, Resolved(q, True, kind="context", alone="要带什么材料")


def _no_vectors(question, units):
    return [0.0] * len(units), [0.0] * len(units)


@pytest.mark.parametrize("weight, depth, first", [
    (0.05, 3, "materials"),  # the sibling with a unit that answers goes first
    (0.0, 3, "steps"),       # off: the fused order
    (0.05, 1, "steps"),      # a depth of one re-orders nothing
])
def test_a_message_read_in_context_puts_first_the_sibling_whose_unit_answers_it(weight, depth, first):
    """Two passages share the conversation's subject (新生儿医保办理) at almost the same score; the
    message asks what to bring, and only one of them has a unit that says. Scores stay as fused."""
    from chatbot import dialogue

    steps = _sibling("steps", 1.00, "新生儿医保办理流程。第一步在线登记，第二步缴费，第三步等待审核。")
    materials = _sibling("materials", 0.98, "新生儿医保办理说明。办理时需要带出生医学证明、户口簿和监护人身份证等材料。")
    retrieval, resolved = _in_context(steps, materials)
    policy = Policy().with_values(context_unit_weight=weight, context_unit_depth=depth)
    got = dialogue.unit_sorted(retrieval, resolved, policy, None, _no_vectors)
    assert got.hits[0].passage.title == first
    assert {h.passage.title: h.score for h in got.hits} == {"steps": 1.00, "materials": 0.98}


def test_the_unit_order_never_puts_a_passage_missing_the_place_first():
    from chatbot import dialogue

    fits = _sibling("fits", 1.00, "新生儿医保办理流程。第一步在线登记，第二步缴费。")
    elsewhere = _sibling("elsewhere", 0.99, "新生儿医保办理时需要带出生医学证明和户口簿等材料。", missing=("廊坊",))
    retrieval, resolved = _in_context(fits, elsewhere)
    got = dialogue.unit_sorted(retrieval, resolved, Policy(), None, _no_vectors)
    assert [h.passage.title for h in got.hits] == ["fits", "elsewhere"]


def test_a_message_read_alone_is_not_re_ordered_by_its_units():
    from chatbot import dialogue
    from chatbot.conversation import Resolved

    steps = _sibling("steps", 1.00, "新生儿医保办理流程。第一步在线登记，第二步缴费。")
    materials = _sibling("materials", 0.98, "新生儿医保办理时需要带出生医学证明和户口簿等材料。")
    retrieval, _ = _in_context(steps, materials)
    got = dialogue.unit_sorted(retrieval, Resolved("q", False), Policy(), None, _no_vectors)
    assert got is retrieval
