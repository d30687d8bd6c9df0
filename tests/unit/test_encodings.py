"""Document files in the encodings people really save Chinese text in, and files that are not text."""

from __future__ import annotations

import pytest
from chatbot.errors import DocumentError
from chatbot.ingest.documents import decode_bytes, load_folder, parse_text, read_file
from ..helpers import DOCUMENTS
from ..helpers.encodings import original, encoded, READABLE, BAD_FILES


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
