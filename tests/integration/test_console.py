"""The operator's console against the real app (issue 20): questions asked over HTTP land in the
question log with outcome and 👎 reason; /healthz; /metrics; the OpenAI-compatible API through the
official openai client (streamed and not, with a follow-up); a wrong key gets 401."""

from __future__ import annotations

import json
import shutil
from contextlib import closing
from datetime import datetime, timezone

import httpx
import openai
import pytest

from chatbot.console.log import QuestionLog

from ..helpers.servers import App, ask_http
from ..helpers.signin import admin_session, call
from .test_web_surface import Browser

QUESTION = "衡水市医保电话是多少"
KEY = "test-key-0123456789"
ADMIN = ("boss", "boss-pw-98765")
# one question the documents cannot answer (eval/refusals.jsonl u-05), three ways
PARAPHRASES = ["糖尿病人平时吃饭要注意什么？", "糖尿病患者日常饮食该注意什么", "糖尿病人饮食上要注意哪些"]


@pytest.fixture(scope="module")
def app(real_config, tmp_path_factory):
    base = tmp_path_factory.mktemp("console")
    server = App(base, real_config, "--api-key", KEY, "--api-key", "second-key-xyz", "--admin", ":".join(ADMIN)).wait_ready()
    server.qlog = QuestionLog(base / "feedback")
    try:
        yield server
    finally:
        server.stop()


def test_questions_over_http_are_logged_with_outcome_and_feedback_reason(app):
    assert "question log:" in app.log
    ask_http(app.url, QUESTION)
    for q in PARAPHRASES:
        ask_http(app.url, q)
    page = Browser(app.url, "consolelog001")
    page.ask(QUESTION)
    status, msg = page.join("on_like", [None], {"index": 1, "value": "", "liked": False})
    assert status == 200 and msg["success"]
    status, msg = page.join("on_reason", ["不完整", 1])
    assert status == 200 and msg["success"], msg
    rows = app.qlog.rows()
    by_channel = {(r["channel"], r["question"]) for r in rows}
    assert ("api", QUESTION) in by_channel and ("web", QUESTION) in by_channel
    refused = [r for r in rows if r["question"] in PARAPHRASES]
    assert len(refused) == 3 and all(r["refused"] and r["reason"] for r in refused), refused
    gaps = app.qlog.gaps()
    assert gaps[0]["count"] == 3 and set(gaps[0]["questions"]) == set(PARAPHRASES), gaps
    web = [r for r in rows if r["channel"] == "web"][0]
    assert web["rating"] == "down" and web["rating_reason"] == "不完整" and web["citations"]
    assert web["latency_ms"] > 0 and not web["refused"]


def test_healthz_and_metrics(app):
    r = httpx.get(f"{app.url}/healthz", timeout=60)
    assert r.status_code == 200 and r.json()["status"] == "ok" and r.json()["passages"] > 0
    before = httpx.get(f"{app.url}/metrics", timeout=30)
    assert before.status_code == 200 and "chatbot_questions_total" in before.text
    ask_http(app.url, QUESTION)
    after = httpx.get(f"{app.url}/metrics", timeout=30).text

    def answered(text):
        line = [x for x in text.splitlines() if x.startswith('chatbot_questions_total{channel="api",outcome="answered"}')]
        return float(line[0].split()[-1])
    assert answered(after) == answered(before.text) + 1
    assert "chatbot_answer_latency_seconds_bucket" in after and "chatbot_index_passages" in after


def test_the_openai_client_gets_answers_with_citations_streamed_and_not(app):
    client = openai.OpenAI(base_url=f"{app.url}/v1", api_key=KEY, max_retries=0, timeout=120)
    reply = client.chat.completions.create(model="chatbot", messages=[{"role": "user", "content": QUESTION}])
    text = reply.choices[0].message.content
    assert "[1]" in text and reply.citations and reply.citations[0]["source"] and reply.citations[0]["quote"]
    assert {"source", "title", "page", "section", "date", "quote"} <= set(reply.citations[0])
    parts, last = [], None
    for chunk in client.chat.completions.create(model="chatbot", stream=True,
                                                messages=[{"role": "user", "content": QUESTION}]):
        parts.append(chunk.choices[0].delta.content or "")
        last = chunk
    assert "".join(parts) == text and last.choices[0].finish_reason == "stop" and last.citations
    # a follow-up: the earlier user message is its history
    follow = client.chat.completions.create(model="chatbot", messages=[
        {"role": "user", "content": "医保卡丢了怎么挂失补办？"},
        {"role": "assistant", "content": "……"},
        {"role": "user", "content": "在衡水呢"}])
    extra = follow.model_extra
    assert follow.choices[0].message.content and "citations" in extra
    assert extra.get("understood_as"), extra
    assert any(r["channel"] == "openai" for r in app.qlog.rows())


def test_a_wrong_or_missing_key_gets_401(app):
    for key in ("wrong", ""):
        client = openai.OpenAI(base_url=f"{app.url}/v1", api_key=key or "x", max_retries=0)
        if not key:
            r = httpx.post(f"{app.url}/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]})
            assert r.status_code == 401
            continue
        with pytest.raises(openai.AuthenticationError):
            client.chat.completions.create(model="chatbot", messages=[{"role": "user", "content": QUESTION}])
    ok = openai.OpenAI(base_url=f"{app.url}/v1", api_key="second-key-xyz", max_retries=0, timeout=120)
    assert ok.chat.completions.create(model="chatbot", messages=[{"role": "user", "content": QUESTION}]).citations


def test_without_api_key_the_api_is_off_and_under_auth_metrics_need_a_token(real_config, tmp_path):
    with App(tmp_path, real_config, "--auth", "user:pw-123456", "--metrics-token", "tok-abc") as server:
        r = httpx.post(f"{server.url}/v1/chat/completions", json={"messages": [{"role": "user", "content": "x"}]},
                       headers={"authorization": "Bearer anything"})
        assert r.status_code == 404
        assert httpx.get(f"{server.url}/metrics").status_code == 401
        assert httpx.get(f"{server.url}/metrics", headers={"authorization": "Bearer tok-abc"}).status_code == 200
        assert httpx.get(f"{server.url}/healthz", timeout=60).status_code == 200


def test_healthz_503_when_the_index_folder_is_broken_and_the_chat_keeps_answering(real_config, tmp_path):
    broken = tmp_path / "embeddings"
    shutil.copytree(real_config.embeddings_dir, broken)
    for f in broken.rglob("*"):
        if f.is_file() and f.suffix in (".faiss", ".npy", ".json", ".jsonl", ".index"):
            f.write_bytes(b"broken")
    (tmp_path / "feedback").mkdir()
    (tmp_path / "feedback" / "questions.sqlite3").write_bytes(b"not a database" * 100)
    cfg = real_config.with_overrides(embeddings_dir=broken)
    with App(tmp_path, cfg) as server:
        r = httpx.get(f"{server.url}/healthz", timeout=60)
        assert r.status_code == 503 and r.json()["reason"], r.text
        event, data = ask_http(server.url, QUESTION)
        assert event == "complete" and data[0]["refused"]  # an honest "cannot answer", not a crash
    assert list((tmp_path / "feedback").glob("questions.sqlite3.corrupt-*"))


def test_the_admin_views_need_the_admin_login_and_show_the_log_gaps_and_scores(app):
    with httpx.Client(timeout=60, trust_env=False) as anon:  # the admin app needs its own login first
        assert call(anon, f"{app.url}/admin", "admin_log", [*ADMIN, True, False, "", "", ""]) == ("http", 401)
    url = f"{app.url}/admin"
    with closing(admin_session(app.url, *ADMIN)) as c:
        for name, data in (("admin_log", ["", "", False, False, "", "", ""]), ("admin_gaps", ["", ""]),
                           ("admin_log_csv", [ADMIN[0], "wrong"]), ("admin_hit_test", ["", "", QUESTION])):
            event, _ = call(c, url, name, data)
            assert event == "error", name
        for q in PARAPHRASES:
            ask_http(app.url, q)
        event, (note, table, disliked) = call(c, url, "admin_log", [*ADMIN, True, False, "", "", "糖尿病"])
        assert event == "complete" and table["data"] and all(row[5] == "拒答" for row in table["data"])
        event, (gaps,) = call(c, url, "admin_gaps", list(ADMIN))
        assert event == "complete" and gaps["data"][0][0] >= 3 and "糖尿病" in gaps["data"][0][1]
        event, (verdict, hits) = call(c, url, "admin_hit_test", [*ADMIN, PARAPHRASES[0]])
        assert event == "complete" and "拒答" in verdict and hits["data"]
        top = hits["data"][0]
        assert isinstance(top[1], float) and isinstance(top[2], float) and isinstance(top[3], float)
        event, (verdict, hits) = call(c, url, "admin_hit_test", [*ADMIN, QUESTION])
        assert event == "complete" and "回答" in verdict
        event, (csv_file,) = call(c, url, "admin_log_csv", list(ADMIN))
        # the file is named by an opaque id, never by the server's path, and downloads by it
        assert event == "complete" and csv_file["path"].startswith("upload-") and csv_file["orig_name"] == "questions.csv"
        assert "/tmp" not in str(csv_file) and "chatbot-uploads" not in str(csv_file), csv_file
        got = c.get(csv_file["url"])
        assert got.status_code == 200 and "糖尿病" in got.text
        assert c.get(f"{url}/gradio_api/file=upload-nosuchid").status_code in (403, 404)


def test_a_curated_answer_answers_the_question_after_the_rebuild_cited_as_admin_reply(real_config, tmp_path):
    docs, index = tmp_path / "documents", tmp_path / "embeddings"
    shutil.copytree(real_config.documents_dir, docs)
    shutil.copytree(real_config.embeddings_dir, index, symlinks=True)
    cfg = real_config.with_overrides(documents_dir=docs, embeddings_dir=index)
    question = PARAPHRASES[0]
    with App(tmp_path, cfg, "--admin", ":".join(ADMIN)) as server, closing(admin_session(server.url, *ADMIN)) as c:
        url = f"{server.url}/admin"
        event, data = ask_http(server.url, question)
        assert data[0]["refused"]
        rowid = QuestionLog(tmp_path / "feedback").rows(text=question)[0]["id"]
        reply = "糖尿病人饮食要控制总热量，少吃含糖食物，主食定时定量，多吃蔬菜。"
        event, _ = call(c, url, "admin_eval", ["", "", None])  # (5 wrong logins in a row lock out)
        assert event == "error"
        event, _ = call(c, url, "admin_curate", ["", "", rowid, reply])
        assert event == "error" and not list(docs.glob("管理员答复_*"))
        event, (note,) = call(c, url, "admin_curate", [*ADMIN, rowid, reply])
        assert event == "complete" and "已保存" in note and list(docs.glob("管理员答复_*.txt"))
        event, listed = call(c, url, "admin_documents", list(ADMIN))
        assert any(e["name"].startswith("管理员答复_") for e in listed[0]), listed
        event, _ = call(c, url, "admin_rebuild", list(ADMIN))
        assert event == "complete"
        event, data = ask_http(server.url, question)
        answer = data[0]
        assert not answer["refused"] and "含糖" in answer["answer"], answer
        assert answer["citations"][0]["title"].startswith("管理员答复"), answer["citations"]
        # a close paraphrase is answered from it too (chatbot/curated.py); an unrelated question is not
        event, data = ask_http(server.url, PARAPHRASES[1])
        assert not data[0]["refused"] and data[0]["citations"][0]["title"].startswith("管理员答复"), data[0]
        event, (verdict, hits) = call(c, url, "admin_hit_test", [*ADMIN, PARAPHRASES[1]])
        assert event == "complete" and "来自标注" in verdict and hits["data"][0][6].startswith("管理员答复"), verdict
        event, data = ask_http(server.url, "高血压人平时吃饭要注意什么？")
        assert not any(c["title"].startswith("管理员答复") for c in data[0]["citations"]), data[0]
        metrics = httpx.get(f"{server.url}/metrics").text
        assert "chatbot_index_rebuilds_total 1.0" in metrics


def test_a_flood_of_api_calls_has_its_own_pool_and_does_not_starve_the_chat(real_config, tmp_path):
    """The API answers in a pool of its own (1 at a time, 3 waiting here): a flood from many threads
    that keeps it full gets 429 beyond that, while a chat user's questions are answered meanwhile."""
    import threading
    import time

    env = {"CHATBOT_API_CONCURRENCY": "1", "CHATBOT_API_QUEUE_MAX": "3", "CHATBOT_API_PER_CLIENT": "100"}
    (tmp_path / "feedback").mkdir()  # an older version's 👍/👎 file: imported into the log at start
    (tmp_path / "feedback" / "feedback.jsonl").write_text(json.dumps(
        {"time": datetime.now(timezone.utc).isoformat(timespec="seconds"), "rating": "down", "question": "旧的问题",
         "answer": "旧的回答",
         "refused": False, "sources": []}, ensure_ascii=True) + "\n", encoding="utf-8")
    with App(tmp_path, real_config, "--api-key", KEY, env=env) as server:
        page = Browser(server.url, "chatfloodtest1")
        started = time.monotonic()
        page.ask(QUESTION)
        alone = time.monotonic() - started
        statuses, stop = [], threading.Event()

        def flood():
            with httpx.Client(timeout=120, trust_env=False) as c:
                while not stop.is_set():
                    r = c.post(f"{server.url}/v1/chat/completions", headers={"authorization": f"Bearer {KEY}"},
                               json={"messages": [{"role": "user", "content": "医保卡丢了怎么挂失补办？"}]})
                    statuses.append(r.status_code)
                    if r.status_code == 429:
                        assert r.headers.get("retry-after")
                        time.sleep(0.05)
        threads = [threading.Thread(target=flood) for _ in range(12)]
        for t in threads:
            t.start()
        try:
            time.sleep(1.0)
            during = []
            for n, q in enumerate(["衡水市医保电话是多少", "医保家庭共济怎么绑定家人？", "衡水市医保电话是多少"]):
                started = time.monotonic()
                msg = Browser(server.url, f"chatflood{n:05d}").ask(q)
                during.append(time.monotonic() - started)
                content = msg["output"]["data"][0][-1]["content"]
                html = "".join(p.get("text", "") for p in content) if isinstance(content, list) else str(content)
                assert "服务繁忙" not in html and "class='cite'" in html and "class='reply'" in html, html[:300]
        finally:
            stop.set()
            for t in threads:
                t.join(120)
        print(f"\nchat answer alone {alone:.2f} s, during an API flood {', '.join(f'{d:.2f}' for d in during)} s; "
              f"API: {statuses.count(200)} answered, {statuses.count(429)} refused (429)")
        assert statuses.count(200) >= 1 and statuses.count(429) >= 10
        assert set(statuses) <= {200, 429}
        rows = QuestionLog(tmp_path / "feedback").rows(limit=10_000)
        assert sum(r["channel"] == "openai" for r in rows) == statuses.count(200)
        assert [(r["question"], r["rating"]) for r in rows if r["channel"] == "import"] == [("旧的问题", "down")]


def test_no_log_keeps_nothing_and_the_chat_shows_no_feedback_buttons(real_config, tmp_path):
    with App(tmp_path, real_config, "--no-log") as server:
        assert "question log: off" in server.log
        ask_http(server.url, QUESTION)
        page = Browser(server.url, "nologsession1")
        page.ask(QUESTION)
        assert "未开启问答记录" in page.like(1)
        chat = [c for c in httpx.get(f"{server.url}/config").json()["components"]
                if c.get("props", {}).get("elem_id") == "chat"][0]
        assert not chat["props"].get("feedback_options"), chat["props"]
    assert not list((tmp_path / "feedback").glob("questions.sqlite3*"))  # (an absent folder globs to nothing)
    assert not (tmp_path / "feedback" / "feedback.jsonl").exists()
