"""`chatbot loadtest` against a fake server: loopback only, bounded, successes and errors counted honestly."""

from __future__ import annotations

import pytest
from chatbot import loadtest


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:7860", "http://127.0.0.1:7860/", "http://127.4.5.6:80", "http://localhost:1234",
    "http://LOCALHOST:1234", "http://[::1]:8080", "http://[::ffff:127.0.0.1]:8080", "https://127.0.0.1",
])
def test_loopback_urls_are_accepted(url):
    base = loadtest.loopback_base(url)
    assert not base.endswith("/")


@pytest.mark.parametrize("url", [
    "http://example.com", "http://10.0.0.1:7860", "http://192.168.1.10", "http://0.0.0.0:7860",
    "http://127.0.0.1.nip.io:7860", "http://localhost.example.com", "http://user@8.8.8.8",
    "http://[::2]:80", "http://[2001:db8::1]", "ftp://127.0.0.1", "127.0.0.1:7860", "http://", "",
    "http://127.0.0.1:notaport",
])
def test_other_urls_are_refused(url):
    with pytest.raises(ValueError):
        loadtest.loopback_base(url)


def test_percentile_is_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert loadtest.percentile(values, 50) == 50.0
    assert loadtest.percentile(values, 95) == 95.0
    assert loadtest.percentile([7.0], 95) == 7.0
    assert loadtest.percentile([], 50) is None


def test_builtin_questions_include_hostile_input():
    qs = loadtest.QUESTIONS
    assert "" in qs and any(len(q) > 500 for q in qs) and any("<script>" in q for q in qs)
