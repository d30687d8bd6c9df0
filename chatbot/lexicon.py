"""jieba's word-frequency dictionary read from disk word by word, for one-shot processes.

jieba loads its whole dictionary (about 580 000 words and prefixes, a 9 MB marshal cache) before
it cuts its first sentence: ~0.7 s, more than half of what `chatbot ask` spends beyond loading
the embedding model (issue 21). A question needs a few hundred of those entries. `use_on_disk()`
gives jieba a mapping that looks words up in an SQLite copy of that same dictionary, remembering
each one it was asked, so segmentation is identical (same words, same counts, same total) and
nothing is loaded up front. The copy lives in the user's cache folder, keyed by jieba's version and
its dictionary file; it is written from the real dictionary on first use (`ensure_copy`, also
called by `chatbot build`). Only `chatbot ask` uses it: long-running processes (the web chat,
eval, bench) load jieba's dictionary as usual, where a dict lookup is faster than SQLite.
Anything that needs the whole dictionary (iterating it, adding a word) gets the real one.
"""

from __future__ import annotations

import os
import sqlite3
import threading

from .wordtags import _dict_path, cache_dir

_MISSING = object()


def _copy_path():
    import hashlib

    import jieba

    path = _dict_path()
    st = os.stat(path)
    key = hashlib.sha256(f"jieba-{jieba.__version__}|{path}|{st.st_size}|{int(st.st_mtime)}".encode()).hexdigest()[:24]
    return cache_dir() / f"jieba-freq-{key}.sqlite"


def ensure_copy() -> "os.PathLike | None":
    """Write the SQLite copy of jieba's dictionary if it is missing; its path, or None if it cannot be written."""
    try:
        path = _copy_path()
        if path.exists():
            return path
        import jieba

        jieba.dt.check_initialized()
        freq, total = jieba.dt.FREQ, jieba.dt.total
        if isinstance(freq, DiskFreq):
            freq = freq.full()
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        con = sqlite3.connect(tmp)
        try:
            con.execute("CREATE TABLE f (w TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID")
            con.execute("CREATE TABLE meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL)")
            con.executemany("INSERT INTO f VALUES (?, ?)", freq.items())
            con.execute("INSERT INTO meta VALUES ('total', ?)", (int(total),))
            con.execute("INSERT INTO meta VALUES ('count', ?)", (len(freq),))
            con.commit()
        finally:
            con.close()
        os.replace(tmp, path)
        return path
    except (OSError, sqlite3.Error):
        return None


class DiskFreq:
    """The part of the dict interface jieba's Tokenizer uses (`in`, `[]`, `get`), from SQLite;
    iteration, `len` and writes switch to the real dictionary."""

    def __init__(self, path, count: int):
        self._con = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self._lock = threading.Lock()
        self._seen: dict[str, int | None] = {}
        self._count = count
        self._full: dict | None = None

    def get(self, word, default=None):
        if self._full is not None:
            return self._full.get(word, default)
        n = self._seen.get(word, _MISSING)
        if n is _MISSING:
            with self._lock:
                row = self._con.execute("SELECT n FROM f WHERE w = ?", (word,)).fetchone()
            n = self._seen[word] = row[0] if row else None
        return default if n is None else n

    def __contains__(self, word) -> bool:
        return self.get(word, _MISSING) is not _MISSING

    def __getitem__(self, word):
        n = self.get(word, _MISSING)
        if n is _MISSING:
            raise KeyError(word)
        return n

    def __bool__(self) -> bool:
        return self._count > 0

    def full(self) -> dict:
        """The real dictionary (loaded by a private jieba Tokenizer, from jieba's own cache)."""
        if self._full is None:
            with self._lock:
                if self._full is None:
                    import jieba

                    t = jieba.Tokenizer()
                    t.initialize()
                    self._full = t.FREQ
        return self._full

    def __len__(self) -> int:
        return len(self.full())

    def __iter__(self):
        return iter(self.full())

    def keys(self):
        return self.full().keys()

    def items(self):
        return self.full().items()

    def values(self):
        return self.full().values()

    def __setitem__(self, word, n) -> None:  # jieba.add_word
        self.full()[word] = n


_installed = threading.Lock()


def use_on_disk() -> bool:
    """Give jieba's default tokenizer the on-disk dictionary (unless it has loaded its own already).
    True when installed; False (jieba loads as usual) when the copy cannot be made or read."""
    import jieba

    with _installed:
        dt = jieba.dt
        if dt.initialized:
            return isinstance(dt.FREQ, DiskFreq)
        try:
            path = _copy_path()
        except OSError:
            return False
        if not path.exists():
            ensure_copy()  # loads jieba's dictionary the usual way this once, and writes the copy
            return False
        try:
            freq = DiskFreq(path, 0)
            with freq._lock:
                meta = dict(freq._con.execute("SELECT k, v FROM meta").fetchall())
            freq._count = int(meta["count"])
            total = int(meta["total"])
        except (sqlite3.Error, KeyError, ValueError):
            return False
        with dt.lock:
            dt.FREQ, dt.total, dt.initialized = freq, total, True
        return True
