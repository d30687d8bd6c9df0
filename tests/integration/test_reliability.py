"""Reliability and safety through real processes: hostile questions via the CLI and HTTP, killed and concurrent rebuilds, very long input."""

from __future__ import annotations

import httpx
import json
import os
import pytest
import random
import signal
import subprocess
import sys
import threading
import time
from chatbot.errors import IndexBusyError, IndexError_
from chatbot.service import QA
from chatbot.store.files.store import build_index, current_folder, load_index
from concurrent.futures import ThreadPoolExecutor
from filelock import FileLock, Timeout
from ..helpers import ROOT, FakeEmbedder
from ..helpers.servers import App, ask_http
from ..helpers.reliability import LONG_MIXED, HOSTILE, CLI_HOSTILE, check_answer, fake_cli, copy_index, _garble, DAMAGE, CLI_DAMAGE, damaged, one_line_naming_the_fix, _sentences, add_documents, answer_now, assert_index_serves, assert_clean, STAGES, LARGE_PROBE, _serve_cmd, _first_stderr_lines, _probe_paths, raw_get


def test_concurrent_answers_equal_sequential_ones(fake_index):
    """Many threads sharing one pipeline get exactly the answers one thread gets."""
    qa = QA(fake_index, embedder=FakeEmbedder())
    questions = [q for q in HOSTILE.values()] + [
        "衡水市医保电话是多少", "医保卡丢了怎么补办", "河北新生儿医保怎么交", "异地就医备案", "廊坊三河医保电话",
        "醫保個人賬戶家庭共濟", "What is the hotline of Hengshui medical insurance?", "灵活就业人员医保缴费标准",
    ]
    expected = [json.dumps(qa.ask(q).to_dict(), ensure_ascii=False, sort_keys=True) for q in questions]
    fresh = QA(fake_index, embedder=FakeEmbedder())  # nothing loaded yet: the first calls race to load
    work = questions * 8
    with ThreadPoolExecutor(max_workers=16) as pool:
        got = list(pool.map(lambda q: json.dumps(fresh.ask(q).to_dict(), ensure_ascii=False, sort_keys=True), work))
    assert got == expected * 8


@pytest.mark.slow
def test_concurrent_answers_with_the_real_model(real_qa):
    questions = ["衡水市医保电话是多少", "医保卡丢了怎么补办", HOSTILE["mixed_scripts"], HOSTILE["long_cjk"],
                 "What is the hotline of Hengshui medical insurance?", "北京市朝阳区医保电话"]
    expected = [real_qa.ask(q).to_dict() for q in questions]
    with ThreadPoolExecutor(max_workers=12) as pool:
        got = list(pool.map(lambda q: real_qa.ask(q).to_dict(), questions * 6))
    assert got == expected * 6


@pytest.mark.slow
def test_real_cli_with_a_50000_character_question(real_config, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "chatbot.cli", "ask", "--json", "--documents",
                           str(real_config.documents_dir), "--embeddings", str(real_config.embeddings_dir), LONG_MIXED],
                          capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONIOENCODING": "utf-8"})
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    check_answer("long", json.loads(proc.stdout), real_config.max_query_chars)


@pytest.mark.parametrize("name", sorted(DAMAGE))
def test_damaged_index_gives_one_line_naming_the_fix(fake_index, tmp_path, name):
    cfg = damaged(fake_index, tmp_path, name)
    with pytest.raises(IndexError_) as info:
        load_index(cfg.embeddings_dir, cfg.model)
    one_line_naming_the_fix(str(info.value))
    answer = QA(cfg, embedder=FakeEmbedder()).safe_ask("衡水市医保电话是多少")
    assert answer.refused and answer.reason == "error"
    assert "chatbot build" in answer.text and "Traceback" not in answer.text


def test_rebuilding_fixes_a_damaged_index(fake_index, tmp_path):
    cfg = damaged(fake_index, tmp_path, "faiss_garbled_vectors")
    build_index(cfg, FakeEmbedder())
    assert not QA(cfg, embedder=FakeEmbedder()).ask("衡水市医保电话是多少").refused


def test_damaged_stored_vectors_are_not_reused(fake_index, tmp_path):
    """vectors.npy is only read by the next build, to skip re-embedding unchanged files: damaged
    vectors must be re-embedded, not copied into the new index."""
    cfg = copy_index(fake_index, tmp_path)
    _garble(current_folder(cfg.embeddings_dir) / "vectors.npy")
    report = build_index(cfg, FakeEmbedder())
    assert report.embedded == report.passages and not any(f.reused for f in report.files)
    # and an intact index is reused as before
    again = build_index(cfg, FakeEmbedder())
    assert again.embedded == 0 and all(f.reused for f in again.files)


def test_damaged_saved_keyword_tokens_are_not_reused(fake_index, tmp_path):
    """The next build reuses the saved BM25 tokens of unchanged files; damaged ones must be
    re-tokenised (not crash the build, not leak into the new index)."""
    from chatbot.store.keyword import TOKENS_FILE
    from chatbot.textnorm import keyword_tokens

    cfg = copy_index(fake_index, tmp_path)
    _garble(current_folder(cfg.embeddings_dir) / "bm25" / TOKENS_FILE, at=0.3, n=4096)
    build_index(cfg, FakeEmbedder())
    rebuilt = load_index(cfg.embeddings_dir, cfg.model)
    fresh_cfg = cfg.with_overrides(embeddings_dir=tmp_path / "fresh")
    build_index(fresh_cfg, FakeEmbedder())
    fresh = load_index(fresh_cfg.embeddings_dir, cfg.model)
    for q in ("衡水市医保电话是多少", "医保卡丢了怎么补办", "新生儿参保", "异地就医备案", "个人账户家庭共济"):
        tokens = keyword_tokens(q)
        a, b = rebuilt.keyword.search(tokens, 10), fresh.keyword.search(tokens, 10)
        assert a[0].tolist() == b[0].tolist() and a[1].tolist() == pytest.approx(b[1].tolist())


@pytest.mark.slow
def test_real_cli_on_a_damaged_index(real_config, tmp_path):
    cfg = copy_index(real_config, tmp_path)
    _garble(current_folder(cfg.embeddings_dir) / "dense.faiss")
    proc = subprocess.run([sys.executable, "-m", "chatbot.cli", "ask", "--embeddings", str(cfg.embeddings_dir),
                           "衡水市医保电话是多少"], capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONIOENCODING": "utf-8"})
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: index file dense.faiss in ") and "chatbot build" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_sigkill_at_every_stage_of_a_rebuild_leaves_an_answering_index(rebuild_setup, tmp_path):
    cfg, before, baseline = rebuild_setup
    add_documents(cfg.documents_dir, files=2, kb=150)  # > 256 new passages: several embedding batches
    args = ("build", "--quiet", "--documents", str(cfg.documents_dir), "--embeddings", str(cfg.embeddings_dir))
    for stage in STAGES:
        proc = fake_cli(tmp_path, *args, env={"DIE_AT": stage})
        assert proc.returncode == -signal.SIGKILL, (stage, proc.returncode, proc.stderr[-2000:])
        assert_index_serves(cfg, before, baseline)
        if stage != "cleanup":
            assert current_folder(cfg.embeddings_dir) == before, stage
        else:  # killed after the switch: the new index is complete and live
            assert current_folder(cfg.embeddings_dir) != before
            before, baseline = current_folder(cfg.embeddings_dir), answer_now(cfg)
    # a build run to the end succeeds and removes every leftover of the killed ones
    proc = fake_cli(tmp_path, *args)
    assert proc.returncode == 0, proc.stderr
    assert_clean(cfg)
    assert {"extra_0_0.txt", "extra_0_1.txt"} <= set(load_index(cfg.embeddings_dir, cfg.model).manifest["files"])


@pytest.mark.slow
def test_sigkill_at_random_moments_leaves_the_previous_index_answering(rebuild_setup, tmp_path):
    cfg, before, baseline = rebuild_setup
    add_documents(cfg.documents_dir, files=4, kb=120, seed=1)
    args = ("build", "--quiet", "--documents", str(cfg.documents_dir), "--embeddings", str(cfg.embeddings_dir))
    env = {"FAKE_EMBED_DELAY": "0.3"}
    # how long an uninterrupted build takes (on a copy), to spread the kills over all of it
    probe = copy_index(cfg, tmp_path / "probe").with_overrides(documents_dir=cfg.documents_dir)
    started = time.monotonic()
    proc = fake_cli(tmp_path, "build", "--quiet", "--documents", str(cfg.documents_dir),
                    "--embeddings", str(probe.embeddings_dir), env=env)
    duration = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr
    rng = random.Random(7)
    killed = 0
    fractions = sorted([0.15, 0.3, 0.5, 0.7, 0.85, 0.6 + 0.35 * rng.random()])
    for fraction in fractions:
        proc = fake_cli(tmp_path, *args, env=env, popen=True)
        try:
            proc.wait(timeout=fraction * duration)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
            killed += 1
        proc.wait(60)
        assert_index_serves(cfg, before, baseline)
        if current_folder(cfg.embeddings_dir) != before:  # that build finished before the kill
            before, baseline = current_folder(cfg.embeddings_dir), answer_now(cfg)
    assert killed >= 3  # (a kill that comes after the build finished is fine, but most must land)
    assert fake_cli(tmp_path, *args).returncode == 0
    assert_clean(cfg)


@pytest.mark.slow
def test_two_rebuilds_at_once_both_finish_and_readers_never_fail(rebuild_setup, tmp_path):
    cfg, before, baseline = rebuild_setup
    add_documents(cfg.documents_dir, files=2, kb=150, seed=2)
    args = ("build", "--quiet", "--documents", str(cfg.documents_dir), "--embeddings", str(cfg.embeddings_dir))
    problems: list[str] = []
    loads = 0
    stop = threading.Event()

    def reader():
        nonlocal loads
        while not stop.is_set():
            try:
                index = load_index(cfg.embeddings_dir, cfg.model)
                if not len(index.passages) == index.dense.ntotal == index.keyword.n:
                    problems.append(f"inconsistent {index.folder}")
                loads += 1
            except Exception as exc:  # noqa: BLE001 - any failure is what this test looks for
                problems.append(repr(exc))

    thread = threading.Thread(target=reader, daemon=True)
    thread.start()
    env = {"FAKE_EMBED_DELAY": "0.5"}
    first = fake_cli(tmp_path, *args, env=env, popen=True)
    lock_path = str(cfg.embeddings_dir / ".build.lock")
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and first.poll() is None:  # wait until the first build holds the lock
        probe = FileLock(lock_path)
        try:
            probe.acquire(timeout=0)
            probe.release()
            time.sleep(0.05)
        except Timeout:
            break
    second = fake_cli(tmp_path, *args, env=env, popen=True)
    out1, err1 = first.communicate(timeout=600)
    out2, err2 = second.communicate(timeout=600)
    stop.set()
    thread.join(60)
    assert first.returncode == 0 and second.returncode == 0, (err1, err2)
    assert "Traceback" not in err1 + err2
    assert "another build holds" in err2  # the second waited for the first's lock
    assert problems == [] and loads > 0
    assert_clean(cfg)
    index = load_index(cfg.embeddings_dir, cfg.model)
    assert {"extra_2_0.txt", "extra_2_1.txt"} <= set(index.manifest["files"])
    assert answer_now(cfg)["answer"].strip()


def test_a_build_that_cannot_get_the_lock_says_so(fake_index, tmp_path):
    cfg = copy_index(fake_index, tmp_path)
    with FileLock(str(cfg.embeddings_dir / ".build.lock")):
        with pytest.raises(IndexBusyError, match="another build is still running"):
            build_index(cfg, FakeEmbedder(), lock_timeout=0.5)
    build_index(cfg, FakeEmbedder(), lock_timeout=0.5)  # the lock was released: builds again


@pytest.mark.slow
@pytest.mark.parametrize("encoding", ["utf-8", "gb18030"])
def test_a_50_mb_file_is_chunked_within_bounded_memory(tmp_path, encoding):
    docs = tmp_path / "docs"
    docs.mkdir()
    rng = random.Random(3)
    sentences = _sentences()
    target = 50 * 1024 * 1024
    with open(docs / "big.txt", "w", encoding=encoding) as fh:
        size = 0
        while size < target:
            para = "".join(rng.choice(sentences) for _ in range(rng.randint(3, 12))) + "\n"
            fh.write(para)
            size += len(para.encode(encoding))
    assert (docs / "big.txt").stat().st_size >= target
    probe = tmp_path / "probe.py"
    probe.write_text(LARGE_PROBE, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(probe), str(docs)], capture_output=True, text=True, timeout=900,
                          cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout)
    assert r["files"] == ["big.txt"] and r["skipped"] == [] and r["encodings"] == [encoding]
    assert r["longest"] <= 360
    assert r["passages"] > r["text_chars"] / 360  # all of it was chunked, not a prefix
    assert r["passage_chars"] >= r["text_chars"] * 0.95
    assert r["peak_rss_mb"] < 2048, r


@pytest.mark.slow  # importing Gradio alone takes seconds
@pytest.mark.parametrize("flags", [["--host", "0.0.0.0"], ["--share"]])
def test_public_serving_without_auth_prints_a_warning(fake_index, tmp_path, flags):
    out = _first_stderr_lines(_serve_cmd(fake_index, "--port", "9", *flags), tmp_path, "warning:")
    assert "warning: the chat is reachable by others" in out and "without --auth" in out


@pytest.mark.slow
def test_auth_suppresses_the_warning_and_guards_the_api(real_config, tmp_path):
    app = App(tmp_path, real_config, "--auth", "reader:s3cret-pass", host="0.0.0.0").wait_ready()
    try:
        assert "without --auth" not in app.log
        r = httpx.post(f"{app.url}/gradio_api/call/ask", json={"data": ["医保"]}, timeout=30, trust_env=False)
        assert r.status_code in (401, 403)
    finally:
        app.stop()


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_question_through_the_web_api(app, real_config, name):
    event, data = ask_http(app.url, HOSTILE[name])
    assert event == "complete", data
    check_answer(name, data[0], real_config.max_query_chars)


@pytest.mark.slow
@pytest.mark.parametrize("payload", [None, 12345, ["医保", "电话"], {"q": "医保"}, True])
def test_malformed_api_payloads_get_an_answer_or_a_clean_error(app, payload):
    event, data = ask_http(app.url, payload)
    if event == "complete":
        assert isinstance(data[0], dict) and data[0]["answer"].strip()
    assert "Traceback" not in json.dumps(data)


@pytest.mark.slow
def test_files_outside_documents_cannot_be_read_through_the_app(app, real_config):
    targets = _probe_paths(real_config)
    rel_emb = os.path.relpath(current_folder(real_config.embeddings_dir) / "manifest.json", app.cwd)
    urls = []
    for path in targets:
        urls += [f"/gradio_api/file={path}", f"/file={path}", f"/gradio_api/file={path.replace('/', '%2F')}",
                 f"/gradio_api/file=..{'/..' * 8}{path}", f"/static/..{'/..' * 8}{path}",
                 f"/assets/..{'/..' * 8}{path}", f"/gradio_api/file={path.replace('/', '%252F')}"]
    urls += [f"/gradio_api/file={rel_emb}", "/gradio_api/file=app.py", "/gradio_api/file=../app.py",
             f"/gradio_api/file={real_config.documents_dir}/../embeddings/current/manifest.json"]
    leaks = []
    for url in urls:
        status, body = raw_get(app.port, url)
        if status == 200 and any(marker in body for marker in targets.values()):
            leaks.append(url)
    assert leaks == []


@pytest.mark.slow
def test_config_and_api_description_reveal_no_server_paths(app, real_config):
    with httpx.Client(trust_env=False, timeout=30) as client:
        for url in ("/config", "/gradio_api/info"):
            body = client.get(app.url + url).text
            for secret in (str(real_config.embeddings_dir), str(real_config.documents_dir), str(ROOT)):
                assert secret not in body, (url, secret)


@pytest.mark.slow
def test_the_app_writes_nothing_but_feedback_and_its_log(app):
    """After all the hostile questions, the app's working folder holds only its own log, the
    question log (issue 20) and no feedback rows (only a 👍/👎 click writes one)."""
    names = sorted(p.name for p in app.cwd.iterdir())
    assert set(names) <= {app.log_path.name, "feedback", "uploads"}, names  # uploads: the App helper's upload folder
    kept = sorted(p.name for p in (app.cwd / "feedback").iterdir()) if (app.cwd / "feedback").exists() else []
    assert all(n.startswith("questions.sqlite3") for n in kept), kept  # the question log, WAL files included
    assert not any(p.is_file() for p in (app.cwd / "uploads").rglob("*"))  # nobody could upload
    assert "Traceback" not in app.log


@pytest.mark.parametrize("name", CLI_HOSTILE)
def test_hostile_question_through_the_cli(tmp_path, fake_index, name):
    proc = fake_cli(tmp_path, "ask", "--json", "--embeddings", str(fake_index.embeddings_dir), "--", HOSTILE[name])
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    check_answer(name, json.loads(proc.stdout), fake_index.max_query_chars)


def test_cli_plain_text_shows_the_cut_notice(tmp_path, fake_index):
    proc = fake_cli(tmp_path, "ask", "--embeddings", str(fake_index.embeddings_dir), LONG_MIXED)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr
    assert f"只使用了前 {fake_index.max_query_chars} 个字" in proc.stdout


@pytest.mark.parametrize("name", CLI_DAMAGE)
def test_damaged_index_through_the_cli(fake_index, tmp_path, name):
    cfg = damaged(fake_index, tmp_path, name)
    proc = fake_cli(tmp_path, "ask", "--json", "--embeddings", str(cfg.embeddings_dir), "衡水市医保电话是多少")
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    one_line_naming_the_fix(lines[0])
    assert proc.stdout == ""


def test_build_if_missing_rebuilds_an_index_of_another_version(fake_index, tmp_path):
    """`make run` runs `chatbot build --if-missing`: an index written by another text
    normalisation (an earlier release) is rebuilt, not served against today's questions."""
    cfg = copy_index(fake_index, tmp_path)
    folder = current_folder(cfg.embeddings_dir)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["chunking"]["text"] = "jieba-0/textnorm-older"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    args = ("build", "--if-missing", "--quiet", "--documents", str(cfg.documents_dir), "--embeddings", str(cfg.embeddings_dir))
    proc = fake_cli(tmp_path, *args)
    assert proc.returncode == 0, proc.stderr
    assert "text normalisation" in proc.stdout and "rebuilding" in proc.stdout
    assert load_index(cfg.embeddings_dir, cfg.model).manifest["files"]
    again = fake_cli(tmp_path, *args)
    assert again.returncode == 0 and "nothing to do" in again.stdout
