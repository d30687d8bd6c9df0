"""Parsing of the five seed pages and of plain files, and encoding handling."""

import re

import pytest

from chatbot.ingest.documents import decode_bytes, load_folder, parse_text, read_file
from chatbot.errors import DocumentError

from ..helpers import DOCUMENTS

SEED = sorted(p.name for p in DOCUMENTS.glob("*.txt"))
BOILERPLATE = ("本内容不能代替面诊", "大家都在搜", "首页 顶部", "相关推荐")


def test_seed_corpus_is_five_files():
    assert len(SEED) == 5


@pytest.mark.parametrize("name", SEED)
def test_each_seed_page_gives_one_article_and_twenty_items(name):
    sf = read_file(DOCUMENTS / name, name)
    kinds = [d.kind for d in sf.documents]
    assert kinds.count("article") == 1 and kinds.count("item") == 20
    assert [d.position for d in sf.documents] == list(range(21))
    main, items = sf.documents[0], sf.documents[1:]
    assert main.date is None and main.title and len(main.text) > 200
    for d in items:
        assert d.source == name and d.doc_id == f"{name}#{d.position}"
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", d.date)
        assert d.title and d.text and d.title not in ("健康新闻",)
        assert "健康新闻" not in d.text
    for d in sf.documents:
        for junk in BOILERPLATE:
            assert junk not in d.title and junk not in d.text, (d.doc_id, junk)


def test_whole_corpus_counts_and_known_items():
    files, skipped = load_folder(DOCUMENTS)
    docs = [d for f in files for d in f.documents]
    assert skipped == [] and len(files) == 5
    assert len(docs) == 105
    assert sum(d.kind == "article" for d in docs) == 5 and sum(d.kind == "item" for d in docs) == 100
    by_title = {d.title: d for d in docs}
    hengshui = by_title["衡水市医保电话"]
    assert hengshui.source == "000_91c1583d48168d56.txt" and hengshui.date == "2025-04-18"
    assert "0318-12333" in hengshui.text
    assert by_title["大额医保一般啥时候开始扣费"].position == 0


def test_plain_text_without_structure_is_one_document():
    docs = parse_text("异地就医指南\n\n第一段。第二段！\n\n第三段？", "guide.md")
    assert len(docs) == 1
    assert docs[0].title == "异地就医指南" and docs[0].kind == "text" and "第三段" in docs[0].text


def test_markdown_heading_becomes_title():
    docs = parse_text("# 医保卡挂失\n先打电话挂失，再去窗口补办。", "card.md")
    assert docs[0].title == "医保卡挂失"


SAMPLE = "衡水市医保电话是0318-12333。醫療保險個人賬戶可以家庭共濟。"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "utf-16-le-bom", "utf-16-be-bom"])
def test_encodings_are_detected(encoding):
    if encoding == "utf-16-le-bom":
        raw = b"\xff\xfe" + SAMPLE.encode("utf-16-le")
    elif encoding == "utf-16-be-bom":
        raw = b"\xfe\xff" + SAMPLE.encode("utf-16-be")
    elif encoding == "gbk":
        raw = SAMPLE.replace("醫療保險個人賬戶可以家庭共濟", "医疗保险个人账户可以家庭共济").encode("gbk")
    else:
        raw = SAMPLE.encode(encoding)
    text, _ = decode_bytes(raw * 20)
    assert "0318-12333" in text and ("医保电话" in text)


@pytest.mark.parametrize("raw,reason", [
    (b"", "empty"),
    (b"   \n\t ", "empty"),
    (bytes(range(256)) * 40, "binary"),
    (b"\x00\x01\x02\x03PNG\x89" * 500, "binary"),
])
def test_unreadable_bytes_are_rejected_with_reason(raw, reason):
    with pytest.raises(DocumentError, match=reason):
        decode_bytes(raw)


def test_bad_files_are_skipped_and_reported(tmp_path):
    (tmp_path / "good.txt").write_text("新生儿参保\n出生90天内参保，从出生之日起享受待遇。", encoding="utf-8")
    (tmp_path / "gbk.txt").write_bytes("医保卡挂失\n拨打12333电话挂失。".encode("gb18030"))
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "blob.txt").write_bytes(bytes(range(256)) * 64)
    (tmp_path / "image.png").write_bytes(b"\x89PNG\r\n")
    files, skipped = load_folder(tmp_path)
    assert sorted(f.source for f in files) == ["gbk.txt", "good.txt"]
    reasons = {s.source: s.reason for s in skipped}
    assert set(reasons) == {"empty.txt", "blob.txt", "image.png"}
    assert "empty" in reasons["empty.txt"] and "binary" in reasons["blob.txt"] and "unsupported" in reasons["image.png"]
