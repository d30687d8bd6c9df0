"""Start the real web app on a local port and ask it a question over HTTP."""

import json
import os
import shutil
import socket
import subprocess
import sys
import time

import httpx
import pytest

from .conftest import DOCUMENTS, ROOT

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory):
    base = tmp_path_factory.mktemp("app")
    docs = base / "documents"
    shutil.copytree(DOCUMENTS, docs)
    port = free_port()
    log = open(base / "app.log", "w")
    # no index yet: the app must build it on start instead of failing
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port), "--documents", str(docs),
                             "--embeddings", str(base / "embeddings")], stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 180
    while time.time() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"app exited: {(base / 'app.log').read_text()}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(1)
    else:
        proc.kill()
        pytest.fail("app did not start")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()


def ask_http(url: str, question: str) -> dict:
    r = httpx.post(f"{url}/gradio_api/call/ask", json={"data": [question]}, timeout=30)
    r.raise_for_status()
    event_id = r.json()["event_id"]
    with httpx.stream("GET", f"{url}/gradio_api/call/ask/{event_id}", timeout=60) as s:
        event = None
        for line in s.iter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:") and event == "complete":
                return json.loads(line[5:])[0]
            elif event == "error":
                raise AssertionError(f"server error: {line}")
    raise AssertionError("no answer")


def test_page_is_served_in_chinese(app_url):
    page = httpx.get(app_url, timeout=10).text
    assert "医保问答" in page


def test_question_over_http_gets_the_cited_answer(app_url):
    out = ask_http(app_url, "衡水市医保电话是多少")
    assert out["refused"] is False and "0318-12333" in out["answer"] and "[1]" in out["answer"]
    assert out["citations"][0]["source"] == "000_91c1583d48168d56.txt"


def test_unknown_place_over_http_is_refused(app_url):
    out = ask_http(app_url, "廊坊三河市医保中心电话是多少")
    assert out["refused"] is True and out["citations"] == []


def test_share_without_internet_says_so_and_keeps_serving(tmp_path):
    """--share needs Gradio's tunnel; here (no internet) it must fail clearly and still serve locally.
    Where the internet exists the link is made instead, and the test accepts that too."""

    docs = tmp_path / "documents"
    shutil.copytree(DOCUMENTS, docs)
    port = free_port()
    log_path = tmp_path / "share.log"
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--share", "--port", str(port),
                                 "--documents", str(docs), "--embeddings", str(tmp_path / "emb")],
                                stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        deadline = time.time() + 240
        text = ""
        while time.time() < deadline and "is running at" not in text:
            assert proc.poll() is None, log_path.read_text()
            time.sleep(1)
            text = log_path.read_text()
        assert "is running at" in text, text
        assert "without --auth" in text  # exposure warning
        assert "share link could not be created" in text or "share link: https://" in text
        assert httpx.get(f"http://127.0.0.1:{port}", timeout=10).status_code == 200
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
