"""Known questions: a question worded like a labelled one lifts the passage that answers it.

Writers who never read the code asked hundreds of questions about the seed corpus, each with the
evidence strings of its answer (`eval/`). A new user's question is often worded like one of them
and unlike the passage (外省看病 against 异地就医). This is k-nearest-neighbour learning over those
questions: the cosine of the new question with each known question (the embedding model's own
vectors) above `policy.memory_floor`, times `policy.memory_weight`, is added to the fused score of
the passages holding that known question's evidence (the best known question per passage counts).

The known questions, their evidence and their vectors ship in `chatbot/data/question_memory.npz`
(`chatbot tune --memory`, chatbot/memoryfit.py), which records the files they came from, so that
a held-out file can be shown not to be among them. Evidence is matched to the loaded index by
text, not by chunk id, so a rebuild or another chunking keeps the mapping; a known question whose
evidence no passage of its source file holds is left out (another corpus: no effect). Numpy only.
"""

from __future__ import annotations

import json
import math
import threading
from collections import Counter
from pathlib import Path

import numpy as np

from ..textnorm import keyword_tokens, normalize

NEAR_UNITS = 64  # the nearest known questions whose evidence may lift a unit
NEAR_KEPT = 1024  # questions whose near known questions a bound memory keeps
UNITS_KEPT = 65_536  # units whose evidence strings a bound memory keeps
UNIT_MIN = 8  # a unit this long or longer inside a known question's evidence (evidence spanning two units) holds it
SCAN_LIMIT = 200_000  # passages read to bind known questions when the manifest gives no file rows
MAX_OWNERS = 50  # a known question whose evidence more passages hold is not bound (seed corpus: at most 7)
MEMORY_FILE = Path(__file__).resolve().parent.parent / "data" / "question_memory.npz"


def _unit(x: np.ndarray) -> np.ndarray:
    # np.linalg.norm(x, axis=-1, keepdims=True) of a float array, bit for bit, without its checks
    return x / np.maximum(np.sqrt(np.add.reduce(x * x, axis=-1, keepdims=True)), 1e-12)


def squash(text: str) -> str:
    """Normalised, without spaces: how evidence and passage text are compared."""
    return normalize(text).replace(" ", "")


def _keyed(own_vector: np.ndarray) -> tuple[np.ndarray, bytes]:
    """A question vector as float32 (one row), and its bytes to key what is kept for it by."""
    v = np.asarray(own_vector, dtype=np.float32).reshape(-1)
    return v, v.tobytes()


class Memory:
    """Known questions (vectors, sources, evidence) as saved; `bind` maps them onto an index."""

    def __init__(self, vectors: np.ndarray, sources: list[str], evidence: list[list[str]], meta: dict,
                 questions: list[str] | None = None):
        self.vectors = _unit(np.asarray(vectors, dtype=np.float32))
        self.sources = list(sources)
        self.evidence = [list(e) for e in evidence]
        self.meta = dict(meta)
        # the questions' normalised wording (`Lexical`); None: the model's cosine alone
        self.questions = list(questions) if questions is not None and len(questions) == len(sources) else None

    def __len__(self) -> int:
        return len(self.sources)

    def bind(self, passages, files: dict | None) -> "Bound":
        """The known questions whose evidence a passage of the index holds. Only the passages of
        each question's source file are read (the manifest's rows), so a large index costs no
        more than the seed files it contains; without rows, every passage is read (up to
        SCAN_LIMIT), each once, against all evidence strings at a time (Aho–Corasick). A known
        question whose evidence more than MAX_OWNERS passages hold (text repeated across a large
        corpus) says nothing about which of them answers, and is left out."""
        rows = {}
        for source, info in (files or {}).items():
            span = (info or {}).get("rows") if isinstance(info, dict) else None
            if span and len(span) == 2:
                rows[source] = range(int(span[0]), int(span[1]))
        spans: dict[int, range] = {}
        wanted: dict[int, tuple[str, ...]] = {}
        for j, (source, evidence) in enumerate(zip(self.sources, self.evidence)):
            if source in rows:
                span = rows[source]
            elif rows or len(passages) > SCAN_LIMIT:
                continue  # its file is not in this index, or too many passages to read them all
            else:
                span = range(len(passages))
            strings = tuple(squash(e) for e in evidence if e)
            if strings:
                spans[j], wanted[j] = span, strings
        held = _holders(passages, spans, wanted)
        keep, owners, found = [], [], []
        for j in sorted(held):
            ids = tuple(sorted(held[j]))
            if len(ids) <= MAX_OWNERS:
                keep.append(j)
                owners.append(ids)
                found.append(wanted[j])
        lexical = Lexical([self.questions[j] for j in keep]) if self.questions is not None and keep else None
        return Bound(self.vectors[keep], owners, found, lexical)


def _finder(words: dict):
    """An Aho–Corasick automaton finding each of `words` (non-empty strings), reporting its value."""
    import ahocorasick

    finder = ahocorasick.Automaton()
    for w, value in words.items():
        finder.add_word(w, value)
    if words:
        finder.make_automaton()
    return finder


def _holders(passages, spans: dict[int, range], wanted: dict[int, tuple[str, ...]]) -> dict[int, set[int]]:
    """{known question: ids of the passages within its span whose squashed title and text hold one
    of its evidence strings}; every passage of the spans' union is read once."""
    by_string: dict[str, list[int]] = {}
    anywhere: list[int] = []  # an evidence string that squashes to nothing is in every passage
    for j, strings in wanted.items():
        for w in strings:
            if w:
                by_string.setdefault(w, []).append(j)
            else:
                anywhere.append(j)
    finder = _finder(by_string)
    ids = sorted({i for span in set(spans.values()) for i in span})  # equal spans (a file's rows) read once
    held: dict[int, set[int]] = {}
    for i in ids:
        p = passages[i]
        text = squash(p.title + "\n" + p.text)
        hits = {j for _, js in finder.iter(text) for j in js} if by_string else set()
        for j in hits.union(anywhere):
            if i in spans[j]:
                held.setdefault(j, set()).add(i)
    return held


class Lexical:
    """The known questions' wording as TF-IDF vectors of their keyword tokens (jieba words and
    character pairs, as the keyword search has them). A question sharing a known question's rarer
    words (外省看病, 卡落在家里) is near it even where the embedding model's cosine is not: over the
    ten development files, each left out in turn, the nearest known question by this cosine answers
    from the same passage for 72 % of the questions, by the model's cosine for 67 %."""

    def __init__(self, questions_norm: list[str]):
        counts = [Counter(keyword_tokens(q, normalized=True)) for q in questions_norm]
        df = Counter(t for c in counts for t in c)
        self.n = len(counts)
        self.idf = {t: math.log(self.n / d) for t, d in df.items() if d < self.n}
        postings: dict[str, list[tuple[int, float]]] = {}
        for row, c in enumerate(counts):
            for t, w in self._weights(c).items():
                postings.setdefault(t, []).append((row, w))
        # the postings of every token one after another (CSR by token): one gather per question;
        # per token its idf, first posting and posting count, so that a question's tokens are
        # looked up once
        self.rows = np.array([r for p in postings.values() for r, _ in p], dtype=np.int64)
        self.values = np.array([w for p in postings.values() for _, w in p], dtype=np.float64)
        self.postings: dict[str, tuple[float, int, int]] = {}
        start = 0
        for t, p in postings.items():
            self.postings[t] = (self.idf[t], start, len(p))
            start += len(p)

    def _weights(self, counts: Counter) -> dict[str, float]:
        """(1 + log tf) × idf per known token, the vector of unit length."""
        w = {t: (1 + math.log(c)) * self.idf[t] for t, c in counts.items() if t in self.idf}
        norm = math.sqrt(sum(x * x for x in w.values())) or 1.0
        return {t: x / norm for t, x in w.items()}

    def scores(self, tokens) -> np.ndarray:
        """The TF-IDF cosine of a question's keyword tokens with every known question: `_weights`
        (the same float operations, in one pass over the tokens), times each posting, summed per
        known question in token order (bincount, float64)."""
        postings = self.postings
        w, shifts, lengths, total = [], [], [], 0
        for t, c in Counter(tokens).items():
            found = postings.get(t)
            if found is not None:
                idf, start, length = found
                w.append((1 + math.log(c)) * idf)
                shifts.append(start - total)  # a posting's place in the gather less its place in `rows`
                lengths.append(length)
                total += length
        if not w:
            return np.zeros(self.n, dtype=np.float32)
        norm = math.sqrt(sum(x * x for x in w)) or 1.0
        lengths = np.array(lengths)
        at = np.array(shifts).repeat(lengths)
        at += np.arange(total)
        each = (np.array(w) / norm).repeat(lengths)  # x / norm per token, as `_weights` divides
        return np.bincount(self.rows[at], weights=self.values[at] * each, minlength=self.n).astype(np.float32)


class Bound:
    """Known questions mapped onto one loaded index (with their evidence, squashed, when known)."""

    def __init__(self, vectors: np.ndarray, owners: list[tuple[int, ...]],
                 evidence: list[tuple[str, ...]] | None = None, lexical: Lexical | None = None):
        self.vectors = vectors
        self.lexical = lexical
        self.owners = owners
        self.evidence = evidence if evidence is not None else [()] * len(owners)
        # (known question, passage) pairs flattened, passages numbered compactly: one vectorised max per question
        pairs = [(j, i) for j, ids in enumerate(owners) for i in ids]
        self._pair_question = np.array([j for j, _ in pairs], dtype=np.int64)
        self._passages, compact = np.unique(np.array([i for _, i in pairs], dtype=np.int64), return_inverse=True)
        self._pair_passage = compact.reshape(-1)
        self._at = {p: j for j, p in enumerate(self._passages.tolist())}  # passage id -> its place in `_best`
        # the pairs grouped by passage, for one maximum.reduceat per question (each passage has a pair)
        by_passage = np.argsort(self._pair_passage, kind="stable")
        self._grouped_question = self._pair_question[by_passage]
        self._group_starts = np.flatnonzero(np.diff(self._pair_passage[by_passage], prepend=-1))
        self._has_evidence = np.array([bool(e) for e in self.evidence], dtype=bool)
        self._near: dict[tuple[bytes, float], tuple] = {}  # a question's near known questions, for each unit it scores
        self._near_lock = threading.Lock()
        self._last: tuple[bytes, np.ndarray] | None = None  # the last question's cosines (`_cosines`)
        self._index = None  # every evidence string, to find them in units (`_evidence_index`)
        self._per_unit: dict[str, tuple[str, ...]] = {}  # the evidence strings each unit holds (`_unit_evidence`)

    def __len__(self) -> int:
        return len(self.owners)

    def lift(self, own_vector: np.ndarray, weight: float, floor: float, tokens=None,
             lexical: float = 0.0) -> dict[int, float]:
        """{passage id: weight × (best cosine of the question with a known question it answers − floor)},
        for the known questions above `floor`. Given the question's keyword `tokens` and `lexical` > 0,
        that share of the wording's cosine (`Lexical`) is added to the model's."""
        best = self._best(own_vector, weight, floor, tokens, lexical)
        if best is None:
            return {}
        kept = np.flatnonzero(best > 0)
        return dict(zip(self._passages[kept].tolist(), best[kept].tolist()))

    def lift_for(self, own_vector: np.ndarray, weight: float, floor: float, ids, tokens=None,
                 lexical: float = 0.0) -> list[tuple[int, float]]:
        """`lift` read for the passages `ids` only (a search's candidates): (id, gain) of those
        lifted, in the order of `ids`; the same gains, without a dict of every lifted passage."""
        best = self._best(own_vector, weight, floor, tokens, lexical)
        if best is None:
            return []
        gains, at = best.tolist(), self._at
        return [(i, g) for i in ids if (j := at.get(i)) is not None and (g := gains[j]) > 0]

    def _best(self, own_vector: np.ndarray, weight: float, floor: float, tokens=None,
              lexical: float = 0.0) -> np.ndarray | None:
        """weight × (best cosine with a known question − floor) per passage of `_passages`."""
        if not self.owners or weight <= 0:
            return None
        cos = self._cosines(*_keyed(own_vector))
        if tokens and lexical > 0 and self.lexical is not None:
            cos = cos + np.float32(lexical) * self.lexical.scores(tokens)
        gain = weight * (cos - floor)
        return np.maximum.reduceat(gain[self._grouped_question], self._group_starts)  # best per passage

    def near(self, own_vector: np.ndarray, floor: float) -> tuple[tuple[float, tuple[str, ...]], ...]:
        """(cosine − floor, evidence) of the `NEAR_UNITS` nearest known questions above `floor` with
        evidence; kept per question vector, since every passage an answer quotes asks again."""
        return self._near_entry(own_vector, floor)[0]

    def _near_entry(self, own_vector: np.ndarray, floor: float) -> tuple[tuple, dict[str, float]]:
        """(`near`, each of its evidence strings with the best margin of a near question holding it)."""
        if not self.owners:
            return (), {}
        v, vkey = _keyed(own_vector)
        key = (vkey, floor)
        found = self._near.get(key)
        if found is None:
            cos = self._cosines(v, vkey)
            above = np.flatnonzero((cos > floor) & self._has_evidence)
            above = above[np.argsort(-cos[above], kind="stable")][:NEAR_UNITS]  # nearest first, ties by position
            near = tuple(zip((cos[above] - floor).tolist(), [self.evidence[j] for j in above.tolist()]))
            best: dict[str, float] = {}
            for margin, evidence in near:  # nearest first: the first margin seen is the best
                for e in evidence:
                    best.setdefault(e, margin)
            found = (near, best)
            with self._near_lock:
                if len(self._near) >= NEAR_KEPT:
                    self._near.clear()
                self._near[key] = found
        return found

    def _cosines(self, v: np.ndarray, key: bytes) -> np.ndarray:
        """The question vector `v`'s cosine with every known question (read-only). The last
        question's are kept: `lift` (the search) and `near` (the answer) ask for the same vector."""
        last = self._last
        if last is not None and last[0] == key:
            return last[1]
        cos = self.vectors.dot(_unit(v))  # .dot: @'s BLAS product, with less dispatch
        cos.flags.writeable = False
        self._last = (key, cos)
        return cos

    def unit_lift(self, own_vector: np.ndarray, units_squashed: list[str], weight: float, floor: float) -> list[float]:
        """Per unit of a passage, weight × (best cosine − floor) of the known questions above `floor`
        whose evidence the unit holds: a question worded like a known one is answered by the
        sentence that answered that one (the writers' evidence), not only by the same passage."""
        out = [0.0] * len(units_squashed)
        if not self.owners or weight <= 0 or not units_squashed:
            return out
        best = self._near_entry(own_vector, floor)[1]
        if not best:
            return out
        for k, u in enumerate(units_squashed):
            for e in self._unit_evidence(u):
                margin = best.get(e)
                if margin is not None:
                    out[k] = max(out[k], weight * margin)
        if "" in best:  # an empty evidence string is in every unit
            out = [max(o, weight * best[""]) for o in out]
        return out

    def _unit_evidence(self, unit: str) -> tuple[str, ...]:
        """Every known question's evidence strings that a unit holds or, when the unit is at least
        UNIT_MIN long, lies inside (evidence spanning two units); kept per unit, since passages
        recur across questions (the most recent UNITS_KEPT units)."""
        found = self._per_unit.get(unit)
        if found is None:
            finder, spoken, strings = self._evidence_index()
            held = [e for _, e in finder.iter(unit)] if strings else []
            if len(unit) >= UNIT_MIN and unit in spoken:
                held += [e for e in strings if unit in e]
            found = tuple(dict.fromkeys(held))
            with self._near_lock:
                if len(self._per_unit) >= UNITS_KEPT:
                    self._per_unit.clear()
                self._per_unit[unit] = found
        return found

    def _evidence_index(self):
        """(an Aho–Corasick automaton of every non-empty evidence string, those strings joined by
        new lines, the strings), built on first use."""
        if self._index is None:
            strings = list(dict.fromkeys(e for evidence in self.evidence for e in evidence if e))
            finder = _finder({e: e for e in strings})
            with self._near_lock:
                if self._index is None:
                    self._index = (finder, "\n".join(strings), strings)
        return self._index

def save(path: Path, vectors: np.ndarray, sources: list[str], evidence: list[list[str]],
         questions: list[str], meta: dict) -> None:
    """Write the known questions (vectors as float16) with what they came from."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        np.savez_compressed(fh, vectors=np.asarray(vectors, dtype=np.float16),
                            rows=np.array(json.dumps({"sources": sources, "evidence": evidence,
                                                      "questions": questions}, ensure_ascii=False)),
                            meta=np.array(json.dumps(meta, ensure_ascii=False)))


def load(path: Path, model: str) -> Memory | None:
    """The known questions saved at `path` for `model`; None when missing or made for another model."""
    from .adapter import load_saved

    found = load_saved(path, model, "no known questions at %s; not used", "%s was made with %s, not %s: not used")
    if found is None:
        return None
    arrays, meta = found
    rows = json.loads(str(arrays["rows"]))
    return Memory(arrays["vectors"].astype(np.float32), rows["sources"], rows["evidence"], meta, rows.get("questions"))


class Lazy:
    """The memory bound to a retriever's index on its first question (thread-safe, once)."""

    def __init__(self, memory: Memory | None, index):
        self._memory = memory
        self._index = index
        self._bound: Bound | None = None
        self._lock = threading.Lock()

    def get(self) -> Bound | None:
        if self._memory is None:
            return None
        if self._bound is None:
            with self._lock:
                if self._bound is None:
                    files = (getattr(self._index, "manifest", None) or {}).get("files")
                    self._bound = self._memory.bind(self._index.passages, files if isinstance(files, dict) else None)
        return self._bound


class Fixed:
    """A memory already bound (fitting and tests swap it in for the retriever's own)."""

    def __init__(self, bound: Bound | None):
        self._bound = bound

    def get(self) -> Bound | None:
        return self._bound
