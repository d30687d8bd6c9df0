"""The bench's scenarios: the real corpus built and answered as `chatbot build`/`ask` do, each
synthetic size (in process, or inserted into Milvus), the incremental rebuild, and the whole run."""

from __future__ import annotations

import gc
import json
import math
import os
import shutil
import time
from pathlib import Path

import numpy as np

from ..config import Config
from ..policy import Policy
from .corpus import (SYNTHETIC_PAGE_ITEMS, Calibration, Layout, Material, calibrate, derive_vectors, layout,
                     layout_text, layout_tokens, material, question_pool, synthetic_keyword, take, tokens_additive,
                     write_pages)
from .answering import embedder_class, measure_in_child, save_synthetic_folder
from .measure import (ann_quality, cold_start, exact_reference, index_bytes, machine, peak_rss_mb, point_from_timings, rss_mb, say,
                      time_questions)

WARMUP = 5


MILVUS_LITE_MAX = 100_000      # larger synthetic sizes take hours on Milvus Lite (pure Python)


def build_store(cfg: Config, embedder):
    """Build through the configured backend (FAISS files or Milvus), like `chatbot build`."""
    from ..store import open_store

    return open_store(cfg).build(embedder)


def real_point(config: Config, embedder, pool: list[str], n_queries: int, work: Path) -> tuple[dict, Config]:
    from ..service import QA

    docs = work / "real" / "documents"
    shutil.copytree(config.documents_dir, docs)
    cfg = config.with_overrides(documents_dir=docs, embeddings_dir=work / "real" / "embeddings",
                                feedback_dir=work / "real" / "feedback")
    say("real corpus: building")
    a = time.perf_counter()
    report = build_store(cfg, embedder)
    build_s = time.perf_counter() - a
    qa = QA(cfg, embedder)
    index = qa.index
    n = len(index.passages)
    say(f"real corpus: {n} passages built in {build_s:.2f}s; timing {n_queries} questions")
    t = time_questions(qa, embedder, take(pool, n_queries, WARMUP), take(pool, WARMUP))
    point = {"passages": n, "corpus": "real", "vectors": "embedded", "index": index.dense.kind,
             "build_passages_per_s": round(n / build_s, 1), "build_s": round(build_s, 3), "build": "measured",
             "embedded": report.embedded}
    point.update(point_from_timings(t))
    from ..store.files.dense import DenseIndex

    vec_file = Path(index.folder) / "vectors.npy"
    if isinstance(index.dense, DenseIndex) and vec_file.exists():
        from ..textnorm import normalize

        qv = embedder.encode([normalize(q) for q in take(pool, min(len(pool), 200))])
        point.update(ann_quality(index.dense, np.load(vec_file), qv))
    nbytes = index_bytes(index)
    point["index_bytes_per_passage"] = round(nbytes / n) if nbytes else None
    point["in_process_rss_mb"], point["peak_rss_mb"] = rss_mb(), peak_rss_mb()
    del qa, index
    if (cfg.store or "faiss") == "faiss":
        point.update(answering_point(cfg.embeddings_dir, cfg.model, pool, n_queries, embedder))
    return point, cfg


def answering_point(embeddings_dir: Path, model: str, pool: list[str], n_queries: int, embedder) -> dict:
    """Answering memory and latency from a fresh process that loads the saved index folder
    (`chatbot.bench.answering`): the bench process built the index, so its own RSS is not it."""
    gc.collect()
    say(f"fresh answering process on {embeddings_dir}")
    child = measure_in_child(embeddings_dir, model, take(pool, n_queries, WARMUP), take(pool, WARMUP),
                             embedder_class(embedder))
    return {"answering_rss_mb": child["peak_rss_mb"], "answering_current_rss_mb": child["rss_mb"],
            "answering_rss_after_load_mb": child["rss_after_load_mb"],
            "answering_memory": "peak RSS of a fresh process that loaded the saved index folder and answered",
            "answering_process": child}


def synthetic_point(n: int, m: Material, cal: Calibration, config: Config, embedder, pool: list[str],
                    n_queries: int, rng: np.random.Generator, work: Path) -> dict:
    from ..types import Passage
    from ..store.files.dense import DenseIndex
    from ..store.base import SearchIndex
    from ..store.keyword import KeywordIndex
    from ..store.passages import load_passages
    from ..store.files.store import FORMAT_VERSION
    from ..store.plan import chunking_params
    from ..retrieval.retriever import Retriever
    from ..service import QA
    from ..textnorm import normalize

    on_milvus = (config.store or "faiss") == "milvus"
    emb_dir = work / f"synthetic-{n}"
    folder = emb_dir / "v-synthetic"
    say(f"{n:,} synthetic passages: layout and BM25")
    lay = layout(m, n, rng, config.chunk_chars)
    additive = tokens_additive(m, lay)
    a = time.perf_counter()
    keyword = synthetic_keyword(m, lay)
    keyword_s = time.perf_counter() - a
    if not on_milvus:   # saved and dropped now: the BM25 arrays and the vectors are never in memory together
        shutil.rmtree(emb_dir, ignore_errors=True)
        folder.mkdir(parents=True)
        keyword.save(folder / "bm25")
        keyword = None
    gc.collect()

    # Derived vectors come in blocks, each from its own seeded generator, so that a block can be
    # derived again: once into the whole matrix (exact search, the recall reference), then one
    # block at a time into the graph, after the matrix is dropped.
    d = m.vectors.shape[1]
    vec_seed = int(rng.integers(2 ** 62))
    block, derive_s = 100_000, [0.0]

    def derived(s: int) -> np.ndarray:
        a = time.perf_counter()
        v = derive_vectors(m, lay, s, min(n, s + block), cal.sigma, np.random.default_rng([vec_seed, s]))
        derive_s[0] += time.perf_counter() - a
        return v

    say(f"{n:,}: deriving vectors; exact search for the recall reference")
    vectors = np.empty((n, d), dtype=np.float32)
    for s in range(0, n, block):
        vectors[s:min(n, s + block)] = derived(s)
    ann_pool = take(pool, min(len(pool), 200))
    qv = embedder.encode([normalize(q) for q in ann_pool])
    reference = exact_reference(vectors, qv)
    if not on_milvus:
        del vectors
        gc.collect()
    say(f"{n:,}: building the dense index")
    a, derive_s[0] = time.perf_counter(), 0.0
    dense = DenseIndex.from_blocks(n, d, (derived(s) for s in range(0, n, block)))
    dense_s = time.perf_counter() - a - derive_s[0]   # the graph's own time, without deriving the blocks again
    say(f"{n:,}: {dense.kind} built in {dense_s:.1f}s; measuring recall against exact search")
    ann = ann_quality(dense, None, qv, reference=reference)
    gc.collect()

    say(f"{n:,}: passages")
    sources = [f"synthetic/{f:06d}.txt" for f in range(math.ceil(n / SYNTHETIC_PAGE_ITEMS))]

    def synthetic_passages():
        for i in range(n):
            title, text = layout_text(m, lay, i)
            src, pos = sources[i // SYNTHETIC_PAGE_ITEMS], i % SYNTHETIC_PAGE_ITEMS + 1
            yield Passage(f"{src}#{pos}:0", f"{src}#{pos}", src, title, None, pos, "item", text)

    manifest = {"model": embedder.model_name, "chunk_count": n, "index_type": dense.kind, "synthetic": True}
    milvus = None
    if not on_milvus:
        # the files backend's layout, as `chatbot build` writes it and `load_index` opens it: passage
        # text in passages.jsonl (read by position above PASSAGES_IN_RAM_UP_TO), BM25 memory-mapped
        with open(folder / "passages.jsonl", "w", encoding="utf-8") as fh:
            for p in synthetic_passages():
                fh.write(json.dumps(p.to_dict(), ensure_ascii=False) + "\n")
        dense.save(folder / "dense.faiss")
        save_synthetic_folder(emb_dir, folder, {
            "format_version": FORMAT_VERSION, "model": config.model, "dimension": int(dense.dimension),
            "chunk_count": n, "index_type": dense.kind, "chunking": chunking_params(config), "synthetic": True})
        gc.collect()
        passages = load_passages(folder / "passages.jsonl", n)
        keyword = KeywordIndex.load(folder / "bm25", mmap=True)
        index = SearchIndex(folder, manifest, passages, dense, keyword)
    else:
        passages = list(synthetic_passages())
        index = SearchIndex(work, manifest, passages, dense, keyword)
        index, milvus = milvus_synthetic(config, m, lay, passages, vectors, qv, work)
        del vectors
    qa = QA(config, embedder)
    qa._retriever = Retriever(index, embedder, qa.policy)  # the same answering path, over an in-memory index

    say(f"{n:,}: timing {n_queries} questions")
    t = time_questions(qa, embedder, take(pool, n_queries, WARMUP), take(pool, WARMUP))
    per_passage = cal.parse_s + cal.textprep_s + cal.embed_s
    build_s = n * per_passage + keyword_s + dense_s
    point = {"passages": n, "corpus": "synthetic", "vectors": "derived", "index": dense.kind,
             "build_passages_per_s": round(n / build_s, 1), "build_s": round(build_s, 1),
             "build": (f"parse, normalise+tokenise and embed extrapolated from {cal.sample} real synthetic passages "
                       f"({per_passage * 1e3:.2f} ms each); BM25 ({keyword_s:.1f}s) and FAISS ({dense_s:.1f}s) "
                       f"built for all {n:,}"),
             "keyword_index_s": round(keyword_s, 2), "dense_index_s": round(dense_s, 2),
             "tokens_additive": round(additive, 3)}
    point.update(point_from_timings(t))
    point.update(ann)
    nbytes = index_bytes(index)
    point["index_bytes_per_passage"] = round(nbytes / n) if nbytes else None
    point["in_process_rss_mb"], point["peak_rss_mb"] = rss_mb(), peak_rss_mb()
    if not on_milvus:
        del qa, index, passages, keyword, dense
        point.update(answering_point(emb_dir, config.model, pool, n_queries, embedder))
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

    say(f"{len(passages):,}: inserting into Milvus")
    a = time.perf_counter()
    bulk_index(cfg, passages, vectors, tokens())
    insert_s = time.perf_counter() - a
    a = time.perf_counter()
    index = open_index(cfg)
    open_s = time.perf_counter() - a
    say(f"{len(passages):,}: Milvus insert {insert_s:.1f}s, open {open_s:.1f}s; measuring recall against exact search")
    out = {"index": f"milvus:{index.dense.kind}", "milvus_insert_s": round(insert_s, 1), "milvus_open_s": round(open_s, 2),
           "milvus_keyword": index.keyword_mode}
    out.update(ann_quality(index.dense, vectors, qv))
    return index, out


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
    say(f"incremental: full builds of {len(list(docs.iterdir()))} files")
    full_times = []
    for _ in range(2):
        shutil.rmtree(emb_dir, ignore_errors=True)
        a = time.perf_counter()
        full = build_store(cfg, embedder)
        full_times.append(time.perf_counter() - a)
    changed = sorted(docs.glob("synthetic_*.txt"))[: max(1, min(3, n_files))]
    times, embedded = [], []
    for path in changed:
        extra = m.sentences[int(rng.integers(len(m.sentences)))]
        with open(path, "a", encoding="utf-8") as fh:  # a new dated item at the end of the page
            fh.write(f"\n{m.titles[int(rng.integers(m.n_titles))]}\n\n{extra}\n\n健康新闻 2025-06-01\n")
        a = time.perf_counter()
        report = build_store(cfg, embedder)
        times.append(time.perf_counter() - a)
        embedded.append(report.embedded)
    full_s, inc_s = min(full_times), min(times)
    return {"incremental_speedup": round(full_s / inc_s, 1),
            "incremental": {"files": len(list(docs.iterdir())), "passages": full.passages,
                            "full_build_s": round(full_s, 3), "rebuild_one_changed_s": round(inc_s, 3),
                            "full_builds_s": [round(x, 3) for x in full_times], "rebuilds_s": [round(x, 3) for x in times],
                            "embedded_per_rebuild": embedded}}


def collect(args, config: Config, sizes: list[int], work: Path, embedder) -> dict:
    rng = np.random.default_rng(args.seed)
    result: dict = {"machine": machine(), "settings": {"sizes": sizes, "queries": args.queries, "seed": args.seed,
                                                       "model": config.model, "store": config.store,
                                                       "candidates": Policy().candidates, "top_k": Policy().top_k}}
    a = time.perf_counter()
    embedder.encode(["预热"])
    result["model_load_s"] = round(time.perf_counter() - a, 2)

    say("reading the real corpus")
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
        say(f"calibrating derived vectors on {args.embed_sample} real synthetic passages")
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
        say("cold start")
        result.update(cold_start(real_cfg, pool[0], args.cold_runs))
    if not args.no_incremental:
        result.update(incremental(config, embedder, m, args.synthetic_files, rng, work))
    result["machine"]["load_avg_1m_at_end"] = round(os.getloadavg()[0], 2)
    return result
