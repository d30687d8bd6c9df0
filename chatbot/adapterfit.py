"""`chatbot tune --adapter`: fit the query adapter (retrieval/adapter.py) on labelled questions.

Each stand-alone answerable question (no history) is embedded as the retriever embeds it; its
relevant passages are every passage holding one of its evidence strings. The map is fitted on all
the files given and saved with what it was fitted on. Before that, each file is left out in turn:
the map fitted on the other files is used to answer the left-out file's questions (the whole chat
path, follow-ups included), and its recall@1 is printed beside the unadapted one. Files written by
different people make these held-out figures: the folds are files, not random questions, because
questions of one file share a writer's wording.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from . import evaluation
from .retrieval import adapter as adapter_mod
from .textnorm import normalize


def training_data(qa, items: list[dict]) -> tuple[np.ndarray, list[list[int]]]:
    """(question vectors, relevant passage positions) of the stand-alone answerable questions."""
    passages = qa.index.passages
    texts, relevant = [], []
    for it in items:
        evidence = it.get("evidence") or []
        if not evidence or it.get("history"):
            continue
        rel = [i for i, p in enumerate(passages) if evaluation._contains_any(p.title + "\n" + p.text, evidence)]
        if not rel:
            continue
        question, _ = qa.prepare(it["query"])
        texts.append(normalize(question))
        relevant.append(rel)
    vectors = qa.embedder.encode(texts) if texts else np.zeros((0, qa.embedder.dimension()), np.float32)
    return vectors, relevant


def _passage_vectors(qa) -> np.ndarray:
    return qa.embedder.encode([p.embed_text_normalized for p in qa.index.passages])


def _recall_at_1(qa, items: list[dict], adapter) -> float:
    retriever = qa.retriever
    kept = retriever.adapter
    retriever.adapter = adapter
    try:
        outcomes = evaluation.run(qa, [it for it in items if it.get("evidence")])
    finally:
        retriever.adapter = kept
    return evaluation.report(outcomes)["recall@1"]


def tune_adapter(qa, items: list[dict], out: Path, l2: float | None = None, temperature: float | None = None) -> dict:
    """Leave-one-file-out figures, then the map fitted on every file, saved to `out`."""
    policy = qa.policy
    l2 = policy.adapter_l2 if l2 is None else l2
    temperature = policy.adapter_temperature if temperature is None else temperature
    weight = policy.adapter_weight or 0.5
    pvec = _passage_vectors(qa)
    files = sorted({it["file"] for it in items})
    held_out = {}
    if len(files) > 1:
        for name in files:
            train = [it for it in items if it["file"] != name]
            test = [it for it in items if it["file"] == name]
            q, rel = training_data(qa, train)
            fitted = adapter_mod.QueryAdapter(adapter_mod.fit(q, pvec, rel, l2, temperature), weight)
            held_out[name] = {"n": sum(1 for it in test if it.get("evidence")),
                              "recall@1_without": _recall_at_1(qa, test, None),
                              "recall@1_with": _recall_at_1(qa, test, fitted)}
    q, rel = training_data(qa, items)
    matrix = adapter_mod.fit(q, pvec, rel, l2, temperature)
    meta = {"model": qa.embedder.model_name, "dimension": int(matrix.shape[0]), "l2": l2,
            "temperature": temperature, "questions": len(rel), "passages": len(pvec),
            "files": {name: adapter_mod.file_digest(name, items) for name in files},
            "fitted": time.strftime("%Y-%m-%d", time.gmtime())}
    adapter_mod.save(out, matrix, meta)
    return {"saved": str(out), "meta": meta, "held_out_by_file": held_out}

