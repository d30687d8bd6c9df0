"""The `chatbot` command. Each command group lives in its own module of this package and adds
itself to the parser with `register(subparsers)`; heavy modules load only when a command runs."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing is ever downloaded at run time
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from ..errors import ChatbotError  # noqa: E402
from .common import add_common, config_from  # noqa: E402,F401 - re-exported for command modules

# Command modules, in the order their commands appear in `chatbot --help`.
MODULES = ("index", "docs", "ask", "chat", "quality", "verify", "serve", "perf")


def parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="chatbot", description="医保问答: cited answers from your documents")
    sub = ap.add_subparsers(dest="command", required=True)
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}").register(sub)
    return ap


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
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
