"""The index on Milvus: the same passages, vectors and keyword search as the FAISS files, in a
Milvus collection (Milvus Lite file, standalone server or cluster — one client API).

Layout (collection names derive from CHATBOT_MILVUS_COLLECTION, default "chatbot"):
    chatbot            alias → the live collection; readers open it, builds flip it atomically
    chatbot_a/_b       two collections used blue/green: a build brings the standby one up to date
                       (deleting and re-inserting only the chunks of files whose content differs
                       from what that collection holds) and then flips the alias. A build that dies
                       midway leaves the live collection untouched.
    properties         "chatbot.manifest" on each collection: the FAISS manifest.json content
                       (format_version, model, dimension, chunk_count, chunking, files{sha256,
                       rows}, built_at) plus "complete", written last before the flip.
Rows: pk (hash of model, chunking, file hash and chunk id: the same chunk gets the same pk in
both collections), vector, the Passage fields, `search_text` (normalised text, analysed by a jieba
analyzer into the `sparse` BM25 field) and `terms` (the tokens of keyword.py — jieba words and CJK
bigrams — space-separated, analysed by a whitespace tokenizer into the `sparse_terms` BM25 field).

Keyword search on this backend (CHATBOT_MILVUS_KEYWORD):
    milvus  Milvus's BM25 function over keyword.py's tokens (`sparse_terms`): the FAISS backend's
            ranking, answered by Milvus
    jieba   Milvus's BM25 function with its jieba analyzer on the text (`sparse`): no CJK bigrams,
            lower recall on the dev set
    local   the FAISS backend's in-process bm25s index, rebuilt from `terms` at open
    auto    (default) `milvus` on a Milvus server, `local` on Milvus Lite, whose pure-Python BM25
            search is hundreds of times slower than bm25s for the same ranking
docs/milvus.md has the dev-set figures and timings behind the default.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import os
import re
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Sequence

import numpy as np

from ...config import Config
from ...errors import ChatbotError, IndexCorruptError, IndexMismatchError, IndexMissingError, NoDocumentsError
from ...ingest.chunking import chunk_documents
from ...ingest.documents import load_folder
from ...textnorm import STOPWORDS, keyword_tokens
from ...types import BuildReport, FileReport, Passage
from ..base import FIX, SearchIndex, check_manifest
from ..files import dense as _dense
from ..files.keyword import KeywordIndex
from ..plan import acquire_build_lock, chunking_params as _chunking, embed_texts as _embed


FORMAT_VERSION = 1             # of the collections below (rows and manifest), independent of the FAISS files'.
MANIFEST_KEY = "chatbot.manifest"
KEYWORD_MODES = ("auto", "milvus", "jieba", "local")
DEFAULT_KEYWORD = "auto"       # measured on the dev set, see docs/milvus.md
INSERT_BATCH = 256
READ_BATCH = 1000
MAX_TEXT_BYTES = 65535         # Milvus VARCHAR limit
# The analyzer Milvus runs on `search_text` for its BM25 function: jieba search mode (as
# textnorm.tokenize) without punctuation and without our stop words.
ANALYZER = {"tokenizer": {"type": "jieba", "mode": "search"},
            "filter": ["removepunct", {"type": "stop", "stop_words": sorted(STOPWORDS)}]}
BM25_PARAMS = {"bm25_k1": 1.2, "bm25_b": 0.75}   # the same k1/b as keyword.py
BIGRAM = "§"      # keyword.py's marker of a CJK bigram token


def terms_analyzer(uri: str) -> dict:
    """Split `terms` at spaces: Milvus Lite knows only `standard` (\\w+) and `jieba`; a server has `whitespace`."""
    return {"tokenizer": "standard"} if is_local(uri) else {"tokenizer": "whitespace"}


# keyword.py's tokens stored so that a \w+ tokenizer (Milvus Lite) and a whitespace one (a server)
# both see exactly them: a bigram "§医保" becomes "_医保"; any other character outside \w (and "_")
# becomes "_<hex>_" ("643.45" → "643_2e_45"). Lossless, so `local` mode and idf() read the originals.
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


class MilvusError(ChatbotError):
    """Milvus could not be reached or refused an operation (one line, with the likely fix)."""


# ---------------------------------------------------------------- connection

def milvus_uri(config: Config) -> str:
    """The configured URI; a Milvus Lite file under the embeddings folder by default."""
    return str(config.milvus_uri or Path(config.embeddings_dir) / "milvus.db")


def shown(uri: str) -> str:
    """The URI for messages, without any user:password@ part."""
    return re.sub(r"//[^/@]*@", "//", uri)


def is_local(uri: str) -> bool:
    """pymilvus treats a URI ending in .db as a Milvus Lite database on this machine."""
    return uri.endswith(".db")


def collection_base() -> str:
    name = os.environ.get("CHATBOT_MILVUS_COLLECTION", "chatbot")
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,200}", name):
        raise MilvusError(f"CHATBOT_MILVUS_COLLECTION {name!r} is not a valid Milvus collection name (letters, digits, _)")
    return name


def keyword_mode(uri: str) -> str:
    """The keyword search to use (CHATBOT_MILVUS_KEYWORD, `auto` resolved for this URI)."""
    mode = os.environ.get("CHATBOT_MILVUS_KEYWORD", DEFAULT_KEYWORD).strip().lower()
    if mode not in KEYWORD_MODES:
        raise MilvusError(f"CHATBOT_MILVUS_KEYWORD must be one of {', '.join(KEYWORD_MODES)}, not {mode!r}")
    if mode == "auto":
        return "local" if is_local(uri) else "milvus"
    return mode


def _lite_locked(path: str) -> bool:
    """True when another process holds the Milvus Lite data folder's lock."""
    lock = Path(path) / "LOCK"
    if not lock.exists():
        return False
    fd = os.open(lock, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    except OSError:
        return True
    finally:
        os.close(fd)


def connect(config: Config, create: bool = False):
    """A MilvusClient for the configured URI; named one-line errors instead of tracebacks."""
    uri = milvus_uri(config)
    if is_local(uri):
        path = Path(uri)
        if not create and not path.exists():
            raise IndexMissingError(f"no Milvus index at {uri}; run `chatbot build --store milvus` to build it")
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        from pymilvus import MilvusClient
    except ImportError as exc:  # pragma: no cover - the extra is part of `make setup`
        raise MilvusError("the Milvus backend needs pymilvus and milvus-lite: pip install -e '.[milvus]'") from exc
    # pymilvus configures its own loggers on import; its failures reach the user as one-line
    # ChatbotErrors instead, and its warnings (e.g. Milvus Lite has no server timestamps) are noise.
    # Milvus Lite's in-process gRPC server also logs the optional calls it does not implement.
    for name in ("pymilvus", "pymilvus.milvus_client", "grpc._server"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        return MilvusClient(uri=uri, token=config.milvus_token or "", timeout=15)
    except Exception as exc:  # noqa: BLE001 - every failure here means "cannot open Milvus"
        if is_local(uri) and _lite_locked(uri):
            raise MilvusError(
                f"Milvus Lite database {uri} is open in another process (Milvus Lite serves one process at a "
                f"time); stop it, or run a Milvus server and use --milvus-uri http://HOST:19530") from exc
        raise MilvusError(f"cannot connect to Milvus at {shown(uri)} ({_reason(exc)}); check --milvus-uri/--milvus-token "
                          f"and that the server is running") from exc


def release_local(config: Config) -> None:
    """Let go of a Milvus Lite file this process opened (Milvus Lite serves one process at a time)."""
    uri = milvus_uri(config)
    if is_local(uri):
        from milvus_lite.server_manager import server_manager_instance

        server_manager_instance.release_server(uri)


def _reason(exc: Exception) -> str:
    msg = getattr(exc, "message", None) or str(exc) or exc.__class__.__name__
    return " ".join(str(msg).split())[:300]


class _Guard:
    """Turns pymilvus exceptions raised inside the block into MilvusError (one line)."""

    def __init__(self, what: str):
        self.what = what

    def __enter__(self):
        return self

    def __exit__(self, etype, exc, tb):
        if exc is None or isinstance(exc, ChatbotError) or not isinstance(exc, Exception):
            return False
        if exc.__class__.__module__.startswith(("pymilvus", "grpc", "milvus_lite")):
            raise MilvusError(f"Milvus failed while {self.what}: {_reason(exc)}") from exc
        return False


def _slots(base: str) -> tuple[str, str]:
    return f"{base}_a", f"{base}_b"


def _live(client, base: str) -> str | None:
    """The collection the alias points at (one of the two slots), or None before the first build."""
    for name in _slots(base):
        if client.has_collection(name) and base in (client.list_aliases(collection_name=name).get("aliases") or []):
            return name
    return None


def _manifest(client, name: str) -> dict | None:
    props = client.describe_collection(name).get("properties") or {}
    raw = props.get(MANIFEST_KEY)
    if raw is None:
        return None
    try:
        manifest = json.loads(raw)
    except ValueError:
        return None
    return manifest if isinstance(manifest, dict) else None


def _set_manifest(client, name: str, manifest: dict) -> None:
    client.alter_collection_properties(name, properties={MANIFEST_KEY: json.dumps(manifest, ensure_ascii=False)})


def index_exists_milvus(config: Config) -> bool:
    """True when the configured Milvus holds a complete index (the alias exists)."""
    uri = milvus_uri(config)
    if is_local(uri) and not Path(uri).exists():
        return False
    client = connect(config)
    with _Guard("looking for the index"):
        live = _live(client, collection_base())
        return live is not None and bool((_manifest(client, live) or {}).get("complete"))


# ---------------------------------------------------------------- reading

def _read_rows(client, name: str, fields: list[str], expr: str = "") -> Iterable[dict]:
    it = client.query_iterator(name, batch_size=READ_BATCH, filter=expr, output_fields=fields)
    try:
        while True:
            batch = it.next()
            if not batch:
                break
            yield from batch
    finally:
        it.close()


PASSAGE_FIELDS = ["pk", "source", "seq", "chunk_id", "doc_id", "title", "date", "position", "kind", "text"]


def _passage(row: dict) -> Passage:
    return Passage(chunk_id=row["chunk_id"], doc_id=row["doc_id"], source=row["source"], title=row["title"],
                   date=row["date"] or None, position=int(row["position"]), kind=row["kind"], text=row["text"])


class MilvusDense:
    """`DenseIndex`-shaped: `search(query_vectors, k) -> (ids, scores)` with ids = passage positions."""

    def __init__(self, client, collection: str, pk_to_pos: dict[int, int], dimension: int, kind: str):
        self.client = client
        self.collection = collection
        self.pk_to_pos = pk_to_pos
        self.dimension = dimension
        self.kind = kind
        self.index = None   # no in-process FAISS object: the vectors live in Milvus
        self._pos_to_pk: dict[int, int] | None = None
        params = {}
        if "ef=" in kind:
            params["ef"] = int(kind.split("ef=")[1].split(",")[0])
        if "nprobe=" in kind:
            params["nprobe"] = int(kind.split("nprobe=")[1].split(",")[0])
        self._params = {"metric_type": "IP", "params": params}

    @property
    def ntotal(self) -> int:
        return len(self.pk_to_pos)

    def similarity(self, query_vector: np.ndarray, ids) -> np.ndarray | None:
        """Exact inner products of one query with the stored vectors of passages `ids` (the
        candidates only keyword search found), as DenseIndex.similarity; one `get` by primary key."""
        ids = [int(i) for i in ids]
        if not ids:
            return np.zeros(0, dtype=np.float32)
        if self._pos_to_pk is None:
            self._pos_to_pk = {pos: pk for pk, pos in self.pk_to_pos.items()}
        with _Guard("reading vectors"):
            rows = self.client.get(self.collection, ids=[self._pos_to_pk[i] for i in ids], output_fields=["vector"])
        by_pk = {int(r["pk"]): r["vector"] for r in rows}
        if len(by_pk) != len(ids):
            return None
        stored = np.asarray([by_pk[self._pos_to_pk[i]] for i in ids], dtype=np.float32)
        return stored @ np.asarray(query_vector, dtype=np.float32).reshape(-1)

    def search(self, query_vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        k = max(1, min(k, self.ntotal))
        qv = np.asarray(query_vectors, dtype=np.float32).reshape(-1, self.dimension)
        with _Guard("searching vectors"):
            result = self.client.search(self.collection, data=qv.tolist(), anns_field="vector", limit=k,
                                        search_params=self._params)
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
    """Token document frequencies (from the stored `terms`) for `idf()`, as KeywordIndex computes them."""

    def __init__(self, df: Counter, n: int):
        self.df = df
        self.n = n

    def known(self, tokens: Sequence[str]) -> list[str]:
        return [t for t in tokens if t in self.df]

    def idf(self, token: str) -> float:
        df = self.df.get(token)
        if not df:
            return 0.0
        return float(np.log(1 + (self.n - df + 0.5) / (df + 0.5)))

    def unseen_idf(self) -> float:
        return float(np.log(1 + (self.n + 0.5) / 0.5))


def query_text(tokens: Sequence[str]) -> str:
    """The text Milvus's analyzer should see for a query, from `textnorm.keyword_tokens` output.

    The CJK runs of the question are rebuilt from their overlapping bigrams ("§衡水", "§水市" →
    "衡水市"), so Milvus segments the question itself, exactly as it segmented the documents;
    words outside CJK runs (digits, Latin) are kept as they are.
    """
    runs: list[str] = []
    prev = None
    for t in tokens:
        if not t.startswith("§") or len(t) != 3:
            continue
        gram = t[1:]
        if prev is not None and runs and prev[1] == gram[0]:
            runs[-1] += gram[1]
        else:
            runs.append(gram)
        prev = gram
    cjk = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
    others = [t for t in tokens if not t.startswith("§") and not cjk.search(t)]
    return " ".join(dict.fromkeys(runs + others))


class MilvusKeyword(DocFrequencies):
    """`KeywordIndex`-shaped keyword search answered by a Milvus BM25 function: on the text with
    the jieba analyzer (`sparse`), or on keyword.py's tokens (`sparse_terms`)."""

    def __init__(self, client, collection: str, pk_to_pos: dict[int, int], df: Counter, n: int,
                 field: str = "sparse"):
        super().__init__(df, n)
        self.client = client
        self.collection = collection
        self.pk_to_pos = pk_to_pos
        self.field = field

    def search(self, tokens: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        text = query_text(tokens) if self.field == "sparse" else encode_terms(tokens)
        if not text or self.n == 0:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
        with _Guard("searching keywords"):
            result = self.client.search(self.collection, data=[text], anns_field=self.field, limit=max(1, min(k, self.n)),
                                        search_params={"metric_type": "BM25", "params": {}})
        ids, scores = [], []
        for hit in result[0] if result else []:
            pos = self.pk_to_pos.get(int(hit.id))
            score = abs(float(hit.distance))  # Milvus Lite reports -score, a server +score
            if pos is not None and score > 0:
                ids.append(pos)
                scores.append(score)
        return np.asarray(ids, dtype=np.int64), np.asarray(scores, dtype=np.float32)


def _local_keyword(terms: list[str]) -> KeywordIndex:
    """The same bm25s index `KeywordIndex.build` makes, from the tokens stored at build time."""
    return KeywordIndex.from_tokens(decode_terms(t) for t in terms)


@dataclass
class MilvusIndex(SearchIndex):
    """A SearchIndex whose dense and keyword sides query a Milvus collection."""

    uri: str = ""
    collection: str = ""
    keyword_mode: str = DEFAULT_KEYWORD
    client: object = field(default=None, repr=False)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


def load_milvus(config: Config) -> MilvusIndex:
    """Open the live collection, check its manifest, load passages; named one-line errors."""
    uri = milvus_uri(config)
    mode = keyword_mode(uri)
    client = connect(config)
    base = collection_base()
    with _Guard("opening the index"):
        name = _live(client, base)
        if name is None:
            raise IndexMissingError(f"no index in Milvus at {shown(uri)}; run `chatbot build --store milvus` to build it")
        manifest = _manifest(client, name)
        if manifest is None or not manifest.get("complete"):
            raise IndexCorruptError(f"Milvus collection {name} at {shown(uri)} has no complete manifest; {FIX}")
        if manifest.get("format_version") != FORMAT_VERSION:
            raise IndexMismatchError(f"index format version {manifest.get('format_version')!r} does not match this "
                                     f"program's {FORMAT_VERSION}; {FIX}")
        # the model check and its message are the FAISS index's (its own format number aside)
        check_manifest(manifest, config.model, FORMAT_VERSION)
        client.load_collection(name)
        files = manifest.get("files", {})
        n = int(manifest.get("chunk_count", -1))
        passages: list[Passage | None] = [None] * max(n, 0)
        terms: list[str | None] = [None] * max(n, 0)
        pk_to_pos: dict[int, int] = {}
        for row in _read_rows(client, name, PASSAGE_FIELDS + ["terms"]):
            meta = files.get(row["source"])
            start, end = meta["rows"] if meta else (0, -1)
            pos = start + int(row["seq"])
            if not (start <= pos < end) or pos >= n or passages[pos] is not None:
                raise IndexCorruptError(f"Milvus collection {name} at {shown(uri)} is inconsistent with its manifest "
                                        f"(row {row['chunk_id']!r}); {FIX}")
            passages[pos] = _passage(row)
            terms[pos] = row["terms"]
            pk_to_pos[int(row["pk"])] = pos
    if n < 0 or any(p is None for p in passages):
        raise IndexCorruptError(f"Milvus collection {name} at {shown(uri)} is inconsistent ({n} in manifest, "
                                f"{len(pk_to_pos)} rows); {FIX}")
    dense = MilvusDense(client, name, pk_to_pos, int(manifest["dimension"]), manifest.get("index_type", "flat"))
    if mode == "local":
        keyword = _local_keyword(terms)
    else:
        df = Counter()
        for t in terms:
            df.update(set(decode_terms(t)))
        keyword = MilvusKeyword(client, name, pk_to_pos, df, n, "sparse" if mode == "jieba" else "sparse_terms")
    folder = Path(uri) if is_local(uri) else None
    return MilvusIndex(folder, manifest, passages, dense, keyword, uri=shown(uri), collection=name, keyword_mode=mode,
                       client=client)


# ---------------------------------------------------------------- building

@dataclass
class MilvusBuildReport(BuildReport):
    """BuildReport plus what happened in Milvus."""

    uri: str = ""
    collection: str = ""
    inserted: int = 0           # rows inserted into the collection this build (copied or embedded)
    deleted_files: int = 0      # files whose old rows were deleted from it
    unchanged: bool = False     # the live collection already matched the documents: nothing written

    def summary(self) -> str:
        reused = sum(1 for f in self.files if f.reused)
        if self.unchanged:
            head = (f"Milvus index at {self.uri} ({self.collection}) is up to date: {len(self.files)} file(s), "
                    f"{self.passages} passages, nothing to do ({self.seconds:.1f}s)")
        else:
            head = (f"Indexed {len(self.files)} file(s), {self.passages} passages ({self.embedded} embedded, "
                    f"{reused} file(s) unchanged and reused) in {self.seconds:.1f}s → Milvus {self.uri} "
                    f"({self.collection}: {self.inserted} rows inserted, old rows of {self.deleted_files} file(s) deleted)")
        return "\n".join([head] + [f"  skipped {s.source}: {s.reason}" for s in self.skipped])


def _pk(model: str, chunking: dict, sha256: str, chunk_id: str, seq: int) -> int:
    """Stable 63-bit id: the same chunk of the same file content and settings → the same pk."""
    key = f"{model}\x1f{chunking['chars']}\x1f{chunking['overlap']}\x1f{sha256}\x1f{seq}\x1f{chunk_id}"
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest(), "little") & (2**63 - 1)


def _exact_up_to() -> int:
    return int(getattr(_dense, "EXACT_UP_TO", 10_000))


def _index_kind(n: int) -> tuple[str, dict]:
    """The dense index dense.py would build for n vectors: exact up to the same size, then HNSW
    with the same graph degree, construction and search breadth."""
    if n <= _exact_up_to():
        return "flat", {"index_type": "FLAT", "metric_type": "IP", "params": {}}
    m = int(getattr(_dense, "HNSW_M", 32))
    ef_construction = int(getattr(_dense, "HNSW_EF_CONSTRUCTION", 40))
    ef = int(_dense.choose_ef_search(n))
    return f"hnsw{m},ef={ef}", {"index_type": "HNSW", "metric_type": "IP",
                                "params": {"M": m, "efConstruction": ef_construction}}


def _wire_params(uri: str, params: dict) -> dict:
    """Index build parameters as each side reads them: pymilvus 3 sends them as flat key-value
    pairs, which a Milvus server reads but Milvus Lite 3.2 ignores (it only decodes the older
    `params` JSON entry, and would silently use k1=1.5 and its own nlist); so Lite gets that form."""
    return {"params": params} if is_local(uri) and params else params


def _create_collection(client, uri: str, name: str, dim: int, n_expected: int, manifest: dict) -> str:
    from pymilvus import DataType, Function, FunctionType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
    schema.add_field("source", DataType.VARCHAR, max_length=4096)
    schema.add_field("seq", DataType.INT64)
    schema.add_field("chunk_id", DataType.VARCHAR, max_length=8192)
    schema.add_field("doc_id", DataType.VARCHAR, max_length=8192)
    schema.add_field("title", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
    schema.add_field("date", DataType.VARCHAR, max_length=256)
    schema.add_field("position", DataType.INT64)
    schema.add_field("kind", DataType.VARCHAR, max_length=256)
    schema.add_field("text", DataType.VARCHAR, max_length=MAX_TEXT_BYTES)
    schema.add_field("search_text", DataType.VARCHAR, max_length=MAX_TEXT_BYTES, enable_analyzer=True,
                     analyzer_params=ANALYZER)
    schema.add_field("terms", DataType.VARCHAR, max_length=MAX_TEXT_BYTES, enable_analyzer=True,
                     analyzer_params=terms_analyzer(uri))
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_field("sparse_terms", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(Function(name="bm25", function_type=FunctionType.BM25,
                                 input_field_names=["search_text"], output_field_names=["sparse"]))
    schema.add_function(Function(name="bm25_terms", function_type=FunctionType.BM25,
                                 input_field_names=["terms"], output_field_names=["sparse_terms"]))
    kind, dense_index = _index_kind(n_expected)
    params = client.prepare_index_params()
    dense_index["params"] = _wire_params(uri, dense_index["params"])
    params.add_index(field_name="vector", **dense_index)
    for sparse in ("sparse", "sparse_terms"):
        params.add_index(field_name=sparse, index_type="SPARSE_INVERTED_INDEX", metric_type="BM25",
                         params=_wire_params(uri, BM25_PARAMS))
    client.create_collection(name, schema=schema, index_params=params, consistency_level="Strong",
                             properties={MANIFEST_KEY: json.dumps(manifest, ensure_ascii=False)})
    return kind


def _rows_for(passages: list[Passage], vectors: np.ndarray, source_sha: str, config: Config,
              terms: Sequence[str] | None = None) -> list[dict]:
    """Rows of one file's passages; `terms` (stored form) when already known, else tokenised here."""
    chunking = _chunking(config)
    rows = []
    for seq, (p, v) in enumerate(zip(passages, vectors)):
        norm = p.embed_text_normalized
        row = {"pk": _pk(config.model, chunking, source_sha, p.chunk_id, seq), "vector": np.asarray(v, dtype=np.float32).tolist(),
               "source": p.source, "seq": seq, "chunk_id": p.chunk_id, "doc_id": p.doc_id, "title": p.title,
               "date": p.date or "", "position": int(p.position), "kind": p.kind, "text": p.text, "search_text": norm,
               "terms": terms[seq] if terms is not None else encode_terms(keyword_tokens(norm, normalized=True) or ["∅"])}
        for key in ("title", "text", "search_text", "terms"):
            if len(row[key].encode("utf-8")) > MAX_TEXT_BYTES:
                raise ChatbotError(f"a passage of {p.source} is too long for Milvus ({key} over {MAX_TEXT_BYTES} bytes); "
                                   f"lower the chunk size")
        rows.append(row)
    return rows


def _copy_from(client, name: str, sources: list[str]) -> dict[str, tuple[list[Passage], np.ndarray, list[str]]]:
    """Passages, vectors and stored terms of some files as held in a collection, in file order."""
    out: dict[str, list[tuple]] = {s: [] for s in sources}
    for i in range(0, len(sources), 100):
        expr = f"source in {json.dumps(sources[i:i + 100], ensure_ascii=False)}"
        for row in _read_rows(client, name, PASSAGE_FIELDS + ["vector", "terms"], expr):
            out[row["source"]].append((int(row["seq"]), _passage(row), row["vector"], row["terms"]))
    result = {}
    for source, items in out.items():
        items.sort(key=lambda t: t[0])
        result[source] = ([t[1] for t in items], np.asarray([t[2] for t in items], dtype=np.float32),
                          [t[3] for t in items])
    return result


def _compatible(manifest: dict | None, config: Config) -> bool:
    return bool(manifest) and manifest.get("format_version") == FORMAT_VERSION \
        and manifest.get("model") == config.model and manifest.get("chunking") == _chunking(config)


def build_milvus(config: Config, embedder=None, progress: bool = False,
                 on_progress: Callable[[float, str], None] | None = None, lock_timeout: float = 600) -> MilvusBuildReport:
    """Bring the standby collection up to date with the documents folder, then flip the alias to it."""

    folder = Path(config.embeddings_dir)
    folder.mkdir(parents=True, exist_ok=True)
    lock = acquire_build_lock(folder / ".milvus-build.lock", milvus_uri(config), lock_timeout)
    try:
        if embedder is None:
            from ...embedder import Embedder

            embedder = Embedder(config.model)
        with _Guard("building the index"):
            return _build_locked(config, embedder, progress, on_progress or (lambda frac, msg: None))
    finally:
        lock.release()


def _build_locked(config: Config, embedder, progress: bool, note) -> MilvusBuildReport:
    started = time.perf_counter()
    uri = milvus_uri(config)
    note(0.0, "reading documents")
    files, skipped = load_folder(config.documents_dir)
    if not files:
        reasons = "; ".join(f"{s.source}: {s.reason}" for s in skipped) or "the folder is empty or missing"
        raise NoDocumentsError(f"no readable documents in {config.documents_dir} ({reasons})")

    client = connect(config, create=True)
    base = collection_base()
    live = _live(client, base)
    live_manifest = _manifest(client, live) if live else None
    live_ok = _compatible(live_manifest, config) and bool(live_manifest.get("complete"))
    live_files = live_manifest.get("files", {}) if live_ok else {}
    skipped_map = {s.source: s.reason for s in skipped}

    current = {sf.source: sf.sha256 for sf in files}
    if live_ok and {s: m.get("sha256") for s, m in live_files.items()} == current \
            and live_manifest.get("skipped", {}) == skipped_map:
        reports = [FileReport(sf.source, len(sf.documents), live_files[sf.source]["rows"][1] - live_files[sf.source]["rows"][0], True)
                   for sf in files]
        return MilvusBuildReport(Path(uri) if is_local(uri) else Path("."), reports, skipped,
                                 int(live_manifest["chunk_count"]), 0, time.perf_counter() - started,
                                 uri=shown(uri), collection=live, unchanged=True)

    standby = next(s for s in _slots(base) if s != live)
    standby_manifest = _manifest(client, standby) if client.has_collection(standby) else None
    if client.has_collection(standby) and not _compatible(standby_manifest, config):
        client.drop_collection(standby)   # another model, chunking or layout: start it afresh
        standby_manifest = None

    # Chunk counts per file, without embedding: a file's chunks are fixed by its content and
    # the chunking settings, so a collection holding the same content has the same count.
    standby_files = standby_manifest.get("files", {}) if standby_manifest else {}
    new_chunks: dict[str, list[Passage]] = {}
    chunk_counts: dict[str, int] = {}
    for sf in files:
        known = next((m for m in (standby_files.get(sf.source), live_files.get(sf.source))
                      if m and m.get("sha256") == sf.sha256), None)
        if known:
            chunk_counts[sf.source] = known["rows"][1] - known["rows"][0]
        else:
            new_chunks[sf.source] = chunk_documents(sf.documents, config.chunk_chars, config.chunk_overlap)
            chunk_counts[sf.source] = len(new_chunks[sf.source])
    total = sum(chunk_counts.values())
    if standby_manifest and (standby_manifest.get("index_type", "flat") != "flat") != (total > _exact_up_to()):
        client.drop_collection(standby)   # crossed the exact-search size: a new dense index type
        standby_manifest, standby_files = None, {}

    # What the standby needs per file: nothing (it already holds this content), a copy of the
    # live collection's rows (same content there), or fresh chunks and embeddings.
    keep_set = {sf.source for sf in files if standby_files.get(sf.source, {}).get("sha256") == sf.sha256}
    copy_set = {sf.source for sf in files
                if sf.source not in keep_set and live_files.get(sf.source, {}).get("sha256") == sf.sha256}
    fresh = [sf for sf in files if sf.source not in keep_set and sf.source not in copy_set]
    for sf in fresh:
        if sf.source not in new_chunks:
            new_chunks[sf.source] = chunk_documents(sf.documents, config.chunk_chars, config.chunk_overlap)
    # Rows to delete first: stale or removed files, every file about to be inserted (an earlier
    # build may have died after inserting part of it), and whatever such a build left pending.
    touched = set(standby_files) - keep_set
    touched |= {sf.source for sf in files if sf.source not in keep_set}
    touched |= set((standby_manifest or {}).get("pending", []))
    drop = sorted(touched)

    texts = [p.embed_text_normalized for sf in fresh for p in new_chunks[sf.source]]
    note(0.1, f"embedding {len(texts)} passages")
    vectors = _embed(embedder, texts, progress, note)
    if copy_set:
        client.load_collection(live)
    copied = _copy_from(client, live, sorted(copy_set)) if copy_set else {}
    for source in copy_set:
        if len(copied[source][0]) != chunk_counts[source]:
            raise IndexCorruptError(f"Milvus collection {live} is missing rows of {source}; {FIX} (`--store milvus`)")

    dims = {int(live_manifest["dimension"])} if copy_set else set()
    if texts:
        dims.add(int(vectors.shape[1]))
    if standby_manifest and keep_set:
        dims.add(int(standby_manifest["dimension"]))
    if len(dims) > 1:
        raise IndexMismatchError(f"embedding dimensions {sorted(dims)} differ for model {config.model!r}; {FIX}")
    dim = dims.pop() if dims else int(getattr(embedder, "dimension"))

    manifest = {
        "format_version": FORMAT_VERSION, "store": "milvus", "model": config.model,
        "dimension": dim, "chunking": _chunking(config), "complete": False,
        # until this build finishes, the standby vouches only for the files it keeps
        "files": {s: m for s, m in standby_files.items() if s in keep_set}, "pending": drop,
    }
    note(0.9, "writing to Milvus")
    if standby_manifest is None:
        kind = _create_collection(client, uri, standby, dim, total, manifest)
    else:
        kind = _index_kind(total)[0]   # same index type as the collection has (checked above); ef for this size
        _set_manifest(client, standby, manifest)
    client.load_collection(standby)
    for i in range(0, len(drop), 100):
        client.delete(standby, filter=f"source in {json.dumps(drop[i:i + 100], ensure_ascii=False)}")

    inserted, k = 0, 0
    pending: list[dict] = []
    for sf in files:
        if sf.source in keep_set:
            continue
        if sf.source in copy_set:
            passages, vecs, terms = copied[sf.source]
        else:
            passages, terms = new_chunks[sf.source], None
            vecs = vectors[k:k + len(passages)]
            k += len(passages)
        pending.extend(_rows_for(passages, vecs, sf.sha256, config, terms))
        while len(pending) >= INSERT_BATCH:
            client.insert(standby, pending[:INSERT_BATCH])
            inserted += INSERT_BATCH
            pending = pending[INSERT_BATCH:]
    if pending:
        client.insert(standby, pending)
        inserted += len(pending)
    client.flush(standby)

    count = int(client.query(standby, filter="", output_fields=["count(*)"])[0]["count(*)"])
    if count != total:
        raise IndexCorruptError(f"Milvus collection {standby} holds {count} rows after the build, expected {total}; "
                                f"the live index is unchanged; run `chatbot build --store milvus` again")

    row, file_rows, reports = 0, {}, []
    fresh_set = {sf.source for sf in fresh}
    for sf in files:
        n = chunk_counts[sf.source]
        file_rows[sf.source] = {"sha256": sf.sha256, "encoding": sf.encoding, "documents": len(sf.documents),
                                "rows": [row, row + n]}
        reports.append(FileReport(sf.source, len(sf.documents), n, sf.source not in fresh_set))
        row += n
    manifest.update({"chunk_count": total, "index_type": kind, "files": file_rows, "skipped": skipped_map,
                     "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "complete": True})
    manifest.pop("pending")
    _set_manifest(client, standby, manifest)
    if live is None:
        client.create_alias(standby, base)
    else:
        client.alter_alias(standby, base)   # the atomic switch
    note(1.0, "done")
    return MilvusBuildReport(Path(uri) if is_local(uri) else Path("."), reports, skipped, total, len(texts),
                             time.perf_counter() - started, uri=shown(uri), collection=standby, inserted=inserted,
                             deleted_files=len((set(standby_files) - keep_set) | set((standby_manifest or {}).get("pending", []))))


# ---------------------------------------------------------------- bulk load (benchmarks, imports)

def bulk_index(config: Config, passages: Sequence[Passage], vectors: np.ndarray,
               tokens: Iterable[Sequence[str]] | None = None, batch: int = 1000,
               open_after: bool = True) -> MilvusIndex | None:
    """Replace the configured Milvus index with passages and their vectors given directly (no
    documents folder, no embedding): how `chatbot bench` puts a synthetic corpus in Milvus.
    Passages of one source must be contiguous; `tokens` are keyword.py tokens per passage (computed
    here when None). Returns the opened index (None when `open_after` is False)."""
    uri = milvus_uri(config)
    client = connect(config, create=True)
    base = collection_base()
    n, dim = len(passages), int(vectors.shape[1])
    files: dict[str, dict] = {}
    for i, p in enumerate(passages):
        meta = files.setdefault(p.source, {"sha256": "bulk", "encoding": "utf-8", "documents": 0, "rows": [i, i]})
        if meta["rows"][1] != i:
            raise ValueError(f"passages of {p.source} are not contiguous")
        meta["rows"][1] = i + 1
        meta["documents"] += p.kind != "related"
    with _Guard("loading passages in bulk"):
        live = _live(client, base)
        if live is not None:
            client.drop_alias(base)
        for name in _slots(base):
            if client.has_collection(name):
                client.drop_collection(name)
        manifest = {"format_version": FORMAT_VERSION, "store": "milvus", "model": config.model,
                    "dimension": dim, "chunking": _chunking(config), "complete": False, "files": {}, "pending": []}
        name = _slots(base)[0]
        kind = _create_collection(client, uri, name, dim, n, manifest)
        token_iter = iter(tokens) if tokens is not None else None
        for start in range(0, n, batch):
            part = list(passages[start:start + batch])
            terms = None
            if token_iter is not None:
                terms = [encode_terms(next(token_iter) or ["∅"]) for _ in part]
            rows = _rows_for(part, vectors[start:start + len(part)], "bulk", config, terms)
            for j, row in enumerate(rows):   # seq within the source, pk unique across the corpus
                i = start + j
                row["seq"] = i - files[part[j].source]["rows"][0]
                row["pk"] = _pk(config.model, _chunking(config), "bulk", part[j].chunk_id, i)
            client.insert(name, rows)
        client.flush(name)
        manifest.update({"chunk_count": n, "index_type": kind, "files": files, "skipped": {}, "complete": True,
                         "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        manifest.pop("pending")
        _set_manifest(client, name, manifest)
        client.create_alias(name, base)
    return load_milvus(config) if open_after else None


class MilvusStore:
    """The Milvus backend (Milvus Lite file or server), behind the `Store` protocol."""

    name = "milvus"

    def __init__(self, config: Config):
        self.config = config

    def exists(self) -> bool:
        return index_exists_milvus(self.config)

    def build(self, embedder=None, progress: bool = False, on_progress=None) -> BuildReport:
        return build_milvus(self.config, embedder, progress, on_progress)

    def open(self) -> SearchIndex:
        return load_milvus(self.config)
