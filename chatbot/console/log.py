"""The question log (issue 20): every question asked, how it was answered, and its 👍/👎 (the one
store of the feedback).

SQLite (stdlib sqlite3, WAL) in `folder/questions.sqlite3`; an older version's feedback.jsonl there
is imported once (and no longer written). No IP address is stored. Rows older than `days` are deleted (at start and then at
most once an hour). Several processes may write at once: each write is one short transaction and
waits for a locked database (busy timeout). A broken or locked log never breaks the chat: every
public method catches its own failures (logged, counted in `failures`, the method returns None /
False / []); a file that is not a database (or is malformed) is renamed to
`questions.sqlite3.corrupt-<time>`, reported in `problem`, and a fresh log is started.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import os
import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Sequence

log = logging.getLogger(__name__)

FEEDBACK_REASONS = ("答非所问", "事实有误", "不完整", "已过时", "其他")
RATINGS = ("up", "down", "withdrawn")
MAX_TEXT = 2000
MAX_CITATIONS = 10

SCHEMA = """
CREATE TABLE IF NOT EXISTS questions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,               -- UTC, ISO 8601 (seconds)
    channel TEXT NOT NULL,            -- web | api | openai | import
    session TEXT,                     -- the web session id (no IP address is ever stored)
    message INTEGER,                  -- the assistant message index in that session
    question TEXT NOT NULL,
    understood_as TEXT,
    answer TEXT,
    refused INTEGER NOT NULL,
    reason TEXT,
    citations TEXT NOT NULL DEFAULT '[]',  -- JSON list
    latency_ms REAL,
    rating TEXT,                      -- up | down | NULL
    rating_reason TEXT,               -- one of FEEDBACK_REASONS, for a 👎
    rated_at TEXT
);
CREATE INDEX IF NOT EXISTS questions_time ON questions(time);
CREATE INDEX IF NOT EXISTS questions_session ON questions(session, message);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
"""


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def citations_of(answer) -> list[dict]:
    """The cited passages of an Answer, as stored (source, title, page/section, date, quotes, text)."""
    out = []
    for c in list(getattr(answer, "citations", ()) or ())[:MAX_CITATIONS]:
        p = c.passage
        out.append({"n": c.n, "chunk_id": str(p.chunk_id)[:200], "source": str(p.source)[:300],
                    "title": (p.title or "")[:300], "date": p.date, "page": p.page, "section": p.section,
                    "quotes": [q[:500] for q in list(c.quotes)[:5]], "text": (p.text or "")[:MAX_TEXT]})
    return out


class QuestionLog:
    """See the module. `enabled=False` (--no-log) makes every method a no-op."""

    FILE = "questions.sqlite3"

    def __init__(self, folder: Path, days: float = 90, enabled: bool = True, busy_timeout_s: float = 5.0):
        self.folder = Path(folder)
        self.days, self.enabled, self.busy_timeout_s = days, enabled, busy_timeout_s
        self.problem: str | None = None   # the last corruption found and set aside (for /healthz and the admin)
        self.failures = 0                 # writes that failed (locked past the timeout, disk full …)
        self._lock = threading.Lock()
        self._ready = False
        self._pruned = 0.0

    @property
    def path(self) -> Path:
        return self.folder / self.FILE

    # -- connection -------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        self.folder.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(str(self.path), timeout=self.busy_timeout_s, isolation_level=None)
        db.row_factory = sqlite3.Row
        try:
            db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
            if not self._ready:
                self._prepare(db)
                self._ready = True
        except BaseException:
            db.close()
            raise
        return db

    def _prepare(self, db: sqlite3.Connection) -> None:
        """WAL mode, the schema and a quick check, once per process. Switching to WAL while another
        process does the same can fail at once with "database is locked" (SQLite does not wait on its
        busy handler there), so that step is retried until the busy timeout."""
        deadline = time.monotonic() + self.busy_timeout_s
        while True:
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.executescript(SCHEMA)
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc).lower() or time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)
        check = db.execute("PRAGMA quick_check").fetchone()[0]
        if check != "ok":
            raise sqlite3.DatabaseError(f"database disk image is malformed: {check}")

    def _set_aside(self, exc: Exception) -> None:
        """Rename a corrupt log (and its -wal/-shm) out of the way and remember the problem."""
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
        target = self.path.with_name(f"{self.FILE}.corrupt-{stamp}-{os.getpid()}")
        try:
            os.replace(self.path, target)
            for tail in ("-wal", "-shm"):
                side = self.path.with_name(self.FILE + tail)
                if side.exists():
                    os.replace(side, target.with_name(target.name + tail))
        except FileNotFoundError:
            pass
        self.problem = f"问答记录文件已损坏（{exc}），已移到 {target.name}，已新建记录。"
        log.error("the question log %s is corrupt (%s): set aside as %s; starting a new one", self.path, exc, target)
        self._ready = False

    def _run(self, work, default=None, write: bool = True):
        """Run work(db) in one transaction; a corrupt file is set aside and the work tried once more;
        any other failure is logged and `default` returned."""
        if not self.enabled:
            return default
        for attempt in (0, 1):
            db = None
            try:
                with self._lock:
                    db = self._connect()
                    if write:
                        db.execute("BEGIN IMMEDIATE")
                    try:
                        result = work(db)
                    except BaseException:
                        if write:
                            db.execute("ROLLBACK")
                        raise
                    if write:
                        db.execute("COMMIT")
                    return result
            except sqlite3.DatabaseError as exc:
                text = str(exc).lower()
                if attempt == 0 and ("not a database" in text or "malformed" in text or "corrupt" in text):
                    if db is not None:
                        db.close()
                        db = None
                    self._set_aside(exc)
                    continue
                self.failures += 1
                log.warning("question log %s: %s", self.path, exc)
                return default
            except Exception:  # noqa: BLE001 - the log must never break the chat
                self.failures += 1
                log.exception("question log %s failed", self.path)
                return default
            finally:
                if db is not None:
                    db.close()
        return default

    # -- writing ----------------------------------------------------------------------------
    def record(self, answer, latency_s: float | None = None, channel: str = "web", session: str | None = None,
               message: int | None = None, question: str | None = None) -> int | None:
        """Log one answered question; returns its row id (None when off or failing)."""
        row = (now(), channel, session, message, str(question or getattr(answer, "question", "") or "")[:MAX_TEXT],
               (answer.understood_as or None) and str(answer.understood_as)[:MAX_TEXT],
               str(answer.text or "")[:MAX_TEXT], 1 if answer.refused else 0,
               None if answer.reason is None else str(answer.reason)[:100],
               json.dumps(citations_of(answer), ensure_ascii=False),
               None if latency_s is None else round(latency_s * 1000, 1))

        def work(db):
            cur = db.execute("INSERT INTO questions (time, channel, session, message, question, understood_as, "
                             "answer, refused, reason, citations, latency_ms) VALUES (?,?,?,?,?,?,?,?,?,?,?)", row)
            return cur.lastrowid
        rowid = self._run(work)
        self._maybe_prune()
        return rowid

    def rate(self, rowid: int | None = None, rating: str = "up", reason: str | None = None,
             session: str | None = None, message: int | None = None) -> bool:
        """Set (or withdraw) the 👍/👎 of a logged answer, by row id or by (session, message).
        `reason` must be one of FEEDBACK_REASONS (only kept for a 👎). True when a row changed."""
        if rating not in RATINGS:
            raise ValueError(f"rating must be one of {RATINGS}")
        if reason is not None and reason not in FEEDBACK_REASONS:
            raise ValueError(f"reason must be one of {FEEDBACK_REASONS}")
        value = None if rating == "withdrawn" else rating
        why = reason if rating == "down" else None

        def work(db):
            if rowid is not None:
                cur = db.execute("UPDATE questions SET rating=?, rating_reason=?, rated_at=? WHERE id=?",
                                 (value, why, now(), int(rowid)))
            else:
                cur = db.execute("UPDATE questions SET rating=?, rating_reason=?, rated_at=? WHERE id = "
                                 "(SELECT max(id) FROM questions WHERE session=? AND message=?)",
                                 (value, why, now(), session, message))
            return cur.rowcount > 0
        return bool(self._run(work, False))

    def reason(self, rowid: int, reason: str | None) -> bool:
        """Set the reason of a 👎 already given (the chat's reason picker)."""
        if reason is not None and reason not in FEEDBACK_REASONS:
            raise ValueError(f"reason must be one of {FEEDBACK_REASONS}")
        return bool(self._run(lambda db: db.execute(
            "UPDATE questions SET rating_reason=? WHERE id=? AND rating='down'", (reason, int(rowid))).rowcount > 0,
            False))

    def prune(self) -> int:
        """Delete rows older than `days`; returns how many."""
        if not self.days or self.days <= 0:
            return 0
        cutoff = (datetime.now(timezone.utc) - timedelta(days=self.days)).isoformat(timespec="seconds")
        self._pruned = time.monotonic()
        return self._run(lambda db: db.execute("DELETE FROM questions WHERE time < ?", (cutoff,)).rowcount, 0)

    def _maybe_prune(self) -> None:
        if time.monotonic() - self._pruned > 3600:
            self.prune()

    def import_feedback(self, jsonl: Path) -> int:
        """Import the old feedback.jsonl once (remembered in the log); returns the rows imported."""
        jsonl = Path(jsonl)
        if not jsonl.exists():
            return 0
        rows = []
        try:
            with open(jsonl, encoding="utf-8") as fh:
                for line in fh:
                    try:
                        r = json.loads(line)
                    except ValueError:
                        continue
                    if not isinstance(r, dict) or r.get("rating") not in ("up", "down"):
                        continue
                    cites = [{k: s.get(k) for k in ("n", "chunk_id", "source", "title", "date", "quotes", "text")}
                             for s in r.get("sources") or [] if isinstance(s, dict)]
                    rows.append((str(r.get("time") or now()), "import", r.get("session"), r.get("message"),
                                 str(r.get("question") or "")[:MAX_TEXT], str(r.get("answer") or "")[:MAX_TEXT],
                                 1 if r.get("refused") else 0, r.get("reason"),
                                 json.dumps(cites, ensure_ascii=False), r["rating"], str(r.get("time") or now())))
        except OSError:
            log.warning("could not read %s for import", jsonl, exc_info=True)
            return 0

        def work(db):
            key = f"imported:{jsonl.resolve()}"
            if db.execute("SELECT 1 FROM meta WHERE key=?", (key,)).fetchone():
                return 0
            db.executemany("INSERT INTO questions (time, channel, session, message, question, answer, refused, "
                           "reason, citations, rating, rated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
            db.execute("INSERT INTO meta (key, value) VALUES (?, ?)", (key, now()))
            return len(rows)
        return self._run(work, 0)

    # -- reading ----------------------------------------------------------------------------
    def rows(self, refused: bool | None = None, down: bool = False, since: str | None = None,
             until: str | None = None, text: str | None = None, limit: int = 500) -> list[dict]:
        """Logged questions, newest first. `since`/`until`: dates (YYYY-MM-DD, inclusive);
        `text`: a substring of the question, its resolved form or the answer."""
        where, args = [], []
        if refused is not None:
            where.append("refused = ?")
            args.append(1 if refused else 0)
        if down:
            where.append("rating = 'down'")
        if since:
            where.append("time >= ?")
            args.append(str(since)[:10])
        if until:
            where.append("time < ?")
            args.append(str(until)[:10] + "T99")
        if text:
            where.append("(instr(question, ?) > 0 OR instr(coalesce(understood_as, ''), ?) > 0 "
                         "OR instr(coalesce(answer, ''), ?) > 0)")
            args += [text] * 3
        sql = "SELECT * FROM questions" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(int(limit))

        def work(db):
            out = []
            for r in db.execute(sql, args):
                d = dict(r)
                d["refused"] = bool(d["refused"])
                try:
                    d["citations"] = json.loads(d["citations"] or "[]")
                except ValueError:
                    d["citations"] = []
                out.append(d)
            return out
        return self._run(work, [], write=False)

    def count(self) -> int:
        return self._run(lambda db: db.execute("SELECT count(*) FROM questions").fetchone()[0], 0, write=False)

    def gaps(self, threshold: float | None = None, limit: int = 1000, since: str | None = None,
             encode=None) -> list[dict]:
        """知识缺口: the latest `limit` refused questions grouped by meaning with `encode` (the
        embedding model, `gaps.by_meaning`, cosine ≥ threshold, default 0.75), else by character
        bigrams (`group`, Jaccard ≥ threshold, default 0.2); most asked first."""
        rows = [r for r in self.rows(refused=True, since=since, limit=limit) if r.get("reason") not in ("error", "small_talk")]
        questions = [(r.get("understood_as") or r["question"]) for r in rows]
        if encode is not None:
            from .gaps import by_meaning

            return by_meaning(questions, encode, 0.75 if threshold is None else threshold)
        return group(questions, 0.2 if threshold is None else threshold)

    def csv(self, rows: list[dict] | None = None) -> str:
        """The rows (default: all, newest first) as CSV text."""
        rows = self.rows(limit=1_000_000) if rows is None else rows
        out = io.StringIO()
        fields = ["id", "time", "channel", "question", "understood_as", "refused", "reason", "answer",
                  "latency_ms", "rating", "rating_reason", "citations"]
        w = csv.writer(out)
        w.writerow(fields)
        for r in rows:
            cites = "; ".join(f"[{c.get('n')}] {c.get('title') or ''} ({c.get('source')})" for c in r.get("citations") or [])
            w.writerow([_cell(r.get(f)) if f != "citations" else _cell(cites) for f in fields])
        return out.getvalue()


def _cell(value) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


# -- 知识缺口: grouping refused questions -------------------------------------------------------
def bigrams(text: str) -> set[str]:
    chars = [c for c in str(text) if c.isalnum()]
    return {a + b for a, b in zip(chars, chars[1:])} or set(chars)


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def group(questions: list[str], threshold: float = 0.2) -> list[dict]:
    """Single-link groups of questions whose character-bigram Jaccard is at least `threshold`;
    [{"question": the most frequent wording, "count", "questions": [distinct wordings]}], biggest first."""
    grams = [bigrams(q) for q in questions]
    parent = list(range(len(questions)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i
    for i in range(len(questions)):
        for j in range(i):
            if find(i) != find(j) and jaccard(grams[i], grams[j]) >= threshold:
                parent[find(i)] = find(j)
    return summarise(questions, [find(i) for i in range(len(questions))])


def summarise(questions: Sequence[str], labels: Sequence) -> list[dict]:
    """Questions grouped by label, most asked group first: each group's most asked wording
    (the shorter on a tie), its size and its distinct wordings, most asked first."""
    groups: dict = {}
    for q, label in zip(questions, labels):
        groups.setdefault(label, []).append(q)
    out = []
    for members in groups.values():
        counts: dict[str, int] = {}
        for q in members:
            counts[q] = counts.get(q, 0) + 1
        top = max(counts, key=lambda q: (counts[q], -len(q)))
        out.append({"question": top, "count": len(members), "questions": sorted(counts, key=lambda q: -counts[q])})
    out.sort(key=lambda g: (-g["count"], g["question"]))
    return out
