"""The admin app's wiring: absent without an admin login; a Blocks of its own (the chat's describes
none of it); every action checks the login."""

from __future__ import annotations

import gradio as gr
import pytest

from chatbot.ui import admin


def test_admin_spec_parsing(monkeypatch):
    monkeypatch.delenv("CHATBOT_ADMIN", raising=False)
    assert admin.parse_admin(None) is None and admin.parse_admin("boss:pw:x") == ("boss", "pw:x")
    for bad in ("boss", ":pw", "boss:"):
        with pytest.raises(ValueError):
            admin.parse_admin(bad)


def test_no_tab_and_no_uploads_without_admin(fake_config, monkeypatch):
    monkeypatch.delenv("CHATBOT_ADMIN", raising=False)
    assert admin.build_admin(fake_config, qa=None) is None
    with gr.Blocks() as demo:
        assert admin.add_tab(fake_config, qa=None) is None
    names = {d.api_name for d in demo.fns.values()}
    assert not any(str(n).startswith("admin") for n in names)
    assert admin.max_file_size(fake_config) == 1
    assert admin.with_admin(("u", "p"), fake_config) == ("u", "p")


def test_tab_endpoints_and_limits_with_admin(fake_config, monkeypatch):
    monkeypatch.setenv("CHATBOT_ADMIN", "boss:s3cret")
    demo = admin.build_admin(fake_config, qa=None)
    names = {d.api_name for d in demo.fns.values()}
    assert {"admin_upload", "admin_delete", "admin_rebuild", "admin_documents", "admin_log"} <= names
    assert all(fn.queue for fn in demo.fns.values() if fn.fn is not None)  # nothing runs outside the queue
    labels = str(demo.get_config_file())
    assert "资料库" in labels and "问答记录" in labels
    assert admin.max_file_size(fake_config) == 50 * 1024 * 1024
    assert admin.with_admin(("u", "p"), fake_config) == [("u", "p"), ("boss", "s3cret")]
    assert admin.with_admin(None, fake_config) is None


def test_guard_checks_credentials(monkeypatch):
    monkeypatch.setattr(admin, "_FAIL_DELAY", 0)
    g = admin._Guard(("boss", "s3cret"))
    assert g.ok("boss", "s3cret") and not g.ok("boss", "wrong") and not g.ok("", "") and not g.ok(None, None)


def test_table_rows_in_chinese(fake_config, fake_embedder):
    from chatbot.store import open_store

    (fake_config.documents_dir / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64)
    open_store(fake_config).build(fake_embedder)
    rows = {r[0]: r for r in admin.table_rows(fake_config)}
    assert rows["old.doc"][6].startswith("已跳过：") and rows["000_91c1583d48168d56.txt"][6] == "已索引"
    assert rows["000_91c1583d48168d56.txt"][2].endswith("KB")


def test_guard_locks_the_address_but_not_the_admin_elsewhere(monkeypatch):
    """5 wrong admin passwords from one address lock that address; the right one from another
    address is only slowed down (issue 22: the admin was locked out)."""
    monkeypatch.setattr(admin, "_FAIL_DELAY", 0)
    g = admin._Guard(("boss", "s3cret"))
    here, there = Request("10.0.0.1"), Request("10.0.0.2")
    for _ in range(5):
        assert g.deny("boss", "guess", here) == admin.DENIED
    assert "locked, try again in" in g.deny("boss", "s3cret", here)
    said = g.deny("boss", "s3cret", there)
    assert said is None or "try again in" in said


def test_a_gradio_login_as_the_admin_proves_nothing(monkeypatch):
    monkeypatch.setattr(admin, "_FAIL_DELAY", 0)
    g = admin._Guard(("boss", "s3cret"))
    request = Request("10.0.0.3", username="boss")
    assert not g.ok("", "", request) and g.ok("boss", "s3cret", request)


class Request:
    def __init__(self, host, username=None):
        self.client = type("Client", (), {"host": host})()
        self.username = username


def test_the_chat_page_describes_no_admin_component(fake_config, monkeypatch):
    """The chat's Blocks (whose /config every chat user reads) holds none of the admin app."""
    from chatbot.ui import app

    monkeypatch.setenv("CHATBOT_ADMIN", "boss:s3cret")
    monkeypatch.setattr(app, "corpus_line", lambda qa: "")
    monkeypatch.setattr(app.chat, "get_qa", lambda config: None)
    described = str(app.build_ui(fake_config).get_config_file())
    for word in ("admin_", "管理员", "上传", "重建索引", "问答记录", "检索测试", "批量评测", "do_login"):
        assert word not in described, word
