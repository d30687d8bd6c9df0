"""Reliability and safety, fast half: hostile questions through the chat handler, damaged indexes, the fake index (no subprocess)."""

from __future__ import annotations

import json
import os
import pytest
from chatbot.config import Config
from chatbot.service import QA
from chatbot.ui import handler as chat
from ..helpers import ROOT
from ..helpers.reliability import HOSTILE, check_answer


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_question_through_the_chat_handler(fake_chat, fake_index, name):
    question = HOSTILE[name]
    result = chat.answer(question)
    check_answer(name, result.to_dict(), fake_index.max_query_chars)
    for html in (chat.respond(question, []), [m for m, _ in chat.respond_stream(question, [], delay=0)][-1]):
        assert isinstance(html, str) and html.strip()
        assert "Traceback" not in html
        # whatever the question held, no markup from it reaches the page
        assert "<script" not in html and "<img" not in html and "onerror=alert(1)>" not in html
        if len(question) > fake_index.max_query_chars:
            assert "只使用了前" in html


def test_non_string_questions_do_not_crash_the_pipeline(fake_chat):
    for question in (None, 123, ["医保"], {"q": "医保"}, b"\xff\xfe"):
        result = chat.answer(question)  # the JSON API passes whatever the client sent
        assert result.text.strip() and result.reason != "error", (question, result)


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_question_log_rows_hold_only_the_question_and_the_answer(fake_chat, tmp_path, name):
    from chatbot.console.log import QuestionLog

    qlog = QuestionLog(tmp_path / "feedback")
    result = chat.answer(HOSTILE[name])
    rid = qlog.record(result, 0.1, "web")
    assert rid is not None and qlog.rate(rowid=rid, rating="down", reason="其他")
    (row,) = qlog.rows()  # one row: control characters or newlines in a question cannot split it
    assert set(row) <= {"id", "time", "channel", "session", "message", "question", "understood_as", "answer",
                        "refused", "reason", "citations", "latency_ms", "rating", "rating_reason", "rated_at"}
    assert row["session"] is None and row["message"] is None  # none given here
    assert row["question"] == result.question and row["answer"] == result.text and row["rating"] == "down"
    assert row["question"] in QA(Config()).prepare(HOSTILE[name])[0] or row["question"] == HOSTILE[name][:200]
    for source in row["citations"]:
        assert set(source) <= {"n", "chunk_id", "source", "title", "date", "page", "section", "quotes", "text"}
    # nothing about the machine or the person: no paths, host names, addresses or environment
    line = json.dumps(row, ensure_ascii=False)
    secrets = [str(tmp_path), str(ROOT), os.environ.get("HOME", "/root"), "127.0.0.1"]
    if len(os.uname().nodename) >= 6:
        secrets.append(os.uname().nodename)
    for secret in secrets:
        assert secret not in line
