"""A scripted OpenAI-compatible chat server (stdlib http.server) for the LLM-answer tests.

`ScriptedLLM(reply)` serves POST /v1/chat/completions, streaming (SSE `data:` chunks, then
`data: [DONE]`) or not, with a scripted reply: a string, or a function of the request's messages.
It records every request's Authorization header and body. `delay_s` holds the reply back (a slow
model), `chunk_delay_s` spaces the streamed chunks (a model that types); `status` answers with an HTTP error instead. No real model runs anywhere in the tests.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

import pytest


def number_of(messages, needle: str) -> int:
    """The [n] of the passage holding `needle` in the prompt (as a model would cite it)."""
    user = messages[-1]["content"]
    for block in re.split(r"\n\n(?=\[\d+\] )", user.split("资料：\n", 1)[1]):
        m = re.match(r"\[(\d+)\] ", block)
        if m and needle in block.replace(" ", ""):
            return int(m.group(1))
    raise AssertionError(f"{needle} not in the prompt")


class ScriptedLLM:
    def __init__(self, reply: str | Callable[[list], str] = "", delay_s: float = 0.0, status: int = 200,
                 chunk_chars: int = 7, model: str = "scripted-qwen", chunk_delay_s: float = 0.0):
        self.reply = reply
        self.chunk_delay_s = chunk_delay_s
        self.delay_s = delay_s
        self.status = status
        self.chunk_chars = chunk_chars
        self.model = model
        self.requests: list[dict] = []
        self.authorization: list[str | None] = []
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def text_for(self, messages: list) -> str:
        return self.reply(messages) if callable(self.reply) else self.reply

    def start(self) -> "ScriptedLLM":
        script = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                script.requests.append(body)
                script.authorization.append(self.headers.get("Authorization"))
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    return self._json(404, {"error": {"message": "not found"}})
                if script.status != 200:
                    return self._json(script.status, {"error": {"message": "scripted failure", "type": "server_error"}})
                try:
                    if script.delay_s:
                        time.sleep(script.delay_s)
                    text = script.text_for(body.get("messages") or [])
                    if body.get("stream"):
                        self._stream(text)
                    else:
                        self._json(200, {"id": "c1", "object": "chat.completion", "created": 0, "model": script.model,
                                         "choices": [{"index": 0, "finish_reason": "stop",
                                                      "message": {"role": "assistant", "content": text}}]})
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a deadline): nothing to answer

            def _json(self, status, payload):
                data = json.dumps(payload, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _stream(self, text):
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.send_header("Cache-Control", "no-cache")
                self.send_header("Connection", "close")
                self.end_headers()
                pieces = [text[i:i + script.chunk_chars] for i in range(0, len(text), script.chunk_chars)]
                for i, piece in enumerate(pieces):
                    chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": script.model,
                             "choices": [{"index": 0, "delta": ({"role": "assistant"} if i == 0 else {}) | {"content": piece},
                                          "finish_reason": None}]}
                    self.wfile.write(f"data: {json.dumps(chunk, ensure_ascii=False)}\n\n".encode())
                    self.wfile.flush()
                    time.sleep(script.chunk_delay_s)
                end = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": script.model,
                       "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
                self.wfile.write(f"data: {json.dumps(end)}\n\ndata: [DONE]\n\n".encode())
                self.wfile.flush()
                self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="scripted-llm", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def dead_url() -> str:
    """The address of a port nothing listens on (an unreachable endpoint)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


@pytest.fixture
def scripted_llm():
    servers = []

    def make(*args, **kwargs) -> ScriptedLLM:
        server = ScriptedLLM(*args, **kwargs).start()
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
