"""The ASGI edge in front of the Gradio app: everything a client sends passes here first.

- request bodies are capped (413) and JSON bodies have every string cleaned (control characters,
  lone surrogates) before Gradio decodes them, so no handler ever sees such text;
- new events (queue join, /call/…) are refused with a clear "busy" answer (429) when the client
  already has too many in the queue or running, and the queue's own "full" (503) is re-worded;
- POST /login is throttled per client address and per user name (`guard.LoginThrottle`), and the
  login token gets a lifetime (cookie Max-Age, and the server forgets it when it is older);
- a call by name (/call/<name>, /run/<name>, /api/<name>) must name a public endpoint (404 otherwise):
  private UI events are hidden from gradio_client and cannot be called by name over raw HTTP either;
- every response carries security headers (no framing, nosniff, no referrer).

Pure ASGI, no Gradio import: `serve` installs it through FastAPI's `middleware=` argument.
"""

from __future__ import annotations

import json
import logging
import re
from typing import Callable
from urllib.parse import parse_qs, parse_qsl, urlencode

from ..config import Config
from .guard import BUSY, TOO_LARGE, TOO_MANY_LOGINS, LoginThrottle, TokenLifetimes, clean_json, clean_text

log = logging.getLogger(__name__)

SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
TOKEN_COOKIE = "access-token"
UNBUFFERED = ("/upload",)
BY_NAME = re.compile(r"/(?:call/v2|call|run|api)/([^/]+)/?$")
NOT_PUBLIC = "no such API endpoint (the public API is {names})"  # Gradio enforces max_file_size on uploads itself, while streaming them


class EdgeState:
    """What the edge remembers between requests, shared with the app that installs it.

    `inflight(host)` counts the events a client address has queued or running (set by the app once
    the queue exists); `revoke(token)` makes the app forget a login token."""

    def __init__(self, config: Config):
        self.config = config
        self.throttle = LoginThrottle(config.login_free_failures, config.login_lock_base_s,
                                      config.login_lock_max_s, config.login_forget_s)
        self.tokens = TokenLifetimes(config.session_hours * 3600)
        self.public: set[str] = {"ask", "ask_history"}  # names callable by name (the app sets them)
        self.inflight: Callable[[str], int] | None = None
        self.joining: dict[str, int] = {}  # join requests inside the app (not yet in its queue) per address
        self.revoke: Callable[[str], None] | None = None
        self.refused_busy = 0


def _host(scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


async def _reply(send, status: int, message: str, extra: list | None = None) -> None:
    body = json.dumps({"detail": message, "error": message}, ensure_ascii=False).encode("utf-8")
    headers = [(b"content-type", b"application/json; charset=utf-8"),
               (b"content-length", str(len(body)).encode())] + (extra or [])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def _replay(body: bytes, receive):
    sent = False

    async def receive_again():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


class Edge:
    """The ASGI middleware (one instance per app; state in `EdgeState`)."""

    def __init__(self, app, state: EdgeState):
        self.app, self.state = app, state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        send = self._secure(send)
        scope = self._clean_query(scope)
        self._expire_tokens(scope)
        path, method = scope.get("path", ""), scope.get("method", "GET")
        if method not in ("POST", "PUT", "PATCH") or path.endswith(UNBUFFERED):
            return await self.app(scope, receive, send)
        body = await self._read(scope, receive)
        if body is None:
            return await _reply(send, 413, TOO_LARGE)
        if path.rstrip("/").endswith("/login"):
            return await self._login(scope, body, receive, send)
        if "json" in _header(scope, b"content-type"):
            body, scope = self._clean(scope, body)
        named = BY_NAME.search(path)
        if named and named.group(1) not in self.state.public and not (named.group(1) == "predict" and "/run/" in path):
            names = ", ".join(f"/{n}" for n in sorted(self.state.public))
            return await _reply(send, 404, NOT_PUBLIC.format(names=names))
        if path.endswith("/queue/join") or "/call/" in path:
            host = _host(scope)
            state = self.state
            joining = state.joining.get(host, 0)
            if state.inflight is not None and state.inflight(host) + joining >= state.config.per_client_events:
                state.refused_busy += 1
                return await _reply(send, 429, BUSY, [(b"retry-after", b"2")])
            # joins waiting inside Gradio (for its lock) are not in its queue yet: count them here
            state.joining[host] = joining + 1
            try:
                return await self.app(scope, _replay(body, receive), self._busy(send))
            finally:
                left = state.joining.get(host, 1) - 1
                if left > 0:
                    state.joining[host] = left
                else:
                    state.joining.pop(host, None)
        await self.app(scope, _replay(body, receive), send)

    async def _read(self, scope, receive) -> bytes | None:
        """The whole request body, or None once it is larger than the limit (nothing more is read)."""
        limit = self.state.config.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            return None
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None
            chunks.append(chunk)
            more = message.get("more_body", False)
        return b"".join(chunks)

    @staticmethod
    def _clean(scope, body: bytes):
        """The body with every JSON string cleaned (unparseable bodies pass unchanged: Gradio refuses them)."""
        try:
            value = json.loads(body)
        except UnicodeDecodeError:
            try:
                value = json.loads(body.decode("utf-8", errors="replace"))
            except ValueError:
                return body, scope
        except ValueError:
            return body, scope
        body = json.dumps(clean_json(value), ensure_ascii=False).encode("utf-8")
        headers = [(k, v) for k, v in scope.get("headers") or [] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        return body, {**scope, "headers": headers}

    @staticmethod
    def _clean_query(scope):
        """The query string with every value cleaned like JSON strings (session ids arrive here too)."""
        raw = scope.get("query_string") or b""
        if not raw or (b"%" not in raw and raw.isascii()):
            return scope
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, errors="replace")
        query = urlencode([(clean_text(k), clean_text(v)) for k, v in pairs]).encode("ascii")
        return {**scope, "query_string": query}

    def _secure(self, send):
        async def send_secure(message):
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _ in message.get("headers") or []}
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": list(message.get("headers") or []) + extra}
            await send(message)
        return send_secure

    def _busy(self, send):
        """Reword Gradio's "queue is full" (503) as the clear busy answer, with Retry-After."""
        replaced = False

        async def send_busy(message):
            nonlocal replaced
            if message["type"] == "http.response.start" and message.get("status") == 503:
                replaced = True
                self.state.refused_busy += 1
                return
            if replaced:
                if message["type"] == "http.response.body" and not message.get("more_body", False):
                    await _reply(send, 503, BUSY, [(b"retry-after", b"5")])
                return
            await send(message)
        return send_busy

    def _expire_tokens(self, scope) -> None:
        cookie = _header(scope, b"cookie")
        if TOKEN_COOKIE not in cookie or self.state.revoke is None:
            return
        for part in cookie.split(";"):
            name, _, value = part.strip().partition("=")
            if name.startswith(TOKEN_COOKIE) and value and self.state.tokens.expired(value):
                self.state.revoke(value)

    async def _login(self, scope, body: bytes, receive, send):
        form = parse_qs(body.decode("utf-8", errors="replace"))
        user = clean_text((form.get("username") or [""])[0]).strip().lower()[:128]
        host = _host(scope)
        keys = [f"ip:{host}"] + ([f"user:{user}"] if user else [])
        throttle = self.state.throttle
        wait = throttle.attempt(keys)
        if wait:
            log.warning("login refused for user %r from %s: locked for %d more s after repeated failures",
                        user, host, wait)
            return await _reply(send, 429, TOO_MANY_LOGINS.format(seconds=int(wait)),
                                [(b"retry-after", str(int(wait)).encode())])
        status = {}
        lifetime = str(int(self.state.config.session_hours * 3600)).encode()

        async def watch(message):
            if message["type"] == "http.response.start":
                status["code"] = message.get("status")
                if status["code"] == 200:
                    message = {**message, "headers": [self._timed(k, v, lifetime) for k, v in message["headers"]]}
            await send(message)

        await self.app(scope, _replay(body, receive), watch)
        code = status.get("code")
        if code == 200:
            throttle.succeeded(keys)
            log.info("login for user %r from %s", user, host)
        elif code == 400:
            locked = throttle.wait(keys)
            log.warning("failed login for user %r from %s (%d in a row for this user, %d from this address)%s",
                        user, host, throttle.failures(keys[-1]), throttle.failures(keys[0]),
                        f"; locked for {locked:.0f} s" if locked else "")
        else:
            throttle.refund(keys)

    def _timed(self, key: bytes, value: bytes, lifetime: bytes):
        """A login cookie with Max-Age; its token is registered so it can expire on the server too."""
        if key.lower() != b"set-cookie" or not value.startswith(TOKEN_COOKIE.encode()):
            return key, value
        token = value.split(b";", 1)[0].partition(b"=")[2].decode("latin-1")
        if token:
            self.state.tokens.issued(token)
        return key, value + b"; Max-Age=" + lifetime
