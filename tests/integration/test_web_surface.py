"""The web app's public surface, tried as an outside client would (issue 14): the official
gradio_client and raw HTTP (httpx) against the real app process.

Only /ask and /ask_history are public; oversized bodies are refused before any work; bad text is
cleaned at the edge; a 👍/👎 is the rating of the answer's one row in the question log; a flood
from one client gets answers or a clear "busy" while another user is still answered; logins are
throttled; pages carry security headers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from urllib.parse import urlencode

import httpx
import pytest
from gradio_client import Client

from chatbot.console.log import QuestionLog

from ..helpers import ROOT
from ..helpers.servers import App, ask_http

ARTIFACTS = ROOT / "artifacts"
QUESTION = "衡水市医保电话是多少"


@pytest.fixture(scope="module")
def app(real_config, tmp_path_factory):
    base = tmp_path_factory.mktemp("surface")
    server = App(base, real_config).wait_ready()
    server.qlog = QuestionLog(base / "feedback")  # the question log holds the 👍/👎 (issue 20)
    try:
        yield server
    finally:
        server.stop()


class Browser:
    """What the page's JavaScript does, in raw HTTP: events by fn_index in one session."""

    def __init__(self, url: str, session: str):
        self.url, self.session = url, session
        config = httpx.get(f"{url}/config", timeout=30).json()
        self.fn = {d["api_name"]: d["id"] for d in config["dependencies"]}

    def body(self, name: str, data: list, event_data=None) -> dict:
        return {"data": data, "fn_index": self.fn[name], "session_hash": self.session,
                "event_data": event_data, "trigger_id": None}

    def run(self, name: str, data: list) -> httpx.Response:
        """A queue=False event (POST /gradio_api/run/predict)."""
        return httpx.post(f"{self.url}/gradio_api/run/predict", json=self.body(name, data), timeout=60)

    def join(self, name: str, data: list, event_data=None, raw: bytes | None = None) -> tuple[int, dict | str]:
        """A queued event: join, then read the session's stream until it completes."""
        if raw is None:
            r = httpx.post(f"{self.url}/gradio_api/queue/join", json=self.body(name, data, event_data), timeout=60)
        else:
            r = httpx.post(f"{self.url}/gradio_api/queue/join", content=raw,
                           headers={"content-type": "application/json"}, timeout=60)
        if r.status_code != 200:
            return r.status_code, r.text
        with httpx.stream("GET", f"{self.url}/gradio_api/queue/data", params={"session_hash": self.session},
                          timeout=120) as s:
            for line in s.iter_lines():
                if line.startswith("data:"):
                    msg = json.loads(line[5:])
                    if msg.get("msg") == "process_completed":
                        return 200, msg
        raise AssertionError("the stream ended without process_completed")

    def ask(self, question: str) -> dict:
        assert self.run("add_user", [question, None, None]).status_code == 200
        status, msg = self.join("bot", [None, None, None, None])
        assert status == 200 and msg["success"], msg
        return msg

    def like(self, index: int, liked=True) -> str:
        status, msg = self.join("on_like", [None], {"index": index, "value": "", "liked": liked})
        assert status == 200 and msg["success"], msg
        return msg["output"]["data"][0]


def post_raw(url: str, path: str, payload: dict) -> httpx.Response:
    """POST JSON exactly as given: ensure_ascii keeps lone surrogates as \\udcff escapes."""
    return httpx.post(f"{url}{path}", content=json.dumps(payload, ensure_ascii=True),
                      headers={"content-type": "application/json"}, timeout=60)


def test_only_the_documented_endpoints_are_public(app):
    api = Client(app.url, verbose=False).view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == {"/ask", "/ask_history"} and not api["unnamed_endpoints"]
    info = httpx.get(f"{app.url}/gradio_api/info", timeout=30).json()
    assert set(info["named_endpoints"]) == {"/ask", "/ask_history"} and not info["unnamed_endpoints"]
    client = Client(app.url, verbose=False)
    for name in ("/bot", "/add_user", "/on_like", "/reset", "/add_example"):
        with pytest.raises(ValueError, match="Cannot find a function"):
            client.predict("x", api_name=name)
    for path in ("/gradio_api/call/bot", "/gradio_api/call/on_like", "/gradio_api/run/add_user"):
        r = httpx.post(f"{app.url}{path}", json={"data": [None, None, None, None]}, timeout=30)
        assert r.status_code == 404 and "no such API endpoint" in r.json()["detail"], path
    assert client.predict(QUESTION, api_name="/ask")["answer"].startswith("衡水市医保电话是0318-12333")


def test_a_six_megabyte_history_is_refused_before_any_work(app):
    history = ["衡水市医保电话是多少" * 10] * 20_000  # 6 MB of JSON
    r = httpx.post(f"{app.url}/gradio_api/call/ask_history", json={"data": [QUESTION, history]}, timeout=60)
    assert r.status_code == 413 and "too large" in r.json()["detail"]
    with pytest.raises(httpx.HTTPStatusError, match="413"):
        Client(app.url, verbose=False).predict(QUESTION, history, api_name="/ask_history")
    # the chat's own events take no history from the client at all; a big body there is refused too
    page = Browser(app.url, "sixmbhistory1")
    assert page.join("bot", [QUESTION, history, history, {}])[0] == 413
    # many turns within the body limit: answered (only the last few are used)
    out = Client(app.url, verbose=False).predict(QUESTION, ["医保卡丢了怎么补办"] * 1000, api_name="/ask_history")
    assert isinstance(out["answer"], str) and out["answer"].strip()


def test_a_hundred_thousand_character_message_is_refused_or_cut(app):
    r = httpx.post(f"{app.url}/gradio_api/call/ask", json={"data": ["医" * 100_000]}, timeout=60)
    assert r.status_code == 413
    with pytest.raises(httpx.HTTPStatusError, match="413"):
        Client(app.url, verbose=False).predict("医" * 100_000, api_name="/ask")
    page = Browser(app.url, "hundredkmsg01")
    assert page.run("add_user", ["医" * 100_000, None, None]).status_code == 413
    # what fits in a request is cut on the server: the echo and the question are at most 2000 characters
    echo = page.run("add_user", [QUESTION + "医" * 15_000, None, None]).json()["data"][1][-1]
    assert len(json.dumps(echo, ensure_ascii=False)) < 2300
    event, data = ask_http(app.url, QUESTION + "医" * 15_000)
    assert event == "complete" and "问题太长" in (data[0]["notice"] or "")


def test_lone_surrogates_and_control_characters_are_cleaned_at_the_edge(app):
    r = post_raw(app.url, "/gradio_api/call/ask", {"data": ["\udcff" + QUESTION + "\x00\x1b[31m"]})
    assert r.status_code == 200
    event, data = ask_http(app.url, "\x00\x1b" + QUESTION)
    assert event == "complete" and "0318-12333" in data[0]["answer"]
    with httpx.stream("GET", f"{app.url}/gradio_api/call/ask/{r.json()['event_id']}", timeout=60) as s:
        text = "".join(s.iter_lines())
    assert "event: complete" in text and "0318-12333" in text
    r = post_raw(app.url, "/gradio_api/call/ask_history", {"data": [QUESTION, ["\ud800\u2028\x85", 5, None]]})
    assert r.status_code == 200
    page = Browser(app.url, "surrogate0001")
    r = httpx.post(f"{app.url}/gradio_api/run/predict", headers={"content-type": "application/json"},
                   content=json.dumps(page.body("add_user", ["\udcff衡水\x00\x1b[31m医保电话", None, None])))
    assert r.status_code == 200
    echoed = json.dumps(r.json()["data"][1], ensure_ascii=False)
    assert "衡水[31m医保电话" in echoed and not any(c in echoed for c in ("\x00", "\x1b", "\\u001b", "\\u0000"))
    status, msg = page.join("bot", [None, None, None, None])
    assert status == 200 and msg["success"]
    assert "Traceback" not in app.log


def test_thirty_identical_likes_leave_one_row(app):
    page = Browser(app.url, "thirtylikes01")
    page.ask(QUESTION)
    replies = {page.like(1) for _ in range(30)}
    assert replies == {"感谢反馈（有帮助），已记录。"}
    mine = [r for r in app.qlog.rows() if r["session"] == "thirtylikes01"]
    assert len(mine) == 1 and mine[0]["rating"] == "up" and mine[0]["message"] == 1
    page.like(1, liked=False)  # a change replaces the rating
    assert [r["rating"] for r in app.qlog.rows() if r["session"] == "thirtylikes01"] == ["down"]
    # a message index that is not an integer (1.0, true) or names no answer is not recorded
    for index in (1.0, True, 0, 99, "1"):
        assert "未能记录" in page.like(index)
    assert not (app.qlog.folder / "feedback.jsonl").exists()  # one store: the question log


def test_a_session_id_with_line_separators_is_never_stored(app):
    for session in ("sep\u2028arator1", "sep\u2029arator2", "nel\x85session3"):
        page = Browser(app.url, session)
        page.ask(QUESTION)
        assert "未能记录" in page.like(1)
    Browser(app.url, "plainsession4").ask(QUESTION)
    page = Browser(app.url, "plainsession4")
    page.like(1)
    rows = app.qlog.rows()
    assert not any("sep" in (r["session"] or "") or "nel" in (r["session"] or "") for r in rows)
    assert any(r["session"] == "plainsession4" and r["rating"] == "up" for r in rows)


def test_security_headers_on_pages_and_api(app):
    for path in ("/", "/config", "/gradio_api/info"):
        h = httpx.get(f"{app.url}{path}", timeout=30).headers
        assert h["x-frame-options"] == "DENY" and "frame-ancestors 'none'" in h["content-security-policy"], path
        assert h["x-content-type-options"] == "nosniff" and h["referrer-policy"] == "no-referrer", path


def test_150_concurrent_requests_get_answers_or_busy_and_another_user_is_answered(app):
    """150 users on one address at once, with a normal question every 0.5 s from another address
    (the probe). The probe's latency is measured and written out, not asserted."""
    proc = subprocess.run(
        [sys.executable, "-m", "chatbot.cli", "loadtest", "--url", app.url, "--users", "150", "--requests", "150",
         "--probe", "--probe-every", "0.5", "--timeout", "300", "--json"],
        capture_output=True, text=True, timeout=600, cwd=ROOT, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
    assert "Traceback" not in proc.stderr, proc.stderr
    report = json.loads(proc.stdout)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "loadtest-150.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False))
    assert report["successes"] + report["busy"] == 150, report["error_kinds"]
    assert report["error_kinds"].get("busy (HTTP 429)", 0) > 0  # one client cannot hold more than its share
    probe = report["probe"]
    assert probe["address"] == "127.0.0.2" and probe["asked"] >= 1
    assert probe["answered"] == probe["asked"] and probe["p50_ms"] is not None, probe
    assert "Traceback" not in app.log


@pytest.fixture(scope="module")
def auth_app(real_config, tmp_path_factory):
    base = tmp_path_factory.mktemp("auth")
    server = App(base, real_config, "--auth", "me:secret").wait_ready()
    try:
        yield server
    finally:
        server.stop()


def login(url: str, user: str, password: str, address: str | None = None) -> httpx.Response:
    transport = httpx.HTTPTransport(local_address=address) if address else None
    with httpx.Client(transport=transport, trust_env=False, timeout=30) as client:
        return client.post(f"{url}/login", content=urlencode({"username": user, "password": password}),
                           headers={"content-type": "application/x-www-form-urlencoded"})


def test_the_eleventh_wrong_password_in_a_minute_is_refused_with_429(auth_app):
    ok = login(auth_app.url, "me", "secret", "127.0.0.3")
    assert ok.status_code == 200 and "Max-Age=43200" in ok.headers["set-cookie"]  # a 12-hour token
    codes = [login(auth_app.url, "me", f"guess{i}").status_code for i in range(11)]
    assert codes[:5] == [400] * 5 and codes[10] == 429, codes
    r = login(auth_app.url, "me", "secret")
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1 and "locked, try again in" in r.text
    # another user name from another address is not affected; the guessed user is slowed down, not
    # locked: the right password from another address gets in after at most a few seconds
    assert login(auth_app.url, "you", "guess", "127.0.0.4").status_code == 400
    assert login(auth_app.url, "me", "secret", "127.0.0.5").status_code in (200, 429)
    with pytest.raises(Exception):
        Client(auth_app.url, auth=("me", "guess"), verbose=False)
    assert "failed login for user 'me' from 127.0.0.1" in auth_app.log and "locked for" in auth_app.log
    assert httpx.post(f"{auth_app.url}/gradio_api/call/ask", json={"data": [QUESTION]}, timeout=30).status_code == 401
