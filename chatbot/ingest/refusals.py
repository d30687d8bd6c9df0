"""Files refused for crossing a reading limit, remembered by SHA-256, so a rebuild skips them
(with the same reason) instead of paying for the bomb again.

Kept as JSON beside the index (`embeddings/refused-documents.json`), together with the limits in
force: under other limits every file is read afresh. A file that cannot be written (a read-only
folder) only means the next build reads the file again, still within the limits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable

from .limits import LimitError, Limits
from .readers.base import Parsed

FILE_NAME = "refused-documents.json"
_KEEP = 1000   # entries kept (the oldest are forgotten first)
log = logging.getLogger(__name__)


class Refusals:
    def __init__(self, path: Path | None, limits: Limits):
        self.path, self.key = (Path(path) if path else None), limits.key()
        self._lock = threading.Lock()

    @classmethod
    def for_config(cls, config) -> "Refusals":
        return cls(Path(config.embeddings_dir) / FILE_NAME, Limits.from_config(config))

    def reason(self, sha256: str) -> str | None:
        """Why a file with this content was refused before, or None."""
        entry = self._load().get(sha256)
        return entry["reason"] if entry else None

    def remember(self, sha256: str, source: str, reason: str) -> None:
        if self.path is None:
            return
        with self._lock:
            files = self._load()
            files.pop(sha256, None)
            files[sha256] = {"source": source, "reason": reason, "at": time.strftime("%Y-%m-%dT%H:%M:%S")}
            files = dict(list(files.items())[-_KEEP:])
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp.write_text(json.dumps({"limits": self.key, "files": files}, ensure_ascii=False, indent=1),
                               encoding="utf-8")
                os.replace(tmp, self.path)
            except OSError as exc:
                log.warning("cannot remember the refused document %s in %s: %s", source, self.path, exc)
                tmp.unlink(missing_ok=True)

    def _load(self) -> dict[str, dict]:
        if self.path is None:
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict) or data.get("limits") != self.key or not isinstance(data.get("files"), dict):
            return {}
        return {k: v for k, v in data["files"].items() if isinstance(v, dict) and isinstance(v.get("reason"), str)}


def read_once(raw: bytes, source: str, read: Callable[[bytes, str], Parsed], refusals: Refusals | None,
              digest: str | None = None) -> Parsed:
    """`read(raw, source)`, unless `refusals` knows this content as over a limit: then LimitError
    again, unread. A new LimitError is remembered."""
    digest = digest or hashlib.sha256(raw).hexdigest()
    known = refusals.reason(digest) if refusals else None
    if known:
        raise LimitError(f"{known} (refused before; not read again)")
    try:
        return read(raw, source)
    except LimitError as exc:
        if refusals:
            refusals.remember(digest, source, str(exc))
        raise
