"""Make chromium's tagged PDFs light: pack their small objects into compressed object streams (PDF 1.5).

A tagged pack is ~6,000 small objects, mostly the structure tree (a /StructElem per table cell, heading and
figure), which Skia writes uncompressed with a classic xref table: about 0.9 MB of a 1.3 MB PDF.  Packed into
flate-compressed object streams with an xref stream, the same objects take about a tenth of the space; the
content streams, fonts and every object's number and value stay as they were, so the tags, /Alt texts, links
and outline are unchanged.  The catalogue and the page objects stay outside the object streams (readers and
tests that look for them in the raw bytes still find them).

Anything that is not the plain layout Skia writes (an xref stream already, generation numbers, objects that
do not parse) is returned unchanged: this only ever makes a PDF smaller, never different.
"""
from __future__ import annotations

import re
import zlib

PER_STREAM = 400        # objects per object stream (readers decompress a whole stream to read one object)
_OBJ = re.compile(rb"\s*(\d+)\s+0\s+obj\b")
_KEEP_DIRECT = re.compile(rb"/Type\s*/(?:Catalog|Page)\b")


def _xref_table(data: bytes, at: int) -> dict[int, int] | None:
    """Object number -> offset from a classic xref table at ``at``; None if it is not one."""
    if data[at:at + 4] != b"xref":
        return None
    end = data.find(b"trailer", at)
    if end < 0:
        return None
    tokens = data[at + 4:end].split()
    offsets: dict[int, int] = {}
    i = 0
    while i < len(tokens):
        start, count = int(tokens[i]), int(tokens[i + 1])
        i += 2
        for k in range(count):
            off, gen, kind = tokens[i:i + 3]
            i += 3
            if kind == b"n":
                if int(gen) != 0:
                    return None
                offsets[start + k] = int(off)
    return offsets


def compact(data: bytes) -> bytes:
    """The same PDF with its non-stream objects in compressed object streams (or ``data`` unchanged)."""
    try:
        return _compact(data)
    except (ValueError, IndexError):
        return data


def _compact(data: bytes) -> bytes:
    m = re.search(rb"startxref\s+(\d+)\s+%%EOF\s*$", data)
    if not m or not data.startswith(b"%PDF-"):
        return data
    xref_at = int(m.group(1))
    offsets = _xref_table(data, xref_at)
    if not offsets:
        return data
    trailer = data[data.index(b"trailer", xref_at) + 7:m.start()].strip()
    if not (trailer.startswith(b"<<") and trailer.endswith(b">>")) or b"/Encrypt" in trailer or b"/Prev" in trailer:
        return data
    keys = re.sub(rb"/Size\s+\d+", b"", trailer[2:-2]).strip()

    order = sorted(offsets.items(), key=lambda kv: kv[1])
    direct: list[tuple[int, bytes]] = []
    packed: list[tuple[int, bytes]] = []
    for i, (num, off) in enumerate(order):
        end = order[i + 1][1] if i + 1 < len(order) else xref_at
        chunk = data[off:end]
        head = _OBJ.match(chunk)
        stop = chunk.rfind(b"endobj")
        if not head or int(head.group(1)) != num or stop < 0:
            return data
        body = chunk[head.end():stop].strip()
        if body.endswith(b"endstream") or _KEEP_DIRECT.search(body):
            direct.append((num, body))
        else:
            packed.append((num, body))
    if not packed:
        return data

    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    where: dict[int, tuple[int, int, int]] = {}        # num -> (type, field 2, field 3) of its xref entry
    for num, body in direct:
        where[num] = (1, len(out), 0)
        out += b"%d 0 obj\n%s\nendobj\n" % (num, body)
    next_num = max(offsets) + 1
    for s in range(0, len(packed), PER_STREAM):
        group = packed[s:s + PER_STREAM]
        stm = next_num
        next_num += 1
        index, bodies, rel = [], [], 0
        for k, (num, body) in enumerate(group):
            index.append(b"%d %d" % (num, rel))
            bodies.append(body)
            rel += len(body) + 1
            where[num] = (2, stm, k)
        head = b" ".join(index) + b"\n"
        raw = zlib.compress(head + b"\n".join(bodies) + b"\n", 6)
        where[stm] = (1, len(out), 0)
        out += (b"%d 0 obj\n<</Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d>>\nstream\n"
                % (stm, len(group), len(head), len(raw))) + raw + b"\nendstream\nendobj\n"
    xref_num = next_num
    size = xref_num + 1
    xref_at_new = len(out)
    where[xref_num] = (1, xref_at_new, 0)
    rows = bytearray()
    for n in range(size):
        kind, a, b = where.get(n, (0, 0, 65535 if n == 0 else 0))
        rows += bytes([kind]) + a.to_bytes(4, "big") + b.to_bytes(2, "big")
    raw = zlib.compress(bytes(rows), 6)
    out += (b"%d 0 obj\n<</Type /XRef /Size %d /W [1 4 2] /Filter /FlateDecode /Length %d %s>>\nstream\n"
            % (xref_num, size, len(raw), keys)) + raw + b"\nendstream\nendobj\n"
    out += b"startxref\n%d\n%%%%EOF\n" % xref_at_new
    return bytes(out)
