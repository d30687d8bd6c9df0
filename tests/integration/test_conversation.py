"""Follow-up questions end to end with the real model: the terminal chat through a pseudo-terminal,
the HTTP API with a history, `chatbot ask --history`, and the dev2 follow-up figures."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx
import pytest

from ..helpers import ROOT, SHARED_EVAL2
from ..helpers.servers import App

pexpect = pytest.importorskip("pexpect")

HENGSHUI, ZONE = "衡水市医保电话是多少", "那高新区的呢？"


def _env() -> dict:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONIOENCODING": "utf-8", "PYTHONPATH": str(ROOT)}


def _flags(config) -> list[str]:
    return ["--documents", str(config.documents_dir), "--embeddings", str(config.embeddings_dir)]


def test_terminal_chat_remembers_the_first_question(real_config):
    child = pexpect.spawn(sys.executable, ["-m", "chatbot.cli", "chat", *_flags(real_config)], cwd=str(ROOT),
                          env=_env(), encoding="utf-8", timeout=240, dimensions=(40, 200))
    try:
        child.expect("就绪")
        child.expect_exact("你> ")
        child.sendline(HENGSHUI)
        child.expect_exact("0318-12333")
        child.expect_exact("来源:")
        child.expect_exact("你> ", timeout=60)
        child.sendline(ZONE)
        child.expect_exact("（按“衡水")   # says how it understood the follow-up
        child.expect_exact("0318-2168618", timeout=60)
        child.expect_exact("[1] 衡水高新区医保局电话")
        child.expect_exact("你> ", timeout=60)
        child.sendline("/sources 1")
        child.expect_exact("工作时间为正常工作日", timeout=30)  # the whole passage, not only the quote
        child.expect_exact("你> ")
        child.sendline("/new")
        child.expect_exact("（新对话）")
        child.expect_exact("你> ")
        child.sendeof()
        child.expect(pexpect.EOF, timeout=30)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before


def _ask_history(url: str, question: str, history: list[str]) -> dict:
    r = httpx.post(f"{url}/gradio_api/call/ask_history", json={"data": [question, history]}, timeout=120,
                   trust_env=False)
    assert r.status_code == 200, r.text
    event = None
    with httpx.stream("GET", f"{url}/gradio_api/call/ask_history/{r.json()['event_id']}", timeout=120,
                      trust_env=False) as s:
        for line in s.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                assert event == "complete", line
                return json.loads(line[5:])[0]
    raise AssertionError("the stream ended without a result")


@pytest.fixture(scope="module")
def app_url(real_config, tmp_path_factory):
    with App(tmp_path_factory.mktemp("conversation-app"), real_config) as app:
        yield app.url


def test_api_answers_a_follow_up_from_its_history(app_url):
    out = _ask_history(app_url, ZONE, [HENGSHUI])
    assert not out["refused"] and "0318-2168618" in out["answer"] and "[1]" in out["answer"]
    assert out["understood_as"] and "高新区" in out["understood_as"]
    assert out["answer"].startswith("（按“")
    assert out["citations"][0]["title"] == "衡水高新区医保局电话"


def test_api_refuses_a_swapped_in_place_it_has_no_number_for(app_url):
    out = _ask_history(app_url, "那保定的呢？", ["廊坊医保24小时咨询电话是多少？"])
    assert out["refused"] and "保定" in out["answer"] and "0316" not in out["answer"]


def test_api_ignores_history_for_a_new_subject(app_url):
    out = _ask_history(app_url, "孕检可以用老公的医保卡吗", [HENGSHUI])
    assert out["understood_as"] is None and "0318" not in out["answer"]
    assert out["citations"][0]["title"] == "孕检可以用老公的医保卡吗"


def test_ask_with_a_history_file(real_config, tmp_path):
    history = tmp_path / "history.json"
    history.write_text(json.dumps([HENGSHUI], ensure_ascii=False), encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "chatbot.cli", "ask", ZONE, "--history", str(history), "--json",
                          *_flags(real_config)], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert "0318-2168618" in out["answer"] and out["understood_as"]
    history.write_text('{"not": "a list"}', encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "chatbot.cli", "ask", ZONE, "--history", str(history),
                          *_flags(real_config)], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "JSON list" in run.stderr and "Traceback" not in run.stderr


def test_dev2_follow_ups_meet_the_issue_targets(real_qa):
    from chatbot import evaluation

    items = [i for i in evaluation.load_questions(SHARED_EVAL2) if i.get("history")]
    outcomes = evaluation.run(real_qa, items)
    follow = evaluation.metrics([o for o in outcomes if o.item.get("type") == "followup"])
    refused = [o.refused for o in outcomes if not o.item.get("evidence")]
    assert follow["recall@1"] >= 0.85 and follow["answer_hit"] >= 0.80, follow
    assert sum(refused) / len(refused) >= 0.85, refused


def test_a_message_pointing_back_past_the_last_question_is_answered_from_that_one(real_qa):
    """"再回到前面住院报销的事" after a card question: read against the 沧州 hospital question."""
    history = ["沧州职工医保住院报销比例多少", "医保卡丢了怎么补办"]
    answer, retrieval = real_qa.ask_with_hits("再回到前面住院报销的事，二级医院的起付线是多少", 5, history)
    assert not answer.refused and "500元" in answer.text
    assert retrieval.hits[0].passage.title == "沧州职工医保住院报销"


def test_a_doctors_question_after_an_insurance_question_is_refused(real_qa):
    """The conversation carried 职工医保住院; the message itself asks which department to see."""
    history = ["沧州职工医保住院报销比例多少", "我妈有高血压"]
    answer, _ = real_qa.ask_with_hits("她最近老是头晕，该挂哪个科", 5, history)
    assert answer.refused and "医生" in answer.text
