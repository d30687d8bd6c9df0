"""Turning an Answer into text for the terminal and into safe HTML for the web chat.

The web chat renders a message as Markdown with HTML allowed, so every piece of text that comes
from a document or a question is HTML-escaped here, line breaks become <br>, and the message is a
single <div> without blank lines (Markdown is never applied inside it). Markup in a document or a
question is therefore shown as text and can never run.
"""

from __future__ import annotations

import html
import re

from .types import Answer, Citation

ERROR_TITLE = "出错了"
REFUSED_TITLE = "没有找到答案"
PARTIAL_TITLE = "只找到问题的一部分"  # chatbot/partial.py: one ask missing, the others answered
CONVERSATIONAL = ("small_talk", "statement")  # chatbot/smalltalk.py: replies to messages that ask nothing


def where(p) -> str | None:
    """Where in its file a passage is: "p. 3" (PDF page) or its section path, else None."""
    if p.page is not None:
        return f"p. {p.page}"
    return p.section or None


def source_meta(c: Citation) -> str:
    """title · file · page or section · date of a cited passage."""
    return " · ".join(x for x in (c.passage.title, c.passage.source, where(c.passage), c.passage.date) if x)


_meta = source_meta


def source_lines(answer: Answer, passages: bool = True) -> list[str]:
    """The sources of an answer as text lines (the related passages of a refusal, marked as not
    the answer), each with its whole passage when `passages`; what the CLI and the terminal chat print."""
    lines = []
    for title, items in (("来源:", [(c.n, c) for c in answer.citations]),
                         ("相关资料（不是答案）:", list(enumerate(answer.related, 1)))):
        if items:
            lines.append(title)
            lines.extend(f"[{n}] {source_meta(c)}" + (f"\n    {c.passage.text}" if passages else "") for n, c in items)
    return lines


def answer_as_text(answer: Answer) -> str:
    lines = [answer.text]
    if answer.notice:
        lines.insert(0, f"({answer.notice})")
    sources = source_lines(answer)
    if sources:
        lines.append("")
    return "\n".join(lines + sources)


def escape(text: str | None) -> str:
    """Text as inert HTML: escaped (quotes too), line breaks as <br>, no blank lines left."""
    out = html.escape(text or "", quote=True)
    return re.sub(r"\r\n?|\n", "<br>", out)


def _highlight(text: str, quotes) -> str:
    """The escaped passage text with the quoted sentences marked."""
    out = html.escape(text or "", quote=True)
    for q in quotes:
        eq = html.escape(q, quote=True)
        if eq and eq in out:
            out = out.replace(eq, f"<mark>{eq}</mark>", 1)
    return re.sub(r"\r\n?|\n", "<br>", out)


def _markers(escaped_text: str, numbers: set[int]) -> str:
    """Style the [n] markers that refer to a listed source (in already-escaped text)."""
    return re.sub(r"\[(\d+)\]", lambda m: f"<span class='cite'>[{m.group(1)}]</span>"
                  if int(m.group(1)) in numbers else m.group(0), escaped_text)


def _source_block(c: Citation, label: str, is_open: bool = False) -> str:
    p = c.passage
    meta = " · ".join(escape(x) for x in (p.source, where(p), p.date) if x)
    return (f"<details class='source'{' open' if is_open else ''}>"
            f"<summary><span class='cite'>{escape(label)}</span> <span class='title'>{escape(p.title or p.source)}</span>"
            f"<span class='meta'>{meta}</span></summary>"
            f"<div class='passage'>{_highlight(p.text, c.quotes)}</div></details>")


def answer_as_html(answer: Answer) -> str:
    """The chat message: the answer with its [n] markers, then the sources, each expandable in place
    (the first cited source open, its quoted sentences highlighted). A refusal and an error each get
    their own visible state. Everything from documents or the question is escaped."""
    if answer.reason == "error":
        return (f"<div class='reply error' role='alert'><p class='state'>{ERROR_TITLE}</p>"
                f"<p class='answer'>{escape(answer.text)}</p></div>")
    parts = []
    if answer.notice:
        parts.append(f"<p class='notice'>注意：{escape(answer.notice)}</p>")
    if answer.refused and answer.reason not in CONVERSATIONAL:  # "你好" asked nothing: no answer was missed
        parts.append(f"<p class='state'>{PARTIAL_TITLE if answer.reason == 'partial' else REFUSED_TITLE}</p>")
    numbers = {c.n for c in answer.citations}
    parts.append(f"<p class='answer'>{_markers(escape(answer.text), numbers)}</p>")
    if answer.citations:
        parts.append("<p class='sources-title'>来源（点击展开原文）</p>")
        parts.extend(_source_block(c, f"[{c.n}]", is_open=(i == 0)) for i, c in enumerate(answer.citations))
    if answer.related:
        parts.append("<p class='sources-title'>相关资料（仅供参考，不是答案）</p>")
        parts.extend(_source_block(c, "·") for c in answer.related)
    cls = "reply refused" if answer.refused else "reply"
    return f"<div class='{cls}'>{''.join(parts)}</div>"


def question_as_html(question: str) -> str:
    """A user's message, shown exactly as typed."""
    return f"<div class='question'>{escape(question)}</div>"
