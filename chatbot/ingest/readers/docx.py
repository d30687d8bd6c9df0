"""Word (.docx) with python-docx: paragraphs, headings as the section path, tables as rows.

An old binary Word file (.doc) is reported as unsupported, with the hint to save it as .docx.
"""

from __future__ import annotations

import io
import re
import zipfile

from ...errors import DocumentError
from ._sections import Block, documents
from .base import Parsed
from ._text import normalize, table_rows

SUFFIXES = (".docx",)
UNSUPPORTED = {".doc": "old binary Word format (.doc) is not supported; open it in Word, WPS or LibreOffice "
                       "and save it as .docx"}

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADING = re.compile(r"^(heading|标题)\s*(\d)$", re.I)
_MAX_XML = 200 * 1024 * 1024  # uncompressed size of the archive: a zip bomb is refused


def read(raw: bytes, source: str) -> Parsed:
    """Documents of a .docx file. Raises DocumentError with the reason."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if raw.startswith(_OLE):
        raise DocumentError(UNSUPPORTED[".doc"])
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            names = zf.namelist()
            if "word/document.xml" not in names:
                raise DocumentError("not a Word document (a zip file without word/document.xml)")
            if sum(i.file_size for i in zf.infolist()) > _MAX_XML:
                raise DocumentError("Word file too large once unpacked")
    except zipfile.BadZipFile as exc:
        raise DocumentError("not a Word document (not a valid .docx zip archive)") from exc
    try:
        d = docx.Document(io.BytesIO(raw))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise DocumentError(f"broken Word document ({exc.__class__.__name__}: {exc})") from exc
    except Exception as exc:  # malformed XML inside a valid zip
        raise DocumentError(f"broken Word document ({exc.__class__.__name__})") from exc
    blocks = list(_blocks(d))
    title = normalize(d.core_properties.title or "").strip()
    if not title and blocks and blocks[0].level:
        title = blocks[0].text
        blocks = blocks[1:]
    title = title or source.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    docs = documents(blocks, source, title)
    if not docs:
        raise DocumentError("no text content")
    return Parsed(docs, "docx")


def _blocks(d):
    from docx.table import Table

    for item in d.iter_inner_content():
        if isinstance(item, Table):
            rows = [[cell.text for cell in row.cells] for row in item.rows]
            for row in table_rows(_dedupe_merged(rows)):
                yield Block(row)
            continue
        text = normalize(item.text).strip()
        if not text:
            continue
        level = _level(item)
        yield Block(text, level if level and len(text) <= 80 else 0)


def _level(p) -> int:
    """Heading level 1..9 from the style (Heading N / 标题 N / Title) or the outline level."""
    style = p.style
    while style is not None:
        name = (style.name or "").strip()
        if name.lower() == "title":
            return 1
        m = _HEADING.match(name)
        if m:
            return int(m.group(2))
        style = style.base_style
    lvl = p._p.find(".//{http://schemas.openxmlformats.org/wordprocessingml/2006/main}outlineLvl")
    if lvl is not None:
        val = lvl.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}val")
        if val is not None and val.isdigit() and int(val) < 9:
            return int(val) + 1
    return 0


def _dedupe_merged(rows: list[list[str]]) -> list[list[str]]:
    """python-docx repeats a horizontally merged cell in every grid column: keep it once."""
    out = []
    for row in rows:
        kept: list[str] = []
        for i, c in enumerate(row):
            kept.append("" if i and c == row[i - 1] else c)
        out.append(kept)
    return out
