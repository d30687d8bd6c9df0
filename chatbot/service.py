"""The question-answering pipeline, loaded once per process and safe to share between threads."""

from __future__ import annotations

import logging
import threading
from dataclasses import replace

from .answer import Answer, Policy, compose
from .config import Config
from .embedder import Embedder
from .errors import ChatbotError
from .index import SearchIndex, build, exists, open_index
from .retriever import Retriever
from .textnorm import clean

log = logging.getLogger(__name__)



class QA:
    """`ask(question) -> Answer`. Model and index load on first use, once."""

    def __init__(self, config: Config | None = None, embedder: Embedder | None = None,
                 policy: Policy | None = None, build_if_missing: bool = False):
        self.config = config or Config()
        self.embedder = embedder or Embedder(self.config.model)
        self.policy = policy or Policy()
        self.build_if_missing = build_if_missing
        self._retriever: Retriever | None = None
        self._lock = threading.Lock()

    @property
    def retriever(self) -> Retriever:
        if self._retriever is None:
            with self._lock:
                if self._retriever is None:
                    if self.build_if_missing and not exists(self.config):
                        build(self.config, self.embedder, progress=True)
                    index = open_index(self.config)
                    self._retriever = Retriever(index, self.embedder, self.config)
        return self._retriever

    @property
    def index(self) -> SearchIndex:
        return self.retriever.index

    def prepare(self, question: str) -> tuple[str, str | None]:
        """Clean a raw question and cut an overlong one; returns (question, notice)."""
        text = clean(question if isinstance(question, str) else str(question or ""))
        limit = self.config.max_query_chars
        if len(text) > limit:
            return text[:limit], f"问题太长，只使用了前 {limit} 个字。"
        return text, None

    def retrieve(self, question: str, k: int | None = None):
        text, _ = self.prepare(question)
        return self.retriever.search(text, k)

    def ask(self, question: str) -> Answer:
        return self.ask_with_hits(question, self.config.top_k)[0]

    def ask_with_hits(self, question: str, k: int):
        """(answer, retrieval of the top k): one search serves both (evaluation needs the deeper
        ranking; the answer is composed from the first `top_k` hits, exactly as `ask` does)."""
        text, notice = self.prepare(question)
        retrieval = self.retriever.search(text, max(k, self.config.top_k))
        top = replace(retrieval, hits=retrieval.hits[:self.config.top_k])
        return compose(top, self.index.keyword, self.policy, notice), retrieval

    def safe_ask(self, question: str) -> Answer:
        """Like `ask`, but any failure becomes an honest answer instead of a traceback."""
        try:
            return self.ask(question)
        except ChatbotError as exc:
            return Answer(str(question)[:200], f"系统暂时无法回答：{exc}", True, reason="error")
        except Exception:  # noqa: BLE001 - the user must never see a traceback
            log.exception("answering failed")
            return Answer(str(question)[:200], "系统内部出错，暂时无法回答，请稍后再试。", True, reason="error")
