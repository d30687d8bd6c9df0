"""The documents library behind 资料库 and `chatbot docs`: safe names, checked uploads, deletion,
the inventory, and a background rebuild that the running QA picks up without a restart."""

from __future__ import annotations

import threading

import pytest

from chatbot.errors import DocumentError
from chatbot import library
from chatbot.service import QA
from chatbot.store import open_store
from tests.helpers.documents import blank_pdf, encrypt_pdf, make_docx, policy_in_portal_skin


@pytest.mark.parametrize("raw, safe", [
    ("../../x.pdf", "x.pdf"), ("..\\..\\win.docx", "win.docx"), ("/etc/passwd.txt", "passwd.txt"),
    ("医保 政策.PDF", "医保 政策.pdf"), ("a\x00b<>.html", "ab__.html"), (" .hidden.txt", "hidden.txt"),
    # NFKC and invisible characters dropped (issue 22): full-width traversal, zero-width, bidi
    ("．．／．．／evil6.txt", "evil6.txt"), ("0\u200b00_91c1583d48168d56.txt", "000_91c1583d48168d56.txt"),
    ("evil\u202egnp.txt", "evilgnp.txt"), ("ＡＢＣ.TXT", "ABC.txt"),
])
def test_safe_name(raw, safe):
    assert library.safe_name(raw) == safe


@pytest.mark.parametrize("raw", ["..", "/", "", "...", "../"])
def test_unusable_names_are_refused(raw):
    with pytest.raises(DocumentError):
        library.safe_name(raw)


def test_uploads_are_checked_before_they_are_kept(tmp_path):
    folder = tmp_path / "documents"
    docx = make_docx(tmp_path / "guide.docx").read_bytes()
    batch = [
        ("../../guide.docx", docx),                     # saved as guide.docx, not outside the folder
        ("guide.docx", docx),                           # same name again: refused, not overwritten
        ("zip.docx", b"PK\x03\x04garbage"),             # a zip renamed .docx
        ("locked.pdf", encrypt_pdf(blank_pdf())),       # password-protected
        ("broken.pdf", b"%PDF-1.4\n1 0 obj <<"),        # corrupted
        ("scripts.html", b"<html><body>" + b"<script>x=1</script>" * 50 + b"</body></html>"),
        ("tool.exe", b"MZ\x90\x00"),
        ("big.txt", "居民医保\n".encode() * 50000),         # over the (test) size limit below
        ("page.html", policy_in_portal_skin("utf-8")),
    ]
    results = [library.save_upload(folder, name, data, max_bytes=200_000) for name, data in batch]
    saved = [r.name for r in results if r.saved]
    assert saved == ["guide.docx", "page.html"]
    reasons = {name: r.message for (name, _), r in zip(batch, results) if not r.saved}
    assert "already exists" in reasons["guide.docx"]
    assert "not a valid .docx" in reasons["zip.docx"] and "encrypted" in reasons["locked.pdf"]
    assert "broken PDF" in reasons["broken.pdf"] and "no text content" in reasons["scripts.html"]
    assert "unsupported" in reasons["tool.exe"]
    assert sorted(p.name for p in folder.iterdir()) == ["guide.docx", "page.html"]
    assert (folder / "guide.docx").read_bytes() == docx
    assert not (tmp_path / "guide.docx.1").exists() and not list(folder.glob(".upload-*"))


def test_size_limit_is_checked_without_reading_the_file(tmp_path):
    big = tmp_path / "big.pdf"
    with open(big, "wb") as fh:  # 200 MB, sparse: never read
        fh.truncate(200 * 1024 * 1024)
    res = library.save_upload(tmp_path / "documents", "big.pdf", big)
    assert not res.saved and "too large" in res.message and "50 MB" in res.message


def test_delete_refuses_anything_outside_the_folder(tmp_path):
    folder = tmp_path / "documents"
    folder.mkdir()
    (tmp_path / "secret.txt").write_text("x", encoding="utf-8")
    (folder / "a.txt").write_text("居民医保\n每年缴费。", encoding="utf-8")
    for bad in ("../secret.txt", "/etc/passwd", "missing.txt", ""):
        with pytest.raises(DocumentError):
            library.delete_file(folder, bad)
    assert (tmp_path / "secret.txt").exists()
    library.delete_file(folder, "a.txt")
    assert not (folder / "a.txt").exists()


def test_inventory_and_background_rebuild_swap_the_index(fake_config, fake_embedder):
    docs = fake_config.documents_dir
    open_store(fake_config).build(fake_embedder)
    qa = QA(fake_config, embedder=fake_embedder)
    before = qa.ask("某市职工异地就医备案咨询电话是多少")
    assert not any(c.passage.source == "guide.docx" for c in before.citations)

    make_docx(docs / "guide.docx")
    (docs / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64)
    rows = {e.name: e for e in library.inventory(fake_config)}
    assert rows["guide.docx"].status.startswith("not indexed yet")
    assert rows["000_91c1583d48168d56.txt"].status == "indexed" and rows["000_91c1583d48168d56.txt"].passages

    rebuild = library.Rebuilder(fake_config, qa)
    seen = []
    stop = threading.Event()

    def chat():  # a conversation in progress keeps being answered during the rebuild
        while not stop.is_set():
            seen.append(qa.ask("衡水市医保电话是多少").refused)

    talker = threading.Thread(target=chat)
    talker.start()
    assert rebuild.start()
    state = rebuild.wait(60)
    stop.set()
    talker.join()
    assert state.error is None and state.fraction == 1.0 and not state.running
    assert state.summary.startswith("已索引 6 个文件") and "old.doc（" in state.summary
    assert str(fake_config.embeddings_dir) not in state.summary  # no server path in the tab
    assert seen and not any(seen)
    after = qa.ask("某市职工异地就医备案咨询电话是多少")
    assert any(c.passage.source == "guide.docx" for c in after.citations)
    rows = {e.name: e for e in library.inventory(fake_config)}
    assert rows["guide.docx"].status == "indexed" and rows["guide.docx"].type == "docx"
    assert rows["old.doc"].status == "skipped" and "save it as .docx" in rows["old.doc"].reason


def test_docs_command_lists_indexed_and_skipped(fake_config, fake_embedder, capsys):
    import json

    from chatbot.cli import main

    (fake_config.documents_dir / "locked.pdf").write_bytes(encrypt_pdf(blank_pdf()))
    open_store(fake_config).build(fake_embedder)
    flags = ["--documents", str(fake_config.documents_dir), "--embeddings", str(fake_config.embeddings_dir),
             "--model", fake_config.model]
    assert main(["docs", "--json", *flags]) == 0
    rows = {d["name"]: d for d in json.loads(capsys.readouterr().out)["documents"]}
    assert len(rows) == 6 and rows["locked.pdf"]["status"] == "skipped" and "encrypted" in rows["locked.pdf"]["reason"]
    seed = rows["000_91c1583d48168d56.txt"]
    assert seed["status"] == "indexed" and seed["type"] == "txt" and seed["passages"] > 0 and seed["size"] > 0
    assert seed["indexed_at"]
    assert main(["docs", *flags]) == 0
    out = capsys.readouterr().out
    assert "locked.pdf" in out and "encrypted" in out and "5 indexed, 1 skipped" in out


def test_a_look_alike_name_is_refused_and_odd_delete_names_get_a_clear_reason(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "abc.txt").write_text("医保", encoding="utf-8")
    res = library.save_upload(folder, "ＡＢＣ\u200b.txt", "河北医保新规定。".encode() * 20)
    assert not res.saved and "already exists" in res.message and "abc.txt" in res.message
    for name, why in (("x" * 5000, "5000 characters"), ("a\u202eb.txt", "invisible"), ("", "no document name")):
        with pytest.raises(DocumentError, match=why):
            library.delete_file(folder, name)
