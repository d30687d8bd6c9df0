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

from .conftest import ROOT
from .servers import App, ask_http, free_port

ARTIFACTS = ROOT / "artifacts"


# ---- the URL must be this machine ------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "http://127.0.0.1:7860", "http://127.0.0.1:7860/", "http://127.4.5.6:80", "http://localhost:1234",
    "http://LOCALHOST:1234", "http://[::1]:8080", "http://[::ffff:127.0.0.1]:8080", "https://127.0.0.1",
])
def test_loopback_urls_are_accepted(url):
    base = loadtest.loopback_base(url)
    assert not base.endswith("/")


@pytest.mark.parametrize("url", [
    "http://example.com", "http://10.0.0.1:7860", "http://192.168.1.10", "http://0.0.0.0:7860",
    "http://127.0.0.1.nip.io:7860", "http://localhost.example.com", "http://user@8.8.8.8",
    "http://[::2]:80", "http://[2001:db8::1]", "ftp://127.0.0.1", "127.0.0.1:7860", "http://", "",
    "http://127.0.0.1:notaport",
])
def test_other_urls_are_refused(url):
    with pytest.raises(ValueError):
        loadtest.loopback_base(url)


def test_cli_refuses_a_remote_url_without_sending_anything(capsys):
    code = cli.main(["loadtest", "--url", "http://93.184.216.34:80", "--users", "2", "--requests", "2"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: refusing to load-test 93.184.216.34") and "127.0.0.0/8" in err


@pytest.mark.parametrize("flags,message", [
    (["--users", "0"], "--users must be between 1 and 200"),
    (["--users", "201"], "--users must be between 1 and 200"),
    (["--requests", "0"], "--requests must be between 1 and 10000"),
    (["--requests", "10001"], "--requests must be between 1 and 10000"),
    (["--timeout", "0"], "--timeout must be"),
    (["--timeout", "3601"], "--timeout must be"),
])
def test_counts_and_time_are_bounded(capsys, flags, message):
    code = cli.main(["loadtest", "--url", "http://127.0.0.1:9", *flags])
    assert code == 2
    assert message in capsys.readouterr().err


def test_nothing_listening_is_one_clear_error(capsys):
    code = cli.main(["loadtest", "--url", f"http://127.0.0.1:{free_port()}", "--users", "2", "--requests", "4"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("error: no web chat answers at") and "python app.py" in err
    assert "Traceback" not in err


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert loadtest.percentile(values, 50) == 50.0
    assert loadtest.percentile(values, 95) == 95.0
    assert loadtest.percentile([7.0], 95) == 7.0
    assert loadtest.percentile([], 50) is None


# ---- against a stand-in server speaking the same protocol ------------------------------------

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


def test_every_question_is_sent_once_and_counted(fake_server, tmp_path, capsys):
    qfile = _questions(tmp_path, ["医保电话", "报销", "异地就医"])
    code = cli.main(["loadtest", "--url", fake_server, "--users", "5", "--requests", "30",
                     "--questions", qfile, "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 0
    assert report["requests"] == report["sent"] == report["successes"] == 30 and report["errors"] == 0
    assert len(FakeGradio.seen) == 30 and set(FakeGradio.seen) == {"医保电话", "报销", "异地就医"}
    assert 0 < report["p50_ms"] <= report["p95_ms"] <= report["max_ms"]
    assert report["error_kinds"] == {}


def test_error_events_and_malformed_answers_are_errors(fake_server, tmp_path, capsys):
    qfile = _questions(tmp_path, ["医保电话", "boom", "garbage", "报销"])
    code = cli.main(["loadtest", "--url", fake_server, "--users", "4", "--requests", "40",
                     "--questions", qfile, "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["successes"] == 20 and report["errors"] == 20
    kinds = report["error_kinds"]
    assert sum(kinds.values()) == 20
    assert any(k.startswith("event: error") for k in kinds) and any("without an answer" in k for k in kinds)


def test_the_run_stops_at_its_time_limit(fake_server, tmp_path, capsys):
    """A server that never answers cannot keep the load test running past --timeout."""
    qfile = _questions(tmp_path, ["hang"])
    code = cli.main(["loadtest", "--url", fake_server, "--users", "3", "--requests", "50",
                     "--questions", qfile, "--timeout", "2", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["successes"] == 0 and report["errors"] == 50
    assert report["sent"] < 50  # the rest were never sent
    assert report["elapsed_s"] < 2 + loadtest.PER_REQUEST_SECONDS


def test_plain_text_report(fake_server, capsys):
    code = cli.main(["loadtest", "--url", fake_server, "--users", "2", "--requests", "6"])
    out = capsys.readouterr().out
    assert code == 0
    assert "6 questions from 2 users" in out and "errors 0" in out and "p95" in out


def test_builtin_questions_include_hostile_input():
    qs = loadtest.QUESTIONS
    assert "" in qs and any(len(q) > 500 for q in qs) and any("<script>" in q for q in qs)


# ---- the real app under load -----------------------------------------------------------------

@pytest.mark.slow
def test_real_app_answers_30_users_and_300_questions_without_error(real_config, tmp_path):
    app = App(tmp_path, real_config).wait_ready()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "chatbot.cli", "loadtest", "--url", app.url, "--users", "30", "--requests", "300",
             "--timeout", "600", "--json"],
            capture_output=True, text=True, timeout=900, cwd=ROOT, env={**os.environ, "PYTHONIOENCODING": "utf-8"})
        assert "Traceback" not in proc.stderr, proc.stderr
        report = json.loads(proc.stdout)
        ARTIFACTS.mkdir(exist_ok=True)
        (ARTIFACTS / "loadtest.json").write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
        assert report["errors"] == 0, report["error_kinds"]
        assert report["successes"] == 300 and proc.returncode == 0
        assert report["p50_ms"] is not None and report["p95_ms"] >= report["p50_ms"]
        # the hostile questions in the built-in mix did not leave tracebacks in the server log either
        assert "Traceback" not in app.log
    finally:
        app.stop()
