"""LLM answers in the web chat, in Debian's Chromium (issue 19): the app talks to a scripted
OpenAI-compatible server (tests/helpers/llm_server.py; no real model runs) that types a faithful
sentence, one with a changed phone number, then another faithful one. The verified sentences
stream in as they pass; the changed one is never in the shown answer and is listed, collapsed,
under "未采用的生成内容"."""

from __future__ import annotations

from pathlib import Path

import pytest

from chatbot.generation import rewrite
from tests.helpers import ROOT
from tests.helpers.documents import CHROMIUM
from tests.helpers.llm_server import ScriptedLLM, number_of
from tests.helpers.servers import App, call_http

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="no /usr/bin/chromium: run `make browsers`")

QUESTION = "衡水高新区医保局电话是多少"
FIRST, FOLLOW_UP, REWRITE = "衡水市医保电话是多少", "那高新区的呢", "衡水高新区医保局的联系电话是多少？"
PHONE, WRONG = "0318-2168618", "0318-2168619"
SHOTS = ROOT / "artifacts" / "screenshots"


def reply(messages) -> str:
    if messages[0]["content"] == rewrite.SYSTEM:  # a follow-up to write as one question (item 6)
        return REWRITE
    if PHONE not in messages[-1]["content"]:
        return "资料中没有找到这个问题的答案。"
    n = number_of(messages, PHONE)
    return (f"衡水高新区医保局的电话是{PHONE}。[{n}]"
            f"衡水高新区医保局的电话是{WRONG}。[{n}]"      # a changed phone number: must be dropped
            f"这个电话可以咨询衡水高新区的医保相关政策。[{n}]")


@pytest.fixture(scope="module")
def app(real_config, tmp_path_factory):
    model = ScriptedLLM(reply, chunk_chars=4, chunk_delay_s=0.25).start()
    server = App(tmp_path_factory.mktemp("generation-browser"), real_config, "--llm-base-url", model.base_url,
                 "--llm-model", "scripted-qwen", "--llm-timeout-s", "60")
    try:
        server.wait_ready()
        yield server, model
    finally:
        server.stop()
        model.stop()


def test_the_web_chat_streams_verified_sentences_and_keeps_the_dropped_one_apart(app, browser):
    server, model = app
    page = browser.new_page()
    page.goto(server.url)
    page.wait_for_selector("#question textarea", timeout=30_000)
    page.locator("#question textarea").first.fill(QUESTION)
    page.locator("#send").click()
    seen = []  # the assistant message's text while it streams
    for _ in range(600):
        bots = page.locator("#chat .bot")
        text = bots.last.inner_text() if bots.count() else ""
        if text and (not seen or seen[-1] != text):
            seen.append(text)
        if "未采用的生成内容" in text:
            break
        page.wait_for_timeout(50)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "generated-answer.png"), full_page=True)
    final = seen[-1]
    assert len(model.requests) == 1 and PHONE in final, seen  # the start-up warm-up did not call the model
    answers = [t.split("来源（点击展开原文）")[0] for t in seen]  # the answer above its sources panel
    # it streamed: the first verified sentence was on screen before the answer was complete
    early = [a for a in answers if PHONE in a and "▌" in a]
    assert early and "可以咨询" not in early[0], answers
    # the changed number is in no shown state, and the final answer is the two verified sentences
    assert not any(WRONG in t for t in seen), seen
    assert "▌" not in answers[-1] and "这个电话可以咨询衡水高新区的医保相关政策。" in answers[-1], answers
    # listed apart, collapsed: opening "未采用的生成内容" shows the dropped sentence
    dropped = page.locator("#chat .bot").last.locator("details", has_text="未采用的生成内容")
    assert dropped.count() == 1 and dropped.get_attribute("open") is None
    dropped.locator("summary").click()
    page.wait_for_function(f"document.querySelector('#chat').innerText.includes('{WRONG}')", timeout=10_000)
    # sources and citation markers as for an extractive answer
    assert "[1]" in final and "000_91c1583d48168d56.txt" in page.locator("#chat").inner_text()
    page.close()


def test_over_http_a_follow_up_is_rewritten_by_the_model_and_answered_from_verified_sentences(app):
    server, model = app
    before = len(model.requests)
    event, data = call_http(server.url, "ask_history", [FOLLOW_UP, [FIRST]])
    result = data[0]
    assert event == "complete" and result["understood_as"] == REWRITE.rstrip("？")
    asked = model.requests[before:]
    assert asked[0]["messages"][0]["content"] == rewrite.SYSTEM and FOLLOW_UP in asked[0]["messages"][-1]["content"]
    assert f"问题：{REWRITE.rstrip('？')}" in asked[-1]["messages"][-1]["content"]  # the answer used the rewrite
    assert result["generated"] and PHONE in result["answer"] and WRONG not in result["answer"]
    assert result["answer"].startswith(f"（按“{REWRITE.rstrip('？')}”理解）")
    assert any(WRONG in d for d in result["dropped"]) and result["model"] == "scripted-qwen"
