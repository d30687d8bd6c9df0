"""Small ASGI helpers shared by the edge middlewares: headers, cookies, JSON replies, body replay."""

from __future__ import annotations

import json

ADMIN_PATH = "/admin"  # where the admin app is mounted (behind its own login), when --admin


def host(scope) -> str:
    """The client address (uvicorn has already applied X-Forwarded-For, from a trusted proxy only)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def header(scope, name: bytes) -> str:
    for key, value in scope.get("headers") or []:
        if key.lower() == name:
            return value.decode("latin-1")
    return ""


def cookies(scope) -> dict[str, str]:
    out = {}
    for part in header(scope, b"cookie").split(";"):
        name, _, value = part.strip().partition("=")
        if name:
            out.setdefault(name, value)
    return out


async def reply(send, status: int, message: str, extra: list | None = None) -> None:
    """A small JSON answer {"detail": message, "error": message}."""
    body = json.dumps({"detail": message, "error": message}, ensure_ascii=False).encode("utf-8")
    headers = [(b"content-type", b"application/json; charset=utf-8"),
               (b"content-length", str(len(body)).encode())] + (extra or [])
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})


def replay(body: bytes, receive):
    """A receive() that gives the already-read body once, then the connection's own messages."""
    sent = False

    async def receive_again():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again


def with_body(scope, body: bytes):
    """The scope with its content-length set to `body`'s."""
    headers = [(k, v) for k, v in scope.get("headers") or [] if k.lower() != b"content-length"]
    headers.append((b"content-length", str(len(body)).encode()))
    return {**scope, "headers": headers}
