"""`chatbot loadtest`: many simulated users asking a running web chat at once, through its HTTP API.

Each user is a thread with its own HTTP connection. A question is one round trip of the Gradio
JSON API: POST /gradio_api/call/ask {"data": [question]} → {"event_id"}, then GET
/gradio_api/call/ask/<event_id>, a server-sent-event stream that ends with `event: complete`
and the answer (a success) or `event: error` (an error). Latency is measured over the whole
round trip, as a user would feel it.

It is a tool for checking your own server, not for hammering someone else's: it only talks to
loopback addresses (127.0.0.0/8, ::1, localhost), ignores proxy settings, and is bounded in users,
total questions and total time.

A server that will not take more work answers "busy" (HTTP 429/503 with a message): those are
counted as errors and also reported as `busy`. With `--probe`, one more user asks a normal
question every `--probe-every` seconds while the load runs, from another loopback address
(127.0.0.2, so the server's per-client limit treats it as someone else), and its latency is
reported under `probe`: what a normal user feels while the server is loaded.
"""

from __future__ import annotations

import ipaddress
import json
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # httpx loads only when a load test runs, not with every `chatbot` command
    import httpx

MAX_USERS = 200
MAX_REQUESTS = 10_000
MAX_SECONDS = 3600.0
PER_REQUEST_SECONDS = 60.0   # one question may take at most this long (within the overall limit)
PROBE_QUESTION = "衡水市医保电话是多少"
PROBE_ADDRESS = "127.0.0.2"  # another loopback address: another client for the server

# A mix of what real users send: answerable questions in several styles, questions the documents
# do not answer, and hostile input. Every one must come back as an answer or a refusal.
QUESTIONS = [
    "衡水市医保电话是多少",
    "衡水高新区那边的医保局店话是多少",
    "What is the official medical insurance hotline number for Hengshui City?",
    "河北省12月出生的新生儿要交两年医保吗？",
    "医保卡丢了怎么挂失补办？",
    "个人医保缴费标准是多少",
    "醫保個人賬戶可以給家人用嗎",
    "异地就医怎么报销",
    "家庭共济怎么开通",
    "华为WATCH D2能用医保个人账户买吗？",
    "灵活就业人员怎么交医保",
    "廊坊医保电话",
    "北京市朝阳区医保电话是多少",
    "养老保险每年交多少钱",
    "今天天气怎么样",
    "",
    "？？？！！！",
    "😀😀😀",
    "<script>alert('x')</script>医保",
    "'; DROP TABLE passages; --",
    "医保 insurance 의료보험 страховка 保険",
    "医保报销" * 300,
]


def add_arguments(p) -> None:
    """The `chatbot loadtest` flags."""
    p.add_argument("--url", default="http://127.0.0.1:7860",
                   help="address of the running web chat (loopback only; default http://127.0.0.1:7860)")
    p.add_argument("--users", type=int, default=10, help=f"concurrent users, 1..{MAX_USERS} (default 10)")
    p.add_argument("--requests", type=int, default=100,
                   help=f"questions in total, shared among the users, 1..{MAX_REQUESTS} (default 100)")
    p.add_argument("--timeout", type=float, default=300.0,
                   help=f"time limit for the whole run in seconds, at most {MAX_SECONDS:.0f} (default 300); "
                        f"questions not answered by then count as errors")
    p.add_argument("--questions", metavar="FILE",
                   help="questions to send, one per line, or JSONL with a 'query' field (default: a built-in mix)")
    p.add_argument("--probe", action="store_true",
                   help=f"while the load runs, ask {PROBE_QUESTION!r} as another user (from {PROBE_ADDRESS}) "
                        f"and report its latency")
    p.add_argument("--probe-every", type=float, default=1.0, help="seconds between probe questions (default 1)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")


def loopback_base(url: str) -> str:
    """The URL without trailing slash, if it points at this machine; ValueError (with the reason) if not."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise ValueError(f"loadtest needs an http:// or https:// URL, not {url!r}")
    try:
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as exc:
        raise ValueError(f"malformed URL {url!r} ({exc})") from None
    if not host:
        raise ValueError(f"the URL {url!r} names no host")
    if not _is_loopback(host):
        raise ValueError(f"refusing to load-test {host}: loadtest only drives a server on this machine "
                         f"(127.0.0.0/8, ::1 or localhost)")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # any other name could resolve anywhere
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def load_questions(path: str | None) -> list[str]:
    """Questions from a file (plain lines, or JSONL with "query"), or the built-in mix."""
    if not path:
        return list(QUESTIONS)
    out = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        if line.lstrip().startswith("{"):
            row = json.loads(line)
            out.append(str(row.get("query") or row.get("question") or ""))
        else:
            out.append(line)
    if not out:
        raise ValueError(f"no questions in {path}")
    return out


@dataclass(frozen=True)
class Outcome:
    ok: bool
    ms: float
    error: str | None = None
    refused: bool | None = None
    busy: bool = False


def ask_once(client: httpx.Client, base: str, question: str, deadline: float) -> Outcome:
    """One question, one full round trip through the API; never raises."""
    import httpx

    started = time.monotonic()
    remaining = deadline - started
    if remaining <= 0:
        return Outcome(False, 0.0, "not sent: the run's time limit was reached")
    limit = min(PER_REQUEST_SECONDS, remaining)
    ends = started + limit

    def elapsed() -> float:
        return (time.monotonic() - started) * 1000

    try:
        r = client.post(f"{base}/gradio_api/call/ask", json={"data": [question]}, timeout=limit)
        if r.status_code in (429, 503) and "busy" in r.text:
            return Outcome(False, elapsed(), f"busy (HTTP {r.status_code})", busy=True)
        if r.status_code != 200:
            hint = " (the app wants a login: loadtest cannot use --auth)" if r.status_code in (401, 403) else ""
            return Outcome(False, elapsed(), f"POST HTTP {r.status_code}{hint}")
        body = r.json()
        event_id = body.get("event_id") if isinstance(body, dict) else None
        if not event_id:
            return Outcome(False, elapsed(), "POST answer has no event_id")
        event = None
        with client.stream("GET", f"{base}/gradio_api/call/ask/{event_id}",
                           timeout=max(0.1, ends - time.monotonic())) as resp:
            if resp.status_code != 200:
                return Outcome(False, elapsed(), f"GET HTTP {resp.status_code}")
            for line in resp.iter_lines():
                if time.monotonic() > ends:
                    return Outcome(False, elapsed(), "timed out waiting for the answer")
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event in ("complete", "error"):
                    return _final(event, line[5:].strip(), elapsed())
        return Outcome(False, elapsed(), "the stream ended without a result")
    except httpx.TimeoutException:
        return Outcome(False, elapsed(), "timed out waiting for the answer")
    except httpx.HTTPError as exc:
        return Outcome(False, elapsed(), f"{exc.__class__.__name__}: {exc}"[:200])
    except ValueError as exc:  # a body that is not the JSON the API promises
        return Outcome(False, elapsed(), f"malformed response: {exc}"[:200])
    except Exception as exc:  # noqa: BLE001 - one odd response must not end a user's thread
        return Outcome(False, elapsed(), f"{exc.__class__.__name__}: {exc}"[:200])


def _final(event: str, data: str, ms: float) -> Outcome:
    if event == "error":
        return Outcome(False, ms, f"event: error {data}"[:200])
    payload = json.loads(data)
    answer = payload[0] if isinstance(payload, list) and payload else None
    if not isinstance(answer, dict) or not isinstance(answer.get("answer"), str) or not answer["answer"].strip():
        return Outcome(False, ms, f"complete without an answer: {data[:120]}")
    return Outcome(True, ms, refused=bool(answer.get("refused")))


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil
    return ordered[int(rank) - 1]


def _probe_client(base: str) -> tuple[httpx.Client, str]:
    """A client bound to another loopback address when the server is on IPv4 loopback; else a plain one."""
    import httpx

    host = urlsplit(base).hostname or ""
    if host == "localhost" or host.startswith("127."):
        client = httpx.Client(trust_env=False, transport=httpx.HTTPTransport(local_address=PROBE_ADDRESS))
        try:
            client.get(f"{base}/gradio_api/info", timeout=10)
            return client, PROBE_ADDRESS
        except httpx.HTTPError:
            client.close()
    return httpx.Client(trust_env=False), "the users' address"


def _probe(base: str, deadline: float, every: float, stop: threading.Event, out: list, where: list) -> None:
    client, address = _probe_client(base)
    where.append(address)
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            out.append(ask_once(client, base, PROBE_QUESTION, deadline))
            stop.wait(max(0.05, every))
    finally:
        client.close()


def _ms(v):
    return None if v is None else round(v, 1)


def _probe_report(outcomes: list[Outcome], address: str) -> dict:
    answered = [o.ms for o in outcomes if o.ok]
    return {"question": PROBE_QUESTION, "address": address, "asked": len(outcomes), "answered": len(answered),
            "busy": sum(1 for o in outcomes if o.busy),
            "errors": dict(Counter(o.error for o in outcomes if not o.ok and not o.busy)),
            "p50_ms": _ms(percentile(answered, 50)), "max_ms": _ms(max(answered) if answered else None)}


def run_load(base: str, users: int, requests: int, seconds: float, questions: list[str],
             probe: bool = False, probe_every: float = 1.0) -> dict:
    """Drive the server with `users` threads until `requests` questions are done or time runs out
    (and, with `probe`, ask a normal question as another user meanwhile)."""
    started = time.monotonic()
    deadline = started + seconds
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    issued = 0

    def take() -> int | None:
        nonlocal issued
        with lock:
            if issued >= requests:
                return None
            issued += 1
            return issued - 1

    def user() -> None:
        import httpx

        with httpx.Client(trust_env=False) as client:  # no proxy may carry loopback traffic elsewhere
            while time.monotonic() < deadline and (i := take()) is not None:
                outcome = ask_once(client, base, questions[i % len(questions)], deadline)
                with lock:
                    outcomes.append(outcome)

    stop = threading.Event()
    probes: list[Outcome] = []
    where: list[str] = []
    prober = threading.Thread(target=_probe, args=(base, deadline, probe_every, stop, probes, where),
                              name="probe", daemon=True) if probe else None
    threads = [threading.Thread(target=user, name=f"user-{n}", daemon=True) for n in range(users)]
    for t in threads:
        t.start()
    if prober:
        prober.start()
    hard_end = deadline + 5.0  # each request's own timeout ends at the deadline; a little grace
    for t in threads:
        t.join(max(0.0, hard_end - time.monotonic()))
    stop.set()
    if prober:
        prober.join(max(0.0, hard_end - time.monotonic()) + PER_REQUEST_SECONDS)
    elapsed = time.monotonic() - started
    with lock:
        done = list(outcomes)
        issued_now = issued
    not_done = requests - len(done)
    latencies = [o.ms for o in done if o.ok]
    errors = Counter(o.error for o in done if not o.ok)
    if not_done:
        errors["not sent or not finished within the time limit"] += not_done
    successes = len(latencies)

    report = {
        "url": base,
        "users": users,
        "requests": requests,
        "sent": issued_now,
        "successes": successes,
        "errors": requests - successes,
        "busy": sum(1 for o in done if o.busy),
        "refused": sum(1 for o in done if o.ok and o.refused),
        "p50_ms": _ms(percentile(latencies, 50)),
        "p95_ms": _ms(percentile(latencies, 95)),
        "max_ms": _ms(max(latencies) if latencies else None),
        "mean_ms": _ms(sum(latencies) / len(latencies) if latencies else None),
        "elapsed_s": round(elapsed, 2),
        "throughput_per_s": round(successes / elapsed, 2) if elapsed > 0 else None,
        "error_kinds": dict(errors.most_common(10)),
    }
    if probe:
        report["probe"] = _probe_report(list(probes), where[0] if where else "")
    return report


def _preflight(base: str) -> str | None:
    """A reason the server cannot be tested at all (nothing listening, not this app), or None."""
    import httpx

    try:
        with httpx.Client(trust_env=False, timeout=10) as client:
            r = client.get(f"{base}/gradio_api/info")
    except httpx.HTTPError as exc:
        return f"no web chat answers at {base} ({exc.__class__.__name__}); start it with `python app.py` or `chatbot serve`"
    if r.status_code in (401, 403):
        return f"{base} wants a login (started with --auth); loadtest can only drive an app without --auth"
    if r.status_code != 200:
        return f"{base}/gradio_api/info answered HTTP {r.status_code}; is this the 医保问答 web chat?"
    try:
        endpoints = r.json().get("named_endpoints", {})
    except ValueError:
        return f"{base} does not look like a Gradio app (no API description)"
    if "/ask" not in endpoints:
        return f"{base} has no /ask API endpoint; is this the 医保问答 web chat?"
    return None


def _check_bounds(args) -> str | None:
    if not 1 <= args.users <= MAX_USERS:
        return f"--users must be between 1 and {MAX_USERS}"
    if not 1 <= args.requests <= MAX_REQUESTS:
        return f"--requests must be between 1 and {MAX_REQUESTS}"
    if not 0 < args.timeout <= MAX_SECONDS:
        return f"--timeout must be more than 0 and at most {MAX_SECONDS:.0f} seconds"
    return None


def run(args) -> int:
    """`chatbot loadtest`: 0 when every question got an answer, 1 when some failed, 2 when it could not run."""
    try:
        base = loopback_base(args.url)
        questions = load_questions(getattr(args, "questions", None))
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    problem = _check_bounds(args) or _preflight(base)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    report = run_load(base, args.users, args.requests, args.timeout, questions,
                      probe=getattr(args, "probe", False), probe_every=getattr(args, "probe_every", 1.0))
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(f"{report['requests']} questions from {report['users']} users against {report['url']} "
              f"in {report['elapsed_s']} s")
        print(f"  successes {report['successes']} ({report['refused']} of them refusals), errors {report['errors']}"
              f" ({report['busy']} of them 'busy')")
        print(f"  latency p50 {report['p50_ms']} ms, p95 {report['p95_ms']} ms, max {report['max_ms']} ms; "
              f"{report['throughput_per_s']} answers/s")
        for kind, n in report["error_kinds"].items():
            print(f"  error ×{n}: {kind}")
        if "probe" in report:
            p = report["probe"]
            print(f"  probe ({p['question']} from {p['address']}): answered {p['answered']} of {p['asked']}, "
                  f"busy {p['busy']}, latency p50 {p['p50_ms']} ms, max {p['max_ms']} ms")
    return 0 if report["errors"] == 0 else 1
