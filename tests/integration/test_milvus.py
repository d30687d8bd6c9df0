"""The Milvus backend on Milvus Lite: the same passages, vector and keyword results as the FAISS
files, the manifest and its checks, blue/green incremental builds, crash safety, one-line errors."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from chatbot.store.milvus import build as mbuild, connection, schema, search  # noqa: E402
from chatbot.errors import ChatbotError, IndexMismatchError, IndexMissingError  # noqa: E402
from chatbot.store import build, exists, open_index  # noqa: E402
from chatbot.store.files.store import build_index, load_index  # noqa: E402
from chatbot.textnorm import keyword_tokens, normalize  # noqa: E402

QUERIES = ["衡水市医保电话是多少", "灵活就业人员医保怎么交", "新生儿出生后多久要参保", "异地就医备案需要什么材料",
           "医保卡丢了怎么办", "What is the hotline?"]


@pytest.fixture
def milvus_config(fake_config):
    return fake_config.with_overrides(store="milvus")


def _chunk_ids(index):
    return [p.chunk_id for p in index.passages]


def test_round_trip_matches_the_faiss_index(fake_config, milvus_config, fake_embedder, monkeypatch):
    assert not exists(milvus_config)
    report = build(milvus_config, fake_embedder)
    assert exists(milvus_config) and report.inserted == report.passages == report.embedded > 100
    build_index(fake_config, fake_embedder)
    faiss_ix = load_index(fake_config.embeddings_dir, fake_config.model)
    ix = open_index(milvus_config)
    assert isinstance(ix, search.MilvusIndex) and ix.collection == "chatbot_a"
    # the manifest carries what manifest.json carries
    m = ix.manifest
    assert m["format_version"] == schema.FORMAT_VERSION and m["model"] == fake_config.model and m["dimension"] == 64
    assert m["chunk_count"] == len(ix.passages) == faiss_ix.manifest["chunk_count"] and m["built_at"] and m["complete"]
    assert {s: (f["sha256"], f["rows"]) for s, f in m["files"].items()} == \
        {s: (f["sha256"], f["rows"]) for s, f in faiss_ix.manifest["files"].items()}
    # same passages in the same row order, so the same ids mean the same passages
    assert ix.passages == faiss_ix.passages
    vectors = fake_embedder.encode([normalize(q) for q in QUERIES])
    ids, scores = ix.dense.search(vectors, 10)
    f_ids, f_scores = faiss_ix.dense.search(vectors, 10)
    np.testing.assert_allclose(scores, f_scores, atol=1e-5)
    np.testing.assert_allclose(ix.dense.similarity(vectors[0], [3, 50, 7]),
                               faiss_ix.dense.similarity(vectors[0], [3, 50, 7]), atol=1e-5)
    for row, f_row, s in zip(ids, f_ids, f_scores):   # equal up to the order of exact ties
        assert {(i, round(float(x), 4)) for i, x in zip(row, s)} == {(i, round(float(x), 4)) for i, x in zip(f_row, s)}
    # keyword side: every mode reads the same tokens; the bm25s and Milvus-over-tokens modes rank alike
    for mode in search.KEYWORD_MODES:
        kw = open_index(milvus_config.with_overrides(milvus_keyword=mode)).keyword
        for q in QUERIES[:5]:
            tokens = keyword_tokens(q)
            assert kw.idf(tokens[0]) == pytest.approx(faiss_ix.keyword.idf(tokens[0]), rel=1e-6)
            got, got_scores = kw.search(tokens, 5)
            want, want_scores = faiss_ix.keyword.search(tokens, 5)
            assert len(got) == len(want) == 5
            if mode in ("local", "milvus"):   # the same BM25 over the same tokens: same ranking, scores
                assert list(got) == list(want), (mode, q)   # equal up to Milvus's constant (k1 + 1)
                np.testing.assert_allclose(got_scores / got_scores[0], want_scores / want_scores[0], rtol=1e-4)
        assert kw.unseen_idf() == pytest.approx(faiss_ix.keyword.unseen_idf())


def test_missing_index_and_other_model_give_the_faiss_messages(fake_config, milvus_config, fake_embedder, tmp_path):
    with pytest.raises(IndexMissingError, match="chatbot build --store milvus"):
        open_index(milvus_config)
    assert not (fake_config.embeddings_dir / "milvus.db").exists()  # looking does not create a database
    build(milvus_config, fake_embedder)
    build_index(fake_config, fake_embedder)
    with pytest.raises(IndexMismatchError) as faiss_err:
        load_index(fake_config.embeddings_dir, "another-model")
    with pytest.raises(IndexMismatchError) as milvus_err:
        open_index(milvus_config.with_overrides(model="another-model"))
    assert str(milvus_err.value) == str(faiss_err.value)
    assert "\n" not in str(milvus_err.value) and "chatbot build" in str(milvus_err.value)
    # a collection written by another version of this backend
    ix = open_index(milvus_config)
    schema.write_manifest(ix.col.client, ix.collection, {**ix.manifest, "format_version": schema.FORMAT_VERSION + 1})
    with pytest.raises(IndexMismatchError, match=f"format version {schema.FORMAT_VERSION + 1} does not match.*chatbot build"):
        open_index(milvus_config)
    build(milvus_config, fake_embedder)   # and a build replaces it
    assert open_index(milvus_config).manifest["format_version"] == schema.FORMAT_VERSION


def _append(path, text):
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(text)


def test_incremental_builds_touch_only_changed_files(milvus_config, fake_embedder, corpus_dir):
    files = sorted(corpus_dir.glob("*.txt"))
    first = build(milvus_config, fake_embedder)
    assert first.collection == "chatbot_a"
    again = build(milvus_config, fake_embedder)
    assert again.unchanged and again.embedded == 0 and again.inserted == 0 and again.collection == "chatbot_a"

    _append(files[1], "\n补充说明：本页内容仅供参考，以当地医保局公布为准。\n")
    second = build(milvus_config, fake_embedder)
    changed = {f.source: f.chunks for f in second.files if not f.reused}
    assert set(changed) == {files[1].name} and second.embedded == changed[files[1].name]
    assert second.collection == "chatbot_b"           # the standby, filled from the live one + new chunks
    assert second.inserted == second.passages

    _append(files[3], "\n补充说明：各地政策以当地医保部门最新公告为准。\n")
    third = build(milvus_config, fake_embedder)
    chunks = {f.source: f.chunks for f in third.files}
    assert third.collection == "chatbot_a"
    assert third.embedded == chunks[files[3].name]    # only the changed file is embedded...
    # ...and collection a only loses and regains the rows of the files that changed since it was live
    assert third.deleted_files == 2 and third.inserted == chunks[files[1].name] + chunks[files[3].name]

    ix = open_index(milvus_config)
    assert ix.collection == "chatbot_a" and len(ix.passages) == third.passages
    assert any("最新公告为准" in p.text for p in ix.passages) and any("以当地医保局公布为准" in p.text for p in ix.passages)
    # identical to a from-scratch build of the same documents
    fresh_cfg = milvus_config.with_overrides(embeddings_dir=milvus_config.embeddings_dir.parent / "fresh")
    build(fresh_cfg, fake_embedder)
    assert _chunk_ids(open_index(fresh_cfg)) == _chunk_ids(ix)


class _Boom(RuntimeError):
    pass


def test_a_build_that_dies_midway_leaves_the_live_index_answering(milvus_config, fake_embedder, corpus_dir, monkeypatch):
    build(milvus_config, fake_embedder)
    before = open_index(milvus_config)
    files = sorted(corpus_dir.glob("*.txt"))
    _append(files[0], "\n新增条目\n\n临时新增的说明文字，用于测试中断的构建。\n")
    files[4].unlink()

    real_connect = mbuild.connect

    def dying_connect(config, create=False):
        client = real_connect(config, create)
        real_insert = client.insert

        def insert(name, rows, *a, **kw):
            real_insert(name, rows[: len(rows) // 2], *a, **kw)   # half a batch lands in the standby...
            raise _Boom("killed")                                  # ...then the build dies

        client.insert = insert
        return client

    monkeypatch.setattr(mbuild, "connect", dying_connect)
    with pytest.raises(_Boom):
        build(milvus_config, fake_embedder)
    monkeypatch.setattr(mbuild, "connect", real_connect)

    after = open_index(milvus_config)   # still the old collection, whole and consistent
    assert after.collection == before.collection and after.passages == before.passages
    assert after.manifest["built_at"] == before.manifest["built_at"]

    report = build(milvus_config, fake_embedder)   # the next build repairs the half-written standby
    ix = open_index(milvus_config)
    assert ix.collection != before.collection and len(ix.passages) == report.passages
    assert files[4].name not in ix.manifest["files"] and any("中断的构建" in p.text for p in ix.passages)
    fresh_cfg = milvus_config.with_overrides(embeddings_dir=milvus_config.embeddings_dir.parent / "fresh")
    build(fresh_cfg, fake_embedder)
    assert _chunk_ids(open_index(fresh_cfg)) == _chunk_ids(ix)


def test_another_model_rebuilds_everything(milvus_config, fake_embedder):
    build(milvus_config, fake_embedder)
    other = milvus_config.with_overrides(model="fake-other")
    report = build(other, fake_embedder)
    assert report.embedded == report.passages            # no vectors reused across models
    assert open_index(other).manifest["model"] == "fake-other"
    with pytest.raises(IndexMismatchError, match="fake-other"):
        open_index(milvus_config)


def test_query_text_rebuilds_the_question_for_the_analyzer():
    tokens = keyword_tokens("衡水市医保电话是多少？0318-12333")
    text = search.query_text(tokens)
    assert "衡水市医保电话是多少" in text and "0318" in text and "12333" in text
    assert schema.decode_terms(schema.encode_terms(tokens)) == tokens
    assert all(" " not in t for t in tokens)


def test_auto_keyword_mode_follows_the_collection(milvus_config):
    auto = milvus_config.with_overrides(milvus_keyword="auto")
    server, old_server = {"keyword": "server"}, {"keyword": "local"}
    assert search.keyword_mode(auto, "/tmp/x/milvus.db", server) == "local"       # Lite: bm25s is faster
    assert search.keyword_mode(auto, "http://milvus:19530", server) == "milvus"   # a server with BM25 functions
    assert search.keyword_mode(auto, "http://milvus:19530", old_server) == "local"   # Milvus 2.3/2.4
    jieba = milvus_config.with_overrides(milvus_keyword="jieba")
    assert search.keyword_mode(jieba, "http://milvus:19530", server) == "jieba"
    with pytest.raises(ChatbotError, match="lacks"):
        search.keyword_mode(jieba, "http://milvus:19530", old_server)


def test_unknown_keyword_mode_and_store_are_one_line_errors(milvus_config, fake_embedder):
    build(milvus_config, fake_embedder)
    with pytest.raises(ChatbotError, match="CHATBOT_MILVUS_KEYWORD"):
        open_index(milvus_config.with_overrides(milvus_keyword="elastic"))
    with pytest.raises(ChatbotError, match="--store faiss or --store milvus"):
        open_index(milvus_config.with_overrides(store="pinecone"))


def test_unreachable_server_is_a_one_line_error(milvus_config):
    cfg = milvus_config.with_overrides(milvus_uri="http://user:secret@127.0.0.1:9")
    with pytest.raises(connection.MilvusError) as err:
        open_index(cfg)
    msg = str(err.value)
    assert "cannot connect to Milvus at http://127.0.0.1:9" in msg and "secret" not in msg and "\n" not in msg


def test_lite_file_held_by_another_process_is_named(milvus_config, fake_embedder, tmp_path):
    build(milvus_config, fake_embedder)
    connection.release_local(milvus_config)   # this process lets go of the file, another one opens it
    db = connection.milvus_uri(milvus_config)
    holder = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time
        from pymilvus import MilvusClient
        MilvusClient({db!r}).list_collections()
        print("open", flush=True)
        sys.stdin.read()
    """)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        with pytest.raises(connection.MilvusError, match="open in another process"):
            open_index(milvus_config)
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


def test_cli_build_if_missing_checks_the_milvus_store(milvus_config, fake_embedder, capsys):
    from chatbot import cli

    build(milvus_config, fake_embedder)
    args = ["build", "--store", "milvus", "--if-missing", "--documents", str(milvus_config.documents_dir),
            "--embeddings", str(milvus_config.embeddings_dir), "--model", milvus_config.model]
    assert cli.main(args) == 0
    assert "nothing to do" in capsys.readouterr().out


def test_bulk_index_loads_given_passages_and_vectors(milvus_config, fake_embedder):
    from chatbot.types import Passage

    passages = [Passage(f"s{i // 3}.txt#{i % 3}:0", f"s{i // 3}.txt#{i % 3}", f"s{i // 3}.txt", f"标题{i}", None,
                        i % 3, "item", text)
                for i, text in enumerate(["衡水市医保电话0318-12333。", "灵活就业人员可以在税务App缴费。",
                                          "新生儿出生后90天内参保。", "异地就医需先备案。", "医保卡丢失请挂失补办。"])]
    vectors = fake_embedder.encode([p.embed_text_normalized for p in passages])
    mbuild.bulk_index(milvus_config, passages, vectors)
    ix = open_index(milvus_config)
    assert ix.passages == passages and ix.manifest["chunk_count"] == 5
    assert ix.manifest["files"]["s1.txt"]["rows"] == [3, 5]
    ids, scores = ix.dense.search(vectors[3:4], 2)
    assert ids[0][0] == 3 and scores[0][0] == pytest.approx(1.0, abs=1e-5)
    kid, _ = ix.keyword.search(keyword_tokens("医保卡丢了"), 3)
    assert kid[0] == 4
    with pytest.raises(ValueError, match="contiguous"):
        mbuild.bulk_index(milvus_config, [passages[0], passages[3], passages[1]], vectors[:3])
    assert open_index(milvus_config).passages == passages   # refused before touching the index
