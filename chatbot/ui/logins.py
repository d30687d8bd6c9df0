"""Login throttling and login sessions, shared by the ASGI edge (POST /login) and the 资料库 guard.

Pure Python (no Gradio): `LoginThrottle` counts failed passwords per client address (a hard,
doubling lock) and per user name (slowed down, never locked: a correct password from another
address gets in after a short wait); `Sessions` gives login tokens a lifetime and a per-user cap,
so a flood of logins of one user ends only that user's oldest sessions.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable

TOO_MANY_LOGINS = ("登录失败次数过多，已锁定，请 {seconds} 秒后再试。"
                   "(too many failed logins: locked, try again in {seconds} s)")
USER_SLOWED = ("该用户名登录失败次数过多，请 {seconds} 秒后再试。"
               "(too many failed logins for this user name: try again in {seconds} s)")


class LoginThrottle:
    """Failed logins per address and per user name; successes are never counted.

    An address with `free` failures is locked for `base * 2**k` s after each further failure
    (k = 0, 1, …; at most `cap`): every attempt from it is refused meanwhile, whatever the user.
    A user name with `free` failures may be tried (from any address) only once per
    `min(user_cap, base * 2**k)` s: an attacker spread over many addresses is slowed down to that
    rate, while the right password from another address gets in after at most `user_cap` s.
    Failures are forgotten `forget` s after the last one; an address's on its successful login.
    The caller serialises attempts per address and per user (so parallel guesses are counted)."""

    def __init__(self, free: int = 5, base: float = 2.0, cap: float = 900.0, forget: float = 900.0,
                 user_cap: float = 10.0, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic):
        self.free, self.base, self.cap, self.forget, self.user_cap = free, base, cap, forget, user_cap
        self.max_keys, self.clock = max_keys, clock
        self._keys: OrderedDict[str, list[float]] = OrderedDict()  # key -> [failures, last failure]
        self._lock = threading.Lock()

    def _get(self, key: str, now: float) -> list[float]:
        entry = self._keys.get(key)
        if entry is None or now - entry[1] > max(self.forget, self._delay(entry[0], self.cap)):
            entry = [0, now]
        self._keys[key] = entry
        self._keys.move_to_end(key)
        while len(self._keys) > self.max_keys:
            self._keys.popitem(last=False)
        return entry

    def _delay(self, failures: float, cap: float) -> float:
        return 0.0 if failures < self.free else min(cap, self.base * 2 ** (failures - self.free))

    def check(self, address: str, user: str) -> tuple[float, str]:
        """(seconds to wait, "address" | "user") before this attempt may be checked; (0, "") when it may."""
        now = self.clock()
        with self._lock:
            a = self._get(f"ip:{address}", now)
            wait = a[1] + self._delay(a[0], self.cap) - now
            if wait > 0:
                return wait, "address"
            if user:
                u = self._get(f"user:{user}", now)
                wait = u[1] + self._delay(u[0], self.user_cap) - now
                if wait > 0:
                    return wait, "user"
        return 0.0, ""

    def failed(self, address: str, user: str) -> float:
        """Count a wrong password; the seconds the address is now locked for."""
        now = self.clock()
        with self._lock:
            a = self._get(f"ip:{address}", now)
            a[0], a[1] = a[0] + 1, now
            if user:
                u = self._get(f"user:{user}", now)
                u[0], u[1] = u[0] + 1, now
            return self._delay(a[0], self.cap)

    def succeeded(self, address: str) -> None:
        """A correct password: forget the address's failures (the user name's stay until forgotten)."""
        with self._lock:
            self._keys.pop(f"ip:{address}", None)

    def failures(self, key: str) -> int:
        with self._lock:
            entry = self._keys.get(key)
            return int(entry[0]) if entry else 0


class Sessions:
    """Login tokens with an end and a per-user cap.

    `issued(token, user)` when a login hands one out: it returns the tokens to revoke (that user's
    oldest beyond `per_user`; never another user's). `expired(token)` is True once a token is older
    than `seconds`, or was never issued here. `forget(token)` on logout."""

    def __init__(self, seconds: float, per_user: int = 5000, clock: Callable[[], float] = time.monotonic):
        self.seconds, self.per_user, self.clock = seconds, per_user, clock
        self._tokens: dict[str, tuple[str, float]] = {}
        self._by_user: dict[str, OrderedDict[str, None]] = {}
        self._lock = threading.Lock()

    def issued(self, token: str, user: str) -> list[str]:
        with self._lock:
            self._tokens[token] = (user, self.clock())
            mine = self._by_user.setdefault(user, OrderedDict())
            mine[token] = None
            dropped = []
            while len(mine) > self.per_user:
                old, _ = mine.popitem(last=False)
                self._tokens.pop(old, None)
                dropped.append(old)
            return dropped

    def expired(self, token: str) -> bool:
        with self._lock:
            entry = self._tokens.get(token)
            if entry is not None and self.clock() - entry[1] <= self.seconds:
                return False
        self.forget(token)
        return True

    def forget(self, token: str) -> None:
        with self._lock:
            entry = self._tokens.pop(token, None)
            if entry is not None:
                self._by_user.get(entry[0], {}).pop(token, None)

    def count(self, user: str) -> int:
        with self._lock:
            return len(self._by_user.get(user, ()))
