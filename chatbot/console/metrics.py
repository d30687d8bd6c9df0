"""Prometheus metrics (issue 20) through prometheus_client, in a registry of this process's own."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60)


class Metrics:
    """chatbot_questions_total{outcome,channel}, chatbot_answer_latency_seconds, chatbot_refusals_total{reason},
    chatbot_errors_total, chatbot_index_passages, chatbot_index_rebuilds_total, chatbot_question_log_failures."""

    def __init__(self):
        self.registry = CollectorRegistry()
        r = self.registry
        self.questions = Counter("chatbot_questions", "Questions answered, by outcome (answered, refused, error) "
                                 "and channel (web, api, openai)", ["outcome", "channel"], registry=r)
        self.latency = Histogram("chatbot_answer_latency_seconds", "Time to answer one question",
                                 ["channel"], buckets=LATENCY_BUCKETS, registry=r)
        self.refusals = Counter("chatbot_refusals", "Refused questions, by reason", ["reason"], registry=r)
        self.errors = Counter("chatbot_errors", "Questions that failed with an error", registry=r)
        self.rebuilds = Counter("chatbot_index_rebuilds", "Index reloads after a rebuild", registry=r)
        self.passages = Gauge("chatbot_index_passages", "Passages in the loaded index", registry=r)
        self.documents = Gauge("chatbot_index_documents", "Documents in the loaded index", registry=r)
        self.log_failures = Gauge("chatbot_question_log_failures", "Question-log writes that failed", registry=r)
        self._qa = None
        self._qlog = None
        for outcome in ("answered", "refused", "error"):
            for channel in ("web", "api", "openai"):
                self.questions.labels(outcome, channel)

    def observe(self, answer, latency_s: float, channel: str) -> None:
        """Count one answered question."""
        try:
            outcome = "error" if answer.reason == "error" else "refused" if answer.refused else "answered"
            self.questions.labels(outcome, channel).inc()
            self.latency.labels(channel).observe(max(0.0, float(latency_s)))
            if outcome == "error":
                self.errors.inc()
            elif outcome == "refused":
                self.refusals.labels(str(answer.reason or "none")[:40]).inc()
        except Exception:  # noqa: BLE001 - metrics never break an answer
            log.exception("metrics failed")

    def watch(self, qa, qlog=None) -> None:
        """Follow the pipeline's index (size, reloads) and the question log's failures."""
        self._qa, self._qlog = qa, qlog
        reload = qa.reload

        def counted_reload(*args, **kwargs):
            result = reload(*args, **kwargs)
            self.rebuilds.inc()
            return result
        qa.reload = counted_reload

    def render(self) -> bytes:
        qa = self._qa
        try:
            retriever = getattr(qa, "_retriever", None) if qa is not None else None
            if retriever is not None:
                passages = retriever.index.passages
                self.passages.set(len(passages))
                self.documents.set(len({p.doc_id for p in passages}))
        except Exception:  # noqa: BLE001
            pass
        if self._qlog is not None:
            self.log_failures.set(self._qlog.failures)
        return generate_latest(self.registry)
