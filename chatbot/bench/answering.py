"""Answering memory measured honestly: a fresh process that loads a saved index folder the way
the product does (`QA` → `open_store` → the files store: passages read by position, BM25
memory-mapped, the dense index read from disk), answers the bench's questions, and reports its
own peak and current RSS and its latency. The bench process itself built the index, so its RSS
keeps memory the build freed but did not return to the system; that figure is not the answering
cost (issue 21).

Run as `python -m chatbot.bench.answering EMBEDDINGS_DIR MODEL QUESTIONS_JSON [EMBEDDER_CLASS]`:
QUESTIONS_JSON holds {"questions": [...], "warmup": [...]}; one JSON line goes to stdout. The
model loads as `QA` loads it, unless EMBEDDER_CLASS ("module:Class", built with no arguments)
names the embedder the bench itself used when that is not `chatbot.embedder.Embedder` (the
tests' fake model).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from ..config import PROJECT_ROOT, Config


def _status_mb(field: str) -> float | None:
    """A memory line of /proc/self/status (kB) in MB; None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return None


def current_rss_mb() -> float | None:
    return _status_mb("VmRSS")


def own_peak_rss_mb() -> float | None:
    """This process's own peak RSS (VmHWM). Not getrusage's ru_maxrss: on Linux that is carried
    over fork from the parent, so a child of the bench reports the bench's build peak there."""
    return _status_mb("VmHWM")


def save_synthetic_folder(embeddings_dir: Path, folder: Path, manifest: dict) -> None:
    """Make `folder` (passages.jsonl, dense.faiss, bm25/ already written) the current index of
    `embeddings_dir`, with a manifest the files store accepts, so `load_index` opens it."""
    (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
    link = embeddings_dir / "current"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(folder.name)


def embedder_class(embedder) -> str | None:
    """"module:Class" of an embedder other than the product's, for the child to build; else None."""
    cls = type(embedder)
    if (cls.__module__, cls.__qualname__) == ("chatbot.embedder", "Embedder"):
        return None
    return f"{cls.__module__}:{cls.__qualname__}"


def measure_in_child(embeddings_dir: Path, model: str, questions: list[str], warmup: list[str],
                     embedder_cls: str | None = None, timeout: float = 3600) -> dict:
    """Run the answering probe in a fresh interpreter (same Python); its JSON result."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONUNBUFFERED="1", TOKENIZERS_PARALLELISM="false")
    with tempfile.TemporaryDirectory() as tmp:
        qfile = Path(tmp) / "questions.json"
        qfile.write_text(json.dumps({"questions": questions, "warmup": warmup}, ensure_ascii=False), encoding="utf-8")
        cmd = [sys.executable, "-m", "chatbot.bench.answering", str(embeddings_dir), model, str(qfile)]
        if embedder_cls:
            cmd.append(embedder_cls)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(PROJECT_ROOT), timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"answering process failed ({proc.returncode}): {proc.stderr[-800:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    from ..service import QA
    from .measure import peak_rss_mb, point_from_timings, time_questions

    embeddings_dir, model, qfile = Path(argv[0]), argv[1], Path(argv[2])
    spec = json.loads(qfile.read_text(encoding="utf-8"))
    cfg = Config().with_overrides(embeddings_dir=embeddings_dir, model=model)
    embedder = None
    if len(argv) > 3:
        import importlib

        module, name = argv[3].split(":")
        embedder = getattr(importlib.import_module(module), name)()
    qa = QA(cfg, embedder)
    index = qa.index                               # the product's load: open_store(cfg).open()
    loaded_rss = current_rss_mb()
    t = time_questions(qa, qa.embedder, spec["questions"], spec["warmup"])
    out = {"pid": os.getpid(), "folder": str(index.folder), "passages": len(index.passages),
           "index": index.dense.kind, "rss_after_load_mb": loaded_rss,
           "rss_mb": current_rss_mb(), "peak_rss_mb": own_peak_rss_mb(),
           # what the current RSS is made of: the process's own memory, and pages of mapped files
           # (the memory-mapped BM25 matrix and passages: page cache, shared, reclaimable)
           "rss_anon_mb": _status_mb("RssAnon"), "rss_file_mb": _status_mb("RssFile"),
           "ru_maxrss_mb": peak_rss_mb()}   # inherited over fork: at least the parent's peak at spawn
    out.update(point_from_timings(t))
    print(json.dumps(out, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
