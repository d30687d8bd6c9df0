"""Document files in the encodings people really save Chinese text in, and files that are not text.

Readable encodings must give exactly the text of the UTF-8 original; empty, binary and undecodable
files are skipped with their name and the reason, while the rest is indexed; `chatbot build`
exits 0 when at least one document was indexed and non-zero, with a clear message, when none was.
"""

from __future__ import annotations

import codecs
import gzip
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from chatbot.config import Config
from chatbot.documents import decode_bytes, load_folder, parse_text, read_file
from chatbot.errors import DocumentError, NoDocumentsError
from chatbot.index import build_index, load_index

from .conftest import DOCUMENTS, ROOT, FakeEmbedder

SAMPLE = "001_5ab9b382229bad86.txt"


def original() -> str:
    return (DOCUMENTS / SAMPLE).read_text(encoding="utf-8")


def encoded(text: str, encoding: str) -> bytes:
    """`text` as a file in `encoding`; "+bom" adds the byte-order mark editors write."""
    if encoding == "utf-16-le+bom":
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    if encoding == "utf-16-be+bom":
        return codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    return text.encode(encoding)


READABLE = ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "utf-16-le+bom", "utf-16-be+bom",
            "utf-16-le", "utf-16-be", "utf-32"]


@pytest.mark.parametrize("encoding", READABLE)
def test_real_documents_read_the_same_in_every_encoding(tmp_path, encoding):
    for source in sorted(DOCUMENTS.glob("*.txt")):
        text = source.read_text(encoding="utf-8")
        if encoding == "gbk":
            text = text.replace("•", "●")  # GBK has no U+2022 bullet
        path = tmp_path / source.name
        path.write_bytes(encoded(text, encoding))
        sf = read_file(path, source.name)
        expected = parse_text(text, source.name)
        assert [(d.title, d.text, d.date) for d in sf.documents] == [(d.title, d.text, d.date) for d in expected]
        assert len(sf.documents) == 21  # the main article and its twenty recommended items


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "utf-16-le+bom", "utf-16-be+bom", "utf-8-sig"])
@pytest.mark.parametrize("text", ["衡水医保电话：0318-12333", "  ● 现金缴费:直接去医保局窗口", "医保卡丢了怎么补办？\n去社保局。"])
def test_short_files_are_not_mistaken_for_another_language(encoding, text):
    """Detectors guess badly on a few characters (GBK was read as Korean or UTF-16)."""
    decoded, _ = decode_bytes(encoded(text, encoding))
    assert decoded.lstrip("\ufeff") == text


@pytest.mark.parametrize("lines", ["lines", "one-line"])
@pytest.mark.parametrize("prefix", ["", "a"])
def test_a_gb18030_file_larger_than_the_detection_sample_is_read(prefix, lines):
    """The encoding is detected on the first 4 MB; a character cut in half there must not make
    the whole file look undecodable (it did: a 36 MB GB18030 file was skipped). One of the two
    alignments puts the 4 MB boundary inside a two-byte character."""
    text = original() if lines == "lines" else original().replace("\n", "")
    body = prefix + (text + "\n") * (5 * 1024 * 1024 // len(text.encode("gb18030")) + 2)
    if lines == "one-line":
        body = body.replace("\n", "")
    raw = body.encode("gb18030")
    assert len(raw) > 4 * 1024 * 1024
    decoded, enc = decode_bytes(raw)
    assert enc == "gb18030"
    assert decoded == body


@pytest.mark.parametrize("prefix", ["", "a"])
def test_utf16_without_bom_larger_than_the_sample_is_read(prefix):
    text = prefix + (original() + "\n") * (5 * 1024 * 1024 // (2 * len(original())) + 2)
    for enc in ("utf-16-le", "utf-16-be"):
        decoded, got = decode_bytes(text.encode(enc))
        assert decoded == text, enc
        assert got.replace("_", "-") == enc


# ---- files that are not readable text ---------------------------------------------------------

def _random_bytes(n: int, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(n))


def _elf() -> bytes:
    return (b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + _random_bytes(4000, 3))


BAD_FILES = {
    "empty.txt": (b"", "empty file"),
    "blank.txt": (b"  \n\t\r\n   ", "empty file"),
    "bom-only.txt": (codecs.BOM_UTF8, "no text content"),
    "utf16-bom-only.txt": (codecs.BOM_UTF16_LE + " \n".encode("utf-16-le"), "no text content"),
    "boilerplate-only.txt": ("大家都在搜\n首页 顶部\n".encode("utf-8"), "no text content"),
    "random.txt": (_random_bytes(6000), "binary"),
    "gzip.txt": (gzip.compress(original().encode("utf-8"), mtime=0), "binary"),
    "elf.txt": (_elf(), "binary"),
    "nul.txt": ("医保".encode() + b"\x00" * 200 + "电话".encode(), "binary"),
    "broken-utf8.txt": (original().encode("utf-8")[:300] + b"\xff\xfe\xfa" + original().encode("utf-8")[300:], "undecodable"),
    "odd-utf16.txt": (codecs.BOM_UTF16_LE + "医保电话".encode("utf-16-le") + b"\x00", "invalid utf-16"),
    "slides.pdf": (b"%PDF-1.4\n" + _random_bytes(500, 5), "unsupported file type '.pdf'"),
    "notes": ("医保".encode(), "unsupported file type '(none)'"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_unreadable_files_are_skipped_with_a_reason(tmp_path, name):
    raw, reason = BAD_FILES[name]
    (tmp_path / name).write_bytes(raw)
    (tmp_path / "good.txt").write_text(original(), encoding="gb18030")
    files, skipped = load_folder(tmp_path)
    assert [f.source for f in files] == ["good.txt"]
    assert [s.source for s in skipped] == [name]
    assert reason in skipped[0].reason


def test_undecodable_reason_says_where(tmp_path):
    raw, _ = BAD_FILES["broken-utf8.txt"]
    with pytest.raises(DocumentError, match=r"not UTF-8: invalid byte at offset \d+"):
        decode_bytes(raw)


def _mixed_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = original()
    (folder / "utf8.txt").write_text(text, encoding="utf-8")
    (folder / "gbk.txt").write_bytes((DOCUMENTS / "000_91c1583d48168d56.txt").read_text(encoding="utf-8").encode("gbk"))
    (folder / "utf16.txt").write_bytes((DOCUMENTS / "002_b7034b3d178ca72c.txt").read_text(encoding="utf-8").encode("utf-16"))
    (folder / "bom.md").write_bytes(codecs.BOM_UTF8 + (DOCUMENTS / "003_2ae1594788d8c023.txt").read_bytes())
    for name in ("empty.txt", "random.txt", "broken-utf8.txt", "slides.pdf"):
        (folder / name).write_bytes(BAD_FILES[name][0])
    return folder


def test_build_indexes_the_rest_and_reports_every_skipped_file(tmp_path):
    docs = _mixed_folder(tmp_path / "docs")
    cfg = Config().with_overrides(documents_dir=docs, embeddings_dir=tmp_path / "emb", model=FakeEmbedder.model_name)
    report = build_index(cfg, FakeEmbedder())
    assert sorted(f.source for f in report.files) == ["bom.md", "gbk.txt", "utf16.txt", "utf8.txt"]
    summary = report.summary()
    for name in ("empty.txt", "random.txt", "broken-utf8.txt", "slides.pdf"):
        line = next(line for line in summary.splitlines() if name in line)
        assert line.strip().startswith(f"skipped {name}: ")
        assert len(line.split(": ", 1)[1]) > 5  # a reason, not just the name
    index = load_index(cfg.embeddings_dir, cfg.model)
    assert set(index.manifest["skipped"]) == {"empty.txt", "random.txt", "broken-utf8.txt", "slides.pdf"}
    assert index.manifest["files"]["gbk.txt"]["encoding"] == "gb18030"
    assert {p.source for p in index.passages} == {"bom.md", "gbk.txt", "utf16.txt", "utf8.txt"}
    # the GBK file's text was decoded correctly, not as mojibake
    assert any("0318-12333" in p.text and "衡水" in p.text for p in index.passages if p.source == "gbk.txt")


def test_build_with_nothing_readable_raises_a_clear_error(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "empty.txt").write_bytes(b"")
    (docs / "random.txt").write_bytes(_random_bytes(3000))
    cfg = Config().with_overrides(documents_dir=docs, embeddings_dir=tmp_path / "emb", model=FakeEmbedder.model_name)
    with pytest.raises(NoDocumentsError, match=r"no readable documents.*empty\.txt: empty file.*random\.txt: binary"):
        build_index(cfg, FakeEmbedder())
    assert not (tmp_path / "emb" / "current").exists()


# ---- `chatbot build` exit codes, in a subprocess ---------------------------------------------

# Runs the real `chatbot` command with the fake embedder in place of the model (no torch import,
# no model load), so that exit codes and messages are tested on the real CLI code path.
RUNNER = textwrap.dedent(f"""
    import sys, types
    sys.path.insert(0, {str(ROOT / "tests")!r})
    from conftest import FakeEmbedder

    class Embedder(FakeEmbedder):
        def __init__(self, model_name="fake-bigram-64", *args, **kwargs):
            super().__init__()
            self.model_name = model_name

    stub = types.ModuleType("chatbot.embedder")
    stub.Embedder = Embedder
    sys.modules["chatbot.embedder"] = stub
    from chatbot.cli import main
    sys.exit(main(sys.argv[1:]))
""")


def run_cli(tmp_path: Path, *args: str, real: bool = False, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONIOENCODING": "utf-8"}
    if real:
        cmd = [sys.executable, "-m", "chatbot.cli", *args]
    else:
        runner = tmp_path / "fake_cli.py"
        runner.write_text(RUNNER, encoding="utf-8")
        cmd = [sys.executable, str(runner), *args, "--model", FakeEmbedder.model_name]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)


def test_cli_build_exits_0_when_some_documents_were_indexed(tmp_path):
    docs = _mixed_folder(tmp_path / "docs")
    proc = run_cli(tmp_path, "build", "--quiet", "--documents", str(docs), "--embeddings", str(tmp_path / "emb"))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "Indexed 4 file(s)" in proc.stdout
    for name in ("empty.txt", "random.txt", "broken-utf8.txt", "slides.pdf"):
        assert f"skipped {name}: " in proc.stdout


def test_cli_build_fails_clearly_when_nothing_was_indexed(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("empty.txt", "random.txt", "slides.pdf"):
        (docs / name).write_bytes(BAD_FILES[name][0])
    proc = run_cli(tmp_path, "build", "--quiet", "--documents", str(docs), "--embeddings", str(tmp_path / "emb"))
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: no readable documents in")
    for name in ("empty.txt", "random.txt", "slides.pdf"):
        assert name in lines[0]


@pytest.mark.parametrize("case", ["missing", "empty"])
def test_cli_build_fails_clearly_without_a_documents_folder(tmp_path, case):
    docs = tmp_path / "docs"
    if case == "empty":
        docs.mkdir()
    proc = run_cli(tmp_path, "build", "--quiet", "--documents", str(docs), "--embeddings", str(tmp_path / "emb"))
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: no readable documents in") and "empty or missing" in proc.stderr


@pytest.mark.slow
def test_real_cli_build_exit_codes(tmp_path):
    """The installed command with the real model: a failed build names the problem; a build of one
    readable file among broken ones succeeds."""
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "empty.txt").write_bytes(b"")
    (docs / "random.txt").write_bytes(_random_bytes(3000))
    proc = run_cli(tmp_path, "build", "--quiet", "--documents", str(docs), "--embeddings", str(tmp_path / "emb"), real=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: no readable documents in")
    (docs / "good.txt").write_bytes((DOCUMENTS / SAMPLE).read_text(encoding="utf-8").encode("gb18030"))
    proc = run_cli(tmp_path, "build", "--quiet", "--documents", str(docs), "--embeddings", str(tmp_path / "emb"), real=True)
    assert proc.returncode == 0, proc.stderr
    assert "Indexed 1 file(s)" in proc.stdout and "skipped empty.txt: empty file" in proc.stdout
