"""Document bombs, generated small: a PDF whose flate stream inflates to hundreds of MB, Word XML of
millions of elements, a Word zip whose entry lies about its size, HTML nested thousands deep;
and `probe()`, which reads one in a fresh interpreter and reports its time, result and memory."""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zipfile
import zlib
from functools import lru_cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MB = 1024 * 1024


def _deflate(chunk: bytes, times: int, wbits: int = zlib.MAX_WBITS, head: bytes = b"", tail: bytes = b"") -> bytes:
    """head + chunk * times + tail, compressed without ever holding the whole of it."""
    z = zlib.compressobj(9, zlib.DEFLATED, wbits)
    out = [z.compress(head)]
    out.extend(z.compress(chunk) for _ in range(times))
    out += [z.compress(tail), z.flush()]
    return b"".join(out)


@lru_cache(maxsize=None)
def flate_bomb_pdf(inflated_mb: int = 400) -> bytes:
    """A one-page PDF whose content stream (text, then blank space) inflates to `inflated_mb` MB."""
    stream = _deflate(b" " * MB, inflated_mb, head=b"BT /F1 12 Tf 72 720 Td (flate bomb) Tj ET\n")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


@lru_cache(maxsize=None)
def _docx_template() -> dict[str, bytes]:
    import docx

    buf = io.BytesIO()
    d = docx.Document()
    d.add_paragraph("居民医保每年缴费一次。")
    d.save(buf)
    with zipfile.ZipFile(buf) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


_W = b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
_PARA = "<w:p><w:r><w:t>居民医保每年缴费一次。</w:t></w:r></w:p>".encode()   # 4 elements


@lru_cache(maxsize=None)
def xml_bomb_docx(elements: int = 3_000_000) -> bytes:
    """A Word file whose document.xml holds about `elements` elements (16 bytes of XML each,
    about 1/400 of that zipped), written in pieces."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in _docx_template().items():
            if name != "word/document.xml":
                zf.writestr(name, data)
                continue
            with zf.open(name, "w", force_zip64=True) as part:
                part.write(_W)
                for _ in range(elements // 4 // 10_000):
                    part.write(_PARA * 10_000)
                part.write(b"</w:body></w:document>")
    return buf.getvalue()


@lru_cache(maxsize=None)
def lying_docx(inflated_mb: int = 400, declared: int = 2048) -> bytes:
    """A Word file whose word/document.xml entry declares `declared` bytes (size and checksum of
    its first `declared` bytes, in both headers) but inflates to `inflated_mb` MB."""
    head = _W + b"<w:p><w:r><w:t>"
    head += b"x" * (declared - len(head))
    packed = _deflate(b" " * MB, inflated_mb, wbits=-zlib.MAX_WBITS, head=head)
    crc = zlib.crc32(head)
    parts = dict(_docx_template())
    parts["word/document.xml"] = None
    out, central = bytearray(), bytearray()
    for name, data in parts.items():
        fname = name.encode()
        if data is None:
            body, size, method, check = packed, declared, zipfile.ZIP_DEFLATED, crc
        else:
            body, size, method, check = data, len(data), zipfile.ZIP_STORED, zlib.crc32(data)
        offset = len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0, check, len(body), size,
                           len(fname), 0) + fname + body
        central += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0, check, len(body), size,
                               len(fname), 0, 0, 0, 0, 0, offset) + fname
    start = len(out)
    out += central + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(parts), len(parts), len(central), start, 0)
    return bytes(out)


def nested_html(depth: int, tag: str = "div") -> bytes:
    """A page whose one sentence sits `depth` elements deep."""
    return (f"<!doctype html><html><head><title>深层页面</title></head><body>{f'<{tag}>' * depth}"
            f"<p>居民医保每年缴费一次。</p>{f'</{tag}>' * depth}</body></html>").encode()


PROBE = textwrap.dedent("""
    import json, os, sys, time
    from pathlib import Path

    def peak_mb():
        # VmHWM is this process's own peak (ru_maxrss of a child would count the pages of the
        # pytest process it was forked from)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024

    how, name, path = sys.argv[1:4]
    raw = Path(path).read_bytes()
    from chatbot import library
    from chatbot.ingest import readers, sandbox
    import pdfplumber, docx, selectolax.lexbor, lxml.etree  # loaded before the baseline, as in a server
    base = peak_mb()
    started = time.monotonic()
    out = {"pid": os.getpid()}
    try:
        if how == "reader":
            parsed = readers.read_bytes(raw, name)
            out["documents"] = len(parsed.documents)
        else:
            res = library.save_upload(Path(sys.argv[4]), name, raw)
            out["saved"], out["message"] = res.saved, res.message
    except Exception as exc:
        out["error"], out["kind"] = str(exc), exc.__class__.__name__
    out["seconds"] = time.monotonic() - started
    out["growth_mb"] = peak_mb() - base
    out["worker"] = sandbox.last_usage
    print(json.dumps(out))
""")


def probe(how: str, name: str, raw: bytes, tmp: Path, env: dict | None = None) -> dict:
    """Read a file in a fresh interpreter: `how` is "reader" (readers.read_bytes in that process)
    or "upload" (library.save_upload into tmp/documents, which reads it in a reader process).
    Returns the outcome, the seconds it took, the interpreter's own memory growth (`growth_mb`,
    VmHWM after minus VmHWM once the reader libraries are loaded) and, for an upload, the reader
    process's (`worker`: growth_mb over its memory before the file, peak_mb in all)."""
    path = Path(tmp) / f"probe-{name}"
    path.write_bytes(raw)
    cmd = [sys.executable, "-c", PROBE, how, name, str(path), str(Path(tmp) / "documents")]
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    done = subprocess.run(cmd, capture_output=True, text=True, env=full_env, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
