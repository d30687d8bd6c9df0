"""`GET /healthz` (issue 20): the model, the index and the store answer, or the reason they do not."""

from __future__ import annotations

import time


def check(qa, qlog=None) -> tuple[int, dict]:
    """(HTTP status, JSON body): 200 when the model and index are loaded and a search answers,
    503 with `reason` otherwise. The question log's state is reported but does not fail the check
    (a broken log never stops the chat)."""
    started = time.monotonic()
    body: dict = {"status": "ok"}
    try:
        from ..store import open_store

        store = open_store(qa.config)
        if not store.exists():
            return 503, {"status": "unavailable", "reason": f"no index in {qa.config.embeddings_dir.name}"}
        retriever = qa.retriever   # loads (or re-tries loading) the model and the index
        passages = retriever.index.passages
        if not passages:
            return 503, {"status": "unavailable", "reason": "the index is empty"}
        qa.retrieve("医保", 1)     # the store answers a search
        body.update({"model": qa.config.model, "passages": len(passages),
                     "documents": len({p.doc_id for p in passages})})
    except Exception as exc:  # noqa: BLE001 - the reason is the answer
        text = str(exc).replace(str(qa.config.embeddings_dir), "<index>")[:300] or type(exc).__name__
        return 503, {"status": "unavailable", "reason": text}
    if qlog is not None:
        body["question_log"] = ("off" if not qlog.enabled else "problem: " + qlog.problem if qlog.problem else "ok")
    body["check_ms"] = round((time.monotonic() - started) * 1000, 1)
    return 200, body
