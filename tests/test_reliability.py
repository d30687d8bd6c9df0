"""Reliability and safety: hostile questions, damaged indexes, killed and concurrent rebuilds, very
large files, concurrent answering, and what the running app exposes.

The real `chatbot` command runs in subprocesses with the fake embedder standing in for the model
(see RUNNER), so that exit codes, stderr and kills are tested on the real code path in seconds;
a few slow tests repeat the essentials with the real model and the real web app.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from filelock import FileLock, Timeout

from chatbot import chat
from chatbot.config import Config
from chatbot.errors import IndexBusyError, IndexError_
from chatbot.index import build_index, current_folder, load_index
from chatbot.service import QA

from .conftest import DOCUMENTS, ROOT, FakeEmbedder
from .servers import App, ask_http

MAX_ARG = 131072  # Linux limit on one command-line argument, in bytes

LONG_MIXED = ("衡水市医保电话是多少 hotline? " * 3000)[:50_000]   # 50 000 characters, fits in argv
LONG_CJK = ("医保报销" * 12_500)                                   # 50 000 characters, 150 000 bytes

HOSTILE = {
    "empty": "",
    "blank": " \t\n\u3000  \r\n",
    "long": LONG_MIXED,
    "long_cjk": LONG_CJK,
    "emoji": "😀🎉🙏🏻👨‍👩‍👧‍👦🇨🇳",
    "punctuation": "？？？！！！……。。。,,,;;;~~~@#$%^&*()",
    "control": "\x01\x02医保卡\x07丢了\x1b[31m怎么办\x7f\u200b\u202e",
    "nul": "医保\x00电话\x00是多少",
    "html": "<script>alert('x')</script><img src=x onerror=alert(1)>医保电话",
    "sql": "1' OR '1'='1'; DROP TABLE passages; -- 医保报销",
    "mixed_scripts": "医保 insurance 의료보험 страховка 保険 تأمين صحي",
    "format_string": "{0}{__class__}%s%n%x ${jndi:ldap://x} 医保",
}
SHOULD_REFUSE = {"empty", "blank", "emoji", "punctuation"}
# Linux cannot pass a NUL byte or an argument over 128 KiB on a command line at all.
CLI_HOSTILE = sorted(k for k, q in HOSTILE.items() if "\x00" not in q and len(q.encode()) < MAX_ARG)


def check_answer(name: str, d: dict, max_chars: int) -> None:
    """The answer shape every channel must give for a hostile question."""
    assert isinstance(d, dict) and isinstance(d.get("answer"), str) and d["answer"].strip(), d
    assert isinstance(d["refused"], bool)
    assert "Traceback" not in d["answer"]
    assert d.get("reason") != "error", d["answer"]  # refused because of the question, not a failure
    if name in SHOULD_REFUSE:
        assert d["refused"], d["answer"]
    if len(HOSTILE[name]) > max_chars:
        assert d.get("notice") and str(max_chars) in d["notice"], d.get("notice")
    else:
        assert not d.get("notice")


# ---- running the CLI with the fake embedder --------------------------------------------------

RUNNER = textwrap.dedent(f"""
    import os, signal, sys, time, types
    sys.path.insert(0, {str(ROOT / "tests")!r})
    from conftest import FakeEmbedder

    DELAY = float(os.environ.get("FAKE_EMBED_DELAY") or 0)
    DIE_AT = os.environ.get("DIE_AT", "")

    def die():
        os.kill(os.getpid(), signal.SIGKILL)

    class Embedder(FakeEmbedder):
        def __init__(self, model_name="fake-bigram-64", *args, **kwargs):
            super().__init__()
            self.model_name = model_name

        def encode(self, texts, show_progress=False):
            if DIE_AT == "embedding" and self.calls >= 1:
                die()
            if DELAY:
                time.sleep(DELAY)
            return super().encode(texts)

    stub = types.ModuleType("chatbot.embedder")
    stub.Embedder = Embedder
    sys.modules["chatbot.embedder"] = stub

    if DIE_AT:
        import numpy as np
        import chatbot.index as ix

        def kill_before(owner, name, stage):
            original = getattr(owner, name)

            def wrapper(*args, **kwargs):
                if DIE_AT == stage:
                    die()
                return original(*args, **kwargs)
            setattr(owner, name, wrapper)

        kill_before(ix, "load_folder", "reading")         # lock taken, nothing read
        kill_before(np, "save", "vectors")                 # passages.jsonl written, nothing else
        kill_before(ix.DenseIndex, "save", "dense")        # vectors written
        kill_before(ix.KeywordIndex, "save", "bm25")       # FAISS written
        kill_before(ix, "_fsync_tree", "fsync")            # everything written, nothing synced
        kill_before(ix.os, "rename", "rename")             # complete folder, still named .tmp-
        kill_before(ix.os, "symlink", "symlink")           # v- folder in place, no link yet
        kill_before(ix.os, "replace", "swap")              # new link made, not yet switched
        kill_before(ix, "_clean_old", "cleanup")           # switched; old folders not yet removed

    from chatbot.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def fake_cli(tmp_path: Path, *args: str, env: dict | None = None, timeout: float = 300,
             popen: bool = False):
    runner = tmp_path / "fake_cli.py"
    if not runner.exists():
        runner.write_text(RUNNER, encoding="utf-8")
    command, *rest = args
    cmd = [sys.executable, str(runner), command, "--model", FakeEmbedder.model_name, *rest]
    full_env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONIOENCODING": "utf-8", **(env or {})}
    if popen:
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=full_env, cwd=ROOT)
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=full_env, cwd=ROOT)


@pytest.fixture(scope="module")
def fake_index(tmp_path_factory) -> Config:
    """The shipped corpus indexed once with the fake embedder (copy it before damaging it)."""
    base = tmp_path_factory.mktemp("fake_index")
    docs = base / "documents"
    shutil.copytree(DOCUMENTS, docs)
    cfg = Config().with_overrides(documents_dir=docs, embeddings_dir=base / "embeddings",
                                  model=FakeEmbedder.model_name, feedback_dir=base / "feedback")
    build_index(cfg, FakeEmbedder())
    return cfg


def copy_index(cfg: Config, target: Path) -> Config:
    shutil.copytree(cfg.embeddings_dir, target / "embeddings", symlinks=True)
    return cfg.with_overrides(embeddings_dir=target / "embeddings")


# ---- hostile questions -----------------------------------------------------------------------

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


@pytest.fixture
def fake_chat(fake_index):
    """The chat handler wired to a fake-embedder pipeline; the process-wide one is restored after."""
    saved = chat._qa
    qa = chat.configure(qa=QA(fake_index, embedder=FakeEmbedder()))
    yield qa
    chat._qa = saved


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_question_through_the_chat_handler(fake_chat, fake_index, name):
    question = HOSTILE[name]
    result = chat.answer(question)
    check_answer(name, result.to_dict(), fake_index.max_query_chars)
    for html in (chat.respond(question, []), [m for m, _ in chat.respond_stream(question, [], delay=0)][-1]):
        assert isinstance(html, str) and html.strip()
        assert "Traceback" not in html
        # whatever the question held, no markup from it reaches the page
        assert "<script" not in html and "<img" not in html and "onerror=alert(1)>" not in html
        if len(question) > fake_index.max_query_chars:
            assert "只使用了前" in html


def test_non_string_questions_do_not_crash_the_pipeline(fake_chat):
    for question in (None, 123, ["医保"], {"q": "医保"}, b"\xff\xfe"):
        result = chat.answer(question)  # the JSON API passes whatever the client sent
        assert result.text.strip() and result.reason != "error", (question, result)


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


# ---- damaged indexes -------------------------------------------------------------------------

def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)


def _truncate(path: Path, keep: float = 0.5) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def _garble(path: Path, at: float = 0.6, n: int = 48) -> None:
    """Overwrite bytes in the middle of a file (its size stays the same)."""
    data = bytearray(path.read_bytes())
    i = int(len(data) * at)
    data[i:i + n] = bytes((b ^ 0x5A) for b in data[i:i + n])
    path.write_bytes(bytes(data))


def _manifest(key: str, value):
    def damage(folder: Path, emb: Path) -> None:
        m = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
        m[key] = value
        (folder / "manifest.json").write_text(json.dumps(m), encoding="utf-8")
    return damage


DAMAGE = {
    "no_current_link": lambda f, e: (e / "current").unlink(),
    "current_points_nowhere": lambda f, e: shutil.rmtree(f),
    "current_is_a_file": lambda f, e: ((e / "current").unlink(), (e / "current").write_text("v-1")),
    "manifest_missing": lambda f, e: (f / "manifest.json").unlink(),
    "manifest_truncated": lambda f, e: _truncate(f / "manifest.json"),
    "manifest_garbled": lambda f, e: _write(f / "manifest.json", b"\xff\xfe{garbage"),
    "manifest_not_an_object": lambda f, e: _write(f / "manifest.json", b"[1, 2, 3]"),
    "manifest_count_wrong": _manifest("chunk_count", 7),
    "passages_truncated": lambda f, e: _truncate(f / "passages.jsonl"),
    "passages_garbled": lambda f, e: _garble(f / "passages.jsonl"),
    "passages_empty": lambda f, e: _write(f / "passages.jsonl", b""),
    "faiss_truncated": lambda f, e: _truncate(f / "dense.faiss"),
    "faiss_garbled_vectors": lambda f, e: _garble(f / "dense.faiss"),
    "faiss_missing": lambda f, e: (f / "dense.faiss").unlink(),
    "bm25_folder_missing": lambda f, e: shutil.rmtree(f / "bm25"),
    "bm25_file_truncated": lambda f, e: [_truncate(p) for p in sorted((f / "bm25").glob("*.npy"))[:1]],
    "bm25_scores_garbled": lambda f, e: [_garble(p) for p in sorted((f / "bm25").glob("data*.npy"))],
    "bm25_vocab_garbled": lambda f, e: [_garble(p, 0.5, 8) for p in sorted((f / "bm25").glob("vocab*"))],
    "model_swapped": _manifest("model", "some-other-model"),
    "format_version_bumped": _manifest("format_version", 99),
    "dimension_changed": _manifest("dimension", 768),
}
CLI_DAMAGE = ["no_current_link", "current_points_nowhere", "manifest_truncated", "passages_garbled",
              "faiss_garbled_vectors", "bm25_folder_missing", "model_swapped", "format_version_bumped"]


def damaged(fake_index: Config, tmp_path: Path, name: str) -> Config:
    cfg = copy_index(fake_index, tmp_path)
    DAMAGE[name](current_folder(cfg.embeddings_dir), cfg.embeddings_dir)
    return cfg


def one_line_naming_the_fix(message: str) -> None:
    assert "\n" not in message.strip(), message
    assert "chatbot build" in message, message


@pytest.mark.parametrize("name", sorted(DAMAGE))
def test_damaged_index_gives_one_line_naming_the_fix(fake_index, tmp_path, name):
    cfg = damaged(fake_index, tmp_path, name)
    with pytest.raises(IndexError_) as info:
        load_index(cfg.embeddings_dir, cfg.model)
    one_line_naming_the_fix(str(info.value))
    answer = QA(cfg, embedder=FakeEmbedder()).safe_ask("衡水市医保电话是多少")
    assert answer.refused and answer.reason == "error"
    assert "chatbot build" in answer.text and "Traceback" not in answer.text


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
    from chatbot.keyword import TOKENS_FILE
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


# ---- killed and concurrent rebuilds ----------------------------------------------------------

QUESTION = "衡水市医保电话是多少"


def _sentences() -> list[str]:
    out = []
    for f in sorted(DOCUMENTS.glob("*.txt")):
        out += [s.strip() for s in re.split(r"(?<=[。！？])", f.read_text(encoding="utf-8")) if len(s.strip()) > 6]
    return out


def add_documents(folder: Path, files: int, kb: int, seed: int = 0) -> None:
    """New plain-text files recombined from corpus sentences (new content, so a build must embed them)."""
    rng = random.Random(seed)
    sentences = _sentences()
    for n in range(files):
        lines, size = [f"补充资料{seed}-{n}"], 0
        while size < kb * 1024:
            para = "".join(rng.choice(sentences) for _ in range(rng.randint(3, 8)))
            lines.append(para)
            size += len(para.encode())
        (folder / f"extra_{seed}_{n}.txt").write_text("\n".join(lines), encoding="utf-8")


def answer_now(cfg: Config) -> dict:
    return QA(cfg, embedder=FakeEmbedder()).ask(QUESTION).to_dict()


def assert_index_serves(cfg: Config, before: Path, baseline: dict) -> None:
    """After a kill: the index loads, is consistent, and is either the previous one (answering
    exactly as before) or the complete new one."""
    index = load_index(cfg.embeddings_dir, cfg.model)
    assert len(index.passages) == index.dense.ntotal == index.keyword.n == index.manifest["chunk_count"]
    if index.folder == before:
        assert answer_now(cfg) == baseline
    else:
        assert any(name.startswith("extra_") for name in index.manifest["files"])
        assert answer_now(cfg)["answer"].strip()


def assert_clean(cfg: Config) -> None:
    names = sorted(p.name for p in cfg.embeddings_dir.iterdir())
    versions = [n for n in names if n.startswith("v-")]
    assert len(versions) == 1, names
    assert not [n for n in names if n.startswith((".tmp-", ".current-"))], names
    assert current_folder(cfg.embeddings_dir).name == versions[0]


@pytest.fixture
def rebuild_setup(fake_index, tmp_path):
    docs = tmp_path / "documents"
    shutil.copytree(fake_index.documents_dir, docs)
    cfg = copy_index(fake_index, tmp_path).with_overrides(documents_dir=docs)
    return cfg, current_folder(cfg.embeddings_dir), answer_now(cfg)


STAGES = ["reading", "embedding", "vectors", "dense", "bm25", "fsync", "rename", "symlink", "swap", "cleanup"]


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


# ---- a 50 MB document ------------------------------------------------------------------------

LARGE_PROBE = textwrap.dedent("""
    import json, resource, sys
    from pathlib import Path
    from chatbot.chunking import chunk_documents
    from chatbot.documents import load_folder

    files, skipped = load_folder(Path(sys.argv[1]))
    passages = chunk_documents([d for f in files for d in f.documents], 360, 80)
    text_chars = sum(len(d.text) for f in files for d in f.documents)
    print(json.dumps({
        "files": [f.source for f in files], "encodings": [f.encoding for f in files],
        "skipped": [s.reason for s in skipped], "passages": len(passages), "text_chars": text_chars,
        "passage_chars": sum(len(p.text) for p in passages), "longest": max(len(p.text) for p in passages),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))
""")


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


# ---- exposure --------------------------------------------------------------------------------

def _serve_cmd(config: Config, *extra: str) -> list[str]:
    return [sys.executable, str(ROOT / "app.py"), "--documents", str(config.documents_dir),
            "--embeddings", str(config.embeddings_dir), *extra]


def _first_stderr_lines(cmd: list[str], cwd: Path, wait_for: str, seconds: float = 120) -> str:
    """Start the app, collect its output until `wait_for` appears, then stop it (never letting it
    finish starting up on a public address)."""
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONIOENCODING": "utf-8"})
    seen = []
    deadline = time.monotonic() + seconds
    try:
        for line in proc.stdout:
            seen.append(line)
            if wait_for in line or time.monotonic() > deadline:
                break
    finally:
        proc.kill()
        proc.wait(30)
    return "".join(seen)


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


@pytest.fixture(scope="module")
def app(real_config, tmp_path_factory):
    """The real web app on a free loopback port, run from an empty folder."""
    cwd = tmp_path_factory.mktemp("app_cwd")
    running = App(cwd, real_config).wait_ready()
    running.cwd = cwd
    yield running
    running.stop()


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


def _probe_paths(config: Config) -> dict[str, str]:
    """Files outside documents/ an attacker would like to read, with text that proves a leak."""
    folder = current_folder(config.embeddings_dir)
    return {
        "/etc/passwd": "root:",
        str(folder / "manifest.json"): '"format_version"',
        str(folder / "passages.jsonl"): '"chunk_id"',
        str(ROOT / "app.py"): "from chatbot.cli import main",
        str(ROOT / "chatbot" / "config.py"): "class Config",
        "/proc/self/environ": "PATH=",
    }


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


def raw_get(port: int, path: str) -> tuple[int, str]:
    """GET a path exactly as written (no client-side clean-up of ../ or %2F)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


@pytest.mark.slow
def test_config_and_api_description_reveal_no_server_paths(app, real_config):
    with httpx.Client(trust_env=False, timeout=30) as client:
        for url in ("/config", "/gradio_api/info"):
            body = client.get(app.url + url).text
            for secret in (str(real_config.embeddings_dir), str(real_config.documents_dir), str(ROOT)):
                assert secret not in body, (url, secret)


@pytest.mark.slow
def test_the_app_writes_nothing_but_feedback_and_its_log(app):
    """After all the hostile questions, the app's working folder holds only its own log, and the
    API wrote no feedback (only a 👍/👎 click does)."""
    names = sorted(p.name for p in app.cwd.iterdir())
    assert set(names) <= {app.log_path.name, "feedback"}, names
    assert not (app.cwd / "feedback").exists() or not any((app.cwd / "feedback").iterdir())
    assert "Traceback" not in app.log


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_feedback_rows_hold_only_the_question_and_the_answer(fake_chat, tmp_path, name):
    log = chat.FeedbackLog(tmp_path / "feedback")
    result = chat.answer(HOSTILE[name])
    log.record("down", result)
    line = log.path.read_text(encoding="utf-8")
    assert line.count("\n") == 1  # one row: control characters or newlines in a question cannot split it
    row = json.loads(line)
    # (session: Gradio's random per-page id, message: which answer was rated, to match a withdrawal)
    assert set(row) <= {"time", "rating", "question", "answer", "refused", "reason", "notice", "sources", "related",
                        "session", "message"}
    assert row.get("session") is None and row.get("message") is None  # none given here
    assert row["question"] == result.question and row["answer"] == result.text and row["rating"] == "down"
    assert row["question"] in QA(Config()).prepare(HOSTILE[name])[0] or row["question"] == HOSTILE[name][:200]
    for source in row["sources"] + row["related"]:
        assert set(source) <= {"n", "chunk_id", "source", "title", "date", "score", "quotes", "text"}
    # nothing about the machine or the person: no paths, host names, addresses or environment
    secrets = [str(tmp_path), str(ROOT), os.environ.get("HOME", "/root"), "127.0.0.1"]
    if len(os.uname().nodename) >= 6:
        secrets.append(os.uname().nodename)
    for secret in secrets:
        assert secret not in line
