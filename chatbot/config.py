"""One configuration object. Defaults live here; flags and environment variables override them."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MODEL = "use-multilingual-v3"


def _env_number(name: str, default, kind=int):
    value = os.environ.get(name)
    return kind(value) if value else default


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
    # how often a serving process asks its store whether another process swapped in a newer index
    # (a Milvus alias flip, a new embeddings/current); 0 = never (keep the index loaded at start)
    index_check_s: float = field(default_factory=lambda: _env_number("CHATBOT_INDEX_CHECK_S", 5.0, float))
    # chunking (part of the index: changing it means a rebuild)
    chunk_chars: int = 360
    chunk_overlap: int = 80
    # server-side limits on what a client sends
    max_query_chars: int = 500    # longer questions are cut, with a notice
    # web app limits (chatbot/ui: guard.py, edge.py, app.py); CHATBOT_* env overrides where shown
    max_message_chars: int = 2000          # a chat/API message is cut to this at the server (the textbox's max_length)
    max_history_turns: int = 8             # earlier user messages passed on with a question (the last ones)
    max_history_chars: int = 500           # each earlier message is cut to this
    max_turns: int = 50                    # questions in one web conversation; then "新对话"
    max_body_bytes: int = field(default_factory=lambda: _env_number("CHATBOT_MAX_BODY_BYTES", 256 * 1024))
    queue_max_size: int = field(default_factory=lambda: _env_number("CHATBOT_QUEUE_MAX", 128))
    answer_concurrency: int = field(default_factory=lambda: _env_number("CHATBOT_ANSWER_CONCURRENCY", 4))
    per_client_events: int = field(default_factory=lambda: _env_number("CHATBOT_PER_CLIENT", 32))  # queued+running
    max_sessions: int = 2000               # web sessions whose state the server keeps (least recent dropped)
    login_free_failures: int = 5           # wrong passwords in a row (per address, per user) before lockouts
    login_lock_base_s: float = 2.0         # first lockout; doubles with each further failure
    login_lock_max_s: float = 900.0
    login_forget_s: float = 900.0          # failures are forgotten this long after the last one
    session_hours: float = field(default_factory=lambda: _env_number("CHATBOT_SESSION_HOURS", 12.0, float))
    # security of the web surface (issue 22; chatbot/ui: logins.py, origin.py, transport.py, uploads.py)
    login_user_delay_max_s: float = 10.0   # a user name with failures may be tried at most once per this (then less)
    sessions_per_user: int = field(default_factory=lambda: _env_number("CHATBOT_SESSIONS_PER_USER", 5000))
    trusted_proxy: str | None = field(default_factory=lambda: os.environ.get("CHATBOT_TRUSTED_PROXY") or None)
    allowed_origins: str | None = field(default_factory=lambda: os.environ.get("CHATBOT_ORIGINS") or None)
    header_timeout_s: float = field(default_factory=lambda: _env_number("CHATBOT_HEADER_TIMEOUT_S", 10.0, float))
    body_timeout_s: float = field(default_factory=lambda: _env_number("CHATBOT_BODY_TIMEOUT_S", 10.0, float))
    upload_tmp_dir: Path | None = field(default_factory=lambda: _env_path("CHATBOT_UPLOAD_TMP", None))
    upload_quota_mb: float = field(default_factory=lambda: _env_number("CHATBOT_UPLOAD_QUOTA_MB", 300.0, float))
    upload_window_s: float = 600.0         # the quota is per client address per this window
    # the operator's console (issue 20; chatbot/console): the question log (with the 👍/👎), /metrics, the API
    log_enabled: bool = field(default_factory=lambda: os.environ.get("CHATBOT_NO_LOG", "") in ("", "0"))
    log_days: float = field(default_factory=lambda: _env_number("CHATBOT_LOG_DAYS", 90.0, float))
    metrics_token: str | None = field(default_factory=lambda: os.environ.get("CHATBOT_METRICS_TOKEN") or None)
    api_keys: tuple = ()                   # --api-key: turns on POST /v1/chat/completions (Bearer)
    # the API's own pool, apart from the web chat's (a flood of API calls cannot starve chat users):
    api_concurrency: int = field(default_factory=lambda: _env_number("CHATBOT_API_CONCURRENCY", 2))  # answering at once
    api_queue_max: int = field(default_factory=lambda: _env_number("CHATBOT_API_QUEUE_MAX", 16))  # waiting; 429 beyond
    api_per_client: int = field(default_factory=lambda: _env_number("CHATBOT_API_PER_CLIENT", 8))  # waiting+running
    admin_token_hours: float = 8.0         # the 资料库 login's upload permission (a cookie bound to the page)
    # reading a PDF, Word or HTML file (chatbot/ingest/limits.py): a file over any of these is refused
    # with the limit named, and remembered by its SHA-256 so a rebuild does not read it again
    doc_unpacked_mb: int = field(default_factory=lambda: _env_number("CHATBOT_DOC_UNPACKED_MB", 200))  # one file, all parts
    doc_part_mb: int = field(default_factory=lambda: _env_number("CHATBOT_DOC_PART_MB", 64))  # one zip part or PDF stream
    doc_nodes: int = field(default_factory=lambda: _env_number("CHATBOT_DOC_NODES", 1_000_000))  # XML/HTML elements
    doc_depth: int = field(default_factory=lambda: _env_number("CHATBOT_DOC_DEPTH", 4096))  # element nesting
    doc_pages: int = field(default_factory=lambda: _env_number("CHATBOT_DOC_PAGES", 2000))  # PDF pages
    # the reader runs in a child process (chatbot/ingest/sandbox.py) with these per-file limits
    doc_cpu_s: int = field(default_factory=lambda: _env_number("CHATBOT_DOC_CPU_S", 120))
    doc_memory_mb: int = field(default_factory=lambda: _env_number("CHATBOT_DOC_MEMORY_MB", 1536))  # added address space
    # optional LLM answers (issue 19, chatbot/generation): off unless a base URL and a model are set.
    # The key is never shown: it is left out of repr() and sent only as the Bearer header.
    llm_base_url: str | None = field(default_factory=lambda: os.environ.get("CHATBOT_LLM_BASE_URL") or None)
    llm_model: str | None = field(default_factory=lambda: os.environ.get("CHATBOT_LLM_MODEL") or None)
    llm_api_key: str | None = field(default_factory=lambda: os.environ.get("CHATBOT_LLM_API_KEY") or None, repr=False)
    llm_timeout_s: float = field(default_factory=lambda: _env_number("CHATBOT_LLM_TIMEOUT_S", 30.0, float))

    @property
    def llm_enabled(self) -> bool:
        return bool(self.llm_base_url and self.llm_model)

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
