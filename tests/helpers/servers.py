"""Helpers for tests that start the real web app (`python app.py`) in a subprocess and talk to it
over its JSON API. Shared by the HTTP, load, reliability and browser tests."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from . import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    """The real web app (`python app.py`) running in a subprocess, stderr captured to a file."""

    def __init__(self, cwd: Path, config, *extra: str, host: str = "127.0.0.1", env: dict | None = None):
        self.port = free_port()
        self.log_path = cwd / f"app-{self.port}.log"
        self._log = open(self.log_path, "w", encoding="utf-8")
        args = [sys.executable, str(ROOT / "app.py"), "--host", host, "--port", str(self.port),
                "--documents", str(config.documents_dir), "--embeddings", str(config.embeddings_dir), *extra]
        if "--feedback" not in extra:
            args += ["--feedback", str(cwd / "feedback")]
        self.proc = subprocess.Popen(args, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT,
                                     env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONIOENCODING": "utf-8",
                                          "CHATBOT_UPLOAD_TMP": str(cwd / "uploads"), **(env or {})})
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_until(self, text: str, seconds: float = 240) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if text in self.log:
                return
            if self.proc.poll() is not None:
                raise AssertionError(f"the app exited ({self.proc.returncode}):\n{self.log[-3000:]}")
            time.sleep(0.3)
        raise AssertionError(f"the app did not print {text!r} in {seconds} s:\n{self.log[-3000:]}")

    def wait_ready(self) -> "App":
        self.wait_until("is running at")
        return self

    def __enter__(self) -> "App":
        """`with App(...) as app:` waits until it serves, and stops it however the block ends."""
        try:
            return self.wait_ready()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(15)
        self._log.close()


def ask_http(url: str, question, timeout: float = 120) -> tuple[str, object]:
    """One question through the JSON API: (final event name, parsed data)."""
    return call_http(url, "ask", [question], timeout)


def call_http(url: str, name: str, data: list, timeout: float = 120) -> tuple[str, object]:
    """One call of a public endpoint (`ask`, `ask_history`): (final event name, parsed data)."""
    r = httpx.post(f"{url}/gradio_api/call/{name}", json={"data": data}, timeout=timeout, trust_env=False)
    assert r.status_code == 200, r.text
    event_id = r.json()["event_id"]
    event = None
    with httpx.stream("GET", f"{url}/gradio_api/call/{name}/{event_id}", timeout=timeout, trust_env=False) as s:
        for line in s.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event in ("complete", "error"):
                data = line[5:].strip()
                return event, (json.loads(data) if data and data != "null" else None)
    raise AssertionError("the stream ended without a result")
