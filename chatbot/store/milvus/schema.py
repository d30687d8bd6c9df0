"""How the index lives in Milvus: two collections used blue/green behind one alias, their fields,
indexes and manifest property, and the row form of a passage.

    <base>          alias → the live collection; readers open it, builds flip it atomically
    <base>_a / _b   the two slots; a build brings the standby one up to date, then flips the alias
    properties      "chatbot.manifest": format_version, model, dimension, chunk_count, chunking,
                    files {sha256, rows}, skipped, built_at, keyword ("server"|"local"), complete
Rows: pk (hash of model, chunking, file hash and chunk: the same chunk has the same pk in both
slots), vector, the Passage fields, `search_text` (normalised text) and `terms` (our BM25 tokens,
space-separated, escaped so that Milvus's tokenizers split them exactly at the spaces). Where the
server has BM25 functions (≥ 2.5, Lite), `sparse` (jieba analyzer on search_text) and
`sparse_terms` (our tokens) are BM25 fields; on older servers they are left out.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Iterable, Sequence

import numpy as np

from ...errors import ChatbotError
from ...textnorm import STOPWORDS
from ...types import Passage
from ..params import EXACT_UP_TO, HNSW_M, MILVUS_EF_CONSTRUCTION, choose_ef_search
from .connection import has_bm25, is_local, terms_tokenizer

FORMAT_VERSION = 2             # of the collections (rows and manifest); 2: BM25 fields optional
MANIFEST_KEY = "chatbot.manifest"
INSERT_BATCH = 256
READ_BATCH = 1000
MAX_TEXT_BYTES = 65535         # Milvus VARCHAR limit
# The analyzer Milvus runs on `search_text` for its BM25 function: jieba search mode (as
# textnorm.tokenize) without punctuation and without our stop words.
ANALYZER = {"tokenizer": {"type": "jieba", "mode": "search"},
            "filter": ["removepunct", {"type": "stop", "stop_words": sorted(STOPWORDS)}]}
BM25_PARAMS = {"bm25_k1": 1.2, "bm25_b": 0.75}   # the same k1/b as store/keyword.py
BIGRAM = "§"      # textnorm's marker of a CJK bigram token
PASSAGE_FIELDS = ["pk", "source", "seq", "chunk_id", "doc_id", "title", "date", "position", "kind", "page", "section", "text"]

# Our tokens stored so that a \w+ tokenizer and a whitespace one both see exactly them: a bigram
# "§医保" becomes "_医保"; any other character outside \w (and "_") becomes "_<hex>_"
# ("643.45" → "643_2e_45"). Lossless, so in-process BM25 and idf() read the originals back.
_ESCAPE = re.compile(r"[^\w]|_")
_UNESCAPE = re.compile(r"_([0-9a-f]+)_")
_STORED_BIGRAM = re.compile(r"_[\u3400-\u4dbf\u4e00-\u9fff]{2}")


def _encode_term(t: str) -> str:
    if t.startswith(BIGRAM) and _STORED_BIGRAM.fullmatch("_" + t[1:]):
        return "_" + t[1:]
    return _ESCAPE.sub(lambda m: f"_{ord(m.group()):x}_", t)


def _decode_term(t: str) -> str:
    if _STORED_BIGRAM.fullmatch(t):
        return BIGRAM + t[1:]
    return _UNESCAPE.sub(lambda m: chr(int(m.group(1), 16)), t)


def encode_terms(tokens: Sequence[str]) -> str:
    return " ".join(_encode_term(t) for t in tokens)


def decode_terms(text: str) -> list[str]:
    return [_decode_term(t) for t in text.split(" ")]


def slots(base: str) -> tuple[str, str]:
    return f"{base}_a", f"{base}_b"


def live_collection(client, base: str) -> str | None:
    """The slot the alias points at, or None before the first build."""
    for name in slots(base):
        if client.has_collection(name) and base in (client.list_aliases(collection_name=name).get("aliases") or []):
            return name
    return None


def read_manifest(client, name: str) -> dict | None:
    props = client.describe_collection(name).get("properties") or {}
    raw = props.get(MANIFEST_KEY)
    if raw is None:
        return None
    try:
        manifest = json.loads(raw)
    except ValueError:
        return None
    return manifest if isinstance(manifest, dict) else None


def write_manifest(client, name: str, manifest: dict) -> None:
    client.alter_collection_properties(name, properties={MANIFEST_KEY: json.dumps(manifest, ensure_ascii=False)})


def read_rows(client, name: str, fields: list[str], expr: str = "") -> Iterable[dict]:
    it = client.query_iterator(name, batch_size=READ_BATCH, filter=expr, output_fields=fields)
    try:
        while True:
            batch = it.next()
            if not batch:
                break
            yield from batch
    finally:
        it.close()


def passage_of(row: dict) -> Passage:
    return Passage(chunk_id=row["chunk_id"], doc_id=row["doc_id"], source=row["source"], title=row["title"],
                   date=row["date"] or None, position=int(row["position"]), kind=row["kind"], text=row["text"],
                   page=row.get("page") or None, section=row.get("section") or None)


def pk_of(model: str, chunking: dict, sha256: str, chunk_id: str, seq: int) -> int:
    """Stable 63-bit id: the same chunk of the same file content and settings → the same pk."""
    key = f"{model}\x1f{chunking['chars']}\x1f{chunking['overlap']}\x1f{sha256}\x1f{seq}\x1f{chunk_id}"
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little") & (2**63 - 1)


def index_kind(n: int) -> tuple[str, dict]:
    """The dense index for n vectors (store/params.py): exact up to the same size as FAISS, then
    HNSW with the same degree, and the construction and search breadth its figures were measured
    with (FAISS's graph is built with more candidates since session 27)."""
    if n <= EXACT_UP_TO:
        return "flat", {"index_type": "FLAT", "metric_type": "IP", "params": {}}
    return f"hnsw{HNSW_M},ef={choose_ef_search(n, MILVUS_EF_CONSTRUCTION)}", {
        "index_type": "HNSW", "metric_type": "IP", "params": {"M": HNSW_M, "efConstruction": MILVUS_EF_CONSTRUCTION}}


def search_params(kind: str) -> dict:
    """Search parameters for a dense index kind ("hnsw32,ef=512" → ef 512)."""
    params = {}
    found = re.search(r"ef=(\d+)", kind)
    if found:
        params["ef"] = int(found.group(1))
    return {"metric_type": "IP", "params": params}


def _wire_params(uri: str, params: dict) -> dict:
    """Index build parameters as each side reads them: pymilvus 3 sends them as flat key-value
    pairs, which a server reads but Milvus Lite 3.2 ignores (it decodes only the older `params`
    JSON entry, and would silently use k1=1.5 and its own HNSW settings); Lite gets that form."""
    return {"params": params} if is_local(uri) and params else params


def create_collection(client, uri: str, name: str, dim: int, n_expected: int, manifest: dict) -> tuple[str, bool]:
    """Create one slot; returns (dense index kind, whether it carries BM25 fields)."""
    from pymilvus import DataType, Function, FunctionType

    bm25 = has_bm25(client, uri)
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("source", DataType.VARCHAR, max_length=4096)
    schema.add_field("seq", DataType.INT64)
    for key, length in (("chunk_id", 8192), ("doc_id", 8192), ("title", MAX_TEXT_BYTES), ("date", 256)):
        schema.add_field(key, DataType.VARCHAR, max_length=length)
    schema.add_field("position", DataType.INT64)
    schema.add_field("kind", DataType.VARCHAR, max_length=256)
    schema.add_field("page", DataType.INT64)
    schema.add_field("section", DataType.VARCHAR, max_length=4096)
    schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
    if bm25:
        schema.add_field("search_text", DataType.VARCHAR, max_length=MAX_TEXT_BYTES, enable_analyzer=True,
                         analyzer_params=ANALYZER)
        schema.add_field("terms", DataType.VARCHAR, max_length=MAX_TEXT_BYTES, enable_analyzer=True,
                         analyzer_params={"tokenizer": terms_tokenizer(client, uri)})
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_field("sparse_terms", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                     input_field_names=["search_text"], output_field_names=["sparse"]))
        schema.add_function(Function(name="bm25_terms", function_type=FunctionType.BM25,
                                     input_field_names=["terms"], output_field_names=["sparse_terms"]))
    else:  # Milvus < 2.5: no sparse vectors, no analyzers; BM25 runs in process over `terms`
        schema.add_field("search_text", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
        schema.add_field("terms", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
    kind, dense_index = index_kind(n_expected)
    params = client.prepare_index_params()
    dense_index["params"] = _wire_params(uri, dense_index["params"])
    params.add_index(field_name="vector", **dense_index)
    for sparse in ("sparse", "sparse_terms") if bm25 else ():
        params.add_index(field_name=sparse, index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                         params=_wire_params(uri, BM25_PARAMS))
    manifest = {**manifest, "keyword": "server" if bm25 else "local"}
    client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong",
                             properties={MANIFEST_KEY: json.dumps(manifest, ensure_ascii=False)})
    return kind, bm25


def rows_for(passages: Sequence[Passage], vectors: np.ndarray, tokens: Sequence[Sequence[str]] | Sequence[str],
             pks: Sequence[int]) -> list[dict]:
    """Rows of some passages; `tokens` per passage, as token lists or already in stored form."""
    rows = []
    for seq, (p, v, t, pk) in enumerate(zip(passages, vectors, tokens, pks)):
        row = {"pk": int(pk), "vector": np.asarray(v, dtype=np.float32).tolist(), "source": p.source, "seq": seq,
               "chunk_id": p.chunk_id, "doc_id": p.doc_id, "title": p.title, "date": p.date or "",
               "position": int(p.position), "kind": p.kind, "page": int(p.page or 0), "section": p.section or "",
               "text": p.text, "search_text": p.embed_text_normalized,
               "terms": t if isinstance(t, str) else encode_terms(t)}
        for key in ("title", "text", "search_text", "terms"):
            if len(row[key].encode("utf-8")) > MAX_TEXT_BYTES:
                raise ChatbotError(f"a passage of {p.source} is too long for Milvus ({key} over {MAX_TEXT_BYTES} bytes); "
                                   f"lower the chunk size")
        rows.append(row)
    return rows
