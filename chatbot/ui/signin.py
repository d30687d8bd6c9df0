"""POST /login and GET /logout at the edge (the password check itself is Gradio's).

- the login form is read whatever its encoding (urlencoded or multipart); a form without exactly
  one user name and one password never reaches Gradio (400);
- attempts are serialised per address and per user name and only wrong passwords are counted
  (`logins.LoginThrottle`); a locked address or slowed user name gets 429 "try again in N s";
- the login cookie gets SameSite=Lax and a Max-Age, and its token a server-side end and a per-user
  cap (`logins.Sessions`);
- GET /logout ends only this browser's session, not the user's other ones.
"""

from __future__ import annotations

import asyncio
import logging
import math

from .asgi import cookies, host, reply, replay
from .guard import clean_text
from .logins import TOO_MANY_LOGINS, USER_SLOWED, LoginThrottle, Sessions

TOKEN_COOKIE = "access-token"
BAD_FORM = "登录表单无效。(malformed login form)"
log = logging.getLogger(__name__)


class Locks:
    """One asyncio lock per key, dropped when nobody holds or waits for it."""

    def __init__(self):
        self._locks: dict[str, list] = {}

    async def acquire(self, key: str) -> None:
        entry = self._locks.setdefault(key, [asyncio.Lock(), 0])
        entry[1] += 1
        await entry[0].acquire()

    def release(self, key: str) -> None:
        entry = self._locks[key]
        entry[0].release()
        entry[1] -= 1
        if entry[1] == 0:
            del self._locks[key]


async def read_form(scope, body: bytes) -> dict[str, list[str]] | None:
    """The login form's text fields (urlencoded or multipart), or None when it cannot be read."""
    from starlette.requests import Request

    request = Request(scope, replay(body, _never))
    try:
        form = await request.form(max_files=0, max_fields=10)
    except Exception:  # noqa: BLE001 - any unreadable form is simply refused
        return None
    out: dict[str, list[str]] = {}
    for key, value in form.multi_items():
        if not isinstance(value, str):
            return None
        out.setdefault(key, []).append(value)
    return out


async def _never():
    return {"type": "http.disconnect"}


class LoginGate:
    def __init__(self, config, revoke=None):
        self.config = config
        self.throttle = LoginThrottle(config.login_free_failures, config.login_lock_base_s,
                                      config.login_lock_max_s, config.login_forget_s, config.login_user_delay_max_s)
        self.sessions = Sessions(config.session_hours * 3600, config.sessions_per_user)
        self.revoke = revoke  # token -> None: makes the app forget a login token
        self.locks = Locks()

    def expire(self, scope) -> None:
        """Revoke login tokens this request brings that are past their end (or unknown here)."""
        if self.revoke is None:
            return
        for name, value in cookies(scope).items():
            if name.startswith(TOKEN_COOKIE) and value and self.sessions.expired(value):
                self.revoke(value)

    def logout(self, scope):
        """GET /logout: forget this session's token only; the app is asked for all_session=false."""
        for name, value in cookies(scope).items():
            if name.startswith(TOKEN_COOKIE) and value:
                self.sessions.forget(value)
                if self.revoke is not None:
                    self.revoke(value)
        return {**scope, "query_string": b"all_session=false"}

    async def login(self, app, scope, body: bytes, receive, send):
        form = await read_form(scope, body)
        if form is None or len(form.get("username", [])) != 1 or len(form.get("password", [])) != 1:
            return await reply(send, 400, BAD_FORM)
        user = clean_text(form["username"][0]).strip().lower()[:128]
        address = host(scope)
        keys = [f"ip:{address}"] + ([f"user:{user}"] if user else [])
        for key in keys:  # one attempt at a time per address and per user name: all are counted
            await self.locks.acquire(key)
        try:
            await self._attempt(app, scope, body, receive, send, user, address)
        finally:
            for key in reversed(keys):
                self.locks.release(key)

    async def _attempt(self, app, scope, body, receive, send, user, address):
        wait, why = self.throttle.check(address, user)
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            log.warning("login refused for user %r from %s: %s locked for %d more s after repeated failures",
                        user, address, why, seconds)
            text = (TOO_MANY_LOGINS if why == "address" else USER_SLOWED).format(seconds=seconds)
            return await reply(send, 429, text, [(b"retry-after", str(seconds).encode())])
        status = {}
        lifetime = str(int(self.config.session_hours * 3600)).encode()

        async def watch(message):
            if message["type"] == "http.response.start":
                status["code"] = message.get("status")
                if status["code"] == 200:
                    message = {**message, "headers": [self._cookie(k, v, lifetime, user) for k, v in message["headers"]]}
            await send(message)

        await app(scope, replay(body, receive), watch)
        if status.get("code") == 200:
            self.throttle.succeeded(address)
            log.info("login for user %r from %s", user, address)
        elif status.get("code") == 400:
            locked = self.throttle.failed(address, user)
            log.warning("failed login for user %r from %s (%d for this user, %d from this address)%s",
                        user, address, self.throttle.failures(f"user:{user}"),
                        self.throttle.failures(f"ip:{address}"), f"; locked for {locked:.0f} s" if locked else "")

    def _cookie(self, key: bytes, value: bytes, lifetime: bytes, user: str):
        """A login cookie: SameSite=Lax, Max-Age; its token registered so it can end on the server."""
        if key.lower() != b"set-cookie" or not value.startswith(TOKEN_COOKIE.encode()):
            return key, value
        token = value.split(b";", 1)[0].partition(b"=")[2].decode("latin-1")
        if token:
            for old in self.sessions.issued(token, user):
                if self.revoke is not None:
                    self.revoke(old)
        parts = [p for p in value.split(b";") if not p.strip().lower().startswith((b"samesite", b"max-age"))]
        return key, b";".join(parts) + b"; SameSite=Lax; Max-Age=" + lifetime
