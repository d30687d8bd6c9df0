"""The reader process: reads the files `sandbox.Sandbox` sends it, under CPU and memory limits.

Run as `python -m chatbot.ingest.worker LIMITS_JSON`. It loads the reader libraries, then caps its
address space at what it uses by then plus `limits.memory_mb` (RLIMIT_AS: an allocation past it
fails with MemoryError) and, for each file, its CPU time at `limits.cpu_s` more seconds
(RLIMIT_CPU: the kernel ends it with SIGXCPU). Each request on stdin is a JSON header line and
the file's bytes; each answer on stdout is one JSON line: the documents, or the reason.
"""

from __future__ import annotations

import json
import os
import resource
import sys
from dataclasses import asdict
from pathlib import Path

from ..errors import DocumentError
from .limits import MB, LimitError, Limits

_NEAR_CAP = 32 * MB   # a failure with the address space this close to the limit is the limit's


def _status(field: str) -> int:
    """A size from /proc/self/status in bytes (VmHWM, VmRSS, VmSize), 0 when unknown."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _preload() -> None:
    """Load what the readers use before the memory limit is set, so the limit is what a file adds."""
    import docx  # noqa: F401
    import lxml.etree  # noqa: F401
    import pdfplumber  # noqa: F401
    import selectolax.lexbor  # noqa: F401

    from . import documents  # noqa: F401  (charset detection)
    from .readers import _pdfbounds
    from .readers._text import normalize

    normalize("醫保")
    _pdfbounds.install()


def _memory(limits: Limits) -> str:
    return f"reading it needs over {limits.memory_mb} MB of memory (the limit for one file)"


def _answer(out, message: dict) -> None:
    out.write(json.dumps(message, ensure_ascii=False).encode() + b"\n")
    out.flush()


def _read_one(raw: bytes, source: str, limits: Limits, cap: int) -> dict:
    from .readers import read_bytes

    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = int(used.ru_utime + used.ru_stime) + limits.cpu_s + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, resource.RLIM_INFINITY))
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset VmHWM: the peak of this file alone
    except OSError:
        pass
    before = _status("VmRSS")
    try:
        parsed = read_bytes(raw, source, limits)
        result = {"ok": True, "documents": [asdict(d) for d in parsed.documents], "encoding": parsed.encoding,
                  "pages": parsed.pages}
    except LimitError as exc:
        result = {"ok": False, "limit": True, "error": str(exc)}
    except DocumentError as exc:
        result = {"ok": False, "limit": False, "error": str(exc)}
    except MemoryError:
        result = {"ok": False, "limit": True, "error": _memory(limits)}
    except RecursionError:
        result = {"ok": False, "limit": True, "error": "elements nested too deep to read (a document bomb?)"}
    except Exception as exc:  # noqa: BLE001 - a reader library failing on a strange file
        result = {"ok": False, "limit": False, "error": f"could not be read ({exc.__class__.__name__})"}
    # A C library out of memory often says something else ("XMLSyntaxError"): near the cap, the
    # failure is the memory limit's, and the process is replaced (VmPeak only ever grows).
    result["restart"] = bool(cap) and _status("VmPeak") >= cap - _NEAR_CAP
    if result["restart"] and not result["ok"] and not result["limit"]:
        result.update(limit=True, error=_memory(limits))
    peak = _status("VmHWM")
    result["growth_mb"], result["peak_mb"] = max(0, peak - before) / MB, peak / MB
    return result


def main() -> None:
    limits = Limits(**json.loads(sys.argv[1]))
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a library's stray print goes to stderr, not into the answers
    inp = sys.stdin.buffer
    _preload()
    base = _status("VmSize")
    cap = base + limits.memory_mb * MB if base else 0  # (no /proc: no memory limit)
    if cap:
        resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    _answer(out, {"ready": True, "pid": os.getpid()})
    while True:
        line = inp.readline()
        if not line:
            return
        head = json.loads(line)
        raw = inp.read(head["size"])
        _answer(out, _read_one(raw, head["source"], limits, cap))
        del raw


if __name__ == "__main__":
    main()
