"""Input hygiene and server-side limits for the web app: text cleaning, caps on messages and history,
shape checks for session ids and message indexes, and login throttling.

Pure Python (no Gradio import), so it is unit-tested fast and shared by the ASGI edge
(`chatbot.ui.edge`), the handlers and the feedback log.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import OrderedDict
from typing import Any, Callable, Iterable

# What a client is told when the server will not take more work right now (queue full, too many
# requests of its own in flight). Chinese for the user, English for API clients and logs.
BUSY = "服务繁忙，请稍后再试。(busy: the server is handling too many questions; retry in a few seconds)"
TOO_LARGE = "请求太大，已拒绝。(request too large)"
TOO_MANY_LOGINS = "登录失败次数过多，请 {seconds} 秒后再试。(too many failed logins; retry in {seconds} s)"
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


class LoginThrottle:
    """Exponential lockout after repeated failed logins, per key (a client address, a user name).

    `free` failures in a row are allowed; each further one locks the key for `base * 2**k`
    seconds (k = 0, 1, 2 …, at most `cap`). A failure record is forgotten `forget` seconds after
    the last failure, or on a successful login. An attempt is charged as a failure when it starts
    (`attempt`) and refunded on success, so parallel guesses cannot slip past the count. At most
    `max_keys` keys are remembered (least recently used dropped)."""

    def __init__(self, free: int = 5, base: float = 2.0, cap: float = 900.0, forget: float = 900.0,
                 max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.free, self.base, self.cap, self.forget, self.max_keys = free, base, cap, forget, max_keys
        self.clock = clock
        self._keys: OrderedDict[str, list[float]] = OrderedDict()  # key -> [failures, last, locked_until]
        self._lock = threading.Lock()

    def _entry(self, key: str, now: float) -> list[float]:
        entry = self._keys.get(key)
        if entry is not None and now - entry[1] > self.forget and now >= entry[2]:
            entry = None
        if entry is None:
            entry = [0, now, 0.0]
        self._keys[key] = entry
        self._keys.move_to_end(key)
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)
        return entry

    def wait(self, keys: Iterable[str]) -> float:
        """Seconds until these keys may try again (0 when they may try now)."""
        now = self.clock()
        with self._lock:
            return max([max(0.0, self._entry(k, now)[2] - now) for k in keys] or [0.0])

    def attempt(self, keys: Iterable[str]) -> float:
        """Start a login attempt: 0 and the attempt is charged as a failure, or the seconds to wait
        (nothing charged) when any key is locked."""
        keys = list(keys)
        now = self.clock()
        with self._lock:
            entries = [self._entry(k, now) for k in keys]
            wait = max([e[2] - now for e in entries] + [0.0])
            if wait > 0:
                return math.ceil(wait)
            for e in entries:
                e[0] += 1
                e[1] = now
                if e[0] >= self.free:
                    e[2] = now + min(self.cap, self.base * 2 ** (e[0] - self.free))
            return 0.0

    def failures(self, key: str) -> int:
        with self._lock:
            entry = self._keys.get(key)
            return int(entry[0]) if entry else 0

    def succeeded(self, keys: Iterable[str]) -> None:
        """A correct password: forget these keys' failures."""
        with self._lock:
            for k in keys:
                self._keys.pop(k, None)

    def refund(self, keys: Iterable[str]) -> None:
        """The attempt was not a password check after all (no --auth, malformed form): uncharge it."""
        now = self.clock()
        with self._lock:
            for k in keys:
                entry = self._keys.get(k)
                if entry and entry[0] > 0:
                    entry[0] -= 1
                    entry[2] = (now + min(self.cap, self.base * 2 ** (entry[0] - self.free))
                                if entry[0] >= self.free else 0.0)


class TokenLifetimes:
    """Login tokens with an end: `issued(token)` when one is handed out, `expired(token)` when a
    request brings one (True once it is older than `seconds`, or never seen being issued)."""

    def __init__(self, seconds: float, max_tokens: int = 100_000, clock: Callable[[], float] = time.monotonic):
        self.seconds, self.max_tokens, self.clock = seconds, max_tokens, clock
        self._issued: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def issued(self, token: str) -> None:
        with self._lock:
            self._issued[token] = self.clock()
            while len(self._issued) > self.max_tokens:
                self._issued.popitem(last=False)

    def expired(self, token: str) -> bool:
        with self._lock:
            at = self._issued.get(token)
            if at is not None and self.clock() - at <= self.seconds:
                return False
            self._issued.pop(token, None)
            return True
