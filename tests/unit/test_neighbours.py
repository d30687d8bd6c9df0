"""English words meet corpus terms by the model's cosine (chatbot/retrieval/neighbours.py):
checked against brute force on seeded vectors; a word seen before is not embedded again."""

import numpy as np

from chatbot.retrieval.neighbours import Neighbours

TERMS = [f"术语{chr(0x4e00 + i)}{chr(0x4e80 + i)}" for i in range(40)]


class _Embedder:
    """Seeded unit vectors per text; counts what it is asked to embed."""

    def __init__(self):
        self.asked: list[str] = []

    def encode(self, texts):
        self.asked += list(texts)
        out = []
        for t in texts:
            v = np.random.default_rng(abs(hash(t)) % 2**32).normal(size=16)
            out.append(v / np.linalg.norm(v))
        return np.asarray(out, dtype=np.float32)


def _brute(embedder, key, per_word, min_cosine):
    sims = embedder.encode([key])[0] @ embedder.encode(TERMS).T
    return [TERMS[j] for j in np.argsort(-sims)[:per_word] if sims[j] >= min_cosine]


def test_nearest_terms_match_brute_force_and_are_remembered():
    embedder = _Embedder()
    near = Neighbours(embedder, lambda: TERMS)
    keys = ["forgot", "lost card", "withdraw"]
    got = near.nearest(keys, per_word=3, min_cosine=-1.0)
    want: list[str] = []
    for k in keys:
        want += [t for t in _brute(_Embedder(), k, 3, -1.0) if t not in want]
    assert got == want
    embedder.asked.clear()
    assert near.nearest(keys, per_word=3, min_cosine=-1.0) == got
    assert embedder.asked == []  # remembered: no second encode
    assert near.nearest(["forgot", "newborn"], per_word=1, min_cosine=-1.0)[0] == want[0]
    assert embedder.asked == ["newborn"]


def test_min_cosine_filters():
    near = Neighbours(_Embedder(), lambda: TERMS)
    assert near.nearest(["forgot"], per_word=2, min_cosine=1.01) == []
