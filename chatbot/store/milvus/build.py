"""Building the index in Milvus: bring the standby slot up to date with the documents folder (the
shared planner decides what changed), then flip the alias — crash-safe and incremental by file hash.

Per file the standby either already holds the content (kept), or the live slot does (rows copied,
vectors and terms included), or nothing does (chunked, embedded and tokenised by the planner).
Rows of files that changed, vanished, or that a dead build left half-written (`pending`) are
deleted first. A model, chunking or format change, or crossing the exact-search size, starts the
standby afresh. The live slot, and everything reading it, is untouched until the flip.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from ...errors import IndexCorruptError, IndexMismatchError
from ...types import BuildReport, FileReport, Passage
from ..base import FIX
from ..keyword import tokenize
from ..params import EXACT_UP_TO
from ..plan import BuildPlan, acquire_build_lock, chunking_params, compatible, plan_build
from . import schema
from .connection import Guard, collection_base, connect, is_local, milvus_uri, shown

if TYPE_CHECKING:
    from ...config import Config
    from ...embedder import Embedder


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


def index_exists(config: "Config") -> bool:
    """True when the configured Milvus holds a complete index (the alias exists)."""
    uri = milvus_uri(config)
    if is_local(uri) and not Path(uri).exists():
        return False
    client = connect(config)
    with Guard("looking for the index"):
        live = schema.live_collection(client, collection_base(config))
        return live is not None and bool((schema.read_manifest(client, live) or {}).get("complete"))


def build(config: "Config", embedder: "Embedder | None" = None, progress: bool = False, on_progress=None,
          lock_timeout: float = 600) -> MilvusBuildReport:
    """Bring the standby collection up to date with the documents folder, then flip the alias to it."""
    folder = Path(config.embeddings_dir)
    folder.mkdir(parents=True, exist_ok=True)
    lock = acquire_build_lock(folder / ".milvus-build.lock", shown(milvus_uri(config)), lock_timeout)
    try:
        if embedder is None:
            from ...embedder import Embedder

            embedder = Embedder(config.model)
        with Guard("building the index"):
            return _build_locked(config, embedder, progress, on_progress or (lambda frac, msg: None))
    finally:
        lock.release()


def _copy_from(client, name: str, sources: list[str]) -> dict[str, tuple[list[Passage], np.ndarray, list[str]]]:
    """Passages, vectors and stored terms of some files as held in a collection, in file order."""
    out: dict[str, list[tuple]] = {s: [] for s in sources}
    for i in range(0, len(sources), 100):
        expr = f"source in {json.dumps(sources[i:i + 100], ensure_ascii=False)}"
        for row in schema.read_rows(client, name, schema.PASSAGE_FIELDS + ["vector", "terms"], expr):
            out[row["source"]].append((int(row["seq"]), schema.passage_of(row), row["vector"], row["terms"]))
    result = {}
    for source, items in out.items():
        items.sort(key=lambda t: t[0])
        result[source] = ([t[1] for t in items], np.asarray([t[2] for t in items], dtype=np.float32),
                          [t[3] for t in items])
    return result


def _insert(client, name: str, rows: Iterable[dict], batch: int = schema.INSERT_BATCH) -> int:
    pending, inserted = [], 0
    for row in rows:
        pending.append(row)
        if len(pending) >= batch:
            client.insert(name, pending)
            inserted += len(pending)
            pending = []
    if pending:
        client.insert(name, pending)
        inserted += len(pending)
    return inserted


def _build_locked(config: "Config", embedder, progress: bool, note) -> MilvusBuildReport:
    started = time.perf_counter()
    uri = milvus_uri(config)
    chunking = chunking_params(config)
    note(0.0, "reading documents")
    client = connect(config, create=True)
    base = collection_base(config)
    live = schema.live_collection(client, base)
    live_manifest = schema.read_manifest(client, live) if live else None
    live_ok = compatible(live_manifest, config, schema.FORMAT_VERSION) and bool(live_manifest.get("complete"))
    live_files = live_manifest.get("files", {}) if live_ok else {}
    standby = next(s for s in schema.slots(base) if s != live)
    standby_manifest = schema.read_manifest(client, standby) if client.has_collection(standby) else None
    if standby_manifest is not None and not compatible(standby_manifest, config, schema.FORMAT_VERSION):
        client.drop_collection(standby)   # another model, chunking or layout: start it afresh
        standby_manifest = None
    standby_files = (standby_manifest or {}).get("files", {})
    plan = plan_build(config, [standby_files, live_files])
    where = str(Path(uri)) if is_local(uri) else shown(uri)

    if live_ok and {s: m.get("sha256") for s, m in live_files.items()} == plan.current() \
            and live_manifest.get("skipped", {}) == plan.skipped_map:
        reports = [FileReport(sf.source, len(sf.documents), plan.counts[sf.source], True) for sf in plan.files]
        return MilvusBuildReport(where, reports, plan.skipped, int(live_manifest["chunk_count"]), 0,
                                 time.perf_counter() - started, uri=shown(uri), collection=live, unchanged=True)
    if standby_manifest and (standby_manifest.get("index_type", "flat") != "flat") != (plan.total > EXACT_UP_TO):
        client.drop_collection(standby)   # crossed the exact-search size: a new dense index type
        standby_manifest, standby_files = None, {}
        plan = plan_build(config, [{}, live_files])

    keep = {s for s, i in plan.held_in.items() if i == 0}
    copy = sorted(s for s, i in plan.held_in.items() if i == 1)
    # Rows to delete first: stale or removed files, every file about to be inserted (an earlier
    # build may have died after inserting part of it), and whatever such a build left pending.
    drop = sorted((set(standby_files) - keep) | {sf.source for sf in plan.files if sf.source not in keep}
                  | set((standby_manifest or {}).get("pending", [])))
    embedded = plan.embed(embedder, progress, note)
    if copy:
        client.load_collection(live)
    copied = _copy_from(client, live, copy) if copy else {}
    for source in copy:
        if len(copied[source][0]) != plan.counts[source]:
            raise IndexCorruptError(f"Milvus collection {live} is missing rows of {source}; {FIX} (`--store milvus`)")
    dims = {int(live_manifest["dimension"])} if copy else set()
    dims |= {int(v.shape[1]) for v in plan.vectors.values() if v.size}
    if standby_manifest and keep:
        dims.add(int(standby_manifest["dimension"]))
    if len(dims) > 1:
        raise IndexMismatchError(f"embedding dimensions {sorted(dims)} differ for model {config.model!r}; {FIX}")
    dim = dims.pop() if dims else int(embedder.dimension)

    manifest = {"format_version": schema.FORMAT_VERSION, "store": "milvus", "model": config.model, "dimension": dim,
                "chunking": chunking, "complete": False, "pending": drop,
                # until this build finishes, the standby vouches only for the files it keeps
                "files": {s: m for s, m in standby_files.items() if s in keep}}
    note(0.9, "writing to Milvus")
    if standby_manifest is None:
        kind, server_bm25 = schema.create_collection(client, uri, standby, dim, plan.total, manifest)
    else:
        kind, server_bm25 = schema.index_kind(plan.total)[0], standby_manifest.get("keyword", "server") == "server"
        schema.write_manifest(client, standby, {**manifest, "keyword": standby_manifest.get("keyword", "server")})
    client.load_collection(standby)
    for i in range(0, len(drop), 100):
        client.delete(standby, filter=f"source in {json.dumps(drop[i:i + 100], ensure_ascii=False)}")
    inserted = _insert(client, standby, _rows(plan, copied, keep, config.model, chunking))
    client.flush(standby)

    count = int(client.query(standby, filter="", output_fields=["count(*)"])[0]["count(*)"])
    if count != plan.total:
        raise IndexCorruptError(f"Milvus collection {standby} holds {count} rows after the build, expected {plan.total}; "
                                f"the live index is unchanged; run `chatbot build --store milvus` again")
    file_rows, reports = plan.file_rows()
    manifest.update({"chunk_count": plan.total, "index_type": kind, "files": file_rows, "skipped": plan.skipped_map,
                     "keyword": "server" if server_bm25 else "local",
                     "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "complete": True})
    manifest.pop("pending")
    schema.write_manifest(client, standby, manifest)
    if live is None:
        client.create_alias(standby, base)
    else:
        client.alter_alias(standby, base)   # the atomic switch
    note(1.0, "done")
    deleted = (set(standby_files) - keep) | set((standby_manifest or {}).get("pending", []))
    return MilvusBuildReport(where, reports, plan.skipped, plan.total, embedded, time.perf_counter() - started,
                             uri=shown(uri), collection=standby, inserted=inserted, deleted_files=len(deleted))


def _rows(plan: BuildPlan, copied: dict, keep: set[str], model: str, chunking: dict) -> Iterable[dict]:
    """Rows of every file the standby does not keep: copied from live, or fresh from the plan."""
    for sf in plan.files:
        if sf.source in keep:
            continue
        if sf.source in copied:
            passages, vectors, terms = copied[sf.source]
        else:
            passages, vectors, terms = plan.chunks[sf.source], plan.vectors[sf.source], plan.tokens(sf.source)
        pks = [schema.pk_of(model, chunking, sf.sha256, p.chunk_id, seq) for seq, p in enumerate(passages)]
        yield from schema.rows_for(passages, vectors, terms, pks)


def bulk_index(config: "Config", passages: Sequence[Passage], vectors: np.ndarray,
               tokens: Iterable[Sequence[str]] | None = None, batch: int = 1000) -> None:
    """Replace the configured Milvus index with passages and their vectors given directly (no
    documents folder, no embedding): how `chatbot bench` puts a synthetic corpus in Milvus.
    Passages of one source must be contiguous; `tokens` per passage (tokenised here when None)."""
    uri = milvus_uri(config)
    client = connect(config, create=True)
    base = collection_base(config)
    n, dim = len(passages), int(vectors.shape[1])
    files: dict[str, dict] = {}
    for i, p in enumerate(passages):
        meta = files.setdefault(p.source, {"sha256": "bulk", "encoding": "utf-8", "documents": 0, "rows": [i, i]})
        if meta["rows"][1] != i:
            raise ValueError(f"passages of {p.source} are not contiguous")
        meta["rows"][1] = i + 1
        meta["documents"] += p.kind != "related"
    chunking = chunking_params(config)
    with Guard("loading passages in bulk"):
        if schema.live_collection(client, base) is not None:
            client.drop_alias(base)
        for name in schema.slots(base):
            if client.has_collection(name):
                client.drop_collection(name)
        manifest = {"format_version": schema.FORMAT_VERSION, "store": "milvus", "model": config.model, "dimension": dim,
                    "chunking": chunking, "complete": False, "files": {}}
        name = schema.slots(base)[0]
        kind, server_bm25 = schema.create_collection(client, uri, name, dim, n, manifest)
        token_iter = iter(tokens) if tokens is not None else None
        for start in range(0, n, batch):
            part = list(passages[start:start + batch])
            terms = [list(next(token_iter)) or ["∅"] for _ in part] if token_iter is not None \
                else [tokenize(p.embed_text_normalized) for p in part]
            pks = [schema.pk_of(config.model, chunking, "bulk", p.chunk_id, start + j) for j, p in enumerate(part)]
            rows = schema.rows_for(part, vectors[start:start + len(part)], terms, pks)
            for j, row in enumerate(rows):   # seq within the source
                row["seq"] = start + j - files[part[j].source]["rows"][0]
            client.insert(name, rows)
        client.flush(name)
        manifest.update({"chunk_count": n, "index_type": kind, "files": files, "skipped": {}, "complete": True,
                         "keyword": "server" if server_bm25 else "local",
                         "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        schema.write_manifest(client, name, manifest)
        client.create_alias(name, base)
