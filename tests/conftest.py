"""Shared fixtures: a deterministic fake embedder for fast tests, and a real-model index
of the shipped corpus (built once per session) for the slower end-to-end tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from chatbot.config import Config  # noqa: E402

from tests.helpers import DOCUMENTS, ROOT, SHARED_EVAL, FakeEmbedder  # noqa: E402,F401

# Fixtures shared by the unit and integration halves of a test module live in its helper module.
pytest_plugins = ["tests.helpers.bench", "tests.helpers.chat", "tests.helpers.loadtest", "tests.helpers.reliability",
                  "tests.helpers.llm_server"]


def pytest_collection_modifyitems(config, items):
    """Markers come from the folder: tests/integration is slow (real models, subprocesses,
    servers), tests/e2e is slow and drives a browser; tests/unit is the fast loop."""
    for item in items:
        parts = item.path.parts
        if "integration" in parts:
            item.add_marker(pytest.mark.slow)
        elif "e2e" in parts:
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.browser)


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
    from chatbot.store.files.store import build_index

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
