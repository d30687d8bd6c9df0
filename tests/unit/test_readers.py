"""Readers: Word and HTML built in tmp_path, PDF failure modes (fast; printed PDFs are in
tests/integration/test_readers_pdf.py)."""

from __future__ import annotations

import io
import zipfile

import pytest

from chatbot.errors import DocumentError
from chatbot.ingest.documents import load_folder, parse_text
from chatbot.ingest.readers import check_supported, read_bytes
from chatbot.ingest.readers._radicals import unradical
from chatbot.ingest.readers._text import join_lines, table_rows
from tests.helpers import DOCUMENTS
from tests.helpers.documents import (DOCX_FACT, blank_pdf, encrypt_pdf, make_docx, policy_in_portal_skin,
                                     portal_html)

SCRIPT = "SCRIPT_TEXT_MUST_NOT_BE_INDEXED"


def test_radicals_are_mapped_back_to_ideographs():
    # CJK Radicals Supplement (no NFKC mapping) and Kangxi Radicals, as Chromium's PDFs carry them
    assert unradical("居⺠⼀级医院报销⽐例第1⻚⻔诊⼀⼾") == "居民一级医院报销比例第1页门诊一户"
    assert unradical("普通文本 ABC 123") == "普通文本 ABC 123"


def test_wrapped_lines_are_joined():
    assert join_lines("报销⽐例为", "60%") == "报销⽐例为60%"
    assert join_lines("the reim-", "bursement rate") == "the reimbursement rate"
    assert join_lines("call the", "hotline") == "call the hotline"
    assert join_lines("0318-", "12333") == "0318-12333"  # a hyphen between digits is kept


def test_table_rows_read_as_labelled_cells():
    rows = [["医院等级", "起付标准", "报销比例"], ["一级", "200元", "85%"], ["二级", None, "75%"]]
    assert table_rows(rows) == ["医院等级：一级；起付标准：200元；报销比例：85%。", "医院等级：二级；报销比例：75%。"]


# ---- Word -----------------------------------------------------------------------------------


def test_docx_headings_become_sections_and_tables_rows(tmp_path):
    parsed = read_bytes(make_docx(tmp_path / "guide.docx").read_bytes(), "guide.docx")
    docs = parsed.documents
    assert parsed.encoding == "docx" and parsed.pages is None
    assert {d.title for d in docs} == {"某市职工基本医疗保险办事指南"}
    assert [d.section for d in docs] == ["第一部分 参保登记", "第二部分 住院待遇", "第二部分 住院待遇 / (一)异地就医"]
    assert "医院等级：一级；起付标准：200元；报销比例：85%。" in docs[1].text.splitlines()
    assert DOCX_FACT in docs[2].text and all(d.page is None for d in docs)


@pytest.mark.parametrize("raw, reason", [
    (b"PK\x03\x04 this is not really a zip", "not a valid .docx"),
    (b"%PDF-1.4 renamed", "not a valid .docx"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "save it as .docx"),
])
def test_bad_docx_is_reported(raw, reason):
    with pytest.raises(DocumentError, match=reason):
        read_bytes(raw, "x.docx")


def test_zip_renamed_docx_is_reported():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("photos/a.txt", "not a word file")
    with pytest.raises(DocumentError, match="without word/document.xml"):
        read_bytes(buf.getvalue(), "photos.docx")


def test_old_doc_is_unsupported_with_a_hint():
    with pytest.raises(DocumentError, match="save it as .docx"):
        check_supported("old.doc")


# ---- HTML -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(DOCUMENTS.glob("*.txt")), ids=lambda p: p.name[:3])
def test_portal_page_in_html_reads_like_the_text_page(path):
    txt = path.read_text(encoding="utf-8")
    got = read_bytes(portal_html(txt).encode("utf-8"), "page.html").documents
    want = parse_text(txt, "page.html")
    squash = lambda d: (d.title, " ".join(d.text.split()), d.date, d.position, d.kind)  # noqa: E731
    assert [squash(d) for d in got] == [squash(d) for d in want]
    assert len(got) == 21 and all(SCRIPT not in d.text for d in got)


def test_html_main_content_without_furniture_in_declared_gbk():
    parsed = read_bytes(policy_in_portal_skin("gb2312"), "policy.html")
    text = "\n".join(d.text + (d.section or "") for d in parsed.documents)
    assert parsed.encoding == "gb18030"
    assert {d.title for d in parsed.documents} == {"某市城乡居民基本医疗保险待遇政策"}
    assert [d.section for d in parsed.documents] == ["第一部分 参保缴费", "第二部分 住院待遇", "第三部分 门诊待遇", "第四部分 经办服务"]
    assert "医院等级：一级；起付标准：200元；报销比例：85%。" in text
    for junk in (SCRIPT, "网站首页", "当前位置", "机构概况", "热点专题", "分享到", "ICP备", "主办单位"):
        assert junk not in text, junk


def test_html_encoding_detected_when_undeclared(tmp_path):
    raw = policy_in_portal_skin("gb2312").replace(b'<meta http-equiv="Content-Type" content="text/html; charset=gb2312">', b"")
    parsed = read_bytes(raw, "policy.htm")
    assert parsed.encoding.lower().replace("_", "") in ("gb18030", "gbk", "gb2312")
    assert "起付标准" in parsed.documents[1].text


def test_html_title_falls_back_to_title_tag():
    raw = "<html><head><title>居民医保问答 - 某网站</title></head><body><p>居民医保每年缴费一次。</p></body></html>".encode()
    (doc,) = read_bytes(raw, "a.html").documents
    assert doc.title == "居民医保问答" and doc.text == "居民医保每年缴费一次。"


def test_html_of_scripts_only_is_reported():
    raw = ("<html><head><title>x</title></head><body>" + "<script>var t='医保报销比例百分之九十九';</script>" * 300
           + "<noscript>请开启脚本</noscript><div id=app></div></body></html>").encode()
    with pytest.raises(DocumentError, match="no text content"):
        read_bytes(raw, "app.html")


# ---- PDF failure modes --------------------------------------------------------------------


@pytest.mark.parametrize("raw, reason", [
    (b"", "empty file"),
    (b"hello", "not a PDF"),
    (b"%PDF-1.4\n" + bytes(range(256)) * 40, "broken PDF"),
    (blank_pdf()[:200], "broken PDF"),
    (blank_pdf(), "no text layer"),
    (encrypt_pdf(blank_pdf()), "encrypted"),
])
def test_bad_pdf_is_reported(raw, reason):
    with pytest.raises(DocumentError, match=reason):
        read_bytes(raw, "bad.pdf")


# ---- the folder -------------------------------------------------------------------------------


def test_mixed_folder_reads_what_it_can_and_reports_the_rest(tmp_path):
    (tmp_path / "a.txt").write_text("居民医保\n居民医保每年缴费一次。", encoding="utf-8")
    make_docx(tmp_path / "guide.docx")
    (tmp_path / "page.html").write_bytes(policy_in_portal_skin("utf-8"))
    (tmp_path / "old.doc").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512)
    (tmp_path / "zip.docx").write_bytes(b"PK\x03\x04garbage")
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj")
    (tmp_path / "locked.pdf").write_bytes(encrypt_pdf(blank_pdf()))
    files, skipped = load_folder(tmp_path)
    assert sorted(f.source for f in files) == ["a.txt", "guide.docx", "page.html"]
    reasons = {s.source: s.reason for s in skipped}
    assert set(reasons) == {"old.doc", "zip.docx", "broken.pdf", "locked.pdf"}
    assert "save it as .docx" in reasons["old.doc"] and "encrypted" in reasons["locked.pdf"]
    assert "broken" in reasons["broken.pdf"] and "not a valid .docx" in reasons["zip.docx"]
