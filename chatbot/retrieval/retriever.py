"""Hybrid retrieval: dense FAISS + BM25 over jieba tokens, fused by weighted reciprocal rank,
then a place check that puts passages about the place the user named first."""

from __future__ import annotations

import math
import re
import threading
from functools import lru_cache
from typing import TYPE_CHECKING

from .. import quick_t2s, stages
from ..ingest.chunking import split_sentences
from ..policy import Policy
from ..textnorm import cjk_share, keyword_tokens, normalize, tokenize
from ..types import Hit, Passage, Retrieval
from . import facts
from .places import Place, find_places, missing_places, title_places

if TYPE_CHECKING:
    import numpy as np

    from ..embedder import Embedder
    from ..store.base import SearchIndex


_HAN = re.compile(r"[\u4e00-\u9fff]")
quick_t2s.install()  # OpenCC's substring search skipped for text it cannot change (quick_t2s.py)


class Retriever:
    """Loaded once per process; `search` is safe to call from many threads."""

    def __init__(self, index: SearchIndex, embedder: Embedder, policy: Policy | None = None, adapter=None):
        self.index = index
        self.embedder = embedder
        self.policy = policy or Policy()
        # the fitted query adapter (retrieval/adapter.py) shipped for this embedding model, if any
        self.adapter = adapter if adapter is not None else _default_adapter(embedder, self.policy)
        # the learned question↔unit metric of the quoted-unit choice (chatbot/unitfit.py), if any
        self.unit_metric = _default_unit_metric(embedder, self.policy)
        self._passage_places = _PassagePlaces(index.passages)
        self._memory = _default_memory(embedder, index, self.policy)  # known questions (retrieval/memory.py)
        self.scope = _default_scope(embedder)  # the learned out-of-scope check (retrieval/scope.py)
        self._vectors: dict[str, np.ndarray] = {}  # normalised text -> embedding, for sentence choice
        self._vectors_lock = threading.Lock()
        self._matrices: dict[tuple[str, ...], np.ndarray] = {}  # units' vectors stacked (`_unit_matrix`)
        self._neighbour_index = None  # English word → corpus term matching, built on the first English question
        self._homophones = None  # sound-alike corpus pairs, built on the first question with an unknown pair

    def embed_query(self, normalized_query: str) -> tuple[np.ndarray, np.ndarray]:
        """(the question's own vector, the vector the dense search uses): the second is moved by
        the query adapter when one is loaded, else the same array."""
        vector = self.embedder.encode([normalized_query])
        return vector, (self.adapter.apply(vector) if self.adapter is not None else vector)

    def _own_cosines(self, own: np.ndarray, searched: np.ndarray, ids) -> dict[int, float]:
        """The question's own cosine with each candidate when the search used the adapted vector:
        what the refusal floor and the confidence compare (they were fitted on the model's own
        scale; adapted cosines run lower, 0.27 → 0.20 for the same passage)."""
        return {} if own is searched else self._cosines(own[0], ids)

    def _cosines(self, vector: np.ndarray, ids) -> dict[int, float]:
        """The vector's cosine with each passage id, read from the dense index ({} if it cannot say)."""
        ids = list(ids)
        if not ids:
            return {}
        sims = self.index.dense.similarity(vector, ids)
        if sims is None:
            return {}
        return dict(zip(ids, sims.tolist() if hasattr(sims, "tolist") else map(float, sims)))  # Python floats

    def out_of_scope(self, message_norm: str) -> tuple[float, str] | None:
        """(probability that the message is a doctor's question, another scheme's or not about
        insurance, the refusal kind) by the learned check (retrieval/scope.py); None without one.
        The message's vector is the one kept for it (its own search embedded it already)."""
        if self.scope is None or not message_norm:
            return None
        return self.scope.judge(self._sentence_vectors(message_norm, [])[0])

    def sentence_similarity(self, question_norm: str, sentences_norm: list[str]) -> list[float]:
        """Cosine of the question with each (normalised) sentence: how the answer tells the
        sentence that answers from one that merely shares words (娃 / 学生儿童, 周末 / 工作日)."""
        q, units = self._unit_vectors(question_norm, sentences_norm)
        return [] if units is None else units.dot(q).tolist()

    def metric_similarity(self, question_norm: str, sentences_norm: list[str]) -> list[float]:
        """The learned metric's score of each sentence for the question (`unit_scores`' second
        list); zeros when no metric is loaded."""
        if self.unit_metric is None:
            return [0.0] * len(sentences_norm)
        return self.unit_scores(question_norm, sentences_norm)[1]

    def unit_scores(self, question_norm: str, sentences_norm: list[str]) -> tuple[list[float], list[float] | None]:
        """(the question's cosine with each (normalised) unit, as `sentence_similarity`; the
        learned metric's score of each, Σ_d m_d·q_d·s_d, or None when no metric is loaded), from
        one lookup of the vectors: what the answer's unit choice reads (answer.UnitScores).
        The metric (`unit_metric`; chatbot/unitfit.py) learned from labelled questions which
        dimensions of agreement tell an answering unit."""
        q, units = self._unit_vectors(question_norm, sentences_norm)
        if units is None:
            return [], (None if self.unit_metric is None else [])
        cosines = units.dot(q).tolist()  # as sentence_similarity
        if self.unit_metric is None:
            return cosines, None
        metric = units.dot(q * self.unit_metric).tolist()
        cfg = self.policy
        bound = self._memory.get() if cfg.memory_unit_weight > 0 else None
        if bound:  # the unit that answered a question worded like this one (retrieval/memory.py)
            # units are normalised already: squashed is without spaces
            lift = bound.unit_lift(q, [s.replace(" ", "") for s in sentences_norm], cfg.memory_unit_weight,
                                   cfg.memory_unit_floor)
            metric = [m + g for m, g in zip(metric, lift)]
        return cosines, metric

    def _unit_vectors(self, question_norm: str, sentences_norm: list[str]) -> tuple[np.ndarray, np.ndarray | None]:
        """(question vector, the sentences' vectors stacked as rows; None for no sentence): one
        product per list, not one per sentence. The matrix is kept by the sentences (a passage's units recur)."""
        key = tuple(sentences_norm)
        found = self._matrices.get(key)
        if found is not None:
            return self._sentence_vectors(question_norm, [])[0], found
        q, vectors = self._sentence_vectors(question_norm, sentences_norm)
        if not vectors:
            return q, None
        import numpy as np

        found = np.stack(vectors)
        with self._vectors_lock:
            if len(self._matrices) >= 4096:
                self._matrices.clear()
            self._matrices[key] = found
        return q, found

    def _sentence_vectors(self, question_norm: str, sentences_norm: list[str]):
        """(question vector, sentence vectors). Vectors of sentences and questions are kept
        (passages recur across questions)."""
        vectors = self._vectors
        try:  # every vector kept already (the usual case: the question's is kept by `search`)
            return vectors[question_norm], [vectors[s] for s in sentences_norm]
        except KeyError:
            pass
        missing = [t for t in dict.fromkeys([question_norm, *sentences_norm]) if t not in vectors]
        fresh = dict(zip(missing, self.embedder.encode(missing))) if missing else {}
        with self._vectors_lock:
            vectors.update(fresh)
            while len(vectors) > 20_000:
                vectors.pop(next(iter(vectors)))
            got = {t: fresh.get(t, vectors.get(t)) for t in [question_norm, *sentences_norm]}
        lost = [t for t, v in got.items() if v is None]  # evicted by another thread meanwhile
        if lost:
            got.update(zip(lost, self.embedder.encode(lost)))
        return got[question_norm], [got[s] for s in sentences_norm]

    def _missed(self, i: int, passage: Passage, qplaces: list[Place], broader: bool, memo: "_PlaceMemo") -> tuple[str, ...]:
        """The names of the asked places passage i does not cover; with `broader` (a question about
        rules), a passage whose title names the province covers its cities."""
        named = self._passage_places.get(i)
        miss = memo.sets.get(id(named))
        if miss is None:
            miss = memo.sets[id(named)] = tuple(p.name for p in missing_places(qplaces, list(named)))
        if miss and broader:
            named = title_places(passage.title)
            covered = memo.titles.get(id(named))
            if covered is None:
                covered = memo.titles[id(named)] = not missing_places(qplaces, list(named), broader=True)
            if covered:
                miss = ()
        return miss

    def _states_for_place(self, kind, passage: Passage, qplaces: list[Place]) -> bool:
        """Does the passage state this kind of fact — for the place the user named, if any?

        A phone number counts for 上海 only if the title is about 上海 or the sentence giving the
        number names it: a passage listing 上海 among examples and ending with a national hotline
        does not give Shanghai's number.
        """
        if not facts.states_kept(kind, passage.text):
            return False
        if not qplaces or not missing_places(qplaces, title_places(passage.title)):
            return True
        return any(facts.states_kept(kind, s) and not missing_places(qplaces, places)
                   for s, places in _sentence_places(passage.text))

    def translated(self, norm: str) -> list[str]:
        """Chinese terms the corpus uses for an English question (none when switched off)."""
        if self.policy.translate_weight <= 0:
            return []
        from . import crosslingual  # the dictionary loads on the first English question

        keyword = self.index.keyword
        terms = crosslingual.translate(norm, known=lambda t: keyword.idf(t) > 0, per_phrase=self.policy.translate_terms)
        if self.policy.neighbour_terms:
            terms += [t for t in self._neighbours().terms(norm, self.policy.neighbour_terms, self.policy.neighbour_cosine)
                      if t not in terms]
        return terms

    def pivoted(self, tokens, kw_tokens) -> list[str]:
        """Corpus words sharing a dictionary sense with the question's words the corpus lacks
        (retrieval/pivots.py); none when `policy.pivot_terms` is 0."""
        from .pivots import pivots

        keyword = self.index.keyword
        known = lambda t: keyword.idf(t) > 0  # noqa: E731
        out: list[str] = []
        for t in dict.fromkeys(tokens):
            out += [h for h in pivots(t, known, self.policy.pivot_terms) if h not in kw_tokens and h not in out]
        return out

    def repaired(self, kw_tokens) -> list[str]:
        """Corpus pairs (and their words) for the question's character pairs that no passage holds
        but that sound like one the corpus uses (retrieval/homophones.py)."""
        keyword = self.index.keyword
        missing = [t[1:] for t in kw_tokens if t.startswith("§") and keyword.idf(t) <= 0]
        if not missing:
            return []
        if self._homophones is None:
            from .homophones import Homophones

            with self._vectors_lock:
                if self._homophones is None:
                    self._homophones = Homophones(self._vocabulary)
        out: list[str] = []
        for pair in missing:
            for fixed in self._homophones.repairs(pair):
                if keyword.idf(fixed) > 0:  # a word of the corpus, not a pair across two words
                    out += [t for t in ("§" + fixed, fixed) if t not in out]
        return out

    def _neighbours(self):
        if self._neighbour_index is None:
            from .neighbours import Neighbours

            with self._vectors_lock:
                if self._neighbour_index is None:
                    self._neighbour_index = Neighbours(self.embedder, self._vocabulary)
        return self._neighbour_index

    def _vocabulary(self) -> list[str]:
        """The keyword side's terms, most common first (a backend without a vocabulary: the
        terms of the first passages, by count)."""
        vocabulary = getattr(self.index.keyword, "vocabulary", None)
        if vocabulary is not None:
            return vocabulary()
        from collections import Counter

        counts = Counter(t for p in self.index.passages[:20_000]
                         for t in set(keyword_tokens(p.embed_text_normalized, normalized=True)))
        return [t for t, _ in counts.most_common()]

    def _exact_dense(self, qv: np.ndarray, dense, keyword) -> dict[int, float]:
        seen = {i for i, _ in dense}
        return self._cosines(qv[0], [i for i, _ in keyword if i not in seen])

    def search(self, query: str, k: int | None = None) -> Retrieval:
        cfg = self.policy
        k = k or cfg.top_k
        lap = stages.laps()
        norm = normalize(query)
        tokens = tuple(tokenize(norm, normalized=True))
        qplaces = find_places(norm, original=query)
        n = len(self.index.passages)
        if not norm or n == 0:
            return Retrieval(query, norm, tokens, tuple(p.name for p in qplaces), ())
        depth = min(n, cfg.candidates)
        lap("normalize_tokenize")
        own_qv, qv = self.embed_query(norm)
        with self._vectors_lock:  # the answer's sentence choice needs the same vector again
            self._vectors[norm] = own_qv[0]
        lap("embed")
        overlap = n >= OVERLAP_FROM
        if overlap:  # FAISS (or Milvus) searches in another thread while this one scores keywords
            pending = _dense_pool().submit(self.index.dense.search, qv, depth)
        else:
            ids, scores = self.index.dense.search(qv, depth)
            lap("dense_search")
        share = cjk_share(norm)
        terms = self.translated(norm) if share < 0.5 else []
        worded = None  # the keyword tokens the known questions' wording is compared with (memory.Lexical)
        if terms:  # an English question: its dictionary translation meets the Chinese corpus
            # Chinese words already in the question (ｈｅｎｇｓｈｕｉ 衡水市医保电话) keep their say.
            kw_tokens = [t for t in keyword_tokens(norm, normalized=True, words=tokens) if _HAN.search(t)]
            kw_tokens += [t for term in terms for t in keyword_tokens(term, normalized=True)]
            w_kw = max(cfg.translate_weight, cfg.bm25_weight * share)
            worded = kw_tokens  # its Chinese words and translation meet the known questions' (memory.Lexical)
            if cfg.translate_coverage:
                tokens = tokens + tuple(t for t in terms if t not in tokens)
        else:  # keyword matching means little for untranslated English against a Chinese corpus
            kw_tokens = keyword_tokens(norm, normalized=True, words=tokens)
            if share >= 0.5:  # untranslated English words would meet only the few English known questions
                worded = kw_tokens
            w_kw = cfg.bm25_weight * share
            if cfg.pivot_terms and share >= 0.5:  # words the corpus never uses, by their dictionary senses
                kw_tokens = kw_tokens + self.pivoted(tokens, kw_tokens)
            if cfg.repair_homophones and share >= 0.5:  # pinyin-IME slips (报消 → 报销)
                repaired = self.repaired(kw_tokens)
                kw_tokens = kw_tokens + [t for t in repaired if t not in kw_tokens]
                tokens = tokens + tuple(t for t in repaired if not t.startswith("§") and t not in tokens)
        kid, kscore = self.index.keyword.search(kw_tokens, depth)
        keyword = list(zip(kid.tolist(), kscore.tolist()))  # Python ints and floats, as int(i), float(s)
        lap("keyword_search")
        if overlap:
            ids, scores = pending.result()
            lap("dense_search")  # what is left of the dense search once the keyword search is done
        dense = [(i, s) for i, s in zip(ids[0].tolist(), scores[0].tolist()) if i >= 0]
        fused = fuse(dense, keyword, w_kw, cfg.fusion, cfg.rrf_k, self._exact_dense(qv, dense, keyword))
        own = self._own_cosines(own_qv, qv, fused)
        bound = self._memory.get() if cfg.memory_weight > 0 else None
        if bound:  # a question worded like a known one lifts the passage that answered it (retrieval/memory.py)
            for i, gain in bound.lift_for(own_qv[0], cfg.memory_weight, cfg.memory_floor, fused, worded,
                                          cfg.memory_lexical):
                f, ds, ks, dr, kr = fused[i]
                fused[i] = (f + gain, ds, ks, dr, kr)

        needs = facts.required(norm)
        # A question about rules (no office, phone number or figure of the place) is answered by a
        # passage whose title names its province too (a province merely listed in the body, 如浙江、
        # 广东, does not make a passage about 杭州).
        broader = cfg.province_covers_city and bool(qplaces) and facts.about_rules(norm, cfg)
        passages = self.index.passages
        if qplaces or needs:
            rows = self._checked(fused, qplaces, needs, broader)
        else:  # nothing to check: every rank_key flag and penalty is off, so the fused score alone ranks
            # (a stable sort: ties keep candidate order); only the first k are read below
            rows = [(i, (), ()) for i in sorted(fused, key=lambda i: -fused[i][0])[:max(k, 1)]]
        top = []
        for i, miss, lacks in rows[:max(k, 1)]:  # only the first k become Hits
            score, ds, ks, dr, kr = fused[i]
            top.append(Hit(passages[i], score, own.get(i, ds), ks, dr, kr, miss, lacks))
        elsewhere = max((fused[i][0] for i, miss, _ in rows if miss), default=0.0) if qplaces else 0.0
        lap("fusion_checks")
        return Retrieval(query, norm, tokens, tuple(p.name for p in qplaces), tuple(top), elsewhere=elsewhere)

    def _checked(self, fused: dict[int, tuple], qplaces: list[Place], needs, broader: bool) -> list[tuple]:
        """The candidates as (id, places missed, facts lacking), ranked by `rank_key` (the fused
        score less the place and fact penalties); ties keep candidate order, as a stable sort would."""
        cfg = self.policy
        passages = self.index.passages
        rank = rank_key(cfg.place_penalty, cfg.fact_penalty)
        memo = self._passage_places.memo(qplaces, broader) if qplaces else None
        rows = []
        for position, (i, row) in enumerate(fused.items()):
            miss = ()
            if memo is not None:
                miss = memo.passages.get(i)
                if miss is None:
                    miss = memo.keep(i, self._missed(i, passages[i], qplaces, broader, memo))
            lacks = tuple(k.name for k in needs if not self._states_for_place(k, passages[i], qplaces)) if needs else ()
            rows.append((rank(row[0], miss, lacks), position, i, miss, lacks))
        rows.sort()
        return [(i, miss, lacks) for _, _, i, miss, lacks in rows]


# From this many passages on, the dense search (FAISS's HNSW search releases the GIL) runs in a
# worker thread while the calling thread does the keyword search, so that a question waits for the
# slower of the two rather than for both. Below, the dense search takes less than a thread handoff
# is worth (exact search over at most 10 000 vectors, or a small graph).
OVERLAP_FROM = 50_000
_pool = None
_pool_lock = threading.Lock()


def _dense_pool():
    global _pool
    if _pool is None:
        with _pool_lock:
            if _pool is None:
                from concurrent.futures import ThreadPoolExecutor

                _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dense-search")
    return _pool


def _default_adapter(embedder, policy: Policy):
    from . import adapter

    return adapter.load(adapter.ADAPTER_FILE, getattr(embedder, "model_name", ""), policy.adapter_weight)


def _default_memory(embedder, index, policy: Policy):
    from . import memory

    found = memory.load(memory.MEMORY_FILE, getattr(embedder, "model_name", "")) if policy.memory_weight > 0 else None
    return memory.Lazy(found, index)


def _default_scope(embedder):
    from . import scope

    return scope.load(scope.SCOPE_FILE, getattr(embedder, "model_name", ""))


def _default_unit_metric(embedder, policy: Policy):
    if not policy.unit_metric:
        return None
    from . import adapter

    found = adapter.load_array(adapter.UNIT_METRIC_FILE, getattr(embedder, "model_name", ""))
    return None if found is None else found[0]


def order_key(place_penalty: float, fact_penalty: float):
    """Sort key: the fused score less a penalty for a passage that misses a place the user named
    and one for a passage lacking the kind of fact asked for (a phone number). An infinite
    penalty is a hard rule: such passages go after every passage without the flaw."""
    rank = rank_key(place_penalty, fact_penalty)
    return lambda h: rank(h.score, h.missing, h.lacks)


def rank_key(place_penalty: float, fact_penalty: float):
    """`order_key` as a function of (score, missing, lacks): how the search ranks its candidates
    before any Hit exists."""
    p_hard, f_hard = math.isinf(place_penalty), math.isinf(fact_penalty)
    p_soft = 0.0 if p_hard else place_penalty
    f_soft = 0.0 if f_hard else fact_penalty

    def rank(score: float, missing, lacks) -> tuple:
        miss, lacks = bool(missing), bool(lacks)
        return (p_hard and miss, f_hard and lacks, -(score - p_soft * miss - f_soft * lacks))
    return rank


def fuse(dense: list[tuple[int, float]], keyword: list[tuple[int, float]], w_kw: float,
         method: str = "score", rrf_k: float = 60.0, extra_dense: dict[int, float] | None = None) -> dict[int, tuple]:
    """Merge the two ranked lists into {id: (fused, dense_score, keyword_score, dense_rank, keyword_rank)}.

    "score": cosine + w_kw · BM25/max(BM25) — keeps the margins that ranks throw away (a passage
    whose BM25 score is twice the next one's should win a near-tie on cosine).
    "rrf": weighted reciprocal rank fusion, 1/(k + rank).
    A passage only keyword search found is scored with its exact cosine (`extra_dense`) when the
    index can give it, else with the lowest dense score seen; no rank credit either way.
    """
    d_found = {i: (r, s) for r, (i, s) in enumerate(dense, 1)}   # id -> (rank, score); the last of a repeat, as dict()
    k_found = {i: (r, s) for r, (i, s) in enumerate(keyword, 1)}
    exact = extra_dense or {}
    d_floor = min(s for _, s in d_found.values()) if d_found else 0.0
    k_max = max(s for _, s in k_found.values()) if k_found else 0.0
    rrf = method == "rrf"
    out = {}
    for i in d_found.keys() | k_found.keys():   # a set's order: it decides ties in the search's stable sort
        found = d_found.get(i)
        if found is None:
            dr, ds, dense_score = None, exact.get(i, d_floor), exact.get(i, 0.0)
        else:
            dr, ds = found
            dense_score = ds
        found = k_found.get(i)
        kr, ks = (None, 0.0) if found is None else found
        if rrf:
            f = (1.0 / (rrf_k + dr) if dr is not None else 0.0) + (w_kw / (rrf_k + kr) if kr is not None else 0.0)
        else:
            f = ds + (w_kw * ks / k_max if k_max > 0 else 0.0)
        out[i] = (f, dense_score, ks, dr, kr)
    return out


# Per-text results the fact-and-place check needs again and again (passages recur across
# questions): computed once, kept for the most recent texts (titles: places.title_places).
@lru_cache(maxsize=8192)
def _sentence_places(text: str) -> tuple[tuple[str, list[Place]], ...]:
    """(normalised sentence, places it names) for each sentence of a passage."""
    return tuple((s, find_places(s)) for s in (normalize(x) for x in split_sentences(text)))


class _PassagePlaces:
    """Places named in each passage, computed on first need and cached; equal place sets are one
    tuple, so that a question's place check is done once per set (keyed by identity)."""

    def __init__(self, passages: list[Passage]):
        self._passages = passages
        self._cache: dict[int, tuple[Place, ...]] = {}
        self._sets: dict[tuple[Place, ...], tuple[Place, ...]] = {}
        self._memos: dict[tuple, _PlaceMemo] = {}
        self._lock = threading.Lock()

    def memo(self, asked: list[Place], broader: bool) -> "_PlaceMemo":
        """Where to keep what the `asked` places miss, read `broader` or not: questions naming the
        same places share it (the most recent 4 096 place lists)."""
        key = (tuple((p.name, p.codes) for p in asked), broader)
        found = self._memos.get(key)
        if found is None:
            with self._lock:
                if len(self._memos) >= 4096:
                    self._memos.clear()
                found = self._memos.setdefault(key, _PlaceMemo())
        return found

    def get(self, i: int) -> tuple[Place, ...]:
        found = self._cache.get(i)
        if found is None:
            found = tuple(find_places(self._passages[i].embed_text_normalized))
            with self._lock:
                found = self._cache[i] = self._sets.setdefault(found, found)
        return found


class _PlaceMemo:
    """What one list of asked places misses (`Retriever._missed`), kept across the questions naming
    it: by passage (the names missed), by passage place set and by title place set (by identity of
    the interned sets: the names missed, whether the title covers the places broadly)."""

    PASSAGES_KEPT = 100_000  # passages whose result one place list keeps

    def __init__(self):
        self.passages: dict[int, tuple[str, ...]] = {}
        self.sets: dict[int, tuple[str, ...]] = {}
        self.titles: dict[int, bool] = {}

    def keep(self, i: int, missed: tuple[str, ...]) -> tuple[str, ...]:
        if len(self.passages) >= self.PASSAGES_KEPT:
            self.passages.clear()
        self.passages[i] = missed
        return missed
