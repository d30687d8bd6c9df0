"""Document files in the encodings people really save Chinese text in, and files that are not text.

Readable encodings must give exactly the text of the UTF-8 original; empty, binary and undecodable
files are skipped with their name and the reason, while the rest is indexed; `chatbot build`
exits 0 when at least one document was indexed and non-zero, with a clear message, when none was.
"""

from __future__ import annotations

import codecs
import gzip
import os
import random
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from chatbot.config import Config
from chatbot.ingest.documents import decode_bytes, load_folder, parse_text, read_file
from chatbot.errors import DocumentError, NoDocumentsError
from chatbot.store.files.store import build_index, load_index

from . import DOCUMENTS, ROOT, FakeEmbedder

SAMPLE = "001_5ab9b382229bad86.txt"


def original() -> str:
    return (DOCUMENTS / SAMPLE).read_text(encoding="utf-8")


def encoded(text: str, encoding: str) -> bytes:
    """`text` as a file in `encoding`; "+bom" adds the byte-order mark editors write."""
    if encoding == "utf-16-le+bom":
        return codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    if encoding == "utf-16-be+bom":
        return codecs.BOM_UTF16_BE + text.encode("utf-16-be")
    return text.encode(encoding)


READABLE = ["utf-8", "utf-8-sig", "gb18030", "gbk", "utf-16", "utf-16-le+bom", "utf-16-be+bom",
            "utf-16-le", "utf-16-be", "utf-32"]




def _random_bytes(n: int, seed: int = 0) -> bytes:
    rng = random.Random(seed)
    return bytes(rng.randrange(256) for _ in range(n))


def _elf() -> bytes:
    return (b"\x7fELF\x02\x01\x01" + b"\x00" * 9 + _random_bytes(4000, 3))


BAD_FILES = {
    "empty.txt": (b"", "empty file"),
    "blank.txt": (b"  \n\t\r\n   ", "empty file"),
    "bom-only.txt": (codecs.BOM_UTF8, "no text content"),
    "utf16-bom-only.txt": (codecs.BOM_UTF16_LE + " \n".encode("utf-16-le"), "no text content"),
    "boilerplate-only.txt": ("大家都在搜\n首页 顶部\n".encode("utf-8"), "no text content"),
    "random.txt": (_random_bytes(6000), "binary"),
    "gzip.txt": (gzip.compress(original().encode("utf-8"), mtime=0), "binary"),
    "elf.txt": (_elf(), "binary"),
    "nul.txt": ("医保".encode() + b"\x00" * 200 + "电话".encode(), "binary"),
    "broken-utf8.txt": (original().encode("utf-8")[:300] + b"\xff\xfe\xfa" + original().encode("utf-8")[300:], "undecodable"),
    "odd-utf16.txt": (codecs.BOM_UTF16_LE + "医保电话".encode("utf-16-le") + b"\x00", "invalid utf-16"),
    "slides.pdf": (b"%PDF-1.4\n" + _random_bytes(500, 5), "broken PDF"),
    "notes": ("医保".encode(), "unsupported file type '(none)'"),
}


def _mixed_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    text = original()
    (folder / "utf8.txt").write_text(text, encoding="utf-8")
    (folder / "gbk.txt").write_bytes((DOCUMENTS / "000_91c1583d48168d56.txt").read_text(encoding="utf-8").encode("gbk"))
    (folder / "utf16.txt").write_bytes((DOCUMENTS / "002_b7034b3d178ca72c.txt").read_text(encoding="utf-8").encode("utf-16"))
    (folder / "bom.md").write_bytes(codecs.BOM_UTF8 + (DOCUMENTS / "003_2ae1594788d8c023.txt").read_bytes())
    for name in ("empty.txt", "random.txt", "broken-utf8.txt", "slides.pdf"):
        (folder / name).write_bytes(BAD_FILES[name][0])
    return folder


from .cli import RUNNER  # noqa: E402



def run_cli(tmp_path: Path, *args: str, real: bool = False, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONIOENCODING": "utf-8"}
    if real:
        cmd = [sys.executable, "-m", "chatbot.cli", *args]
    else:
        runner = tmp_path / "fake_cli.py"
        runner.write_text(RUNNER, encoding="utf-8")
        cmd = [sys.executable, str(runner), *args, "--model", FakeEmbedder.model_name]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT)
