"""Who may upload, how much, and where uploads live.

Gradio's /gradio_api/upload stores any file anyone posts. Here only the administrator's page may
post: signing in on the 资料库 tab issues an admin token that the page keeps as a SameSite=Strict
cookie (`ADMIN_COOKIE`); the edge refuses an upload without a live token (403), over the client's
quota (429: `upload_quota_mb` per `upload_window_s` per address), or whose body stalls for
`body_timeout_s`. Uploaded files live in a folder of their own, emptied at start and after each
admin upload. Pure Python, no Gradio.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

from .asgi import cookies, header, host, reply

ADMIN_COOKIE = "chatbot-admin"
NO_UPLOAD = "只有管理员可以上传文件。(uploads need the 资料库 admin login)"
OVER_QUOTA = "上传太多，请稍后再试。(upload quota reached; retry in {seconds} s)"
log = logging.getLogger(__name__)


class AdminTokens:
    """Random tokens issued to a signed-in 资料库 page, valid for `seconds`."""

    def __init__(self, seconds: float, max_tokens: int = 1000):
        self.seconds, self.max_tokens = seconds, max_tokens
        self._tokens: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._tokens[token] = time.monotonic() + self.seconds
            while len(self._tokens) > self.max_tokens:
                self._tokens.pop(next(iter(self._tokens)))
        return token

    def valid(self, token: str | None) -> bool:
        if not token:
            return False
        with self._lock:
            until = self._tokens.get(token)
            if until is not None and time.monotonic() > until:
                self._tokens.pop(token, None)
                until = None
        return until is not None


def upload_dir(config, port: int) -> Path:
    """This server's own upload folder (not Gradio's shared /tmp/gradio)."""
    return Path(config.upload_tmp_dir or Path(tempfile.gettempdir()) / "chatbot-uploads") / str(port)


def empty_dir(folder: Path) -> int:
    """Remove everything in `folder` (kept); the number of entries removed."""
    removed = 0
    for child in list(folder.iterdir()) if folder.is_dir() else []:
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)
        removed += 1
    return removed


def remove_uploaded(paths, folder: Path) -> int:
    """Delete uploaded temp files (and their per-file folders), only inside `folder`."""
    root, removed = Path(folder).resolve(), 0
    for p in paths:
        try:
            path = Path(p).resolve()
        except (OSError, TypeError, ValueError):
            continue
        if root not in path.parents:
            continue
        path.unlink(missing_ok=True)
        parent = path.parent
        if parent != root and root in parent.parents and not any(parent.iterdir()):
            parent.rmdir()
        removed += 1
    return removed


class UploadGate:
    """The edge's check of POST …/upload: admin token, per-address quota, stalled bodies."""

    def __init__(self, config, tokens: AdminTokens | None = None):
        self.config, self.tokens = config, tokens
        self._used: dict[str, deque] = {}  # address -> (time, bytes) within the window

    def _spent(self, address: str, now: float) -> int:
        q = self._used.setdefault(address, deque())
        while q and now - q[0][0] > self.config.upload_window_s:
            q.popleft()
        if not q:
            self._used.pop(address, None)
        return sum(b for _, b in q)

    async def __call__(self, app, scope, receive, send):
        if self.tokens is None or not self.tokens.valid(cookies(scope).get(ADMIN_COOKIE)):
            log.warning("upload refused from %s: no admin login", host(scope))
            return await reply(send, 403, NO_UPLOAD)
        address, now = host(scope), time.monotonic()
        quota = int(self.config.upload_quota_mb * 1024 * 1024)
        declared = header(scope, b"content-length")
        spent = self._spent(address, now)
        if spent + (int(declared) if declared.isdigit() else 0) > quota:
            wait = int(self.config.upload_window_s)
            return await reply(send, 429, OVER_QUOTA.format(seconds=wait), [(b"retry-after", str(wait).encode())])
        entry = [now, 0]
        self._used.setdefault(address, deque()).append(entry)
        timeout = self.config.body_timeout_s

        async def guarded():
            try:
                message = await asyncio.wait_for(receive(), timeout)
            except asyncio.TimeoutError:
                log.warning("upload from %s stalled for %.0f s: dropped", address, timeout)
                return {"type": "http.disconnect"}
            if message["type"] == "http.request":
                entry[1] += len(message.get("body", b""))
                if spent + entry[1] > quota:
                    log.warning("upload from %s over the quota: dropped", address)
                    return {"type": "http.disconnect"}
            return message

        await app(scope, guarded, send)
