"""Input hygiene and limits (chatbot.ui.guard): cleaning, caps, id shapes, login throttle, token lifetime."""

from __future__ import annotations

import sys

import pytest

from chatbot.config import Config
from chatbot.ui import guard


def test_guard_edge_and_question_log_do_not_import_gradio():
    import subprocess

    code = "import chatbot.ui.guard, chatbot.ui.edge, chatbot.console.log, sys; print('gradio' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("raw,clean", [
    ("\udcff衡水", "衡水"),
    ("衡水\ud83d", "衡水"),
    ("a\x00b\x1b[31mc\x7fd", "ab[31mcd"),
    ("行1\u2028行2\u2029行3\x85行4\r\n行5\r行6", "行1\n行2\n行3\n行4\n行5\n行6"),
    ("\u202eevil\u202c \u2066x\u2069", "evil x"),
    ("\ufeff医保\ufffe", "医保"),
    ("tab\tand\nnewline kept, 👨‍👩‍👧 kept", "tab\tand\nnewline kept, 👨‍👩‍👧 kept"),
])
def test_clean_text(raw, clean):
    assert guard.clean_text(raw) == clean
    clean.encode("utf-8")  # always encodable


def test_clean_json_reaches_every_string_and_key():
    value = {"data": ["\udcff问", ["\x00x", {"k\x1b": "v\u2028w"}], 1, None, True], "session_hash": "ab\u2028cd"}
    assert guard.clean_json(value) == {"data": ["问", ["x", {"k": "v\nw"}], 1, None, True], "session_hash": "ab\ncd"}


def test_message_and_history_caps():
    assert guard.cap_message("医" * 100_000, 2000) == "医" * 2000
    assert guard.cap_message(None, 10) == "" and guard.cap_message(123, 10) == "" and guard.cap_message(["x"], 10) == ""
    history = [f"问题{i}" + "长" * 1000 for i in range(1000)] + [7, None, {"a": 1}, "  "]
    capped = guard.cap_history(history, 8, 500)
    assert len(capped) == 4 and all(len(h) <= 500 for h in capped)  # the last 8 items, strings only
    assert capped[0].startswith("问题996")
    assert guard.cap_history("not a list", 8, 500) == [] and guard.cap_history(None, 8, 500) == []


@pytest.mark.parametrize("session,ok", [
    ("a1b2c3d4e5", True), ("3f2c9a7e-1b2d-4c5e-8f90-123456789abc", True), ("short", False),
    ("x" * 65, False), ("abc\u2028defgh", False), ("abcdefgh\n", False), (None, False), (12345678, False),
    ("../../etc/passwd", False),
])
def test_session_ids_have_a_fixed_shape(session, ok):
    assert guard.session_ok(session) is ok


@pytest.mark.parametrize("value,index", [
    (3, 3), ([5, None], 5), ((0,), 0), (1.0, None), (True, None), (False, None), (-1, None), ("1", None),
    (None, None), ([], None), (10**9, None),
])
def test_message_indexes_are_integers_only(value, index):
    assert guard.message_index(value) == index


def test_limits_live_in_config_with_env_overrides(monkeypatch):
    c = Config()
    assert c.max_message_chars == 2000 and c.max_history_turns == 8 and c.max_body_bytes == 256 * 1024
    assert c.queue_max_size > c.per_client_events > 0 and c.login_free_failures == 5
    monkeypatch.setenv("CHATBOT_QUEUE_MAX", "7")
    monkeypatch.setenv("CHATBOT_SESSION_HOURS", "0.5")
    assert Config().queue_max_size == 7 and Config().session_hours == 0.5
