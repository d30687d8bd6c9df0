"""`chatbot ask`: answer one question."""

from __future__ import annotations

import json
import sys

from .common import add_common, add_llm, config_from


def register(sub) -> None:
    a = sub.add_parser("ask", help="answer one question")
    add_common(a)
    add_llm(a)  # issue 19
    a.add_argument("question", help="the question; '-' reads it from standard input (for very long text)")
    a.add_argument("--json", action="store_true", help="print the answer as JSON")
    a.add_argument("--history", metavar="FILE.json",
                   help="earlier messages of the conversation: a JSON list of strings, oldest first")
    a.set_defaults(func=cmd_ask)


def cmd_ask(args) -> int:
    from ..lexicon import use_on_disk
    from ..service import QA

    use_on_disk()  # one question: jieba looks its words up on disk instead of loading them all (issue 21)

    qa = QA(config_from(args))
    question = sys.stdin.read() if args.question == "-" else args.question
    answer = qa.ask(question, read_history(args.history) if args.history else None)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        from ..render import answer_as_text

        print(answer_as_text(answer))
    return 0


def read_history(path: str) -> list[str]:
    """Earlier user messages from a JSON file: a list of strings, oldest first."""
    from ..errors import ChatbotError

    try:
        with open(path, encoding="utf-8") as fh:
            items = json.load(fh)
    except ValueError as exc:
        raise ChatbotError(f"--history {path}: not JSON ({exc})") from exc
    if not isinstance(items, list) or not all(isinstance(x, str) for x in items):
        raise ChatbotError(f"--history {path}: expected a JSON list of strings (earlier messages, oldest first)")
    return items
