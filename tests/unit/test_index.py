"""The on-disk index: round trip, manifest checks, incremental builds, atomic swap, FAISS vs numpy."""

import json
import os

import numpy as np
import pytest

from chatbot.store.files import store as index_mod
from chatbot.store.files.dense import DenseIndex
from chatbot.errors import IndexCorruptError, IndexMismatchError, IndexMissingError, NoDocumentsError
from chatbot.store.files.store import FORMAT_VERSION, build_index, current_folder, load_index


def test_round_trip_and_manifest(fake_config, fake_embedder):
    report = build_index(fake_config, fake_embedder)
    assert len(report.files) == 5 and report.skipped == [] and report.passages == report.embedded > 100
    ix = load_index(fake_config.embeddings_dir, fake_config.model)
    m = ix.manifest
    assert m["format_version"] == FORMAT_VERSION and m["model"] == fake_config.model
    assert m["dimension"] == 64 and m["chunk_count"] == len(ix.passages) == ix.dense.ntotal == report.passages
    assert m["index_type"] == "flat" and m["built_at"]
    assert set(m["files"]) == {p.name for p in fake_config.documents_dir.glob("*.txt")}
    for f in m["files"].values():
        assert len(f["sha256"]) == 64 and f["rows"][1] > f["rows"][0]
    # the stored vectors are the ones FAISS searches
    vectors = np.load(ix.folder / "vectors.npy")
    ids, scores = ix.dense.search(vectors[7:8], 1)
    assert ids[0][0] == 7 and scores[0][0] == pytest.approx(1.0, abs=1e-5)


def test_missing_index_names_the_fix(tmp_path):
    with pytest.raises(IndexMissingError, match="chatbot build"):
        load_index(tmp_path / "nothing", "m")


def test_other_model_or_format_is_refused(fake_config, fake_embedder):
    build_index(fake_config, fake_embedder)
    with pytest.raises(IndexMismatchError, match="chatbot build"):
        load_index(fake_config.embeddings_dir, "another-model")
    manifest_path = current_folder(fake_config.embeddings_dir) / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["format_version"] = FORMAT_VERSION + 1
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(IndexMismatchError, match="format version"):
        load_index(fake_config.embeddings_dir, fake_config.model)


@pytest.mark.parametrize("damage", ["manifest", "passages", "faiss", "bm25", "count"])
def test_damaged_index_is_reported_not_crashed(fake_config, fake_embedder, damage):
    build_index(fake_config, fake_embedder)
    folder = current_folder(fake_config.embeddings_dir)
    if damage == "manifest":
        (folder / "manifest.json").write_text("{not json")
    elif damage == "passages":
        with open(folder / "passages.jsonl", "r+b") as fh:
            fh.truncate(100)
    elif damage == "faiss":
        (folder / "dense.faiss").write_bytes(b"garbage")
    elif damage == "bm25":
        for f in (folder / "bm25").iterdir():
            f.write_bytes(b"\x00")
    elif damage == "count":
        m = json.loads((folder / "manifest.json").read_text())
        m["chunk_count"] += 1
        (folder / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(IndexCorruptError, match="chatbot build"):
        load_index(fake_config.embeddings_dir, fake_config.model)


def test_unchanged_files_are_not_re_embedded(fake_config, fake_embedder):
    first = build_index(fake_config, fake_embedder)
    texts_first = fake_embedder.texts_seen
    second = build_index(fake_config, fake_embedder)
    assert fake_embedder.texts_seen == texts_first and second.embedded == 0
    assert all(f.reused for f in second.files)
    changed = sorted(fake_config.documents_dir.glob("*.txt"))[2]
    changed.write_text(changed.read_text(encoding="utf-8") + "\n补充说明\n新增一句关于医保的说明。", encoding="utf-8")
    third = build_index(fake_config, fake_embedder)
    assert [f.source for f in third.files if not f.reused] == [changed.name]
    assert 0 < third.embedded < first.embedded
    ix = load_index(fake_config.embeddings_dir, fake_config.model)
    # vectors of reused files equal freshly computed ones (rows stayed aligned with passages)
    fresh = fake_embedder.encode([p.embed_text_normalized for p in ix.passages])
    np.testing.assert_allclose(np.load(ix.folder / "vectors.npy"), fresh, atol=1e-6)


def test_another_text_normalisation_re_embeds_everything(fake_config, fake_embedder, monkeypatch):
    """What is embedded is the normalised text: vectors of another normalisation are not reused."""
    from chatbot import textnorm
    from chatbot.store import keyword

    first = build_index(fake_config, fake_embedder)
    monkeypatch.setattr(textnorm, "FINGERPRINT", textnorm.FINGERPRINT + "-changed")
    monkeypatch.setattr(keyword, "TOKENIZER", textnorm.FINGERPRINT)
    again = build_index(fake_config, fake_embedder)
    assert again.embedded == first.embedded and not any(f.reused for f in again.files)


def test_an_index_of_another_text_normalisation_is_refused_by_name(fake_config, fake_embedder, monkeypatch):
    """Built by an earlier version: its tokens and vectors would not meet today's questions."""
    from chatbot import textnorm

    build_index(fake_config, fake_embedder)
    monkeypatch.setattr(textnorm, "FINGERPRINT", textnorm.FINGERPRINT + "-newer")
    with pytest.raises(IndexMismatchError, match="text normalisation.*chatbot build"):
        load_index(fake_config.embeddings_dir, fake_config.model)


def test_crash_mid_build_leaves_previous_index(fake_config, fake_embedder, monkeypatch):
    build_index(fake_config, fake_embedder)
    before = current_folder(fake_config.embeddings_dir)
    (fake_config.documents_dir / "new.txt").write_text("新文件\n一个新的段落。", encoding="utf-8")

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(index_mod.DenseIndex, "save", boom)
    with pytest.raises(RuntimeError):
        build_index(fake_config, fake_embedder)
    monkeypatch.undo()
    assert current_folder(fake_config.embeddings_dir) == before
    ix = load_index(fake_config.embeddings_dir, fake_config.model)
    assert "new.txt" not in ix.manifest["files"]
    # the next build cleans the leftovers and succeeds
    build_index(fake_config, fake_embedder)
    leftovers = [p.name for p in fake_config.embeddings_dir.iterdir() if p.name.startswith((".tmp-", "v-"))]
    assert len(leftovers) == 1 and "new.txt" in load_index(fake_config.embeddings_dir, fake_config.model).manifest["files"]


def test_no_readable_documents_is_an_error(tmp_path, fake_config, fake_embedder):
    empty = tmp_path / "empty_docs"
    empty.mkdir()
    (empty / "a.txt").write_bytes(b"")
    cfg = fake_config.with_overrides(documents_dir=empty)
    with pytest.raises(NoDocumentsError, match="a.txt: empty"):
        build_index(cfg, fake_embedder)


def _brute_force(base, queries, k):
    scores = queries @ base.T
    ids = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return ids, np.take_along_axis(scores, ids, axis=1)


def _unit(rng, n, d):
    x = rng.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_flat_index_matches_numpy_brute_force():
    rng = np.random.default_rng(0)
    base, queries = _unit(rng, 2000, 32), _unit(rng, 50, 32)
    ix = DenseIndex.build(base)
    assert ix.kind == "flat"
    ids, scores = ix.search(queries, 10)
    ref_ids, ref_scores = _brute_force(base, queries, 10)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-5, atol=1e-5)
    assert (ids == ref_ids).mean() > 0.99  # ties aside, identical


def test_ivf_index_recall_against_numpy():
    rng = np.random.default_rng(1)
    centers = _unit(rng, 200, 32)
    base = centers[rng.integers(0, 200, 20000)] + 0.3 * _unit(rng, 20000, 32)
    base = (base / np.linalg.norm(base, axis=1, keepdims=True)).astype(np.float32)
    queries = base[rng.choice(20000, 100, replace=False)] + 0.05 * _unit(rng, 100, 32)
    queries = (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)
    ix = DenseIndex.build(base, kind="ivf")
    assert ix.kind.startswith("ivf")
    ids, _ = ix.search(queries, 10)
    ref_ids, _ = _brute_force(base, queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(ids, ref_ids)])
    assert recall >= 0.9


def test_store_check_reads_the_manifest_only(fake_config, fake_embedder, monkeypatch, tmp_path):
    """`build --if-missing` (make run) checks the manifest without loading the index (issue 21)."""
    from chatbot.store import open_store
    from chatbot.store.base import Store

    store = open_store(fake_config)
    assert isinstance(store, Store)
    with pytest.raises(IndexMissingError):
        store.check()
    build_index(fake_config, fake_embedder)

    def no_load(*a, **k):
        raise AssertionError("check() loaded the index")

    monkeypatch.setattr(DenseIndex, "load", no_load)
    monkeypatch.setattr(index_mod, "verify_files", no_load)
    manifest = store.check()
    assert manifest["model"] == fake_config.model and manifest["format_version"] == FORMAT_VERSION
    with pytest.raises(IndexMismatchError):
        open_store(fake_config.with_overrides(model="another-model")).check()
    (current_folder(fake_config.embeddings_dir) / "manifest.json").write_text("{", encoding="utf-8")
    with pytest.raises(IndexCorruptError):
        store.check()
