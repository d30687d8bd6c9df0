"""One place that notes every answered question: the question log and the metrics (issue 20)."""

from __future__ import annotations

import logging
from pathlib import Path

from .log import QuestionLog
from .metrics import Metrics

log = logging.getLogger(__name__)


class Recorder:
    """`note(answer, latency_s, channel, …) -> row id`: logs and counts; never raises."""

    def __init__(self, qlog: QuestionLog, metrics: Metrics | None = None):
        self.qlog = qlog
        self.metrics = metrics or Metrics()

    @classmethod
    def from_config(cls, config, qa=None) -> "Recorder":
        qlog = QuestionLog(Path(config.feedback_dir), days=config.log_days, enabled=config.log_enabled)
        if qlog.enabled:
            try:
                if imported := qlog.import_feedback(Path(config.feedback_dir) / "feedback.jsonl"):
                    log.warning("imported %d rated answers from feedback.jsonl into %s", imported, qlog.path)
                qlog.prune()
            except Exception:  # noqa: BLE001
                log.exception("could not prepare the question log")
        recorder = cls(qlog)
        if qa is not None:
            recorder.metrics.watch(qa, qlog)
        return recorder

    def note(self, answer, latency_s: float, channel: str, session: str | None = None,
             message: int | None = None, question: str | None = None) -> int | None:
        self.metrics.observe(answer, latency_s, channel)
        try:
            return self.qlog.record(answer, latency_s, channel, session, message, question)
        except Exception:  # noqa: BLE001 - the log never breaks the chat
            log.exception("question log failed")
            return None


_recorder: Recorder | None = None


def install(recorder: Recorder | None) -> Recorder | None:
    global _recorder
    _recorder = recorder
    return recorder


def current() -> Recorder | None:
    return _recorder
