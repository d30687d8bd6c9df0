"""批量评测 (issue 20): a gold file run through `chatbot.evaluation` in the background, with progress,
the figures `chatbot eval` gives, the misses, and the previous run's figures to compare with."""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import evaluation

log = logging.getLogger(__name__)
MAX_ITEMS = 5000


def read_gold(path: Path) -> list[dict]:
    """The dev files' JSONL, or a CSV with columns query,evidence (several evidence strings split by |)."""
    path = Path(path)
    raw = path.read_bytes()[: 20 * 1024 * 1024].decode("utf-8-sig", errors="replace")
    if path.suffix.lower() == ".csv":
        items = []
        for n, row in enumerate(csv.DictReader(io.StringIO(raw)), 1):
            query = (row.get("query") or "").strip()
            if query:
                evidence = [e.strip() for e in (row.get("evidence") or "").split("|") if e.strip()]
                items.append({"id": row.get("id") or f"csv-{n}", "type": row.get("type") or "csv",
                              "query": query, "evidence": evidence, "history": []})
        return items[:MAX_ITEMS]
    items = []
    for n, line in enumerate(raw.splitlines(), 1):
        if line.strip():
            try:
                item = json.loads(line)
            except ValueError as exc:
                raise ValueError(f"第 {n} 行不是 JSON（{exc}）") from exc
            if not isinstance(item, dict) or not isinstance(item.get("query"), str):
                raise ValueError(f"第 {n} 行没有 query")
            items.append(item)
    return items[:MAX_ITEMS]


@dataclass
class Run:
    name: str = ""
    total: int = 0
    done: int = 0
    running: bool = False
    error: str | None = None
    report: dict | None = None
    misses: list = field(default_factory=list)
    previous: dict | None = None
    started: float = 0.0
    seconds: float = 0.0


class BatchEval:
    """One run at a time; the last finished report is kept in `folder/eval-runs.json` (for the comparison)."""

    def __init__(self, qa, folder: Path):
        self.qa, self.folder = qa, Path(folder)
        self.state = Run()
        self._lock = threading.Lock()

    @property
    def history_path(self) -> Path:
        return self.folder / "eval-runs.json"

    def last(self) -> dict | None:
        try:
            runs = json.loads(self.history_path.read_text(encoding="utf-8"))
            return runs[-1] if runs else None
        except (OSError, ValueError, IndexError, TypeError):
            return None

    def start(self, items: list[dict], name: str = "") -> bool:
        with self._lock:
            if self.state.running:
                return False
            self.state = Run(name=name, total=len(items), running=True, previous=self.last(), started=time.monotonic())
        threading.Thread(target=self._run, args=(items,), name="batch-eval", daemon=True).start()
        return True

    def _run(self, items: list[dict]) -> None:
        state = self.state
        try:
            outcomes = []
            for item in items:
                answer, retrieval = self.qa.ask_with_hits(item["query"], k=10, history=item.get("history") or None)
                outcomes.append(evaluation.outcome(item, answer, retrieval))
                state.done += 1
            state.report = evaluation.report(outcomes)
            state.misses = evaluation.misses(outcomes)
            state.seconds = round(time.monotonic() - state.started, 1)
            self._keep(state)
        except Exception as exc:  # noqa: BLE001 - shown in the tab
            log.exception("batch evaluation failed")
            state.error = str(exc)[:300]
        finally:
            state.running = False

    def _keep(self, state: Run) -> None:
        try:
            runs = json.loads(self.history_path.read_text(encoding="utf-8")) if self.history_path.exists() else []
        except (OSError, ValueError):
            runs = []
        runs = (runs if isinstance(runs, list) else [])[-19:]
        runs.append({"time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "name": state.name,
                     "report": state.report})
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self.history_path.write_text(json.dumps(runs, ensure_ascii=False), encoding="utf-8")
        except OSError:
            log.warning("could not keep the evaluation run in %s", self.history_path, exc_info=True)


FIGURES = ("n", "recall@1", "recall@3", "recall@5", "mrr", "answer_hit", "refusal_recall", "false_refusal",
           "answer_chars_median", "fact_in_first_60")


def figures_table(report: dict | None, previous: dict | None) -> list[list]:
    """[figure, this run, previous run, change] rows."""
    if not report:
        return []
    rows = []
    for key in FIGURES:
        now, before = report.get(key), (previous or {}).get(key)
        change = round(now - before, 4) if isinstance(now, (int, float)) and isinstance(before, (int, float)) else ""
        rows.append([key, "" if now is None else now, "" if before is None else before, change])
    return rows
