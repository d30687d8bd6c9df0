"""Input hygiene and server-side limits for the web app: text cleaning, caps on messages and history,
and shape checks for session ids and message indexes (login throttling is in `chatbot.ui.logins`).

Pure Python (no Gradio import), so it is unit-tested fast and shared by the ASGI edge
(`chatbot.ui.edge`), the handlers and the feedback log.
"""

from __future__ import annotations

import re
from typing import Any

# What a client is told when the server will not take more work right now (queue full, too many
# requests of its own in flight). Chinese for the user, English for API clients and logs.
BUSY = "服务繁忙，请稍后再试。(busy: the server is handling too many questions; retry in a few seconds)"
TOO_LARGE = "请求太大，已拒绝。(request too large)"
TOO_LONG_CONVERSATION = "这次对话已经很长了，请点击“新对话”重新开始。"

# Characters no handler should ever see: C0/C1 controls except tab and newline, DEL, lone
# surrogates, bidirectional embedding/override/isolate controls (they reorder what a reader sees),
# the BOM and the two non-characters U+FFFE/U+FFFF.
_DROP = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f"
                   "\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff\ud800-\udfff]")
# Line breaks every reader agrees on: CR LF, CR, NEL, LINE SEPARATOR, PARAGRAPH SEPARATOR -> "\n".
_BREAKS = re.compile("\r\n?|[\x85\u2028\u2029]")

SESSION_ID = re.compile(r"[A-Za-z0-9_-]{6,64}")


def clean_text(text: str) -> str:
    """`text` without control characters or lone surrogates, line breaks as "\\n"."""
    return _DROP.sub("", _BREAKS.sub("\n", text))


def clean_json(value: Any, depth: int = 0) -> Any:
    """Every string in a decoded JSON value (keys too) cleaned; nesting beyond 64 levels is cut."""
    if isinstance(value, str):
        return clean_text(value)
    if depth > 64:
        return None
    if isinstance(value, list):
        return [clean_json(v, depth + 1) for v in value]
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v, depth + 1) for k, v in value.items()}
    return value


def cap_message(message: Any, limit: int) -> str:
    """A message as clean text of at most `limit` characters (anything not a string counts as empty)."""
    if not isinstance(message, str):
        return ""
    return clean_text(message[: limit * 2])[:limit].strip()


def cap_history(history: Any, turns: int, chars: int) -> list[str]:
    """The last `turns` earlier user messages, each clean and cut to `chars` characters.

    Anything that is not a list of strings is dropped item by item (a non-list is no history)."""
    if not isinstance(history, (list, tuple)):
        return []
    kept = [cap_message(h, chars) for h in list(history)[-turns:] if isinstance(h, str)] if turns > 0 else []
    return [h for h in kept if h]


def session_ok(session: Any) -> bool:
    """A session id of the fixed shape Gradio clients use (6-64 of A-Z a-z 0-9 _ -)."""
    return isinstance(session, str) and SESSION_ID.fullmatch(session) is not None


def message_index(value: Any) -> int | None:
    """A chat message index: a non-negative int (not a bool, not 1.0); a one-element list of one is
    unwrapped (Gradio's like data); anything else is None."""
    if isinstance(value, (list, tuple)) and len(value) >= 1:
        value = value[0]
    if type(value) is int and 0 <= value < 1_000_000:
        return value
    return None
