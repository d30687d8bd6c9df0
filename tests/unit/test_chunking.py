"""Chinese-aware chunking: sentence boundaries, limits, overlap and metadata."""

import pytest

from chatbot.ingest.chunking import chunk_document, chunk_text, split_sentences
from chatbot.ingest.documents import load_folder
from chatbot.types import Document

from ..helpers import DOCUMENTS


def test_sentences_keep_their_marks_and_closing_quotes():
    assert split_sentences("你好。我是谁？真的!好“引号。”然后……结束") == ["你好。", "我是谁？", "真的!", "好“引号。”", "然后……", "结束"]


def test_paragraphs_never_merge_into_one_sentence():
    assert split_sentences("第一段没有句号\n第二段。") == ["第一段没有句号", "第二段。"]


@pytest.mark.parametrize("text", ["", "   ", "。", "a", "医", "医保 ABC 123", "醫療保險個人賬戶。", "x" * 1000])
def test_edge_cases_never_lose_text(text):
    chunks = chunk_text(text, limit=50, overlap=10)
    joined = "".join(chunks)
    for ch in text.strip():
        assert ch in joined or ch.isspace()
    assert all(len(c) <= 50 for c in chunks)


def test_chunks_respect_limit_and_do_not_cut_sentences():
    sentences = [f"第{i}句说明医保报销比例为{i}0%。" for i in range(40)]
    text = "".join(sentences)
    chunks = chunk_text(text, limit=120, overlap=30)
    assert len(chunks) > 3
    for c in chunks:
        assert len(c) <= 120
        assert c.endswith("。")  # a chunk ends where a sentence ends
        assert c.startswith("第")  # and starts where one starts
    for a, b in zip(chunks, chunks[1:]):  # overlap: the next chunk repeats the last sentence
        assert a.split("。")[-2] + "。" in b


def test_overlong_sentence_is_cut_at_clause_marks():
    sentence = "，".join(f"条件{i}需要满足" for i in range(60)) + "。"
    chunks = chunk_text(sentence, limit=100, overlap=0)
    assert all(len(c) <= 100 for c in chunks)
    assert all(c.endswith(("，", "。")) for c in chunks)
    assert "".join(chunks) == sentence


def test_every_chunk_keeps_document_metadata():
    files, _ = load_folder(DOCUMENTS)
    doc = files[0].documents[0]
    passages = chunk_document(doc, limit=120, overlap=30)
    assert len(passages) > 1
    for k, p in enumerate(passages):
        assert (p.source, p.title, p.date, p.position, p.kind, p.doc_id) == (doc.source, doc.title, doc.date, doc.position, doc.kind, doc.doc_id)
        assert p.chunk_id == f"{doc.doc_id}:{k}"
        assert p.embed_text.startswith(doc.title)


def test_title_is_embedded_and_keyword_indexed_normalised():
    d = Document("f#1", "f", "醫保卡掛失", "先打電話。", "2025-01-01", 1, "item")
    p = chunk_document(d)[0]
    assert p.embed_text.startswith("醫保卡掛失")
    assert p.embed_text_normalized.startswith("医保卡挂失")
