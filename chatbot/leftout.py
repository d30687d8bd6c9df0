"""`chatbot tune FILES --left-out [--variant FIELD=VALUE[,FIELD=VALUE]] …`: policy variants judged on
files the learned parts never saw.

Each file is left out in turn. The query adapter is refitted on the other files among those the
shipped adapter was fitted on, the known questions are the other files' among those the shipped
memory holds, and the learned out-of-scope check is refitted on the other files among its own (all
given files when nothing ships), so a left-out figure owes nothing to the file's own questions. The file is then answered through the whole chat path under the shipped policy and
under each variant, and the figures are pooled over every file (each question counted once). This is
how docs/quality.md (session 12) chose the English translation's weight.
"""

from __future__ import annotations

from . import evaluation
from .adapterfit import _passage_vectors, training_data
from .memoryfit import fold, known
from .retrieval import adapter as adapter_mod
from .retrieval import memory as memory_mod
from .retrieval import scope as scope_mod

FIGURES = ("recall@1", "recall@5", "answer_hit", "refusal_recall", "false_refusal",
           "answer_chars_median", "fact_in_first_60")
TYPES = ("english", "followup", "colloquial", "paraphrase")


def _shipped_files(meta: dict | None, names: list[str]) -> set[str]:
    files = set((meta or {}).get("files") or ())
    return files & set(names) if files & set(names) else set(names)


def _summary(outcomes: list) -> dict:
    rep = evaluation.report(outcomes)
    out = {k: rep.get(k) for k in FIGURES}
    for t in TYPES:
        row = rep.get("by_type", {}).get(t)
        if row:
            out[f"{t} recall@1 / hit"] = [row["recall@1"], row["answer_hit"]]
    return out


def left_out(qa, items: list[dict], variants: dict[str, dict]) -> dict:
    """{variant: pooled figures, "by_file": {file: {variant: recall@1}}}; "shipped" is the policy as is."""
    retriever, policy = qa.retriever, qa.policy
    names = sorted({it["file"] for it in items})
    shipped_adapter = adapter_mod.load_array(adapter_mod.ADAPTER_FILE, qa.embedder.model_name)
    adapter_files = _shipped_files(shipped_adapter[1] if shipped_adapter else None, names)
    shipped_memory = memory_mod.load(memory_mod.MEMORY_FILE, qa.embedder.model_name)
    memory_files = _shipped_files(shipped_memory.meta if shipped_memory else None, names)
    pvec = _passage_vectors(qa)
    questions, sources, evidence, files = known(qa, items)
    mvec = qa.embedder.encode(questions) if questions else None
    passages, manifest = qa.index.passages, qa.index.manifest.get("files")
    shipped_scope = scope_mod.load(scope_mod.SCOPE_FILE, qa.embedder.model_name)
    scope_rows = None
    if shipped_scope is not None:  # labels from the word-list checks alone, as `tune --scope` makes them
        from . import scopefit

        scope_files = _shipped_files(shipped_scope.meta, names)
        retriever.policy = qa.policy = policy.with_values(scope_learned=False)
        try:
            scope_rows = scopefit.examples(qa, [it for it in items if it["file"] in scope_files])
        finally:
            retriever.policy = qa.policy = policy
    variants = {"shipped": {}, **variants}
    outcomes: dict[str, list] = {v: [] for v in variants}
    by_file: dict[str, dict] = {}
    kept_adapter, kept_memory, kept_scope = retriever.adapter, retriever._memory, retriever.scope
    try:
        for name in names:
            q, rel = training_data(qa, [it for it in items if it["file"] != name and it["file"] in adapter_files])
            matrix = adapter_mod.fit(q, pvec, rel, policy.adapter_l2, policy.adapter_temperature) if rel else None
            keep = [j for j, f in enumerate(files) if f != name and f in memory_files]
            bound = fold(mvec, sources, evidence, questions, keep).bind(passages, manifest) if keep else None
            retriever._memory = memory_mod.Fixed(bound)
            if scope_rows is not None:
                X, labels, rows = scope_rows
                train = [j for j, r in enumerate(rows) if r["file"] != name]
                retriever.scope = scopefit.fit(X[train], labels[train]) if train else None
            test = [it for it in items if it["file"] == name]
            for label, values in variants.items():
                p = policy.with_values(**values)
                retriever.adapter = adapter_mod.QueryAdapter(matrix, p.adapter_weight) \
                    if matrix is not None and p.adapter_weight > 0 else None
                retriever.policy = qa.policy = p
                got = evaluation.run(qa, test)
                outcomes[label] += got
                by_file.setdefault(name, {})[label] = evaluation.report(got)["recall@1"]
    finally:
        retriever.adapter, retriever._memory, retriever.policy, qa.policy = kept_adapter, kept_memory, policy, policy
        retriever.scope = kept_scope
    result = {label: _summary(got) for label, got in outcomes.items()}
    result["by_file"] = by_file
    result["refitted_on"] = {"adapter": sorted(adapter_files), "known_questions": sorted(memory_files),
                             "scope": sorted({r["file"] for r in scope_rows[2]}) if scope_rows else []}
    return result
