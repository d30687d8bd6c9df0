"""Turning an Answer into text for the terminal and into safe Markdown/HTML for the web chat."""

from __future__ import annotations

import html

from .answer import Answer, Citation


def _meta(c: Citation) -> str:
    return " · ".join(x for x in (c.passage.title, c.passage.source, c.passage.date) if x)


def answer_as_text(answer: Answer) -> str:
    lines = [answer.text]
    if answer.notice:
        lines.insert(0, f"({answer.notice})")
    if answer.citations:
        lines.append("\n来源:")
        for c in answer.citations:
            lines.append(f"[{c.n}] {_meta(c)}\n    {c.passage.text}")
    if answer.related:
        lines.append("\n相关资料（不是答案）:")
        for c in answer.related:
            lines.append(f"- {_meta(c)}\n    {c.passage.text}")
    return "\n".join(lines)


def _highlight(text: str, quotes) -> str:
    """HTML-escaped passage text with the quoted sentences marked."""
    out = html.escape(text)
    for q in quotes:
        eq = html.escape(q)
        if eq and eq in out:
            out = out.replace(eq, f"<mark>{eq}</mark>", 1)
    return out


def _source_block(c: Citation, label: str) -> str:
    return (f"<details class='source'><summary>{label} {html.escape(_meta(c))}</summary>"
            f"<div class='passage'>{_highlight(c.passage.text, c.quotes)}</div></details>")


def answer_as_html(answer: Answer) -> str:
    """The chat message: escaped answer text, then the sources, each expandable in place.

    Everything from documents or the question is escaped, so no markup in them can run.
    """
    parts = []
    if answer.notice:
        parts.append(f"<p class='notice'>⚠️ {html.escape(answer.notice)}</p>")
    cls = "answer refused" if answer.refused else "answer"
    parts.append(f"<p class='{cls}'>{html.escape(answer.text)}</p>")
    if answer.citations:
        parts.append("<p class='sources-title'><b>来源</b></p>")
        parts.extend(_source_block(c, f"[{c.n}]") for c in answer.citations)
    if answer.related:
        parts.append("<p class='sources-title'><b>相关资料（仅供参考，不是答案）</b></p>")
        parts.extend(_source_block(c, "·") for c in answer.related)
    return "\n".join(parts)
