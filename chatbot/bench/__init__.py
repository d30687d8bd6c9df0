"""`chatbot bench`: what indexing and answering cost, from the real corpus to a million passages.

Per corpus size it measures build throughput, the query embedding alone and the whole answer
(normalise, embed, dense + keyword search, fusion, checks, answer composition) in the same run,
so their ratio is fair on a busy machine; the recall and speedup of the approximate index
against exact search; index bytes per passage; and process memory. Once: cold start (a fresh
process until its first answer) and the speedup of an incremental rebuild.

Sizes up to the real corpus mean the real corpus, built and answered through the same
`build`/`QA` objects as `chatbot build` and `chatbot ask`. Larger sizes are synthetic passages:
real titles and real sentences recombined. Embedding a million of them on two cores would take
hours, so their vectors are *derived* (a weighted sum of the real embeddings of their title and
sentences, plus noise whose size is calibrated on synthetic passages that are embedded for real),
and the parse, embed and tokenise share of their build time is extrapolated from those real
ones; the output says so. Everything else (BM25 and FAISS index construction, every query) runs
for real at full size.

The work is split by job: corpus.py (real material, synthetic passages, derived vectors),
measure.py (timings through `chatbot.stages`, recall, memory, cold start), scenarios.py (what is
built and timed, size by size), report.py (targets, table, plot). This module is the command.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

from ..config import PROJECT_ROOT, Config

DEFAULT_SIZES = "105,100000,1000000"


MAX_SIZE = 5_000_000


def add_arguments(p) -> None:
    p.add_argument("--sizes", default=DEFAULT_SIZES,
                   help="comma-separated corpus sizes in passages; a size up to the real corpus means the real "
                        f"corpus itself, larger ones are synthetic (default {DEFAULT_SIZES})")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--queries", type=int, default=100, metavar="N", help="timed questions per size (default 100)")
    p.add_argument("--plot", metavar="PATH", default=str(PROJECT_ROOT / "artifacts" / "bench.png"),
                   help="where to write the PNG plot (default artifacts/bench.png); '' for none")
    p.add_argument("--seed", type=int, default=0, help="seed for synthetic passages, noise and question order")
    p.add_argument("--questions", metavar="FILE",
                   help="questions to time (JSONL with a 'query' field, or one per line); default: the corpus's "
                        "own titles, variants of them and a few English/Traditional questions")
    p.add_argument("--embed-sample", type=int, default=2000, metavar="N",
                   help="synthetic passages embedded for real, to extrapolate build cost and calibrate derived "
                        "vectors (default 2000)")
    p.add_argument("--synthetic-files", type=int, default=20, metavar="N",
                   help="synthetic portal pages added to the real corpus for the incremental rebuild (default 20)")
    p.add_argument("--cold", action="store_true",
                   help="only the cold start, in whole processes: the bare model (load + embed one question) "
                        "against `chatbot ask --json` on the present index (built if missing), their ratio, and "
                        "`make run` to the first answer served")
    p.add_argument("--cold-question", default="衡水市医保电话是多少", metavar="TEXT",
                   help="the question of --cold (default 衡水市医保电话是多少)")
    p.add_argument("--no-make-run", action="store_true", help="--cold without the `make run` measurement")
    p.add_argument("--cold-runs", type=int, default=None, metavar="N",
                   help="cold starts to time; the median is kept (default 5 with --cold, else 1)")
    p.add_argument("--no-cold-start", action="store_true", help="skip the cold-start measurement")
    p.add_argument("--no-incremental", action="store_true", help="skip the incremental-rebuild measurement")
    p.add_argument("--workdir", metavar="DIR", help="scratch folder (default: a temporary folder, removed after)")
    p.add_argument("--out", metavar="FILE", help="also write the JSON results to FILE")


def parse_sizes(text: str) -> list[int]:
    try:
        sizes = sorted({int(s.replace("_", "").strip()) for s in text.split(",") if s.strip()})
    except ValueError:
        raise ValueError(f"--sizes wants comma-separated integers, got {text!r}") from None
    if not sizes or sizes[0] < 1 or sizes[-1] > MAX_SIZE:
        raise ValueError(f"--sizes must be between 1 and {MAX_SIZE:,}")
    return sizes


def run(args, config: Config) -> int:
    if args.cold_runs is None:
        args.cold_runs = 5 if args.cold else 1
    if args.cold:
        return run_cold(args, config)
    from ..embedder import Embedder
    from .report import as_text, plot, targets
    from .scenarios import collect

    try:
        sizes = parse_sizes(args.sizes)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.queries < 1:
        print("error: --queries must be at least 1", file=sys.stderr)
        return 2
    if (config.store or "faiss") == "milvus":   # never touch the served index's collections
        config = config.with_overrides(milvus_collection=config.milvus_collection + "_bench")
    own_work = args.workdir is None
    work = Path(tempfile.mkdtemp(prefix="chatbot-bench-")) if own_work else Path(args.workdir)
    work.mkdir(parents=True, exist_ok=True)
    try:
        result = collect(args, config, sizes, work, Embedder(config.model))
    finally:
        if own_work:
            shutil.rmtree(work, ignore_errors=True)
    if args.plot:
        plot(result, Path(args.plot))
        result["plot"] = str(args.plot)
    result["targets"] = targets(result)
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text if args.json else as_text(result))
    return 0


def run_cold(args, config: Config) -> int:
    """`chatbot bench --cold` (issue 21): whole processes only; see chatbot/bench/cold.py."""
    import subprocess

    from ..store import open_store
    from . import cold

    if not open_store(config).exists():
        print(f"no index in {config.embeddings_dir}: building it first", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "chatbot.cli", "build", "--quiet", "--documents",
                        str(config.documents_dir), "--embeddings", str(config.embeddings_dir), "--model", config.model],
                       check=True)
    result = {"what": "cold start, whole processes", **cold.bare_vs_ask(config, args.cold_question, args.cold_runs)}
    if not args.no_make_run:
        try:
            result.update(cold.make_run_first_answer(config, args.cold_question))
        except Exception as exc:  # noqa: BLE001 - reported, the other figures stand
            result["make_run_error"] = f"{exc.__class__.__name__}: {exc}"[:300]
    result["targets"] = [{"target": "cold start: chatbot ask ≤ 2 × the bare model", "value": result["cold_ask_over_bare"],
                          "ok": result["cold_ask_over_bare"] <= 2}]
    text = json.dumps(result, ensure_ascii=False, indent=2)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    print(text if args.json else cold.as_text(result))
    return 0
