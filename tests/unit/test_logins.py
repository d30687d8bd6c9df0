"""Login throttling and sessions (chatbot.ui.logins): per-address lock, per-user slow-down, per-user cap."""

from __future__ import annotations

from chatbot.ui.logins import LoginThrottle, Sessions


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_an_address_is_locked_hard_and_the_lock_doubles():
    clock = Clock()
    t = LoginThrottle(free=5, base=2.0, cap=60.0, user_cap=10.0, clock=clock)
    for i in range(5):
        assert t.check("10.0.0.1", f"u{i}") == (0.0, "")
        t.failed("10.0.0.1", f"u{i}")
    wait, why = t.check("10.0.0.1", "someone")
    assert why == "address" and 0 < wait <= 2
    clock.now += 2.1
    assert t.check("10.0.0.1", "x")[0] == 0 and t.failed("10.0.0.1", "x") == 4.0
    for _ in range(10):
        t.failed("10.0.0.1", "x")
    assert round(t.check("10.0.0.1", "x")[0]) == 60  # capped


def test_a_user_name_is_slowed_not_locked_and_successes_do_not_count():
    clock = Clock()
    t = LoginThrottle(free=5, base=2.0, user_cap=10.0, clock=clock)
    for i in range(50):  # many addresses guessing one user name
        t.failed(f"10.1.0.{i}", "boss")
    wait, why = t.check("10.2.0.1", "boss")  # the real admin from elsewhere: a short wait, not a lockout
    assert why == "user" and 0 < wait <= 10
    clock.now += 10.1
    assert t.check("10.2.0.1", "boss") == (0.0, "")
    for _ in range(100):
        t.succeeded("10.3.0.1")  # correct logins are never counted
    assert t.check("10.3.0.1", "me") == (0.0, "") and t.failures("ip:10.3.0.1") == 0


def test_failures_are_forgotten_and_keys_are_bounded():
    clock = Clock()
    t = LoginThrottle(free=5, base=2.0, forget=900.0, max_keys=100, clock=clock)
    for _ in range(5):
        t.failed("10.0.0.1", "u")
    clock.now += 901
    assert t.check("10.0.0.1", "u") == (0.0, "") and t.failures("ip:10.0.0.1") == 0
    for i in range(500):
        t.failed(f"10.9.{i // 250}.{i % 250}", "")
    assert len(t._keys) <= 100


def test_sessions_expire_and_a_login_flood_drops_only_that_users_oldest():
    clock = Clock()
    s = Sessions(3600, per_user=3, clock=clock)
    assert s.issued("admin1", "boss") == []
    dropped = [t for i in range(10) for t in s.issued(f"me{i}", "me")]
    assert dropped == [f"me{i}" for i in range(7)] and s.count("me") == 3
    assert not s.expired("admin1") and s.expired("me0") and s.expired("never-issued")
    clock.now += 3601
    assert s.expired("admin1")
