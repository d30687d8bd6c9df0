"""Reading untrusted files in a child process (`worker.py`) with CPU and memory limits.

The readers count what they unpack (limits.py), but a bomb of a kind they do not count can still
cost CPU time and memory; in the child it costs only the child's, up to `limits.cpu_s` CPU
seconds and `limits.memory_mb` MB, and ends in a refusal that names the limit. The server
process waits without holding the GIL, so the chat keeps answering meanwhile. Results come back
as JSON (never pickle: the child has just parsed hostile bytes).

    with Sandbox(limits) as box:
        parsed = box.read(raw, "guide.docx")   # Parsed, or DocumentError / LimitError
"""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from ..errors import DocumentError
from ..types import Document
from .limits import LimitError, Limits
from .readers.base import Parsed

_ROOT = str(Path(__file__).resolve().parents[2])   # where `chatbot` is imported from
_START_S = 60.0                                     # for the worker to load its libraries
# what the reader process inherits of the environment: not the server's passwords or tokens
_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "PYTHONIOENCODING", "VIRTUAL_ENV")
last_usage: dict = {}   # the last file read in any worker: its memory (growth_mb, peak_mb) and the worker's pid


class Sandbox:
    """One reader process, started at the first file, replaced after a file that hit a limit."""

    def __init__(self, limits: Limits | None = None):
        self.limits = limits or Limits.from_config()
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self.pid: int | None = None
        self.last_usage: dict = {}   # growth_mb: what the last file added to the worker's memory; peak_mb: its peak

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def read(self, raw: bytes, source: str) -> Parsed:
        """The file's documents, read in the child; DocumentError (LimitError for a limit) with the reason."""
        with self._lock:
            self._start()
            answer = self._ask(raw, source)
            self.last_usage = {k: answer.get(k) for k in ("growth_mb", "peak_mb")} | {"pid": self.pid}
            last_usage.clear()
            last_usage.update(self.last_usage)
            if answer.get("restart"):
                self.close()  # it came close to its memory limit: a fresh process for the next file
            if answer.get("ok"):
                docs = [Document(**d) for d in answer["documents"]]
                return Parsed(docs, answer["encoding"], answer.get("pages"))
            if answer.get("limit"):
                self.close()  # a fresh process for the next file: no heap left over from a bomb
                raise LimitError(answer["error"])
            raise DocumentError(answer["error"])

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            proc.wait()
        finally:
            proc.stdout.close()

    # ---- the child ------------------------------------------------------------------------

    def _start(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            return
        self.close()
        env = {k: os.environ[k] for k in _ENV if k in os.environ}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")]))
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "chatbot.ingest.worker", json.dumps(self.limits.to_dict())],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, cwd=_ROOT)
        ready = self._line(time.monotonic() + _START_S)
        if not ready or not json.loads(ready).get("ready"):
            self._kill()
            raise DocumentError("the document reader process did not start")
        self.pid = self._proc.pid

    def _ask(self, raw: bytes, source: str) -> dict:
        proc = self._proc
        try:
            proc.stdin.write(json.dumps({"source": source, "size": len(raw)}).encode() + b"\n")
            proc.stdin.write(raw)
            proc.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died: reported below from its exit status
        # the CPU limit ends the child; the wall clock only backs it up (the cores may be busy)
        deadline = time.monotonic() + 3 * self.limits.cpu_s + 30
        line = self._line(deadline)
        if line:
            return json.loads(line)
        timed_out = time.monotonic() >= deadline
        self._kill()
        return {"ok": False, "limit": True, "error": self._death(proc.returncode, timed_out)}

    def _death(self, code: int | None, timed_out: bool) -> str:
        cpu = self.limits.cpu_s
        if timed_out:
            return f"reading took too long (over {3 * cpu + 30} s; the CPU limit for one file is {cpu} s)"
        if code == -signal.SIGXCPU:
            return f"reading it takes over {cpu} s of CPU time (the limit for one file)"
        name = signal.Signals(-code).name if code and code < 0 else f"exit status {code}"
        return (f"the document reader stopped ({name}), e.g. on reaching the {self.limits.memory_mb} MB "
                f"memory limit for one file")

    def _line(self, deadline: float) -> bytes | None:
        """One line from the child, or None when it ends or the deadline passes."""
        fd = self._proc.stdout.fileno()
        buf = bytearray()
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                return None
            buf += chunk
        return bytes(buf)

    def _kill(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            proc.kill()
            proc.wait()
            for f in (proc.stdin, proc.stdout):
                try:
                    f.close()
                except OSError:
                    pass

