"""Citations say where: page for a PDF passage, section path for Word/HTML, neither for text."""

from __future__ import annotations

from chatbot.render import answer_as_html, answer_as_text
from chatbot.types import Answer, Citation, Passage


def _passage(source, page=None, section=None):
    return Passage(f"{source}#0:0", f"{source}#0", source, "某市医保政策", None, 0, "page", "住院报销比例为85%。",
                   page, section)


def test_citation_json_has_page_and_section():
    pdf = Citation(1, _passage("policy.pdf", page=3, section="第二部分 住院待遇"), 0.5).to_dict()
    txt = Citation(2, _passage("a.txt"), 0.4).to_dict()
    assert (pdf["page"], pdf["section"]) == (3, "第二部分 住院待遇")
    assert (txt["page"], txt["section"]) == (None, None)


def test_passage_round_trip_keeps_page_and_section_and_reads_old_rows():
    p = _passage("policy.pdf", page=2, section="第三部分 门诊待遇")
    assert Passage.from_dict(p.to_dict()) == p
    old = {k: v for k, v in _passage("a.txt").to_dict().items() if k not in ("page", "section")}
    assert Passage.from_dict(old).page is None and Passage.from_dict(old).section is None


def test_web_chat_shows_page_or_section():
    answer = Answer("q", "住院报销比例为85%[1][2]。", False, citations=(
        Citation(1, _passage("policy.pdf", page=3), 0.5),
        Citation(2, _passage("guide.docx", section="第二部分 住院待遇"), 0.4),
        Citation(3, _passage("a.txt"), 0.3)))
    html = answer_as_html(answer)
    assert "policy.pdf · p. 3" in html and "guide.docx · 第二部分 住院待遇" in html
    assert "a.txt</span>" in html
    text = answer_as_text(answer)
    assert "policy.pdf · p. 3" in text and "guide.docx · 第二部分 住院待遇" in text
