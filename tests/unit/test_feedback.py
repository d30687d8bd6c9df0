"""The feedback log: one row per answer per session, validated ids, one line per row, capped rows,
and a lock that holds across processes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from chatbot.types import Answer, Citation, Passage
from chatbot.ui.feedback import FeedbackLog

SESSION = "k3j4h5g6f7"


def answer(text: str = "衡水市医保电话是0318-12333 [1]") -> Answer:
    p = Passage(chunk_id="c1", doc_id="d1", source="a.txt", title="衡水医保\u2028电话", date="2025-01-01", position=0, kind="main",
                text="衡水市医保电话是0318-12333。\u2029" * 3)
    return Answer("衡水市医保电话是多少\u0085", text, False, citations=(Citation(1, p, 0.9, ("衡水市医保电话是0318-12333。",)),))


def lines_of(log: FeedbackLog) -> list[str]:
    return log.path.read_text(encoding="utf-8").splitlines()


def test_thirty_identical_likes_leave_one_row(tmp_path):
    log = FeedbackLog(tmp_path)
    for _ in range(30):
        log.record("up", answer(), session=SESSION, message=1)
    assert len(log.read()) == 1 and log.read()[0]["rating"] == "up"


def test_a_changed_rating_replaces_the_row_and_other_answers_keep_theirs(tmp_path):
    log = FeedbackLog(tmp_path)
    log.record("up", answer(), session=SESSION, message=1)
    log.record("up", answer(), session=SESSION, message=3)
    log.record("up", answer(), session="otherSession1", message=1)
    log.record("down", answer(), session=SESSION, message=1)
    rows = log.read()
    assert [(r["session"], r["message"], r["rating"]) for r in rows] == [
        (SESSION, 3, "up"), ("otherSession1", 1, "up"), (SESSION, 1, "down")]
    log.record("withdrawn", answer(), session=SESSION, message=1)
    assert [r["rating"] for r in log.read()] == ["up", "up", "withdrawn"]
    log.record("withdrawn", answer(), session=SESSION, message=9)  # nothing rated there: nothing written
    assert len(log.read()) == 3


@pytest.mark.parametrize("session,message", [
    ("abc\u2028defghij", 1), ("short", 1), ("x" * 65, 1), (SESSION, 1.0), (SESSION, True), (SESSION, -1),
    (SESSION, "1"),
])
def test_malformed_session_ids_and_message_indexes_are_refused(tmp_path, session, message):
    log = FeedbackLog(tmp_path)
    with pytest.raises(ValueError):
        log.record("up", answer(), session=session, message=message)
    assert not log.path.exists()


def test_every_row_is_one_line_for_any_reader(tmp_path):
    """U+2028, U+2029 and U+0085 in questions and passages are escaped: str.splitlines() sees one row each."""
    log = FeedbackLog(tmp_path)
    log.record("up", answer(), session=SESSION, message=1)
    log.record("down", answer(), session=SESSION, message=3)
    text = log.path.read_text(encoding="utf-8")
    assert text.isascii()
    lines = text.splitlines()
    assert len(lines) == 2 and all(isinstance(json.loads(line), dict) for line in lines)
    assert json.loads(lines[0])["question"] == "衡水市医保电话是多少\u0085"  # kept, only escaped


def test_rows_are_size_capped(tmp_path):
    log = FeedbackLog(tmp_path, max_row_bytes=8 * 1024)
    huge = Passage(chunk_id="c", doc_id="d", source="big.txt", title="大", date=None, position=0, kind="main", text="医" * 50_000)
    a = Answer("问" * 50_000, "答" * 50_000, False, citations=tuple(Citation(n, huge, 0.5) for n in range(1, 30)))
    log.record("up", a, session=SESSION, message=1)
    line = lines_of(log)[0]
    assert len(line) <= 8 * 1024 and json.loads(line)["sources"]


def test_two_processes_writing_one_folder_lose_no_row(tmp_path):
    script = textwrap.dedent(f"""
        import sys
        from chatbot.types import Answer
        from chatbot.ui.feedback import FeedbackLog
        log = FeedbackLog(sys.argv[1])
        for i in range(40):
            log.record("up", Answer("q", "a", False), session="proc" + sys.argv[2] + "xxxxx", message=i)
            log.record("down", Answer("q", "a", False), session="proc" + sys.argv[2] + "xxxxx", message=i)
    """)
    procs = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path), str(n)]) for n in range(2)]
    assert all(p.wait(120) == 0 for p in procs)
    rows = FeedbackLog(tmp_path).read()
    assert len(rows) == 80 and {r["rating"] for r in rows} == {"down"}
    assert len({(r["session"], r["message"]) for r in rows}) == 80
