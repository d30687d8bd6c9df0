"""`chatbot verify`: the sentence check measured on labelled claims (../shared/eval/claims-dev.jsonl).

Each line: question, source, title (the cited passage), sentence, supported, kind. The passage is
found in the loaded index by source + title (all its chunks, in order). Reported: the share of
supported sentences kept (`keep_rate_supported`), of unsupported ones dropped
(`drop_rate_unsupported`), overall and for each kind.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Iterable, Sequence

from ..errors import ChatbotError
from ..types import Passage
from .verifier import Check, Verifier


def load(path: str | Path) -> list[dict]:
    items = []
    with open(path, encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                raise ChatbotError(f"{path}:{n}: not JSON ({exc})") from exc
            missing = [k for k in ("source", "title", "sentence", "supported") if k not in item]
            if missing:
                raise ChatbotError(f"{path}:{n}: missing {', '.join(missing)}")
            items.append(item)
    return items


def passage_texts(passages: Iterable[Passage]) -> dict[tuple[str, str], str]:
    """(source, title) -> the text of all its chunks in order."""
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for p in passages:
        out[(p.source, p.title)].append(p.text)
    return {k: "\n".join(v) for k, v in out.items()}


def run(verifier: Verifier, items: Sequence[dict], texts: dict[tuple[str, str], str]) -> list[tuple[dict, Check | None]]:
    out = []
    for item in items:
        text = texts.get((item["source"], item["title"]))
        out.append((item, None if text is None else verifier.check(item["sentence"], text, item["title"])))
    return out


def _rate(xs: list[bool]) -> float | None:
    return round(sum(xs) / len(xs), 4) if xs else None


def report(results: Sequence[tuple[dict, Check | None]]) -> dict:
    """keep_rate_supported, drop_rate_unsupported, overall and by kind (a passage not found in the
    index counts as a failure of the check: a supported sentence not kept, an unsupported one kept)."""
    sup = [bool(c and c.supported) for it, c in results if it["supported"]]
    uns = [bool(c and not c.supported) for it, c in results if not it["supported"]]
    kinds: dict[str, list[bool]] = defaultdict(list)
    for it, c in results:
        ok = bool(c and c.supported) if it["supported"] else bool(c and not c.supported)
        kinds[it.get("kind") or ("supported" if it["supported"] else "unsupported")].append(ok)
    by_kind = {}
    for kind, oks in sorted(kinds.items()):
        supported_kind = next(it["supported"] for it, _ in results if (it.get("kind") or "") == kind) \
            if any((it.get("kind") or "") == kind for it, _ in results) else True
        by_kind[kind] = {"n": len(oks), ("keep_rate" if supported_kind else "drop_rate"): _rate(oks)}
    return {"n": len(results), "supported": len(sup), "unsupported": len(uns),
            "keep_rate_supported": _rate(sup), "drop_rate_unsupported": _rate(uns),
            "not_found": sum(1 for _, c in results if c is None), "by_kind": by_kind}


def misses(results: Sequence[tuple[dict, Check | None]]) -> list[dict]:
    out = []
    for it, c in results:
        ok = bool(c and c.supported) if it["supported"] else bool(c and not c.supported)
        if not ok:
            out.append({"id": it.get("id"), "kind": it.get("kind"), "sentence": it["sentence"],
                        "supported": it["supported"],
                        "check": c.to_dict() if c else {"reasons": ["passage not in the index"]}})
    return out
