"""Reading the index from Milvus: open the live collection, check its manifest, load the passages,
and answer dense and keyword searches from it.

Keyword search (`Config.milvus_keyword`):
    milvus  Milvus's BM25 function over our tokens (`sparse_terms`): the FAISS backend's ranking
    jieba   Milvus's BM25 function with its jieba analyzer on the text (`sparse`): no CJK bigrams
    local   store/keyword.py's bm25s index, built at open from the stored `terms`
    auto    `milvus` where the collection has BM25 fields and the URI is a server; `local` on
            Milvus Lite (its pure-Python BM25 is slower than bm25s for the same ranking) and on
            servers without BM25 functions (Milvus < 2.5: the manifest says keyword "local")
Every call survives a server restart: a failed call reloads the collection once and retries;
if that fails too, a one-line MilvusError says Milvus is unavailable.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Sequence, TypeVar

import numpy as np

from ... import stages
from ...errors import IndexCorruptError, IndexMissingError
from ..base import FIX, SearchIndex, check_manifest
from ..keyword import KeywordIndex
from . import schema
from .connection import (CALL_TIMEOUT, Guard, MilvusError, collection_base, connect, is_client_error, is_local,
                         milvus_uri, reason, shown)

if TYPE_CHECKING:
    from ...config import Config
    from ...types import Passage

KEYWORD_MODES = ("auto", "milvus", "jieba", "local")
T = TypeVar("T")


class Collection:
    """One collection seen through a client: calls that reload it once after a server restart."""

    def __init__(self, client, name: str, uri: str):
        self.client, self.name, self.uri = client, name, uri
        self._lock = threading.Lock()

    def call(self, what: str, fn: Callable[[], T]) -> T:
        try:
            return fn()
        except Exception as first:  # noqa: BLE001 - only client errors are retried
            if not is_client_error(first):
                raise
            try:  # a restarted server may have released the collection
                with self._lock:
                    self.client.load_collection(self.name, timeout=CALL_TIMEOUT)
                return fn()
            except Exception as exc:  # noqa: BLE001
                if not is_client_error(exc):
                    raise
                raise MilvusError(f"Milvus at {shown(self.uri)} is unavailable while {what} ({reason(exc)}); "
                                  f"try again shortly") from exc


class MilvusDense:
    """Dense search in the collection; ids are passage rows of this process's loaded passages."""

    def __init__(self, col: Collection, pk_to_pos: dict[int, int], dimension: int, kind: str):
        self.col = col
        self.pk_to_pos = pk_to_pos
        self.pos_to_pk = {pos: pk for pk, pos in pk_to_pos.items()}
        self.dimension = dimension
        self.kind = kind
        self._params = schema.search_params(kind)

    @property
    def ntotal(self) -> int:
        return len(self.pk_to_pos)

    def similarity(self, query_vector: np.ndarray, ids: Sequence[int]) -> np.ndarray | None:
        """Exact inner products with the stored vectors of passages `ids` (one `get` by pk)."""
        ids = [int(i) for i in ids]
        if not ids:
            return np.zeros(0, dtype=np.float32)
        rows = self.col.call("reading vectors", lambda: self.col.client.get(
            self.col.name, ids=[self.pos_to_pk[i] for i in ids], output_fields=["vector"]))
        by_pk = {int(r["pk"]): r["vector"] for r in rows}
        if len(by_pk) != len(ids):
            return None
        stored = np.asarray([by_pk[self.pos_to_pk[i]] for i in ids], dtype=np.float32)
        return stored @ np.asarray(query_vector, dtype=np.float32).reshape(-1)

    def search(self, query_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = max(1, min(k, self.ntotal))
        qv = np.asarray(query_vectors, dtype=np.float32).reshape(-1, self.dimension)
        result = self.col.call("searching vectors", lambda: self.col.client.search(
            self.col.name, data=qv.tolist(), anns_field="vector", limit=k, search_params=self._params))
        ids = np.full((len(qv), k), -1, dtype=np.int64)
        scores = np.full((len(qv), k), -np.inf, dtype=np.float32)
        for q, hits in enumerate(result):
            j = 0
            for hit in hits:
                pos = self.pk_to_pos.get(int(hit.id))
                if pos is None:  # a row this process did not load (a later build): skip it
                    continue
                ids[q, j], scores[q, j] = pos, float(hit.distance)
                j += 1
        return ids, scores


class DocFrequencies:
    """Token document frequencies (from the stored `terms`) for `idf()`, as store/keyword.py computes them."""

    def __init__(self, df: Counter, n: int):
        self.df = df
        self.n = n

    def idf(self, token: str) -> float:
        df = self.df.get(token)
        return float(np.log(1 + (self.n - df + 0.5) / (df + 0.5))) if df else 0.0

    def unseen_idf(self) -> float:
        return float(np.log(1 + (self.n + 0.5) / 0.5))


def query_text(tokens: Sequence[str]) -> str:
    """The question text Milvus's jieba analyzer should see, rebuilt from our tokens: CJK runs from
    their overlapping bigrams ("§衡水", "§水市" → "衡水市"), other non-CJK words as they are."""
    import re

    runs: list[str] = []
    prev = None
    for t in tokens:
        if not t.startswith(schema.BIGRAM) or len(t) != 3:
            continue
        gram = t[1:]
        if prev is not None and runs and prev[1] == gram[0]:
            runs[-1] += gram[1]
        else:
            runs.append(gram)
        prev = gram
    cjk = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
    others = [t for t in tokens if not t.startswith(schema.BIGRAM) and not cjk.search(t)]
    return " ".join(dict.fromkeys(runs + others))


class MilvusKeyword(DocFrequencies):
    """Keyword search answered by a Milvus BM25 function: on the text with the jieba analyzer
    (`sparse`), or on our tokens (`sparse_terms`)."""

    def __init__(self, col: Collection, pk_to_pos: dict[int, int], df: Counter, n: int, field: str):
        super().__init__(df, n)
        self.col, self.pk_to_pos, self.field = col, pk_to_pos, field

    def search(self, tokens: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        text = query_text(tokens) if self.field == "sparse" else schema.encode_terms(tokens)
        if not text or self.n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        result = self.col.call("searching keywords", lambda: self.col.client.search(
            self.col.name, data=[text], anns_field=self.field, limit=max(1, min(k, self.n)),
            search_params={"metric_type": "BM25", "params": {}}))
        ids, scores = [], []
        for hit in result[0] if result else []:
            pos = self.pk_to_pos.get(int(hit.id))
            score = abs(float(hit.distance))  # Milvus Lite reports -score, a server +score
            if pos is not None and score > 0:
                ids.append(pos)
                scores.append(score)
        return np.asarray(ids, dtype=np.int64), np.asarray(scores, dtype=np.float32)


class MilvusIndex(SearchIndex):
    """A SearchIndex whose dense (and possibly keyword) side queries a Milvus collection."""

    def __init__(self, folder, manifest, passages, dense, keyword, *, col: Collection, base: str, keyword_mode: str):
        super().__init__(folder, manifest, passages, dense, keyword)
        self.col, self.base, self.keyword_mode = col, base, keyword_mode
        self.uri, self.collection = shown(col.uri), col.name

    def close(self) -> None:
        self.col.client.close()

    def is_current(self) -> bool:
        """False once the alias points at the other slot (another process finished a build).
        While Milvus is unreachable the answer is True: there is nothing newer to switch to."""
        try:
            return schema.live_collection(self.col.client, self.base) in (None, self.col.name)
        except Exception as exc:  # noqa: BLE001
            if is_client_error(exc):
                return True
            raise


def keyword_mode(config: "Config", uri: str, manifest: dict) -> str:
    """The keyword search to use for this collection (see the module docstring)."""
    mode = (config.milvus_keyword or "auto").strip().lower()
    if mode not in KEYWORD_MODES:
        raise MilvusError(f"CHATBOT_MILVUS_KEYWORD must be one of {', '.join(KEYWORD_MODES)}, not {mode!r}")
    server_side = manifest.get("keyword", "server") == "server"
    if mode == "auto":
        return "milvus" if server_side and not is_local(uri) else "local"
    if mode != "local" and not server_side:
        raise MilvusError(f"CHATBOT_MILVUS_KEYWORD={mode} needs BM25 functions, which this Milvus server lacks "
                          f"(Milvus < 2.5); use auto or local")
    return mode


def check_index(config: "Config") -> dict:
    """The live collection's manifest, checked, without loading the collection (`Store.check`)."""
    uri = milvus_uri(config)
    client = connect(config)
    with Guard("checking the index"):
        name = schema.live_collection(client, collection_base(config))
        if name is None:
            raise IndexMissingError(f"no index in Milvus at {shown(uri)}; run `chatbot build --store milvus` to build it")
        manifest = schema.read_manifest(client, name)
        if manifest is None or not manifest.get("complete"):
            raise IndexCorruptError(f"Milvus collection {name} at {shown(uri)} has no complete manifest; {FIX}")
        check_manifest(manifest, config.model, schema.FORMAT_VERSION)
    return manifest


def open_index(config: "Config") -> MilvusIndex:
    """Open the live collection, check its manifest, load passages; named one-line errors."""
    stages.event("index_load")
    uri = milvus_uri(config)
    client = connect(config)
    base = collection_base(config)
    with Guard("opening the index"):
        name = schema.live_collection(client, base)
        if name is None:
            raise IndexMissingError(f"no index in Milvus at {shown(uri)}; run `chatbot build --store milvus` to build it")
        manifest = schema.read_manifest(client, name)
        if manifest is None or not manifest.get("complete"):
            raise IndexCorruptError(f"Milvus collection {name} at {shown(uri)} has no complete manifest; {FIX}")
        check_manifest(manifest, config.model, schema.FORMAT_VERSION)
        mode = keyword_mode(config, uri, manifest)
        client.load_collection(name, timeout=CALL_TIMEOUT * 4)
        passages, terms, pk_to_pos = _read_passages(client, name, manifest, uri)
    col = Collection(client, name, uri)
    dense = MilvusDense(col, pk_to_pos, int(manifest["dimension"]), manifest.get("index_type", "flat"))
    if mode == "local":
        keyword = KeywordIndex.from_tokens(schema.decode_terms(t) for t in terms)
    else:
        df: Counter = Counter()
        for t in terms:
            df.update(set(schema.decode_terms(t)))
        keyword = MilvusKeyword(col, pk_to_pos, df, len(passages), "sparse" if mode == "jieba" else "sparse_terms")
    folder = Path(uri) if is_local(uri) else shown(uri)
    return MilvusIndex(folder, manifest, passages, dense, keyword, col=col, base=base, keyword_mode=mode)


def _read_passages(client, name: str, manifest: dict, uri: str) -> tuple[list["Passage"], list[str], dict[int, int]]:
    """Every row in manifest order (files' row ranges + seq), checked for gaps and strays."""
    files = manifest.get("files", {})
    n = int(manifest.get("chunk_count", -1))
    passages: list = [None] * max(n, 0)
    terms: list = [None] * max(n, 0)
    pk_to_pos: dict[int, int] = {}
    for row in schema.read_rows(client, name, schema.PASSAGE_FIELDS + ["terms"]):
        meta = files.get(row["source"])
        start, end = meta["rows"] if meta else (0, -1)
        pos = start + int(row["seq"])
        if not (start <= pos < end) or pos >= n or passages[pos] is not None:
            raise IndexCorruptError(f"Milvus collection {name} at {shown(uri)} is inconsistent with its manifest "
                                    f"(row {row['chunk_id']!r}); {FIX}")
        passages[pos] = schema.passage_of(row)
        terms[pos] = row["terms"]
        pk_to_pos[int(row["pk"])] = pos
    if n < 0 or any(p is None for p in passages):
        raise IndexCorruptError(f"Milvus collection {name} at {shown(uri)} is inconsistent ({n} in manifest, "
                                f"{len(pk_to_pos)} rows); {FIX}")
    return passages, terms, pk_to_pos
