"""Build steps every backend shares: one build at a time, chunking parameters, embedding in batches."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from filelock import FileLock, Timeout

from ..errors import IndexBusyError

if TYPE_CHECKING:
    from ..config import Config
    from ..embedder import Embedder


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


def chunking_params(config: Config) -> dict:
    return {"chars": config.chunk_chars, "overlap": config.chunk_overlap}


def embed_texts(embedder: Embedder, texts: list[str], progress: bool, note) -> np.ndarray:
    if not texts:
        return np.zeros((0, 1), dtype=np.float32)
    from tqdm.auto import tqdm

    batch = 256
    parts = []
    with tqdm(total=len(texts), desc="embedding", unit="passage", disable=not progress) as bar:
        for i in range(0, len(texts), batch):
            parts.append(embedder.encode(texts[i:i + batch]))
            bar.update(len(texts[i:i + batch]))
            note(0.1 + 0.8 * min(1.0, (i + batch) / len(texts)), f"embedded {min(i + batch, len(texts))}/{len(texts)}")
    return np.concatenate(parts)


