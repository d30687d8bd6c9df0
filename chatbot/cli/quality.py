"""`chatbot eval` and `chatbot tune`: answer quality on question sets with gold evidence."""

from __future__ import annotations

import json

from .common import add_common, config_from


def register(sub) -> None:
    e = sub.add_parser("eval", help="retrieval and answer metrics on a JSONL question set")
    add_common(e)
    e.add_argument("file")
    e.add_argument("--json", action="store_true")
    e.add_argument("--details", action="store_true", help="list every miss (query, what ranked first, the gold)")
    e.set_defaults(func=cmd_eval)

    t = sub.add_parser("tune", help="choose keyword weight and refusal threshold by cross-validation")
    add_common(t)
    t.add_argument("file")
    t.add_argument("--folds", type=int, default=5)
    t.add_argument("--json", action="store_true")
    t.set_defaults(func=cmd_tune)


def cmd_eval(args) -> int:
    from .. import evaluation
    from ..service import QA

    qa = QA(config_from(args))
    items = evaluation.load_questions(args.file)
    outcomes = evaluation.run(qa, items)
    result = evaluation.report(outcomes)
    if args.details:
        result["misses"] = evaluation.misses(outcomes)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    for key, value in result.items():
        if key not in ("by_type", "misses"):
            print(f"{key:>15}: {value}")
    print("by type:")
    for t, m in result["by_type"].items():
        print(f"  {t:<14} n={m['n']:<3} r@1={m['recall@1']} r@5={m['recall@5']} mrr={m['mrr']} "
              f"hit={m['answer_hit']} refusal={m['refusal_recall']} false_refusal={m['false_refusal']}")
    for row in result.get("misses", []):
        print(f"- {row['id']} [{row['type']}] {row['query']}\n    {'; '.join(row['problems'])}\n"
              f"    top:  {row['top']}\n    gold: {row['gold']}\n    answer: {row['answer']}")
    return 0


def cmd_tune(args) -> int:
    from .. import evaluation, tuning
    from ..service import QA

    result = tuning.tune(QA(config_from(args)), evaluation.load_questions(args.file), folds=args.folds)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(f"{result['folds']}-fold cross-validation; parameters chosen per fold: {result['chosen_per_fold']}")
    print("cross-validated (held-out folds):", json.dumps(result["cross_validated"]))
    print("chosen on all:", result["chosen_on_all"], "→ on all (optimistic):", json.dumps(result["all_with_chosen"]))
    print("refusal trade-off at the chosen weight (threshold: refusal_recall / false_refusal):")
    for row in result["refusal_curve"]:
        print(f"  {row['threshold']:.3f}: {row['refusal_recall']} / {row['false_refusal']}")
    print("dense floor trade-off (floor: refusal_recall / false_refusal):")
    for row in result["dense_floor_curve"]:
        print(f"  {row['dense_floor']:.2f}: {row['refusal_recall']} / {row['false_refusal']}")
    return 0
