"""Hostile documents made on the spot, for the fault tests and bench/bench_faults.py."""

from __future__ import annotations

import zlib

LINE = b"BT /F1 9 Tf 20 700 Td (the same words on every page of this document) Tj ET\n"


def pdf_bomb(pages: int = 40, stream_bytes: int = 8_000_000) -> bytes:
    """A small PDF (about 24 KB for 8 MB) whose pages all draw one huge compressed content stream: each page's
    text extraction parses the whole stream again."""
    content = zlib.compress(LINE * (stream_bytes // len(LINE)), 9)
    kids = b" ".join(f"{4 + i} 0 R".encode() for i in range(pages))
    font = 4 + pages
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [" + kids + f"] /Count {pages} >>".encode(),
               b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(content) + content + b"\nendstream"]
    page = (f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R "
            f"/Resources << /Font << /F1 {font} 0 R >> >> >>").encode()
    objects += [page] * pages + [b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out, offsets = bytearray(b"%PDF-1.7\n"), []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)
