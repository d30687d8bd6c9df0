"""A Word file's zip unpacked with bounds, before python-docx sees it.

Every part is inflated here, step by step against the file's `Budget`, and must come out exactly
as long as its zip entry declares (a lying size is refused after one byte too many); the XML
parts are then counted, element by element without building a tree, against the element and
nesting limits. python-docx gets a rebuilt archive of the checked parts, stored uncompressed,
so it never inflates an uploaded stream itself (zipfile's `read()` inflates a whole stream in
one call before it checks the size, which is how a lying entry cost gigabytes).
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib

from ...errors import DocumentError
from ..limits import Budget, LimitError, Limits, MB, too_deep, too_many_nodes

_LOCAL = b"PK\x03\x04"
_XML_DEPTH = 256   # libxml2 refuses deeper XML itself (without XML_PARSE_HUGE), less clearly


def unpack(zf: zipfile.ZipFile, raw: bytes, budget: Budget) -> dict[str, bytes]:
    """{name: bytes} of every entry, each checked against its declared size and checksum."""
    infos = [i for i in zf.infolist() if not i.is_dir()]
    declared = sum(i.file_size for i in infos)
    if declared > budget.limits.unpacked_mb * MB:
        raise LimitError(f"file unpacks to over {budget.limits.unpacked_mb} MB (the limit for one file; its zip "
                         f"entries declare {declared / MB:,.0f} MB)")
    return {info.filename: _entry(info, raw, budget) for info in infos}


def _entry(info: zipfile.ZipInfo, raw: bytes, budget: Budget) -> bytes:
    if info.flag_bits & 0x1:
        raise DocumentError(f"encrypted part in the Word file ({info.filename})")
    start = info.header_offset
    if raw[start:start + 4] != _LOCAL:
        raise DocumentError(f"broken Word document (bad zip entry {info.filename})")
    name_len, extra_len = struct.unpack("<HH", raw[start + 26:start + 30])
    begin = start + 30 + name_len + extra_len
    packed = raw[begin:begin + info.compress_size]
    if info.compress_type == zipfile.ZIP_STORED:
        budget.add(len(packed))
        data, ended = packed, True
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        try:
            data, ended = budget.inflate(packed, -zlib.MAX_WBITS, cap=info.file_size)
        except zlib.error as exc:
            raise DocumentError(f"broken Word document (damaged zip entry {info.filename})") from exc
    else:
        raise DocumentError(f"broken Word document (unsupported compression in {info.filename})")
    if len(data) > info.file_size:
        raise LimitError(f"a part of the Word file ({info.filename}) unpacks to more than the size its zip entry "
                         f"declares ({info.file_size:,} bytes): a zip bomb")
    if not ended or len(data) != info.file_size or zlib.crc32(data) != info.CRC:
        raise DocumentError(f"broken Word document (damaged zip entry {info.filename})")
    return data


def check_xml(parts: dict[str, bytes], limits: Limits) -> None:
    """Count the elements and nesting of the XML parts (all of them together) without keeping a
    tree; LimitError at the first limit crossed. Malformed XML is left to python-docx to report."""
    from lxml import etree

    nodes, deepest = 0, min(limits.depth, _XML_DEPTH)
    for name, data in parts.items():
        if not name.lower().endswith((".xml", ".rels")):
            continue
        depth = 0
        events = etree.iterparse(io.BytesIO(data), events=("start", "end"), resolve_entities=False,
                                 no_network=True, load_dtd=False, huge_tree=False)
        try:
            for event, el in events:
                if event == "start":
                    nodes += 1
                    depth += 1
                    if nodes > limits.nodes:
                        raise too_many_nodes(limits)
                    if depth > deepest:
                        raise too_deep(limits, deepest)
                else:
                    depth -= 1
                    el.clear()   # what was counted is not kept
                    while el.getprevious() is not None:
                        del el.getparent()[0]
        except etree.XMLSyntaxError:
            continue


def repack(parts: dict[str, bytes]) -> io.BytesIO:
    """The checked parts as a new, uncompressed zip for python-docx."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED, allowZip64=True) as out:
        for name, data in parts.items():
            out.writestr(name, data)
    buf.seek(0)
    return buf
