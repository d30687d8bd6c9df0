"""`chatbot docs [--json]`: what the index holds and what was skipped, with reasons."""

from __future__ import annotations

import json

from .common import add_common, config_from


def register(sub) -> None:
    s = sub.add_parser("docs", help="list the documents: indexed, skipped (with the reason), not yet indexed")
    add_common(s)
    s.add_argument("--json", action="store_true", help="one JSON object: {documents: [...]}")
    s.set_defaults(func=cmd_docs)


def cmd_docs(args) -> int:
    from ..library import inventory

    entries = inventory(config_from(args))
    if args.json:
        print(json.dumps({"documents": [e.to_dict() for e in entries]}, ensure_ascii=False, indent=2))
        return 0
    if not entries:
        print("no documents")
        return 0
    width = max(len(e.name) for e in entries)
    for e in entries:
        size = "-" if e.size is None else f"{e.size / 1024:.1f}K"
        counts = f"{e.passages if e.passages is not None else '-':>4} passages"
        pages = f"{e.pages} pages" if e.pages else ""
        status = e.status + (f": {e.reason}" if e.reason else "")
        print(f"{e.name:<{width}}  {e.type:<4} {size:>8}  {counts}  {pages:<9} {status}")
    indexed = sum(1 for e in entries if e.status == "indexed")
    skipped = sum(1 for e in entries if e.status.startswith("skipped"))
    print(f"{indexed} indexed, {skipped} skipped, {len(entries) - indexed - skipped} other")
    return 0
