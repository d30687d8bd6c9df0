"""Who may upload, how much, and where uploads live.

Gradio's /gradio_api/upload stores any file anyone posts. Here only the administrator's page may
post: signing in on the 资料库 tab issues an admin token that the page keeps as a SameSite=Strict
cookie (`ADMIN_COOKIE`); the edge refuses an upload without a live token (403), over the client's
quota (429: `upload_quota_mb` per `upload_window_s` per address), or whose body stalls for
`body_timeout_s`; only the admin app (mounted under ADMIN_PATH behind its own login) takes uploads.
Uploaded files live in a folder of their own, emptied at start and after each admin upload. The
upload route's answer names each file by an opaque id (`UploadNames`), never by the server's path;
the edge turns the ids back into paths in the admin app's next calls. Pure Python, no Gradio.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections import deque
from pathlib import Path
from urllib.parse import quote

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


class UploadNames:
    """Opaque ids for uploaded files: the client sees `upload-<random>` (no server path), the app gets
    the path back when a later JSON body names the id as a file's "path". At most `max_names` kept."""

    PREFIX = "upload-"

    def __init__(self, max_names: int = 10000):
        self.max_names = max_names
        self._paths: dict[str, str] = {}
        self._lock = threading.Lock()

    def hide(self, path: str) -> str:
        name = self.PREFIX + secrets.token_urlsafe(18)
        with self._lock:
            self._paths[name] = path
            while len(self._paths) > self.max_names:
                self._paths.pop(next(iter(self._paths)))
        return name

    def path_of(self, name) -> str | None:
        if not isinstance(name, str) or not name.startswith(self.PREFIX):
            return None
        with self._lock:
            return self._paths.get(name)

    def reveal(self, value, depth: int = 0):
        """`value` (decoded JSON) with every {"path": <id>} (and a bare id) given its server path."""
        if isinstance(value, str):
            return self.path_of(value) or value
        if depth > 64:
            return value
        if isinstance(value, list):
            return [self.reveal(v, depth + 1) for v in value]
        if isinstance(value, dict):
            return {k: self.reveal(v, depth + 1) for k, v in value.items()}
        return value


class PathHider:
    """Server paths under `root` (Gradio's cache: uploads and files the admin app returns, such as
    the console's CSV) replaced by `UploadNames` ids in the admin app's JSON and event-stream
    answers; the edge maps GET …/file=<id> back to the file."""

    FILE_ID = re.compile(r"/file=(" + re.escape(UploadNames.PREFIX) + r"[A-Za-z0-9_-]+)$")

    def __init__(self, names: UploadNames, root: str | Path | None = None):
        self.names = names
        self.root = None
        if root:
            self.set_root(root)

    def set_root(self, root: str | Path) -> None:
        forms = sorted({json.dumps(str(p))[1:-1] for p in (Path(root), Path(root).resolve())}, key=len, reverse=True)
        self.root = re.compile("(?:" + "|".join(map(re.escape, forms)) + r')(?:[^"\\]|\\.)*')

    def hide(self, text: str) -> str:
        if self.root is None:
            return text
        return self.root.sub(lambda m: self.names.hide(json.loads(f'"{m.group(0)}"')), text)

    def file_scope(self, scope):
        """GET …/file=<id>: the scope for the file's real path (None when no such id)."""
        m = self.FILE_ID.search(scope.get("path", ""))
        path = self.names.path_of(m.group(1)) if m else None
        if path is None:
            return None
        new = scope["path"][:m.start(1)] + path
        return {**scope, "path": new, "raw_path": quote(new, safe="/=").encode("ascii")}

    def wrap(self, scope, send):
        """(scope without compression, a send() hiding paths in JSON or event-stream bodies)."""
        headers = [(k, v) for k, v in scope.get("headers") or [] if k.lower() != b"accept-encoding"]
        textual = False

        async def send_hidden(message):
            nonlocal textual
            if message["type"] == "http.response.start":
                kind = next((v for k, v in message.get("headers") or [] if k.lower() == b"content-type"), b"")
                textual = kind.startswith((b"application/json", b"text/event-stream"))
                if textual:  # the length changes: send the body as it comes, without one
                    message = {**message, "headers": [(k, v) for k, v in message.get("headers") or []
                                                      if k.lower() != b"content-length"]}
            elif message["type"] == "http.response.body" and textual and message.get("body"):
                body = message["body"].decode("utf-8", errors="surrogateescape")
                message = {**message, "body": self.hide(body).encode("utf-8", errors="surrogateescape")}
            await send(message)

        return {**scope, "headers": headers}, send_hidden


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
        self.names = UploadNames()
        self._used: dict[str, deque] = {}  # address -> (time, bytes) within the window

    def _spent(self, address: str, now: float) -> int:
        q = self._used.setdefault(address, deque())
        while q and now - q[0][0] > self.config.upload_window_s:
            q.popleft()
        if not q:
            self._used.pop(address, None)
        return sum(b for _, b in q)

    async def __call__(self, app, scope, receive, send, admin: bool = False):
        """`admin`: the request is for the admin app (the only one that takes files)."""
        if not admin or self.tokens is None or not self.tokens.valid(cookies(scope).get(ADMIN_COOKIE)):
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

        # the answer lists the stored files: ids instead of paths (uncompressed, to be read here)
        headers = [(k, v) for k, v in scope.get("headers") or [] if k.lower() != b"accept-encoding"]
        await app({**scope, "headers": headers}, guarded, self._hiding(send))

    def _hiding(self, send):
        """A send() that replaces the server paths in the upload route's JSON answer by opaque ids."""
        start, chunks = None, []

        async def send_hidden(message):
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                return await send(message)
            chunks.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            body = b"".join(chunks)
            if start.get("status") == 200:
                try:
                    paths = json.loads(body)
                except ValueError:
                    paths = None
                if isinstance(paths, list) and all(isinstance(p, str) for p in paths):
                    body = json.dumps([self.names.hide(p) for p in paths]).encode()
                else:  # never pass on an answer that could hold a path
                    log.warning("upload answer not understood: withheld")
                    body = b"[]"
            headers = [(k, v) for k, v in start.get("headers") or [] if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body, "more_body": False})

        return send_hidden
