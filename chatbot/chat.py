"""The chat handler: `respond(message, history)` for the web chat, plus feedback logging.

Kept free of Gradio so it can be tested (and reused) as plain Python.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from .answer import Answer, Citation
from .config import Config
from .render import answer_as_html
from .service import QA

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


def _source(c: Citation) -> dict:
    p = c.passage
    return {"n": c.n, "chunk_id": p.chunk_id, "source": p.source, "title": p.title, "date": p.date,
            "score": round(float(c.score), 6), "quotes": list(c.quotes), "text": p.text}


class FeedbackLog:
    """Appends 👍/👎 ratings as JSON lines (`feedback.jsonl` in a folder): the question, the answer
    and its sources with their text, so that failures can be studied even after a re-index.

    A rating taken back is logged as "withdrawn"; `session` and `message` (when given) tell which
    earlier row it cancels."""

    RATINGS = ("up", "down", "withdrawn")

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self.folder / "feedback.jsonl"

    def record(self, rating: str, result: Answer, session: str | None = None, message: int | None = None) -> Path:
        """Append one rating. Raises ValueError for an unknown rating, OSError if the folder is unwritable."""
        if rating not in self.RATINGS:
            raise ValueError(f"rating must be one of {self.RATINGS}, not {rating!r}")
        row = {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "rating": rating,
            "session": session,
            "message": message,
            "question": result.question,
            "answer": result.text,
            "refused": result.refused,
            "reason": result.reason,
            "notice": result.notice,
            "sources": [_source(c) for c in result.citations],
            "related": [_source(c) for c in result.related],
        }
        line = json.dumps(row, ensure_ascii=False) + "\n"
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
        return self.path

    def read(self) -> list[dict]:
        """All recorded rows (for study and tests)."""
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
