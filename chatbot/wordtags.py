"""jieba's part-of-speech tags of a few words, without loading `jieba.posseg` on every start.

`jieba.posseg` parses jieba's whole dictionary (about 350 000 lines, ~0.5 s) into a tag table
when imported; the place finder needs the tags of about 3 000 county short names. They are read
once from `jieba.posseg` and kept in a small file under the user's cache folder, keyed by
jieba's version, its dictionary file (path, size, mtime) and the words asked, so the values are
always exactly what `jieba.posseg.dt.word_tag_tab` holds (the program adds no user words). When
the cache cannot be written, the tags are simply read from `jieba.posseg` every time.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Iterable


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "chatbot"


def _dictionary_key() -> str:
    import jieba

    path = _dict_path()
    st = os.stat(path)
    return f"jieba-{jieba.__version__}|{path}|{st.st_size}|{int(st.st_mtime)}"


def _dict_path() -> str:
    import jieba

    if jieba.dt.dictionary and jieba.dt.dictionary != jieba.DEFAULT_DICT:
        return os.path.abspath(jieba.dt.dictionary)
    return os.path.join(os.path.dirname(os.path.abspath(jieba.__file__)), jieba.DEFAULT_DICT_NAME)


def _from_posseg(words: list[str]) -> dict[str, str]:
    import jieba.posseg

    table = jieba.posseg.dt.word_tag_tab if hasattr(jieba.posseg.dt, "word_tag_tab") else {}
    return {w: table[w] for w in words if w in table}


def word_tags(words: Iterable[str]) -> dict[str, str]:
    """{word: tag} for those of `words` that jieba's dictionary tags (as `jieba.posseg` has them).
    A word list this process has read already is answered from memory (most recent KEPT lists)."""
    words = sorted(set(words))
    key = tuple(words)
    found = _kept.get(key)
    if found is None:
        found = _kept[key] = _read(words)
        if len(_kept) > KEPT:
            _kept.pop(next(iter(_kept)))
    return dict(found)


KEPT = 4096
_kept: dict[tuple[str, ...], dict[str, str]] = {}


def _read(words: list[str]) -> dict[str, str]:
    """`word_tags` from the cache file for these words, written first if missing."""
    try:
        key = hashlib.sha256((_dictionary_key() + "\n" + "\n".join(words)).encode("utf-8")).hexdigest()[:24]
    except OSError:
        return _from_posseg(words)
    path = cache_dir() / f"jieba-tags-{key}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    tags = _from_posseg(words)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(tags, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        pass
    return tags
