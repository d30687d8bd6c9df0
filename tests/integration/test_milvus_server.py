"""The Milvus backend against a real Milvus standalone server (the `milvus` package, 2.3.5): one
server and one build for the whole module. Build, `chatbot eval` parity with FAISS, incremental
rebuild, model mismatch, a server outage while the web chat runs, and two replicas answering a
load test while a third process rebuilds and flips the alias."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
import time

import pytest

from chatbot.errors import IndexMismatchError
from chatbot.store import open_index
from chatbot.store.files.store import load_index
from tests.helpers import DOCUMENTS, ROOT, SHARED_EVAL
from tests.helpers.milvus_server import MilvusServer, available
from tests.helpers.servers import App, ask_http

pytestmark = pytest.mark.skipif(not available(), reason="the `milvus` package (a Milvus server) is not installed")

NEW_FILE = "999_chengde.txt"
NEW_TEXT = "承德市医疗保障局\n\n承德市医保服务中心咨询电话是0314-2023555，工作日上午8:30至下午5:30接听。\n"
NEW_QUESTION = "承德市医保电话是多少"


def _cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "chatbot.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    srv = MilvusServer(tmp_path_factory.mktemp("milvus-server")).start()
    try:
        yield srv
    finally:
        srv.stop()


@pytest.fixture(scope="module")
def milvus_cfg(server, real_config, tmp_path_factory):
    """The shipped corpus (a private copy) built into the server once, through the CLI."""
    base = tmp_path_factory.mktemp("milvus-index")
    docs = base / "documents"
    shutil.copytree(DOCUMENTS, docs)
    cfg = real_config.with_overrides(documents_dir=docs, embeddings_dir=base / "embeddings", store="milvus",
                                     milvus_uri=server.uri)
    done = _cli("build", *_flags(cfg), "--quiet")
    assert done.returncode == 0, done.stderr[-2000:]
    assert "chatbot_a: 111 rows inserted" in done.stdout or "rows inserted" in done.stdout, done.stdout
    return cfg


def _flags(cfg) -> list[str]:
    return ["--store", "milvus", "--milvus-uri", cfg.milvus_uri, "--documents", str(cfg.documents_dir),
            "--embeddings", str(cfg.embeddings_dir)]


def test_build_on_a_2_3_server_and_eval_parity_with_faiss(milvus_cfg, real_config):
    ix = open_index(milvus_cfg)
    faiss_ix = load_index(real_config.embeddings_dir, real_config.model)
    assert ix.manifest["keyword"] == "local" and ix.keyword_mode == "local"   # 2.3: no BM25 functions
    assert ix.passages == faiss_ix.passages
    ix.close()
    milvus_eval = _cli("eval", str(SHARED_EVAL), "--json", *_flags(milvus_cfg))
    faiss_eval = _cli("eval", str(SHARED_EVAL), "--json", "--documents", str(real_config.documents_dir),
                      "--embeddings", str(real_config.embeddings_dir))
    assert milvus_eval.returncode == 0 and faiss_eval.returncode == 0, milvus_eval.stderr[-2000:]
    assert json.loads(milvus_eval.stdout) == json.loads(faiss_eval.stdout)


def test_incremental_rebuild_and_model_mismatch(milvus_cfg, real_config):
    from chatbot.store import build

    files = sorted(milvus_cfg.documents_dir.glob("*.txt"))
    with open(files[2], "a", encoding="utf-8") as fh:
        fh.write("\n补充说明：各地政策以当地医保部门最新公告为准。\n")
    report = build(milvus_cfg)
    changed = [f for f in report.files if not f.reused]
    assert [f.source for f in changed] == [files[2].name] and report.embedded == changed[0].chunks
    assert report.collection == "chatbot_b" and report.inserted == report.passages   # standby filled by copying
    ix = open_index(milvus_cfg)
    assert ix.collection == "chatbot_b" and any("最新公告为准" in p.text for p in ix.passages)
    ix.close()
    with pytest.raises(IndexMismatchError) as faiss_err:
        load_index(real_config.embeddings_dir, "another-model")
    with pytest.raises(IndexMismatchError) as milvus_err:
        open_index(milvus_cfg.with_overrides(model="another-model"))
    assert str(milvus_err.value) == str(faiss_err.value)


def _answer(url: str, question: str) -> dict:
    event, data = ask_http(url, question)
    assert event == "complete", data
    return data[0] if isinstance(data, list) else data


def test_server_outage_while_the_web_chat_runs(milvus_cfg, server, tmp_path):
    app = App(tmp_path, milvus_cfg, *_flags(milvus_cfg)[:4]).wait_ready()
    try:
        assert "0318-12333" in _answer(app.url, "衡水市医保电话是多少")["answer"]
        server.stop()
        down = _answer(app.url, "衡水市医保电话是多少")
        # a plain "cannot answer now, try again" (the web chat shows no internals), not a traceback
        assert down["refused"] and down["reason"] == "error" and "暂时无法回答" in down["answer"], down
        server.start()
        deadline, last = time.monotonic() + 120, None
        while time.monotonic() < deadline:
            last = _answer(app.url, "衡水市医保电话是多少")
            if "0318-12333" in last["answer"]:
                break
            time.sleep(2)
        assert "0318-12333" in last["answer"], last
    finally:
        app.stop()


def test_two_replicas_answer_a_load_test_while_a_third_process_rebuilds(milvus_cfg, tmp_path, monkeypatch):
    monkeypatch.setenv("CHATBOT_INDEX_CHECK_S", "1")
    apps = [App(tmp_path / f"r{i}", milvus_cfg, *_flags(milvus_cfg)[:4]) for i in range(2)
            if (tmp_path / f"r{i}").mkdir() is None]
    try:
        for app in apps:
            app.wait_ready()
        for app in apps:
            assert _answer(app.url, NEW_QUESTION)["refused"]   # 承德 is in no document yet
        reports: list[dict] = []

        def load(url: str) -> None:
            done = _cli("loadtest", "--url", url, "--users", "4", "--requests", "40", "--json", timeout=400)
            reports.append(json.loads(done.stdout) if done.returncode == 0 else {"errors": -1, "out": done.stderr})

        threads = [threading.Thread(target=load, args=(app.url,)) for app in apps]
        for t in threads:
            t.start()
        (milvus_cfg.documents_dir / NEW_FILE).write_text(NEW_TEXT, encoding="utf-8")
        rebuilt = _cli("build", *_flags(milvus_cfg), "--quiet")
        for t in threads:
            t.join(420)
        assert rebuilt.returncode == 0, rebuilt.stderr[-2000:]
        assert len(reports) == 2 and all(r["errors"] == 0 for r in reports), reports
        time.sleep(2)   # > CHATBOT_INDEX_CHECK_S: each replica notices the alias flip
        for app in apps:
            answer = _answer(app.url, NEW_QUESTION)
            if answer["refused"]:   # the check runs on the next question after the interval
                answer = _answer(app.url, NEW_QUESTION)
            assert "0314-2023555" in answer["answer"], answer
    finally:
        for app in apps:
            app.stop()
