"""The 👍/👎 feedback log: one JSON line per rating."""

from __future__ import annotations

import json
import threading
from datetime import datetime, timezone
from pathlib import Path

from ..types import Answer, Citation


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
