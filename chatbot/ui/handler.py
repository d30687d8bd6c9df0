"""The chat handler: `respond(message, history)` for the web chat.

Kept free of Gradio so it can be tested (and reused) as plain Python.
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
from .feedback import FeedbackLog  # noqa: F401 - the handler's public surface includes the log

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


def answer(message: str) -> Answer:
    """Answer one question; never raises. A failure becomes an error Answer with a plain message."""
    try:
        result = get_qa().safe_ask(message)
    except Exception:  # noqa: BLE001 - the user must never see a traceback
        log.exception("answering failed")
        return error_answer(message)
    if result.reason == "error":
        log.error("answering failed: %s", result.text)
        return Answer(result.question, USER_ERROR, True, notice=result.notice, reason="error")
    return result


def respond(message: str, history: list | None = None) -> str:
    """Answer one chat message; returns the message HTML (answer, markers, sources)."""
    return answer_as_html(answer(message))


def respond_stream(message: str, history: list | None = None, step: int = 6,
                   delay: float = 0.015) -> Iterator[tuple[str, Answer]]:
    """Stream an answer: the text appears a few characters at a time, then the sources.

    Yields (message HTML, final Answer); the last item carries the complete message."""
    result = answer(message)
    text = result.text
    if result.reason != "error":
        for end in range(step, len(text), step):
            partial = Answer(result.question, text[:end] + " ▌", result.refused, notice=result.notice,
                             reason=result.reason)
            yield answer_as_html(partial), result
            if delay:
                time.sleep(delay)
    yield answer_as_html(result), result
