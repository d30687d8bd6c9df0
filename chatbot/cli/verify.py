"""`chatbot verify`: measure the generated-sentence check on labelled claims (issue 19)."""

from __future__ import annotations

import json

from .common import add_common, config_from


def register(sub) -> None:
    v = sub.add_parser("verify", help="measure the LLM sentence check on labelled claims (JSONL)")
    add_common(v)
    v.add_argument("file", help="claims: question, source, title, sentence, supported, kind (one JSON a line)")
    v.add_argument("--json", action="store_true")
    v.add_argument("--details", action="store_true", help="list every sentence the check got wrong, with why")
    v.set_defaults(func=cmd_verify)


def cmd_verify(args) -> int:
    from ..generation import claims
    from ..generation.verifier import Verifier
    from ..service import QA

    items = claims.load(args.file)
    qa = QA(config_from(args))
    retriever = qa.retriever
    verifier = Verifier(retriever.sentence_similarity)
    results = claims.run(verifier, items, claims.passage_texts(retriever.index.passages))
    result = claims.report(results)
    if args.details:
        result["misses"] = claims.misses(results)
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
        return 0
    print(f"claims: {result['n']} ({result['supported']} supported, {result['unsupported']} unsupported)"
          + (f", {result['not_found']} cite a passage not in the index" if result["not_found"] else ""))
    print(f"keep_rate_supported:   {result['keep_rate_supported']}")
    print(f"drop_rate_unsupported: {result['drop_rate_unsupported']}")
    print("by kind:")
    for kind, m in result["by_kind"].items():
        name, value = next((k, v) for k, v in m.items() if k != "n")
        print(f"  {kind:<20} n={m['n']:<3} {name}={value}")
    for row in result.get("misses", []):
        label = "supported, dropped" if row["supported"] else "unsupported, kept"
        print(f"- {row['id']} [{row['kind']}; {label}] {row['sentence']}\n    {'; '.join(row['check']['reasons']) or '—'}")
    return 0
