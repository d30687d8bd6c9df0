"""Shared fixtures: a deterministic fake embedder for fast tests, and a real-model index
of the shipped corpus (built once per session) for the slower end-to-end tests."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from chatbot.config import Config  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = ROOT / "documents"
SHARED_EVAL = ROOT.parent / "shared" / "eval" / "dev.jsonl"


class FakeEmbedder:
    """Deterministic bag-of-character-bigrams hashed into 64 dimensions, L2-normalised.

    Similar strings get similar vectors, which is all the unit tests need; no model is loaded.
    """

    model_name = "fake-bigram-64"
    dimension = 64

    def __init__(self):
        self.calls = 0
        self.texts_seen = 0

    def encode(self, texts, show_progress: bool = False) -> np.ndarray:
        self.calls += 1
        self.texts_seen += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            chars = re.sub(r"\s+", "", text)
            grams = [chars[i:i + 2] for i in range(max(1, len(chars) - 1))] or ["∅"]
            for g in grams:
                h = int.from_bytes(hashlib.blake2b(g.encode("utf-8"), digest_size=4).digest(), "little")
                out[row, h % self.dimension] += 1.0 if (h >> 16) & 1 else -1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm > 0 else 1.0 / np.sqrt(self.dimension)
        return out


@pytest.fixture
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture
def corpus_dir(tmp_path) -> Path:
    """A private copy of the shipped documents."""
    target = tmp_path / "documents"
    shutil.copytree(DOCUMENTS, target)
    return target


@pytest.fixture
def fake_config(tmp_path, corpus_dir) -> Config:
    return Config().with_overrides(documents_dir=corpus_dir, embeddings_dir=tmp_path / "embeddings",
                                   model=FakeEmbedder.model_name, feedback_dir=tmp_path / "feedback")


@pytest.fixture(scope="session")
def real_config(tmp_path_factory) -> Config:
    """The shipped corpus indexed with the real default model, once per test session."""
    from chatbot.index import build_index

    base = tmp_path_factory.mktemp("real")
    docs = base / "documents"
    shutil.copytree(DOCUMENTS, docs)
    cfg = Config().with_overrides(documents_dir=docs, embeddings_dir=base / "embeddings", feedback_dir=base / "feedback")
    build_index(cfg)
    return cfg


@pytest.fixture(scope="session")
def real_qa(real_config):
    from chatbot.service import QA

    return QA(real_config)
