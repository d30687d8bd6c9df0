"""Bounds for an HTML page: its elements and nesting, before and after it is parsed.

Parsing nested block elements costs the parser time in proportion to the nesting (each start
tag looks down the stack of open elements), so a page 100,000 `<div>` deep took lexbor 15 s:
`check_source` refuses absurd pages from the text alone (tags counted; nesting estimated by a
stack of open tags, far past the limit only), and `check_tree` measures the parsed page exactly.
"""

from __future__ import annotations

import re

from ..limits import Limits, too_deep, too_many_nodes

_START = re.compile(r"<[A-Za-z]")
_TAG = re.compile(r"<!--.*?-->|<(/?)([A-Za-z][^\s/>]*)[^>]*?(/?)>", re.S)
_VOID = frozenset("area base basefont bgsound br col embed frame hr image img input keygen link meta param "
                  "source track wbr".split())
_RAW = frozenset("script style textarea title xmp iframe noembed noframes noscript plaintext".split())
_SIBLINGS = frozenset("p li dt dd tr td th option".split())  # an open one is closed by the next
_ESTIMATE_SLACK = 4   # the text estimate refuses only past this many times the depth limit
_raw_end: dict[str, re.Pattern] = {}


def check_source(text: str, limits: Limits) -> None:
    """LimitError for a page with more start tags than the element limit, or nested far deeper
    than the depth limit (estimated from its tags: elements are kept open until their end tag)."""
    if text.count("<") <= limits.nodes and text.count("<") <= _ESTIMATE_SLACK * limits.depth:
        return
    tags = sum(1 for _ in _START.finditer(text))
    if tags > limits.nodes:
        raise too_many_nodes(limits)
    if tags > _ESTIMATE_SLACK * limits.depth and _estimate_depth(text, _ESTIMATE_SLACK * limits.depth):
        raise too_deep(limits)


def _estimate_depth(text: str, stop: int) -> bool:
    """True when the open-tag stack of `text` grows past `stop`."""
    stack: list[str] = []
    open_count: dict[str, int] = {}
    pos = 0
    while True:
        m = _TAG.search(text, pos)
        if m is None:
            return False
        pos = m.end()
        closing, name, selfclosing = m.group(1), (m.group(2) or "").lower(), m.group(3)
        if not name:
            continue  # a comment
        if closing:
            if open_count.get(name):
                while stack:  # close everything opened inside it, as an end tag does
                    top = stack.pop()
                    open_count[top] -= 1
                    if top == name:
                        break
        elif name in _RAW:
            end = _raw_end.setdefault(name, re.compile(rf"</{name}\b", re.I)).search(text, pos)
            pos = end.end() if end else len(text)
        elif name not in _VOID and not selfclosing:
            if name in _SIBLINGS and stack and stack[-1] == name:
                continue  # <li>a<li>b: the second closes the first
            stack.append(name)
            open_count[name] = open_count.get(name, 0) + 1
            if len(stack) > stop:
                return True


def check_tree(root, limits: Limits) -> None:
    """LimitError when the parsed page has more elements than the limit or nests deeper."""
    depth_of: dict[int, int] = {}
    count = 0
    for node in root.traverse(include_text=False):
        parent = node.parent
        depth = depth_of.get(parent.mem_id, 0) + 1 if parent is not None else 1
        depth_of[node.mem_id] = depth
        count += 1
        if count > limits.nodes:
            raise too_many_nodes(limits)
        if depth > limits.depth:
            raise too_deep(limits)
