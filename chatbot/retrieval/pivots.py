"""Chinese words the corpus never uses, met through their English dictionary senses.

A question's word that no passage contains (出世, 闺女, 娃) shares an English sense in CC-CEDICT
with words the corpus does use (出世 "to be born" → 出生; 闺女 "daughter" → 女儿): each such word
adds the corpus's best-ranked headwords of its one-word senses to the keyword query. The same
dictionary and ranking as the English path (crosslingual.py: jieba frequency, earlier sense,
multi-character); nothing is listed by hand. Off by default (`Policy.pivot_terms`): on the held-out
dev3 it moved recall@1 down while recall@5 and answer_hit rose (docs/quality.md).

The dictionary's senses and its English→headword table are kept in an SQLite file in the user's
cache folder (keyed by the CC-CEDICT file), written on first use, so that a
question looks up its few words instead of parsing the dictionary (1–2 s) in every process.
"""

from __future__ import annotations

import os
import re
import sqlite3
import threading
from functools import lru_cache

from . import crosslingual

SENSES = 4  # a word's first senses only: later ones are rare uses
_HAN2 = re.compile(r"^[\u4e00-\u9fff]{2,}$")
_lock = threading.Lock()
_con: sqlite3.Connection | None = None


def _copy_path():
    import hashlib

    from ..wordtags import cache_dir

    path = crosslingual._cedict_path()
    st = os.stat(path)
    key = hashlib.sha256(f"cedict-senses-1|{path}|{st.st_size}|{int(st.st_mtime)}".encode()).hexdigest()[:24]
    return cache_dir() / f"cedict-senses-{key}.sqlite"


def ensure_copy():
    """Write the SQLite copy of the dictionary's senses if it is missing; its path, or None if
    the dictionary or the cache folder is not available."""
    try:
        path = _copy_path()
        if path.exists():
            return path
        senses: dict[str, list[str]] = {}
        with open(crosslingual._cedict_path(), encoding="utf-8") as f:
            for line in f:
                m = crosslingual._ENTRY.match(line) if not line.startswith("#") else None
                if m and crosslingual._HAN.match(m.group(2)):
                    for d in m.group(4).split("/"):
                        senses.setdefault(m.group(2), []).extend(crosslingual._phrases(d))
        table = crosslingual.table()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        con = sqlite3.connect(tmp)
        try:
            con.execute("CREATE TABLE s (head TEXT NOT NULL, n INTEGER NOT NULL, phrase TEXT NOT NULL, PRIMARY KEY (head, n)) WITHOUT ROWID")
            con.execute("CREATE TABLE p (phrase TEXT NOT NULL, head TEXT NOT NULL, rank REAL NOT NULL, PRIMARY KEY (phrase, head)) WITHOUT ROWID")
            con.executemany("INSERT INTO s VALUES (?, ?, ?)", ((h, n, p) for h, ps in senses.items()
                                                                for n, p in enumerate(dict.fromkeys(ps)) if n < SENSES and " " not in p))
            con.executemany("INSERT INTO p VALUES (?, ?, ?)", ((p, h, r) for p, heads in table.items() if " " not in p
                                                                for h, r in heads.items() if len(h) >= 2))
            con.commit()
        finally:
            con.close()
        os.replace(tmp, path)
        return path
    except (OSError, RuntimeError, sqlite3.Error):
        return None


def _connection() -> sqlite3.Connection | None:
    global _con
    if _con is None:
        with _lock:
            if _con is None:
                path = ensure_copy()
                if path is None:
                    return None
                _con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    return _con


@lru_cache(maxsize=8192)
def _candidates(word: str) -> tuple[str, ...]:
    """Headwords sharing one of the word's first one-word senses, best first per sense."""
    con = _connection()
    if con is None:
        return ()
    with _lock:
        phrases = [p for (p,) in con.execute("SELECT phrase FROM s WHERE head = ? ORDER BY n", (word,))]
        out: list[str] = []
        for p in phrases:
            out += [h for (h,) in con.execute("SELECT head FROM p WHERE phrase = ? ORDER BY rank", (p,))
                    if h != word and h not in out]
    return tuple(out)


def pivots(word: str, known, per_word: int) -> list[str]:
    """Up to `per_word` words the corpus uses (`known(term)`) for a Chinese word it does not."""
    if per_word <= 0 or not _HAN2.match(word) or known(word):
        return []
    return [h for h in _candidates(word) if known(h)][:per_word]
