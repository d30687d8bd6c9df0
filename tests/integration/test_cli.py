"""The `chatbot` command as a user runs it (subprocesses, real model)."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..helpers import DOCUMENTS, SHARED_EVAL

CLI = [sys.executable, "-m", "chatbot.cli"]


def run(*args, env=None):
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "HF_HUB_OFFLINE": "1", **(env or {})})


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli")
    docs = base / "documents"
    shutil.copytree(DOCUMENTS, docs)
    (docs / "broken.txt").write_bytes(bytes(range(256)) * 50)
    emb = base / "embeddings"
    result = run("build", "--documents", str(docs), "--embeddings", str(emb), "--quiet")
    return docs, emb, result


def test_build_summarises_indexed_and_skipped(built):
    _, emb, result = built
    assert result.returncode == 0, result.stderr
    assert "Indexed 5 file(s)" in result.stdout
    assert "skipped broken.txt: binary" in result.stdout
    assert (emb / "current" / "manifest.json").exists()


def test_ask_json_gives_the_answer_and_citations(built):
    docs, emb, _ = built
    result = run("ask", "衡水市医保电话是多少", "--json", "--documents", str(docs), "--embeddings", str(emb))
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert set(out) >= {"answer", "refused", "citations"}
    assert out["refused"] is False and "0318-12333" in out["answer"] and "[1]" in out["answer"]
    first = out["citations"][0]
    assert set(first) >= {"n", "source", "title", "date", "text", "score"}
    assert first["n"] == 1 and first["source"] == "000_91c1583d48168d56.txt"


def test_ask_plain_text_shows_sources(built):
    docs, emb, _ = built
    result = run("ask", "衡水市医保电话是多少", "--documents", str(docs), "--embeddings", str(emb))
    assert "来源" in result.stdout and "[1] 衡水市医保电话 · 000_91c1583d48168d56.txt · 2025-04-18" in result.stdout


def test_ask_without_index_says_to_build(tmp_path):
    result = run("ask", "医保", "--embeddings", str(tmp_path / "none"))
    assert result.returncode != 0
    assert "chatbot build" in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_ask_with_another_model_says_to_rebuild(built):
    docs, emb, _ = built
    result = run("ask", "医保", "--embeddings", str(emb), "--model", "some/other-model")
    assert result.returncode != 0 and "chatbot build" in result.stderr and "Traceback" not in result.stderr


def test_build_with_nothing_readable_fails_clearly(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "empty.txt").write_bytes(b"")
    result = run("build", "--documents", str(docs), "--embeddings", str(tmp_path / "emb"), "--quiet")
    assert result.returncode != 0 and "no readable documents" in result.stderr and "empty.txt" in result.stderr


def test_eval_json_prints_all_metrics(built):
    docs, emb, _ = built
    result = run("eval", str(SHARED_EVAL), "--json", "--details", "--documents", str(docs), "--embeddings", str(emb))
    assert result.returncode == 0, result.stderr
    m = json.loads(result.stdout)
    keys = {"n", "recall@1", "recall@3", "recall@5", "mrr", "answer_hit", "refusal_recall", "false_refusal",
            "answer_chars_median", "fact_in_first_60"}
    assert keys <= set(m) and m["n"] == 64
    assert set(m["by_type"]) >= {"paraphrase", "english", "unanswerable"}
    assert keys <= set(m["by_type"]["english"])
    assert isinstance(m["misses"], list)
    for row in m["misses"]:
        assert {"query", "top", "gold", "problems"} <= set(row)


def test_eval_answers_writes_what_the_product_said(built, tmp_path):
    docs, emb, _ = built
    out = tmp_path / "answers.jsonl"
    conversations = SHARED_EVAL.parent / "conversations.jsonl"
    result = run("eval", str(conversations), "--answers", str(out), "--documents", str(docs), "--embeddings", str(emb))
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    asked = [json.loads(line) for line in conversations.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert [r["id"] for r in rows] == [a["id"] for a in asked]
    for row, item in zip(rows, asked):
        assert set(row) == {"id", "query", "history", "understood_as", "answer", "refused", "citations"}
        assert row["query"] == item["query"] and row["history"] == item["history"]
        assert row["refused"] or row["citations"] and "[1]" in row["answer"]
    assert any(r["understood_as"] for r in rows)  # follow-ups say how they were understood
