"""`chatbot serve`: the web chat (the same as `python app.py`)."""

from __future__ import annotations

from .common import add_common, add_llm, config_from


def register(sub) -> None:
    s = sub.add_parser("serve", help="start the web chat (same as python app.py)")
    add_common(s)
    add_llm(s)  # issue 19
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=7860)
    s.add_argument("--share", action="store_true")
    s.add_argument("--auth", metavar="USER:PASSWORD")
    s.add_argument("--admin", metavar="USER:PASSWORD",
                   help="enable the 资料库 tab (upload, delete, rebuild) for this login (env CHATBOT_ADMIN)")
    s.add_argument("--feedback", metavar="DIR", help="folder of the question log questions.sqlite3, which holds the 👍/👎 (env CHATBOT_FEEDBACK)")
    # issue 20: the operator's console
    s.add_argument("--no-log", action="store_true",
                   help="do not keep the question log questions.sqlite3 (nor the 👍/👎: the chat shows no buttons; env CHATBOT_NO_LOG=1)")
    s.add_argument("--log-days", type=float, metavar="N",
                   help="delete logged questions older than N days (default 90; env CHATBOT_LOG_DAYS)")
    s.add_argument("--api-key", action="append", metavar="KEY",
                   help="turn on POST /v1/chat/completions (OpenAI-compatible) for this Bearer key (repeatable)")
    s.add_argument("--metrics-token", metavar="TOKEN",
                   help="GET /metrics needs Authorization: Bearer TOKEN (under --auth /metrics is off without it; "
                        "env CHATBOT_METRICS_TOKEN)")
    s.add_argument("--trusted-proxy", metavar="ADDR[,ADDR]",
                   help="believe X-Forwarded-For only from these proxy addresses (env CHATBOT_TRUSTED_PROXY; "
                        "default: from nobody)")
    s.set_defaults(func=cmd_serve)


def cmd_serve(args) -> int:
    import os
    import sys

    from ..ui.admin import parse_admin
    from ..ui.app import serve

    if args.admin:
        os.environ["CHATBOT_ADMIN"] = args.admin  # read by ui/admin.py (admin_spec)
    try:
        parse_admin(os.environ.get("CHATBOT_ADMIN"))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    config = config_from(args).with_overrides(feedback_dir=args.feedback, trusted_proxy=args.trusted_proxy,
                                              log_days=args.log_days, metrics_token=args.metrics_token,
                                              api_keys=tuple(k for k in args.api_key or () if k) or None,
                                              log_enabled=False if args.no_log else None)
    return serve(config, host=args.host, port=args.port, share=args.share, auth=args.auth)
