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

from chatbot.ui import handler as chat
from chatbot.config import Config
from chatbot.errors import IndexBusyError, IndexError_
from chatbot.store.files.store import build_index, current_folder, load_index
from chatbot.service import QA

from . import DOCUMENTS, ROOT, FakeEmbedder
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

from .cli import RUNNER  # noqa: E402,F401



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



@pytest.fixture
def fake_chat(fake_index):
    """The chat handler wired to a fake-embedder pipeline; the process-wide one is restored after."""
    saved = chat._qa
    qa = chat.configure(qa=QA(fake_index, embedder=FakeEmbedder()))
    yield qa
    chat._qa = saved


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


LARGE_PROBE = textwrap.dedent("""
    import json, resource, sys
    from pathlib import Path
    from chatbot.ingest.chunking import chunk_documents
    from chatbot.ingest.documents import load_folder

    def peak_rss_mb():
        # VmHWM belongs to this program's own address space; ru_maxrss would also count the pages
        # of the (large) pytest process this one was forked from, which Linux keeps across exec.
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    files, skipped = load_folder(Path(sys.argv[1]))
    passages = chunk_documents([d for f in files for d in f.documents], 360, 80)
    text_chars = sum(len(d.text) for f in files for d in f.documents)
    print(json.dumps({
        "files": [f.source for f in files], "encodings": [f.encoding for f in files],
        "skipped": [s.reason for s in skipped], "passages": len(passages), "text_chars": text_chars,
        "passage_chars": sum(len(p.text) for p in passages), "longest": max(len(p.text) for p in passages),
        "peak_rss_mb": peak_rss_mb(),
    }))
""")


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


@pytest.fixture(scope="module")
def app(real_config, tmp_path_factory):
    """The real web app on a free loopback port, run from an empty folder."""
    cwd = tmp_path_factory.mktemp("app_cwd")
    running = App(cwd, real_config).wait_ready()
    running.cwd = cwd
    yield running
    running.stop()


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


def raw_get(port: int, path: str) -> tuple[int, str]:
    """GET a path exactly as written (no client-side clean-up of ../ or %2F)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read().decode("utf-8", "replace")
    finally:
        conn.close()
