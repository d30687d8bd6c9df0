"""A shortcut in front of textnorm's Traditional→Simplified converter (OpenCC t2s).

OpenCC's pure-Python conversion looks up every substring of a text up to its longest phrase
(14 characters): 30–70 µs for a question, on every question, though almost all of them are
plain Simplified Chinese that t2s leaves as it is. A text changes only where a key whose value
differs from it matches, and such a key can only match where all its characters are in the text.
So one character of each changing key is enough to watch for (the key's own changing character
when it has one: 瞭 in 不瞭解, else its first); a text holding none of them is returned untouched,
and every other text goes to OpenCC. The result is OpenCC's, string for string (tests compare
the two on every dictionary key and the eval questions); 99 % of the bench's questions and 91 %
of the eval questions skip the search.

textnorm.py cannot take this itself (its hash is the index fingerprint: editing it would make
every index be rebuilt), so `install()` puts the shortcut in front of textnorm's converter object.
"""

from __future__ import annotations

from . import textnorm


class QuickT2S:
    """`convert(text)`: OpenCC's `convert`, skipped for a text no changing key can match."""

    def __init__(self, opencc):
        self.opencc = opencc
        self.watched = watched_characters(opencc)

    def convert(self, text: str) -> str:
        if self.watched.isdisjoint(text):
            return text
        return self.opencc.convert(text)


def watched_characters(opencc) -> frozenset[str]:
    """One character of every key of the converter's dictionaries whose value differs from it:
    a character that itself converts (a one-character key) when the key holds one, else its first."""
    if not opencc._dict_init_done:
        opencc._init_dict()
    tables = [table for group in opencc._dict_chain_data for (_, _, table) in group]
    changing = {k for table in tables for k, v in table.items() if len(k) == 1 and k != v}
    watched = set(changing)
    for table in tables:
        for key, value in table.items():
            if key != value and not changing.intersection(key):
                watched.add(key[0])
    return frozenset(watched)


def install() -> None:
    """Put the shortcut in front of textnorm's converter (once; safe to call again)."""
    with textnorm._t2s_lock:
        if not isinstance(textnorm._t2s, QuickT2S):
            textnorm._t2s = QuickT2S(textnorm._t2s)
