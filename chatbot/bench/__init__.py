"""`chatbot bench`: what indexing and answering cost, from the real corpus to a million passages.

Per corpus size it measures build throughput, the query embedding alone and the whole answer
(normalise, embed, dense + keyword search, fusion, checks, answer composition) in the same run,
so their ratio is fair on a busy machine; the recall and speedup of the approximate index
against exact search; index bytes per passage; and process memory. Once: cold start (a fresh
process until its first answer) and the speedup of an incremental rebuild.

Sizes up to the real corpus mean the real corpus, built and answered through the same
`build`/`QA` objects as `chatbot build` and `chatbot ask`. Larger sizes are synthetic passages:
real titles and real sentences recombined. Embedding a million of them on two cores would take
hours, so their vectors are *derived* (a weighted sum of the real embeddings of their title and
sentences, plus noise whose size is calibrated on synthetic passages that are embedded for real),
and the parse, embed and tokenise share of their build time is extrapolated from those real
ones; the output says so. Everything else (BM25 and FAISS index construction, every query) runs
for real at full size.
"""

from __future__ import annotations

import gc
import json
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..config import PROJECT_ROOT, Config
from ..policy import Policy

DEFAULT_SIZES = "105,100000,1000000"
MAX_SIZE = 5_000_000
WARMUP = 5
SYNTHETIC_PAGE_ITEMS = 20      # items per synthetic portal page, like the real pages
ANN_K = 10
MILVUS_LITE_MAX = 100_000      # larger synthetic sizes take hours on Milvus Lite (pure Python)
MEMORY_LIMIT_MB = 8 * 1024

# Questions a user might type that no title states: English, Traditional, colloquial.
EXTRA_QUESTIONS = [
    "How do I pay for basic medical insurance?",
    "What is the phone number of the medical insurance bureau?",
    "醫保斷繳了怎麼辦",
    "異地就醫怎麼報銷",
    "衡水医保电话",
    "新生儿医保怎么办理",
    "灵活就业人员医保怎么交",
    "医保卡丢了怎么补办",
    "居民医保一年交多少钱",
    "医保个人账户的钱能取出来吗",
    "门诊慢特病报销比例是多少",
    "大病保险什么时候开始报销",
]


def add_arguments(p) -> None:
    p.add_argument("--sizes", default=DEFAULT_SIZES,
                   help="comma-separated corpus sizes in passages; a size up to the real corpus means the real "
                        f"corpus itself, larger ones are synthetic (default {DEFAULT_SIZES})")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--queries", type=int, default=100, metavar="N", help="timed questions per size (default 100)")
    p.add_argument("--plot", metavar="PATH", default=str(PROJECT_ROOT / "artifacts" / "bench.png"),
                   help="where to write the PNG plot (default artifacts/bench.png); '' for none")
    p.add_argument("--seed", type=int, default=0, help="seed for synthetic passages, noise and question order")
    p.add_argument("--questions", metavar="FILE",
                   help="questions to time (JSONL with a 'query' field, or one per line); default: the corpus's "
                        "own titles, variants of them and a few English/Traditional questions")
    p.add_argument("--embed-sample", type=int, default=2000, metavar="N",
                   help="synthetic passages embedded for real, to extrapolate build cost and calibrate derived "
                        "vectors (default 2000)")
    p.add_argument("--synthetic-files", type=int, default=20, metavar="N",
                   help="synthetic portal pages added to the real corpus for the incremental rebuild (default 20)")
    p.add_argument("--cold-runs", type=int, default=1, metavar="N", help="cold starts to time; the median is kept")
    p.add_argument("--no-cold-start", action="store_true", help="skip the cold-start measurement")
    p.add_argument("--no-incremental", action="store_true", help="skip the incremental-rebuild measurement")
    p.add_argument("--workdir", metavar="DIR", help="scratch folder (default: a temporary folder, removed after)")
    p.add_argument("--out", metavar="FILE", help="also write the JSON results to FILE")


# ---------------------------------------------------------------- small helpers

def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else float("nan")


def _ms(values: list[float], q: float = 50) -> float:
    return round(_pct(values, q) * 1e3, 4)


def _rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


def _peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB


def _say(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def machine() -> dict:
    """What the figures were measured on (they mean little without it)."""
    import faiss
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "faiss": getattr(faiss, "__version__", "?"),
        "load_avg_1m_at_start": round(load[0], 2),
    }


class _CallCounter:
    """Counts index builds/loads and model loads while the timed questions run: answering must
    be a lookup in structures built once, never a rebuild (BM25 rebuilt per query is a common fault)."""

    TARGETS = [("chatbot.store.keyword", "KeywordIndex", "from_tokens"), ("chatbot.store.files.dense", "DenseIndex", "build"),
               ("chatbot.store.files.store", None, "load_index"), ("chatbot.embedder", None, "load_sentence_transformer")]

    def __init__(self):
        self.calls = Counter()
        self._saved = []

    def __enter__(self):
        import importlib

        for mod_name, cls_name, attr in self.TARGETS:
            mod = importlib.import_module(mod_name)
            owner = getattr(mod, cls_name) if cls_name else mod
            raw = owner.__dict__[attr]
            func = raw.__func__ if isinstance(raw, classmethod) else raw
            name = f"{cls_name + '.' if cls_name else ''}{attr}"

            def counted(*a, __f=func, __n=name, **kw):
                self.calls[__n] += 1
                return __f(*a, **kw)

            setattr(owner, attr, classmethod(counted) if isinstance(raw, classmethod) else counted)
            self._saved.append((owner, attr, raw))
        return self

    def __exit__(self, *exc):
        for owner, attr, raw in reversed(self._saved):
            setattr(owner, attr, raw)
        self._saved.clear()

    @property
    def total(self) -> int:
        return sum(self.calls.values())


# ---------------------------------------------------------------- questions

def question_pool(titles: list[str], extra_file: str | None, seed: int) -> list[str]:
    """Distinct questions (a repeated one would hit caches a real user's question does not)."""
    if extra_file:
        out = []
        with open(extra_file, encoding="utf-8") as fh:
            for line in fh:
                line = line.strip()
                if not line:
                    continue
                if line.startswith("{"):
                    line = str(json.loads(line).get("query", "")).strip()
                if line:
                    out.append(line)
    else:
        base = [t.strip() for t in titles if len(t.strip()) >= 4]
        out = list(EXTRA_QUESTIONS) + base
        out += ["请问" + t for t in base] + [t.rstrip("?？") + "？" for t in base] + [t + "呢" for t in base]
    out = list(dict.fromkeys(out))
    np.random.default_rng(seed).shuffle(out)
    return out


def _take(pool: list[str], n: int, skip: int = 0) -> list[str]:
    """n questions from the pool after `skip`, cycling when the pool is short."""
    if not pool:
        return []
    return [pool[(skip + i) % len(pool)] for i in range(n)]


# ---------------------------------------------------------------- corpus material

_ENDS = "。！？；!?;"  # a sentence ending here ends a jieba block and a CJK run: its tokens add up


@dataclass
class Material:
    """Real pieces to recombine: titles and sentences, their keyword tokens and real embeddings."""

    titles: list[str]
    sentences: list[str]
    vocab: dict[str, int]
    piece_ids: np.ndarray       # flat token ids of every piece (titles first, then sentences)
    piece_offsets: np.ndarray   # piece p's tokens are piece_ids[offsets[p]:offsets[p+1]]
    vectors: np.ndarray         # (pieces, d) real embeddings of the normalised pieces
    lengths: np.ndarray         # characters per piece
    embed_s: float = 0.0

    @property
    def n_titles(self) -> int:
        return len(self.titles)


def material(documents_dir: Path, embedder) -> Material:
    from ..ingest.chunking import split_sentences
    from ..ingest.documents import load_folder
    from ..textnorm import keyword_tokens, normalize

    files, _ = load_folder(documents_dir)
    docs = [d for f in files for d in f.documents]
    titles = list(dict.fromkeys(d.title.strip() for d in docs if len(d.title.strip()) >= 4))
    sentences = list(dict.fromkeys(
        s for d in docs for s in split_sentences(d.text) if 6 <= len(s) <= 160 and s[-1] in _ENDS))
    if not titles or not sentences:
        raise ValueError(f"no titles or sentences to recombine in {documents_dir}")
    pieces = [normalize(x) for x in titles + sentences]
    vocab: dict[str, int] = {}
    ids, offsets = [], [0]
    for text in pieces:
        ids.extend(vocab.setdefault(t, len(vocab)) for t in keyword_tokens(text, normalized=True))
        offsets.append(len(ids))
    t = time.perf_counter()
    vectors = embedder.encode(pieces)
    embed_s = time.perf_counter() - t
    return Material(titles, sentences, vocab, np.asarray(ids, dtype=np.int32), np.asarray(offsets, dtype=np.int64),
                    np.ascontiguousarray(vectors, dtype=np.float32), np.asarray([len(x) for x in titles + sentences]),
                    embed_s)


@dataclass
class Layout:
    """n synthetic passages: each a real title and 1–5 real sentences, within the chunk size."""

    title: np.ndarray       # (n,) piece id of the title
    sents: np.ndarray       # (n, 5) piece ids of the sentences, -1 where unused

    def __len__(self) -> int:
        return len(self.title)


def layout(m: Material, n: int, rng: np.random.Generator, max_chars: int) -> Layout:
    title = rng.integers(0, m.n_titles, size=n).astype(np.int32)
    sents = rng.integers(m.n_titles, len(m.lengths), size=(n, 5)).astype(np.int32)
    want = rng.integers(1, 6, size=n)
    cum = np.cumsum(m.lengths[sents], axis=1)
    keep = (np.arange(5)[None, :] < want[:, None]) & (cum <= max_chars)
    keep[:, 0] = True
    return Layout(title, np.where(keep, sents, -1).astype(np.int32))


def _pieces(lay: Layout, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """(flat piece ids in passage order, pieces per passage) for passages [start, end)."""
    grid = np.concatenate([lay.title[start:end, None], lay.sents[start:end]], axis=1)
    mask = grid >= 0
    return grid[mask], mask.sum(axis=1)


def _ranges(starts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    """Concatenation of arange(s, s + l) for each (s, l), without a Python loop."""
    total = int(lens.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    shift = np.repeat(starts - np.concatenate([[0], np.cumsum(lens)[:-1]]), lens)
    return shift + np.arange(total, dtype=np.int64)


def layout_tokens(m: Material, lay: Layout, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """(flat token ids, tokens per passage) of passages [start, end): their pieces' tokens in order."""
    flat, per = _pieces(lay, start, end)
    plen = np.diff(m.piece_offsets)
    lens = plen[flat]
    ids = m.piece_ids[_ranges(m.piece_offsets[flat], lens)]
    doc_len = np.add.reduceat(lens, np.concatenate([[0], np.cumsum(per)[:-1]])) if len(per) else np.zeros(0, np.int64)
    return ids, doc_len


def layout_text(m: Material, lay: Layout, i: int) -> tuple[str, str]:
    """(title, text) of synthetic passage i."""
    return m.titles[lay.title[i]], "".join(m.sentences[s - m.n_titles] for s in lay.sents[i] if s >= 0)


def derive_vectors(m: Material, lay: Layout, start: int, end: int, sigma: float, rng: np.random.Generator,
                   out: np.ndarray | None = None) -> np.ndarray:
    """Vectors for passages [start, end): the character-weighted sum of the real embeddings of
    their title and sentences, plus isotropic noise of scale `sigma`, L2-normalised."""
    d = m.vectors.shape[1]
    grid = np.concatenate([lay.title[start:end, None], lay.sents[start:end]], axis=1)
    w = np.where(grid >= 0, m.lengths[np.maximum(grid, 0)], 0).astype(np.float32)
    v = np.zeros((end - start, d), dtype=np.float32)
    for j in range(grid.shape[1]):
        v += w[:, j:j + 1] * m.vectors[np.maximum(grid[:, j], 0)]
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    if sigma > 0:
        v += rng.standard_normal(v.shape, dtype=np.float32) * np.float32(sigma)
        v /= np.linalg.norm(v, axis=1, keepdims=True)
    if out is not None:
        out[:] = v
        return out
    return v


# ---------------------------------------------------------------- synthetic documents (files)

def write_pages(m: Material, folder: Path, n_files: int, rng: np.random.Generator, prefix: str = "synthetic") -> int:
    """Synthetic portal pages in the real pages' format (main article, 相关推荐, dated items)."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(n_files):
        lines = [m.titles[int(rng.integers(m.n_titles))], ""]
        for s in rng.integers(0, len(m.sentences), size=int(rng.integers(4, 11))):
            lines += [m.sentences[s], ""]
        lines += ["相关推荐", ""]
        for _ in range(SYNTHETIC_PAGE_ITEMS):
            lines += [m.titles[int(rng.integers(m.n_titles))], ""]
            lines += ["".join(m.sentences[s] for s in rng.integers(0, len(m.sentences), size=int(rng.integers(1, 4)))), ""]
            lines += [f"健康新闻 2025-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d}", ""]
        (folder / f"{prefix}_{f:05d}.txt").write_text("\n".join(lines), encoding="utf-8")
    return n_files


# ---------------------------------------------------------------- measuring answers

@dataclass
class Timings:
    embed: list[float] = field(default_factory=list)    # per question: the better of two timings
    answer: list[float] = field(default_factory=list)   # per question: the better of two timings
    answer_all: list[float] = field(default_factory=list)  # every whole-answer timing, for p95
    stages: dict = field(default_factory=dict)
    index_calls: int = 0


def time_questions(qa, embedder, questions: list[str], warmup: list[str]) -> Timings:
    """Whole answers (QA.ask) and the query embedding alone, question by question, same run.

    Each is timed twice per question, alternately (answer, embed, answer, embed: each follows
    the other, so neither runs on caches the other just warmed), and the better timing kept: on
    a shared machine, other processes' bursts otherwise decide the ratio. Every use of a question gets a different number of trailing spaces, which
    normalisation strips, so that none is served from the per-text conversion cache."""
    from ..textnorm import normalize

    for q in warmup:
        qa.ask(q)
        embedder.encode([normalize(q)])
    t = Timings()
    clock = time.perf_counter
    with _CallCounter() as counter:
        for q in questions:
            norm = normalize(qa.prepare(q)[0] + "  ")   # exactly the text `ask` embeds
            a = clock(); qa.ask(q); b = clock()
            embedder.encode([norm]); c = clock()
            qa.ask(q + " "); d = clock()
            embedder.encode([norm]); e = clock()
            t.answer.append(min(b - a, d - c))
            t.embed.append(min(c - b, e - d))
            t.answer_all += [b - a, d - c]
    t.index_calls = counter.total
    t.stages = time_stages(qa, questions)
    return t


def time_stages(qa, questions: list[str]) -> dict:
    """p50 of each stage of an answer. The parts before the search are timed one by one; then
    `ask` runs again with the query vector already known, its search and composition timed by
    wrapping them where `ask` calls them (whatever their signatures)."""
    from .. import service
    from ..retrieval.places import find_places
    from ..textnorm import keyword_tokens, normalize, tokenize

    r = qa.retriever
    idx = r.index
    depth = min(len(idx.passages), qa.policy.candidates)
    parts = {k: [] for k in ("normalize_tokenize", "embed", "dense_search", "keyword_search", "search_total", "compose")}
    vectors = {}
    for q in questions:
        text = qa.prepare(q)[0] + "   "  # trailing spaces: see time_questions
        a = time.perf_counter()
        norm = normalize(text)
        words = tokenize(norm, normalized=True)
        kw = keyword_tokens(norm, normalized=True, words=words)
        find_places(norm)
        b = time.perf_counter()
        vec = r.embed_query(norm)
        c = time.perf_counter()
        idx.dense.search(vec, depth)
        d = time.perf_counter()
        idx.keyword.search(kw, depth)
        e = time.perf_counter()
        vectors[norm] = vec
        parts["normalize_tokenize"].append(b - a)
        parts["embed"].append(c - b)
        parts["dense_search"].append(d - c)
        parts["keyword_search"].append(e - d)

    clock: dict[str, float] = {}

    def timed(name, func):
        def wrapper(*a, **kw):
            t0 = time.perf_counter()
            try:
                return func(*a, **kw)
            finally:
                clock[name] = time.perf_counter() - t0
        return wrapper

    original_compose = service.compose
    r.embed_query = vectors.__getitem__       # the search below without its embedding
    r.search = timed("search", type(r).search.__get__(r))
    service.compose = timed("compose", original_compose)
    try:
        for q in questions:
            qa.ask(q + "    ")
            parts["search_total"].append(clock["search"])   # the whole search but its embedding
            parts["compose"].append(clock["compose"])
    finally:
        service.compose = original_compose
        del r.embed_query, r.search
    out = {k: _ms(v) for k, v in parts.items()}
    # what the search does besides the parts timed alone: fusion, place and fact checks
    out["fusion_and_checks"] = round(max(0.0, out["search_total"] - out["normalize_tokenize"] - out["dense_search"]
                                         - out["keyword_search"]), 3)
    return out



def _timed_searches(dense, queries: np.ndarray, depth: int) -> tuple[list, list[float]]:
    """Search each query on its own; (top ids per query, seconds per query)."""
    got, took = [], []
    for i in range(len(queries)):
        a = time.perf_counter()
        ids, _ = dense.search(queries[i:i + 1], depth)
        took.append(time.perf_counter() - a)
        got.append(ids[0])
    return got, took

def ann_quality(dense, vectors: np.ndarray, queries: np.ndarray, k: int = ANN_K, timed: int = 50) -> dict:
    """Recall@k of the index against exact inner-product search, and its per-question speedup."""
    import faiss

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    depth = 30
    _, exact = faiss.knn(queries, vectors, depth, faiss.METRIC_INNER_PRODUCT)
    got, ann_t = _timed_searches(dense, queries, depth)
    flat_t = []
    for i in range(min(timed, len(queries))):
        a = time.perf_counter()
        faiss.knn(queries[i:i + 1], vectors, depth, faiss.METRIC_INNER_PRODUCT)
        flat_t.append(time.perf_counter() - a)

    def recall(kk):
        return float(np.mean([len(set(g[:kk].tolist()) & set(e[:kk].tolist())) / kk for g, e in zip(got, exact)]))

    exact_kind = dense.kind == "flat"
    out = {
        f"ann_recall@{k}": 1.0 if exact_kind else round(recall(k), 4),
        "ann_recall@30": 1.0 if exact_kind else round(recall(30), 4),
        "ann_speedup_vs_flat": 1.0 if exact_kind else round(_pct(flat_t, 50) / _pct(ann_t, 50), 1),
        "flat_search_ms_p50": _ms(flat_t),
        "index_search_ms_p50": _ms(ann_t),
        "ann_queries": len(queries),
    }
    hnsw = getattr(dense.index, "hnsw", None)
    if hnsw is not None:  # the recall/speed trade-off around the chosen efSearch
        chosen, curve = hnsw.efSearch, []
        try:
            for ef in (128, 256, 512, 1024, 2048):
                hnsw.efSearch = ef
                got, ann_t = _timed_searches(dense, queries, depth)
                curve.append({"ef_search": ef, f"recall@{k}": round(recall(k), 4), "recall@30": round(recall(30), 4),
                              "ms_p50": _ms(ann_t), "speedup_vs_flat": round(_pct(flat_t, 50) / _pct(ann_t, 50), 1)})
        finally:
            hnsw.efSearch = chosen
        out["ann_curve"] = curve
    return out


def _dense_bytes(dense) -> int | None:
    nbytes = getattr(dense, "nbytes", None)
    return int(nbytes) if nbytes is not None else None


def index_bytes(index) -> int | None:
    dense = _dense_bytes(index.dense)
    kw = getattr(index.keyword, "nbytes", None)
    return None if dense is None or kw is None else dense + int(kw)


def _point_from_timings(t: Timings) -> dict:
    embed_p50, ask_p50 = _pct(t.embed, 50), _pct(t.answer, 50)
    return {
        "query_embed_ms_p50": round(embed_p50 * 1e3, 4),
        "query_ms_p50": round(ask_p50 * 1e3, 4),
        "query_ms_p95": _ms(t.answer_all, 95),
        "e2e_over_embed": round(ask_p50 / embed_p50, 3) if embed_p50 > 0 else None,
        "stages_ms_p50": t.stages,
        "index_builds_during_queries": t.index_calls,
        "queries": len(t.answer),
    }


# ---------------------------------------------------------------- the real corpus

def _build(cfg: Config, embedder):
    """Build through the configured backend (FAISS files or Milvus), like `chatbot build`."""
    from ..store import open_store

    return open_store(cfg).build(embedder)


def real_point(config: Config, embedder, pool: list[str], n_queries: int, work: Path) -> tuple[dict, Config]:
    from ..service import QA

    docs = work / "real" / "documents"
    shutil.copytree(config.documents_dir, docs)
    cfg = config.with_overrides(documents_dir=docs, embeddings_dir=work / "real" / "embeddings",
                                feedback_dir=work / "real" / "feedback")
    _say("real corpus: building")
    a = time.perf_counter()
    report = _build(cfg, embedder)
    build_s = time.perf_counter() - a
    qa = QA(cfg, embedder)
    index = qa.index
    n = len(index.passages)
    _say(f"real corpus: {n} passages built in {build_s:.2f}s; timing {n_queries} questions")
    t = time_questions(qa, embedder, _take(pool, n_queries, WARMUP), _take(pool, WARMUP))
    point = {"passages": n, "corpus": "real", "vectors": "embedded", "index": getattr(index.dense, "kind", "?"),
             "build_passages_per_s": round(n / build_s, 1), "build_s": round(build_s, 3), "build": "measured",
             "embedded": getattr(report, "embedded", None)}
    point.update(_point_from_timings(t))
    vec_file = Path(getattr(index, "folder", work)) / "vectors.npy"
    if vec_file.exists() and hasattr(index.dense, "index"):
        from ..textnorm import normalize

        qv = embedder.encode([normalize(q) for q in _take(pool, min(len(pool), 200))])
        point.update(ann_quality(index.dense, np.load(vec_file), qv))
    nbytes = index_bytes(index)
    point["index_bytes_per_passage"] = round(nbytes / n) if nbytes else None
    point["rss_mb"], point["peak_rss_mb"] = _rss_mb(), _peak_rss_mb()
    return point, cfg


# ---------------------------------------------------------------- synthetic sizes

@dataclass
class Calibration:
    """What a real synthetic passage costs to parse, normalise+tokenise and embed, and how far a
    real embedding lies from the derived one (which sets the noise of derived vectors)."""

    sample: int
    parse_s: float       # per passage: read, decode, split pages into articles, chunk
    textprep_s: float    # per passage: normalise, jieba + bigrams, map to ids
    embed_s: float       # per passage, batched as in `chatbot build`
    cos_mean: float      # mean cosine between a real embedding and its noise-free derived vector
    sigma: float         # noise scale giving derived vectors that same cosine

    def as_dict(self) -> dict:
        return {"sample_passages": self.sample, "parse_ms_per_passage": round(self.parse_s * 1e3, 3),
                "normalize_tokenize_ms_per_passage": round(self.textprep_s * 1e3, 3),
                "embed_ms_per_passage": round(self.embed_s * 1e3, 3),
                "derived_cosine_to_real_mean": round(self.cos_mean, 4), "noise_sigma": round(self.sigma, 5)}


def calibrate(m: Material, embedder, config: Config, sample: int, rng: np.random.Generator, work: Path) -> Calibration:
    from ..ingest.chunking import chunk_documents
    from ..types import Passage
    from ..ingest.documents import load_folder
    from ..store.keyword import KeywordIndex

    sample = max(20, sample)
    # parse + chunk, on synthetic pages written in the real format
    pages = work / "calibration"
    write_pages(m, pages, max(1, math.ceil(sample / (SYNTHETIC_PAGE_ITEMS + 2))), rng)
    a = time.perf_counter()
    files, _ = load_folder(pages)
    parsed = [p for f in files for p in chunk_documents(f.documents, config.chunk_chars, config.chunk_overlap)]
    parse_s = (time.perf_counter() - a) / max(1, len(parsed))
    # passages exactly like the synthetic ones of the large sizes
    lay = layout(m, sample, rng, config.chunk_chars)
    passages = []
    for i in range(sample):
        title, text = layout_text(m, lay, i)
        passages.append(Passage(f"cal#{i}:0", f"cal#{i}", "cal", title, None, i, "item", text))
    a = time.perf_counter()
    texts = [p.embed_text_normalized for p in passages]
    KeywordIndex.build(texts)
    textprep_s = (time.perf_counter() - a) / sample
    a = time.perf_counter()
    real = np.concatenate([embedder.encode(texts[i:i + 256]) for i in range(0, sample, 256)])
    embed_s = (time.perf_counter() - a) / sample
    clean = derive_vectors(m, lay, 0, sample, 0.0, rng)
    cos = float(np.mean(np.sum(real * clean, axis=1)))
    d = real.shape[1]
    # ‖c + σg‖ with ‖c‖ = 1 and g ~ N(0, I_d): cos(c, c + σg) ≈ 1/√(1 + dσ²)
    sigma = math.sqrt(max(0.0, 1.0 / max(cos, 1e-3) ** 2 - 1.0) / d)
    shutil.rmtree(pages, ignore_errors=True)
    return Calibration(sample, parse_s, textprep_s, embed_s, cos, sigma)


def synthetic_keyword(m: Material, lay: Layout, chunk: int = 100_000):
    """BM25 over the synthetic passages; their tokens are their pieces' tokens (pieces end where
    jieba blocks and CJK runs end, so this equals tokenising each passage, checked on a sample)."""
    from ..store.keyword import KeywordIndex

    vocab = [""] * len(m.vocab)
    for t, i in m.vocab.items():
        vocab[i] = t
    plen = np.diff(m.piece_offsets)
    lengths = plen[lay.title] + np.where(lay.sents >= 0, plen[np.maximum(lay.sents, 0)], 0).sum(axis=1)
    ids = np.empty(int(lengths.sum()), dtype=np.int32)
    at = 0
    for s in range(0, len(lay), chunk):
        part, _ = layout_tokens(m, lay, s, min(len(lay), s + chunk))
        ids[at:at + part.size] = part
        at += part.size
    ends = np.cumsum(lengths)
    flat = ids.tolist()
    return KeywordIndex.from_tokens([vocab[x] for x in flat[a:b]] for a, b in zip((ends - lengths).tolist(), ends.tolist()))


def tokens_additive(m: Material, lay: Layout, n: int = 200) -> float:
    """Share of synthetic passages whose own tokens equal their pieces' tokens (as multisets)."""
    from ..textnorm import keyword_tokens, normalize

    inv = {i: t for t, i in m.vocab.items()}
    ok = 0
    n = min(n, len(lay))
    for i in range(n):
        title, text = layout_text(m, lay, i)
        own = Counter(keyword_tokens(normalize(f"{title}\n{text}"), normalized=True))
        ids, _ = layout_tokens(m, lay, i, i + 1)
        ok += own == Counter(inv[int(x)] for x in ids)
    return ok / n if n else 1.0


def synthetic_point(n: int, m: Material, cal: Calibration, config: Config, embedder, pool: list[str],
                    n_queries: int, rng: np.random.Generator, work: Path) -> dict:
    from ..types import Passage
    from ..store.files.dense import DenseIndex
    from ..store.base import SearchIndex
    from ..retrieval.retriever import Retriever
    from ..service import QA
    from ..textnorm import normalize

    _say(f"{n:,} synthetic passages: layout and BM25")
    lay = layout(m, n, rng, config.chunk_chars)
    additive = tokens_additive(m, lay)
    a = time.perf_counter()
    keyword = synthetic_keyword(m, lay)
    keyword_s = time.perf_counter() - a
    gc.collect()

    _say(f"{n:,}: deriving vectors")
    d = m.vectors.shape[1]
    vectors = np.empty((n, d), dtype=np.float32)
    for s in range(0, n, 50_000):
        derive_vectors(m, lay, s, min(n, s + 50_000), cal.sigma, rng, out=vectors[s:min(n, s + 50_000)])
    _say(f"{n:,}: building the dense index")
    a = time.perf_counter()
    dense = DenseIndex.build(vectors)
    dense_s = time.perf_counter() - a
    _say(f"{n:,}: {dense.kind} built in {dense_s:.1f}s; measuring recall against exact search")
    ann_pool = _take(pool, min(len(pool), 200))
    qv = embedder.encode([normalize(q) for q in ann_pool])
    ann = ann_quality(dense, vectors, qv)
    on_milvus = (config.store or "faiss") == "milvus"
    if not on_milvus:
        del vectors
    gc.collect()

    _say(f"{n:,}: passages")
    sources = [f"synthetic/{f:06d}.txt" for f in range(math.ceil(n / SYNTHETIC_PAGE_ITEMS))]
    passages = []
    for i in range(n):
        title, text = layout_text(m, lay, i)
        src, pos = sources[i // SYNTHETIC_PAGE_ITEMS], i % SYNTHETIC_PAGE_ITEMS + 1
        passages.append(Passage(f"{src}#{pos}:0", f"{src}#{pos}", src, title, None, pos, "item", text))
    manifest = {"model": embedder.model_name, "chunk_count": n, "index_type": dense.kind, "synthetic": True}
    index = SearchIndex(work, manifest, passages, dense, keyword)
    milvus = None
    if on_milvus:
        index, milvus = milvus_synthetic(config, m, lay, passages, vectors, qv, work)
        del vectors
    qa = QA(config, embedder)
    qa._retriever = Retriever(index, embedder, qa.policy)  # the same answering path, over an in-memory index

    _say(f"{n:,}: timing {n_queries} questions")
    t = time_questions(qa, embedder, _take(pool, n_queries, WARMUP), _take(pool, WARMUP))
    per_passage = cal.parse_s + cal.textprep_s + cal.embed_s
    build_s = n * per_passage + keyword_s + dense_s
    point = {"passages": n, "corpus": "synthetic", "vectors": "derived", "index": dense.kind,
             "build_passages_per_s": round(n / build_s, 1), "build_s": round(build_s, 1),
             "build": (f"parse, normalise+tokenise and embed extrapolated from {cal.sample} real synthetic passages "
                       f"({per_passage * 1e3:.2f} ms each); BM25 ({keyword_s:.1f}s) and FAISS ({dense_s:.1f}s) "
                       f"built for all {n:,}"),
             "keyword_index_s": round(keyword_s, 2), "dense_index_s": round(dense_s, 2),
             "tokens_additive": round(additive, 3)}
    point.update(_point_from_timings(t))
    point.update(ann)
    nbytes = index_bytes(index)
    point["index_bytes_per_passage"] = round(nbytes / n) if nbytes else None
    point["rss_mb"], point["peak_rss_mb"] = _rss_mb(), _peak_rss_mb()
    if milvus:
        point.update(milvus)
        point["build_s"] = round(n * per_passage + milvus["milvus_insert_s"], 1)
        point["build_passages_per_s"] = round(n / point["build_s"], 1)
        point["build"] = (f"parse, normalise+tokenise and embed extrapolated from {cal.sample} real synthetic passages "
                          f"({per_passage * 1e3:.2f} ms each); Milvus insert ({milvus['milvus_insert_s']:.1f}s) for all {n:,}")
        for key in ("keyword_index_s", "dense_index_s"):
            point.pop(key, None)
        from ..store.milvus.connection import release_local

        release_local(config.with_overrides(embeddings_dir=work / f"milvus-{n}"))
    return point


def milvus_synthetic(config: Config, m: Material, lay: Layout, passages: list, vectors: np.ndarray,
                     qv: np.ndarray, work: Path) -> tuple:
    """The synthetic corpus inserted into Milvus (what a build does after embedding), then opened as
    `QA` opens it; returns the index and the figures that differ from the in-process one."""
    from ..store.milvus.build import bulk_index
    from ..store.milvus.search import open_index

    cfg = config.with_overrides(embeddings_dir=work / f"milvus-{len(passages)}",
                                milvus_collection=f"{config.milvus_collection}_{len(passages)}")  # its own collections
    vocab = [""] * len(m.vocab)
    for t, i in m.vocab.items():
        vocab[i] = t

    def tokens():   # the passages' keyword tokens, as synthetic_keyword has them
        for s in range(0, len(lay), 10_000):
            ids, lens = layout_tokens(m, lay, s, min(len(lay), s + 10_000))
            ends = np.cumsum(lens)
            for a, b in zip(ends - lens, ends):
                yield [vocab[int(x)] for x in ids[a:b]]

    _say(f"{len(passages):,}: inserting into Milvus")
    a = time.perf_counter()
    bulk_index(cfg, passages, vectors, tokens())
    insert_s = time.perf_counter() - a
    a = time.perf_counter()
    index = open_index(cfg)
    open_s = time.perf_counter() - a
    _say(f"{len(passages):,}: Milvus insert {insert_s:.1f}s, open {open_s:.1f}s; measuring recall against exact search")
    out = {"index": f"milvus:{index.dense.kind}", "milvus_insert_s": round(insert_s, 1), "milvus_open_s": round(open_s, 2),
           "milvus_keyword": index.keyword_mode}
    out.update(ann_quality(index.dense, vectors, qv))
    return index, out


# ---------------------------------------------------------------- once: cold start, incremental

def cold_start(cfg: Config, question: str, runs: int = 1) -> dict:
    """Seconds from spawning `chatbot ask` (index present) to its answer on stdout."""
    cmd = [sys.executable, "-m", "chatbot.cli", "ask", "--json", "--documents", str(cfg.documents_dir),
           "--embeddings", str(cfg.embeddings_dir), "--model", cfg.model]
    if (cfg.store or "faiss") != "faiss":
        cmd += ["--store", cfg.store]
        if cfg.milvus_uri:
            cmd += ["--milvus-uri", cfg.milvus_uri]
        if cfg.milvus_token:
            cmd += ["--milvus-token", cfg.milvus_token]
    cmd.append(question)
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false")
    times = []
    for _ in range(max(1, runs)):
        with tempfile.TemporaryFile() as err:
            a = time.perf_counter()
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env, cwd=str(PROJECT_ROOT))
            first = proc.stdout.readline()
            b = time.perf_counter()
            rest = proc.stdout.read()
            proc.wait(timeout=600)
            if proc.returncode != 0 or not first:
                err.seek(0)
                raise RuntimeError(f"cold start failed ({proc.returncode}): {err.read().decode(errors='replace')[-500:]}")
        json.loads(first + rest)  # a whole answer came out
        times.append(b - a)
    return {"cold_start_s": round(statistics.median(times), 2), "cold_start_runs": len(times)}


def incremental(config: Config, embedder, m: Material, n_files: int, rng: np.random.Generator, work: Path) -> dict:
    """Full build of the real corpus plus synthetic pages, against rebuilds after one page changed.
    Best of two full builds (from nothing) and of three rebuilds, timed in this process with the
    model loaded: what the build itself costs, without bursts from other processes."""
    docs = work / "incremental" / "documents"
    shutil.copytree(config.documents_dir, docs)
    write_pages(m, docs, n_files, rng)
    emb_dir = work / "incremental" / "embeddings"
    cfg = config.with_overrides(documents_dir=docs, embeddings_dir=emb_dir,
                                feedback_dir=work / "incremental" / "feedback")
    _say(f"incremental: full builds of {len(list(docs.iterdir()))} files")
    full_times = []
    for _ in range(2):
        shutil.rmtree(emb_dir, ignore_errors=True)
        a = time.perf_counter()
        full = _build(cfg, embedder)
        full_times.append(time.perf_counter() - a)
    changed = sorted(docs.glob("synthetic_*.txt"))[: max(1, min(3, n_files))]
    times, embedded = [], []
    for path in changed:
        extra = m.sentences[int(rng.integers(len(m.sentences)))]
        with open(path, "a", encoding="utf-8") as fh:  # a new dated item at the end of the page
            fh.write(f"\n{m.titles[int(rng.integers(m.n_titles))]}\n\n{extra}\n\n健康新闻 2025-06-01\n")
        a = time.perf_counter()
        report = _build(cfg, embedder)
        times.append(time.perf_counter() - a)
        embedded.append(getattr(report, "embedded", None))
    full_s, inc_s = min(full_times), min(times)
    return {"incremental_speedup": round(full_s / inc_s, 1),
            "incremental": {"files": len(list(docs.iterdir())), "passages": getattr(full, "passages", None),
                            "full_build_s": round(full_s, 3), "rebuild_one_changed_s": round(inc_s, 3),
                            "full_builds_s": [round(x, 3) for x in full_times], "rebuilds_s": [round(x, 3) for x in times],
                            "embedded_per_rebuild": embedded}}


# ---------------------------------------------------------------- report

def targets(result: dict) -> list[dict]:
    pts = {p["passages"]: p for p in result["points"]}
    real = [p for p in result["points"] if p["corpus"] == "real"]
    out = []

    def add(name, value, ok):
        out.append({"target": name, "value": value, "ok": None if ok is None else bool(ok)})

    if real:
        v = real[0]["e2e_over_embed"]
        add("e2e_over_embed ≤ 1.5 on the real corpus", v, v is not None and v <= 1.5)
    if 100_000 in pts:
        v = pts[100_000]["e2e_over_embed"]
        add("e2e_over_embed ≤ 3 at 100 000 passages", v, v is not None and v <= 3)
    big = [p for p in result["points"] if p["passages"] >= 1_000_000]
    for p in big:
        add(f"e2e_over_embed at {p['passages']:,} (reported)", p["e2e_over_embed"], None)
        if p["index"] != "flat":
            add(f"ann_recall@10 ≥ 0.95 at {p['passages']:,}", p.get("ann_recall@10"), p.get("ann_recall@10", 0) >= 0.95)
            add(f"ann_speedup_vs_flat ≥ 10 at {p['passages']:,}", p.get("ann_speedup_vs_flat"),
                p.get("ann_speedup_vs_flat", 0) >= 10)
        add(f"peak RSS ≤ 8 GB at {p['passages']:,} (MB)", p["peak_rss_mb"], p["peak_rss_mb"] <= MEMORY_LIMIT_MB)
    if result.get("incremental_speedup") is not None:
        v = result["incremental_speedup"]
        add("incremental_speedup ≥ 10", v, v >= 10)
    calls = sum(p.get("index_builds_during_queries", 0) for p in result["points"])
    add("index builds/loads or model loads while answering", calls, calls == 0)
    return out


COLUMNS = [("passages", "{:,}"), ("index", "{}"), ("vectors", "{}"), ("build_passages_per_s", "{:,.0f}"),
           ("query_embed_ms_p50", "{:.2f}"), ("query_ms_p50", "{:.2f}"), ("query_ms_p95", "{:.2f}"),
           ("e2e_over_embed", "{:.2f}"), ("ann_recall@10", "{:.3f}"), ("ann_speedup_vs_flat", "{:.1f}"),
           ("index_bytes_per_passage", "{:,}"), ("rss_mb", "{:,.0f}")]


def as_text(result: dict) -> str:
    mach = result["machine"]
    lines = [f"machine: {mach['cpu']}, {mach['cores']} cores, {mach['ram_gb']} GB RAM, {mach['os']}, "
             f"Python {mach['python']}, faiss {mach['faiss']}; load average {mach['load_avg_1m_at_start']} at start "
             f"(shared machine: figures are noisy, ratios come from one run)"]
    rows = [[c for c, _ in COLUMNS]]
    for p in result["points"]:
        rows.append([("-" if p.get(c) is None else f.format(p[c])) for c, f in COLUMNS])
    widths = [max(len(r[i]) for r in rows) for i in range(len(COLUMNS))]
    for r in rows:
        lines.append("  ".join(v.rjust(w) for v, w in zip(r, widths)))
    for p in result["points"]:
        lines.append(f"stages at {p['passages']:,} (ms p50): " + ", ".join(f"{k} {v}" for k, v in p["stages_ms_p50"].items()))
        if p["corpus"] == "synthetic":
            lines.append(f"  {p['passages']:,}: vectors derived, not embedded one by one; build: {p['build']}")
        if p.get("ann_curve"):
            lines.append(f"  {p['passages']:,}: exact search {p['flat_search_ms_p50']} ms; HNSW efSearch → recall@10, "
                         "ms, speedup: " + "; ".join(f"{c['ef_search']} → {c['recall@10']}, {c['ms_p50']}, "
                                                     f"{c['speedup_vs_flat']}×" for c in p["ann_curve"]))
    if "derived_vectors" in result:
        dv = result["derived_vectors"]
        lines.append(f"derived vectors: {dv['method']} (cosine of real to noise-free derived vectors "
                     f"{dv['derived_cosine_to_real_mean']}, noise σ {dv['noise_sigma']})")
    if result.get("cold_start_s") is not None:
        lines.append(f"cold_start_s: {result['cold_start_s']}")
    if result.get("incremental_speedup") is not None:
        inc = result["incremental"]
        lines.append(f"incremental_speedup: {result['incremental_speedup']} (full build {inc['full_build_s']}s of "
                     f"{inc['files']} files / {inc['passages']} passages; rebuild after one file changed "
                     f"{inc['rebuild_one_changed_s']}s)")
    for t in result["targets"]:
        mark = {True: "ok  ", False: "MISS", None: "    "}[t["ok"]]
        lines.append(f"[{mark}] {t['target']}: {t['value']}")
    if result.get("plot"):
        lines.append(f"plot: {result['plot']}")
    return "\n".join(lines)


def plot(result: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    pts = sorted(result["points"], key=lambda p: p["passages"])
    x = [p["passages"] for p in pts]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    ax1.plot(x, [p["query_ms_p50"] for p in pts], "o-", label="whole answer p50")
    ax1.plot(x, [p["query_ms_p95"] for p in pts], "s--", label="whole answer p95")
    ax1.plot(x, [p["query_embed_ms_p50"] for p in pts], "^:", label="query embedding p50")
    ax1.set_xscale("log")
    ax1.set_yscale("log")
    ax1.yaxis.set_major_locator(matplotlib.ticker.LogLocator(subs=(1.0, 2.0, 5.0)))
    ax1.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    ax1.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax1.set_xlabel("passages")
    ax1.set_ylabel("ms per question")
    ax1.set_title("Query latency")
    ax1.grid(True, which="both", alpha=0.3)
    ax1.legend(fontsize=8)
    ax2.plot(x, [p["build_passages_per_s"] for p in pts], "o-", color="tab:green")
    for p in pts:
        note = p["index"].split(",")[0] + (" (derived vectors)" if p["vectors"] == "derived" else "")
        ax2.annotate(note, (p["passages"], p["build_passages_per_s"]), textcoords="offset points", xytext=(4, 6),
                     fontsize=7)
    ax2.set_xscale("log")
    ax2.set_ylim(0, max(p["build_passages_per_s"] for p in pts) * 1.3)
    ax2.set_xlabel("passages")
    ax2.set_ylabel("passages / s")
    ax2.set_title("Build throughput (parse + embed + index)")
    ax2.grid(True, which="both", alpha=0.3)
    mach = result["machine"]
    fig.suptitle(f"chatbot bench — {mach['cpu']}, {mach['cores']} cores, {mach['ram_gb']} GB (shared, noisy)", fontsize=9)
    if any(p["vectors"] == "derived" for p in pts):
        fig.text(0.5, 0.01, "Synthetic sizes: recombined real sentences, derived vectors; their parse/embed/tokenise "
                 "time is extrapolated from real ones, index construction and every query are measured.",
                 ha="center", fontsize=7)
    fig.tight_layout(rect=(0, 0.04, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ---------------------------------------------------------------- entry point

def parse_sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(s.replace("_", "").strip()) for s in text.split(",") if s.strip()})
    except ValueError:
        raise ValueError(f"--sizes wants comma-separated integers, got {text!r}") from None
    if not sizes or sizes[0] < 1 or sizes[-1] > MAX_SIZE:
        raise ValueError(f"--sizes must be between 1 and {MAX_SIZE:,}")
    return sizes


def run(args, config: Config) -> int:
    from ..embedder import Embedder

    try:
        sizes = parse_sizes(args.sizes)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.queries < 1:
        print("error: --queries must be at least 1", file=sys.stderr)
        return 2
    if (config.store or "faiss") == "milvus":   # never touch the served index's collections
        config = config.with_overrides(milvus_collection=config.milvus_collection + "_bench")
    own_work = args.workdir is None
    work = Path(tempfile.mkdtemp(prefix="chatbot-bench-")) if own_work else Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    try:
        result = _run(args, config, sizes, work, Embedder(config.model))
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
    if args.plot:
        plot(result, Path(args.plot))
        result["plot"] = str(args.plot)
    result["targets"] = targets(result)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text if args.json else as_text(result))
    return 0


def _run(args, config: Config, sizes: list[int], work: Path, embedder) -> dict:
    rng = np.random.default_rng(args.seed)
    result: dict = {"machine": machine(), "settings": {"sizes": sizes, "queries": args.queries, "seed": args.seed,
                                                       "model": config.model, "store": config.store,
                                                       "candidates": Policy().candidates, "top_k": Policy().top_k}}
    a = time.perf_counter()
    embedder.encode(["预热"])
    result["model_load_s"] = round(time.perf_counter() - a, 2)

    _say("reading the real corpus")
    m = material(config.documents_dir, embedder)
    pool = question_pool(m.titles, args.questions, args.seed)
    points = []
    point, real_cfg = real_point(config, embedder, pool, args.queries, work)
    points.append(point)
    n_real = point["passages"]

    synthetic = [n for n in sizes if n > n_real]
    if synthetic:
        if (config.store or "faiss") == "milvus":
            from ..store.milvus.connection import is_local, milvus_uri

            result["note"] = "synthetic sizes: passages and derived vectors inserted into Milvus, answered through it"
            if is_local(milvus_uri(config)) and any(n > MILVUS_LITE_MAX for n in synthetic):
                result["skipped_sizes"] = [n for n in synthetic if n > MILVUS_LITE_MAX]
                result["note"] += (f"; sizes over {MILVUS_LITE_MAX:,} skipped on Milvus Lite (pure Python, its search "
                                   f"time grows linearly); use --milvus-uri http://HOST:19530 for them")
                synthetic = [n for n in synthetic if n <= MILVUS_LITE_MAX]
        _say(f"calibrating derived vectors on {args.embed_sample} real synthetic passages")
        cal = calibrate(m, embedder, config, args.embed_sample, rng, work)
        result["derived_vectors"] = {"method": "character-weighted sum of the real embeddings of a passage's title "
                                               "and sentences, plus calibrated isotropic noise, L2-normalised",
                                     **cal.as_dict()}
        for n in synthetic:
            points.append(synthetic_point(n, m, cal, config, embedder, pool, args.queries, rng, work))
            gc.collect()
    result["points"] = points

    if (config.store or "faiss") == "milvus":
        from ..store.milvus.connection import release_local

        release_local(real_cfg)   # Milvus Lite serves one process: let the cold-start process open it
    if not args.no_cold_start:
        _say("cold start")
        result.update(cold_start(real_cfg, pool[0], args.cold_runs))
    if not args.no_incremental:
        result.update(incremental(config, embedder, m, args.synthetic_files, rng, work))
    result["machine"]["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None
    return result
