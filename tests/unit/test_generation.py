"""Optional LLM answers (issue 19) against a scripted OpenAI-compatible server: the sentence check,
fallbacks (timeout, unreachable endpoint, back-off), the key, `ask --json` and the web chat stream.
No real language model runs here; nothing measures a model's quality."""

from __future__ import annotations

import json
import logging
import time

import pytest

from chatbot.generation import Generator, split_ready
from chatbot.generation.client import LLMClient
from chatbot.generation.facts import canonical, facts
from chatbot.generation.verifier import Verifier
from chatbot.service import QA
from chatbot.store.files.store import build_index
from chatbot.ui import handler as chat
from tests.helpers.chat import assert_inert
from tests.helpers.llm_server import ScriptedLLM, dead_url, number_of

KEY = "sk-test-7f3a9c1e-never-shown"
PHONE_SENTENCE = "衡水市医保电话是0318-12333,这个电话号码是衡水市人力资源和社会保障局为市民提供医保咨询和服务的官方热线。"
QUESTION = "衡水市医保电话是多少"


# ---- the check on its own -----------------------------------------------------------------

PASSAGE = ("甲类药品医保报销比例通常为100%。职工医保可能直接按100%报销,而居民医保可能先扣除一定自付比例。"
           "门诊报销比例50%,住院报销比例根据医院等级分别为90%、75%、60%。最高支付限额为8万元。"
           "衡水市医保电话是0318-12333。办理时间为产假后的3个月内。医保卡在12月底不会清零。"
           "如北京、上海等地采用年度集中扣费;部分城市(如广州、深圳)在调整基数后次月扣费。")


@pytest.mark.parametrize("written, same", [
    ("0318 12333", "0318-12333"), ("(0318)12333", "0318-12333"), ("百分之八十五", "85%"),
    ("1万元", "10000元"), ("三个月", "3个月"), ("2025-02-28", "2025年2月28日"), ("五成", "50%"),
])
def test_figures_are_normalised_one_way(written, same):
    assert canonical(written) == canonical(same)


def test_an_article_is_not_a_figure():
    assert not [f for f in facts(canonical("这是一家企业,一般统一办理")) if f.kind == "number"]


@pytest.mark.parametrize("sentence, supported", [
    ("衡水市医保电话是0318 12333。", True),
    ("最高支付限额为80000元。", True),
    ("办理时间为产假后的三个月内。", True),
    ("衡水市医保电话是0318-12334。", False),                     # a changed digit
    ("门诊报销比例60%。", False),                                # a figure of the passage, in the wrong place
    ("居民医保可能直接按100%报销,而职工医保可能先扣除一定自付比例。", False),  # groups swapped
    ("医保卡在12月底会清零。", False),                            # polarity
    ("石家庄市医保电话是0318-12333。", False),                     # a place the passage does not name
])
def test_sentence_check(sentence, supported):
    check = Verifier().check(sentence, PASSAGE)
    assert check.supported is supported, check.reasons


def test_split_waits_for_a_marker_after_the_end_mark():
    ready, rest = split_ready("第一句。[1]第二句。", final=False)
    assert ready == ["第一句。[1]"] and rest == "第二句。"
    ready, rest = split_ready(rest + "[2]", final=True)
    assert ready == ["第二句。[2]"] and rest == ""


# ---- against the scripted server ----------------------------------------------------------


@pytest.fixture
def index(fake_config, fake_embedder):
    build_index(fake_config, fake_embedder)
    return fake_config


def qa_for(config, embedder, server_url, timeout_s=10.0, key=KEY) -> QA:
    cfg = config.with_overrides(llm_base_url=server_url, llm_model="scripted-qwen", llm_api_key=key,
                                llm_timeout_s=timeout_s)
    return QA(cfg, embedder=embedder)


def faithful_and_wrong(messages) -> str:
    n = number_of(messages, "0318-12333")
    return (f"{PHONE_SENTENCE}[{n}]"
            f"衡水市医保电话是0318-12334。[{n}]"                                   # changed phone number
            f"办理医保咨询前须携带结婚证原件到市政府窗口登记。[{n}]"                # an invented fact
            f"衡水市医保电话是0318-12333。[9]")                                    # a passage that was not given


def test_faithful_sentence_shown_and_wrong_ones_dropped(index, fake_embedder, scripted_llm):
    server = scripted_llm(faithful_and_wrong)
    answer = qa_for(index, fake_embedder, server.base_url).ask(QUESTION)
    assert answer.generated and answer.model == "scripted-qwen" and answer.fallback_reason is None
    assert "0318-12333" in answer.text and answer.text.endswith("[1]")
    assert answer.citations[0].n == 1 and "0318-12333" in answer.citations[0].passage.text
    assert "0318-12334" not in answer.text and "结婚证" not in answer.text
    assert len(answer.dropped) == 3
    assert any("0318-12334" in d for d in answer.dropped) and any("结婚证" in d for d in answer.dropped)
    assert server.requests[0]["stream"] is True
    assert server.authorization == [f"Bearer {KEY}"]


def test_prompt_numbers_passages_and_carries_the_question(index, fake_embedder, scripted_llm):
    server = scripted_llm("资料中没有找到这个问题的答案。")
    answer = qa_for(index, fake_embedder, server.base_url).ask(QUESTION)
    messages = server.requests[0]["messages"]
    assert "[1] " in messages[-1]["content"] and QUESTION in messages[-1]["content"]
    assert "只根据" in messages[0]["content"]
    # the model's reply cites nothing: it is not shown, and the extractive answer is, with the notice
    assert not answer.generated and answer.fallback_reason and answer.dropped
    assert answer.fallback_reason in answer.notice


def test_refused_question_does_not_call_the_model(index, fake_embedder, scripted_llm):
    server = scripted_llm("北京明天晴。[1]")
    answer = qa_for(index, fake_embedder, server.base_url).ask("北京明天天气怎么样，适合去爬长城吗")
    assert answer.refused and server.requests == []


def test_slow_model_gives_the_extractive_answer_within_timeout_plus_2s(index, fake_embedder, scripted_llm):
    server = scripted_llm(faithful_and_wrong, delay_s=6)
    qa = qa_for(index, fake_embedder, server.base_url, timeout_s=1.0)
    qa.retriever  # load first: only the answer is timed
    start = time.monotonic()
    answer = qa.ask(QUESTION)
    assert time.monotonic() - start < 1.0 + 2.0
    assert not answer.generated and not answer.refused
    assert "超时" in answer.fallback_reason and answer.fallback_reason in answer.notice
    assert "0318-12333" in answer.text  # the extractive answer


def test_unreachable_endpoint_falls_back_and_backs_off(index, fake_embedder, caplog):
    qa = qa_for(index, fake_embedder, dead_url())
    calls = []
    create = qa.generator.client._client.chat.completions.create
    qa.generator.client._client.chat.completions.create = lambda *a, **k: (calls.append(1), create(*a, **k))[1]
    with caplog.at_level(logging.WARNING):
        first = qa.safe_ask(QUESTION)
        second = qa.safe_ask("衡水市医保电话")
    assert not first.generated and "无法连接" in first.fallback_reason and not first.refused
    assert not second.generated and second.fallback_reason
    assert calls == [1]  # the second question did not try the dead endpoint again
    assert "Traceback" not in caplog.text


def test_key_reaches_the_server_only_as_a_bearer_header(index, fake_embedder, scripted_llm, monkeypatch,
                                                       capsys, caplog):
    from chatbot.cli import main

    server = scripted_llm(faithful_and_wrong)
    monkeypatch.setenv("CHATBOT_LLM_API_KEY", KEY)
    monkeypatch.setattr("chatbot.service.QA.embedder", property(lambda self: fake_embedder))
    with caplog.at_level(logging.DEBUG):
        code = main(["ask", QUESTION, "--json", "--documents", str(index.documents_dir), "--embeddings",
                     str(index.embeddings_dir), "--model", fake_embedder.model_name,
                     "--llm-base-url", server.base_url, "--llm-model", "scripted-qwen"])
    out, err = capsys.readouterr()
    assert code == 0
    data = json.loads(out)
    assert data["generated"] is True and data["model"] == "scripted-qwen" and data["fallback_reason"] is None
    assert len(data["dropped"]) == 3
    assert server.authorization == [f"Bearer {KEY}"]
    assert KEY not in out and KEY not in err and KEY not in caplog.text
    cfg = index.with_overrides(llm_api_key=KEY)
    assert KEY not in repr(cfg)
    assert KEY not in repr(LLMClient("http://127.0.0.1:9/v1", "m", KEY))


def test_non_streaming_replies_are_served_too(scripted_llm):
    from openai import OpenAI

    server = scripted_llm("好的。[1]")
    reply = OpenAI(base_url=server.base_url, api_key=KEY, max_retries=0).chat.completions.create(
        model="scripted-qwen", messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content == "好的。[1]"
    assert server.requests[0].get("stream") in (None, False)


def test_web_chat_streams_verified_sentences_and_lists_dropped_ones(index, fake_embedder, scripted_llm):
    server = scripted_llm(faithful_and_wrong)
    saved = chat._qa
    chat.configure(qa=qa_for(index, fake_embedder, server.base_url))
    try:
        steps = list(chat.respond_stream(QUESTION, []))
    finally:
        chat._qa = saved
    final_html, final = steps[-1]
    assert final.generated and len(steps) >= 2
    assert "0318-12333" in steps[0][0] and "未采用的生成内容" not in steps[0][0]
    shown = final_html.split("<details class='dropped'>")[0]
    assert "0318-12334" not in shown and "结婚证" not in shown
    assert "未采用的生成内容" in final_html and "0318-12334" in final_html.split("<details class='dropped'>")[1]
    assert_inert(final_html)


def test_nothing_configured_means_no_model(fake_config):
    assert not fake_config.llm_enabled
    assert QA(fake_config).generator is None


# ---- follow-ups rewritten by the model (item 6) -------------------------------------------------

from chatbot.generation import rewrite  # noqa: E402

FIRST, FOLLOW_UP = "衡水市医保电话是多少", "那邯郸呢"


def rewriting(question: str, delay_s: float = 0.0):
    """A scripted model that rewrites follow-ups as `question` and answers nothing it can cite."""
    def reply(messages) -> str:
        if messages[0]["content"] == rewrite.SYSTEM:
            time.sleep(delay_s)
            return question
        return "资料中没有找到这个问题的答案。"
    return reply


def test_the_rewrite_check_counts_places_zones_and_groups():
    expected = rewrite.named("邯郸市医保电话是多少")
    assert rewrite.check("邯郸的医疗保障局咨询电话是多少？", expected) is None      # 邯郸 = 邯郸市
    assert "drops" in rewrite.check("医保咨询电话是多少？", expected)
    assert "adds" in rewrite.check("邯郸市退休人员医保电话是多少？", expected)     # a group
    assert "adds" in rewrite.check("邯郸市高新区医保电话是多少？", expected)       # a zone
    assert "adds" in rewrite.check("邯郸市和衡水市医保电话是多少？", expected)     # another place
    assert rewrite.check("邯郸市医保电话是多少？\n另外……", expected) == "not one short question"
    assert rewrite.clean("改写后的问题：“邯郸市医保电话是多少？”") == "邯郸市医保电话是多少？"


def test_a_follow_up_rewritten_by_the_model_is_shown_as_understood(index, fake_embedder, scripted_llm):
    offline = QA(index, embedder=fake_embedder).ask(FOLLOW_UP, [FIRST]).understood_as
    assert offline and "邯郸" in offline  # the offline resolver's reading (the fallback)
    server = scripted_llm(rewriting("邯郸市医疗保障局的咨询电话是多少？"))
    answer = qa_for(index, fake_embedder, server.base_url).ask(FOLLOW_UP, [FIRST])
    assert answer.understood_as == "邯郸市医疗保障局的咨询电话是多少"
    assert answer.text.startswith("（按“邯郸市医疗保障局的咨询电话是多少”理解）")
    prompt = server.requests[0]["messages"][-1]["content"]
    assert FIRST in prompt and FOLLOW_UP in prompt
    # the documents speak of no 邯郸 number: refused by name as offline, so the model is not asked to answer
    assert answer.refused and len(server.requests) == 1


@pytest.mark.parametrize("bad", ["医保咨询电话是多少？", "邯郸市退休职工医保电话是多少？", "衡水市和邯郸市的医保电话是多少？"])
def test_a_rewrite_that_drops_or_adds_a_place_or_group_is_refused(index, fake_embedder, scripted_llm, bad):
    offline = QA(index, embedder=fake_embedder).ask(FOLLOW_UP, [FIRST]).understood_as
    server = scripted_llm(rewriting(bad))
    answer = qa_for(index, fake_embedder, server.base_url).ask(FOLLOW_UP, [FIRST])
    assert answer.understood_as == offline


def test_a_slow_or_dead_model_leaves_the_offline_reading(index, fake_embedder, scripted_llm):
    offline = QA(index, embedder=fake_embedder).ask(FOLLOW_UP, [FIRST]).understood_as
    server = scripted_llm(rewriting("邯郸市医疗保障局的咨询电话是多少？", delay_s=5))
    start = time.monotonic()
    answer = qa_for(index, fake_embedder, server.base_url, timeout_s=3.0).ask(FOLLOW_UP, [FIRST])
    assert answer.understood_as == offline
    assert time.monotonic() - start < 3.0 + 2  # the rewrite had a third of the timeout, then the answer
    assert qa_for(index, fake_embedder, dead_url()).ask(FOLLOW_UP, [FIRST]).understood_as == offline


def test_terminal_chat_prints_sentences_as_they_pass(index, fake_embedder, scripted_llm):
    import io

    from chatbot.cli.chat import Session

    server = scripted_llm(faithful_and_wrong)
    out = io.StringIO()
    session = Session(qa_for(index, fake_embedder, server.base_url), stream=True, out=out)
    seen = []
    real_write = out.write
    out.write = lambda text: (seen.append(text), real_write(text))[1]
    session.handle(QUESTION)
    printed = out.getvalue()
    assert seen[0].startswith(PHONE_SENTENCE.rstrip("。")[:20])  # the verified sentence, printed as it passed
    shown, _, listed = printed.partition("未采用的生成内容")
    assert "0318-12333" in shown and "0318-12334" not in shown and "结婚证" not in shown
    assert "0318-12334" in listed and "结婚证" in listed


def test_eval_with_a_model_measures_the_generated_answers(index, fake_embedder, scripted_llm):
    """`chatbot eval` with an LLM configured scores what the chat shows: the verified generated
    sentences (a hit when they hold the evidence), not the extractive answer beside them."""
    from chatbot import evaluation

    server = scripted_llm(faithful_and_wrong)
    qa = qa_for(index, fake_embedder, server.base_url)
    items = [{"id": "g1", "type": "specific_fact", "query": QUESTION, "evidence": ["0318-12333"], "history": []},
             {"id": "g2", "type": "specific_fact", "query": QUESTION, "evidence": ["0318-12334"], "history": []}]
    outcomes = evaluation.run(qa, items)
    assert [o.hit for o in outcomes] == [True, False]  # the changed number was dropped, never shown
    extractive = QA(index, embedder=fake_embedder).ask(QUESTION).text
    assert outcomes[0].answer != extractive and outcomes[0].answer.startswith(PHONE_SENTENCE)
    assert all(o.answer.rstrip().endswith("[1]") and "0318-12334" not in o.answer for o in outcomes)
    assert len(server.requests) == 2
