"""The Milvus backend behind the `Store` protocol: a Milvus Lite file (one process, development and
CI) or a Milvus server or cluster shared by many replicas. Layout in schema.py, reading in
search.py, building in build.py, reaching Milvus in connection.py; docs/milvus.md has the rest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..base import SearchIndex
from . import build as _build
from . import search

if TYPE_CHECKING:
    from ...config import Config
    from ...types import BuildReport


class MilvusStore:
    """The Milvus backend (Milvus Lite file or server)."""

    name = "milvus"

    def __init__(self, config: "Config"):
        self.config = config

    def exists(self) -> bool:
        return _build.index_exists(self.config)

    def build(self, embedder=None, progress: bool = False, on_progress=None) -> "BuildReport":
        return _build.build(self.config, embedder, progress, on_progress)

    def open(self) -> SearchIndex:
        return search.open_index(self.config)

    def check(self) -> dict:
        return search.check_index(self.config)
