"""Issue 21: answering a question loads no torch and no sentence-transformers (they cost ~4.6 s of
a cold start); builds still use them. Whole processes, real model; no timing is asserted."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from ..helpers import DOCUMENTS

HEAVY = ("torch", "sentence_transformers", "transformers", "sklearn")

# Runs the real CLI, then prints which heavy packages the process imported.
PROBE = """
import json, sys
from chatbot.cli import main
code = main(sys.argv[1:])
sys.stdout.flush()
print("\\nLOADED " + json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in %r and '.' not in m)))
sys.exit(code)
""" % (HEAVY,)


def probe(*args):
    out = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr[-2000:]
    body, _, loaded = out.stdout.rpartition("\nLOADED ")
    return body, json.loads(loaded)


@pytest.fixture(scope="module")
def small_index(tmp_path_factory):
    base = tmp_path_factory.mktemp("startup")
    docs = base / "documents"
    docs.mkdir()
    for name in sorted(p.name for p in DOCUMENTS.iterdir() if p.is_file())[:2]:
        shutil.copy(DOCUMENTS / name, docs / name)
    emb = base / "embeddings"
    _, loaded = probe("build", "--documents", str(docs), "--embeddings", str(emb), "--quiet")
    assert "sentence_transformers" in loaded  # builds go through sentence-transformers
    return docs, emb


def test_ask_json_imports_no_torch(small_index):
    docs, emb = small_index
    body, loaded = probe("ask", "衡水市医保电话是多少", "--json", "--documents", str(docs), "--embeddings", str(emb))
    answer = json.loads(body)
    assert answer["answer"] and "citations" in answer
    assert loaded == [], f"the query path imported {loaded}"


def test_importing_the_answer_path_imports_nothing_heavy():
    code = ("import sys; import chatbot.cli, chatbot.service, chatbot.embedder, chatbot.retrieval.retriever, "
            "chatbot.store; from chatbot.cli import parser; parser(); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in %r))" % (HEAVY,))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"


def test_bench_cold_prints_both_figures_and_their_ratio(small_index, capsys):
    from chatbot.cli import main

    docs, emb = small_index
    assert main(["bench", "--cold", "--cold-runs", "1", "--no-make-run", "--json",
                 "--documents", str(docs), "--embeddings", str(emb)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["cold_bare_model_s"] > 0 and result["cold_ask_s"] > 0 and result["cold_runs"] == 1
    assert result["cold_ask_over_bare"] == pytest.approx(result["cold_ask_s"] / result["cold_bare_model_s"], rel=0.01)
    assert result["targets"][0]["target"].startswith("cold start")
    from chatbot.bench.cold import as_text

    assert "ask ÷ bare" in as_text(result)
