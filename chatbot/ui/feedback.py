"""The 👍/👎 feedback log: one JSON line per rated answer."""

from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock

from ..types import Answer, Citation
from .guard import session_ok

MAX_TEXT = 2000       # question / answer / passage characters kept in a row
MAX_SOURCES = 10
MAX_QUOTES = 5


def _source(c: Citation, text_chars: int, detail: bool = True) -> dict:
    p = c.passage
    row = {"n": c.n, "chunk_id": str(p.chunk_id)[:100], "source": str(p.source)[:200], "score": round(float(c.score), 6)}
    if detail:
        row.update({"title": (p.title or "")[:300], "date": p.date,
                    "quotes": [q[:500] for q in list(c.quotes)[:MAX_QUOTES]], "text": (p.text or "")[:text_chars]})
    return row


# how a row is cut until it fits: (question/answer chars, passage chars, sources, source details)
_LEVELS = ((MAX_TEXT, MAX_TEXT, MAX_SOURCES, True), (MAX_TEXT, 600, MAX_SOURCES, True),
           (500, 0, MAX_SOURCES, True), (300, 0, MAX_SOURCES, False), (100, 0, 3, False), (40, 0, 3, False))


class FeedbackLog:
    """Ratings as JSON lines in `folder/feedback.jsonl`: the question, the answer and its sources
    with their text, so that failures can be studied even after a re-index.

    One row per answer per session: rating the same answer again with the same rating writes
    nothing, a different rating (or "withdrawn") replaces the earlier row. `session` must have the
    fixed shape of a Gradio session id and `message` be a non-negative int (ValueError otherwise).
    Rows are written with ensure_ascii, so every row is exactly one line for any line reader
    (U+2028, U+0085 … are escaped), and capped at `max_row_bytes` (a 👍 row at `up_row_bytes`: it
    keeps the question, the answer's start and the sources' ids, not their texts). Writes hold a
    file lock next to the log, so several app processes may share the folder."""

    RATINGS = ("up", "down", "withdrawn")

    def __init__(self, folder: Path, max_row_bytes: int = 32 * 1024, up_row_bytes: int = 2048):
        self.folder = Path(folder)
        self.max_row_bytes, self.up_row_bytes = max_row_bytes, up_row_bytes
        self._lock = threading.Lock()

    @property
    def path(self) -> Path:
        return self.folder / "feedback.jsonl"

    def _row(self, rating: str, result: Answer, session, message) -> str:
        """The JSON line, cut until it fits the limit (passage texts first, then the question and
        answer, at last the source lists to their ids)."""
        limit = self.up_row_bytes if rating == "up" else self.max_row_bytes
        levels = _LEVELS[3:] if rating == "up" else _LEVELS
        for text, passage, sources, detail in levels:
            row = {
                "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "rating": rating,
                "session": session,
                "message": message,
                "question": (result.question or "")[:text],
                "answer": (result.text or "")[:text],
                "refused": result.refused,
                "reason": str(result.reason)[:100] if result.reason is not None else None,
                "notice": (result.notice or "")[:text] or None,
                "sources": [_source(c, passage, detail) for c in result.citations[:sources]],
                "related": [_source(c, passage, detail) for c in result.related[:sources]] if detail else [],
            }
            line = json.dumps(row, ensure_ascii=True) + "\n"
            if len(line) <= limit:
                break
        return line

    def record(self, rating: str, result: Answer, session: str | None = None, message: int | None = None) -> Path:
        """Record one rating (see the class). Raises ValueError for an unknown rating, a malformed
        session id or message index, OSError if the folder is unwritable."""
        if rating not in self.RATINGS:
            raise ValueError(f"rating must be one of {self.RATINGS}, not {rating!r}")
        if session is not None and not session_ok(session):
            raise ValueError("session id has the wrong shape")
        if message is not None and (type(message) is not int or message < 0):
            raise ValueError("message index must be a non-negative integer")
        line = self._row(rating, result, session, message)
        with self._lock:
            self.folder.mkdir(parents=True, exist_ok=True)
            with FileLock(str(self.folder / "feedback.jsonl.lock"), timeout=30):
                if session is not None and message is not None:
                    self._replace(line, rating, session, message)
                else:
                    with open(self.path, "a", encoding="utf-8") as fh:
                        fh.write(line)
        return self.path

    def _replace(self, line: str, rating: str, session: str, message: int) -> None:
        """Write `line` as the one row of (session, message), under the file lock."""
        try:
            with open(self.path, encoding="utf-8") as fh:
                lines = fh.readlines()
        except FileNotFoundError:
            lines = []
        mark = json.dumps(session)
        same, kept = [], []
        for old in lines:
            row = None
            if mark in old:
                try:
                    row = json.loads(old)
                except ValueError:
                    row = None
            if isinstance(row, dict) and row.get("session") == session and row.get("message") == message:
                same.append(row)
            else:
                kept.append(old)
        if not same:
            if rating == "withdrawn":
                return  # nothing to take back
            with open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
            return
        if len(same) == 1 and same[0].get("rating") == rating:
            return  # the same rating again: nothing changes
        tmp = self.path.with_name(f".feedback.{os.getpid()}.tmp")
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.writelines(kept + [line])
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def read(self) -> list[dict]:
        """All recorded rows (for study and tests)."""
        if not self.path.exists():
            return []
        with open(self.path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.strip()]
