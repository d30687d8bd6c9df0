"""The chat handler as plain Python: respond(), respond_stream(), and HTML escaping."""

from __future__ import annotations

import pytest
import shutil
from chatbot.render import answer_as_html, answer_as_text, question_as_html
from chatbot.service import QA
from chatbot.types import Answer, Citation
from chatbot.ui import handler as chat
from ..helpers.chat import HOSTILE_TITLE, parse, assert_inert, hostile_passage, hostile_answer, BrokenQA


def test_document_markup_is_escaped_and_shown_as_text():
    out = answer_as_html(hostile_answer())
    c = assert_inert(out)
    text = "".join(c.text)
    assert "<script>window.__xss=2</script>" in text      # the markup is visible, as text
    assert '<img src=x onerror="window.__xss=1">' in text  # the title too
    assert "&lt;script&gt;" in out and "<script" not in out and "<img" not in out


def test_answer_has_marker_sources_and_highlighted_quote():
    out = answer_as_html(hostile_answer())
    c = parse(out)
    assert "<span class='cite'>[1]</span>" in out
    details = [attrs for tag, attrs in c.tags if tag == "details"]
    assert len(details) == 1 and ("open", None) in details[0]  # the cited source is open next to the answer
    assert "<mark>&lt;script&gt;window.__xss=2&lt;/script&gt;补办蓝鲸卡需要携带本人身份证原件。</mark>" in out
    assert "hostile.txt" in out and "2025-04-19" in out
    assert "<br>" in out  # the passage's line break kept, as markup we control


def test_only_the_first_source_is_open_and_markers_refer_to_sources():
    p = hostile_passage()
    a = Answer("q", "甲。[1] 乙 [7]", False, (Citation(1, p, 0.9, ()), Citation(2, p, 0.5, ())))
    out = answer_as_html(a)
    assert out.count("<details class='source' open>") == 1 and out.count("<details class='source'>") == 1
    assert "<span class='cite'>[1]</span>" in out and "[7]" in out and "<span class='cite'>[7]</span>" not in out


def test_refusal_and_error_have_their_own_visible_states():
    p = hostile_passage()
    refused = answer_as_html(Answer("q", "资料中没有找到能回答这个问题的内容。", True,
                                    related=(Citation(1, p, 0.2),), reason="low_confidence"))
    assert "class='reply refused'" in refused and "没有找到答案" in refused and "不是答案" in refused
    assert_inert(refused)
    error = answer_as_html(chat.error_answer("q"))
    assert "class='reply error'" in error and "出错了" in error and chat.USER_ERROR in error
    assert_inert(error)


def test_question_is_shown_as_typed():
    out = question_as_html("第一行 <b>粗</b>\n\n<script>x()</script>")
    c = assert_inert(out)
    assert "".join(c.text) == "第一行 <b>粗</b><script>x()</script>"
    assert out.count("<br>") == 2


def test_text_rendering_is_unchanged_for_the_terminal():
    out = answer_as_text(hostile_answer())
    assert "<script>" in out and "[1] " in out and "hostile.txt" in out


def test_respond_gives_the_answer_html(pipeline):
    expected = pipeline.ask("蓝鲸卡丢了怎么补办？")
    out = chat.respond("蓝鲸卡丢了怎么补办？", [])
    assert out == answer_as_html(expected)
    assert_inert(out)
    if not expected.refused:
        assert "<span class='cite'>[1]</span>" in out and "<details class='source' open>" in out


def test_hostile_document_through_the_pipeline_stays_inert(pipeline):
    result = chat.answer("蓝鲸卡补办须知")
    out = answer_as_html(result)
    assert_inert(out)
    assert "hostile.txt" in out  # retrieved (as a source or as related material), and shown as text
    assert "&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;" in out


def test_respond_stream_grows_then_ends_with_the_full_message(pipeline):
    steps = list(chat.respond_stream("医保卡丢了怎么挂失补办？", [], delay=0))
    final = chat.respond("医保卡丢了怎么挂失补办？")
    assert steps[-1][0] == final
    partial = steps[:-1]
    text = steps[-1][1].text
    assert len(partial) == max(0, (len(text) - 1) // 6)
    assert len(partial) >= 2
    shown = [parse(html).text for html, _ in partial]
    for html_text, _ in partial:
        assert "▌" in html_text and "<details" not in html_text  # sources only at the end
        assert_inert(html_text)
    lengths = [len("".join(t)) for t in shown]
    assert lengths == sorted(lengths) and lengths[0] < lengths[-1]
    assert all(result is steps[-1][1] for _, result in steps)


def test_empty_question_gets_a_prompt_not_an_error(pipeline):
    out = chat.respond("   ")
    assert "请输入" in out and "出错了" not in out


def test_unexpected_failure_becomes_a_plain_error_message():
    saved = chat._qa
    chat.configure(qa=BrokenQA())
    try:
        steps = list(chat.respond_stream("医保卡丢了怎么办", []))
        out = chat.respond("医保卡丢了怎么办")
    finally:
        chat._qa = saved
    assert len(steps) == 1 and steps[0][0] == out and steps[0][1].reason == "error"
    assert chat.USER_ERROR in out and "boom" not in out and "/secret" not in out and "Traceback" not in out


def test_damaged_index_is_reported_without_paths(pipeline, fake_config, fake_embedder, tmp_path):
    """A real failure: the index on disk is damaged. The user gets the plain message, not the path."""
    bad = tmp_path / "bad-embeddings"
    shutil.copytree(fake_config.embeddings_dir, bad, symlinks=True)
    faiss_file = next(bad.glob("v-*/dense.faiss"))
    faiss_file.write_bytes(faiss_file.read_bytes()[:100])
    saved = chat._qa
    chat.configure(qa=QA(fake_config.with_overrides(embeddings_dir=bad), embedder=fake_embedder))
    try:
        result = chat.answer("医保卡丢了怎么办")
    finally:
        chat._qa = saved
    assert result.reason == "error" and result.text == chat.USER_ERROR
    assert str(bad) not in answer_as_html(result)


def test_a_rated_hostile_answer_is_one_row_of_the_question_log(tmp_path):
    from chatbot.console.log import QuestionLog

    qlog = QuestionLog(tmp_path / "fb")
    a = hostile_answer()
    rid = qlog.record(a, 0.1, "web", "session-1", 1)
    assert qlog.rate(rating="up", session="session-1", message=1)
    assert not qlog.rate(rating="up", session="session-2", message=3)  # no such answer: nothing written
    with pytest.raises(ValueError):
        qlog.rate(rowid=rid, rating="meh")
    (row,) = qlog.rows()
    assert row["rating"] == "up" and row["question"] == a.question and row["answer"] == a.text
    src = row["citations"][0]
    assert src["source"] == "hostile.txt" and src["title"] == HOSTILE_TITLE and src["date"] == "2025-04-19"
    assert src["text"] == hostile_passage().text and src["quotes"]
