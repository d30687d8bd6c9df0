"""Word (.docx) with python-docx: paragraphs, headings as the section path, tables as rows.

An old binary Word file (.doc) is reported as unsupported, with the hint to save it as .docx.
"""

from __future__ import annotations

import io
import re
import zipfile

from ...errors import DocumentError
from ..limits import Budget, Limits
from . import _zip
from ._sections import Block, documents
from .base import Parsed
from ._text import normalize, table_rows

SUFFIXES = (".docx",)
UNSUPPORTED = {".doc": "old binary Word format (.doc) is not supported; open it in Word, WPS or LibreOffice "
                       "and save it as .docx"}

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_HEADING = re.compile(r"^(heading|标题)\s*(\d)$", re.I)


def read(raw: bytes, source: str, limits: Limits) -> Parsed:
    """Documents of a .docx file. Raises DocumentError with the reason (LimitError for a bomb)."""
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    if raw.startswith(_OLE):
        raise DocumentError(UNSUPPORTED[".doc"])
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as zf:
            if "word/document.xml" not in zf.namelist():
                raise DocumentError("not a Word document (a zip file without word/document.xml)")
            parts = _zip.unpack(zf, raw, Budget(limits))
    except zipfile.BadZipFile as exc:
        raise DocumentError("not a Word document (not a valid .docx zip archive)") from exc
    _zip.check_xml(parts, limits)
    try:
        d = docx.Document(_zip.repack(parts))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise DocumentError(f"broken Word document ({exc.__class__.__name__}: {exc})") from exc
    except MemoryError:
        raise
    except Exception as exc:  # malformed XML inside a valid zip
        raise DocumentError(f"broken Word document ({exc.__class__.__name__})") from exc
    del parts
    try:
        blocks = list(_blocks(d))
        title = normalize(d.core_properties.title or "").strip()
    except MemoryError:
        raise
    except Exception as exc:  # python-docx on XML it did not expect (an XPathEvalError, a missing style)
        raise DocumentError(f"broken Word document ({exc.__class__.__name__})") from exc
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

    levels: dict[str | None, int] = {}  # heading level of each paragraph style, looked up once
    for item in d.iter_inner_content():
        if isinstance(item, Table):
            rows = [[cell.text for cell in row.cells] for row in item.rows]
            for row in table_rows(_dedupe_merged(rows)):
                yield Block(row)
            continue
        text = normalize(item.text).strip()
        if not text:
            continue
        level = _level(item, levels)
        yield Block(text, level if level and len(text) <= 80 else 0)


def _level(p, levels: dict[str | None, int]) -> int:
    """Heading level 1..9 from the style (Heading N / 标题 N / Title) or the outline level."""
    style_id = p._p.style
    if style_id not in levels:  # python-docx finds a style by scanning them all: about 1 ms a paragraph
        levels[style_id] = _style_level(p.style)
    if levels[style_id]:
        return levels[style_id]
    lvl = p._p.find(".//{http://schemas.openxmlformats.org/wordprocessingml/2006/main}outlineLvl")
    if lvl is not None:
        val = lvl.get("{http://schemas.openxmlformats.org/wordprocessingml/2006/main}val")
        if val is not None and val.isdigit() and int(val) < 9:
            return int(val) + 1
    return 0


def _style_level(style) -> int:
    while style is not None:
        name = (style.name or "").strip()
        if name.lower() == "title":
            return 1
        m = _HEADING.match(name)
        if m:
            return int(m.group(2))
        style = style.base_style
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
