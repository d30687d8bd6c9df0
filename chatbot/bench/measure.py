"""The bench's measurements: whole answers against the query embedding, per-stage times from the
pipeline's own timing hook (`chatbot.stages`), index builds or loads while answering (must be 0),
approximate-search recall and speed, index bytes, memory, cold start, and the machine."""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import stages
from ..config import PROJECT_ROOT, Config

ANN_K = 10


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else float("nan")


def ms(values: list[float], q: float = 50) -> float:
    return round(pct(values, q) * 1e3, 4)


def rss_mb() -> float:
    import psutil

    return round(psutil.Process().memory_info().rss / 2**20, 1)


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux: KiB


def say(msg: str) -> None:
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
    load = os.getloadavg()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "faiss": faiss.__version__,
        "load_avg_1m_at_start": round(load[0], 2),
    }


@dataclass
class Timings:
    embed: list[float] = field(default_factory=list)    # per question: the better of two timings
    answer: list[float] = field(default_factory=list)   # per question: the better of two timings
    answer_all: list[float] = field(default_factory=list)  # every whole-answer timing, for p95
    answer_first: list[float] = field(default_factory=list)  # the first answer to each question
    stages: dict = field(default_factory=dict)
    index_calls: int = 0


# events that must not happen while answering: answers are lookups in structures built once
REBUILD_EVENTS = ("keyword_index_build", "dense_index_build", "index_load", "model_load")
SEARCH_STAGES = ("normalize_tokenize", "dense_search", "keyword_search", "fusion_checks")


def time_questions(qa, embedder, questions: list[str], warmup: list[str]) -> Timings:
    """Whole answers (QA.ask) and the query embedding alone, question by question, same run.

    Each is timed twice per question, alternately (answer, embed, answer, embed: each follows
    the other, so neither runs on caches the other just warmed), and the better timing kept: on
    a shared machine, other processes' bursts otherwise decide the ratio. Every use of a question
    gets a different number of trailing spaces, which normalisation strips, so that none is served
    from the per-text conversion cache. Meanwhile the pipeline's events are counted."""
    from ..textnorm import normalize

    for q in warmup:
        qa.ask(q)
        embedder.encode([normalize(q)])
    t = Timings()
    clock = time.perf_counter
    events: Counter = Counter()
    # events only: with a lap listener every answer would also clock and report its ~7 stages
    with stages.listen(lambda name, seconds: events.update([name]) if name in REBUILD_EVENTS else None, laps=False):
        for q in questions:
            norm = normalize(qa.prepare(q)[0] + "  ")   # exactly the text `ask` embeds
            a = clock(); qa.ask(q); b = clock()
            embedder.encode([norm]); c = clock()
            qa.ask(q + " "); d = clock()
            embedder.encode([norm]); e = clock()
            t.answer.append(min(b - a, d - c))
            t.embed.append(min(c - b, e - d))
            t.answer_all += [b - a, d - c]
            t.answer_first.append(b - a)
    t.index_calls = sum(events.values())
    t.stages = time_stages(qa, questions)
    return t


def time_stages(qa, questions: list[str]) -> dict:
    """p50 of each stage of an answer, as the pipeline reports them through `chatbot.stages`
    (retriever: normalise + tokenise, embed, dense search, keyword search, fusion and checks;
    service: compose). `search_total` is the search without its embedding."""
    parts: dict[str, list[float]] = {}
    for q in questions:
        laps: dict[str, float] = {}
        with stages.listen(lambda name, seconds: laps.__setitem__(name, laps.get(name, 0.0) + seconds)):
            qa.ask(q + "    ")   # trailing spaces: see time_questions
        laps["search_total"] = sum(laps.get(k, 0.0) for k in SEARCH_STAGES)
        for name, seconds in laps.items():
            if name not in REBUILD_EVENTS:
                parts.setdefault(name, []).append(seconds)
    out = {k: ms(v) for k, v in parts.items()}
    if "fusion_checks" in out:
        out["fusion_and_checks"] = out.pop("fusion_checks")
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


def exact_reference(vectors: np.ndarray, queries: np.ndarray, timed: int = 50, depth: int = 30) -> tuple:
    """(exact top-`depth` ids of every query, seconds of `timed` single-question exact searches):
    what `ann_quality` measures an index against. Taken before the index is built, the vectors
    can be dropped before the graph grows (the bench's peak memory)."""
    import faiss

    queries = np.ascontiguousarray(queries, dtype=np.float32)
    _, exact = faiss.knn(queries, vectors, depth, faiss.METRIC_INNER_PRODUCT)
    flat_t = []
    for i in range(min(timed, len(queries))):
        a = time.perf_counter()
        faiss.knn(queries[i:i + 1], vectors, depth, faiss.METRIC_INNER_PRODUCT)
        flat_t.append(time.perf_counter() - a)
    return exact, flat_t


def ann_quality(dense, vectors: np.ndarray | None, queries: np.ndarray, k: int = ANN_K, timed: int = 50,
                reference: tuple | None = None) -> dict:
    """Recall@k of the index against exact inner-product search, and its per-question speedup
    (`reference`: `exact_reference`'s result, when the vectors are no longer at hand)."""
    queries = np.ascontiguousarray(queries, dtype=np.float32)
    depth = 30
    exact, flat_t = reference if reference is not None else exact_reference(vectors, queries, timed, depth)
    got, ann_t = _timed_searches(dense, queries, depth)

    def recall(kk):
        return float(np.mean([len(set(g[:kk].tolist()) & set(e[:kk].tolist())) / kk for g, e in zip(got, exact)]))

    exact_kind = dense.kind == "flat"
    out = {
        f"ann_recall@{k}": 1.0 if exact_kind else round(recall(k), 4),
        "ann_recall@30": 1.0 if exact_kind else round(recall(30), 4),
        "ann_speedup_vs_flat": 1.0 if exact_kind else round(pct(flat_t, 50) / pct(ann_t, 50), 1),
        "flat_search_ms_p50": ms(flat_t),
        "index_search_ms_p50": ms(ann_t),
        "ann_queries": len(queries),
    }
    from ..store.files.dense import DenseIndex

    hnsw = dense.index.hnsw if isinstance(dense, DenseIndex) and dense.kind.startswith("hnsw") else None
    if hnsw is not None:  # the recall/speed trade-off around the chosen efSearch
        chosen, curve = hnsw.efSearch, []
        try:
            for ef in (128, 256, 512, 1024, 2048):
                hnsw.efSearch = ef
                got, ann_t = _timed_searches(dense, queries, depth)
                curve.append({"ef_search": ef, f"recall@{k}": round(recall(k), 4), "recall@30": round(recall(30), 4),
                              "ms_p50": ms(ann_t), "speedup_vs_flat": round(pct(flat_t, 50) / pct(ann_t, 50), 1)})
        finally:
            hnsw.efSearch = chosen
        out["ann_curve"] = curve
    return out


def index_bytes(index) -> int | None:
    """Memory of an in-process index (FAISS + bm25s); None when either side lives in Milvus."""
    from ..store.files.dense import DenseIndex
    from ..store.keyword import KeywordIndex

    if isinstance(index.dense, DenseIndex) and isinstance(index.keyword, KeywordIndex):
        return index.dense.nbytes + index.keyword.nbytes
    return None


def point_from_timings(t: Timings) -> dict:
    embed_p50, ask_p50 = pct(t.embed, 50), pct(t.answer, 50)
    return {
        "query_embed_ms_p50": round(embed_p50 * 1e3, 4),
        "query_ms_p50": round(ask_p50 * 1e3, 4),
        "query_ms_p95": ms(t.answer_all, 95),
        # a question's first answer also embeds its answer's units not embedded before (then kept): a
        # second model call that the better-of-two `query_ms_p50` and the ratio leave out
        "query_first_ms_p50": ms(t.answer_first),
        "e2e_over_embed": round(ask_p50 / embed_p50, 3) if embed_p50 > 0 else None,
        "stages_ms_p50": t.stages,
        "index_builds_during_queries": t.index_calls,
        "queries": len(t.answer),
    }


def cold_start(cfg: Config, question: str, runs: int = 1) -> dict:
    """Seconds from spawning `chatbot ask` (index present) to its answer on stdout."""
    from .cold import ask_command

    cmd = ask_command(cfg, question)
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
