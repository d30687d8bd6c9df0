"""Real documents end to end: a Chromium-printed Chinese PDF (fidelity, pages, running headers
gone), and one answer from each format with the real model, citing page or section."""

from __future__ import annotations

import difflib
import json
import re
import shutil
import subprocess
import sys
import unicodedata
from collections import Counter

import pytest

from chatbot.config import Config
from chatbot.ingest.readers import read_bytes
from chatbot.textnorm import normalize
from tests.helpers import DOCUMENTS, ROOT
from tests.helpers.documents import (DOCX_FACT, PAGE2_FACT, POLICY_HTML, make_docx, policy_in_portal_skin,
                                     print_pdf)

pytestmark = pytest.mark.skipif(not shutil.which("chromium") and not __import__("os").path.exists("/usr/bin/chromium"),
                                reason="needs Debian's chromium (make browsers)")


@pytest.fixture(scope="module")
def printed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("pdf")
    path, text = print_pdf(POLICY_HTML, tmp / "policy.pdf", tmp)
    return path.read_bytes(), text


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", normalize(unicodedata.normalize("NFKC", text)))


def test_pdf_text_fidelity_pages_and_furniture(printed):
    raw, source_text = printed
    parsed = read_bytes(raw, "policy.pdf")
    docs = parsed.documents
    assert parsed.pages == 2 and {d.page for d in docs} == {1, 2}
    out = "\n".join([docs[0].title] + [f"{d.section}\n{d.text}" for d in docs])
    src, got = _squash(source_text), _squash(out)
    matched = sum(b.size for b in difflib.SequenceMatcher(None, src, got, autojunk=False).get_matching_blocks())
    have = Counter(got)
    recovered = sum(min(n, have[ch]) for ch, n in Counter(src).items())
    assert recovered / len(src) >= 0.99, recovered / len(src)   # characters recovered
    assert matched / len(src) >= 0.98, matched / len(src)       # in order (table rows are relabelled)
    assert not any(0x2E80 <= ord(ch) <= 0x2FDF for ch in out)    # no radical code points left
    assert "居民" in out and "一级" in out and "报销比例" in out
    assert "某市医疗保障局政策文件" not in got and "共2页" not in got  # running header / footer dropped
    assert "医院等级：一级；起付标准：200元；报销比例：85%。" in out
    assert [d.page for d in docs if PAGE2_FACT in d.text] == [2]
    assert {d.section for d in docs} == {"第一部分 参保缴费", "第二部分 住院待遇", "第三部分 门诊待遇", "第四部分 经办服务"}
    # wrapped lines were joined: each paragraph of the source is one line
    assert any(line.startswith("城乡居民基本医疗保险实行") and line.endswith("享受医保待遇。")
               for d in docs for line in d.text.splitlines())


@pytest.fixture(scope="module")
def formats_index(tmp_path_factory, printed):
    from chatbot.store.files.store import build_index

    base = tmp_path_factory.mktemp("formats")
    docs = base / "documents"
    shutil.copytree(DOCUMENTS, docs)
    (docs / "policy.pdf").write_bytes(printed[0])
    make_docx(docs / "guide.docx")
    (docs / "qingshi.html").write_bytes(policy_in_portal_skin("gb2312").replace("某市".encode("gb18030"), "青石市".encode("gb18030"))
                                        .replace(PAGE2_FACT.encode(), b"0311-55501234"))
    (docs / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<")
    (docs / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    cfg = Config().with_overrides(documents_dir=docs, embeddings_dir=base / "embeddings", feedback_dir=base / "fb")
    report = build_index(cfg)
    assert {s.source for s in report.skipped} == {"broken.pdf", "old.doc"}
    return cfg


def _cli(cfg, *args):
    cmd = [sys.executable, "-m", "chatbot.cli", *args, "--documents", str(cfg.documents_dir),
           "--embeddings", str(cfg.embeddings_dir)]
    out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**__import__("os").environ, "HF_HUB_OFFLINE": "1", "PYTHONIOENCODING": "utf-8"})
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


@pytest.mark.parametrize("question, source, fact, page, section", [
    ("某市医保服务热线工作时间", "policy.pdf", PAGE2_FACT, 2, "第四部分 经办服务"),
    ("职工异地就医备案咨询电话是多少", "guide.docx", DOCX_FACT, None, "第二部分 住院待遇 / (一)异地就医"),
    ("青石市医保服务热线是多少", "qingshi.html", "0311-55501234", None, "第四部分 经办服务"),
])
def test_answer_from_each_format_cites_page_or_section(formats_qa, question, source, fact, page, section):
    data = json.loads(json.dumps(formats_qa.ask(question).to_dict(), ensure_ascii=False))  # the `ask --json` shape
    assert not data["refused"] and fact in data["answer"]
    first = data["citations"][0]
    assert (first["source"], first["page"], first["section"]) == (source, page, section)
    assert all("page" in c and "section" in c for c in data["citations"])


@pytest.fixture(scope="module")
def formats_qa(formats_index):
    from chatbot.service import QA

    return QA(formats_index)


def test_ask_json_cites_the_pdf_page(formats_index):
    data = _cli(formats_index, "ask", "某市医保服务热线工作时间", "--json")
    assert PAGE2_FACT in data["answer"]
    assert (data["citations"][0]["source"], data["citations"][0]["page"]) == ("policy.pdf", 2)


def test_docs_lists_every_format_and_the_skipped(formats_index):
    rows = {d["name"]: d for d in _cli(formats_index, "docs", "--json")["documents"]}
    assert rows["policy.pdf"]["pages"] == 2 and rows["policy.pdf"]["status"] == "indexed"
    assert rows["guide.docx"]["type"] == "docx" and rows["qingshi.html"]["passages"] >= 4
    assert "broken PDF" in rows["broken.pdf"]["reason"] and "save it as .docx" in rows["old.doc"]["reason"]
