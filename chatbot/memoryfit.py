"""`chatbot tune --memory`: save the known questions (retrieval/memory.py) from labelled files.

Every stand-alone answerable question (no history) with a source file is embedded as the retriever
embeds it and saved with its evidence and source. Before that, each file is left out in turn: the
known questions of the other files answer the left-out file (the whole chat path: follow-ups,
refusals), and its figures are printed without and with them, for each weight and floor asked
for. The folds are files: a writer's wording recurs inside a file, so random folds would flatter.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from . import evaluation
from .retrieval import memory as memory_mod
from .retrieval.adapter import file_digest
from .textnorm import normalize

FIGURES = ("recall@1", "recall@5", "answer_hit", "refusal_recall", "false_refusal")


def known(qa, items: list[dict], followups: bool = False, exclude: frozenset[str] = frozenset()
          ) -> tuple[list[str], list[str], list[list[str]], list[str]]:
    """(normalised questions, sources, evidence, files) of the stand-alone answerable questions;
    with `followups`, a follow-up too, as its last earlier message joined with it (the text the
    chat ranks a message read in context with). A question whose normalised text is in `exclude`
    (a held-out file's) is left out."""
    from .dialogue import _joined

    questions, sources, evidence, files = [], [], [], []
    for it in items:
        if not it.get("evidence") or not it.get("source") or (it.get("history") and not followups):
            continue
        if not it.get("history") and normalize(it["query"]) in exclude:
            continue
        question, _ = qa.prepare(it["query"])
        if it.get("history"):
            question = _joined(qa.prepare(str(it["history"][-1]))[0], question)
        questions.append(normalize(question))
        sources.append(it["source"])
        evidence.append(list(it["evidence"]))
        files.append(it["file"])
    return questions, sources, evidence, files


def fold(vectors: np.ndarray, sources: list[str], evidence: list[list[str]], questions: list[str],
         keep: list[int]) -> memory_mod.Memory:
    """The known questions at the positions `keep` (a fold that leaves a file out), with their
    wording: what `known` returned, narrowed alike for `tune --memory` and `tune --left-out`."""
    return memory_mod.Memory(vectors[keep], [sources[j] for j in keep], [evidence[j] for j in keep], {},
                             [questions[j] for j in keep])


def _figures(qa, items: list[dict], bound, weight: float, floor: float) -> dict:
    retriever = qa.retriever
    kept, policy = retriever._memory, retriever.policy
    retriever._memory = memory_mod.Fixed(bound)
    retriever.policy = qa.policy = policy.with_values(memory_weight=weight, memory_floor=floor)
    try:
        report = evaluation.report(evaluation.run(qa, items))
    finally:
        retriever._memory = kept
        retriever.policy = qa.policy = policy
    out = {k: report[k] for k in FIGURES}
    followups = report.get("by_type", {}).get("followup")
    if followups:
        out.update({f"followup {k}": followups[k] for k in ("recall@1", "answer_hit")})
    return out


def _pooled(pairs: list[tuple[float | None, int]]) -> float | None:
    """The mean of per-file figures weighted by file size, over the files where it is defined."""
    pairs = [(v, n) for v, n in pairs if v is not None]
    total = sum(n for _, n in pairs)
    return round(sum(v * n for v, n in pairs) / total, 4) if total else None


def tune_memory(qa, items: list[dict], out: Path, settings: list[tuple[float, ...]] | None = None,
                followups: bool = False, exclude: set[str] | frozenset[str] = frozenset()) -> dict:
    """Leave-one-file-out figures for each (weight, floor), then every file's questions saved to `out`
    (none typed exactly as a question in `exclude`, the held-out files' normalised texts)."""
    questions, sources, evidence, files = known(qa, items, followups, frozenset(exclude))
    vectors = qa.embedder.encode(questions)
    p = qa.policy
    settings = settings or [(p.memory_weight, p.memory_floor)]
    passages, manifest = qa.index.passages, qa.index.manifest.get("files")
    names = sorted({it["file"] for it in items})
    held_out = {}
    if len(names) > 1:
        for name in names:
            keep = [j for j, f in enumerate(files) if f != name]
            bound = fold(vectors, sources, evidence, questions, keep).bind(passages, manifest)
            test = [it for it in items if it["file"] == name]
            row = {"n": len(test), "without": _figures(qa, test, None, 0.0, 0.0)}
            for setting in settings:
                row[" ".join(f"{k}={v}" for k, v in zip(("w", "floor"), setting))] = \
                    _figures(qa, test, bound, *setting)
            held_out[name] = row
    pooled = {}
    for key in (held_out and next(iter(held_out.values())).keys()) or ():
        if key == "n":
            continue
        names_ = dict.fromkeys(k for r in held_out.values() for k in r[key])
        pooled[key] = {k: _pooled([(r[key].get(k), r["n"]) for r in held_out.values()]) for k in names_}
    meta = {"model": qa.embedder.model_name, "dimension": int(vectors.shape[1]) if len(vectors) else 0,
            "questions": len(questions), "followups": followups, "excluded_texts": len(exclude), "files": {name: file_digest(name, items) for name in names},
            "made": time.strftime("%Y-%m-%d", time.gmtime())}
    memory_mod.save(out, vectors, sources, evidence, questions, meta)
    return {"saved": str(out), "meta": meta, "pooled_left_out": pooled, "left_out_by_file": held_out}
