"""Index storage: one protocol (`base.Store`), two backends (`files`, `milvus`), chosen by config."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import ChatbotError
from .base import SearchIndex, Store

if TYPE_CHECKING:
    from ..config import Config

BACKENDS = ("faiss", "milvus")


def open_store(config: "Config") -> Store:
    """The backend `config.store` names ("faiss": files under embeddings/, "milvus")."""
    name = (config.store or "faiss").strip().lower()
    if name == "faiss":
        from .files.store import FilesStore

        return FilesStore(config)
    if name == "milvus":
        from .milvus.store import MilvusStore

        return MilvusStore(config)
    raise ChatbotError(f"unknown index store {config.store!r}; use --store faiss or --store milvus")


def build(config: "Config", embedder=None, progress: bool = False, on_progress=None):
    """Build the index on the configured backend."""
    return open_store(config).build(embedder, progress, on_progress)


def open_index(config: "Config") -> SearchIndex:
    """Load the index from the configured backend (named one-line errors when unusable)."""
    return open_store(config).open()


def exists(config: "Config") -> bool:
    return open_store(config).exists()


__all__ = ["BACKENDS", "SearchIndex", "Store", "build", "exists", "open_index", "open_store"]
