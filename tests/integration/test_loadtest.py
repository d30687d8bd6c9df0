"""`chatbot loadtest` against the real web app and the fake server, through the CLI."""

from __future__ import annotations

import json
import os
import pytest
import subprocess
import sys
from chatbot import cli, loadtest
from ..helpers import ROOT
from ..helpers.servers import App, free_port
from ..helpers.loadtest import ARTIFACTS, FakeGradio, _questions


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
