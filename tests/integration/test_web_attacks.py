"""Issue 22's outside probe, re-run against the real app process (httpx, raw sockets): every attack
below must fail. One app with --auth and --admin (fast timeouts, a small per-user session cap),
one with --admin only (the open chat). Figures are printed for the README."""

from __future__ import annotations

import json
from contextlib import closing
import shutil
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from ..helpers import ROOT
from ..helpers import signin
from ..helpers.servers import App
from ..helpers.signin import call, client, login, page_event

CHAT, ADMIN = ("me", "secret"), ("boss", "pw-管理")
DOC = "000_91c1583d48168d56.txt"
FAST = {"CHATBOT_HEADER_TIMEOUT_S": "2", "CHATBOT_BODY_TIMEOUT_S": "2", "CHATBOT_SESSIONS_PER_USER": "20",
        "CHATBOT_UPLOAD_QUOTA_MB": "1"}


def _copy(real_config, base):
    docs = base / "documents"
    shutil.copytree(real_config.documents_dir, docs)
    return real_config.with_overrides(documents_dir=docs)


@pytest.fixture(scope="module")
def locked(real_config, tmp_path_factory):
    """--auth me:secret --admin boss:…, with a leftover upload from an earlier run in its upload folder."""
    base = tmp_path_factory.mktemp("locked")
    cfg = _copy(real_config, base)
    leftover = base / "uploads"
    server = App(base, cfg, "--auth", ":".join(CHAT), "--admin", ":".join(ADMIN), env=FAST)
    port_dir = leftover / str(server.port)
    (port_dir / "abc").mkdir(parents=True)
    (port_dir / "abc" / "old.pdf").write_bytes(b"x" * 1000)
    try:
        server.wait_ready()
        server.docs, server.uploads = cfg.documents_dir, port_dir
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def open_chat(real_config, tmp_path_factory):
    base = tmp_path_factory.mktemp("openchat")
    cfg = _copy(real_config, base)
    server = App(base, cfg, "--admin", ":".join(ADMIN), env=FAST).wait_ready()
    server.docs, server.uploads = cfg.documents_dir, base / "uploads" / str(server.port)
    try:
        yield server
    finally:
        server.stop()


def session(url, user=CHAT[0], password=CHAT[1], address=None) -> httpx.Client:
    return signin.session(url, user, password, address)


def admin_session(url, address=None) -> httpx.Client:
    """A client logged in to the admin app (mounted at /admin behind its own login)."""
    return signin.admin_session(url, *ADMIN, address)


def admin_token(c: httpx.Client, url: str, password=ADMIN[1]) -> str:
    """Sign in on the 资料库 tab of the admin app (`url`: the chat's root) as the page does; the
    upload token it hands the page."""
    return signin.admin_token(c, url, ADMIN[0], password)


# 1 ---------------------------------------------------------------------------------------------
def test_another_origin_cannot_run_admin_actions_with_the_admins_cookies(locked):
    url, admin_url = locked.url, f"{locked.url}/admin"
    boss = admin_session(url)  # the admin is logged in to the admin app (Gradio login) in this browser
    cookie = boss.cookies
    assert all("samesite=lax" in h.lower() for h in login(admin_url, *ADMIN).headers.get_list("set-cookie"))
    evil = {"Origin": "http://evil.chat.example", "Host": "chat.example"}
    pre = httpx.options(f"{admin_url}/gradio_api/call/admin_delete", trust_env=False,
                        headers={**evil, "Access-Control-Request-Method": "POST"})
    assert pre.status_code == 403 and "access-control-allow-origin" not in pre.headers
    for name, data in (("admin_documents", ["", ""]), ("admin_delete", ["", "", DOC])):
        r = httpx.post(f"{admin_url}/gradio_api/call/{name}", json={"data": data}, cookies=cookie, headers=evil,
                       trust_env=False)
        assert r.status_code == 403 and "access-control-allow-origin" not in r.headers, name
        # another port of the same host is another origin too
        r = boss.post(f"{admin_url}/gradio_api/call/{name}", json={"data": data},
                      headers={"Origin": f"http://127.0.0.1:{locked.port + 1}"})
        assert r.status_code == 403, name
    # same origin with the admin's Gradio login but without the admin password: refused too
    for name, data in (("admin_documents", ["", ""]), ("admin_delete", [ADMIN[0], "", DOC])):
        event, _ = call(boss, admin_url, name, data, headers={"Origin": url})
        assert event == "error", name
    assert (locked.docs / DOC).exists()
    event, rows = call(boss, admin_url, "admin_documents", list(ADMIN), headers={"Origin": url})
    assert event == "complete" and any(r["name"] == DOC for r in rows[0])


# 4 ---------------------------------------------------------------------------------------------
def test_only_the_signed_in_admin_page_may_upload(locked, open_chat):
    assert not (locked.uploads / "abc").exists() and "leftover upload" in locked.log  # cleaned at start
    files = {"files": ("a.txt", "医保" * 100, "text/plain")}
    assert httpx.post(f"{open_chat.url}/gradio_api/upload", files=files, trust_env=False).status_code == 403
    assert httpx.post(f"{open_chat.url}/admin/gradio_api/upload", files=files, trust_env=False).status_code == 401
    with closing(session(locked.url)) as me:  # a chat user
        assert me.post(f"{locked.url}/gradio_api/upload", files=files).status_code == 403
        assert me.post(f"{locked.url}/admin/gradio_api/upload", files=files).status_code == 401
    assert not any(p.is_file() for p in open_chat.uploads.rglob("*")) and not any(
        p.is_file() for p in locked.uploads.rglob("*"))
    admin_url = f"{open_chat.url}/admin"
    with closing(admin_session(open_chat.url)) as admin:
        # logged in to the admin app but not signed in on its 资料库 form: no upload
        assert admin.post(f"{admin_url}/gradio_api/upload", files=files).status_code == 403
        token = admin_token(admin, open_chat.url)
        admin.cookies.set("chatbot-admin", token)
        # the chat app takes no files even from the admin
        assert admin.post(f"{open_chat.url}/gradio_api/upload", files=files).status_code == 403
        up = admin.post(f"{admin_url}/gradio_api/upload", files={"files": ("新.txt", "河北医保新规定。" * 50)},
                        headers={"accept-encoding": "br, gzip"})
        assert up.status_code == 200, up.text
        names = up.json()
        # the answer names the file by an opaque id: no server path, no folder, not even its name
        assert len(names) == 1 and names[0].startswith("upload-") and "/" not in names[0] and "\\" not in names[0]
        assert str(open_chat.uploads.parent) not in up.text and "新" not in up.text and "tmp" not in up.text
        assert len(list(open_chat.uploads.rglob("*.txt"))) == 1
        # a refused admin_upload (wrong password) still removes the temp file
        fd = [{"path": names[0], "orig_name": "新.txt", "meta": {"_type": "gradio.FileData"}}]
        event, _ = call(admin, admin_url, "admin_upload", [ADMIN[0], "wrong", fd])
        assert event == "error" and not list(open_chat.uploads.rglob("*.txt"))
        # the per-client quota (1 MB in this app): 0.6 MB passes, the next 0.6 MB is refused
        big = {"files": ("big.txt", b"a" * 600_000)}
        assert admin.post(f"{admin_url}/gradio_api/upload", files=big).status_code == 200
        r = admin.post(f"{admin_url}/gradio_api/upload", files=big)
        assert r.status_code == 429 and "quota" in r.text


# 3 ---------------------------------------------------------------------------------------------
def test_login_throttle_holds_for_multipart_and_forwarded_for_and_never_locks_out_the_right_password(locked):
    url = locked.url
    codes = [login(url, "me", f"guess{i}", "127.0.0.7", multipart=True,
                   headers={"X-Forwarded-For": f"10.9.{i}.1"}).status_code for i in range(8)]
    assert codes[:5] == [400] * 5 and codes[5:] == [429] * 3, codes  # X-Forwarded-For is not believed
    r = login(url, "me", "secret", "127.0.0.7")
    assert r.status_code == 429 and "locked, try again in" in r.text and int(r.headers["retry-after"]) >= 1
    assert "failed login for user 'me' from 127.0.0.7" in locked.log
    # the right password from another address gets in (after at most the user name's short wait)
    deadline, status = time.monotonic() + 15, None
    while time.monotonic() < deadline and status != 200:
        r = login(url, "me", "secret", "127.0.0.8")
        status = r.status_code
        assert status in (200, 429) and (status == 200 or "try again in" in r.text)
        time.sleep(1)
    assert status == 200
    # simultaneous correct logins all succeed (only failures count)
    with ThreadPoolExecutor(10) as pool:
        codes = list(pool.map(lambda i: login(url, "me", "secret", "127.0.0.9").status_code, range(10)))
    assert codes == [200] * 10


def test_wrong_admin_passwords_do_not_lock_the_admin_out(locked):
    """Guessing the admin app's login (multipart too) locks the guessing address, never the admin
    elsewhere; the 资料库 form behind it is throttled the same way (tests/unit/test_admin.py)."""
    admin_url = f"{locked.url}/admin"
    codes = [login(admin_url, ADMIN[0], f"guess{i}", "127.0.0.10", multipart=i % 2 == 1).status_code
             for i in range(7)]
    assert codes[:5] == [400] * 5 and codes[5:] == [429] * 2, codes
    r = login(admin_url, *ADMIN, "127.0.0.10")
    assert r.status_code == 429 and "locked, try again in" in r.text
    assert "failed login for user 'boss' from 127.0.0.10" in locked.log
    deadline, status = time.monotonic() + 15, None
    while time.monotonic() < deadline and status != 200:
        status = login(admin_url, *ADMIN, "127.0.0.11").status_code
        assert status in (200, 429)
        time.sleep(0 if status == 200 else 1)
    assert status == 200
    with closing(admin_session(locked.url, address="127.0.0.11")) as admin:
        assert admin_token(admin, locked.url)


# 6 ---------------------------------------------------------------------------------------------
def test_a_login_flood_ends_no_other_users_session_and_logout_ends_only_its_own(locked):
    url = locked.url
    boss = session(url, *ADMIN)
    first, second = session(url), session(url)
    start = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda i: login(url, "me", "secret", "127.0.0.12").status_code, range(200)))
    rate = 200 / (time.monotonic() - start)
    print(f"\n200 logins of one user: {rate:.0f} logins/s")
    assert set(codes) == {200}
    assert boss.get(f"{url}/config").status_code == 200      # the admin's session lives on
    assert first.get(f"{url}/config").status_code == 401     # that user's oldest sessions (cap 20) ended
    a, b = session(url), session(url)
    a.get(f"{url}/logout")
    assert a.get(f"{url}/config").status_code == 401 and b.get(f"{url}/config").status_code == 200
    del second


# 5 ---------------------------------------------------------------------------------------------
def test_run_routes_take_only_the_pages_unqueued_events(locked):
    url = locked.url
    with closing(session(url)) as me:
        ids = {d["api_name"]: d["id"] for d in me.get(f"{url}/config").json()["dependencies"]}
        for path in ("/gradio_api/run/ask", "/gradio_api/api/ask", "/gradio_api/run/ask_history"):
            r = me.post(f"{url}{path}", json={"data": ["衡水市医保电话是多少"]})
            assert r.status_code == 404 and "/gradio_api/call/" in r.text, path
        for fn in ("bot", "ask", "on_like"):  # queued events by fn_index
            r = me.post(f"{url}/gradio_api/run/predict", json={"data": [None] * 4, "fn_index": ids[fn],
                                                                "session_hash": "runqueued01"})
            assert r.status_code == 404, fn
        r = me.post(f"{url}/gradio_api/run/predict", json={"data": ["医保", None, None], "fn_index": ids["add_user"],
                                                            "session_hash": "runqueued01"})
        assert r.status_code == 200
    with closing(admin_session(url)) as boss:  # the admin app runs nothing outside its queue
        ids = {d["api_name"]: d["id"] for d in boss.get(f"{url}/admin/config").json()["dependencies"]}
        for fn in ("admin_documents", "do_login"):
            r = boss.post(f"{url}/admin/gradio_api/run/predict", json={"data": list(ADMIN), "fn_index": ids[fn],
                                                                       "session_hash": "runqueued02"})
            assert r.status_code == 404, fn
        r = boss.post(f"{url}/admin/gradio_api/run/admin_documents", json={"data": list(ADMIN)})
        assert r.status_code == 404 and "/gradio_api/call/" in r.text


# 7 ---------------------------------------------------------------------------------------------
def test_edge_gaps_content_type_case_deep_json_and_slow_connections(locked):
    url = locked.url
    with closing(session(url)) as me:
        ids = {d["api_name"]: d["id"] for d in me.get(f"{url}/config").json()["dependencies"]}
        body = json.dumps({"data": ["医保", None, None], "fn_index": ids["add_user"], "session_hash": "bad\udcffhash1"})
        r = me.post(f"{url}/gradio_api/run/predict", content=body.encode(),
                    headers={"content-type": "Application/JSON; Charset=UTF-8"})
        assert r.status_code in (200, 422)
        deep = b"[" * 100_000 + b"]" * 100_000
        r = me.post(f"{url}/gradio_api/queue/join", content=deep, headers={"content-type": "application/json"})
        assert r.status_code == 400 and "nested too deeply" in r.text
        cookie = "; ".join(f"{k}={v}" for k, v in me.cookies.items()).encode()
    # 200 connections that never finish their headers, 50 (logged in) that never finish their body
    start = time.monotonic()
    socks = []
    for i in range(250):
        s = socket.create_connection(("127.0.0.1", locked.port))
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" if i < 200 else
                  b"POST /gradio_api/queue/join HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Cookie: " + cookie + b"\r\nContent-Length: 1000\r\n\r\n{")
        socks.append(s)
    closed = 0
    for s in socks:
        s.settimeout(max(0.1, 8 - (time.monotonic() - start)))
        try:
            while s.recv(4096):
                pass
            closed += 1
        except OSError:
            pass
        s.close()
    held = time.monotonic() - start
    print(f"\n250 slow connections closed by the server in {held:.1f} s")
    assert closed == 250 and held < 8
    assert "request body from 127.0.0.1 too slow" in locked.log
    for bad in ("UnicodeEncodeError", "RecursionError", "Exception in ASGI application"):
        assert bad not in locked.log


# 8 ---------------------------------------------------------------------------------------------
def test_nothing_leaks_to_anonymous_users_and_messages_are_clear(locked):
    url = locked.url
    anon = client()
    page = anon.get(f"{url}/?all_endpoints=true").text
    assert "admin_" not in page
    for path in ("/gradio_api/app_id", "/gradio_api/token", "/gradio_api/user", "/gradio_api/startup-events",
                 "/gradio_api/runs", "/gradio_api/heartbeat/abcdef1", "/config"):
        assert anon.get(f"{url}{path}").status_code == 401, path
    for path in ("/gradio_api/cancel", "/gradio_api/reset"):
        assert anon.post(f"{url}{path}", json={"session_hash": "abcdef1", "event_id": "x"}).status_code == 401
    for path in ("/admin/config", "/admin/gradio_api/info", "/admin/gradio_api/app_id"):
        assert anon.get(f"{url}{path}").status_code == 401, path
    assert "管理员登录" not in anon.get(f"{url}/admin/").text
    with closing(session(url)) as me:
        r = me.post(f"{url}/gradio_api/call/x", json={"data": []})
        assert r.status_code == 404 and "/ask" not in r.text
        config = me.get(f"{url}/config").json()
        assert config["version"] == "6" and "6.31" not in me.get(f"{url}/").text
        info = me.get(f"{url}/gradio_api/info", params={"all_endpoints": "true"}).json()
        assert set(info["named_endpoints"]) == {"/ask", "/ask_history"}
        # a chat user's page and /config describe no admin component or event, and the admin app
        # answers them nothing but its login page
        described = me.get(f"{url}/config").text + me.get(f"{url}/").text
        for word in ("admin_", "管理员登录", "上传文档", "重建索引", "问答记录", "检索测试", "批量评测", "admin-table"):
            assert word not in described, word
        assert not any(d.get("api_name", "").startswith(("admin", "do_")) for d in config["dependencies"])
        for path in ("/admin/config", "/admin/gradio_api/info", "/admin/gradio_api/upload"):
            assert me.get(f"{url}{path}").status_code == 401, path
        event, status = call(me, f"{url}/admin", "admin_documents", list(ADMIN))
        assert (event, status) == ("http", 401)
        assert me.post(f"{url}/gradio_api/call/admin_documents", json={"data": list(ADMIN)}).status_code == 404
    with closing(admin_session(url)) as boss:
        assert "管理员登录" in boss.get(f"{url}/admin/config").text
        assert boss.get(f"{url}/admin/config").json()["version"] == "6" and "6.31" not in boss.get(f"{url}/admin/").text
        for name in ("x" * 5000, "evil\u202egnp.txt", "\u2066a\u2069.txt"):
            event, data = call(boss, f"{url}/admin", "admin_delete", [*ADMIN, name])
            assert event == "complete", (event, data)
            assert "no such document" in data[2] and "None" not in data[2]
    assert anon.get(f"{url}/assets/index.html").status_code != 401  # static files of the login page stay open


# 9 ---------------------------------------------------------------------------------------------
def test_same_user_in_auth_and_admin_refuses_to_start(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "app.py"), "--auth", "boss:a", "--admin", "Boss:b",
                           "--port", "7999"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "both use the user name" in proc.stderr


def test_upload_names_are_normalised_and_a_look_alike_is_refused(open_chat):
    url = open_chat.url
    with closing(admin_session(url)) as admin:
        admin.cookies.set("chatbot-admin", admin_token(admin, url))
        results = {}
        for i, name in enumerate((f"0\u200b{DOC[1:]}", "．．／．．／evil6.txt", "ＡＢＣ\u200d.txt")):
            up = admin.post(f"{url}/admin/gradio_api/upload", files={"files": (name, f"河北医保新规定{i}。" * 20)})
            assert up.status_code == 200, up.text
            fd = [{"path": up.json()[0], "orig_name": name, "meta": {"_type": "gradio.FileData"}}]
            event, data = call(admin, f"{url}/admin", "admin_upload", [*ADMIN, fd])
            assert event == "complete"
            results[name] = data[2]
    assert "already exists" in results[f"0\u200b{DOC[1:]}"]
    assert (open_chat.docs / "evil6.txt").exists() and not (open_chat.docs.parent / "evil6.txt").exists()
    assert (open_chat.docs / "ABC.txt").exists()
    assert sorted(p.name for p in open_chat.docs.iterdir() if "\u200b" in p.name or "\u200d" in p.name) == []


def test_a_thumbs_up_is_the_rating_of_its_row_in_the_question_log(locked):
    url = locked.url
    with closing(session(url)) as me:
        ids = {d["api_name"]: d["id"] for d in me.get(f"{url}/config").json()["dependencies"]}
        base = {"session_hash": "thumbsup001", "trigger_id": None}
        assert me.post(f"{url}/gradio_api/run/predict", json={**base, "data": ["衡水市医保电话是多少", None, None],
                                                                "fn_index": ids["add_user"], "event_data": None}
                       ).status_code == 200
        page_event(me, url, "bot", [None, None, None, None], "thumbsup001")
        msg = page_event(me, url, "on_like", [None], "thumbsup001", {"index": 1, "value": "", "liked": True})
        assert "有帮助" in msg["output"]["data"][0]
    from chatbot.console.log import QuestionLog

    rows = [r for r in QuestionLog(locked.docs.parent / "feedback").rows() if r["session"] == "thumbsup001"]
    assert [r["rating"] for r in rows] == ["up"]  # the rating of the answer's one row in the question log
