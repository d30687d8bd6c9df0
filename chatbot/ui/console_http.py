"""The console's HTTP routes (issue 20), served by the edge before Gradio sees the request:

- `GET /healthz`: 200 JSON when the model, the index and the store answer, 503 with the reason;
- `GET /metrics`: Prometheus text; needs `--metrics-token` (Bearer) when one is set, and is off
  (404) under --auth without one;
- `POST /v1/chat/completions`: OpenAI-compatible (stream or not), only with `--api-key` (Bearer;
  401 otherwise). The last user message is the question, the earlier user messages its history;
  the answer goes through the same path as the chat's (`handler.answer`: same caps) but in a pool
  of its own, apart from the web chat's Gradio queue: at most `api_concurrency` answering at a time
  (in threads of their own), `api_queue_max` waiting and `api_per_client` per client address
  (429 with Retry-After beyond), so a flood of API calls cannot take the chat's places;
  `citations` at the top level and in the final chunk.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from ..console import health
from ..console.metrics import CONTENT_TYPE
from ..console.recorder import Recorder
from .asgi import header, host, reply
from .guard import BUSY, TOO_LARGE

log = logging.getLogger(__name__)

PATHS = ("/healthz", "/metrics", "/v1/chat/completions", "/v1/models")
MODEL = "chatbot"
BAD_KEY = "invalid or missing API key (Authorization: Bearer <key>)"


def bearer(scope) -> str:
    value = header(scope, b"authorization")
    return value[7:].strip() if value[:7].lower() == "bearer " else ""


def key_ok(given: str, keys) -> bool:
    found = False
    for key in keys:  # compare with every key, in constant time
        found |= hmac.compare_digest(given.encode("utf-8", "replace"), str(key).encode("utf-8"))
    return bool(given) and found


def citations(answer) -> list[dict]:
    out = []
    for c in answer.citations:
        d = c.to_dict()
        d["quote"] = " … ".join(c.quotes) if c.quotes else (c.passage.text or "")[:300]
        out.append(d)
    return out


def text_of(content) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # [{"type": "text", "text": …}, …]
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


async def send_json(send, status: int, value, extra: list | None = None) -> None:
    body = json.dumps(value, ensure_ascii=False).encode("utf-8")
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()), (b"cache-control", b"no-store")]
                + (extra or [])})
    await send({"type": "http.response.body", "body": body, "more_body": False})


class ConsoleRoutes:
    """The routes above, for one app (`qa`: the pipeline, `answer(q, history)`: the chat's own)."""

    def __init__(self, config, qa, recorder: Recorder, answer, auth: bool = False):
        self.config, self.qa, self.recorder, self.answer, self.auth = config, qa, recorder, answer, auth
        self.running = asyncio.Semaphore(max(1, config.api_concurrency))  # the API's own pool (not the chat's)
        self.threads = ThreadPoolExecutor(max(1, config.api_concurrency), thread_name_prefix="openai-api")
        self.waiting = 0
        self.per_host: dict[str, int] = {}

    async def __call__(self, edge, scope, receive, send):
        path, method = scope.get("path", ""), scope.get("method", "GET")
        if path == "/healthz" and method in ("GET", "HEAD"):
            status, body = await asyncio.to_thread(health.check, self.qa, self.recorder.qlog)
            return await send_json(send, status, body)
        if path == "/metrics" and method == "GET":
            return await self.metrics(scope, send)
        if path.startswith("/v1/"):
            return await self.openai(edge, scope, receive, send, path, method)
        return await reply(send, 405, "method not allowed")

    async def metrics(self, scope, send):
        token = self.config.metrics_token
        if token is None and self.auth:
            return await reply(send, 404, "metrics are off under --auth without --metrics-token")
        if token is not None and not key_ok(bearer(scope), [token]):
            return await reply(send, 401, "metrics need Authorization: Bearer <metrics token>",
                               [(b"www-authenticate", b"Bearer")])
        body = self.recorder.metrics.render()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", CONTENT_TYPE.encode()), (b"content-length", str(len(body)).encode()),
                                (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": body, "more_body": False})

    async def openai(self, edge, scope, receive, send, path, method):
        if not self.config.api_keys:
            return await reply(send, 404, "the API is off (start the server with --api-key)")
        if not key_ok(bearer(scope), self.config.api_keys):
            return await send_json(send, 401, {"error": {"message": BAD_KEY, "type": "invalid_request_error",
                                                         "code": "invalid_api_key"}},
                                   [(b"www-authenticate", b"Bearer")])
        if path == "/v1/models" and method == "GET":
            return await send_json(send, 200, {"object": "list", "data": [
                {"id": MODEL, "object": "model", "created": 0, "owned_by": "chatbot"}]})
        if path != "/v1/chat/completions" or method != "POST":
            return await reply(send, 405, "method not allowed")
        body = await edge._read(scope, receive)
        if not isinstance(body, (bytes, bytearray)):
            return await reply(send, 413 if body is None else 408, TOO_LARGE if body is None else "request body too slow")
        try:
            request = json.loads(body)
            messages = request["messages"]
            users = [text_of(m.get("content")) for m in messages if isinstance(m, dict) and m.get("role") == "user"]
            stream = bool(request.get("stream"))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return await _bad(send, "the body must be JSON with a list of messages")
        users = [u for u in users if u.strip()]
        if not users:
            return await _bad(send, "no user message")
        question, history = users[-1], users[:-1]
        answer, latency = await self._answer(scope, send, question, history)
        if answer is None:
            return
        self.recorder.note(answer, latency, "openai", question=question)
        made, ident = int(time.time()), "chatcmpl-" + uuid.uuid4().hex
        cites = citations(answer)
        extra = {"refused": answer.refused, "reason": answer.reason, "understood_as": answer.understood_as}
        if not stream:
            return await send_json(send, 200, {
                "id": ident, "object": "chat.completion", "created": made, "model": MODEL,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": answer.text},
                             "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                "citations": cites, **extra})
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-store")]})

        async def event(delta, finish=None, tail=None):
            chunk = {"id": ident, "object": "chat.completion.chunk", "created": made, "model": MODEL,
                     "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **(tail or {})}
            data = "data: " + json.dumps(chunk, ensure_ascii=False) + "\n\n"
            await send({"type": "http.response.body", "body": data.encode("utf-8"), "more_body": True})
        await event({"role": "assistant", "content": ""})
        text = answer.text
        for start in range(0, len(text), 24):
            await event({"content": text[start:start + 24]})
        await event({}, "stop", {"citations": cites, **extra})
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})

    async def _answer(self, scope, send, question, history):
        """(Answer, latency) under the chat's limits; (None, 0) after a 429 was sent."""
        client = host(scope)
        config = self.config
        if self.per_host.get(client, 0) >= config.api_per_client or self.waiting >= config.api_queue_max:
            await reply(send, 429, BUSY, [(b"retry-after", b"2")])
            return None, 0.0
        self.per_host[client] = self.per_host.get(client, 0) + 1
        self.waiting += 1
        entered = False
        try:
            async with self.running:
                self.waiting -= 1
                entered = True
                started = time.monotonic()
                try:
                    answer = await asyncio.get_running_loop().run_in_executor(
                        self.threads, self.answer, question, history)
                finally:
                    latency = time.monotonic() - started
            return answer, latency
        finally:
            if not entered:
                self.waiting -= 1
            left = self.per_host.get(client, 1) - 1
            if left:
                self.per_host[client] = left
            else:
                self.per_host.pop(client, None)


async def _bad(send, message: str):
    await send_json(send, 400, {"error": {"message": message, "type": "invalid_request_error"}})
