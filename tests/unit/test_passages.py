"""Passages read by position from their file above PASSAGES_IN_RAM_UP_TO (issue 21): the same
passages and answers as the in-memory list, and a memory probe on a small synthetic index that
the passages' text is not held by the process (only the few parsed passages it has used)."""

import gc
import sys
from pathlib import Path

import pytest

from chatbot.store import passages as passages_mod
from chatbot.store.files.store import build_index, load_index
from chatbot.store.passages import DiskPassages

MARK = "探针标记"


def _synthetic_corpus(folder, files=6, articles=40):
    """Portal-less text files, one passage-sized paragraph per article, each naming its own marker."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in range(files):
        parts = []
        for a in range(articles):
            parts.append(f"第{f}号文件第{a}条{MARK}{f:02d}{a:03d}\n"
                         + f"参保人员办理异地就医备案后，按规定报销医疗费用，{MARK}{f:02d}{a:03d}说明第{a}项。" * 5)
        (folder / f"synthetic_{f}.txt").write_text("\n\n".join(parts), encoding="utf-8")


@pytest.fixture
def big_config(fake_config, fake_embedder, monkeypatch, tmp_path):
    docs = tmp_path / "synthetic"
    _synthetic_corpus(docs)
    cfg = fake_config.with_overrides(documents_dir=docs)
    build_index(cfg, fake_embedder)
    return cfg


def _strings_reachable(root, needle: str) -> int:
    """Strings containing `needle` reachable from `root` (following every Python reference)."""
    seen, stack, count = set(), [root], 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, type) or obj is sys.modules:
            continue
        seen.add(id(obj))
        if isinstance(obj, str):
            count += needle in obj
            continue
        if isinstance(obj, (bytes, bytearray, int, float)):
            continue
        stack.extend(gc.get_referents(obj))
    return count


def test_disk_passages_equal_the_list(big_config, monkeypatch):
    in_ram = load_index(big_config.embeddings_dir, big_config.model)
    assert isinstance(in_ram.passages, list)
    monkeypatch.setattr(passages_mod, "PASSAGES_IN_RAM_UP_TO", 0)
    on_disk = load_index(big_config.embeddings_dir, big_config.model)
    ps = on_disk.passages
    assert isinstance(ps, DiskPassages) and len(ps) == len(in_ram.passages) > 100
    assert list(ps) == in_ram.passages
    assert [ps[i] for i in range(len(ps))] == in_ram.passages
    assert ps[-1] == in_ram.passages[-1] and ps[3:9] == in_ram.passages[3:9] and ps[:0] == []
    with pytest.raises(IndexError):
        ps[len(ps)]


def test_answers_equal_with_passages_on_disk(big_config, fake_embedder, monkeypatch):
    from chatbot.answer import compose
    from chatbot.retrieval.retriever import Retriever

    questions = ["异地就医备案怎么报销", "第3号文件第7条说了什么", "医保电话"]
    def answers():
        r = Retriever(load_index(big_config.embeddings_dir, big_config.model), fake_embedder)
        out = []
        for q in questions:
            got = r.search(q, 8)
            out.append(([h.passage for h in got.hits], compose(got, r.index.keyword).to_dict()))
        return out

    in_ram = answers()
    monkeypatch.setattr(passages_mod, "PASSAGES_IN_RAM_UP_TO", 0)
    assert answers() == in_ram


def test_memory_probe_passage_text_is_not_held(big_config, fake_embedder, monkeypatch):
    from chatbot.retrieval.retriever import Retriever

    monkeypatch.setattr(passages_mod, "PASSAGES_IN_RAM_UP_TO", 0)
    monkeypatch.setattr(passages_mod, "CACHED", 8)
    index = load_index(big_config.embeddings_dir, big_config.model)
    n = len(index.passages)
    assert _strings_reachable(index, MARK) == 0  # loaded: no passage text in the process's objects
    retriever = Retriever(index, fake_embedder)
    hits = retriever.search("异地就医备案怎么报销", 5).hits
    assert hits and MARK in hits[0].passage.text
    held = _strings_reachable(index, MARK)
    assert 0 < held <= 8 * 4 < n  # the index holds at most its cached passages' few fields, never the corpus
    # the in-memory layout, for contrast, holds every passage
    monkeypatch.setattr(passages_mod, "PASSAGES_IN_RAM_UP_TO", 10**9)
    assert _strings_reachable(load_index(big_config.embeddings_dir, big_config.model), MARK) >= n


def test_memory_probe_million_layout(big_config, fake_embedder, monkeypatch):
    """The layout used above PASSAGES_IN_RAM_UP_TO and EXACT_UP_TO (a million passages), on a small
    synthetic index: passage text read from the file, the BM25 score matrix memory-mapped from
    disk (not copied into the process), the graph's vectors stored in one byte a dimension."""
    import faiss
    import numpy as np

    from chatbot.retrieval.retriever import Retriever
    from chatbot.store.files import dense as dense_mod

    monkeypatch.setattr(dense_mod, "EXACT_UP_TO", 0)
    build_index(big_config, fake_embedder)  # rebuilt: the graph index now
    monkeypatch.setattr(passages_mod, "PASSAGES_IN_RAM_UP_TO", 0)
    monkeypatch.setattr(passages_mod, "CACHED", 8)
    index = load_index(big_config.embeddings_dir, big_config.model)
    n, d = len(index.passages), index.dense.dimension
    assert index.manifest["index_type"].startswith("hnsw") and "sq8" in index.manifest["index_type"]
    assert isinstance(index.dense.index, faiss.IndexHNSWSQ)
    assert index.dense.index.storage.sa_code_size() == d           # 8-bit codes: 1 byte a dimension
    graph = int(index.dense.index.hnsw.neighbors.size()) * 4
    assert index.dense.nbytes - graph < n * d * 4 * 0.3            # not float32 (or float16) vectors
    for name in ("data", "indices", "indptr"):                     # BM25 scores: pages of the files
        arr = index.keyword._bm25.scores[name]
        assert isinstance(arr, np.memmap) and str(arr.filename).startswith(str(Path(index.folder).resolve()))
    assert _strings_reachable(index, MARK) == 0
    hits = Retriever(index, fake_embedder).search("异地就医备案怎么报销", 5).hits
    assert hits and MARK in hits[0].passage.text
    assert _strings_reachable(index, MARK) <= 8 * 4 < n


def test_line_offsets_found_without_the_map_match_a_plain_scan(tmp_path, monkeypatch):
    """The lines are found by reading the file in chunks (not through the map): any chunk size,
    blank and whitespace-only lines, a last line without a newline, as bytes.strip() decides."""
    import random

    def plain(data: bytes):
        starts, ends, pos = [], [], 0
        while pos < len(data):
            end = data.find(b"\n", pos)
            end = len(data) if end < 0 else end
            if data[pos:end].strip():
                starts.append(pos)
                ends.append(end)
            pos = end + 1
        return starts, ends

    rng = random.Random(0)
    path = tmp_path / "lines.jsonl"
    for _ in range(300):
        lines = [rng.choice([b"", b" ", b"\t \r", b'{"a":1}', b'  {"b":"xyz"}  ', b"x" * rng.randint(1, 40)])
                 for _ in range(rng.randint(1, 30))]
        data = b"\n".join(lines) + rng.choice([b"", b"\n", b"  "])
        if not data:
            continue
        path.write_bytes(data)
        monkeypatch.setattr(passages_mod, "SCAN_BYTES", rng.choice([1, 2, 3, 7, 64, 1 << 20]))
        dp = DiskPassages(path)
        assert (dp._starts.tolist(), dp._ends.tolist()) == plain(data)
        dp.close()


def test_large_index_paths_give_the_same_retrieval(big_config, fake_embedder, monkeypatch):
    """What a large index switches on — the dense search in a worker thread beside the keyword
    search (OVERLAP_FROM) and the pruned keyword top k (PRUNE_FROM) — changes no hit, score or
    rank; the stages are reported with the dense search last."""
    from chatbot import stages
    from chatbot.retrieval import retriever as retriever_mod
    from chatbot.store import keyword as keyword_mod

    questions = ["异地就医备案怎么报销", "第3号文件第7条说了什么", "医保电话", "参保人员按规定报销医疗费用", "hello"]

    def hits():
        r = retriever_mod.Retriever(load_index(big_config.embeddings_dir, big_config.model), fake_embedder)
        return [[(h.passage.chunk_id, h.score, h.dense_score, h.keyword_score, h.dense_rank, h.keyword_rank)
                 for h in r.search(q, 10).hits] for q in questions]

    small = hits()
    monkeypatch.setattr(retriever_mod, "OVERLAP_FROM", 0)
    monkeypatch.setattr(keyword_mod, "PRUNE_FROM", 0)
    assert hits() == small
    r = retriever_mod.Retriever(load_index(big_config.embeddings_dir, big_config.model), fake_embedder)
    names = []
    with stages.listen(lambda name, seconds: names.append(name)):
        r.search("异地就医备案怎么报销", 5)
    assert names == ["normalize_tokenize", "embed", "keyword_search", "dense_search", "fusion_checks"]
