"""The documents folder as a library: what is in it and in the index, safe uploads, deletion,
and one background rebuild at a time whose end swaps the new index into the running chat.

Used by `chatbot docs` and the 资料库 tab; nothing here imports Gradio or the model.
"""

from __future__ import annotations

import os
import re
import threading
import time
import unicodedata
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePath

from .errors import ChatbotError, DocumentError
from .ingest.readers import check_supported, kind_of
from .ingest.refusals import Refusals, read_once
from .ingest.sandbox import Sandbox

MAX_UPLOAD_BYTES = 50 * 1024 * 1024
MAX_NAME_BYTES = 200  # a kept file name in UTF-8 (file systems allow 255)
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
# invisible or unassigned characters dropped from names: controls, format (zero-width, bidi, BOM,
# soft hyphen), surrogates, private use, unassigned, line/paragraph separators
_INVISIBLE = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


@dataclass
class Entry:
    """One row of the library: a file in the folder, in the index, or both."""

    name: str
    type: str
    size: int | None = None        # bytes on disk, None when the file is gone
    documents: int | None = None
    passages: int | None = None
    pages: int | None = None
    indexed_at: str | None = None
    status: str = ""               # indexed | skipped | not indexed yet | changed since indexing | deleted
    reason: str | None = None      # why it was skipped

    def to_dict(self) -> dict:
        return asdict(self)


def visible(text: str) -> str:
    """`text` in NFKC (full-width ．／ become ./) without invisible characters."""
    return "".join(c for c in unicodedata.normalize("NFKC", str(text)) if unicodedata.category(c) not in _INVISIBLE)


def shown(name) -> str:
    """A name as it may be printed: invisible characters as \\uXXXX, at most 80 characters."""
    text = "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in _INVISIBLE else c for c in str(name))
    return text if len(text) <= 80 else text[:80] + "…"


def safe_name(name: str) -> str:
    """A plain file name from whatever a browser or client sent: NFKC, no invisible characters, no
    folders, no traversal, no reserved characters, at most MAX_NAME_BYTES. Raises DocumentError
    when nothing usable is left."""
    base = PurePath(visible(name).replace("\\", "/")).name
    base = _UNSAFE.sub("_", base).strip().strip(".").strip()
    if not base or base in (".", "..") or not PurePath(base).stem.strip("_ "):
        raise DocumentError(f"unusable file name {shown(name)!r}")
    stem, suffix = os.path.splitext(base)
    suffix = suffix.lower()[:16]
    stem = stem.encode("utf-8")[:MAX_NAME_BYTES - len(suffix)].decode("utf-8", errors="ignore").rstrip(". ")
    return stem + suffix


def _taken(folder: Path, safe: str) -> str | None:
    """The name of a file in `folder` that reads the same as `safe` (NFKC, any case), if any."""
    key = safe.casefold()
    for p in folder.iterdir() if folder.is_dir() else []:
        if visible(p.name).casefold() == key:
            return p.name
    return None


def inventory(config) -> list[Entry]:
    """Every file in the documents folder and every file the current index holds, with its status."""
    from .store import open_store
    from .ingest.documents import list_files

    manifest, passages = {}, []
    try:
        index = open_store(config).open()
        manifest, passages = index.manifest, index.passages
    except ChatbotError:
        pass  # no usable index: everything on disk is "not indexed yet"
    built_at = manifest.get("built_at")
    rows = manifest.get("files", {}) or {}
    skipped = manifest.get("skipped", {}) or {}
    pages: dict[str, set[int]] = {}
    for p in passages:
        if p.page is not None:
            pages.setdefault(p.source, set()).add(p.page)
    on_disk = {source: path for path, source in list_files(config.documents_dir)}
    out = []
    for name in sorted(set(on_disk) | set(rows) | set(skipped)):
        path = on_disk.get(name)
        e = Entry(name, kind_of(name), path.stat().st_size if path else None)
        row = rows.get(name)
        if row:
            start, end = row.get("rows", (0, 0))
            e.documents, e.passages, e.indexed_at = row.get("documents"), end - start, built_at
            e.pages = row.get("pages") or (max(pages[name]) if name in pages else None)
            e.status = "indexed"
            if path is None:
                e.status = "deleted (rebuild to remove it from the index)"
            elif row.get("sha256") and _sha256(path) != row["sha256"]:
                e.status = "changed since indexing (rebuild)"
        elif name in skipped:
            e.status, e.reason, e.indexed_at = "skipped", skipped[name], built_at
            if path is None:
                e.status = "deleted"
        else:
            e.status = "not indexed yet (rebuild)"
        out.append(e)
    return out


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@dataclass
class UploadResult:
    name: str
    saved: bool
    message: str
    documents: int = 0


def save_upload(folder: Path, name: str, data: bytes | Path, max_bytes: int = MAX_UPLOAD_BYTES,
                reader: Sandbox | None = None, refusals: Refusals | None = None) -> UploadResult:
    """Check one uploaded file and keep it in `folder` only if it is readable. Never overwrites:
    a name already present is refused. Never raises for a bad file; the result says why.

    It is read by `reader` (a reader process with the reading limits; one of its own when None):
    a document bomb is refused with the limit it crossed, is never kept, and, with `refusals`,
    is refused unread when it comes again."""
    given = shown(PurePath(str(name).replace("\\", "/")).name or str(name))
    try:
        safe = safe_name(name)
        check_supported(safe)
        size = data.stat().st_size if isinstance(data, Path) else len(data)
        if size > max_bytes:
            raise DocumentError(f"too large ({size / 1048576:.1f} MB > {max_bytes / 1048576:.0f} MB)")
        raw = data.read_bytes() if isinstance(data, Path) else data
        parsed = _read(raw, safe, reader, refusals)
        if not parsed.documents:
            raise DocumentError("no text content")
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / safe
        if target.resolve().parent != folder.resolve():
            raise DocumentError("unsafe file name")
        taken = _taken(folder, safe)
        if target.exists() or taken:
            same = "" if taken in (None, safe) else f" (as {shown(taken)}, which reads the same)"
            raise DocumentError(f"a file named {safe} already exists{same}; delete it first to replace it")
        tmp = folder / f".upload-{uuid.uuid4().hex}{target.suffix}"
        tmp.write_bytes(raw)
        try:
            os.link(tmp, target)  # fails if the name appeared meanwhile: no silent overwrite
        except FileExistsError:
            raise DocumentError(f"a file named {safe} already exists; delete it first to replace it") from None
        finally:
            tmp.unlink(missing_ok=True)
    except DocumentError as exc:
        return UploadResult(given, False, str(exc))
    except OSError as exc:
        return UploadResult(given, False, f"cannot save: {exc.strerror or exc}")
    note = "" if safe == given else f" (saved as {safe})"
    return UploadResult(safe, True, f"saved{note}: {len(parsed.documents)} document(s)", len(parsed.documents))


def _read(raw: bytes, name: str, reader: Sandbox | None, refusals: Refusals | None):
    if reader is not None:
        return read_once(raw, name, reader.read, refusals)
    with Sandbox() as own:
        return read_once(raw, name, own.read, refusals)


def delete_file(folder: Path, name: str) -> str:
    """Delete one file of the folder by its listed name. Raises DocumentError (with a clear reason)
    when it is not there, or the name is too long or has invisible characters."""
    if not isinstance(name, str) or not name.strip():
        raise DocumentError("no document name given")
    if len(name.encode("utf-8", errors="surrogatepass")) > 255:
        raise DocumentError(f"no such document (the name is {len(name)} characters long): {shown(name)}")
    if visible(name) != unicodedata.normalize("NFKC", name) or "/" in name or "\\" in name:
        raise DocumentError(f"no such document (the name has invisible characters or folders): {shown(name)}")
    folder = Path(folder).resolve()
    try:
        target = (folder / name).resolve()
        if folder not in target.parents or not target.is_file():
            raise DocumentError(f"no such document: {shown(name)}")
        target.unlink()
    except OSError as exc:
        raise DocumentError(f"cannot delete {shown(name)}: {exc.strerror or exc}") from None
    return f"deleted {name} (rebuild the index to drop its passages)"


def summary_for_web(report) -> str:
    """The build report for the 资料库 tab: counts and skipped files, without the server's paths."""
    reused = sum(1 for f in report.files if f.reused)
    text = (f"已索引 {len(report.files)} 个文件，共 {report.passages} 段（新计算 {report.embedded} 段；"
            f"{reused} 个文件未改动，沿用原结果），用时 {report.seconds:.1f} 秒。")
    if report.skipped:
        text += " 跳过：" + "；".join(f"{s.source}（{s.reason}）" for s in report.skipped) + "。"
    return text


@dataclass
class RebuildState:
    running: bool = False
    fraction: float = 0.0
    message: str = ""
    started: float = 0.0
    finished: float = 0.0
    error: str | None = None
    summary: str | None = None
    runs: int = 0
    log: list[str] = field(default_factory=list)


class Rebuilder:
    """Runs one index build at a time in a background thread; when it succeeds, `qa.reload()`
    swaps the new index in (questions already running finish on the old one)."""

    def __init__(self, config, qa):
        self.config, self.qa = config, qa
        self.state = RebuildState()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> bool:
        """Start a rebuild; False when one is already running."""
        with self._lock:
            if self.state.running:
                return False
            self.state = RebuildState(running=True, message="starting", started=time.time(), runs=self.state.runs + 1)
            self._thread = threading.Thread(target=self._run, name="rebuild", daemon=True)
            self._thread.start()
            return True

    def wait(self, timeout: float | None = None) -> RebuildState:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.state

    def _note(self, fraction: float, message: str) -> None:
        self.state.fraction, self.state.message = max(0.0, min(1.0, fraction)), message

    def _run(self) -> None:
        from .store import open_store

        try:
            report = open_store(self.config).build(self.qa.embedder, progress=False, on_progress=self._note)
            self._note(0.97, "loading the new index")
            self.qa.reload()
            self.state.summary = summary_for_web(report)
            self._note(1.0, "done")
        except ChatbotError as exc:
            self.state.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - reported in the tab, the old index stays in use
            self.state.error = f"{exc.__class__.__name__}: {exc}"
        finally:
            self.state.running, self.state.finished = False, time.time()
