"""HTML: the main content of a saved web page (selectolax/lexbor), never its scripts or furniture.

Scripts, styles, forms, menus, headers, footers, sidebars and breadcrumbs are removed; what is
left is read as lines (block elements break lines, tables become rows). A page in the seed
portal layout (main answer, then 相关推荐 items with `健康新闻 YYYY-MM-DD` lines) is split into
articles exactly as the text reader does; any other page becomes one document per section.
"""

from __future__ import annotations

import re

from ...errors import DocumentError
from ..limits import Limits
from ..plaintext import decode_bytes, parse_text
from . import _markup
from ._sections import Block, documents
from .base import Parsed
from ._text import normalize, table_rows

SUFFIXES = (".html", ".htm")

_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "object", "embed", "svg", "canvas",
              "form", "button", "select", "input", "textarea", "nav", "aside", "footer", "header", "head")
_FURNITURE = re.compile(r"(^|[-_ ])(nav|navbar|menu|menubar|header|footer|foot|breadcrumbs?|crumbs?|location|position|sidebar|side|"
                        r"copyright|login|share|toolbar|banner|ads?|advert\w*|comments?|search|topbar|links)($|[-_ ])", re.I)
_BLOCK = {"p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd", "blockquote", "pre",
          "h1", "h2", "h3", "h4", "h5", "h6", "br", "hr", "tr", "table", "figure", "figcaption", "address"}
_LINK_SHARE = 0.6   # a block whose text is at least this share link text is navigation
_LOCATION = re.compile(r"^(当前位置|您的位置|您现在的位置|所在位置)\s*[:：]")
_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([\w.:-]+)""", re.I)
_TITLE_SPLIT = re.compile(r"\s*[_|｜–—-]\s*")


def read(raw: bytes, source: str, limits: Limits) -> Parsed:
    """Documents of an HTML page and {"encoding": ...}. Raises DocumentError with the reason
    (LimitError for a page with too many elements or nested too deep)."""
    from selectolax.lexbor import LexborHTMLParser

    text, encoding = _decode(raw)
    _markup.check_source(text, limits)
    tree = LexborHTMLParser(text)
    del text
    if tree.body is None:
        raise DocumentError("no HTML body")
    _markup.check_tree(tree.root, limits)
    h1 = tree.css_first("h1")
    h1_text = normalize(h1.text(separator="")).strip() if h1 is not None else ""
    t = tree.css_first("title")
    page_title = normalize(t.text()).strip() if t is not None else ""
    _strip(tree, h1)
    root = tree.css_first("main") or tree.css_first('[role="main"]') or tree.body
    blocks = _blocks(root)
    if not any(b.text.strip() for b in blocks):
        raise DocumentError("no text content in the page (only scripts, menus or images)")
    lines = "\n".join(b.text for b in blocks)
    title = h1_text or (_TITLE_SPLIT.split(page_title)[0] if page_title else "") or source.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    if "相关推荐" in lines and re.search(r"^\s*健康新闻\s+\d{4}-\d{2}-\d{2}\s*$", lines, re.M):
        return Parsed(parse_text(lines, source), encoding)
    if blocks and blocks[0].level and blocks[0].text == title:
        blocks = blocks[1:]
    return Parsed(documents(blocks, source, title), encoding)


def _decode(raw: bytes) -> tuple[str, str]:
    """The page's text: a BOM or a declared <meta charset> wins, else UTF-8, else detected."""
    m = _CHARSET.search(raw[:4096])
    if m and not raw.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")):
        declared = m.group(1).decode("ascii", "replace").lower()
        declared = "gb18030" if declared in ("gb2312", "gbk", "x-gbk") else declared
        try:
            return raw.decode(declared), declared
        except (LookupError, UnicodeDecodeError):
            pass  # a wrong declaration: detect instead
    return decode_bytes(raw)


def _strip(tree, keep) -> None:
    """Remove scripts, forms and page furniture (but never the element holding the page's <h1>)."""
    holds_keep = set()
    n = keep
    while n is not None:  # `keep` and its ancestors: what must not be removed
        holds_keep.add(n.mem_id)
        n = n.parent
    for node in tree.css(",".join(_DROP_TAGS)):
        if node.mem_id not in holds_keep:
            node.decompose()
    for node in tree.css("[class],[id],[role]"):
        attrs = node.attributes
        names = " ".join(filter(None, (attrs.get("class"), attrs.get("id"), attrs.get("role"))))
        if node.tag not in ("body", "html", "main") and _FURNITURE.search(names) and node.mem_id not in holds_keep:
            node.decompose()
    for node in tree.css("div,ul,ol,p,td,section,span,table"):  # menus: blocks that are mostly links
        text = _squash(node.text())
        if text and len(_squash(" ".join(a.text() for a in node.css("a")))) >= _LINK_SHARE * len(text) \
                and node.mem_id not in holds_keep:
            node.decompose()


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text or "")


def _blocks(root) -> list[Block]:
    """Lines of text in document order: headings keep their level, tables become rows."""
    out: list[Block] = []
    buf: list[str] = []

    def flush() -> None:
        line = normalize("".join(buf)).strip()
        if line and not _LOCATION.match(line):
            out.append(Block(line))
        buf.clear()

    # depth-first through the tree with a stack of child iterators (no recursion: a page may nest
    # thousands deep); a block element's text is flushed as a line before and after it
    stack = [(root.iter(include_text=True), False)]
    while stack:
        child = next(stack[-1][0], None)
        if child is None:
            if stack.pop()[1]:
                flush()
            continue
        tag = child.tag
        if tag == "-text":
            buf.append(child.text_content or "")
        elif tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            flush()
            text = normalize(child.text(separator="")).strip()
            if text:
                out.append(Block(text, int(tag[1])))
        elif tag == "table":
            flush()
            rows = [[td.text(separator=" ") for td in tr.css("th,td")] for tr in child.css("tr")]
            out.extend(Block(r) for r in table_rows(rows))
        elif tag in _BLOCK:
            flush()
            stack.append((child.iter(include_text=True), True))
        elif tag != "-comment":
            stack.append((child.iter(include_text=True), False))
    flush()
    return out
