"""The ASGI edge (chatbot.ui.edge) in front of a fake app: body caps, cleaning, busy answers, login
throttling, token lifetime, security headers. No server, no Gradio."""

from __future__ import annotations

import asyncio
import json
import re
from urllib.parse import urlencode

from chatbot.config import Config
from chatbot.ui.edge import Edge, EdgeState


async def fake_app(scope, receive, send):
    """Echoes JSON bodies; /login accepts password "right"; a queue join of "full" is Gradio's 503."""
    message = await receive()
    body = message.get("body", b"")
    path = scope["path"]
    if path == "/login":
        ok = b"password=right" in body
        headers = [(b"set-cookie", b"access-token-abc=TOKEN1; HttpOnly")] if ok else []
        await send({"type": "http.response.start", "status": 200 if ok else 400, "headers": headers})
        await send({"type": "http.response.body", "body": b"{}"})
        return
    if path.endswith("/queue/join") and b'"full"' in body:
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": b'{"detail": "Queue is full. Max size is 1"}'})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": body or b"{}"})


def call(edge, path, body=b"", method="POST", headers=(), client=("127.0.0.1", 5000)):
    scope = {"type": "http", "method": method, "path": path, "client": client,
             "headers": [(b"content-length", str(len(body)).encode()), *headers]}
    sent = []
    chunks = [body[i:i + 1000] for i in range(0, len(body), 1000)] or [b""]

    async def receive():
        chunk = chunks.pop(0) if chunks else b""
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    asyncio.run(edge(scope, receive, send))
    start = sent[0]
    data = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], {k.decode(): v.decode() for k, v in start["headers"]}, data


JSON = [(b"content-type", b"application/json")]


def make(**overrides):
    state = EdgeState(Config().with_overrides(**overrides))
    return Edge(fake_app, state), state


def test_security_headers_on_every_response():
    edge, _ = make()
    status, headers, _ = call(edge, "/", method="GET")
    assert status == 200 and headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"


def test_large_bodies_are_refused_before_the_app_sees_them():
    edge, _ = make()
    history = json.dumps({"data": [["问" * 100] * 20_000], "fn_index": 3}).encode()  # ~6 MB
    assert len(history) > 6_000_000
    status, _, body = call(edge, "/gradio_api/queue/join", history, headers=JSON)
    assert status == 413 and "too large" in json.loads(body)["detail"]
    big = json.dumps({"data": ["医" * 100_000]}).encode()
    assert call(edge, "/gradio_api/call/ask", big, headers=JSON)[0] == 413


def test_json_strings_are_cleaned_before_the_app_sees_them():
    edge, _ = make()
    raw = json.dumps({"data": ["\udcff衡水\x00\x1b[0m"], "session_hash": "ab\u2028cdefgh"}).encode()
    status, _, body = call(edge, "/gradio_api/call/ask", raw, headers=JSON)
    assert status == 200 and json.loads(body) == {"data": ["衡水[0m"], "session_hash": "ab\ncdefgh"}
    # a surrogate encoded as raw bytes (CESU-8) is dropped as well; other invalid UTF-8 becomes U+FFFD
    status, _, body = call(edge, "/gradio_api/call/ask", b'{"data": ["\xed\xb3\xbf\xe8\xa1\xa1"]}', headers=JSON)
    assert status == 200 and json.loads(body) == {"data": ["衡"]}
    status, _, body = call(edge, "/gradio_api/call/ask", b'{"data": ["\xff\xe8\xa1\xa1"]}', headers=JSON)
    assert status == 200 and json.loads(body) == {"data": ["\ufffd衡"]}


def test_queue_full_is_a_clear_busy_answer():
    edge, state = make()
    status, headers, body = call(edge, "/gradio_api/queue/join", b'{"data": ["full"]}', headers=JSON)
    assert status == 503 and headers["retry-after"] == "5" and "busy" in json.loads(body)["detail"]
    assert state.refused_busy == 1


def test_a_client_with_too_many_events_in_flight_is_told_busy():
    edge, state = make(per_client_events=3)
    state.inflight = lambda host: {"10.0.0.1": 3}.get(host, 0)
    status, headers, body = call(edge, "/gradio_api/call/ask", b'{"data": ["q"]}', headers=JSON,
                                 client=("10.0.0.1", 1))
    assert status == 429 and "服务繁忙" in json.loads(body)["detail"] and headers["retry-after"]
    assert call(edge, "/gradio_api/call/ask", b'{"data": ["q"]}', headers=JSON, client=("10.0.0.2", 1))[0] == 200


def login(edge, user="admin", password="wrong", client=("127.0.0.1", 1)):
    form = urlencode({"username": user, "password": password}).encode()
    return call(edge, "/login", form, headers=[(b"content-type", b"application/x-www-form-urlencoded")],
                client=client)


def test_the_eleventh_wrong_password_is_refused_with_429():
    edge, state = make()
    codes = [login(edge)[0] for _ in range(11)]
    assert codes[:5] == [400] * 5 and codes[5:] == [429] * 6
    status, headers, body = login(edge, password="right")  # even the right password waits out the lock
    assert status == 429 and int(headers["retry-after"]) >= 1 and "locked, try again in" in body.decode()
    assert login(edge, user="other", client=("127.0.0.9", 1))[0] == 400  # another address, another user


def test_login_sets_a_token_lifetime_and_old_tokens_are_revoked():
    edge, state = make(session_hours=1.0)
    revoked = []
    state.revoke = revoked.append
    status, headers, _ = login(edge, password="right")
    assert status == 200 and "Max-Age=3600" in headers["set-cookie"]
    cookie = [(b"cookie", b"access-token-abc=TOKEN1")]
    call(edge, "/", method="GET", headers=cookie)
    assert revoked == []
    state.login.sessions.seconds = -1  # an hour later
    call(edge, "/", method="GET", headers=cookie)
    assert revoked == ["TOKEN1"]


def test_only_public_endpoints_can_be_called_by_name():
    edge, state = make()
    state.public = {"ask", "ask_history"}
    for path in ("/gradio_api/call/bot", "/gradio_api/call/v2/on_like", "/gradio_api/run/add_user",
                 "/gradio_api/api/reset/"):
        status, _, body = call(edge, path, b'{"data": [null]}', headers=JSON)
        assert status == 404 and "no such API endpoint" in json.loads(body)["detail"], path
        assert "/ask" not in body.decode(), path  # the 404 lists no names
    for path in ("/gradio_api/call/ask", "/gradio_api/call/ask_history", "/gradio_api/run/predict",
                 "/gradio_api/queue/join"):
        assert call(edge, path, b'{"data": ["q"]}', headers=JSON)[0] == 200, path


def test_query_strings_are_cleaned_too():
    seen = {}

    async def app(scope, receive, send):
        seen["query"] = scope["query_string"]
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    edge = Edge(app, EdgeState(Config()))
    scope = {"type": "http", "method": "GET", "path": "/gradio_api/queue/data", "client": ("127.0.0.1", 1),
             "headers": [], "query_string": b"session_hash=sep%E2%80%A8arator%00%ED%B3%BF1"}

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        pass

    asyncio.run(edge(scope, receive, send))
    assert seen["query"] == b"session_hash=sep%0Aarator" + b"%EF%BF%BD" * 3 + b"1"


def test_joins_still_inside_the_app_count_towards_the_client_limit():
    """Gradio queues a join only after awaiting a lock: parallel joins must not all slip past the check."""
    gate = asyncio.Event()

    async def slow_join(scope, receive, send):
        await gate.wait()
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    state = EdgeState(Config().with_overrides(per_client_events=3))
    state.inflight = lambda host: 0  # nothing in Gradio's queue yet
    edge = Edge(slow_join, state)

    async def one():
        sent = []

        async def receive():
            return {"type": "http.request", "body": b'{"data": ["q"]}', "more_body": False}

        async def send(message):
            sent.append(message)

        scope = {"type": "http", "method": "POST", "path": "/gradio_api/queue/join", "client": ("10.0.0.1", 1),
                 "headers": JSON}
        await edge(scope, receive, send)
        return sent[0]["status"]

    async def main():
        tasks = [asyncio.create_task(one()) for _ in range(10)]
        await asyncio.sleep(0.05)
        gate.set()
        return await asyncio.gather(*tasks)

    codes = asyncio.run(main())
    assert sorted(codes) == [200] * 3 + [429] * 7 and state.joining == {}


def test_multipart_logins_are_throttled_like_urlencoded_ones():
    edge, state = make()
    body = (b'--b\r\nContent-Disposition: form-data; name="username"\r\n\r\nadmin\r\n'
            b'--b\r\nContent-Disposition: form-data; name="password"\r\n\r\nwrong\r\n--b--\r\n')
    codes = [call(edge, "/login", body, headers=[(b"content-type", b"multipart/form-data; boundary=b")])[0]
             for _ in range(7)]
    assert codes == [400] * 5 + [429] * 2 and state.login.throttle.failures("user:admin") == 5
    # a form with two user names never reaches the password check
    two = urlencode([("username", "a"), ("username", "admin"), ("password", "x")]).encode()
    assert call(edge, "/login", two, headers=[(b"content-type", b"application/x-www-form-urlencoded")],
                client=("10.0.0.2", 1))[0] == 400


def test_json_in_any_case_is_cleaned_and_deep_json_is_refused():
    edge, _ = make()
    status, _, body = call(edge, "/gradio_api/queue/join", '{"data": ["a\\u0000b\\udcff"]}'.encode(),
                           headers=[(b"content-type", b"Application/JSON; Charset=UTF-8")])
    assert status == 200 and json.loads(body) == {"data": ["ab"]}
    status, _, body = call(edge, "/gradio_api/queue/join", b"[" * 100_000 + b"]" * 100_000, headers=JSON)
    assert status == 400 and "nested too deeply" in body.decode()


def test_other_origins_run_nothing_and_run_routes_take_only_unqueued_events():
    edge, state = make()
    state.unqueued = {3}
    foreign = [(b"origin", b"http://evil.example"), (b"host", b"chat.example"), *JSON]
    assert call(edge, "/gradio_api/call/ask", b'{"data": ["q"]}', headers=foreign)[0] == 403
    own = [(b"origin", b"https://chat.example"), (b"host", b"chat.example"), *JSON]
    assert call(edge, "/gradio_api/call/ask", b'{"data": ["q"]}', headers=own)[0] == 200
    assert call(edge, "/gradio_api/run/ask", b'{"data": ["q"]}', headers=JSON)[0] == 404
    assert call(edge, "/gradio_api/run/predict", b'{"data": [], "fn_index": 4}', headers=JSON)[0] == 404
    assert call(edge, "/gradio_api/run/predict", b'{"data": [], "fn_index": 3}', headers=JSON)[0] == 200


def test_with_auth_gradios_open_routes_need_the_login_and_uploads_need_the_admin():
    edge, state = make()
    state.auth, state.started = True, True
    state.user_of = {"good": "me"}.get
    for path in ("/gradio_api/app_id", "/gradio_api/token", "/gradio_api/startup-events", "/gradio_api/runs"):
        assert call(edge, path, method="GET")[0] == 401, path
        assert call(edge, path, method="GET", headers=[(b"cookie", b"access-token-x=good")])[0] == 200, path
    assert call(edge, "/", method="GET")[0] == 200 and call(edge, "/assets/a.js", method="GET")[0] == 200
    up = call(edge, "/gradio_api/upload", b"x", headers=[(b"cookie", b"access-token-x=good")])
    assert up[0] == 403 and "admin" in up[2].decode()


def test_a_body_that_stalls_is_dropped():
    edge, _ = make(body_timeout_s=0.2)

    async def stalled():
        await asyncio.sleep(5)

    scope = {"type": "http", "method": "POST", "path": "/gradio_api/queue/join", "client": ("127.0.0.1", 1),
             "headers": [(b"content-length", b"100")]}
    sent = []

    async def send(message):
        sent.append(message)

    asyncio.run(edge(scope, stalled, send))
    assert sent[0]["status"] == 408


def test_server_paths_become_opaque_ids_and_back():
    from chatbot.ui.uploads import PathHider, UploadNames

    names = UploadNames()
    hider = PathHider(names, "/srv/chatbot-uploads/7860")
    sse = ('data: {"path": "/srv/chatbot-uploads/7860/ab12/questions.csv", '
           '"url": "http://h/admin/gradio_api/file=/srv/chatbot-uploads/7860/ab12/\\u65b0.csv", "n": "/srv/other"}')
    hidden = hider.hide(sse)
    assert "chatbot-uploads" not in hidden and '"n": "/srv/other"' in hidden
    ids = re.findall(r"upload-[\w-]+", hidden)
    assert [names.path_of(i) for i in ids] == ["/srv/chatbot-uploads/7860/ab12/questions.csv",
                                              "/srv/chatbot-uploads/7860/ab12/新.csv"]
    # the page's next call names the id: the app gets the path; an unknown id stays as it is
    assert names.reveal({"data": [{"path": ids[0]}, "upload-nosuch"]}) == {
        "data": [{"path": "/srv/chatbot-uploads/7860/ab12/questions.csv"}, "upload-nosuch"]}
    scope = hider.file_scope({"path": f"/admin/gradio_api/file={ids[0]}"})
    assert scope["path"] == "/admin/gradio_api/file=/srv/chatbot-uploads/7860/ab12/questions.csv"
    assert hider.file_scope({"path": "/admin/gradio_api/file=upload-nosuch"}) is None
