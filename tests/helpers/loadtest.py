"""`chatbot loadtest`: loopback only, bounded, counts successes and errors honestly; and the real web
app answers 300 questions from 30 concurrent users without a single error.

"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from chatbot import cli, loadtest

from . import ROOT
from .servers import App, ask_http, free_port

ARTIFACTS = ROOT / "artifacts"


# ---- the URL must be this machine ------------------------------------------------------------



class FakeGradio(BaseHTTPRequestHandler):
    """The Gradio call API, minimally: questions containing "boom" end with `event: error`,
    "hang" never finishes, "garbage" completes with data that is not an answer."""

    pending: dict = {}
    lock = threading.Lock()
    seen: list = []

    def log_message(self, *args):
        pass

    def _json(self, code: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/gradio_api/info":
            return self._json(200, {"named_endpoints": {"/ask": {}}, "unnamed_endpoints": {}})
        prefix = "/gradio_api/call/ask/"
        if not self.path.startswith(prefix):
            return self._json(404, {"detail": "Not Found"})
        with self.lock:
            question = self.pending.pop(self.path[len(prefix):], None)
        if question is None:
            return self._json(404, {"detail": "unknown event"})
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        if "hang" in question:
            self.wfile.write(b"event: heartbeat\ndata: null\n\n")
            self.wfile.flush()
            time.sleep(30)
            return
        if "boom" in question:
            self.wfile.write(b"event: error\ndata: \"internal\"\n\n")
        elif "garbage" in question:
            self.wfile.write(b"event: complete\ndata: [null]\n\n")
        else:
            answer = {"answer": f"答：{question}", "refused": question == "", "citations": []}
            self.wfile.write(b"event: heartbeat\ndata: null\n\n")
            self.wfile.write(f"event: complete\ndata: {json.dumps([answer])}\n\n".encode())

    def do_POST(self):
        if self.path != "/gradio_api/call/ask":
            return self._json(404, {"detail": "Not Found"})
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        event_id = uuid.uuid4().hex
        with self.lock:
            self.pending[event_id] = body["data"][0]
            self.seen.append(body["data"][0])
        self._json(200, {"event_id": event_id})


@pytest.fixture
def fake_server():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGradio)
    server.daemon_threads = True
    FakeGradio.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _questions(tmp_path: Path, lines: list[str]) -> str:
    path = tmp_path / "questions.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    return str(path)
