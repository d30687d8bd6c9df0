"""Reading limits (issue 22, finding 2) in the library and the build: the reader process reads as
the readers do, refused files are reported like other bad files and remembered by their SHA-256
so the next build skips them unread, and the limits come from the config. (The bombs themselves,
timed and measured, are in tests/integration/test_document_bombs.py.)"""

from __future__ import annotations

import dataclasses
import io
import os
import zipfile

import pytest

from chatbot import library
from chatbot.errors import DocumentError
from chatbot.ingest import sandbox
from chatbot.ingest.documents import load_folder
from chatbot.ingest.limits import LimitError, Limits
from chatbot.ingest.readers import read_bytes
from chatbot.ingest.refusals import FILE_NAME, Refusals
from chatbot.store import open_store
from tests.helpers.bombs import flate_bomb_pdf, nested_html
from tests.helpers.documents import make_docx, policy_in_portal_skin


@pytest.fixture
def reads(monkeypatch):
    """The names of the files the reader process is asked to read."""
    seen: list[str] = []
    real = sandbox.Sandbox.read

    def spy(self, raw, source):
        seen.append(source)
        return real(self, raw, source)

    monkeypatch.setattr(sandbox.Sandbox, "read", spy)
    return seen


def test_reader_process_reads_exactly_as_the_reader(tmp_path):
    files = {"guide.docx": make_docx(tmp_path / "guide.docx").read_bytes(),
             "page.html": policy_in_portal_skin("gb2312"), "deep.html": nested_html(2_500)}
    with sandbox.Sandbox() as box:
        for name, raw in files.items():
            assert box.read(raw, name) == read_bytes(raw, name), name
        assert box.pid and box.pid != os.getpid()
        with pytest.raises(DocumentError, match="not a valid .docx") as err:
            box.read(b"PK\x03\x04garbage", "zip.docx")
        assert not isinstance(err.value, LimitError)


def test_bombs_in_the_folder_are_skipped_then_remembered(tmp_path, reads):
    folder = tmp_path / "documents"
    folder.mkdir()
    (folder / "a.txt").write_text("居民医保\n居民医保每年缴费一次。", encoding="utf-8")
    make_docx(folder / "guide.docx")
    (folder / "bomb.pdf").write_bytes(flate_bomb_pdf(100))
    (folder / "deep.html").write_bytes(nested_html(10_000))
    limits = Limits.from_config()
    refusals = Refusals(tmp_path / FILE_NAME, limits)

    files, skipped = load_folder(folder, limits, refusals)
    assert sorted(f.source for f in files) == ["a.txt", "guide.docx"]
    reasons = {s.source: s.reason for s in skipped}
    assert "64 MB (the limit per part or stream" in reasons["bomb.pdf"]
    assert "4,096 level limit" in reasons["deep.html"]
    assert sorted(reads) == ["bomb.pdf", "deep.html", "guide.docx"]

    reads.clear()
    files, skipped = load_folder(folder, limits, refusals)   # the next build: the bombs are not read again
    assert sorted(f.source for f in files) == ["a.txt", "guide.docx"] and reads == ["guide.docx"]
    again = {s.source: s.reason for s in skipped}
    assert again == {k: f"{v} (refused before; not read again)" for k, v in reasons.items()}

    deeper = dataclasses.replace(limits, depth=20_000)   # other limits: every file is judged afresh
    files, skipped = load_folder(folder, deeper, Refusals(tmp_path / FILE_NAME, deeper))
    assert "deep.html" in {f.source for f in files} and [s.source for s in skipped] == ["bomb.pdf"]


def test_build_skips_a_bomb_with_its_reason_and_indexes_the_rest(fake_config, fake_embedder, reads):
    docs = fake_config.documents_dir
    (docs / "bomb.pdf").write_bytes(flate_bomb_pdf(100))
    report = open_store(fake_config).build(fake_embedder)
    assert len(report.files) == 5 and [s.source for s in report.skipped] == ["bomb.pdf"]
    assert "64 MB" in report.skipped[0].reason
    assert "跳过：bomb.pdf（one part unpacks to over 64 MB" in library.summary_for_web(report)
    rows = {e.name: e for e in library.inventory(fake_config)}
    assert rows["bomb.pdf"].status == "skipped" and "64 MB" in rows["bomb.pdf"].reason
    assert (fake_config.embeddings_dir / FILE_NAME).exists()

    reads.clear()
    report = open_store(fake_config).build(fake_embedder)
    assert reads == [] and "not read again" in report.skipped[0].reason and len(report.files) == 5


def test_upload_of_a_bomb_is_refused_and_remembered(tmp_path, reads):
    folder = tmp_path / "documents"
    refusals = Refusals(tmp_path / FILE_NAME, Limits.from_config())
    first = library.save_upload(folder, "deep.html", nested_html(10_000), refusals=refusals)
    second = library.save_upload(folder, "again.html", nested_html(10_000), refusals=refusals)
    assert not first.saved and "4,096 level limit" in first.message
    assert not second.saved and "not read again" in second.message and reads == ["deep.html"]
    assert not folder.exists() or not list(folder.iterdir())


def test_limits_come_from_the_config(monkeypatch):
    monkeypatch.setenv("CHATBOT_DOC_DEPTH", "100")
    monkeypatch.setenv("CHATBOT_DOC_PAGES", "2")
    limits = Limits.from_config()
    assert limits.depth == 100 and limits.pages == 2
    assert read_bytes(nested_html(90), "ok.html").documents
    with pytest.raises(LimitError, match="over the 100 level limit"):
        read_bytes(nested_html(150), "deep.html")

    import pypdf

    writer = pypdf.PdfWriter()
    for _ in range(3):
        writer.add_blank_page(595, 842)
    buf = io.BytesIO()
    writer.write(buf)
    with pytest.raises(LimitError, match="over the 2 page limit"):
        read_bytes(buf.getvalue(), "long.pdf")


def test_damaged_word_entry_is_reported_as_broken(tmp_path):
    raw = make_docx(tmp_path / "guide.docx").read_bytes()
    with zipfile.ZipFile(io.BytesIO(raw)) as zf:
        crc = zf.getinfo("word/document.xml").CRC
    bad = _with_central_crc(raw, "word/document.xml", crc ^ 0xFFFFFFFF)
    with pytest.raises(DocumentError, match=r"broken Word document \(damaged zip entry word/document.xml\)"):
        read_bytes(bad, "guide.docx")


def _with_central_crc(raw: bytes, name: str, crc: int) -> bytes:
    """The zip with `name`'s checksum in the central directory replaced."""
    import struct

    out = bytearray(raw)
    pos = out.find(b"PK\x01\x02")
    while pos >= 0:
        n = struct.unpack("<H", out[pos + 28:pos + 30])[0]
        if out[pos + 46:pos + 46 + n] == name.encode():
            out[pos + 16:pos + 20] = struct.pack("<L", crc)
            return bytes(out)
        pos = out.find(b"PK\x01\x02", pos + 4)
    raise AssertionError(name)
