"""One configuration object. Defaults live here; flags and environment variables override them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "use-multilingual-v3"


def _env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


@dataclass(frozen=True)
class Config:
    documents_dir: Path = field(default_factory=lambda: _env_path("CHATBOT_DOCUMENTS", PROJECT_ROOT / "documents"))
    embeddings_dir: Path = field(default_factory=lambda: _env_path("CHATBOT_EMBEDDINGS", PROJECT_ROOT / "embeddings"))
    model: str = field(default_factory=lambda: os.environ.get("CHATBOT_MODEL", DEFAULT_MODEL))
    feedback_dir: Path = field(default_factory=lambda: _env_path("CHATBOT_FEEDBACK", PROJECT_ROOT / "feedback"))
    # index backend: "faiss" (default, in-process files) or "milvus" (Milvus Lite file or server)
    store: str = field(default_factory=lambda: os.environ.get("CHATBOT_STORE", "faiss"))
    milvus_uri: str | None = field(default_factory=lambda: os.environ.get("CHATBOT_MILVUS_URI"))
    milvus_token: str | None = field(default_factory=lambda: os.environ.get("CHATBOT_MILVUS_TOKEN"))
    milvus_collection: str = field(default_factory=lambda: os.environ.get("CHATBOT_MILVUS_COLLECTION", "chatbot"))
    milvus_keyword: str = field(default_factory=lambda: os.environ.get("CHATBOT_MILVUS_KEYWORD", "auto"))
    # chunking (part of the index: changing it means a rebuild)
    chunk_chars: int = 360
    chunk_overlap: int = 80
    # server-side limits on what a client sends
    max_query_chars: int = 500    # longer questions are cut, with a notice

    def with_overrides(self, **kwargs) -> "Config":
        """A copy with the non-None keyword arguments applied (paths coerced to Path)."""
        clean = {}
        for key, value in kwargs.items():
            if value is None:
                continue
            if key.endswith("_dir"):
                value = Path(value).expanduser()
            clean[key] = value
        return replace(self, **clean)
