"""The chat handler: `respond(message, history)` for the web chat and `answer()` for the HTTP API.

Kept free of Gradio so it can be tested (and reused) as plain Python. Every entry caps what it is
given (`guard.cap_message` / `guard.cap_history`, limits from Config) before any work is done.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Iterator

from ..config import Config
from ..render import answer_as_html
from ..service import QA
from ..types import Answer
from .guard import cap_history, cap_message

log = logging.getLogger(__name__)

# What a user sees when answering fails: no paths, no exception text (those go to the server log).
USER_ERROR = "系统暂时无法回答，请稍后再试。如果一直出现这个提示，请联系网站管理员。"

_qa: QA | None = None
_qa_lock = threading.Lock()


def configure(config: Config | None = None, qa: QA | None = None) -> QA:
    """Set the process-wide pipeline the handler uses (loaded once, shared by all users)."""
    global _qa
    with _qa_lock:
        _qa = qa or QA(config or Config())
    return _qa


def get_qa(config: Config | None = None) -> QA:
    """The configured pipeline; configured from `config` (or the defaults) on first use."""
    return _qa if _qa is not None else configure(config)


def error_answer(question: str) -> Answer:
    return Answer(str(question or "")[:200], USER_ERROR, True, reason="error")


def limited(message, history=None) -> tuple[str, list[str]]:
    """The message and the user's earlier messages, cleaned and cut to the configured limits."""
    config = get_qa().config
    return (cap_message(message, config.max_message_chars),
            cap_history(history, config.max_history_turns, config.max_history_chars))


def answer(message: str, history: list | None = None, on_sentence=None) -> Answer:
    """Answer one question (with the user's earlier messages, oldest first); never raises.
    A failure becomes an error Answer with a plain message. `on_sentence`: see `QA.safe_ask`."""
    try:
        message, history = limited(message, history)
        result = get_qa().safe_ask(message, history, on_sentence) if on_sentence else get_qa().safe_ask(message, history)
    except Exception:  # noqa: BLE001 - the user must never see a traceback
        log.exception("answering failed")
        return error_answer(message)
    if result.reason == "error":
        log.error("answering failed: %s", result.text)
        return Answer(result.question, USER_ERROR, True, notice=result.notice, reason="error")
    return result


def respond(message: str, history: list | None = None) -> str:
    """Answer one chat message; returns the message HTML (answer, markers, sources).
    `history`: the user's earlier messages in this conversation (plain text, oldest first)."""
    return as_html(answer(message, history))


# -- optional LLM answers (issue 19): verified sentences stream in; dropped ones are listed apart --
DROPPED_TITLE = "未采用的生成内容"


def as_html(result: Answer) -> str:
    """The message HTML, with a generated answer's dropped sentences in a collapsed block."""
    html = answer_as_html(result)
    if not result.dropped or result.reason == "error":
        return html
    from ..render import escape

    items = "".join(f"<p class='dropped-sentence'>{escape(s)}</p>" for s in result.dropped)
    block = (f"<details class='dropped'><summary>{DROPPED_TITLE}（{len(result.dropped)} 句，"
             f"未通过与来源的逐句核对，不是答案）</summary>{items}</details>")
    return html[:-len("</div>")] + block + "</div>"


def _stream_generated(message: str, history: list | None) -> Iterator[tuple[str, Answer]]:
    """Each verified sentence as the model writes it, then the whole message."""
    import queue

    updates: queue.Queue = queue.Queue()

    def work() -> None:
        try:
            final = answer(message, history, on_sentence=lambda _sentence, partial: updates.put((False, partial)))
        except Exception:  # noqa: BLE001 - answer() never raises; this is a last guard
            log.exception("answering failed")
            final = error_answer(message)
        updates.put((True, final))

    threading.Thread(target=work, name="llm-answer", daemon=True).start()
    while True:
        last, result = updates.get()
        if last:
            yield as_html(result), result
            return
        from dataclasses import replace

        yield answer_as_html(replace(result, text=result.text + " ▌", dropped=())), result


def respond_stream(message: str, history: list | None = None, step: int = 6,
                   delay: float = 0.015) -> Iterator[tuple[str, Answer]]:
    """Stream an answer: the text appears a few characters at a time, then the sources.

    Yields (message HTML, final Answer); the last item carries the complete message.
    `history`: the user's earlier messages in this conversation (plain text, oldest first)."""
    if getattr(getattr(get_qa(), "config", None), "llm_enabled", False):  # issue 19: the model's verified sentences, as they pass
        yield from _stream_generated(message, history)
        return
    result = answer(message, history)
    text = result.text
    if result.reason != "error":
        for end in range(step, len(text), step):
            partial = Answer(result.question, text[:end] + " ▌", result.refused, notice=result.notice,
                             reason=result.reason)
            yield answer_as_html(partial), result
            if delay:
                time.sleep(delay)
    yield answer_as_html(result), result
