"""The build planner every backend shares: read the documents folder, decide per file (by SHA-256)
whether an existing index already holds its content, chunk and embed only the files whose content
is new, tokenise for BM25, and describe the result as manifest entries and file reports.

A backend supplies what it holds (`files` maps of compatible manifests) and stores the outcome;
it never re-implements these steps. One build at a time (`acquire_build_lock`) for every backend.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Mapping, Sequence

import numpy as np
from filelock import FileLock, Timeout

from ..errors import IndexBusyError, NoDocumentsError
from ..ingest.chunking import chunk_documents
from ..ingest.documents import load_folder
from ..ingest.limits import Limits
from ..ingest.refusals import Refusals
from ..types import FileReport, Passage, Skipped, SourceFile

if TYPE_CHECKING:
    from ..config import Config
    from ..embedder import Embedder
    from .keyword import TokenIds

Note = Callable[[float, str], None]


def acquire_build_lock(path: Path, where: str, timeout: float) -> FileLock:
    """Take the build lock at `path`, saying so when another build holds it and waiting up to
    `timeout` seconds; IndexBusyError after that. One build at a time, for every backend."""
    lock = FileLock(str(path))
    try:
        lock.acquire(timeout=0)
    except Timeout:
        print(f"another build holds {path}; waiting for it…", file=sys.stderr)
        try:
            lock.acquire(timeout=timeout)
        except Timeout as exc:
            raise IndexBusyError(f"another build is still running for {where}; try again later") from exc
    return lock


def chunking_params(config: "Config") -> dict:
    """The chunking settings an index records (another value means rebuilding from scratch):
    the size limits, and the text normalisation's fingerprint, since what is embedded is the
    normalised text (a new variant form in textnorm changes the vectors too)."""
    from .. import textnorm

    return {"chars": config.chunk_chars, "overlap": config.chunk_overlap, "text": textnorm.FINGERPRINT}


def compatible(manifest: dict | None, config: "Config", format_version: int) -> bool:
    """True when an index's content can be reused by this build: same format, model and chunking."""
    return bool(manifest) and manifest.get("format_version") == format_version \
        and manifest.get("model") == config.model and manifest.get("chunking") == chunking_params(config)


def embed_texts(embedder: "Embedder", texts: list[str], progress: bool, note: Note) -> np.ndarray:
    """Embed in batches of 256, reporting progress between 0.1 and 0.9."""
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    from tqdm.auto import tqdm

    batch = 256
    parts = []
    encode = getattr(embedder, "encode_documents", embedder.encode)  # builds: through sentence-transformers
    with tqdm(total=len(texts), desc="embedding", unit="passage", disable=not progress) as bar:
        for i in range(0, len(texts), batch):
            parts.append(encode(texts[i:i + batch]))
            bar.update(len(texts[i:i + batch]))
            note(0.1 + 0.8 * min(1.0, (i + batch) / len(texts)), f"embedded {min(i + batch, len(texts))}/{len(texts)}")
    return np.concatenate(parts).astype(np.float32)


@dataclass
class BuildPlan:
    """What a build must do. `fresh` files have content no held index has: they are chunked here
    (`chunks`) and embedded by `embed()`; every other file is copied from the index named in
    `held_in` ({source: position of the `held` map that holds its content})."""

    files: list[SourceFile]
    skipped: list[Skipped]
    held_in: dict[str, int]
    chunks: dict[str, list[Passage]]
    counts: dict[str, int]
    vectors: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def fresh(self) -> list[SourceFile]:
        return [sf for sf in self.files if sf.source not in self.held_in]

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def skipped_map(self) -> dict[str, str]:
        return {s.source: s.reason for s in self.skipped}

    def current(self) -> dict[str, str]:
        """{source: sha256} of the documents folder now."""
        return {sf.source: sf.sha256 for sf in self.files}

    def embed(self, embedder: "Embedder", progress: bool, note: Note) -> int:
        """Embed the fresh files' passages (fills `vectors`); returns how many were embedded."""
        texts = [p.embed_text_normalized for sf in self.fresh for p in self.chunks[sf.source]]
        note(0.1, f"embedding {len(texts)} passages")
        flat = embed_texts(embedder, texts, progress, note)
        k = 0
        for sf in self.fresh:
            n = len(self.chunks[sf.source])
            self.vectors[sf.source] = flat[k:k + n]
            k += n
        return len(texts)

    def tokens(self, source: str) -> list[list[str]]:
        """BM25 tokens of a fresh file's passages (jieba words + CJK bigrams; see store/keyword.py)."""
        from .keyword import tokenize

        return [tokenize(p.embed_text_normalized) for p in self.chunks[source]]

    def add_token_ids(self, source: str, table: "TokenIds") -> None:
        """Append a fresh file's passages to the build's keyword token ids (tokenised now)."""
        table.add_texts(p.embed_text_normalized for p in self.chunks[source])

    def file_rows(self) -> tuple[dict[str, dict], list[FileReport]]:
        """Manifest `files` entries (rows [start, end) in folder order) and the build's file reports."""
        rows, reports, row = {}, [], 0
        for sf in self.files:
            n = self.counts[sf.source]
            entry = {"sha256": sf.sha256, "encoding": sf.encoding, "documents": len(sf.documents), "rows": [row, row + n]}
            if sf.pages is not None:
                entry["pages"] = sf.pages
            rows[sf.source] = entry
            reports.append(FileReport(sf.source, len(sf.documents), n, sf.source in self.held_in))
            row += n
        return rows, reports


def plan_build(config: "Config", held: Sequence[Mapping[str, dict]] = ()) -> BuildPlan:
    """Read the documents folder and plan the build against the `files` maps of indexes whose
    content is reusable (earlier maps win). NoDocumentsError when nothing is readable."""
    files, skipped = load_folder(config.documents_dir, Limits.from_config(config), Refusals.for_config(config))
    if not files:
        reasons = "; ".join(f"{s.source}: {s.reason}" for s in skipped) or "the folder is empty or missing"
        raise NoDocumentsError(f"no readable documents in {config.documents_dir} ({reasons})")
    held_in, chunks, counts = {}, {}, {}
    for sf in files:
        where = next((i for i, m in enumerate(held) if (m.get(sf.source) or {}).get("sha256") == sf.sha256), None)
        if where is None:
            chunks[sf.source] = chunk_documents(sf.documents, config.chunk_chars, config.chunk_overlap)
            counts[sf.source] = len(chunks[sf.source])
        else:
            held_in[sf.source] = where
            start, end = held[where][sf.source]["rows"]
            counts[sf.source] = end - start
    return BuildPlan(files, skipped, held_in, chunks, counts)
