"""The chat handler as plain Python: respond(), respond_stream(), and HTML escaping."""

from __future__ import annotations

import json
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from chatbot.ui import handler as chat
from chatbot.types import Answer, Citation
from chatbot.types import Passage
from chatbot.store.files.store import build_index
from chatbot.render import answer_as_html, answer_as_text, question_as_html
from chatbot.service import QA

HOSTILE_TITLE = '蓝鲸卡补办须知 <img src=x onerror="window.__xss=1">'
HOSTILE_TEXT = "蓝鲸卡丢失后，可以到社区服务中心补办蓝鲸卡。<script>window.__xss=2</script>补办蓝鲸卡需要携带本人身份证原件。"

# Everything answer_as_html may emit; anything else would come from a document or a question.
ALLOWED_TAGS = {"div", "p", "span", "details", "summary", "mark", "br"}
ALLOWED_ATTRS = {"class", "open", "role"}


class TagCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[tuple[str, list]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, attrs))

    def handle_data(self, data):
        self.text.append(data)


def parse(html_text: str) -> TagCollector:
    c = TagCollector()
    c.feed(html_text)
    c.close()
    return c


def assert_inert(html_text: str) -> TagCollector:
    """Only our own tags and attributes: no <script>, <img>, no on* handler, no href/src."""
    c = parse(html_text)
    for tag, attrs in c.tags:
        assert tag in ALLOWED_TAGS, f"unexpected tag <{tag}> in {html_text[:200]}"
        for name, _ in attrs:
            assert name in ALLOWED_ATTRS, f"unexpected attribute {name} on <{tag}>"
    assert "\n\n" not in html_text  # a blank line would end the HTML block and let Markdown in
    return c


def hostile_passage() -> Passage:
    return Passage("hostile.txt#0:0", "hostile.txt#0", "hostile.txt", HOSTILE_TITLE, "2025-04-19", 0, "text",
                   HOSTILE_TEXT + "\n补办一般需要5个工作日。")


def hostile_answer() -> Answer:
    p = hostile_passage()
    quote = "<script>window.__xss=2</script>补办蓝鲸卡需要携带本人身份证原件。"
    return Answer('蓝鲸卡<img src=x onerror="alert(1)">怎么补办？', f"{quote}[1]", False,
                  (Citation(1, p, 0.9, (quote,)),))


# ---- rendering -----------------------------------------------------------------------------



@pytest.fixture
def pipeline(fake_config, fake_embedder):
    """The shipped corpus plus a hostile document, indexed with the fake embedder, as the chat's QA."""
    (fake_config.documents_dir / "hostile.txt").write_text(f"{HOSTILE_TITLE}\n{HOSTILE_TEXT}\n", encoding="utf-8")
    build_index(fake_config, fake_embedder)
    saved = chat._qa
    qa = chat.configure(qa=QA(fake_config, embedder=fake_embedder))
    yield qa
    chat._qa = saved


class BrokenQA:
    def safe_ask(self, question):
        raise RuntimeError("boom at /secret/path")
