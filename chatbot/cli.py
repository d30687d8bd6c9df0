"""The `chatbot` command: build the index, ask a question, evaluate, benchmark, load-test."""

from __future__ import annotations

import argparse
import json
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is ever downloaded at run time
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from .config import Config  # noqa: E402
from .errors import ChatbotError  # noqa: E402


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--documents", metavar="DIR", help="folder of .txt/.md documents (env CHATBOT_DOCUMENTS)")
    p.add_argument("--embeddings", metavar="DIR", help="index folder (env CHATBOT_EMBEDDINGS)")
    p.add_argument("--model", help="sentence-transformers model name or path (default: use-multilingual-v3, offline)")
    p.add_argument("--store", choices=("faiss", "milvus"), help="index backend (default faiss; env CHATBOT_STORE)")
    p.add_argument("--milvus-uri", metavar="URI", help="Milvus Lite file (./embeddings/milvus.db) or server http://host:19530")
    p.add_argument("--milvus-token", metavar="TOKEN", help="Milvus server token (user:password or API key)")


def _lazy_arguments(module: str, p: argparse.ArgumentParser) -> None:
    """Let a command's own module define its flags (`add_arguments(parser)`), if it exists yet."""
    import importlib

    try:
        mod = importlib.import_module(f"chatbot.{module}")
    except ImportError:
        return
    mod.add_arguments(p)


def config_from(args) -> Config:
    return Config().with_overrides(documents_dir=args.documents, embeddings_dir=args.embeddings, model=args.model,
                                   store=getattr(args, "store", None), milvus_uri=getattr(args, "milvus_uri", None),
                                   milvus_token=getattr(args, "milvus_token", None))


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="chatbot", description="医保问答: cited answers from your documents")
    sub = ap.add_subparsers(dest="command", required=True)

    b = sub.add_parser("build", help="(re)build the embedding index from the documents folder")
    _common(b)
    b.add_argument("--if-missing", action="store_true", help="do nothing when an index already exists")
    b.add_argument("--quiet", action="store_true", help="no progress bar")

    a = sub.add_parser("ask", help="answer one question")
    _common(a)
    a.add_argument("question", help="the question; '-' reads it from standard input (for very long text)")
    a.add_argument("--json", action="store_true", help="print the answer as JSON")

    e = sub.add_parser("eval", help="retrieval and answer metrics on a JSONL question set")
    _common(e)
    e.add_argument("file")
    e.add_argument("--json", action="store_true")
    e.add_argument("--details", action="store_true", help="list every miss (query, what ranked first, the gold)")

    t = sub.add_parser("tune", help="choose keyword weight and refusal threshold by cross-validation")
    _common(t)
    t.add_argument("file")
    t.add_argument("--folds", type=int, default=5)
    t.add_argument("--json", action="store_true")

    bench_p = sub.add_parser("bench", help="measure speed and memory from the real corpus to 1M passages")
    _common(bench_p)
    _lazy_arguments("bench", bench_p)

    load_p = sub.add_parser("loadtest", help="drive a running web chat with concurrent users (loopback only)")
    _lazy_arguments("loadtest", load_p)

    s = sub.add_parser("serve", help="start the web chat (same as python app.py)")
    _common(s)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=7860)
    s.add_argument("--share", action="store_true")
    s.add_argument("--auth", metavar="USER:PASSWORD")
    s.add_argument("--feedback", metavar="DIR", help="folder for the 👍/👎 log feedback.jsonl (env CHATBOT_FEEDBACK)")
    return ap


def cmd_build(args) -> int:
    from .index import build, exists

    cfg = config_from(args)
    if args.if_missing and exists(cfg):
        print(f"index present in {cfg.embeddings_dir}; nothing to do")
        return 0
    report = build(cfg, progress=not args.quiet)
    print(report.summary())
    return 0


def cmd_ask(args) -> int:
    from .service import QA

    qa = QA(config_from(args))
    question = sys.stdin.read() if args.question == "-" else args.question
    answer = qa.ask(question)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        from .render import answer_as_text

        print(answer_as_text(answer))
    return 0


def cmd_eval(args) -> int:
    from . import evaluation
    from .service import QA

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
    from . import evaluation, tuning
    from .service import QA

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


def cmd_serve(args) -> int:
    from .webapp import serve

    config = config_from(args).with_overrides(feedback_dir=args.feedback)
    return serve(config, host=args.host, port=args.port, share=args.share, auth=args.auth)


def cmd_bench(args) -> int:
    from . import bench

    return bench.run(args, config_from(args))


def cmd_loadtest(args) -> int:
    from . import loadtest

    return loadtest.run(args)


COMMANDS = {"build": cmd_build, "ask": cmd_ask, "eval": cmd_eval, "tune": cmd_tune, "serve": cmd_serve,
            "bench": cmd_bench, "loadtest": cmd_loadtest}


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ChatbotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        if isinstance(exc, BrokenPipeError):  # `chatbot ask … | head`: the reader left, nothing to report
            _silence_stdout()
            return 0
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - one line for the user; details only on request
        if os.environ.get("CHATBOT_DEBUG"):
            raise
        print(f"error: unexpected {exc.__class__.__name__}: {exc} (set CHATBOT_DEBUG=1 for details)", file=sys.stderr)
        return 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot raise again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
