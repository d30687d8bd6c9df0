"""PDF: the text layer page by page (pdfplumber), one document per page and section.

Lines are joined back into paragraphs by their geometry (a line that reaches the right margin
and is followed at normal leading continues), headings are found by font size and become the
section path, tables become rows, and lines repeated at the top or bottom of most pages (running
headers, page numbers) are dropped. Scanned, encrypted and broken files raise DocumentError;
a file over a reading limit (pages, inflated stream bytes: `_pdfbounds`) raises LimitError.
"""

from __future__ import annotations

import io
import itertools
import logging
import re
from collections import Counter
from dataclasses import dataclass

from ...errors import DocumentError
from ...types import Document
from ..limits import LimitError, Limits, reading
from . import _pdfbounds
from .base import Parsed
from ._text import ends_sentence, join_lines, normalize, table_rows

SUFFIXES = (".pdf",)

logging.getLogger("pdfminer").setLevel(logging.ERROR)  # font-descriptor warnings on every page

_BAND = 0.1            # top/bottom share of the page where running headers and footers live
_PAGE_NUMBER = re.compile(r"^[-–—\s]*(第\s*\d+\s*页.*|\d+(\s*/\s*\d+)?|page\s*\d+.*)[-–—\s]*$", re.I)


@dataclass
class _Line:
    text: str
    x0: float
    x1: float
    top: float
    bottom: float
    size: float
    table: list | None = None   # rows, when this "line" stands for a table
    page_height: float = 0.0


def read(raw: bytes, source: str, limits: Limits) -> Parsed:
    """Documents of a PDF and {"pages": n}. Raises DocumentError with the reason."""
    import pdfplumber
    from pdfminer.pdfdocument import PDFPasswordIncorrect, PDFEncryptionError
    from pdfminer.pdfpage import PDFPage

    if not raw.lstrip()[:5].startswith(b"%PDF"):
        raise DocumentError("not a PDF file (no %PDF header)")
    _pdfbounds.install()
    try:
        with reading(limits) as budget, pdfplumber.open(io.BytesIO(raw)) as pdf:
            if sum(1 for _ in itertools.islice(PDFPage.create_pages(pdf.doc), limits.pages + 1)) > limits.pages:
                raise LimitError(f"too many pages (over the {limits.pages:,} page limit)")
            title = normalize(str((pdf.metadata or {}).get("Title") or "")).strip()
            pages = []
            for p in pdf.pages:
                pages.append(_page_lines(p))
                p.close()  # drop the page's parsed objects: only its lines are kept
            if budget.crossed:
                raise budget.crossed
    except (DocumentError, MemoryError):
        raise
    except Exception as exc:  # pdfplumber wraps pdfminer's errors; damaged files raise many kinds
        cause = exc.args[0] if exc.args and isinstance(exc.args[0], Exception) else exc
        if isinstance(cause, (DocumentError, MemoryError)):  # a limit crossed inside pdfminer
            raise cause from None
        if isinstance(cause, (PDFPasswordIncorrect, PDFEncryptionError)):
            raise DocumentError("encrypted PDF (password-protected); save a copy without a password") from exc
        detail = str(cause).strip() or cause.__class__.__name__
        raise DocumentError(f"broken PDF ({detail})") from exc
    if not any(lines for lines in pages):
        raise DocumentError("no text layer (a scanned PDF?); run OCR on it and add the result")
    _drop_running(pages)
    return Parsed(_documents(pages, source, title), "pdf", len(pages))


def _page_lines(page) -> list[_Line]:
    """Lines of one page in reading order, tables replaced by one entry each."""
    ruled = page.rects or page.lines or page.curves  # tables are found from their rules: skip pages without any
    tables = [t for t in page.find_tables() if len(t.rows) >= 2] if ruled else []
    boxes = [t.bbox for t in tables]
    out = [_Line("", b[0], b[2], b[1], b[3], 0.0, t.extract()) for t, b in zip(tables, boxes)]
    for ln in page.extract_text_lines(return_chars=True):
        cx = (ln["x0"] + ln["x1"]) / 2
        cy = (ln["top"] + ln["bottom"]) / 2
        if any(b[0] <= cx <= b[2] and b[1] <= cy <= b[3] for b in boxes):
            continue
        text = normalize(ln["text"]).strip()
        if text:
            sizes = Counter(round(c["size"], 1) for c in ln["chars"])
            out.append(_Line(text, ln["x0"], ln["x1"], ln["top"], ln["bottom"], sizes.most_common(1)[0][0]))
    out.sort(key=lambda ln: (round(ln.top), ln.x0))
    for ln in out:
        ln.page_height = page.height
    return out


def _key(text: str) -> str:
    return re.sub(r"\d+", "#", re.sub(r"\s+", "", text))


def _drop_running(pages: list[list[_Line]]) -> None:
    """Remove headers/footers: lines in the top or bottom band that recur on most pages, and lone
    page numbers there."""
    def band(lines):
        return [ln for ln in lines if ln.table is None and
                (ln.bottom < ln.page_height * _BAND or ln.top > ln.page_height * (1 - _BAND))]
    counts = Counter(k for lines in pages for k in {_key(ln.text) for ln in band(lines)})
    need = max(2, round(0.6 * len(pages)))
    for lines in pages:
        for ln in band(lines):
            if counts[_key(ln.text)] >= need or _PAGE_NUMBER.match(ln.text):
                lines.remove(ln)


def _documents(pages: list[list[_Line]], source: str, title: str) -> list[Document]:
    sizes = Counter()
    for lines in pages:
        for ln in lines:
            if ln.table is None:
                sizes[ln.size] += len(ln.text)
    body = sizes.most_common(1)[0][0] if sizes else 0.0
    heading_sizes = sorted({ln.size for lines in pages for ln in lines
                            if ln.table is None and _is_heading(ln, body)}, reverse=True)
    if not title:
        first = next((ln.text for lines in pages for ln in lines if ln.table is None), source)
        big = [ln.text for ln in pages[0] if ln.table is None and heading_sizes and ln.size == heading_sizes[0]]
        title = big[0] if big else first[:60]
    path: list[tuple[float, str]] = []
    docs: list[Document] = []

    def emit(page_no: int, paras: list[str]) -> None:
        text = "\n".join(p for p in paras if p.strip())
        if text:
            section = " / ".join(t for _, t in path if t != title) or None
            pos = len(docs)
            docs.append(Document(f"{source}#{pos}", source, title, text, None, pos, "page", page_no, section))

    for page_no, lines in enumerate(pages, 1):
        right = max((ln.x1 for ln in lines if ln.table is None and ln.size == body), default=0.0)
        paras: list[str] = []
        prev: _Line | None = None
        for ln in lines:
            if ln.table is not None:
                paras.extend(table_rows(ln.table))
                prev = None
                continue
            if _is_heading(ln, body):
                emit(page_no, paras)
                paras = []
                while path and path[-1][0] <= ln.size:
                    path.pop()
                path.append((ln.size, ln.text))
                prev = None
                continue
            if prev is not None and _continues(prev, ln, right):
                paras[-1] = join_lines(paras[-1], ln.text)
            else:
                paras.append(ln.text)
            prev = ln
        emit(page_no, paras)
    return docs


def _is_heading(ln: _Line, body: float) -> bool:
    return body > 0 and ln.size >= body * 1.15 and len(ln.text) <= 60 and not ends_sentence(ln.text)


def _continues(prev: _Line, ln: _Line, right: float) -> bool:
    """True when `ln` carries on the paragraph of `prev`: prev reaches the right margin, same size,
    and the gap between them is normal leading."""
    full = prev.x1 >= right - 2.5 * prev.size
    leading = ln.top - prev.bottom <= 0.9 * prev.size
    return full and leading and abs(ln.size - prev.size) < 0.5
