"""The question log (issue 20, chatbot/console/log.py): SQLite, WAL, several writers, a corrupt file
set aside, retention, the old feedback imported once, 知识缺口 groups, CSV."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3

import pytest

from chatbot.console.log import FEEDBACK_REASONS, QuestionLog, group
from chatbot.types import Answer, Citation, Passage


def answer(q="北京市医保电话是多少", refused=False, reason=None, understood=None) -> Answer:
    p = Passage("a.md#1:0", "a", "a.md", "医保电话", "2024-01-01", 1, "text", "衡水市医保电话 0318-1234567。")
    cites = () if refused else (Citation(1, p, 0.9, ("0318-1234567",)),)
    return Answer(q, "没有找到" if refused else "电话是 0318-1234567 [1]", refused, cites, reason=reason,
                  understood_as=understood)


def test_a_question_is_logged_with_its_outcome_citations_latency_and_rating(tmp_path):
    qlog = QuestionLog(tmp_path)
    rid = qlog.record(answer(understood="衡水市医保电话"), 0.25, "web", "sess0000001", 1)
    qlog.record(answer("上海牙科", True, "place"), 0.1, "api")
    assert qlog.rate(rating="down", reason="事实有误", session="sess0000001", message=1)
    rows = qlog.rows()
    assert [r["id"] for r in rows] == [rid + 1, rid]
    mine = rows[1]
    assert mine["understood_as"] == "衡水市医保电话" and mine["latency_ms"] == 250.0 and not mine["refused"]
    assert mine["citations"][0]["source"] == "a.md" and mine["citations"][0]["quotes"] == ["0318-1234567"]
    assert mine["rating"] == "down" and mine["rating_reason"] == "事实有误"
    assert [r["id"] for r in qlog.rows(refused=True)] == [rid + 1] and rows[0]["reason"] == "place"
    assert [r["id"] for r in qlog.rows(down=True)] == [rid]
    assert [r["id"] for r in qlog.rows(text="牙科")] == [rid + 1]
    assert qlog.rows(since="2999-01-01") == []
    assert qlog.rate(rowid=rid, rating="withdrawn") and qlog.rows(down=True) == []
    with pytest.raises(ValueError):
        qlog.rate(rowid=rid, rating="down", reason="随便")
    assert set(FEEDBACK_REASONS) == {"答非所问", "事实有误", "不完整", "已过时", "其他"}
    assert sqlite3.connect(qlog.path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    cols = [r[1] for r in sqlite3.connect(qlog.path).execute("PRAGMA table_info(questions)")]
    assert not any("ip" in c or "host" in c or "addr" in c for c in cols)


def test_no_log_writes_nothing(tmp_path):
    qlog = QuestionLog(tmp_path, enabled=False)
    assert qlog.record(answer(), 0.1) is None and qlog.rows() == [] and not qlog.path.exists()


def test_old_rows_are_deleted_after_the_retention(tmp_path):
    qlog = QuestionLog(tmp_path, days=90)
    qlog.record(answer(), 0.1)
    db = sqlite3.connect(qlog.path)
    db.execute("UPDATE questions SET time='2000-01-01T00:00:00+00:00'")
    db.commit()
    db.close()
    qlog.record(answer("新问题"), 0.1)
    assert qlog.prune() == 1 and [r["question"] for r in qlog.rows()] == ["新问题"]


def test_the_old_feedback_is_imported_once(tmp_path):
    rows = [{"time": "2026-01-02T00:00:00+00:00", "rating": "down", "session": "s", "message": 1,
             "question": "旧问题", "answer": "旧答案", "refused": False, "reason": None,
             "sources": [{"n": 1, "source": "a.md", "title": "t", "text": "x"}]},
            {"time": "2026-01-02T00:00:00+00:00", "rating": "up", "question": "好问题", "answer": "a", "refused": False}]
    (tmp_path / "feedback.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\nnot json\n", encoding="utf-8")
    qlog = QuestionLog(tmp_path)
    assert qlog.import_feedback(tmp_path / "feedback.jsonl") == 2
    assert QuestionLog(tmp_path).import_feedback(tmp_path / "feedback.jsonl") == 0
    got = {r["question"]: r for r in qlog.rows()}
    assert got["旧问题"]["rating"] == "down" and got["旧问题"]["citations"][0]["source"] == "a.md"
    assert qlog.count() == 2


def _writer(folder, name, n):
    qlog = QuestionLog(folder, busy_timeout_s=30)
    for i in range(n):
        assert qlog.record(answer(f"{name}-{i}"), 0.01) is not None


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(tmp_path, name, 300)) for name in ("a", "b")]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    questions = {r["question"] for r in QuestionLog(tmp_path).rows(limit=10_000)}
    assert len(questions) == 600


def test_a_corrupt_log_is_set_aside_and_logging_goes_on(tmp_path):
    (tmp_path / "questions.sqlite3").write_bytes(b"this is not a database at all" * 200)
    qlog = QuestionLog(tmp_path)
    assert qlog.record(answer(), 0.1) is not None
    assert qlog.problem and "损坏" in qlog.problem
    assert list(tmp_path.glob("questions.sqlite3.corrupt-*")) and len(qlog.rows()) == 1


def test_a_locked_log_does_not_raise(tmp_path):
    qlog = QuestionLog(tmp_path, busy_timeout_s=0.2)
    qlog.record(answer(), 0.1)
    holder = sqlite3.connect(qlog.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert qlog.record(answer(), 0.1) is None and qlog.failures == 1
        assert qlog.rate(rowid=1, rating="up") is False
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert qlog.record(answer(), 0.1) is not None


def test_three_paraphrases_of_one_refused_question_form_one_group():
    questions = ["上海异地就医备案怎么办", "上海怎么办理异地就医备案", "异地就医备案在上海如何办理",
                 "北京市医保电话是多少", "北京的医保热线电话多少", "请问北京医保局电话号码是多少",
                 "牙齿矫正医保能报销吗"]
    groups = group(questions)
    assert [g["count"] for g in groups][:2] == [3, 3] and len(groups) == 3
    assert {frozenset(g["questions"]) for g in groups} >= {frozenset(questions[:3]), frozenset(questions[3:6])}


def test_csv_export_cannot_run_formulas(tmp_path):
    qlog = QuestionLog(tmp_path)
    qlog.record(answer("=HYPERLINK(\"x\")"), 0.1)
    text = qlog.csv()
    assert text.splitlines()[0].startswith("id,time,channel,question") and "'=HYPERLINK" in text


def test_complete_link_merges_only_groups_whose_every_pair_is_close():
    import numpy as np

    from chatbot.console.gaps import by_meaning, complete_link

    # a–b close, b–c close, a–c far: single link would chain all three; complete link keeps c apart
    sim = np.array([[1, .9, .2, .1], [.9, 1, .8, .1], [.2, .8, 1, .1], [.1, .1, .1, 1]], dtype=np.float32)
    labels = complete_link(sim, 0.75)
    assert labels[0] == labels[1] and len({labels[0], labels[2], labels[3]}) == 3
    vectors = {"a": [1.0, 0.0], "b": [0.96, 0.28], "c": [0.0, 1.0]}
    groups = by_meaning(["a", "b", "a", "c"], lambda texts: np.array([vectors[t] for t in texts]), 0.75)
    assert [(g["count"], g["question"], sorted(g["questions"])) for g in groups] == [(3, "a", ["a", "b"]), (1, "c", ["c"])]
