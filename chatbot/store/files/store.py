"""The on-disk index: passages, vectors, FAISS, BM25 and a manifest, swapped in atomically.

Layout under `embeddings/`:
    current -> v-<time>-<id>/      symlink, replaced atomically when a build finishes
    v-…/manifest.json              format version, model, dimension, chunk count, file hashes, build time
    v-…/passages.jsonl             one Passage per line, in vector order
    v-…/vectors.npy                float32 (n, d), reused for unchanged files by the next build
    v-…/dense.faiss, v-…/bm25/     the dense and keyword indexes
    .build.lock                    one build at a time
A build writes a fresh folder, then flips `current`; a crash at any point leaves the old index.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
import zlib
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from ...config import Config
from ...errors import IndexCorruptError, IndexMismatchError, IndexMissingError
from ...types import BuildReport, Passage
from ... import stages
from .. import base
from ..base import FIX, SearchIndex
from ..keyword import KeywordIndex, TokenIds
from ..passages import load_passages
from ..plan import acquire_build_lock, chunking_params as _chunking, compatible, plan_build
from .dense import DenseIndex

if TYPE_CHECKING:
    from ...embedder import Embedder

# 4: above EXACT_UP_TO passages the HNSW graph stores quantised vectors (IndexHNSWSQ: float16, or
# 8-bit codes since session 27; the FAISS file says which, so both read alike), read by version 4
# only; an index of another version is refused with IndexMismatchError (rebuild).
FORMAT_VERSION = 4


def current_folder(embeddings_dir: Path) -> Path | None:
    link = Path(embeddings_dir) / "current"
    return link.resolve() if link.exists() else None


def index_exists(embeddings_dir: Path) -> bool:
    folder = current_folder(embeddings_dir)
    return folder is not None and (folder / "manifest.json").exists()


def check_index(embeddings_dir: Path, model: str | None) -> dict:
    """The current index's manifest, checked, without loading anything else (`Store.check`)."""
    folder = current_folder(Path(embeddings_dir))
    if folder is None or not folder.exists():
        raise IndexMissingError(f"no index in {embeddings_dir}; {FIX}")
    manifest = read_manifest(folder)
    check_manifest(manifest, model)
    return manifest


def read_manifest(folder: Path) -> dict:
    try:
        manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise IndexCorruptError(f"index at {folder} has no manifest; {FIX}") from exc
    except (OSError, ValueError) as exc:
        raise IndexCorruptError(f"index manifest at {folder} is unreadable ({exc.__class__.__name__}); {FIX}") from exc
    if not isinstance(manifest, dict):
        raise IndexCorruptError(f"index manifest at {folder} is malformed; {FIX}")
    return manifest


def check_manifest(manifest: dict, model: str | None) -> None:
    base.check_manifest(manifest, model, FORMAT_VERSION)


def _file_sum(path: Path) -> dict:
    """Size and CRC-32 of a file, read in 1 MB pieces (CRC-32: fast enough to check at every load)."""
    crc, size = 0, 0
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            crc = zlib.crc32(chunk, crc)
            size += len(chunk)
    return {"bytes": size, "crc32": f"{crc:08x}"}


def _checksums(folder: Path) -> dict:
    """{relative path: size and CRC-32} of every index file but the manifest."""
    return {path.relative_to(folder).as_posix(): _file_sum(path)
            for path in sorted(folder.rglob("*")) if path.is_file() and path.name != "manifest.json"}


def verify_files(folder: Path, manifest: dict, names: tuple[str, ...] | None = None) -> None:
    """Check index files against the sizes and CRC-32s in the manifest (all but vectors.npy, which
    only a rebuild reads, unless `names` are given); IndexCorruptError naming the first damaged file.
    Manifests written before checksums were recorded are accepted as they are."""
    sums = manifest.get("checksums")
    if sums is None:
        return
    if not isinstance(sums, dict):
        raise IndexCorruptError(f"index manifest at {folder} is malformed (checksums); {FIX}")
    for rel, want in sums.items():
        if names is None and rel == "vectors.npy" or names is not None and rel not in names:
            continue
        path = folder / rel
        if not path.is_file():
            raise IndexCorruptError(f"index file {rel} is missing from {folder}; {FIX}")
        got = _file_sum(path)
        if not isinstance(want, dict) or got["bytes"] != want.get("bytes"):
            raise IndexCorruptError(f"index file {rel} in {folder} is damaged (size {got['bytes']} bytes, "
                                    f"expected {want.get('bytes') if isinstance(want, dict) else '?'}); {FIX}")
        if got["crc32"] != want.get("crc32"):
            raise IndexCorruptError(f"index file {rel} in {folder} is damaged (checksum differs); {FIX}")


def load_index(embeddings_dir: Path, model: str | None = None) -> SearchIndex:
    """Load the current index, checking its manifest and file checksums; raises a named one-line
    error if unusable. A build that swaps in a new index during the load is retried, not reported."""
    stages.event("index_load")
    embeddings_dir = Path(embeddings_dir)
    for attempt in range(3):
        folder = current_folder(embeddings_dir)
        try:
            if folder is None or not folder.exists():
                raise IndexMissingError(f"no index in {embeddings_dir}; {FIX}")
            return _load_folder(folder, model)
        except (IndexMissingError, IndexCorruptError):
            if attempt == 2 or current_folder(embeddings_dir) == folder:
                raise
    raise AssertionError("unreachable")


def _load_folder(folder: Path, model: str | None) -> SearchIndex:
    manifest = read_manifest(folder)
    check_manifest(manifest, model)
    verify_files(folder, manifest)
    try:
        passages = load_passages(folder / "passages.jsonl", manifest.get("chunk_count"))  # large: read by position
        dense = DenseIndex.load(folder / "dense.faiss", manifest.get("index_type", "flat"))
        keyword = KeywordIndex.load(folder / "bm25", mmap=True)
    except Exception as exc:  # any damage to the files means the same thing to the user
        raise IndexCorruptError(f"index at {folder} is damaged ({exc.__class__.__name__}); {FIX}") from exc
    n = manifest.get("chunk_count")
    if not (n == len(passages) == dense.ntotal == keyword.n):
        raise IndexCorruptError(
            f"index at {folder} is inconsistent ({n} in manifest, {len(passages)} passages, {dense.ntotal} vectors); {FIX}"
        )
    if dense.dimension != manifest.get("dimension"):
        raise IndexMismatchError(f"index dimension {dense.dimension} differs from its manifest; {FIX}")
    return FilesIndex(folder, manifest, passages, dense, keyword)


class FilesIndex(SearchIndex):
    """A loaded index folder; no longer current once `embeddings/current` points elsewhere."""

    def is_current(self) -> bool:
        return current_folder(Path(self.folder).parent) == Path(self.folder).resolve()


def _previous(embeddings_dir: Path, config: Config) -> tuple[dict, list[Passage], np.ndarray, KeywordIndex | None] | None:
    """The current index's manifest, passages, vectors and (if its tokens are reusable) keyword
    index, when built compatibly (same format, model and chunking); None otherwise."""
    folder = current_folder(embeddings_dir)
    if folder is None:
        return None
    try:
        manifest = read_manifest(folder)
        if not compatible(manifest, config, FORMAT_VERSION):
            return None
        verify_files(folder, manifest, ("passages.jsonl", "vectors.npy"))
        with open(folder / "passages.jsonl", encoding="utf-8") as fh:
            passages = [Passage.from_dict(json.loads(line)) for line in fh if line.strip()]
        vectors = np.load(folder / "vectors.npy", mmap_mode="r")
        if len(passages) != vectors.shape[0]:
            return None
    except Exception:
        return None  # an unusable previous index just means embedding everything again
    keyword = None
    try:
        sums = manifest.get("checksums") or {}
        verify_files(folder, {"checksums": sums}, tuple(k for k in sums if k.startswith("bm25/")))
        keyword = KeywordIndex.load(folder / "bm25")
        keyword = keyword if keyword.reusable and keyword.n == len(passages) else None
    except Exception:
        keyword = None  # tokenising everything again is always correct
    return manifest, passages, vectors, keyword


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())
    _fsync_dir(folder)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _clean_old(embeddings_dir: Path, keep: Path) -> None:
    for path in embeddings_dir.iterdir():
        if path.is_dir() and path.resolve() != keep and (path.name.startswith("v-") or path.name.startswith(".tmp-")):
            shutil.rmtree(path, ignore_errors=True)
        elif path.is_symlink() and path.name.startswith(".current-"):
            path.unlink(missing_ok=True)


def build_index(
    config: Config,
    embedder: Embedder | None = None,
    progress: bool = False,
    on_progress: Callable[[float, str], None] | None = None,
    lock_timeout: float = 600,
) -> BuildReport:
    """Parse, chunk, embed (only changed files) and index the documents folder; swap in atomically."""
    embeddings_dir = Path(config.embeddings_dir)
    embeddings_dir.mkdir(parents=True, exist_ok=True)
    lock = acquire_build_lock(embeddings_dir / ".build.lock", str(embeddings_dir), lock_timeout)
    try:
        if embedder is None:
            from ...embedder import Embedder

            embedder = Embedder(config.model)
        return _build_locked(config, embedder, progress, on_progress)
    finally:
        lock.release()


def _build_locked(config, embedder, progress, on_progress) -> BuildReport:
    started = time.perf_counter()
    embeddings_dir = Path(config.embeddings_dir)
    note = on_progress or (lambda frac, msg: None)
    note(0.0, "reading documents")
    previous = _previous(embeddings_dir, config)
    prev_files = previous[0].get("files", {}) if previous else {}
    plan = plan_build(config, [prev_files])
    embedded = plan.embed(embedder, progress, note)

    passages: list[Passage] = []
    blocks: list[np.ndarray] = []
    prev_keyword = previous[3] if previous else None
    # keyword tokens as int32 ids, file by file: unchanged files keep their saved ids (no jieba)
    tokens = TokenIds(prev_keyword.token_list() if prev_keyword is not None else ())
    for sf in plan.files:
        if sf.source in plan.held_in:
            start, end = prev_files[sf.source]["rows"]
            passages.extend(previous[1][start:end])
            blocks.append(np.asarray(previous[2][start:end], dtype=np.float32))
            if prev_keyword is not None:
                tokens.add_ids(*prev_keyword.ids_of(start, end))
            else:
                tokens.add_texts(p.embed_text_normalized for p in previous[1][start:end])
        else:
            passages.extend(plan.chunks[sf.source])
            blocks.append(plan.vectors[sf.source])
            plan.add_token_ids(sf.source, tokens)
    dims = {b.shape[1] for b in blocks if b.size}
    dim = dims.pop() if len(dims) == 1 else embedder.dimension
    vectors = np.concatenate([b.reshape(-1, dim) for b in blocks], dtype=np.float32)  # one copy, not two
    del blocks
    file_rows, reports = plan.file_rows()

    note(0.9, "indexing")
    dense = DenseIndex.build(vectors)
    keyword = tokens.index()
    manifest = {
        "format_version": FORMAT_VERSION,
        "model": config.model,
        "dimension": int(dim),
        "chunk_count": len(passages),
        "index_type": dense.kind,
        "chunking": _chunking(config),
        "files": file_rows,
        "skipped": plan.skipped_map,
        "built_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }

    tag = f"{datetime.now(timezone.utc):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    tmp = embeddings_dir / f".tmp-{tag}"
    tmp.mkdir()
    with open(tmp / "passages.jsonl", "w", encoding="utf-8") as fh:
        for p in passages:
            fh.write(json.dumps(p.to_dict(), ensure_ascii=False) + "\n")
    np.save(tmp / "vectors.npy", vectors)
    dense.save(tmp / "dense.faiss")
    keyword.save(tmp / "bm25")
    manifest["checksums"] = _checksums(tmp)
    (tmp / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=2), encoding="utf-8")
    _fsync_tree(tmp)
    final = embeddings_dir / f"v-{tag}"
    os.rename(tmp, final)
    link_tmp = embeddings_dir / f".current-{tag}"
    os.symlink(final.name, link_tmp)
    os.replace(link_tmp, embeddings_dir / "current")  # the atomic switch
    _fsync_dir(embeddings_dir)
    _clean_old(embeddings_dir, final.resolve())
    note(1.0, "done")
    return BuildReport(final, reports, plan.skipped, len(passages), embedded, time.perf_counter() - started)


class FilesStore:
    """The files backend: FAISS + BM25 under `config.embeddings_dir` (see the module docstring)."""

    name = "faiss"

    def __init__(self, config: Config):
        self.config = config

    def exists(self) -> bool:
        return index_exists(self.config.embeddings_dir)

    def build(self, embedder=None, progress: bool = False, on_progress=None) -> BuildReport:
        return build_index(self.config, embedder, progress, on_progress)

    def open(self) -> SearchIndex:
        return load_index(self.config.embeddings_dir, self.config.model)

    def check(self) -> dict:
        return check_index(self.config.embeddings_dir, self.config.model)
