"""`chatbot serve`: the web chat (the same as `python app.py`)."""

from __future__ import annotations

from .common import add_common, config_from


def register(sub) -> None:
    s = sub.add_parser("serve", help="start the web chat (same as python app.py)")
    add_common(s)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=7860)
    s.add_argument("--share", action="store_true")
    s.add_argument("--auth", metavar="USER:PASSWORD")
    s.add_argument("--feedback", metavar="DIR", help="folder for the 👍/👎 log feedback.jsonl (env CHATBOT_FEEDBACK)")
    s.set_defaults(func=cmd_serve)


def cmd_serve(args) -> int:
    from ..ui.app import serve

    config = config_from(args).with_overrides(feedback_dir=args.feedback)
    return serve(config, host=args.host, port=args.port, share=args.share, auth=args.auth)
