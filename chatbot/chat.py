"""The chat handler: `respond(message, history)` for the web chat, plus feedback logging.

Kept free of Gradio so it can be tested (and reused) as plain Python.
"""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from .answer import Answer
from .config import Config
from .render import answer_as_html
from .service import QA

_qa: QA | None = None
_qa_lock = threading.Lock()


def configure(config: Config | None = None, qa: QA | None = None) -> QA:
    """Set the process-wide pipeline the handler uses (loaded once, shared by all users)."""
    global _qa
    with _qa_lock:
        _qa = qa or QA(config or Config())
    return _qa


def get_qa() -> QA:
    return _qa if _qa is not None else configure()


def answer(message: str) -> Answer:
    return get_qa().safe_ask(message)


def respond(message: str, history: list | None = None) -> str:
    """Answer one chat message; returns the message HTML (answer, markers, sources)."""
    return answer_as_html(answer(message))


def respond_stream(message: str, history: list | None = None, step: int = 6, delay: float = 0.015) -> Iterator[tuple[str, Answer]]:
    """Stream an answer: the text appears a few characters at a time, then the sources."""
    result = answer(message)
    partial = Answer(result.question, "", result.refused, notice=result.notice, reason=result.reason)
    text = result.text
    for end in range(step, len(text), step):
        yield answer_as_html(Answer(partial.question, text[:end] + " ▌", partial.refused, notice=partial.notice)), result
        time.sleep(delay)
    yield answer_as_html(result), result


class FeedbackLog:
    """Appends 👍/👎 ratings as JSON lines: the question, the answer and its sources, nothing else."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self.folder / "feedback.jsonl"

    def record(self, rating: str, result: Answer) -> Path:
        row = {
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "rating": rating,
            "question": result.question,
            "answer": result.text,
            "refused": result.refused,
            "sources": [{"n": c.n, "source": c.passage.source, "title": c.passage.title, "date": c.passage.date}
                        for c in result.citations],
        }
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        return self.path
