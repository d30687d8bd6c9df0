"""标注 (issue 20): an answer the admin writes to a logged question, kept as a curated question-and-answer
document in the library (documents folder): indexed on the next rebuild, listed in 资料库, deletable
there, and cited with the title 管理员答复（date）：question."""

from __future__ import annotations

import hashlib
import os
import re
from datetime import datetime, timezone
from pathlib import Path

PREFIX = "管理员答复"
MAX_QUESTION = 500
MAX_ANSWER = 5000


_TITLE = re.compile(rf"{PREFIX}[（(]\d{{4}}-\d{{2}}-\d{{2}}[）)][：:](.+)")  # as written, or as read (half-width)


def question_of(title: str | None) -> str | None:
    """The question of a curated answer's title (管理员答复（date）：question), else None."""
    m = _TITLE.fullmatch(str(title or "").strip())
    return (m.group(1).rstrip("…").strip() or None) if m else None


def file_name(question: str) -> str:
    return f"{PREFIX}_{hashlib.sha256(question.encode('utf-8')).hexdigest()[:12]}.txt"


def text(question: str, answer: str, date: str) -> str:
    title = question if len(question) <= 40 else question[:39] + "…"
    return f"{PREFIX}（{date}）：{title}\n\n{answer}\n"   # the title holds the question: the body is the answer


def write(folder: Path, question: str, answer: str, date: str | None = None) -> Path:
    """Write (or replace) the curated answer to `question`; returns the file. ValueError when empty."""
    question = " ".join(str(question or "").split())[:MAX_QUESTION]
    answer = str(answer or "").strip()[:MAX_ANSWER]
    if not question or not answer:
        raise ValueError("问题和答复都不能为空")
    date = date or datetime.now(timezone.utc).strftime("%Y-%m-%d")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / file_name(question)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text(question, answer, date), encoding="utf-8")
    os.replace(tmp, path)
    return path
