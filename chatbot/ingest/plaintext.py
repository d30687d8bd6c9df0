"""Plain text: decoding bytes in any common encoding, and splitting portal pages into articles.

A seed page is a main question + answer, then a `相关推荐` section whose items are each a title
line, a snippet and a `健康新闻 YYYY-MM-DD` line. Every article becomes a `Document`. Any other
text becomes one document, chunked generically later. Used by `documents.py` (.txt/.md files)
and by the readers (`readers/text.py`, `readers/html.py`); it imports neither, so the readers
no longer import `documents.py`, which imports them.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
from pathlib import Path

from charset_normalizer import from_bytes

from ..errors import DocumentError
from ..textnorm import clean
from ..types import Document

_DATE_LINE = re.compile(r"^\s*健康新闻\s+(\d{4}-\d{2}-\d{2})\s*$")
_RELATED = re.compile(r"^\s*相关推荐\s*$")
# Page furniture, matched after NFKC: not content.
_BOILERPLATE = [
    re.compile(r"^\s*提示:本内容不能代替面诊"),
    re.compile(r"^\s*大家都在搜\s*$"),
    re.compile(r"^\s*首页\s*顶部\s*$"),
]


_BOMS = (  # UTF-32 first: its little-endian BOM begins with UTF-16's
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)
_DETECT_BYTES = 4 * 1024 * 1024   # how much of a non-UTF-8 file the encoding detector looks at
_SHORT_NON_ASCII = 200            # below this many non-ASCII bytes, detectors guess poorly
_HIGH_BYTES = bytes(range(0x80, 0x100))


def decode_bytes(raw: bytes) -> tuple[str, str]:
    """Decode file bytes; return (text, encoding). Raises DocumentError with the reason."""
    if not raw or raw.isspace():
        raise DocumentError("empty file")
    for bom, enc in _BOMS:
        if raw.startswith(bom):
            try:
                return _checked(raw.decode(enc)), enc
            except UnicodeDecodeError as exc:
                raise DocumentError(f"invalid {enc} ({exc.reason})") from exc
    try:
        text, enc = raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        enc = _detect(raw)
        if enc is None:
            raise DocumentError(f"binary or undecodable content (not UTF-8: invalid byte at offset {exc.start}; "
                                f"no other text encoding fits)") from None
        try:
            text = raw.decode(enc)
        except (UnicodeDecodeError, LookupError) as exc2:
            raise DocumentError(f"undecodable as {enc}: {exc2}") from exc2
    return _checked(text), enc


def _checked(text: str) -> str:
    """The decoded text, unless it is binary or blank."""
    sample = text[:20000]
    controls = sum(1 for ch in sample if unicodedata.category(ch) == "Cc" and ch not in "\n\r\t")
    if "\x00" in sample or controls > max(3, len(sample) // 100):
        raise DocumentError("binary content (control bytes in the text)")
    if not text.strip():
        raise DocumentError("no text content")
    return text


def _detect(raw: bytes) -> str | None:
    """The encoding of a file that is not UTF-8, or None when no text encoding fits."""
    sample = raw[:_DETECT_BYTES]
    if len(raw) > _DETECT_BYTES:
        # End the sample at a line break: a multi-byte character cut in half makes every
        # encoding look wrong (0x0A never occurs inside a GB18030 character; for UTF-16 keep the
        # length even).
        cut = sample.rfind(b"\n")
        if cut > 0:
            end = cut + 1 + ((cut + 1) % 2 if b"\x00" in sample else 0)
            sample = sample[:end]
    non_ascii = len(sample) - len(sample.translate(None, _HIGH_BYTES))
    if non_ascii < _SHORT_NON_ASCII and _looks_like_gb(sample):
        return "gb18030"
    # A sample without line breaks may still end inside a character: try it shortened by a byte or three.
    for trim in range(4 if len(raw) > len(sample) else 1):
        best = from_bytes(sample[:len(sample) - trim]).best()
        if best is not None and best.encoding:
            return best.encoding
    return None


def _looks_like_gb(sample: bytes) -> bool:
    """True when short text decodes as GB18030 into Chinese characters that are (almost) all common ones.

    Statistical detectors guess wrong on a few dozen characters (Korean, Big5, UTF-16); this is a
    Chinese document collection, so short text that is plausible GBK is taken as GBK. Big5 text
    read this way yields mostly rare characters outside GB2312 and is left to the detector.
    """
    try:
        text = sample.decode("gb18030")
    except UnicodeDecodeError:
        return False
    if any(unicodedata.category(ch) == "Cc" and ch not in "\n\r\t" for ch in text):
        return False
    hanzi = [ch for ch in text if "\u4e00" <= ch <= "\u9fff"]
    if not hanzi:
        return False
    common = 0
    for ch in hanzi:
        try:
            ch.encode("gb2312")
            common += 1
        except UnicodeEncodeError:
            pass
    return common >= 0.9 * len(hanzi)


def _is_boilerplate(line: str) -> bool:
    return any(p.search(line) for p in _BOILERPLATE)


def _content_lines(text: str) -> list[str]:
    lines = []
    for raw in text.splitlines():
        line = unicodedata.normalize("NFKC", clean(raw)).rstrip()
        if line.strip() and not _is_boilerplate(line):
            lines.append(line)
    return lines


def _join(lines: list[str]) -> str:
    return "\n".join(line.strip() for line in lines if line.strip())


def parse_text(text: str, source: str) -> list[Document]:
    """Split one file's text into documents (structure-aware for portal pages)."""
    lines = _content_lines(text)
    if not lines:
        return []
    related_at = next((i for i, line in enumerate(lines) if _RELATED.match(line)), None)
    has_dates = any(_DATE_LINE.match(line) for line in lines)
    if related_at is None or not has_dates:
        return [_plain_document(lines, source)]

    docs: list[Document] = []
    main = lines[:related_at]
    if main:
        docs.append(Document(f"{source}#0", source, main[0].strip(), _join(main[1:]) or main[0].strip(), None, 0, "article"))
    block: list[str] = []
    for line in lines[related_at + 1:]:
        m = _DATE_LINE.match(line)
        if not m:
            block.append(line)
            continue
        if block:
            pos = len(docs) if docs and docs[0].position == 0 else len(docs) + 1
            title, body = block[0].strip(), _join(block[1:])
            docs.append(Document(f"{source}#{pos}", source, title, body or title, m.group(1), pos, "item"))
        block = []
    if block:  # trailing text without a date line: still content
        pos = len(docs) if docs and docs[0].position == 0 else len(docs) + 1
        docs.append(Document(f"{source}#{pos}", source, block[0].strip(), _join(block[1:]) or block[0].strip(), None, pos, "item"))
    return docs


def _plain_document(lines: list[str], source: str) -> Document:
    first = lines[0].strip().lstrip("#").strip()
    if len(first) <= 60 and len(lines) > 1:
        title, body = first, _join(lines[1:])
    else:
        title, body = Path(source).stem, _join(lines)
    return Document(f"{source}#0", source, title, body, None, 0, "text")
