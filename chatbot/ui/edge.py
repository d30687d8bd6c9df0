"""The ASGI edge in front of the Gradio app: everything a client sends passes here first.

- a request from another origin is refused (403, `origin.py`); with --auth, every route but the
  login page and its static files needs the login (401), Gradio's open ones included;
- request bodies are capped (413) and must arrive within `body_timeout_s` (408); a JSON body (any
  Content-Type that is or may be read as JSON, in any case) has every string cleaned before Gradio
  decodes it, and one nested too deeply is refused (400);
- new events (queue join, /call/…, /run/predict) are refused with a clear "busy" answer (429) when
  the client already has too many in the queue or running, and the queue's "full" (503) is re-worded;
- a call by name must name a callable endpoint through /call (404 otherwise, without listing
  names); /run and /api take only the page's un-queued UI events, so every answer goes through the
  queue and its limits;
- the admin app mounted at ADMIN_PATH (when --admin) needs its own login for everything but its
  login page and static files (401), takes no /run or /api call, is the only app that takes uploads,
  and its answers name files by opaque ids (`uploads.PathHider`), never by server paths;
- POST /login and GET /logout go through `signin.LoginGate`; uploads through `uploads.UploadGate`;
- every response carries security headers (no framing, nosniff, no referrer).

Pure ASGI, no Gradio import: `serve` installs it through FastAPI's `middleware=` argument.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Callable
from urllib.parse import parse_qsl, urlencode

from ..config import Config
from .asgi import ADMIN_PATH, cookies, header, host, reply, replay, with_body
from .guard import BUSY, TOO_LARGE, clean_json, clean_text
from .origin import CROSS_ORIGIN, foreign_origin
from .signin import TOKEN_COOKIE, LoginGate
from .uploads import PathHider, UploadGate

log = logging.getLogger(__name__)

SECURITY_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
BY_NAME = re.compile(r"/(?:call/v2|call|run|api)/([^/]+)/?$")
NOT_PUBLIC = "no such API endpoint (see /gradio_api/info)"
NOT_HERE = "call this endpoint through /gradio_api/call/<name> (the queue)"
TOO_DEEP = "JSON nested too deeply (request refused)"
TOO_SLOW = "请求发送太慢，已断开。(request body too slow)"
NEED_LOGIN = "Not authenticated"
# what the login page itself needs before the login (with --auth every other route needs it)
OPEN_PATHS = {"/", "/login", "/login/", "/logout", "/favicon.ico", "/robots.txt", "/manifest.json", "/theme.css",
              "/gradio_api/theme.css"}
OPEN_PREFIXES = ("/assets/", "/static/", "/svelte/", "/pwa_icon", "/gradio_api/static/")
_TIMEOUT = object()


class EdgeState:
    """What the edge remembers between requests, shared with the app that installs it.

    The app sets: `inflight(host)` (events a client address has queued or running), `public`
    (names callable by name), `unqueued` (fn ids the page runs outside the queue), `auth` (a login
    is required) and `user_of(token)` (the user of a login token, None if unknown), `revoke`."""

    def __init__(self, config: Config):
        self.config = config
        self.login = LoginGate(config)
        self.uploads = UploadGate(config)
        self.public: set[str] = {"ask", "ask_history"}
        self.unqueued: set[int] | None = None  # None: not known (every fn_index passes)
        self.inflight: Callable[[str], int] | None = None
        self.joining: dict[str, int] = {}  # join requests inside the app (not yet in its queue) per address
        self.auth = False
        self.user_of: Callable[[str], str | None] = lambda token: None
        self.started = False  # until then Gradio's own start-up check may call /startup-events
        self.refused_busy = 0
        self.console = None  # issue 20: /healthz, /metrics, /v1/… (console_http.ConsoleRoutes), before the login
        # the admin app mounted at ADMIN_PATH (its own Gradio login, endpoints and queue), when --admin
        self.admin_app = None
        self.admin_public: set[str] = set()
        self.paths = PathHider(self.uploads.names)  # serve() sets its root (the upload folder)

    @property
    def revoke(self):
        return self.login.revoke

    @revoke.setter
    def revoke(self, fn) -> None:
        self.login.revoke = fn


def looks_json(content_type: str, body: bytes) -> bool:
    """True when FastAPI may decode this body as JSON (no Content-Type, any */json or */*+json, any case)."""
    kind = content_type.split(";")[0].strip().lower()
    return not kind or kind.endswith("/json") or kind.endswith("+json") or body.lstrip()[:1] in (b"{", b"[")


class Edge:
    """The ASGI middleware (one instance per app; state in `EdgeState`)."""

    def __init__(self, app, state: EdgeState):
        self.app, self.state = app, state

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        send = self._secure(send)
        state = self.state
        if foreign_origin(scope, state.config):
            return await reply(send, 403, CROSS_ORIGIN)
        scope = self._clean_query(scope)
        state.login.expire(scope)
        path, method = scope.get("path", ""), scope.get("method", "GET")
        if state.console is not None and (path in ("/healthz", "/metrics") or path.startswith("/v1/")):
            return await state.console(self, scope, receive, send)  # each proves its own key (console_http.py)
        admin = self._admin_path(path)
        if admin is not None:  # the admin app: only its login page and static files without its login
            if not self._open(admin) and not self._logged_in(scope, state.admin_app):
                return await reply(send, 401, NEED_LOGIN)
        elif state.auth and not self._open(path) and not self._logged_in(scope):
            return await reply(send, 401, NEED_LOGIN)
        if path.rstrip("/").endswith("/logout"):
            scope = state.login.logout(scope)
        if admin is not None and admin.startswith("/gradio_api/"):  # no server path in its answers
            scope, send = state.paths.wrap(state.paths.file_scope(scope) or scope, send)
        if method not in ("POST", "PUT", "PATCH"):
            return await self.app(scope, receive, send)
        if path.rstrip("/").endswith("/upload"):
            return await state.uploads(self.app, scope, receive, send, admin=admin is not None)
        body = await self._read(scope, receive)
        if body is None:
            return await reply(send, 413, TOO_LARGE)
        if body is _TIMEOUT:
            return await reply(send, 408, TOO_SLOW, [(b"connection", b"close")])
        if path.rstrip("/").endswith("/login"):
            return await state.login.login(self.app, scope, body, receive, send)
        value = None
        if looks_json(header(scope, b"content-type"), body):
            try:
                value, body, scope = self._clean(scope, body, state.uploads.names if admin is not None else None)
            except RecursionError:
                return await reply(send, 400, TOO_DEEP)
        named = BY_NAME.search(path)
        if named:
            name, direct = named.group(1), "/run/" in path or "/api/" in path
            public = state.admin_public if admin is not None else state.public
            if direct and (admin is not None or name != "predict" or not self._unqueued(value)):
                return await reply(send, 404, NOT_HERE if name in public else NOT_PUBLIC)
            if not direct and name not in public:
                return await reply(send, 404, NOT_PUBLIC)
        if path.endswith("/queue/join") or named:
            return await self._limited(scope, body, receive, send)
        await self.app(scope, replay(body, receive), send)

    def _open(self, path: str) -> bool:
        if path in OPEN_PATHS or path.startswith(OPEN_PREFIXES):
            return True
        return not self.state.started and path.rstrip("/").endswith("/startup-events")

    def _admin_path(self, path: str) -> str | None:
        """The path inside the admin app when `path` is under ADMIN_PATH (and there is one), else None."""
        if self.state.admin_app is None or not (path == ADMIN_PATH or path.startswith(ADMIN_PATH + "/")):
            return None
        return path[len(ADMIN_PATH):] or "/"

    def _logged_in(self, scope, app=None) -> bool:
        """A login cookie of the chat (or, with `app`, of that mounted Gradio app) that it knows."""
        if app is not None:
            user_of = lambda token: app.tokens.get(token)  # noqa: E731
        else:
            user_of = self.state.user_of
        return any(name.startswith(TOKEN_COOKIE) and value and user_of(value) is not None
                   for name, value in cookies(scope).items())

    def _unqueued(self, value) -> bool:
        allowed = self.state.unqueued
        index = value.get("fn_index") if isinstance(value, dict) else None
        return allowed is None or (type(index) is int and index in allowed)

    async def _limited(self, scope, body, receive, send):
        """Run a new event unless this client already has `per_client_events` queued, running or joining."""
        address, state = host(scope), self.state
        joining = state.joining.get(address, 0)
        if state.inflight is not None and state.inflight(address) + joining >= state.config.per_client_events:
            state.refused_busy += 1
            return await reply(send, 429, BUSY, [(b"retry-after", b"2")])
        # joins waiting inside Gradio (for its lock) are not in its queue yet: count them here
        state.joining[address] = joining + 1
        try:
            return await self.app(scope, replay(body, receive), self._busy(send))
        finally:
            left = state.joining.get(address, 1) - 1
            if left > 0:
                state.joining[address] = left
            else:
                state.joining.pop(address, None)

    async def _read(self, scope, receive):
        """The whole request body; None once it is larger than the limit, _TIMEOUT when it does not
        arrive within `body_timeout_s` (nothing more is read either way)."""
        limit = self.state.config.max_body_bytes
        declared = header(scope, b"content-length")
        if declared.isdigit() and int(declared) > limit:
            return None
        chunks, size, more = [], 0, True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.state.config.body_timeout_s
        while more:
            try:
                message = await asyncio.wait_for(receive(), max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                log.warning("request body from %s too slow: dropped", host(scope))
                return _TIMEOUT
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
    def _clean(scope, body: bytes, names=None):
        """(decoded value, body, scope) with every JSON string cleaned; a body that is not JSON
        passes unchanged (Gradio refuses it). RecursionError when nested too deeply. With `names`
        (uploads.UploadNames), the upload ids the client was given become the server's paths again."""
        try:
            value = json.loads(body)
        except UnicodeDecodeError:
            try:
                value = json.loads(body.decode("utf-8", errors="replace"))
            except ValueError:
                return None, body, scope
        except ValueError:
            return None, body, scope
        value = clean_json(value)
        if names is not None:
            value = names.reveal(value)
        body = json.dumps(value, ensure_ascii=False).encode("utf-8")
        return value, body, with_body(scope, body)

    @staticmethod
    def _clean_query(scope):
        """The query string with every value cleaned like JSON strings (session ids arrive here too),
        without Gradio's `all_endpoints` (which would list undocumented endpoints)."""
        raw = scope.get("query_string") or b""
        if not raw or (b"%" not in raw and raw.isascii() and b"all_endpoints" not in raw):
            return scope
        pairs = parse_qsl(raw.decode("latin-1"), keep_blank_values=True, errors="replace")
        query = urlencode([(clean_text(k), clean_text(v)) for k, v in pairs if k != "all_endpoints"])
        return {**scope, "query_string": query.encode("ascii")}

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
                    await reply(send, 503, BUSY, [(b"retry-after", b"5")])
                return
            await send(message)
        return send_busy
