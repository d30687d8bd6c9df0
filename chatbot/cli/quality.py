"""`chatbot eval` and `chatbot tune`: answer quality on question sets with gold evidence."""

from __future__ import annotations

import json
import math

from .common import add_common, add_llm, config_from


def register(sub) -> None:
    e = sub.add_parser("eval", help="retrieval and answer metrics on a JSONL question set")
    add_common(e)
    add_llm(e)  # issue 19
    e.add_argument("file")
    e.add_argument("--json", action="store_true")
    e.add_argument("--details", action="store_true", help="list every miss (query, what ranked first, the gold)")
    e.add_argument("--policy", metavar="FIELD=VALUE", action="append", default=[],
                   help="evaluate with a Policy field changed (repeatable; JSON values, e.g. context_mode=\"rules\" "
                        "neighbour_terms=0): how docs/quality.md measures each method with and without")
    e.add_argument("--answers", metavar="OUT.jsonl", help="write each question's answer (id, query, history, "
                   "understood_as, answer, refused, citations), one JSON object per line")
    e.add_argument("--perturb", metavar="NAME[,NAME]", help="metamorphic check (chatbot/metamorphic.py): the same "
                   "questions typed as other users type them (courtesy, filler, particle, colloquial, traditional, "
                   "swap_phrase, lower, afterthought, ask_frame, keywords, no_punct, kin, place_suffix, swap_forms, "
                   "history_courtesy, history_keywords, history_kin, history_no_punct; all); prints each one's "
                   "figures as written and as perturbed")
    e.set_defaults(func=cmd_eval)

    t = sub.add_parser("tune", help="choose weights and refusal thresholds by grouped cross-validation")
    add_common(t)
    t.add_argument("file", nargs="+", help="one or more question files (e.g. dev.jsonl dev2.jsonl), pooled")
    t.add_argument("--folds", type=int, default=5)
    t.add_argument("--json", action="store_true")
    t.add_argument("--units", action="store_true", help="fit the quoted-unit weights (policy.unit_weights) instead, "
                   "with and without the learned question↔unit metric, and save the metric (chatbot/unitfit.py)")
    t.add_argument("--metric-out", metavar="PATH", help="where --units saves the metric (default: the one the chat "
                   "loads, chatbot/data/unit_metric.npz)")
    t.add_argument("--scope", action="store_true", help="fit the learned out-of-scope check on the files "
                   "(leave-one-file-out counts first) and save it (retrieval/scope.py, chatbot/scopefit.py)")
    t.add_argument("--scope-out", metavar="PATH", help="where to save it (default: the one the chat loads, "
                   "chatbot/data/scope_model.npz)")
    t.add_argument("--adapter", action="store_true", help="fit the query adapter on the stand-alone questions "
                   "(leave-one-file-out recall@1 first) and save it (retrieval/adapter.py)")
    t.add_argument("--adapter-out", metavar="PATH", help="where to save the fitted adapter (default: the one the "
                   "chat loads, chatbot/data/query_adapter.npz)")
    t.add_argument("--memory", action="store_true", help="save the known questions (the stand-alone answerable "
                   "ones with a source) after leaving each file out in turn (retrieval/memory.py)")
    t.add_argument("--memory-out", metavar="PATH", help="where to save them (default: the one the chat loads, "
                   "chatbot/data/question_memory.npz)")
    t.add_argument("--memory-settings", metavar="W:FLOOR", nargs="+", help="weights and floors to print "
                   "left-out figures for (default: the policy's)")
    t.add_argument("--memory-exclude", metavar="FILE", nargs="+", help="question files kept held out: a known "
                   "question typed exactly as one of theirs is not saved (independent writers now and then coincide)")
    t.add_argument("--memory-followups", action="store_true", help="also keep each answerable follow-up, "
                   "joined with its last earlier message")
    t.add_argument("--left-out", action="store_true", help="judge policy variants leaving each file out, the "
                   "adapter and known questions refitted without it (chatbot/leftout.py); prints pooled figures")
    t.add_argument("--variant", metavar="FIELD=VALUE[,FIELD=VALUE]", action="append", default=[],
                   help="with --left-out: one policy variant (repeatable), e.g. translate_weight=0.1")
    t.set_defaults(func=cmd_tune)


def cmd_eval(args) -> int:
    from .. import evaluation
    from ..service import QA

    qa = QA(config_from(args))
    if args.policy:
        try:
            qa.policy = qa.policy.with_values(**dict(_field(v) for v in args.policy))
        except (TypeError, ValueError) as exc:
            raise SystemExit(f"chatbot eval: --policy: {exc}") from None
    items = evaluation.load_questions(args.file)
    if args.perturb:
        return _perturb(qa, items, args)
    outcomes = evaluation.run(qa, items)
    result = evaluation.report(outcomes)
    if args.details:
        result["misses"] = evaluation.misses(outcomes)
    if args.answers:
        with open(args.answers, "w", encoding="utf-8") as fh:
            for row in evaluation.answers(outcomes):
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    for key, value in result.items():
        if key not in ("by_type", "misses"):
            print(f"{key:>15}: {value}")
    print("by type:")
    for t, m in result["by_type"].items():
        print(f"  {t:<14} n={m['n']:<3} r@1={m['recall@1']} r@5={m['recall@5']} mrr={m['mrr']} "
              f"hit={m['answer_hit']} refusal={m['refusal_recall']} false_refusal={m['false_refusal']} "
              f"chars={m['answer_chars_median']} fact60={m['fact_in_first_60']}")
    for row in result.get("misses", []):
        print(f"- {row['id']} [{row['type']}] {row['query']}\n    {'; '.join(row['problems'])}\n"
              f"    top:  {row['top']}\n    gold: {row['gold']}\n    answer: {row['answer']}")
    return 0


def _perturb(qa, items: list[dict], args) -> int:
    from ..metamorphic import PERTURBATIONS, compare

    names = list(PERTURBATIONS) if args.perturb == "all" else [n.strip() for n in args.perturb.split(",") if n.strip()]
    try:
        result = compare(qa, items, names)
    except ValueError as exc:
        raise SystemExit(f"chatbot eval: --perturb: {exc}") from None
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    w = max([len("perturbation"), *map(len, result)])
    print(f"{'perturbation':<{w}} {'n':>4}  {'as written → perturbed: r@1, r@5, hit, refusal, false refusal':<70} changed")
    for name, row in result.items():
        if not row["n"]:
            print(f"{name:<{w}} {0:>4}  (changes no question here)")
            continue
        pairs = ", ".join(f"{_num(row['as_written'][k])}→{_num(row['perturbed'][k])}" for k in row["as_written"])
        print(f"{name:<{w}} {row['n']:>4}  {pairs:<70} {row['answers_changed']}")
    return 0


def _num(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def _field(text: str) -> tuple[str, object]:
    """FIELD=VALUE with VALUE read as JSON when it is JSON (0.5, false, ["a"]), else as a string."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise ValueError(f"expected FIELD=VALUE, got {text!r}")
    try:
        return name, json.loads(value)
    except ValueError:
        return name, value


def _finite(value):
    if isinstance(value, float) and math.isinf(value):
        return "inf"
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def cmd_tune(args) -> int:
    from .. import evaluation, tuning
    from ..service import QA

    items = []
    for path in args.file:
        name = path.rsplit("/", 1)[-1]
        items += [dict(it, file=name) for it in evaluation.load_questions(path)]
    if args.units:
        from pathlib import Path

        from ..retrieval.adapter import UNIT_METRIC_FILE
        from ..unitfit import tune_units

        out = Path(args.metric_out) if args.metric_out else UNIT_METRIC_FILE
        print(json.dumps(tune_units(QA(config_from(args)), items, folds=args.folds, metric_out=out),
                         ensure_ascii=False, indent=2))
        return 0
    if args.scope:
        from pathlib import Path

        from ..retrieval.scope import SCOPE_FILE
        from ..scopefit import tune_scope

        qa = QA(config_from(args))
        qa.policy = qa.policy.with_values(scope_learned=False)  # labels come from the word-list checks alone
        out = Path(args.scope_out) if args.scope_out else SCOPE_FILE
        print(json.dumps(tune_scope(qa, items, out), ensure_ascii=False, indent=2))
        return 0
    if args.adapter:
        from pathlib import Path

        from ..adapterfit import tune_adapter
        from ..retrieval.adapter import ADAPTER_FILE

        out = Path(args.adapter_out) if args.adapter_out else ADAPTER_FILE
        print(json.dumps(tune_adapter(QA(config_from(args)), items, out), ensure_ascii=False, indent=2))
        return 0
    if args.left_out:
        from ..leftout import left_out

        try:
            variants = {v: dict(_field(x) for x in v.split(",")) for v in args.variant}
            qa = QA(config_from(args))
            for values in variants.values():
                qa.policy.with_values(**values)
        except (TypeError, ValueError) as exc:
            raise SystemExit(f"chatbot tune: --variant: {exc}") from None
        print(json.dumps(_finite(left_out(qa, items, variants)), ensure_ascii=False, indent=2))
        return 0
    if args.memory:
        from pathlib import Path

        from ..memoryfit import tune_memory
        from ..retrieval.memory import MEMORY_FILE
        from ..textnorm import normalize

        out = Path(args.memory_out) if args.memory_out else MEMORY_FILE
        try:
            settings = [tuple(float(x) for x in s.split(":")) for s in args.memory_settings or ()]
            if any(len(s) != 2 for s in settings):
                raise ValueError
        except ValueError:
            raise SystemExit("chatbot tune: --memory-settings: expected WEIGHT:FLOOR, e.g. 0.8:0.5") from None
        exclude = {normalize(it["query"]) for f in args.memory_exclude or ()
                   for it in evaluation.load_questions(Path(f)) if not it.get("history")}
        print(json.dumps(tune_memory(QA(config_from(args)), items, out, settings or None, args.memory_followups,
                                     exclude), ensure_ascii=False, indent=2))
        return 0
    result = tuning.tune(QA(config_from(args)), items, folds=args.folds)
    if args.json:  # an infinite penalty (a hard rule) as the string "inf": JSON has no Infinity
        print(json.dumps(_finite(result), ensure_ascii=False, indent=2))
        return 0
    print(f"{result['folds']}-fold cross-validation, folds grouped by {result['grouping']}, {len(items)} questions")
    print("chosen per fold:", result["chosen_per_fold"])
    print("chosen on all:", result["chosen_on_all"])
    keys = ("recall@1", "recall@5", "mrr", "answer_hit", "answer_hit_given_top1", "refusal_recall", "false_refusal")
    print(f"{'slice':<22} {'n':>4}  " + "  ".join(f"{k[:14]:>14}" for k in keys) + "   (cv / in-sample)")
    for name, cv in result["cross_validated"].items():
        ins = result["in_sample"][name]

        def cell(k):
            a, b = cv.get(k), ins.get(k)
            return f"{'-' if a is None else f'{a:.3f}'}/{'-' if b is None else f'{b:.3f}'}".rjust(14)
        print(f"{name:<22} {cv['n']:>4}  " + "  ".join(cell(k) for k in keys))
    print("refusal curve at the chosen weight (threshold, dense floor: refusal_recall / false_refusal / answer_hit):")
    chosen = result["chosen_on_all"]
    for row in result["refusal_curve"]:  # the two axes through the chosen point
        if row["dense_floor"] != chosen["dense_floor"] and row["threshold"] != chosen["threshold"]:
            continue
        print(f"  {row['threshold']:.3f} {row['dense_floor']:.2f}: {row['refusal_recall']} / {row['false_refusal']} / {row['answer_hit']}")
    print("fact penalty (a passage lacking the asked kind of fact, e.g. a phone number; in-sample):")
    for row in result["penalties"]:
        print(f"  {row['fact_penalty']}: recall@1 {row['recall@1']} recall@5 {row['recall@5']} "
              f"answer_hit {row['answer_hit']} false_refusal {row['false_refusal']}")
    print("sentence choice, question↔sentence cosine weight (in-sample: answer_hit / given a right first passage):")
    for row in result["sentence_weight"]:
        print(f"  {row['sentence_dense_weight']:.1f}: {row['answer_hit']} / {row['answer_hit_given_top1']}")
    print("refusal checks (shipped on/off; first to fire on unanswerable / answerable; figures with it toggled):")
    for c in result["checks"]:
        state = "on " if c["on"] else "off"
        print(f"  {c['check']:<18} {state} {c['refuses_unanswerable']:>3} / {c['refuses_answerable']:<3} toggled: {c['toggled']}")
    return 0
