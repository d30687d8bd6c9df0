"""Document files in many encodings through the real CLI (subprocess) and the real model."""

from __future__ import annotations

import pytest
from chatbot.config import Config
from chatbot.errors import NoDocumentsError
from chatbot.store.files.store import build_index, load_index
from ..helpers import DOCUMENTS, FakeEmbedder
from ..helpers.encodings import SAMPLE, _random_bytes, BAD_FILES, _mixed_folder, run_cli


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


